// The matchmaker over real WebSockets: matchmaker_add / matchmaker_remove and their errors,
// the per-session ticket limit, matchmaker_matched pushed to every member with a token that
// joins the relayed match, tickets dropped with their socket, the "no match" push of an
// expired ticket and the console figures. The server runs passes every 100 ms. Then modules:
// the matchmaker_matched hook (tests/modules/mm.c) and the ABI 1.7 ticket entries
// (tests/modules/mm_tickets.c), with the console's ticket listing and matched history.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer, decodeJwt, randomId } from '../lib/server.mjs';
import { wsOpen } from './wsutil.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RELAYED_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.$/;
const MAX_INTERVALS = 10;

let srv;

before(async () => {
  srv = await startServer(['--matchmaker-interval-ms', '100',
    '--matchmaker-max-intervals', String(MAX_INTERVALS)]);
});
after(async () => { await srv?.stop(); });

async function player(server = srv) {
  const res = await server.authenticate('device', { id: randomId('mm-', 32) });
  assert.equal(res.status, 200, res.text);
  const { payload } = decodeJwt(res.json.token);
  const r = await wsOpen(server, `token=${encodeURIComponent(res.json.token)}`);
  assert.ok(r.ws, `upgrade refused: ${r.status} ${r.body}`);
  return { ws: r.ws, inbox: r.inbox, uid: payload.uid, usn: payload.usn };
}

let cidSeq = 0;
async function request(p, msg) {
  const cid = String(++cidSeq);
  p.inbox.send({ cid, ...msg });
  const reply = await p.inbox.next();
  assert.equal(reply.cid, cid, `reply to ${JSON.stringify(msg)}: ${JSON.stringify(reply)}`);
  return reply;
}

async function close(...ps) {
  for (const p of ps) {
    p.ws.close();
    await p.inbox.closedWithin();
  }
}

/** A ticket that only matches tickets carrying the same tag. */
function add(tag, extra = {}) {
  return {
    matchmaker_add: {
      min_count: 2, max_count: 2, query: `+properties.tag:${tag}`,
      string_properties: { tag }, ...extra,
    },
  };
}

async function consoleGet(path, server = srv) {
  const auth = await server.post('/v2/console/authenticate', { username: 'admin', password: 'password' },
    { consolePort: true });
  assert.equal(auth.status, 200, auth.text);
  return server.get(path, { auth: bearer(auth.json.token), consolePort: true });
}

async function consoleStats() {
  const res = await consoleGet('/v2/console/matchmaker');
  assert.equal(res.status, 200, res.text);
  const zero = { tickets: 0, added: 0, removed: 0, groups: 0, matched: 0, expired: 0, passes: 0 };
  return { ...zero, ...res.json }; // zeros are left out of the answer
}

