// Leaderboards and tournaments over REST (spec section 6): boards made through the console API,
// the operators under concurrent writers, authoritative refusal, ranks and cursors checked
// against a sort done here, around-owner windows, ranks after deletes and after a restart (the
// start-up load), tournament windows, joins, sizes and attempts.
// Run by meson on SQLite and PostgreSQL; see tests/lib/server.mjs for the environment.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer, basic, decodeJwt, randomId } from '../lib/server.mjs';

let srv;
let consoleToken;

before(async () => {
  srv = await startServer();
  consoleToken = await loginConsole();
});
after(async () => { await srv?.stop(); });

async function loginConsole() {
  const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
  assert.equal(res.status, 200, res.text);
  return res.json.token;
}

function ok(res, what = '') {
  assert.equal(res.status, 200, `${what} -> ${res.status} ${res.text}`);
  return res.json;
}

function err(res, status, grpc, what = '') {
  assert.equal(res.status, status, `${what} -> ${res.status} ${res.text}`);
  assert.equal(res.json?.code, grpc, `${what}: grpc code in ${res.text}`);
  assert.ok(res.json.message, `${what}: message`);
}

const consolePost = (path, body) => srv.post(path, body, { consolePort: true, auth: bearer(consoleToken) });

async function board(def) {
  const id = def.id ?? randomId('lb-', 16);
  ok(await consolePost('/v2/console/leaderboard', { ...def, id }), `create ${id}`);
  return id;
}

async function tournament(def) {
  const id = def.id ?? randomId('t-', 16);
  ok(await consolePost('/v2/console/tournament', { duration: 3600, ...def, id }), `create tournament ${id}`);
  return id;
}

async function user() {
  const res = await srv.authenticate('device', { id: randomId('dev-', 32) });
  const s = ok(res, 'sign-up');
  const { payload } = decodeJwt(s.token);
  return { token: s.token, uid: payload.uid, usn: payload.usn, auth: bearer(s.token) };
}

const write = (u, id, body) => srv.post(`/v2/leaderboard/${id}`, body, { auth: u.auth });
const list = (u, id, q = '') => srv.get(`/v2/leaderboard/${id}${q ? '?' + q : ''}`, { auth: u.auth });
const around = (u, id, owner, q = '') => srv.get(`/v2/leaderboard/${id}/owner/${owner}${q ? '?' + q : ''}`, { auth: u.auth });

/** Nakama's order: (score, subscore, owner_id), all descending or all ascending. */
function sorted(entries, desc = true) {
  const c = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const s = [...entries].sort((a, b) => c(a.score, b.score) || c(a.subscore, b.subscore) || c(a.owner, b.owner));
  return desc ? s.reverse() : s;
}

describe('console board management', () => {
  test('create, list and delete need a console token and check their input', async () => {
    const u = await user();
    err(await srv.post('/v2/console/leaderboard', { id: 'x' }, { consolePort: true, auth: u.auth }), 401, 16, 'session token');
    err(await srv.post('/v2/console/leaderboard', { id: 'x' }, { consolePort: true }), 401, 16, 'no token');
    err(await srv.post('/v2/console/leaderboard', { id: 'x' }, { auth: bearer(consoleToken) }), 404, 5, 'not on the API port');
    err(await consolePost('/v2/console/leaderboard', {}), 400, 3, 'no id');
    err(await consolePost('/v2/console/leaderboard', { id: 'a'.repeat(129) }), 400, 3, 'long id');
    err(await consolePost('/v2/console/leaderboard', { id: 'a b' }), 400, 3, 'space in id');
    err(await consolePost('/v2/console/leaderboard', { id: 'ok1', sort_order: 'up' }), 400, 3, 'sort');
    err(await consolePost('/v2/console/leaderboard', { id: 'ok1', operator: 'max' }), 400, 3, 'operator');
    err(await consolePost('/v2/console/leaderboard', { id: 'ok1', reset_schedule: '61 * * * *' }), 400, 3, 'cron');
    err(await consolePost('/v2/console/leaderboard', { id: 'ok1', metadata: '[1]' }), 400, 3, 'metadata');
    err(await consolePost('/v2/console/tournament', { id: 'ok1', duration: 0 }), 400, 3, 'duration');
    err(await consolePost('/v2/console/tournament', { id: 'ok1', duration: 5, category: 128 }), 400, 3, 'category');
    const id = await board({ sort_order: 'asc', operator: 'set', reset_schedule: '0 0 * * *', metadata: { k: 1 } });
    err(await consolePost('/v2/console/leaderboard', { id }), 409, 6, 'duplicate');
    const l = ok(await srv.get('/v2/console/leaderboard', { consolePort: true, auth: bearer(consoleToken) }));
    const b = l.leaderboards.find((x) => x.id === id);
    assert.deepEqual([b.sort_order, b.operator, b.reset_schedule, JSON.parse(b.metadata)], ['asc', 'set', '0 0 * * *', { k: 1 }]);
    assert.ok(b.next_reset > Date.now() / 1000 && b.next_reset % 86400 === 0, 'next reset at midnight UTC');
    ok(await write(u, id, { score: 3 }));
    ok(await srv.del(`/v2/console/leaderboard/${id}`, { consolePort: true, auth: bearer(consoleToken) }));
    err(await srv.del(`/v2/console/leaderboard/${id}`, { consolePort: true, auth: bearer(consoleToken) }), 404, 5, 'deleted twice');
    err(await write(u, id, { score: 3 }), 404, 5, 'write to a deleted board');
    // the id can be used again, and the old records are gone
    await board({ id });
    const again = ok(await list(u, id, 'limit=10'));
    assert.equal(again.records, undefined);
  });
});

