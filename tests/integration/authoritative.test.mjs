// Authoritative matches in a real tavern over real WebSockets (spec section 5), with the
// example modules arena (20 Hz movement) and tictactoe (turn-based, listed by label): creation
// through an RPC, joins (allowed and refused), inputs queued to the loop, server-side
// validation (invalid and rate-limited inputs counted), ticks broadcast as match_data, listing
// by exact label and by query, leave, disconnect, and a clean shutdown with matches running.
// Run by meson on SQLite and PostgreSQL; the modules come from $TAVERN_MODULES.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, bearer, decodeJwt, randomId } from '../lib/server.mjs';
import { wsOpen } from './wsutil.mjs';

const AUTH_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.tavern$/;
const EXAMPLE_MODULES = process.env.TAVERN_MODULES;

let srv;
let moduleDir;

before(async () => {
  assert.ok(EXAMPLE_MODULES, 'TAVERN_MODULES is set by meson');
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-modules-'));
  for (const name of ['arena', 'tictactoe']) copyFileSync(join(EXAMPLE_MODULES, `${name}.so`), join(moduleDir, `${name}.so`));
  srv = await startServer(['--module-path', moduleDir]);
});

after(async () => {
  await srv?.stop(); // exits 0 with matches still running: terminate, then stop
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

async function newUser() {
  const res = await srv.authenticate('device', { id: randomId('am-', 32) });
  assert.equal(res.status, 200, res.text);
  const { payload } = decodeJwt(res.json.token);
  return { token: res.json.token, uid: payload.uid, usn: payload.usn };
}

async function player() {
  const u = await newUser();
  const r = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
  assert.ok(r.ws, `upgrade refused: ${r.status} ${r.body}`);
  return { ws: r.ws, inbox: r.inbox, u };
}

/** The next message for which pred is true, skipping others (ticks arrive all the time). */
async function nextWhere(p, pred, timeoutMs = 5000, what = 'a matching message') {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) assert.fail(`no ${what} within ${timeoutMs} ms`);
    let m;
    try { m = await p.inbox.next(left); } catch (e) { assert.fail(`waiting for ${what}: ${e.message}`); }
    if (pred(m)) return m;
  }
}

let cidSeq = 0;
async function request(p, msg) {
  const cid = String(++cidSeq);
  p.inbox.send({ cid, ...msg });
  return nextWhere(p, (m) => m.cid === cid, 5000, `reply to ${JSON.stringify(msg)}`);
}

async function rpc(u, id, payload = {}) {
  const res = await srv.post(`/v2/rpc/${id}`, JSON.stringify(JSON.stringify(payload)), { auth: bearer(u.token) });
  return { status: res.status, json: res.json, body: res.status === 200 ? JSON.parse(res.json.payload) : null };
}

function list(u, q) {
  return srv.get(`/v2/match?${q}`, { auth: bearer(u.token) });
}

const decode = (m) => JSON.parse(Buffer.from(m.match_data.data, 'base64').toString('utf8'));
const isTick = (id) => (m) => m.match_data && m.match_data.match_id === id && m.match_data.op_code === '2';

function sendInput(p, id, data, opCode = '1') {
  const b64 = Buffer.from(typeof data === 'string' ? data : data).toString('base64');
  p.inbox.send({ match_data_send: { match_id: id, op_code: opCode, data: b64 } });
}

async function newArena(u, params = {}) {
  const r = await rpc(u, 'create_match', params);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.match(r.body.match_id, AUTH_ID);
  return r.body.match_id;
}

// ---------------------------------------------------------------------------------------------

