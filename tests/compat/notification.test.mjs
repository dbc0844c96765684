// The real @heroiclabs/nakama-js 2.8.0 receiving notifications: a module RPC
// (tests/modules/notify_mod) sends them; socket.onnotification gets them live with the content
// parsed; client.listNotifications pages the persistent ones with the cacheable cursor;
// client.deleteNotifications removes them. Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@heroiclabs/nakama-js';
import { Feed, unset } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;
let moduleDir;

before(async () => {
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-njs-notify-'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'notify_mod.so'), join(moduleDir, 'notify_mod.so'));
  srv = await startServer(['--module-path', moduleDir]);
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => {
  await srv?.stop();
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

test('onnotification live, listNotifications with the cacheable cursor, deleteNotifications', async () => {
  const session = await client.authenticateDevice(randomId('njs-nt-', 32), true);
  const socket = client.createSocket(false, false);
  socket.onerror = () => {};
  socket.ondisconnect = () => {};
  await socket.connect(session, false, 5000);
  const live = new Feed(socket, 'onnotification');

  const send = (subject, persistent) => client.rpc(session, 'notify',
    { user_id: session.user_id, subject, content: { gift: subject }, code: 5, persistent });
  await send('first', true);
  const n = await live.next();
  assert.deepEqual([n.subject, n.content, n.code, n.persistent], ['first', { gift: 'first' }, 5, true]);
  await send('only live', false);
  assert.ok(unset((await live.next()).persistent));
  await send('second', true);
  await live.next();

  let page = await client.listNotifications(session, 1);
  assert.deepEqual(page.notifications.map((x) => [x.subject, x.content.gift]), [['first', 'first']]);
  page = await client.listNotifications(session, 10, page.cacheable_cursor);
  assert.deepEqual(page.notifications.map((x) => x.subject), ['second']);
  const seen = page.cacheable_cursor;
  assert.deepEqual((await client.listNotifications(session, 10, seen)).notifications, []);
  await send('third', true);
  await live.next();
  assert.deepEqual((await client.listNotifications(session, 10, seen)).notifications.map((x) => x.subject), ['third']);

  const all = (await client.listNotifications(session, 100)).notifications;
  assert.equal(await client.deleteNotifications(session, all.slice(0, 2).map((x) => x.id)), true);
  assert.deepEqual((await client.listNotifications(session, 100)).notifications.map((x) => x.subject), ['third']);
  socket.disconnect(false);
});
