// The real @heroiclabs/nakama-js 2.8.0 hearing a module's stream (ABI 1.8,
// tests/modules/streams_mod.c): socket.rpc joins and sends, socket.onstreampresence hears the
// joins and leaves, socket.onstreamdata the data, with the sender when one is named.
// Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@heroiclabs/nakama-js';
import { Feed, sparse } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv, client, dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tavern-njs-streams-'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'streams_mod.so'), join(dir, 'streams_mod.so'));
  srv = await startServer(['--module-path', dir]);
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function player(tag) {
  const session = await client.authenticateDevice(randomId(`njs-stream-${tag}-`, 32), true);
  const socket = client.createSocket(false, false);
  socket.onerror = () => {};
  socket.ondisconnect = () => {};
  await socket.connect(session, false, 5000);
  return { session, socket, pres: new Feed(socket, 'onstreampresence'),
    data: new Feed(socket, 'onstreamdata') };
}

const rpc = async (p, id, args) => JSON.parse((await p.socket.rpc(id, args)).payload);

test('onstreampresence and onstreamdata', async () => {
  const a = await player('a');
  const b = await player('b');
  const stream = { mode: 150, label: 'njs' };

  const ja = await rpc(a, 'stream_join', 'mode=150&label=njs');
  assert.equal(ja.is_new, 1);
  const me = { user_id: a.session.user_id, session_id: ja.session_id, username: a.session.username };
  assert.deepEqual(sparse(await a.pres.next()), { stream, joins: [me] });

  const jb = await rpc(b, 'stream_join', 'mode=150&label=njs');
  const them = { user_id: b.session.user_id, session_id: jb.session_id, username: b.session.username };
  assert.deepEqual(sparse(await a.pres.next()), { stream, joins: [them] });
  assert.deepEqual(sparse(await b.pres.next()), { stream, joins: [them] });

  await rpc(a, 'stream_send', `mode=150&label=njs&data=hi all&sender=${ja.session_id}&reliable=1`);
  for (const p of [a, b])
    assert.deepEqual(sparse(await p.data.next()), { stream, sender: me, data: 'hi all', reliable: true });
  await rpc(b, 'stream_send', `mode=150&label=njs&data=for a&to=${ja.session_id}`);
  assert.deepEqual(sparse(await a.data.next()), { stream, data: 'for a' });
  await b.data.none(300);

  const list = await rpc(a, 'stream_list', 'mode=150&label=njs');
  assert.equal(list.count, 2);

  b.socket.disconnect(false);
  assert.deepEqual(sparse(await a.pres.next()), { stream, leaves: [them] });
  await rpc(a, 'stream_leave', 'mode=150&label=njs');
  assert.equal((await rpc(a, 'stream_list', 'mode=150&label=njs')).count, 0);
  await a.pres.none(300); // a leaver is not told of its own leave
  a.socket.disconnect(false);
});