describe('matchmaker tickets', () => {
  test('add answers a ticket id, remove an empty reply; a second remove is an error', async () => {
    const p = await player();
    try {
      const r = await request(p, add(randomId('t', 12)));
      assert.match(r.matchmaker_ticket.ticket, UUID);
      const rm = await request(p, { matchmaker_remove: { ticket: r.matchmaker_ticket.ticket } });
      assert.deepEqual(Object.keys(rm), ['cid']);
      const again = await request(p, { matchmaker_remove: { ticket: r.matchmaker_ticket.ticket } });
      assert.deepEqual(again.error, { code: 3, message: 'Matchmaker ticket not found' });
    } finally { await close(p); }
  });

  test('another session cannot remove my ticket', async () => {
    const [a, b] = [await player(), await player()];
    try {
      const r = await request(a, add(randomId('t', 12)));
      const rm = await request(b, { matchmaker_remove: { ticket: r.matchmaker_ticket.ticket } });
      assert.equal(rm.error?.code, 3);
      assert.ok('cid' in await request(a, { matchmaker_remove: { ticket: r.matchmaker_ticket.ticket } }));
    } finally { await close(a, b); }
  });

  test('bad input answers error 3 with a reason, and the socket stays open', async () => {
    const p = await player();
    try {
      const cases = [
        [{ min_count: 1, max_count: 2 }, /minimum count/],
        [{ min_count: 3, max_count: 2 }, /maximum count/],
        [{ min_count: 2, max_count: 4, count_multiple: 3 }, /count multiple/],
        [{ min_count: 2, max_count: 2, query: '+region:eu' }, /query/],
        [{ min_count: 2, max_count: 2, query: 'x'.repeat(1100) }, /too long/],
        [{ min_count: 2, max_count: 2, string_properties: { a: 1 } }, /property value/],
        [{ min_count: 2, max_count: 2, numeric_properties: { a: 'x' } }, /property value/],
        [{ min_count: 2, max_count: 2, string_properties: 'x' }, /properties/],
        [{ min_count: 2, max_count: 2, numeric_properties: Object.fromEntries(
          Array.from({ length: 33 }, (_, i) => [`p${i}`, i])) }, /Too many/],
      ];
      for (const [body, why] of cases) {
        const r = await request(p, { matchmaker_add: body });
        assert.equal(r.error?.code, 3, JSON.stringify(body));
        assert.match(r.error.message, why);
      }
      const rm = await request(p, { matchmaker_remove: { ticket: '' } });
      assert.equal(rm.error?.code, 3);
      const ok = await request(p, add(randomId('t', 12)));
      assert.match(ok.matchmaker_ticket.ticket, UUID);
    } finally { await close(p); }
  });

  test('a session holds at most 3 tickets', async () => {
    const p = await player();
    try {
      const tag = randomId('t', 12);
      for (let i = 0; i < 3; i++)
        assert.match((await request(p, add(tag))).matchmaker_ticket.ticket, UUID);
      const r = await request(p, add(tag));
      assert.deepEqual(r.error, { code: 3, message: 'Too many matchmaker tickets' });
    } finally { await close(p); }
  });
});