describe('arena: an authoritative movement match', () => {
  test('create by RPC, join, ticks at ~20 Hz, inputs move the player, invalid and excess inputs are counted', async () => {
    const a = await player(), b = await player();
    try {
      const id = await newArena(a.u);

      const ja = await request(a, { match_join: { match_id: id } });
      assert.ok(ja.match, JSON.stringify(ja));
      assert.equal(ja.match.match_id, id);
      assert.equal(ja.match.authoritative, true);
      assert.equal(ja.match.size, 1);
      assert.deepEqual(ja.match.presences, []);
      assert.equal(ja.match.self.user_id, a.u.uid);
      assert.equal(JSON.parse(ja.match.label).mode, 'arena');
      const ev = await nextWhere(a, (m) => m.match_presence_event, 3000, 'the joiner\'s presence event');
      assert.equal(ev.match_presence_event.joins[0].session_id, ja.match.self.session_id);

      const jb = await request(b, { match_join: { match_id: id } });
      assert.equal(jb.match.size, 2);
      assert.equal(jb.match.presences.length, 1);
      assert.equal(jb.match.presences[0].user_id, a.u.uid);
      const evb = await nextWhere(a, (m) => m.match_presence_event?.joins, 3000, 'b joining');
      assert.equal(evb.match_presence_event.joins[0].user_id, b.u.uid);

      // ticks: server-sent (no presence), op_code "2", JSON with both players
      const t1 = await nextWhere(a, isTick(id), 3000, 'a tick');
      assert.equal(t1.match_data.presence, undefined);
      const s1 = decode(t1);
      assert.equal(s1.players.length, 2);
      const start = Date.now(), firstTick = s1.tick;
      let last;
      do { last = decode(await nextWhere(a, isTick(id))); } while (Date.now() - start < 1000);
      const rate = (last.tick - firstTick) / ((Date.now() - start) / 1000);
      assert.ok(rate > 12 && rate < 26, `tick rate ${rate}`);

      // a valid JSON input moves a to the right; binary input moves b up
      const x0 = last.players.find((p) => p.user_id === a.u.uid).x;
      sendInput(a, id, JSON.stringify({ dx: 1, dy: 0 }));
      sendInput(b, id, Buffer.from([0, 0x9c])); // int8 0, -100
      let moved;
      for (let i = 0; i < 40; i++) {
        const s = decode(await nextWhere(a, isTick(id)));
        const pa = s.players.find((p) => p.user_id === a.u.uid), pb = s.players.find((p) => p.user_id === b.u.uid);
        if (pa.x > x0 + 20 && pb.y < 480) { moved = s; break; }
      }
      assert.ok(moved, 'inputs moved both players');
      const pa = moved.players.find((p) => p.user_id === a.u.uid);
      assert.ok(pa.x <= 1000 && pa.invalid === 0 && pa.limited === 0, JSON.stringify(pa));

      // out-of-range values and garbage are dropped and counted; the position does not jump
      sendInput(a, id, JSON.stringify({ dx: 50, dy: 0 }));
      sendInput(a, id, 'not json');
      sendInput(a, id, Buffer.from([0x7f, 0])); // int8 127: out of range
      let counted;
      for (let i = 0; i < 40 && !counted; i++) {
        const s = decode(await nextWhere(a, isTick(id)));
        const p = s.players.find((q) => q.user_id === a.u.uid);
        if (p.invalid === 3) counted = p;
      }
      assert.ok(counted, 'three invalid inputs counted');

      // more than 30 inputs in a second: the excess is rate-limited
      for (let i = 0; i < 60; i++) sendInput(b, id, JSON.stringify({ dx: 0, dy: 0 }));
      let limited;
      for (let i = 0; i < 60 && !limited; i++) {
        const s = decode(await nextWhere(a, isTick(id)));
        const p = s.players.find((q) => q.user_id === b.u.uid);
        if (p.limited >= 20) limited = p;
      }
      assert.ok(limited, 'excess inputs limited');
      assert.equal(limited.invalid, 0);

      // leave: b goes, a hears it; the match keeps ticking with one player
      const rl = await request(b, { match_leave: { match_id: id } });
      assert.deepEqual(Object.keys(rl), ['cid']);
      const evl = await nextWhere(a, (m) => m.match_presence_event?.leaves, 3000, 'b leaving');
      assert.equal(evl.match_presence_event.leaves[0].user_id, b.u.uid);
      let one;
      for (let i = 0; i < 20 && !one; i++) {
        const s = decode(await nextWhere(a, isTick(id)));
        if (s.players.length === 1) one = s;
      }
      assert.ok(one, 'one player left in the ticks');
    } finally {
      a.ws.close();
      b.ws.close();
    }
  });

  test('data from a session that has not joined is dropped; unknown ids answer error 4', async () => {
    const a = await player(), c = await player();
    try {
      const id = await newArena(a.u);
      await request(a, { match_join: { match_id: id } });
      sendInput(c, id, JSON.stringify({ dx: 1, dy: 1 }));
      for (let i = 0; i < 10; i++) {
        const s = decode(await nextWhere(a, isTick(id)));
        assert.equal(s.players.length, 1);
        assert.equal(s.players[0].x, 500);
      }
      const r = await request(c, { match_join: { match_id: '6f2d4c1a-0000-4000-8000-000000000000.tavern' } });
      assert.equal(r.error.code, 4, JSON.stringify(r));
      const r2 = await request(c, { match_join: { match_id: id.replace('.tavern', '.elsewhere') } });
      assert.equal(r2.error.code, 4, JSON.stringify(r2));
    } finally {
      a.ws.close();
      c.ws.close();
    }
  });

  test('a disconnect leaves the match: size drops in the listing', async () => {
    const a = await player(), b = await player();
    try {
      const id = await newArena(a.u, { reconnect_grace: 0 }); // no grace: Nakama's behaviour
      await request(a, { match_join: { match_id: id } });
      await request(b, { match_join: { match_id: id } });
      const sized = async (n) => {
        for (let i = 0; i < 50; i++) {
          const res = await list(a.u, `limit=100&authoritative=true&min_size=0`);
          assert.equal(res.status, 200, res.text);
          const m = (res.json.matches || []).find((x) => x.match_id === id);
          if (m && m.size === n) return m;
          await sleep(50);
        }
        assert.fail(`match ${id} never had size ${n}`);
      };
      const m2 = await sized(2);
      assert.equal(m2.authoritative, true);
      assert.equal(m2.handler_name, 'arena');
      assert.equal(m2.tick_rate, 20);
      b.ws.close();
      await sized(1);
      const ev = await nextWhere(a, (m) => m.match_presence_event?.leaves, 3000, 'b disconnecting');
      assert.equal(ev.match_presence_event.leaves[0].user_id, b.u.uid);
    } finally {
      a.ws.close();
    }
  });

  test('init refusing the match (bad params) answers the RPC with an error', async () => {
    const u = await newUser();
    const r = await rpc(u, 'create_match', { max_players: 99 });
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.code, 3);
  });
});

