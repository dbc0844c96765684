// The real @heroiclabs/nakama-js 2.8.0 playing the arena module (an authoritative match) against
// tavern under Node: client.rpc("create_match") creates it, socket.joinMatch joins it,
// sendMatchState sends inputs as Uint8Array, onmatchdata receives the server's ticks, and
// listMatches finds it by query. Run by meson on SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@heroiclabs/nakama-js';
import '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv, client, moduleDir;

before(async () => {
  const from = process.env.TAVERN_MODULES;
  assert.ok(from, 'TAVERN_MODULES is set by meson');
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-modules-'));
  copyFileSync(join(from, 'arena.so'), join(moduleDir, 'arena.so'));
  srv = await startServer(['--module-path', moduleDir]);
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => {
  await srv?.stop();
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

async function player(tag) {
  const session = await client.authenticateDevice(randomId(`njs-arena-${tag}-`, 32), true);
  const socket = client.createSocket(false, false);
  socket.onerror = () => {};
  socket.ondisconnect = () => {};
  const ticks = [];
  let wake = null;
  socket.onmatchdata = (d) => { ticks.push(d); if (wake) wake(); };
  await socket.connect(session, true, 5000);
  /** The next match data with op_code op for which pred holds (others skipped). */
  async function next(op, pred = () => true, ms = 5000) {
    const end = Date.now() + ms;
    for (;;) {
      while (ticks.length) {
        const d = ticks.shift();
        if (d.op_code === op && pred(d)) return d;
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no match data ${op} within ${ms} ms`);
      await new Promise((r) => { const t = setTimeout(r, left); wake = () => { clearTimeout(t); wake = null; r(); }; });
    }
  }
  return { session, socket, next };
}

const state = (d) => JSON.parse(new TextDecoder().decode(d.data));

describe('arena with nakama-js', () => {
  let a, b;
  before(async () => { a = await player('a'); b = await player('b'); });
  after(() => { a?.socket.disconnect(false); b?.socket.disconnect(false); });

  test('rpc create_match -> joinMatch -> sendMatchState(Uint8Array) -> onmatchdata ticks', async () => {
    const res = await client.rpc(a.session, 'create_match', {});
    const id = res.payload.match_id;
    assert.match(id, /^[0-9a-f-]{36}\.tavern$/);

    const ma = await a.socket.joinMatch(id);
    assert.equal(ma.match_id, id);
    assert.equal(ma.authoritative, true);
    assert.equal(ma.self.user_id, a.session.user_id);
    assert.equal(JSON.parse(ma.label).mode, 'arena');
    const mb = await b.socket.joinMatch(id);
    assert.equal(mb.size, 2);
    assert.deepEqual(mb.presences.map((p) => p.user_id), [a.session.user_id]);

    const t = await a.next(2, (d) => state(d).players.length === 2);
    assert.equal(t.match_id, id);
    assert.equal(t.op_code, 2);
    assert.ok(t.data instanceof Uint8Array);
    assert.equal(state(t).players.length, 2);

    // binary input: int8 dx = 100 (right), dy = 0
    await b.socket.sendMatchState(id, 1, new Uint8Array([100, 0]));
    const moved = await a.next(2, (d) => {
      const p = state(d).players.find((q) => q.user_id === b.session.user_id);
      return p && p.x > 520;
    });
    assert.ok(moved);
    // JSON text input, as a string
    await a.socket.sendMatchState(id, 1, JSON.stringify({ dx: 0, dy: 1 }));
    await b.next(2, (d) => state(d).players.find((q) => q.user_id === a.session.user_id).y > 520);
    // out of range: counted
    await a.socket.sendMatchState(id, 1, new Uint8Array([0x80, 0x80]));
    await b.next(2, (d) => state(d).players.find((q) => q.user_id === a.session.user_id).invalid === 1);

    const listed = await client.listMatches(a.session, 10, true, undefined, 0, 16, '+label.mode:arena');
    assert.ok((listed.matches || []).some((m) => m.match_id === id && m.size === 2 && m.authoritative), JSON.stringify(listed));

    await b.socket.leaveMatch(id);
    await a.next(2, (d) => state(d).players.length === 1);
  });
});
