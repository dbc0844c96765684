// The matchmaker over real WebSockets: matchmaker_add / matchmaker_remove and their errors,
// the per-session ticket limit, matchmaker_matched pushed to every member with a token that
// joins the relayed match, tickets dropped with their socket, the "no match" push of an
// expired ticket and the console figures. The server runs passes every 100 ms.
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

async function consoleStats() {
  const auth = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' },
    { consolePort: true });
  assert.equal(auth.status, 200, auth.text);
  const res = await srv.get('/v2/console/matchmaker', { auth: bearer(auth.json.token), consolePort: true });
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