describe('matchmaker_matched', () => {
  test('both members hear the group with a token; the token joins them to one relayed match', async () => {
    const [a, b] = [await player(), await player()];
    try {
      const tag = randomId('t', 12);
      const ta = (await request(a, add(tag, { numeric_properties: { rating: 1500 } }))).matchmaker_ticket.ticket;
      const tb = (await request(b, add(tag, { numeric_properties: { rating: 1520 } }))).matchmaker_ticket.ticket;
      const ma = (await a.inbox.next(5000)).matchmaker_matched;
      const mb = (await b.inbox.next(5000)).matchmaker_matched;
      assert.ok(ma && mb);
      assert.equal(ma.ticket, ta);
      assert.equal(mb.ticket, tb);
      assert.equal(ma.token, mb.token);
      assert.equal(ma.match_id, undefined);
      assert.equal(ma.users.length, 2);
      assert.equal(ma.self.presence.user_id, a.uid);
      assert.equal(mb.self.presence.user_id, b.uid);
      const ua = ma.users.find((u) => u.presence.user_id === a.uid);
      assert.equal(ua.presence.username, a.usn);
      assert.match(ua.presence.session_id, UUID);
      assert.deepEqual(ua.string_properties, { tag });
      assert.deepEqual(ua.numeric_properties, { rating: 1500 });
      const { payload } = decodeJwt(ma.token);
      assert.match(payload.mid, RELAYED_ID);
      const now = Date.now() / 1000;
      assert.ok(payload.exp > now + 20 && payload.exp <= now + 31, `exp ${payload.exp}`);

      const ja = await request(a, { match_join: { token: ma.token } });
      assert.equal(ja.match.match_id, payload.mid);
      assert.ok(!ja.match.authoritative);
      const jb = await request(b, { match_join: { token: mb.token } });
      assert.equal(jb.match.match_id, payload.mid);
      assert.deepEqual(jb.match.presences.map((p) => p.user_id), [a.uid]);
      // a hears b join (after its own join event, as relayed matches announce every join)
      let ev;
      do ev = (await a.inbox.next()).match_presence_event;
      while (ev && ev.joins.every((p) => p.user_id === a.uid));
      assert.deepEqual(ev.joins.map((p) => p.user_id), [b.uid]);
      // the tickets are gone: removing one is an error now
      const rm = await request(a, { matchmaker_remove: { ticket: ta } });
      assert.equal(rm.error?.code, 3);
    } finally { await close(a, b); }
  });

  test('a token signed with another key, or tampered, is refused', async () => {
    const [a, b] = [await player(), await player()];
    try {
      const tag = randomId('t', 12);
      await request(a, add(tag));
      await request(b, add(tag));
      const m = (await a.inbox.next(5000)).matchmaker_matched;
      await b.inbox.next(5000);
      const [h, p] = m.token.split('.');
      const r = await request(a, { match_join: { token: `${h}.${p}.AAAA` } });
      assert.deepEqual(r.error, { code: 3, message: 'Invalid match token' });
    } finally { await close(a, b); }
  });

  test('tickets go with their socket; a lone ticket expires with a match-less push', async () => {
    const [a, b] = [await player(), await player()];
    const tag = randomId('t', 12);
    const before = await consoleStats();
    await request(a, add(tag));
    await close(a);
    for (let i = 0; i < 50 && (await consoleStats()).tickets !== before.tickets; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal((await consoleStats()).tickets, before.tickets);
    try {
      const tb = (await request(b, add(tag))).matchmaker_ticket.ticket;
      const started = Date.now();
      const m = (await b.inbox.next(MAX_INTERVALS * 100 + 5000)).matchmaker_matched;
      assert.ok(m, 'a push');
      assert.ok(Date.now() - started >= (MAX_INTERVALS - 1) * 100, 'not before max intervals');
      assert.equal(m.ticket, tb);
      assert.equal(m.token, undefined);
      assert.equal(m.match_id, undefined);
      assert.equal(m.users.length, 1);
      assert.equal(m.self.presence.user_id, b.uid);
      const after = await consoleStats();
      assert.ok(after.expired >= before.expired + 1);
      assert.ok(after.passes > before.passes);
      // the console's history shows the expiry, with its owner
      const hist = await consoleGet('/v2/console/matchmaker/matched?limit=256');
      assert.equal(hist.status, 200, hist.text);
      const e = hist.json.entries.find((x) => x.tickets.includes(tb));
      assert.ok(e, hist.text);
      assert.equal(e.kind, 'expired');
      assert.equal(e.match_id, undefined);
      assert.deepEqual(e.users.map((u) => [u.user_id, u.username, u.ticket]), [[b.uid, b.usn, tb]]);
    } finally { await close(b); }
  });
});

describe('a module\'s matchmaker_matched hook (tests/modules/mm.c)', () => {
  let msrv, dir;
  before(async () => {
    assert.ok(process.env.TAVERN_TEST_MODULES, 'TAVERN_TEST_MODULES is set by meson');
    dir = mkdtempSync(join(tmpdir(), 'tavern-mm-modules-'));
    copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'mm.so'), join(dir, 'mm.so'));
    msrv = await startServer(['--module-path', dir, '--matchmaker-interval-ms', '100']);
  });
  after(async () => {
    await msrv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the hook\'s authoritative match id reaches every member, who can join it', async () => {
    const [a, b] = [await player(msrv), await player(msrv)];
    try {
      const tag = randomId('t', 12);
      const body = add(tag);
      body.matchmaker_add.string_properties.mode = 'auth';
      await request(a, body);
      await request(b, body);
      const ma = (await a.inbox.next(5000)).matchmaker_matched;
      const mb = (await b.inbox.next(5000)).matchmaker_matched;
      assert.ok(ma && mb);
      assert.equal(ma.token, undefined);
      assert.match(ma.match_id, /^[0-9a-f-]{36}\.\w+$/);
      assert.equal(mb.match_id, ma.match_id);
      const ja = await request(a, { match_join: { match_id: ma.match_id } });
      assert.equal(ja.match.authoritative, true);
      assert.equal(ja.match.label, '{"users":2}'); // made for this group's two entries
    } finally { await close(a, b); }
  });

  test('a group the hook leaves alone gets a relayed token', async () => {
    const [a, b] = [await player(msrv), await player(msrv)];
    try {
      const tag = randomId('t', 12);
      await request(a, add(tag));
      await request(b, add(tag));
      const ma = (await a.inbox.next(5000)).matchmaker_matched;
      assert.equal(ma.match_id, undefined);
      assert.match(decodeJwt(ma.token).payload.mid, RELAYED_ID);
    } finally { await close(a, b); }
  });
});