describe('tictactoe: turn-based, found by label', () => {
  test('listing by exact label and by query, full match refused with error 5, turns enforced', async () => {
    const a = await player(), b = await player(), c = await player();
    try {
      const r = await rpc(a.u, 'create_tictactoe');
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const id = r.body.match_id;
      assert.match(id, AUTH_ID);

      const has = async (q) => {
        const res = await list(a.u, q);
        assert.equal(res.status, 200, `${q}: ${res.text}`);
        return (res.json.matches || []).some((m) => m.match_id === id);
      };
      const open = '{"mode":"tictactoe","open":1}';
      assert.ok(await has(`limit=100&label=${encodeURIComponent(open)}`));
      assert.ok(!(await has(`limit=100&label=${encodeURIComponent('{"mode":"tictactoe"}')}`)));
      assert.ok(await has(`limit=100&query=${encodeURIComponent('+label.mode:tictactoe +label.open:1')}`));
      assert.ok(await has(`limit=100&query=${encodeURIComponent('+label.open:>=1')}`));
      assert.ok(!(await has(`limit=100&query=${encodeURIComponent('+label.mode:arena')}`)));
      assert.ok(!(await has(`limit=100&query=${encodeURIComponent('+label.mode:tictactoe -label.open:1')}`)));
      assert.ok(!(await has(`limit=100&query=${encodeURIComponent('label.open:<=0')}`)));
      assert.ok(await has(`limit=100&query=${encodeURIComponent('label.mode:nothing label.mode:tictactoe')}`));
      assert.ok(!(await has(`limit=100&authoritative=false`)));
      assert.ok(!(await has(`limit=100&min_size=1`)));

      const ja = await request(a, { match_join: { match_id: id } });
      assert.equal(ja.match.authoritative, true);
      assert.equal(ja.match.label, open);
      const jb = await request(b, { match_join: { match_id: id } });
      assert.ok(jb.match, JSON.stringify(jb));
      const jc = await request(c, { match_join: { match_id: id } });
      assert.equal(jc.error?.code, 5, JSON.stringify(jc));
      assert.equal(jc.error.message, 'Match is full');

      // now closed: the label changed, the listing follows at once
      assert.ok(await has(`limit=100&query=${encodeURIComponent('+label.mode:tictactoe +label.open:0')}`));
      assert.ok(!(await has(`limit=100&label=${encodeURIComponent(open)}`)));
      assert.ok(await has(`limit=100&min_size=2&max_size=2`));

      const state = (m) => m.match_data?.match_id === id && m.match_data.op_code === '2';
      const st = decode(await nextWhere(a, (m) => state(m) && decode(m).o !== ''));
      assert.equal(st.x, a.u.uid);
      assert.equal(st.turn, a.u.uid);

      const move = (p, cell) => p.inbox.send({ match_data_send: { match_id: id, op_code: '1', data: Buffer.from(JSON.stringify({ cell })).toString('base64') } });
      move(b, 4); // not b's turn
      const rej = await nextWhere(b, (m) => m.match_data?.op_code === '3', 3000, 'a rejected move');
      assert.equal(decode(rej).error, 'not your turn');
      // sockets are served by different threads: wait for each move to land before the next
      let board = '.........';
      for (const [p, cell] of [[a, 0], [b, 3], [a, 1], [b, 4], [a, 2]]) {
        move(p, cell);
        const want = board.slice(0, cell) + (p === a ? 'X' : 'O') + board.slice(cell + 1);
        await nextWhere(b, (m) => state(m) && decode(m).board === want, 3000, `board ${want}`);
        board = want;
      }
      const fin = decode(await nextWhere(a, (m) => state(m) && decode(m).winner !== '', 5000, 'the end'));
      assert.equal(fin.winner, 'X');
      assert.equal(fin.board, 'XXXOO....');
    } finally {
      a.ws.close();
      b.ws.close();
      c.ws.close();
    }
  });

  test('a bad query is a 400', async () => {
    const u = await newUser();
    const res = await list(u, `query=${encodeURIComponent('+other.mode:x')}`);
    assert.equal(res.status, 400, res.text);
  });

  test('a match a module creates is listed as soon as match_create returns (issue 8)', async () => {
    const u = await newUser();
    const id = await newArena(u);
    const res = await list(u, 'limit=100&authoritative=true&min_size=0');
    assert.equal(res.status, 200, res.text);
    assert.ok((res.json.matches || []).some((m) => m.match_id === id), 'listed at once');
  });
});

