// The realtime protocol of a real tavern over real WebSockets (spec section 4): sessions, ping
// and pong, error codes, the message size limit, relayed matches (create, join, leave, data to
// all or to listed presences, presence events and their order, the match going away when
// empty) and GET /v2/match. Run by meson on SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, bearer, randomId } from '../lib/server.mjs';
import { newWsUser, wsConnect } from './wsutil.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RELAYED_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.$/;

let srv;

before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

// ---------------------------------------------------------------------------------------------
// helpers

const newUser = () => newWsUser(srv, 'rt-');
const connect = (u, query = '') => wsConnect(srv, u, query);

/** A user with one open socket. */
async function player(query = '') {
  return connect(await newUser(), query);
}

let cidSeq = 0;
/** Sends a request with a fresh cid; resolves to the next message (which must carry it). */
async function request(p, msg) {
  const cid = String(++cidSeq);
  p.inbox.send({ cid, ...msg });
  const reply = await p.inbox.next();
  assert.equal(reply.cid, cid, `reply to ${JSON.stringify(msg)}: ${JSON.stringify(reply)}`);
  return reply;
}

/** Resolves when no message arrives within ms. */
async function silent(p, ms = 300, what = '') {
  try {
    const m = await p.inbox.next(ms);
    assert.fail(`unexpected message ${what}: ${JSON.stringify(m)}`);
  } catch (e) {
    if (e.code === 'ERR_ASSERTION') throw e;
  }
  assert.equal(p.inbox.closed, null, `the socket is still open ${what}`);
}

/** The presence object of a player as Nakama writes it (no node, no empty fields). */
function presence(p) {
  return { user_id: p.u.uid, session_id: p.sid, username: p.u.usn };
}

/** Creates a match (optionally named) and eats the creator's own join event. */
async function create(p, name) {
  const r = await request(p, { match_create: name === undefined ? {} : { name } });
  assert.ok(r.match, JSON.stringify(r));
  p.sid = r.match.self.session_id;
  const ev = await p.inbox.next();
  assert.deepEqual(ev, { match_presence_event: { match_id: r.match.match_id, joins: [presence(p)] } });
  return r.match;
}

/** Joins a match by id, checks the reply comes before the joiner's own join event. */
async function join(p, id) {
  const r = await request(p, { match_join: { match_id: id } });
  assert.ok(r.match, JSON.stringify(r));
  p.sid = r.match.self.session_id;
  const ev = await p.inbox.next();
  assert.deepEqual(ev, { match_presence_event: { match_id: id, joins: [presence(p)] } },
    'after its reply, the joiner hears its own join');
  return r.match;
}