describe('module ticket entries (ABI 1.7, tests/modules/mm_tickets.c) and the console listings', () => {
  let msrv, dir;
  const HTTP_KEY = 'defaulthttpkey';
  // max-intervals 300: a ticket a test leaves waiting (30 s) outlives the test on a busy box
  before(async () => {
    assert.ok(process.env.TAVERN_TEST_MODULES, 'TAVERN_TEST_MODULES is set by meson');
    dir = mkdtempSync(join(tmpdir(), 'tavern-mm-tickets-'));
    for (const m of ['mm.so', 'mm_tickets.so'])
      copyFileSync(join(process.env.TAVERN_TEST_MODULES, m), join(dir, m));
    msrv = await startServer(['--module-path', dir, '--matchmaker-interval-ms', '100',
      '--matchmaker-max-intervals', '300']);
  });
  after(async () => {
    await msrv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The mm_add RPC over the socket: a ticket for p's own session. */
  async function socketAdd(p, body) {
    const r = await request(p, { rpc: { id: 'mm_add', payload: JSON.stringify(body) } });
    assert.ok(r.rpc, JSON.stringify(r));
    return JSON.parse(r.rpc.payload);
  }
  /** An RPC over HTTP with the http key, raw body in and out, extra query parameters. */
  function rpcHttp(id, body, query = {}) {
    const q = new URLSearchParams({ http_key: HTTP_KEY, unwrap: '', ...query });
    return msrv.post(`/v2/rpc/${id}?${q}`, body);
  }
  async function list(query = {}) {
    const res = await rpcHttp('mm_list', '', query);
    assert.equal(res.status, 200, res.text);
    return res.json;
  }
  const ticketBody = (tag, extra = {}) => ({
    min_count: 2, max_count: 2, query: `+properties.tag:${tag}`, string_properties: { tag }, ...extra,
  });

  test('a module-added ticket matches a socket ticket; both owners hear matchmaker_matched', async () => {
    const [a, b] = [await player(msrv), await player(msrv)];
    try {
      const tag = randomId('t', 12);
      const { ticket: ta, session_id: sa } = await socketAdd(a, ticketBody(tag, { numeric_properties: { level: 7 } }));
      assert.match(ta, UUID);
      assert.match(sa, UUID);
      const tb = (await request(b, add(tag))).matchmaker_ticket.ticket;
      const ma = (await a.inbox.next(5000)).matchmaker_matched;
      const mb = (await b.inbox.next(5000)).matchmaker_matched;
      assert.ok(ma && mb, 'both pushed');
      assert.equal(ma.ticket, ta);
      assert.equal(mb.ticket, tb);
      assert.equal(ma.token, mb.token);
      assert.equal(ma.self.presence.user_id, a.uid);
      assert.equal(ma.self.presence.session_id, sa);
      assert.deepEqual(ma.self.numeric_properties, { level: 7 });
      assert.deepEqual(ma.users.map((u) => u.presence.user_id).sort(), [a.uid, b.uid].sort());
      // the console's history has the group: both tickets, both users, the token's match
      const hist = await consoleGet('/v2/console/matchmaker/matched', msrv);
      assert.equal(hist.status, 200, hist.text);
      const e = hist.json.entries.find((x) => x.tickets.includes(ta));
      assert.ok(e, hist.text);
      assert.equal(e.kind, 'matched');
      assert.deepEqual([...e.tickets].sort(), [ta, tb].sort());
      assert.equal(e.match_id, decodeJwt(ma.token).payload.mid);
      assert.equal(e.authoritative, undefined); // false, left out as protojson does
      const ua = e.users.find((u) => u.user_id === a.uid), ub = e.users.find((u) => u.user_id === b.uid);
      assert.ok(ua && ub, JSON.stringify(e.users));
      assert.deepEqual([ua.session_id, ua.username, ua.ticket], [sa, a.usn, ta]);
      assert.deepEqual([ub.username, ub.ticket], [b.usn, tb]);
      assert.match(ub.session_id, UUID);
      assert.deepEqual(ua.string_properties, { tag });
      assert.deepEqual(ua.numeric_properties, { level: 7 });
      assert.ok(hist.json.total >= 1);
      assert.ok(!Number.isNaN(Date.parse(e.time)), e.time);
      // matched tickets are gone: removing one is NOT_FOUND
      const rm = await rpcHttp('mm_remove', ta);
      assert.equal(rm.status, 404, rm.text);
      assert.equal(rm.json.code, 5);
    } finally { await close(a, b); }
  });

  test('an authoritative group is recorded with the module\'s match id', async () => {
    const [a, b] = [await player(msrv), await player(msrv)];
    try {
      const tag = randomId('t', 12);
      const { ticket: ta } = await socketAdd(a, ticketBody(tag, { string_properties: { tag, mode: 'auth' } }));
      await request(b, add(tag, { string_properties: { tag, mode: 'auth' } }));
      const ma = (await a.inbox.next(5000)).matchmaker_matched;
      await b.inbox.next(5000);
      assert.match(ma.match_id ?? '', /^[0-9a-f-]{36}\.\w+$/);
      const hist = await consoleGet('/v2/console/matchmaker/matched?limit=10', msrv);
      const e = hist.json.entries.find((x) => x.tickets.includes(ta));
      assert.ok(e, hist.text);
      assert.equal(e.match_id, ma.match_id);
      assert.equal(e.authoritative, true);
    } finally { await close(a, b); }
  });

  test('the list shows waiting tickets by session and user; remove takes any session\'s ticket', async () => {
    const [a, b] = [await player(msrv), await player(msrv)];
    try {
      const tag = randomId('t', 12);
      const { ticket: ta, session_id: sa } = await socketAdd(a, ticketBody(`${tag}a`, { count_multiple: 1 }));
      const tb = (await request(b, add(`${tag}b`, { numeric_properties: { skill: 3.5 } }))).matchmaker_ticket.ticket;
      // a second ticket for a's session, added over HTTP by its session id
      const r2 = await rpcHttp('mm_add', JSON.stringify(ticketBody(`${tag}c`)), { session_id: sa });
      assert.equal(r2.status, 200, r2.text);
      const ta2 = r2.json.ticket;

      const mine = await list({ session_id: sa });
      assert.deepEqual(mine.map((t) => t.ticket), [ta, ta2]); // oldest first
      const t0 = mine[0];
      assert.equal(t0.session_id, sa);
      assert.equal(t0.user_id, a.uid);
      assert.equal(t0.username, a.usn);
      assert.equal(t0.query, `+properties.tag:${tag}a`);
      assert.deepEqual([t0.min_count, t0.max_count, t0.count_multiple], [2, 2, 1]);
      assert.deepEqual(t0.string_properties, { tag: `${tag}a` });
      assert.deepEqual(t0.numeric_properties, {});
      assert.equal(typeof t0.intervals, 'number');
      assert.ok(Math.abs(Date.parse(t0.create_time) - Date.now()) < 60000, t0.create_time);
      const theirs = await list({ user_id: b.uid });
      assert.deepEqual(theirs.map((t) => t.ticket), [tb]);
      assert.deepEqual(theirs[0].numeric_properties, { skill: 3.5 });
      const all = (await list()).map((t) => t.ticket);
      for (const t of [ta, ta2, tb]) assert.ok(all.includes(t));
      assert.equal((await list({ session_id: sa, limit: '1' })).length, 1);

      // the console lists them too, with a count
      const c = await consoleGet(`/v2/console/matchmaker/tickets?session_id=${sa}`, msrv);
      assert.equal(c.status, 200, c.text);
      assert.deepEqual(c.json.tickets.map((t) => t.ticket), [ta, ta2]);
      assert.equal(c.json.total, 2);
      const c1 = await consoleGet(`/v2/console/matchmaker/tickets?sessionId=${sa}&limit=1`, msrv);
      assert.deepEqual([c1.json.tickets.length, c1.json.total], [1, 2]);
      const cu = await consoleGet(`/v2/console/matchmaker/tickets?user_id=${b.uid}`, msrv);
      assert.deepEqual(cu.json.tickets.map((t) => t.ticket), [tb]);
      assert.deepEqual(cu.json.tickets[0].numeric_properties, { skill: 3.5 });
      assert.equal(cu.json.tickets[0].string_properties.tag, `${tag}b`);
      const nobody = await consoleGet('/v2/console/matchmaker/tickets?user_id=00000000-0000-4000-8000-000000000009', msrv);
      assert.deepEqual(nobody.json, {}); // empty members left out

      // the module removes b's socket ticket; b's own remove then fails
      const rm = await rpcHttp('mm_remove', tb);
      assert.equal(rm.status, 200, rm.text);
      assert.deepEqual(await list({ user_id: b.uid }), []);
      const again = await request(b, { matchmaker_remove: { ticket: tb } });
      assert.equal(again.error?.code, 3);
      // and a's socket can remove the ticket the module added for it
      assert.ok('cid' in await request(a, { matchmaker_remove: { ticket: ta2 } }));
      assert.deepEqual((await list({ session_id: sa })).map((t) => t.ticket), [ta]);
    } finally { await close(a, b); }
  });

  test('refusals: bad input 3, unknown or closed session 5, the ticket limit 8', async () => {
    const a = await player(msrv);
    let sa;
    try {
      const tag = randomId('t', 12);
      ({ session_id: sa } = await socketAdd(a, ticketBody(tag)));
      const bad = [
        { min_count: 1, max_count: 2 },
        { min_count: 3, max_count: 2 },
        { min_count: 2, max_count: 4, count_multiple: 3 },
        { min_count: 2, max_count: 2, query: '+region:eu' },
        { min_count: 2, max_count: 2, query: 'x'.repeat(1100) },
        { min_count: 2, max_count: 2, string_properties: { a: 1 } },
        { min_count: 2, max_count: 2, numeric_properties: Object.fromEntries(
          Array.from({ length: 33 }, (_, i) => [`p${i}`, i])) },
      ];
      for (const body of bad) {
        const r = await rpcHttp('mm_add', JSON.stringify(body), { session_id: sa });
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.json.code, 3);
      }
      for (const text of ['not json', '[1,2]', '']) {
        const r = await rpcHttp('mm_add', text, { session_id: sa });
        assert.equal(r.json?.code, 3, `${text}: ${r.text}`);
      }
      const noSid = await rpcHttp('mm_add', JSON.stringify(ticketBody(tag)), { session_id: 'nope' });
      assert.equal(noSid.json?.code, 3, noSid.text);
      // over HTTP without a session_id the caller has no session: refused, not crashed
      const none = await rpcHttp('mm_add', JSON.stringify(ticketBody(tag)));
      assert.equal(none.json?.code, 3, none.text);
      const unknown = await rpcHttp('mm_add', JSON.stringify(ticketBody(tag)),
        { session_id: '00000000-0000-4000-8000-000000000001' });
      assert.equal(unknown.status, 404, unknown.text);
      assert.equal(unknown.json.code, 5);
      // the session holds 3 tickets (its own socket's count with the module's)
      await request(a, add(tag));
      const third = await rpcHttp('mm_add', JSON.stringify(ticketBody(tag)), { session_id: sa });
      assert.equal(third.status, 200, third.text);
      const fourth = await rpcHttp('mm_add', JSON.stringify(ticketBody(tag)), { session_id: sa });
      assert.equal(fourth.status, 429, fourth.text);
      assert.equal(fourth.json.code, 8);
      const viaSocket = await request(a, add(tag));
      assert.deepEqual(viaSocket.error, { code: 3, message: 'Too many matchmaker tickets' });
      assert.equal((await list({ session_id: sa })).length, 3);
      // removals: unknown ticket 5, not an id 3
      const rm = await rpcHttp('mm_remove', '00000000-0000-4000-8000-000000000002');
      assert.equal(rm.json?.code, 5, rm.text);
      const rmBad = await rpcHttp('mm_remove', '');
      assert.equal(rmBad.json?.code, 3, rmBad.text);
    } finally { await close(a); }
    // closed: its tickets went with it, and a new add for it is NOT_FOUND
    for (let i = 0; i < 50 && (await list({ session_id: sa })).length; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await list({ session_id: sa }), []);
    const closed = await rpcHttp('mm_add', JSON.stringify(ticketBody('x')), { session_id: sa });
    assert.equal(closed.status, 404, closed.text);
    assert.equal(closed.json.code, 5);
  });

  test('the matchmaker_matched hook may add a ticket itself (on the matcher thread)', async () => {
    const [a, b] = [await player(msrv), await player(msrv)];
    try {
      const tag = randomId('t', 12);
      const body = add(tag, { string_properties: { tag, mode: 'requeue' } });
      const { session_id: sa } = await socketAdd(a, body.matchmaker_add);
      await request(b, body);
      const ma = (await a.inbox.next(5000)).matchmaker_matched;
      assert.ok(ma?.token, JSON.stringify(ma));
      // the hook ran for this group and requeued its first user's session: a's or b's
      let requeued = [];
      for (let i = 0; i < 50 && !requeued.length; i++) {
        requeued = (await list()).filter((t) => t.query === '+properties.tag:requeued' &&
          [a.uid, b.uid].includes(t.user_id));
        if (!requeued.length) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(requeued.length, 1, JSON.stringify(requeued));
      assert.deepEqual(requeued[0].string_properties, { tag: 'requeued' });
      if (requeued[0].user_id === a.uid) assert.equal(requeued[0].session_id, sa);
    } finally { await close(a, b); }
  });

  test('the console routes refuse without a console token, and check their parameters', async () => {
    for (const path of ['/v2/console/matchmaker/matched', '/v2/console/matchmaker/tickets']) {
      const none = await msrv.get(path, { consolePort: true });
      assert.equal(none.status, 401, `${path}: ${none.text}`);
      const wrong = await msrv.get(path, { consolePort: true, auth: bearer('not.a.token') });
      assert.equal(wrong.status, 401, `${path}: ${wrong.text}`);
      // a player's session token is no console token
      const res = await msrv.authenticate('device', { id: randomId('mm-', 32) });
      const player = await msrv.get(path, { consolePort: true, auth: bearer(res.json.token) });
      assert.equal(player.status, 401, `${path}: ${player.text}`);
    }
    for (const [path, max] of [['/v2/console/matchmaker/matched', 256], ['/v2/console/matchmaker/tickets', 1000]]) {
      assert.equal((await consoleGet(`${path}?limit=${max}`, msrv)).status, 200);
      for (const bad of ['0', String(max + 1), 'abc'])
        assert.equal((await consoleGet(`${path}?limit=${bad}`, msrv)).status, 400, `${path} limit ${bad}`);
    }
    const badUser = await consoleGet('/v2/console/matchmaker/tickets?user_id=nope', msrv);
    assert.equal(badUser.status, 400, badUser.text);
  });
});