describe('writes and operators', () => {
  test('50 concurrent incr writes of one owner add up to exactly 50', async () => {
    const id = await board({ operator: 'incr' });
    const u = await user();
    const res = await Promise.all(Array.from({ length: 50 }, () => write(u, id, { score: 1, subscore: 2 })));
    for (const r of res) ok(r, 'incr');
    const l = ok(await list(u, id, `owner_ids=${u.uid}`));
    const rec = l.owner_records[0];
    assert.equal(rec.score, '50');
    assert.equal(rec.subscore, '100');
    assert.equal(rec.num_score, 50);
    assert.equal(rec.rank, '1');
  });

  test('concurrent writers on many owners: every record and the rank count are right', async () => {
    const id = await board({ operator: 'incr' });
    const users = await Promise.all(Array.from({ length: 10 }, user));
    await Promise.all(users.flatMap((u, i) => Array.from({ length: 5 }, () => write(u, id, { score: i + 1 }))));
    const l = ok(await list(users[0], id, 'limit=100'));
    assert.equal(l.rank_count, '10');
    assert.deepEqual(l.records.map((r) => Number(r.score)), [50, 45, 40, 35, 30, 25, 20, 15, 10, 5]);
    assert.deepEqual(l.records.map((r) => r.rank), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  });

  test('best keeps each of score and subscore at its best; no-change writes change nothing', async () => {
    const id = await board({ operator: 'best' });
    const u = await user();
    const a = ok(await write(u, id, { score: 10, subscore: 1, metadata: '{"x":1}' }));
    assert.equal(a.num_score, 1);
    assert.equal(a.username, u.usn);
    assert.equal(a.expiry_time, undefined, 'no reset schedule: no expiry');
    const b = ok(await write(u, id, { score: 1, subscore: 20 }));
    assert.deepEqual([b.score, b.subscore, b.num_score, JSON.parse(b.metadata)], ['10', '20', 2, { x: 1 }]);
    const c = ok(await write(u, id, { score: 5, subscore: 5 }));
    assert.deepEqual([c.score, c.subscore, c.num_score, c.update_time], ['10', '20', 2, b.update_time]);
    // an ascending board's best is the lowest
    const asc = await board({ operator: 'best', sort_order: 'asc' });
    ok(await write(u, asc, { score: 10, subscore: 1 }));
    const d = ok(await write(u, asc, { score: 1, subscore: 20 }));
    assert.deepEqual([d.score, d.subscore], ['1', '1']);
  });

  test('set replaces, decr subtracts down to 0, the request operator overrides the board', async () => {
    const id = await board({ operator: 'set' });
    const u = await user();
    ok(await write(u, id, { score: 10, subscore: 1 }));
    const s = ok(await write(u, id, { score: '-4', subscore: 0 }));
    assert.deepEqual([s.score, s.subscore], ['-4', undefined]);
    const i = ok(await write(u, id, { score: 6, subscore: 2, operator: 3 }));
    assert.deepEqual([i.score, i.subscore], ['2', '2']);
    const d = ok(await write(u, id, { score: 1, operator: 'DECREMENT' }));
    assert.equal(d.score, '1');
    const z = ok(await write(u, id, { score: 7, subscore: 7, operator: 4 }));
    assert.deepEqual([z.score, z.subscore], [undefined, undefined], 'floored at 0');
    const dec = await board({ operator: 'decr' });
    const n = ok(await write(u, dec, { score: 5 }));
    assert.equal(n.score, undefined, 'a new decr record starts at 0');
  });

  test('bad writes', async () => {
    const u = await user();
    const id = await board({});
    err(await write(u, 'no-such-board', { score: 1 }), 404, 5, 'unknown board');
    err(await write(u, id, { score: 1.5 }), 400, 3, 'fraction');
    err(await write(u, id, { score: 'ten' }), 400, 3, 'text score');
    err(await write(u, id, { score: '99999999999999999999' }), 400, 3, 'out of int64');
    err(await write(u, id, { score: 1, metadata: '[]' }), 400, 3, 'array metadata');
    err(await write(u, id, { score: 1, metadata: '{' }), 400, 3, 'bad metadata');
    err(await write(u, id, { score: 1, operator: 9 }), 400, 3, 'operator');
    err(await write(u, id, '{'), 400, 3, 'not JSON');
    err(await srv.post(`/v2/leaderboard/${id}`, { score: 1 }), 401, 16, 'no session');
    const big = ok(await write(u, id, { score: '9007199254740993' }));
    assert.equal(big.score, '9007199254740993', 'int64 beyond 2^53 survives as a string');
  });

  test('authoritative boards refuse client writes and deletes', async () => {
    const id = await board({ authoritative: true });
    const u = await user();
    err(await write(u, id, { score: 1 }), 403, 7, 'write');
    err(await srv.del(`/v2/leaderboard/${id}`, { auth: u.auth }), 403, 7, 'delete');
  });

  test('a reset schedule puts records in the period ending at the next reset', async () => {
    const id = await board({ reset_schedule: '*/5 * * * *' });
    const u = await user();
    const before = Math.floor(Date.now() / 1000);
    const r = ok(await write(u, id, { score: 1 }));
    const expiry = Date.parse(r.expiry_time) / 1000;
    assert.equal(expiry % 300, 0, `expiry ${r.expiry_time} on a 5-minute boundary`);
    assert.ok(expiry > before && expiry <= before + 300, r.expiry_time);
    const l = ok(await list(u, id, 'limit=5'));
    assert.equal(l.records[0].expiry_time, r.expiry_time);
    // another period reads empty
    const other = ok(await list(u, id, `limit=5&expiry=${expiry + 300}`));
    assert.equal(other.records, undefined);
  });
});

describe('ranks, pages and windows', () => {
  let id, users, expected;

  before(async () => {
    id = await board({ operator: 'set' });
    users = await Promise.all(Array.from({ length: 23 }, user));
    // few distinct scores: ties on score, and on subscore, break on the owner id
    await Promise.all(users.map((u, i) => write(u, id, { score: i % 5, subscore: i % 2 })));
    expected = sorted(users.map((u, i) => ({ owner: u.uid, score: i % 5, subscore: i % 2 })));
  });

  async function allPages(limit) {
    const seen = [];
    let cursor = '';
    const pages = [];
    for (let i = 0; i < 50; i++) {
      const l = ok(await list(users[0], id, `limit=${limit}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`));
      pages.push(l);
      seen.push(...l.records);
      if (!l.next_cursor) break;
      cursor = l.next_cursor;
    }
    return { seen, pages };
  }

  function checkOrder(records, from = 0) {
    records.forEach((r, i) => {
      assert.equal(r.owner_id, expected[from + i].owner, `position ${from + i}`);
      assert.equal(r.rank, String(from + i + 1));
    });
  }

  test('cursor pages walk the whole board in order with continued ranks', async () => {
    const { seen, pages } = await allPages(4);
    assert.equal(seen.length, 23);
    checkOrder(seen);
    assert.equal(pages.length, 6);
    assert.equal(pages[0].prev_cursor, undefined);
    assert.ok(pages[1].prev_cursor);
    for (const p of pages) assert.equal(p.rank_count, '23');
    // back from page 3 gives page 2 again
    const back = ok(await list(users[0], id, `limit=4&cursor=${encodeURIComponent(pages[2].prev_cursor)}`));
    assert.deepEqual(back.records.map((r) => r.owner_id), pages[1].records.map((r) => r.owner_id));
    assert.deepEqual(back.records.map((r) => r.rank), pages[1].records.map((r) => r.rank));
  });

  test('owner_records carry cached ranks; no limit lists only them', async () => {
    const pick = [users[3], users[17]];
    const l = ok(await list(users[0], id, pick.map((u) => `owner_ids=${u.uid}`).join('&')));
    assert.equal(l.records, undefined);
    for (const r of l.owner_records) {
      const pos = expected.findIndex((e) => e.owner === r.owner_id);
      assert.equal(r.rank, String(pos + 1));
    }
    const one = ok(await list(users[0], id));
    assert.equal(one.records.length, 1, 'no limit and no owners: one record');
    err(await list(users[0], id, 'limit=0'), 400, 3, 'limit 0');
    err(await list(users[0], id, 'limit=1001'), 400, 3, 'limit 1001');
    err(await list(users[0], id, 'owner_ids=nope'), 400, 3, 'bad owner id');
    err(await list(users[0], id, 'limit=2&cursor=garbage'), 400, 3, 'bad cursor');
  });

  test('around the owner: centred, and filled from the other side at the ends', async () => {
    const mid = expected[11].owner, top = expected[0].owner, last = expected[22].owner;
    const m = ok(await around(users[0], id, mid, 'limit=5'));
    checkOrder(m.records, 9);
    const t = ok(await around(users[0], id, top, 'limit=5'));
    checkOrder(t.records, 0);
    const b = ok(await around(users[0], id, last, 'limit=5'));
    checkOrder(b.records, 18);
    const one = ok(await around(users[0], id, mid));
    assert.equal(one.records.length, 1);
    assert.equal(one.records[0].owner_id, mid);
    err(await around(users[0], id, mid, 'limit=101'), 400, 3, 'limit');
    err(await around(users[0], id, 'nope', 'limit=5'), 400, 3, 'bad owner');
    const nobody = ok(await around(users[0], id, '00000000-0000-4000-8000-000000000000', 'limit=5'));
    assert.equal(nobody.records, undefined);
  });

  test('deletes and moves keep ranks exact, and a restart loads them back', async () => {
    const gone = users[5];
    ok(await srv.del(`/v2/leaderboard/${id}`, { auth: gone.auth }));
    ok(await srv.del(`/v2/leaderboard/${id}`, { auth: gone.auth }), 'deleting nothing is fine');
    expected = expected.filter((e) => e.owner !== gone.uid);
    const mover = users[6];
    const w = ok(await write(mover, id, { score: 100 }));
    assert.equal(w.rank, '1');
    expected = sorted(expected.map((e) => (e.owner === mover.uid ? { ...e, score: 100, subscore: 0 } : e)));
    const { seen } = await allPages(10);
    assert.equal(seen.length, 22);
    checkOrder(seen);

    await srv.restart();
    const after = await allPages(10);
    checkOrder(after.seen);
    for (const e of [expected[0], expected[7], expected[21]]) {
      const u = users.find((x) => x.uid === e.owner);
      const l = ok(await list(u, id, `owner_ids=${u.uid}`));
      assert.equal(l.owner_records[0].rank, String(expected.indexOf(e) + 1), 'cached rank after restart');
      assert.equal(l.rank_count, '22');
    }
  });

  test("a deleted account's records leave the board and its ranks", async () => {
    // users[0] lists the pages: neither the deleted owner nor the one checked after it
    const k = expected.findIndex((e, i) => i >= 3 && e.owner !== users[0].uid &&
      expected[i + 1]?.owner !== users[0].uid);
    const gone = users.find((u) => u.uid === expected[k].owner);
    const below = users.find((u) => u.uid === expected[k + 1].owner);
    ok(await srv.del('/v2/account', { auth: gone.auth }));
    expected = expected.filter((e) => e.owner !== gone.uid);
    const { seen } = await allPages(10);
    assert.equal(seen.length, 21);
    assert.ok(!seen.some((r) => r.owner_id === gone.uid), 'the record is gone');
    checkOrder(seen);
    const l = ok(await list(below, id, `owner_ids=${below.uid}`));
    assert.equal(l.owner_records[0].rank, String(k + 1), 'the next owner moves up in the cache');
    assert.equal(l.rank_count, '21');
  });
});

describe('tournaments', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const join = (u, id) => srv.post(`/v2/tournament/${id}/join`, {}, { auth: u.auth });
  const twrite = (u, id, body) => srv.put(`/v2/tournament/${id}`, body, { auth: u.auth });

  test('listing with categories, times and a cursor', async () => {
    const u = await user();
    const cat = 100 + Math.floor(Math.random() * 20);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await tournament({ category: cat, title: `T${i}`, description: 'd', end_time: now() + 7200 }));
    const l = ok(await srv.get(`/v2/tournament?category_start=${cat}&category_end=${cat}&limit=2`, { auth: u.auth }));
    assert.equal(l.tournaments.length, 2);
    assert.ok(l.cursor);
    const l2 = ok(await srv.get(`/v2/tournament?category_start=${cat}&category_end=${cat}&limit=2&cursor=${l.cursor}`, { auth: u.auth }));
    assert.equal(l2.tournaments.length, 1);
    assert.equal(l2.cursor, undefined);
    const all = [...l.tournaments, ...l2.tournaments];
    assert.deepEqual(all.map((t) => t.id).sort(), ids.sort());
    const t = all[0];
    assert.equal(t.category, cat);
    assert.equal(t.can_enter, true);
    assert.equal(t.duration, 3600);
    assert.ok(t.start_active <= now() && t.end_active > now());
    err(await srv.get('/v2/tournament?category_start=5&category_end=200', { auth: u.auth }), 400, 3, 'category');
    const none = ok(await srv.get(`/v2/tournament?category_start=${cat}&category_end=${cat}&end_time=${now()}`, { auth: u.auth }));
    assert.equal(none.tournaments, undefined, 'none ends before now');
  });

  test('join required, max size and max attempts', async () => {
    const id = await tournament({ join_required: true, max_size: 2, max_num_score: 2, operator: 'incr' });
    const [a, b, c] = await Promise.all([user(), user(), user()]);
    err(await twrite(a, id, { score: 1 }), 400, 3, 'not joined');
    ok(await join(a, id));
    ok(await join(a, id), 'joining twice is fine');
    const joined = ok(await srv.get(`/v2/tournament/${id}?owner_ids=${a.uid}`, { auth: a.auth }));
    assert.equal(joined.owner_records[0].num_score, undefined, 'a join is no attempt');
    ok(await join(b, id));
    err(await join(c, id), 400, 3, 'full');
    ok(await twrite(a, id, { score: 5 }));
    const r = ok(await srv.post(`/v2/tournament/${id}`, { score: 5 }, { auth: a.auth }), 'POST writes too');
    assert.deepEqual([r.score, r.num_score, r.max_num_score], ['10', 2, 2]);
    err(await twrite(a, id, { score: 5 }), 400, 3, 'attempts used up');
    const l = ok(await srv.get(`/v2/tournament/${id}?limit=10`, { auth: a.auth }));
    assert.deepEqual(l.records.map((x) => x.owner_id), [a.uid, b.uid]);
    const ar = ok(await srv.get(`/v2/tournament/${id}/owner/${b.uid}?limit=2`, { auth: b.auth }));
    assert.deepEqual(ar.records.map((x) => x.rank), ['1', '2']);
    err(await write(a, id, { score: 1 }), 404, 5, 'a tournament is not written through the leaderboard API');
  });

  test('concurrent joins never pass max size', async () => {
    const id = await tournament({ max_size: 3 });
    const users = await Promise.all(Array.from({ length: 10 }, user));
    const res = await Promise.all(users.map((u) => join(u, id)));
    assert.equal(res.filter((r) => r.status === 200).length, 3);
    const l = ok(await srv.get(`/v2/tournament?category_start=0&category_end=127&limit=100`, { auth: users[0].auth }));
    assert.equal(l.tournaments.find((t) => t.id === id).size, 3);
  });

  test('a tournament opens at its start time and refuses writes after its end', async () => {
    const start = now() + 2;
    const id = await tournament({ start_time: start, end_time: start + 2, duration: 2 });
    const u = await user();
    err(await twrite(u, id, { score: 1 }), 400, 3, 'before the start');
    err(await join(u, id), 400, 3, 'join before the start');
    await sleep((start - Date.now() / 1000) * 1000 + 200);
    const r = ok(await twrite(u, id, { score: 1 }), 'active');
    assert.equal(Date.parse(r.expiry_time) / 1000, start + 2, 'records expire at the end');
    await sleep((start + 2 - Date.now() / 1000) * 1000 + 200);
    err(await twrite(u, id, { score: 2 }), 400, 3, 'after the end');
  });

  test('unknown tournaments and authoritative ones', async () => {
    const u = await user();
    err(await join(u, 'nope'), 404, 5, 'join');
    err(await twrite(u, 'nope', { score: 1 }), 404, 5, 'write');
    const id = await tournament({ authoritative: true });
    ok(await join(u, id));
    err(await twrite(u, id, { score: 1 }), 403, 7, 'authoritative');
    const lb = await board({});
    err(await join(u, lb), 404, 5, 'a leaderboard is no tournament');
  });
});