function uuid5dns(name) {
  const ns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
  const h = createHash('sha1').update(Buffer.concat([ns, Buffer.from(name, 'utf8')])).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const close = (...ps) => ps.forEach((p) => p.ws.close());

// ---------------------------------------------------------------------------------------------

describe('sessions and the envelope', () => {
  test('ping answers pong with the cid; without a cid, none comes back', async () => {
    const p = await player('lang=en&status=true');
    try {
      assert.deepEqual(await request(p, { ping: {} }), { cid: String(cidSeq), pong: {} });
      p.inbox.send({ ping: {} });
      assert.deepEqual(await p.inbox.next(), { pong: {} });
      p.inbox.send({ cid: 'abc', ping: {} });
      assert.deepEqual(await p.inbox.next(), { cid: 'abc', pong: {} });
      p.inbox.send({ pong: {} }); // a client's pong is taken in silence
      await silent(p, 300, 'after a client pong');
    } finally {
      close(p);
    }
  });

  test('every socket is its own session, even for one user', async () => {
    const u = await newUser();
    const a = await connect(u, 'status=true');
    const b = await connect(u, 'status=false');
    try {
      const ma = await create(a);
      const mb = await create(b);
      assert.equal(ma.self.user_id, u.uid);
      assert.equal(mb.self.user_id, u.uid);
      assert.equal(ma.self.username, u.usn);
      assert.match(ma.self.session_id, UUID);
      assert.match(mb.self.session_id, UUID);
      assert.notEqual(ma.self.session_id, mb.self.session_id);
    } finally {
      close(a, b);
    }
  });

  test('an unknown message: error 1 with the cid, then the socket closes', async () => {
    const p = await player();
    p.inbox.send({ cid: '11', no_such_thing: {} });
    const m = await p.inbox.next();
    assert.equal(m.cid, '11');
    assert.equal(m.error.code, 1);
    assert.equal(typeof m.error.message, 'string');
    await p.inbox.closedWithin(5000);
  });

  test('no message in the envelope: error 2, then the socket closes', async () => {
    const p = await player();
    p.inbox.send({ cid: '12' });
    const m = await p.inbox.next();
    assert.equal(m.cid, '12');
    assert.equal(m.error.code, 2);
    await p.inbox.closedWithin(5000);
  });

  test('a field of the wrong type closes the socket without a reply', async () => {
    for (const bad of [{ match_create: { name: 7 } }, { match_join: { match_id: ['x'] } },
      { match_data_send: { match_id: 'x.', data: '!!!!' } }, { match_data_send: { op_code: 'one' } }]) {
      const p = await player();
      p.inbox.send({ cid: '1', ...bad });
      const closed = await p.inbox.closedWithin(5000);
      assert.equal(p.inbox.queue.length, 0, `no reply to ${JSON.stringify(bad)}`);
      assert.equal(closed.code, 1000);
    }
  });

  test('messages up to 4096 bytes pass; one byte more closes the socket with 1009', async () => {
    const p = await player();
    const base = JSON.stringify({ cid: '', ping: {} }).length;
    const cid = 'c'.repeat(4096 - base);
    p.inbox.send(JSON.stringify({ cid, ping: {} }));
    assert.deepEqual(await p.inbox.next(), { cid, pong: {} });
    p.inbox.send(JSON.stringify({ cid: cid + 'c', ping: {} }));
    const closed = await p.inbox.closedWithin(5000);
    assert.equal(closed.code, 1009);
    assert.equal(p.inbox.queue.length, 0);
  });
});

describe('relayed matches', () => {
  test('match_create answers {match_id "<uuid>.", size 1, self}, then the creator hears its own join', async () => {
    const a = await player();
    try {
      const r = await request(a, { match_create: {} });
      a.sid = r.match.self.session_id;
      assert.match(r.match.match_id, RELAYED_ID);
      assert.equal(r.match.match_id[14], '4', 'a random match id is a UUIDv4');
      assert.deepEqual(r, { cid: String(cidSeq), match: { match_id: r.match.match_id, size: 1, self: presence(a) } },
        'no authoritative, label or presences');
      assert.deepEqual(await a.inbox.next(), { match_presence_event: { match_id: r.match.match_id, joins: [presence(a)] } });
      await silent(a);
    } finally {
      close(a);
    }
  });

  test('join: the joiner gets the others, then everyone (the joiner too) hears the join', async () => {
    const [a, b, c] = await Promise.all([player(), player(), player()]);
    try {
      const m = await create(a);
      const rb = await request(b, { match_join: { match_id: m.match_id } });
      b.sid = rb.match.self.session_id;
      assert.deepEqual(rb.match, { match_id: m.match_id, size: 1, presences: [presence(a)], self: presence(b) });
      assert.deepEqual(await b.inbox.next(), { match_presence_event: { match_id: m.match_id, joins: [presence(b)] } });
      assert.deepEqual(await a.inbox.next(), { match_presence_event: { match_id: m.match_id, joins: [presence(b)] } });

      const rc = await join(c, m.match_id);
      assert.equal(rc.size, 2);
      assert.deepEqual(rc.presences, [presence(a), presence(b)]);
      for (const p of [a, b])
        assert.deepEqual(await p.inbox.next(), { match_presence_event: { match_id: m.match_id, joins: [presence(c)] } });

      // joining again: everyone listed (self too), no event
      const again = await request(c, { match_join: { match_id: m.match_id } });
      assert.deepEqual(again.match.presences, [presence(a), presence(b), presence(c)]);
      assert.equal(again.match.size, 3);
      await silent(a, 200);
      await silent(c, 100);
    } finally {
      close(a, b, c);
    }
  });

  test('the joiner always gets its match reply before any event, even with joins racing', async () => {
    const host = await player();
    const m = await create(host);
    const guests = await Promise.all(Array.from({ length: 12 }, () => player()));
    try {
      guests.forEach((g, i) => g.inbox.send({ cid: `j${i}`, match_join: { match_id: m.match_id } }));
      const firsts = await Promise.all(guests.map((g) => g.inbox.next()));
      firsts.forEach((f, i) => {
        assert.equal(f.cid, `j${i}`, `guest ${i}'s first message is its reply: ${JSON.stringify(f)}`);
        assert.ok(f.match);
        guests[i].sid = f.match.self.session_id;
      });
      // each guest then hears its own join and the joins after it; the host hears all twelve
      const heard = new Set();
      for (let i = 0; i < 12; i++) {
        const ev = await host.inbox.next();
        heard.add(ev.match_presence_event.joins[0].session_id);
      }
      assert.equal(heard.size, 12);
      // and the sizes add up: reply presences + joins heard afterwards = 12 others
      for (const [i, g] of guests.entries()) {
        const others = firsts[i].match.presences.length;
        let after = 0;
        for (;;) {
          const ev = await g.inbox.next(200).catch(() => null);
          if (!ev) break;
          assert.ok(ev.match_presence_event?.joins, JSON.stringify(ev));
          after++;
        }
        assert.equal(others + after, 13, `guest ${i}: ${others} listed + ${after} joins heard (its own included)`);
      }
    } finally {
      close(host, ...guests);
    }
  });

  test('match_create with a name: UUIDv5(DNS, name), shared by everyone who uses the name', async () => {
    const [a, b] = await Promise.all([player(), player()]);
    const name = randomId('room-', 20);
    try {
      const ma = await create(a, name);
      assert.equal(ma.match_id, uuid5dns(name) + '.');
      assert.equal(ma.size, 1);
      const rb = await request(b, { match_create: { name } });
      b.sid = rb.match.self.session_id;
      assert.deepEqual(rb.match, { match_id: ma.match_id, size: 2, presences: [presence(a)], self: presence(b) });
      assert.deepEqual(await b.inbox.next(), { match_presence_event: { match_id: ma.match_id, joins: [presence(b)] } });
      assert.deepEqual(await a.inbox.next(), { match_presence_event: { match_id: ma.match_id, joins: [presence(b)] } });
    } finally {
      close(a, b);
    }
  });

  test('match_join errors: unknown id -> 4, bad id -> 3, nothing -> 3, token -> 3; the socket stays open', async () => {
    const p = await player();
    try {
      let r = await request(p, { match_join: { match_id: '6f2d4c1a-0000-4000-8000-000000000000.' } });
      assert.equal(r.error.code, 4);
      assert.equal(r.error.message, 'Match not found');
      r = await request(p, { match_join: { match_id: '6f2d4c1a-0000-4000-8000-000000000000.nakama' } });
      assert.equal(r.error.code, 4, 'no authoritative match by that id');
      r = await request(p, { match_join: { match_id: 'not-a-match' } });
      assert.deepEqual(r.error, { code: 3, message: 'Invalid match ID' });
      r = await request(p, { match_join: {} });
      assert.deepEqual(r.error, { code: 3, message: 'No match ID or token found' });
      r = await request(p, { match_join: { token: 'x.y.z' } });
      assert.deepEqual(r.error, { code: 3, message: 'Invalid match token' });
      r = await request(p, { match_leave: { match_id: 'nope' } });
      assert.deepEqual(r.error, { code: 3, message: 'Invalid match ID' });
      assert.deepEqual(await request(p, { ping: {} }), { cid: String(cidSeq), pong: {} });
    } finally {
      close(p);
    }
  });

  test('match data: to all others, to listed presences, to oneself when listed; outsiders dropped', async () => {
    const [a, b, c, outsider] = await Promise.all([player(), player(), player(), player()]);
    try {
      const m = await create(a);
      await join(b, m.match_id);
      await a.inbox.next();
      await join(c, m.match_id);
      await a.inbox.next();
      await b.inbox.next();
      const id = m.match_id;
      const bytes = Buffer.from([0, 1, 2, 250, 255]).toString('base64');

      a.inbox.send({ match_data_send: { match_id: id, op_code: '5', data: bytes, reliable: true } });
      const expect = { match_data: { match_id: id, presence: presence(a), op_code: '5', data: bytes, reliable: true } };
      assert.deepEqual(await b.inbox.next(), expect);
      assert.deepEqual(await c.inbox.next(), expect);
      await silent(a, 200, 'no echo to the sender');

      // listed presences only; the sender may list itself
      b.inbox.send({ match_data_send: { match_id: id, op_code: 7, data: 'aGk=', presences: [presence(c), presence(b)] } });
      const toC = await c.inbox.next();
      assert.deepEqual(toC, { match_data: { match_id: id, presence: presence(b), op_code: '7', data: 'aGk=' } });
      assert.deepEqual(await b.inbox.next(), toC);
      await silent(a, 200, 'a was not listed');

      // op_code 0 and no data are left out; URL-safe base64 comes back standard
      c.inbox.send({ match_data_send: { match_id: id } });
      assert.deepEqual(await a.inbox.next(), { match_data: { match_id: id, presence: presence(c) } });
      assert.deepEqual(await b.inbox.next(), { match_data: { match_id: id, presence: presence(c) } });
      c.inbox.send({ match_data_send: { match_id: id, op_code: '-2', data: '-_8', presences: [presence(a)] } });
      assert.deepEqual(await a.inbox.next(), { match_data: { match_id: id, presence: presence(c), op_code: '-2', data: '+/8=' } });

      // an outsider's data goes nowhere; a bad match id answers error 3 without a cid
      outsider.inbox.send({ match_data_send: { match_id: id, op_code: '1', data: 'AA==' } });
      outsider.inbox.send({ match_data_send: { match_id: 'garbage', op_code: '1' } });
      assert.deepEqual(await outsider.inbox.next(), { error: { code: 3, message: 'Invalid match ID' } });
      // a listed presence with a bad id drops the message
      a.inbox.send({ match_data_send: { match_id: id, op_code: '1', presences: [{ user_id: 'x', session_id: 'y' }] } });
      await Promise.all([silent(a, 300), silent(b, 300), silent(c, 300)]);
    } finally {
      close(a, b, c, outsider);
    }
  });

  test('leaving: match_leave answers {cid} and the others hear it; a closed socket leaves too', async () => {
    const [a, b, c] = await Promise.all([player(), player(), player()]);
    try {
      const m = await create(a);
      await join(b, m.match_id);
      await a.inbox.next();
      await join(c, m.match_id);
      await a.inbox.next();
      await b.inbox.next();

      assert.deepEqual(await request(b, { match_leave: { match_id: m.match_id } }), { cid: String(cidSeq) });
      const left = { match_presence_event: { match_id: m.match_id, leaves: [presence(b)] } };
      assert.deepEqual(await a.inbox.next(), left);
      assert.deepEqual(await c.inbox.next(), left);
      await silent(b, 200, 'the leaver hears nothing');
      // b's data no longer reaches anyone
      b.inbox.send({ match_data_send: { match_id: m.match_id, op_code: '1' } });
      await silent(a, 200);
      assert.deepEqual(await request(b, { match_leave: { match_id: m.match_id } }), { cid: String(cidSeq) },
        'leaving again is still answered');

      c.ws.terminate();
      assert.deepEqual(await a.inbox.next(), { match_presence_event: { match_id: m.match_id, leaves: [presence(c)] } });
    } finally {
      close(a, b, c);
    }
  });

  test('the match is gone once empty: joining it answers 4, listing no longer shows it', async () => {
    const [a, b] = await Promise.all([player(), player()]);
    try {
      const m = await create(a);
      await join(b, m.match_id);
      await a.inbox.next();
      const listed = async () => {
        const res = await srv.get('/v2/match?limit=100', { auth: bearer(a.u.token) });
        assert.equal(res.status, 200, res.text);
        return (res.json.matches || []).some((x) => x.match_id === m.match_id);
      };
      assert.equal(await listed(), true);
      await request(a, { match_leave: { match_id: m.match_id } });
      b.ws.close();
      await b.inbox.closedWithin(5000);
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        gone = !(await listed());
        if (!gone) await sleep(50);
      }
      assert.ok(gone, 'the empty match left the listing');
      const r = await request(a, { match_join: { match_id: m.match_id } });
      assert.equal(r.error?.code, 4);
    } finally {
      close(a, b);
    }
  });
});

