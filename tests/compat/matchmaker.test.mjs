// The real @heroiclabs/nakama-js 2.8.0 against tavern's matchmaker: addMatchmaker with
// properties and a query, onmatchmakermatched on every member, rating windows (the close pair
// first, the far ones only after a pass of widening), min/max/count_multiple, removeMatchmaker
// and joinMatch with the token. Passes run every 300 ms. Run on SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

const INTERVAL_MS = 300;
let srv;
let client;
const sockets = [];

before(async () => {
  srv = await startServer(['--matchmaker-interval-ms', String(INTERVAL_MS),
    '--matchmaker-rating-step', '100']);
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => {
  for (const s of sockets) s.disconnect(false);
  await srv?.stop();
});

/** A signed-in player whose matchmaker_matched pushes land in `matched` with their time. */
async function player(tag) {
  const session = await client.authenticateDevice(randomId(`njs-mm-${tag}-`, 32), true);
  const socket = client.createSocket(false, false);
  socket.onerror = () => {};
  socket.ondisconnect = () => {};
  await socket.connect(session, true, 5000);
  sockets.push(socket);
  const p = { session, socket, matched: [], waiters: [] };
  socket.onmatchmakermatched = (m) => {
    p.matched.push({ m, at: Date.now() });
    p.waiters.splice(0).forEach((w) => w());
  };
  return p;
}

async function nextMatched(p, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!p.matched.length) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no matchmaker_matched within ${ms} ms`);
    await new Promise((r) => {
      const t = setTimeout(r, left);
      p.waiters.push(() => { clearTimeout(t); r(); });
    });
  }
  return p.matched.shift();
}

const userIds = (m) => m.users.map((u) => u.presence.user_id).sort();

describe('matchmaking with nakama-js', () => {
  let a, b, ma, mb;

  test('close ratings match first; a far one only once its window has widened', async () => {
    const tag = randomId('w', 12);
    const q = `+properties.tag:${tag}`;
    a = await player('a');
    b = await player('b');
    const c = await player('c');
    const d = await player('d');
    const add = (p, rating) => p.socket.addMatchmaker(q, 2, 2, { tag }, { rating });
    const tickets = await Promise.all([add(a, 1000), add(b, 1050), add(c, 1200), add(d, 1380)]);
    tickets.forEach((t) => assert.match(t.ticket, /^[0-9a-f-]{36}$/));
    [ma, mb] = [await nextMatched(a), await nextMatched(b)];
    const [mc, md] = [await nextMatched(c), await nextMatched(d)];
    // a and b (50 apart) together; c and d (180 apart) need a window of 200: one pass later
    assert.deepEqual(userIds(ma.m), [a.session.user_id, b.session.user_id].sort());
    assert.deepEqual(userIds(mc.m), [c.session.user_id, d.session.user_id].sort());
    assert.equal(ma.m.token, mb.m.token);
    assert.equal(mc.m.token, md.m.token);
    assert.notEqual(ma.m.token, mc.m.token);
    assert.ok(mc.at - ma.at >= INTERVAL_MS / 2, `c-d ${mc.at - ma.at} ms after a-b`);
    assert.equal(ma.m.ticket, tickets[0].ticket);
    assert.equal(ma.m.self.presence.user_id, a.session.user_id);
    const ub = ma.m.users.find((u) => u.presence.user_id === b.session.user_id);
    assert.deepEqual(ub.numeric_properties, { rating: 1050 });
    assert.deepEqual(ub.string_properties, { tag });
  });

  test('joinMatch with the token puts both in one relayed match', async () => {
    const ja = await a.socket.joinMatch(undefined, ma.m.token);
    const jb = await b.socket.joinMatch(undefined, mb.m.token);
    assert.equal(ja.match_id, jb.match_id);
    assert.match(ja.match_id, /^[0-9a-f-]{36}\.$/);
    assert.ok(!ja.authoritative);
    assert.deepEqual(jb.presences.map((p) => p.user_id), [a.session.user_id]);
  });

  test('min/max/count_multiple: 5 players of 2-4 in twos make one group of 4', async () => {
    const tag = randomId('c', 12);
    const ps = await Promise.all([0, 1, 2, 3, 4].map((i) => player(`c${i}`)));
    // nakama-js 2.8's addMatchmaker has no count_multiple: the raw envelope does
    const tickets = await Promise.all(ps.map((p) => p.socket.send({
      matchmaker_add: { min_count: 2, max_count: 4, count_multiple: 2, query: `+properties.tag:${tag}`,
        string_properties: { tag } },
    }).then((r) => r.matchmaker_ticket.ticket)));
    const first = await Promise.race(ps.map((p) => nextMatched(p).then((x) => { p.matched.unshift(x); return x; })));
    await new Promise((r) => setTimeout(r, 100)); // the rest of the group's pushes
    const got = ps.filter((p) => p.matched.length);
    assert.equal(first.m.users.length, 4);
    assert.equal(got.length, 4);
    const left = ps.find((p) => !p.matched.length);
    const ticket = tickets[ps.indexOf(left)];
    await left.socket.removeMatchmaker(ticket);
    await assert.rejects(left.socket.removeMatchmaker(ticket), (e) => e.code === 3);
  });

  test('bad input rejects the promise with code 3', async () => {
    const p = await player('bad');
    await assert.rejects(p.socket.addMatchmaker('*', 1, 2), (e) => e.code === 3 && /minimum count/.test(e.message));
    await assert.rejects(p.socket.addMatchmaker('+tag:x', 2, 2), (e) => e.code === 3);
  });
});