describe('module host functions (tests/modules/lb.c)', () => {
  let msrv, dir;
  before(async () => {
    assert.ok(process.env.TAVERN_TEST_MODULES, 'TAVERN_TEST_MODULES is set by meson');
    dir = mkdtempSync(join(tmpdir(), 'tavern-lb-modules-'));
    copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'lb.so'), join(dir, 'lb.so'));
    msrv = await startServer(['--module-path', dir]);
  });
  after(async () => {
    await msrv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Calls an RPC with the HTTP key and a plain-text payload; resolves to {status, text}. */
  async function rpc(id, payload) {
    const res = await msrv.post(`/v2/rpc/${id}?unwrap`, payload, { auth: basic('defaulthttpkey'), headers: { 'content-type': 'text/plain' } });
    return res;
  }

  async function muser() {
    const s = ok(await msrv.authenticate('device', { id: randomId('dev-', 32) }));
    const { payload } = decodeJwt(s.token);
    return { uid: payload.uid, auth: bearer(s.token) };
  }

  test('the board made in init is authoritative: modules write it, clients cannot', async () => {
    const [a, b] = await Promise.all([muser(), muser()]);
    err(await msrv.post('/v2/leaderboard/mod-board', { score: 1 }, { auth: a.auth }), 403, 7, 'client write');
    for (let i = 0; i < 3; i++) assert.equal((await rpc('lb_write', `mod-board ${a.uid} 5 1 0`)).status, 200);
    const w = await rpc('lb_write', `mod-board ${b.uid} 20 0 2`);
    assert.equal(w.status, 200, w.text);
    const rec = JSON.parse(w.text);
    assert.deepEqual([rec.score, rec.rank, rec.username, JSON.parse(rec.metadata)], ['20', '1', 'moduser', { by: 'module' }]);
    const r = JSON.parse((await rpc('lb_rank', `mod-board ${a.uid}`)).text);
    assert.deepEqual(r, { rank: 2, count: 2 });
    const l = JSON.parse((await rpc('lb_list', `mod-board 10 ${a.uid}`)).text);
    assert.deepEqual(l.records.map((x) => x.score), ['20', '15']);
    assert.equal(l.owner_records[0].score, '15');
    // a client reads what the module wrote
    const cl = ok(await msrv.get('/v2/leaderboard/mod-board?limit=5', { auth: a.auth }));
    assert.equal(cl.rank_count, '2');
    assert.equal((await rpc('lb_rank', `no-board ${a.uid}`)).status, 404);
    assert.equal((await rpc('lb_write', `mod-board not-a-uuid 1 1 0`)).status, 400);
    assert.equal((await rpc('lb_create', '{"id":"mod-board"}')).status, 200, 'creating again is a no-op');
    assert.equal((await rpc('lb_create', '{"id":"x y"}')).status, 400, 'bad definition');
  });

  test('tournaments from a module, and the reset hook when one ends', async () => {
    const a = await muser();
    const end = Math.floor(Date.now() / 1000) + 2;
    const id = randomId('mt-', 12);
    const c = await rpc('tourn_create', JSON.stringify({ id, duration: 60, end_time: end, join_required: true, max_num_score: 1 }));
    assert.equal(c.status, 200, c.text);
    assert.equal((await rpc('tourn_write', `${id} ${a.uid} 3 0 0`)).status, 400, 'not joined');
    assert.equal((await rpc('tourn_join', `${id} ${a.uid}`)).status, 200);
    const w = await rpc('tourn_write', `${id} ${a.uid} 3 0 0`);
    assert.equal(w.status, 200, w.text);
    assert.equal(JSON.parse(w.text).expiry_time, new Date(end * 1000).toISOString().replace('.000Z', 'Z'));
    assert.equal((await rpc('tourn_write', `${id} ${a.uid} 4 0 0`)).status, 400, 'one attempt only');
    // the reset thread tells the module when the period ends
    let seen = '';
    for (let i = 0; i < 60 && !seen.includes(`${id} 1 ${end};`); i++) {
      await sleep(100);
      seen = (await rpc('lb_resets', '')).text;
    }
    assert.ok(seen.includes(`${id} 1 ${end};`), `reset hook saw ${JSON.stringify(seen)}`);
    await sleep(1200);
    const again = (await rpc('lb_resets', '')).text;
    assert.equal(again.split(`${id} 1`).length - 1, 1, 'the hook fires once per period');
  });
});