describe('GET /v2/match', () => {
  let a, b, small, big;
  before(async () => {
    [a, b] = await Promise.all([player(), player()]);
    small = await create(a);
    big = await create(b);
    const c = await player();
    await join(c, big.match_id);
    a.extra = c;
  });
  after(() => close(a, b, a.extra));

  const list = (q, token = a.u.token) => srv.get(`/v2/match${q ? '?' + q : ''}`, { auth: bearer(token) });
  const ids = (res) => (res.json.matches || []).map((m) => m.match_id);

  test('lists relayed matches as {match_id, size}', async () => {
    const res = await list('limit=100');
    assert.equal(res.status, 200, res.text);
    const mine = res.json.matches.filter((m) => m.match_id === small.match_id || m.match_id === big.match_id);
    assert.deepEqual(mine.sort((x, y) => x.size - y.size),
      [{ match_id: small.match_id, size: 1 }, { match_id: big.match_id, size: 2 }]);
  });

  test('min_size, max_size and limit filter', async () => {
    let res = await list('limit=100&min_size=2');
    assert.ok(ids(res).includes(big.match_id) && !ids(res).includes(small.match_id));
    assert.ok(res.json.matches.every((m) => m.size >= 2));
    res = await list('limit=100&max_size=1&min_size=1');
    assert.ok(ids(res).includes(small.match_id) && !ids(res).includes(big.match_id));
    res = await list('limit=1');
    assert.equal(res.json.matches.length, 1);
    res = await list('');
    assert.ok(res.json.matches.length >= 2 && res.json.matches.length <= 10, 'default limit 10');
    res = await list('limit=100&minSize=2');
    assert.ok(ids(res).includes(big.match_id) && !ids(res).includes(small.match_id), 'lowerCamel minSize');
  });

  test('relayed matches only appear without label or query and with authoritative unset or false', async () => {
    for (const q of ['authoritative=true', 'label=x', 'query=%2Blabel.skill%3A%3E1', 'authoritative=true&label=x']) {
      const res = await list(q);
      assert.equal(res.status, 200, `${q}: ${res.text}`);
      assert.deepEqual(res.json, {}, `${q}: no relayed matches (and no authoritative ones yet)`);
    }
    const res = await list('authoritative=false&limit=100');
    assert.ok(ids(res).includes(small.match_id));
  });

  test('bad queries answer 400', async () => {
    for (const [q, msg] of [
      ['label=x&authoritative=false', /Label filtering is not supported/],
      ['query=x&authoritative=false', /Query filtering is not supported/],
      ['limit=0', /limit must be between 1 and 100/],
      ['limit=101', /limit must be between 1 and 100/],
      ['limit=abc', /.+/],
      ['authoritative=maybe', /.+/],
      ['min_size=-1', /Minimum size must be 0 or above/],
      ['max_size=-1', /Maximum size must be 0 or above/],
      ['min_size=3&max_size=2', /Maximum size must be greater than or equal to minimum size/],
    ]) {
      const res = await list(q);
      assert.equal(res.status, 400, `${q}: ${res.status} ${res.text}`);
      assert.equal(res.json.code, 3);
      assert.match(res.json.message, msg, q);
    }
  });

  test('needs a session token', async () => {
    const res = await srv.get('/v2/match');
    assert.equal(res.status, 401);
    assert.equal(res.json.code, 16);
  });
});