describe('arena: the reconnect window (match_set_reconnect_grace)', () => {
  const isSync = (id) => (m) => m.match_data && m.match_data.match_id === id && m.match_data.op_code === '3';
  const sizeOf = async (u, id) => {
    const res = await list(u, `limit=100&authoritative=true&min_size=0`);
    assert.equal(res.status, 200, res.text);
    return (res.json.matches || []).find((x) => x.match_id === id)?.size;
  };

  test('a dropped player is held silently, rejoins from a new socket without a join attempt, and gets a full state', async () => {
    const a = await player(), b = await player(), c = await player();
    let a2;
    try {
      const id = await newArena(a.u, { max_players: 2 }); // the default grace: 10 s
      const ja = await request(a, { match_join: { match_id: id } });
      assert.equal(ja.match.rejoined, undefined);
      const sync0 = decode(await nextWhere(a, isSync(id), 3000, 'the state sync on joining'));
      assert.equal(sync0.rejoined, false);
      assert.equal(sync0.players[0].user_id, a.u.uid);
      await request(b, { match_join: { match_id: id } });
      await nextWhere(a, (m) => m.match_presence_event?.joins?.[0]?.user_id === b.u.uid, 3000, 'b joining');

      // a moves right, then its socket drops without a close frame
      sendInput(a, id, JSON.stringify({ dx: 1, dy: 0 }));
      await nextWhere(b, (m) => isTick(id)(m) && decode(m).players.find((p) => p.user_id === a.u.uid).x > 520, 3000, 'a moving');
      a.ws.terminate();

      // for 1.5 s: b hears no leave, the ticks keep both players, the listing keeps size 2
      const until = Date.now() + 1500;
      let ticks = 0;
      while (Date.now() < until) {
        const m = await nextWhere(b, (x) => x.match_presence_event || isTick(id)(x), 3000, 'ticks');
        assert.equal(m.match_presence_event, undefined, `b heard ${JSON.stringify(m)}`);
        assert.equal(decode(m).players.length, 2);
        ticks++;
      }
      assert.ok(ticks > 10, `${ticks} ticks while a was away`);
      assert.equal(await sizeOf(b.u, id), 2);
      // the held player still takes its place: the arena (max 2) is full for someone else
      const jc = await request(c, { match_join: { match_id: id } });
      assert.equal(jc.error?.code, 5, JSON.stringify(jc));
      assert.equal(jc.error.message, 'Arena is full');

      // a comes back with a new socket: rejoined (join_attempt would have refused: full)
      const r = await wsOpen(srv, `token=${encodeURIComponent(a.u.token)}`);
      assert.ok(r.ws, `upgrade refused: ${r.status} ${r.body}`);
      a2 = { ws: r.ws, inbox: r.inbox, u: a.u };
      const j2 = await request(a2, { match_join: { match_id: id } });
      assert.ok(j2.match, JSON.stringify(j2));
      assert.equal(j2.match.rejoined, true);
      assert.equal(j2.match.match_id, id);
      assert.equal(j2.match.authoritative, true);
      assert.equal(j2.match.size, 2);
      assert.equal(j2.match.self.user_id, a.u.uid);
      assert.notEqual(j2.match.self.session_id, ja.match.self.session_id);
      assert.deepEqual(j2.match.presences.map((p) => p.user_id), [b.u.uid]);
      const sync = decode(await nextWhere(a2, isSync(id), 3000, 'the state sync on rejoining'));
      assert.equal(sync.rejoined, true);
      assert.equal(sync.players.length, 2);
      const me = sync.players.find((p) => p.user_id === a.u.uid);
      assert.equal(me.session_id, j2.match.self.session_id);
      assert.ok(me.x > 520, `kept its position: ${JSON.stringify(me)}`);

      // ticks resume for a, carrying its new session; inputs from the new socket count
      const t = decode(await nextWhere(a2, isTick(id), 3000, 'a tick after rejoining'));
      assert.equal(t.players.find((p) => p.user_id === a.u.uid).session_id, j2.match.self.session_id);
      const y0 = t.players.find((p) => p.user_id === a.u.uid).y;
      sendInput(a2, id, JSON.stringify({ dx: 0, dy: 1 }));
      await nextWhere(a2, (m) => isTick(id)(m) && decode(m).players.find((p) => p.user_id === a.u.uid).y > y0 + 20, 3000, 'a moving again');

      // b never heard a presence event about a
      while (b.inbox.queue.length) assert.equal(b.inbox.queue.shift().match_presence_event, undefined);
      assert.equal(await sizeOf(b.u, id), 2);
    } finally {
      a.ws.close();
      a2?.ws.close();
      b.ws.close();
      c.ws.close();
    }
  });

  test('a player that does not come back leaves at the deadline (reason: disconnect); later it joins anew', async () => {
    const a = await player(), b = await player();
    let a2;
    try {
      const id = await newArena(a.u, { reconnect_grace: 1 });
      await request(a, { match_join: { match_id: id } });
      await request(b, { match_join: { match_id: id } });
      await nextWhere(b, isTick(id), 3000, 'a tick');
      const dropped = Date.now();
      a.ws.terminate();
      const ev = await nextWhere(b, (m) => m.match_presence_event?.leaves, 4000, 'a leaving after the grace');
      const waited = Date.now() - dropped;
      assert.equal(ev.match_presence_event.leaves[0].user_id, a.u.uid);
      assert.ok(waited >= 900 && waited < 3500, `left after ${waited} ms`);
      const t = decode(await nextWhere(b, isTick(id), 3000, 'a tick'));
      assert.equal(t.players.length, 1);

      // too late for a rejoin: an ordinary join, announced to b
      const r = await wsOpen(srv, `token=${encodeURIComponent(a.u.token)}`);
      a2 = { ws: r.ws, inbox: r.inbox, u: a.u };
      const j = await request(a2, { match_join: { match_id: id } });
      assert.ok(j.match, JSON.stringify(j));
      assert.equal(j.match.rejoined, undefined);
      const evj = await nextWhere(b, (m) => m.match_presence_event?.joins, 3000, 'a joining anew');
      assert.equal(evj.match_presence_event.joins[0].session_id, j.match.self.session_id);
      const sync = decode(await nextWhere(a2, isSync(id), 3000, 'the state sync'));
      assert.equal(sync.rejoined, false);
      assert.equal(sync.players.find((p) => p.user_id === a.u.uid).x, 500);
    } finally {
      a.ws.close();
      a2?.ws.close();
      b.ws.close();
    }
  });

  test('a grace outside 0-300 refuses the match', async () => {
    const u = await newUser();
    const r = await rpc(u, 'create_match', { reconnect_grace: 301 });
    assert.equal(r.status, 400, JSON.stringify(r.json));
  });
});

describe('tictactoe: reading the game through a match signal (match_signal)', () => {
  test('the tictactoe_state RPC answers the board after a move; unknown match 404, bad payload 400', async () => {
    const a = await player(), b = await player();
    try {
      const r = await rpc(a.u, 'create_tictactoe');
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const id = r.body.match_id;

      const empty = await rpc(a.u, 'tictactoe_state', { match_id: id });
      assert.equal(empty.status, 200, JSON.stringify(empty.json));
      assert.deepEqual(empty.body, { board: '.........', turn: '', x: '', o: '', winner: '' });

      assert.ok((await request(a, { match_join: { match_id: id } })).match);
      assert.ok((await request(b, { match_join: { match_id: id } })).match);
      const state = (m) => m.match_data?.match_id === id && m.match_data.op_code === '2';
      await nextWhere(a, (m) => state(m) && decode(m).o !== '');
      a.inbox.send({ match_data_send: { match_id: id, op_code: '1', data: Buffer.from(JSON.stringify({ cell: 4 })).toString('base64') } });
      await nextWhere(b, (m) => state(m) && decode(m).board === '....X....', 3000, 'the move');

      const st = await rpc(b.u, 'tictactoe_state', { match_id: id });
      assert.equal(st.status, 200, JSON.stringify(st.json));
      assert.deepEqual(st.body, { board: '....X....', turn: b.u.uid, x: a.u.uid, o: b.u.uid, winner: '' });

      // several callers at once: each gets its answer (the queue holds 10 per match)
      const many = await Promise.all(Array.from({ length: 5 }, () => rpc(a.u, 'tictactoe_state', { match_id: id })));
      for (const m of many) {
        assert.equal(m.status, 200, JSON.stringify(m.json));
        assert.equal(m.body.board, '....X....');
      }

      const unknown = await rpc(a.u, 'tictactoe_state', { match_id: '00000000-0000-4000-8000-000000000000.tavern' });
      assert.equal(unknown.status, 404, JSON.stringify(unknown.json));
      assert.equal(unknown.json.code, 5);
      const relayed = await rpc(a.u, 'tictactoe_state', { match_id: 'not-a-match' });
      assert.equal(relayed.status, 404, JSON.stringify(relayed.json));
      const bad = await rpc(a.u, 'tictactoe_state', { other: 1 });
      assert.equal(bad.status, 400, JSON.stringify(bad.json));
    } finally {
      a.ws.close();
      b.ws.close();
    }
  });
});
