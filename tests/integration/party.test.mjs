// Parties over raw WebSocket JSON (spec section 4, party_* rows): the shapes of every reply and
// push, errors and their codes, limits, the leader's permissions, join requests, leader
// hand-over on leave and on disconnect, max size, the party ending with its last member, and
// party matchmaker tickets going when the party changes. Run by meson on SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { newWsUser, wsConnect } from './wsutil.mjs';

const PARTY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.tavern$/;

let srv;

before(async () => { srv = await startServer(['--matchmaker-interval-ms', '200']); });
after(async () => { await srv?.stop(); });

// ---------------------------------------------------------------------------------------------
// helpers

/** A user with one open socket; its session id is learnt from its first party reply. */
async function player() {
  return wsConnect(srv, await newWsUser(srv, 'party-'));
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

/** A request that must fail with this code (and a message matching re). */
async function refused(p, msg, code, re) {
  const r = await request(p, msg);
  assert.ok(r.error, `expected an error for ${JSON.stringify(msg)}: ${JSON.stringify(r)}`);
  assert.equal(r.error.code ?? 0, code, JSON.stringify(r));
  if (re) assert.match(r.error.message, re);
  return r.error;
}

/** Sends a request; the pushes it causes to the sender come first (deep-equal to pushes),
 * then its bare reply. */
async function requestAfter(p, msg, pushes) {
  const cid = String(++cidSeq);
  p.inbox.send({ cid, ...msg });
  for (const want of pushes) assert.deepEqual(await p.inbox.next(), want);
  assert.deepEqual(await p.inbox.next(), { cid });
}

/** Resolves when no message arrives within ms. */
async function silent(p, ms = 300, what = '') {
  try {
    const m = await p.inbox.next(ms);
    assert.fail(`unexpected message ${what}: ${JSON.stringify(m)}`);
  } catch (e) {
    if (e.code === 'ERR_ASSERTION') throw e;
  }
}

const presence = (p) => ({ user_id: p.u.uid, session_id: p.sid, username: p.u.usn });
const close = (...ps) => ps.forEach((p) => p.ws.close());

/** Creates a party led by p; eats p's own join event. */
async function create(p, body = { open: true, max_size: 4 }) {
  const r = await request(p, { party_create: body });
  assert.ok(r.party, JSON.stringify(r));
  p.sid = r.party.self.session_id;
  assert.deepEqual(await p.inbox.next(), {
    party_presence_event: { party_id: r.party.party_id, joins: [presence(p)] } });
  return r.party;
}

/** p joins the open party id: its `party`, the join event to every member, then the reply. */
async function joinOpen(p, id, members) {
  const cid = String(++cidSeq);
  p.inbox.send({ cid, party_join: { party_id: id } });
  const party = (await p.inbox.next()).party;
  assert.ok(party, 'the joiner gets the party');
  p.sid = party.self.session_id;
  const ev = { party_presence_event: { party_id: id, joins: [presence(p)] } };
  assert.deepEqual(await p.inbox.next(), ev, 'the joiner hears its own join');
  assert.deepEqual(await p.inbox.next(), { cid });
  for (const m of members) assert.deepEqual(await m.inbox.next(), ev);
  return party;
}

/**
 * The leader accepts p's request: the accepted gets the party and its own join, every member
 * the join (the leader before its reply: a request's pushes come before its answer).
 */
async function accept(leader, id, p, members = []) {
  const cid = String(++cidSeq);
  leader.inbox.send({ cid, party_accept: { party_id: id, presence: presence(p) } });
  const ev = { party_presence_event: { party_id: id, joins: [presence(p)] } };
  assert.deepEqual(await leader.inbox.next(), ev);
  assert.deepEqual(await leader.inbox.next(), { cid });
  const party = (await p.inbox.next()).party;
  assert.ok(party);
  assert.deepEqual(party.self, presence(p));
  assert.deepEqual(await p.inbox.next(), ev);
  for (const m of members) assert.deepEqual(await m.inbox.next(), ev);
  return party;
}

// ---------------------------------------------------------------------------------------------

describe('party shapes', () => {
  test('create answers the party; an open party is joined at once', async () => {
    const a = await player(), b = await player();
    try {
      const cid = String(++cidSeq);
      a.inbox.send({ cid, party_create: { open: true, max_size: 3, label: 'raid', hidden: true } });
      const r = await a.inbox.next();
      assert.equal(r.cid, cid);
      a.sid = r.party.self.session_id;
      assert.match(r.party.party_id, PARTY_ID);
      assert.deepEqual(r.party, { party_id: r.party.party_id, open: true, hidden: true,
        max_size: 3, self: presence(a), leader: presence(a), presences: [presence(a)],
        label: 'raid' });
      await a.inbox.next(); // own join
      const party = await joinOpen(b, r.party.party_id, [a]);
      assert.deepEqual(party, { party_id: r.party.party_id, open: true, hidden: true,
        max_size: 3, self: presence(b), leader: presence(a),
        presences: [presence(a), presence(b)], label: 'raid' });
      // joining again changes nothing
      assert.deepEqual(await request(b, { party_join: { party_id: party.party_id } }),
        { cid: String(cidSeq) });
      await silent(a, 200, 'after a repeated join');
    } finally {
      close(a, b);
    }
  });

  test('data goes to the other members only, op_code as a string, data as base64', async () => {
    const a = await player(), b = await player(), c = await player(), out = await player();
    try {
      const { party_id } = await create(a);
      await joinOpen(b, party_id, [a]);
      await joinOpen(c, party_id, [a, b]);
      a.inbox.send({ party_data_send: { party_id, op_code: '7', data: 'AAEC/w==' } });
      const want = { party_data: { party_id, presence: presence(a), op_code: '7',
        data: 'AAEC/w==' } };
      assert.deepEqual(await b.inbox.next(), want);
      assert.deepEqual(await c.inbox.next(), want);
      await silent(a, 200, 'the sender hears nothing');
      // URL-safe unpadded base64 is read as protojson reads bytes, and sent back standard
      b.inbox.send({ party_data_send: { party_id, op_code: 1, data: '_-8' } });
      assert.deepEqual(await a.inbox.next(), { party_data: { party_id, presence: presence(b),
        op_code: '1', data: '/+8=' } });
      await c.inbox.next();
      // no op_code, no data: both left out
      c.inbox.send({ party_data_send: { party_id } });
      assert.deepEqual(await a.inbox.next(), { party_data: { party_id, presence: presence(c) } });
      await b.inbox.next();
      // a non-member: error 3 (without cid, as sent)
      out.inbox.send({ party_data_send: { party_id, op_code: 1, data: 'AA==' } });
      const e = await out.inbox.next();
      assert.equal(e.error.code, 3);
      assert.match(e.error.message, /party member not found/);
      await silent(a, 200, 'an outsider\'s data is not relayed');
      // data that is not base64 closes the socket, as a payload Nakama cannot read
      c.inbox.send({ party_data_send: { party_id, op_code: 1, data: '***' } });
      await c.inbox.closedWithin(5000);
      assert.deepEqual(await a.inbox.next(),
        { party_presence_event: { party_id, leaves: [presence(c)] } });
    } finally {
      close(a, b, c, out);
    }
  });
});

describe('errors and limits', () => {
  test('bad ids are error 3, unknown parties error 4', async () => {
    const a = await player();
    try {
      for (const name of ['party_join', 'party_leave', 'party_close',
        'party_join_request_list']) {
        await refused(a, { [name]: { party_id: 'nope' } }, 3, /Invalid party ID/);
        await refused(a, { [name]: {} }, 3, /Invalid party ID/);
        await refused(a, { [name]: { party_id: '00000000-0000-4000-8000-000000000000.tavern' } },
          4, /Party not found/);
        await refused(a, { [name]: { party_id: '00000000-0000-4000-8000-000000000000.other' } },
          4, /Party not found/);
      }
      const p = { user_id: '00000000-0000-4000-8000-000000000001',
        session_id: '00000000-0000-4000-8000-000000000002', username: 'x' };
      for (const name of ['party_promote', 'party_accept', 'party_remove']) {
        await refused(a, { [name]: { party_id: 'x', presence: { user_id: 'a' } } }, 3,
          /Invalid presence/);
        await refused(a, { [name]: { party_id: '00000000-0000-4000-8000-000000000000.tavern',
          presence: p } }, 4);
      }
      await refused(a, { party_matchmaker_remove: { party_id: 'x' } }, 3,
        /Invalid matchmaker ticket/);
      await refused(a, { party_matchmaker_add: { party_id: 'x', min_count: 1, max_count: 2 } },
        3, /minimum count/);
    } finally {
      close(a);
    }
  });

  test('max_size 1-256 and whole, labels of at most 256 bytes', async () => {
    const a = await player();
    try {
      for (const max_size of [0, -1, 257, 1.5, undefined])
        await refused(a, { party_create: { open: true, max_size } }, 3, /max size/);
      await refused(a, { party_create: { open: true, max_size: 2, label: 'x'.repeat(257) } }, 3,
        /label/);
      const p = await create(a, { open: true, max_size: 256, label: 'x'.repeat(256) });
      assert.equal(p.max_size, 256);
    } finally {
      close(a);
    }
  });

  test('a field of the wrong type closes the socket', async () => {
    for (const body of [{ party_create: { open: true, max_size: '2' } },
      { party_join: { party_id: 5 } }, { party_promote: { party_id: 'x', presence: 'me' } }]) {
      const a = await player();
      a.inbox.send({ cid: '1', ...body });
      await a.inbox.closedWithin(5000);
    }
  });

  test('at most 16 parties a session', async () => {
    const a = await player(), b = await player();
    try {
      const ids = [];
      for (let i = 0; i < 16; i++) ids.push((await create(a)).party_id);
      await refused(a, { party_create: { open: true, max_size: 2 } }, 3, /Too many parties/);
      const other = await create(b);
      await refused(a, { party_join: { party_id: other.party_id } }, 3, /too many parties/);
      // leaving one frees a place
      assert.deepEqual(await request(a, { party_leave: { party_id: ids[0] } }),
        { cid: String(cidSeq) });
      await joinOpen(a, other.party_id, [b]);
    } finally {
      close(a, b);
    }
  });

  test('max size holds for open joins and for accepts', async () => {
    const a = await player(), b = await player(), c = await player(), d = await player();
    try {
      const open = await create(a, { open: true, max_size: 2 });
      await joinOpen(b, open.party_id, [a]);
      await refused(c, { party_join: { party_id: open.party_id } }, 3, /party full/);
      const closed = await create(a, { open: false, max_size: 2 });
      assert.deepEqual(await request(c, { party_join: { party_id: closed.party_id } }),
        { cid: String(cidSeq) });
      await a.inbox.next(); // the request
      assert.deepEqual(await request(d, { party_join: { party_id: closed.party_id } }),
        { cid: String(cidSeq) });
      await a.inbox.next();
      c.sid = (await request(a, { party_join_request_list: { party_id: closed.party_id } }))
        .party_join_request.presences[0].session_id;
      await accept(a, closed.party_id, c);
      // the party is full now: the second request cannot be accepted, and no new one is taken
      const list = await request(a, { party_join_request_list: { party_id: closed.party_id } });
      d.sid = list.party_join_request.presences[0].session_id;
      await refused(a, { party_accept: { party_id: closed.party_id, presence: presence(d) } }, 3,
        /party full/);
      await refused(b, { party_join: { party_id: closed.party_id } }, 3, /party full/);
    } finally {
      close(a, b, c, d);
    }
  });
});

describe('the leader', () => {
  test('only the leader promotes, accepts, removes, closes, lists and matchmakes', async () => {
    const a = await player(), b = await player(), c = await player();
    try {
      const { party_id } = await create(a, { open: false, max_size: 4 });
      assert.deepEqual(await request(b, { party_join: { party_id } }), { cid: String(cidSeq) });
      const jr = await a.inbox.next();
      assert.equal(jr.cid, undefined);
      b.sid = jr.party_join_request.presences[0].session_id;
      assert.deepEqual(jr, { party_join_request: { party_id, presences: [presence(b)] } });
      const party = await accept(a, party_id, b);
      assert.deepEqual(party.presences, [presence(a), presence(b)]);
      assert.deepEqual(party.leader, presence(a));
      assert.equal(party.open, undefined, 'a closed party: open left out');
      assert.deepEqual(await request(c, { party_join: { party_id } }), { cid: String(cidSeq) });
      c.sid = (await a.inbox.next()).party_join_request.presences[0].session_id;
      for (const msg of [
        { party_promote: { party_id, presence: presence(a) } },
        { party_accept: { party_id, presence: presence(c) } },
        { party_remove: { party_id, presence: presence(a) } },
        { party_close: { party_id } },
        { party_join_request_list: { party_id } },
        { party_matchmaker_add: { party_id, min_count: 2, max_count: 4 } },
        { party_matchmaker_remove: { party_id, ticket: 'x' } },
      ])
        await refused(b, msg, 3, /party leader only/);
      await refused(a, { party_remove: { party_id, presence: presence(a) } }, 3,
        /cannot remove self/);
      await refused(a, { party_promote: { party_id, presence: presence(c) } }, 3,
        /party member not found/);
      // the leader declines c's request: nobody hears of it, and the list is empty
      assert.deepEqual(await request(a, { party_remove: { party_id, presence: presence(c) } }),
        { cid: String(cidSeq) });
      assert.deepEqual(await request(a, { party_join_request_list: { party_id } }),
        { cid: String(cidSeq), party_join_request: { party_id } });
      await silent(c, 200, 'a declined request is not announced');
      // promote: everyone hears party_leader; the old leader is refused from now on
      const lead = { party_leader: { party_id, presence: presence(b) } };
      await requestAfter(a, { party_promote: { party_id, presence: presence(b) } }, [lead]);
      assert.deepEqual(await b.inbox.next(), lead);
      await refused(a, { party_close: { party_id } }, 3, /party leader only/);
      // b removes a: a hears party_close, b the leave
      await requestAfter(b, { party_remove: { party_id, presence: presence(a) } },
        [{ party_presence_event: { party_id, leaves: [presence(a)] } }]);
      assert.deepEqual(await a.inbox.next(), { party_close: { party_id } });
      await refused(a, { party_data_send: { party_id } }, 3, /party member not found/);
      // close: every member hears it, then the party is gone
      await requestAfter(b, { party_close: { party_id } }, [{ party_close: { party_id } }]);
      await refused(c, { party_join: { party_id } }, 4, /Party not found/);
    } finally {
      close(a, b, c);
    }
  });

  test('the oldest member takes over when the leader leaves or disconnects', async () => {
    const a = await player(), b = await player(), c = await player();
    try {
      const { party_id } = await create(a);
      await joinOpen(b, party_id, [a]);
      await joinOpen(c, party_id, [a, b]);
      assert.deepEqual(await request(a, { party_leave: { party_id } }), { cid: String(cidSeq) });
      for (const p of [b, c]) {
        assert.deepEqual(await p.inbox.next(),
          { party_presence_event: { party_id, leaves: [presence(a)] } });
        assert.deepEqual(await p.inbox.next(),
          { party_leader: { party_id, presence: presence(b) } });
      }
      await silent(a, 200, 'a left');
      // the new leader disconnects: c leads, alone
      b.ws.close();
      assert.deepEqual(await c.inbox.next(),
        { party_presence_event: { party_id, leaves: [presence(b)] } });
      assert.deepEqual(await c.inbox.next(), { party_leader: { party_id, presence: presence(c) } });
      const list = await request(c, { party_join_request_list: { party_id } });
      assert.deepEqual(list.party_join_request, { party_id });
      // the last member leaves: the party is over
      assert.deepEqual(await request(c, { party_leave: { party_id } }), { cid: String(cidSeq) });
      await refused(a, { party_join: { party_id } }, 4, /Party not found/);
      // leaving a party one is not in changes nothing
      const other = await create(a);
      assert.deepEqual(await request(c, { party_leave: { party_id: other.party_id } }),
        { cid: String(cidSeq) });
      await silent(a, 200);
    } finally {
      close(a, b, c);
    }
  });

  test('a disconnecting requester withdraws its join request', async () => {
    const a = await player(), b = await player();
    try {
      const { party_id } = await create(a, { open: false, max_size: 2 });
      await request(b, { party_join: { party_id } });
      await a.inbox.next();
      b.ws.close();
      await b.inbox.closedWithin(5000);
      let list;
      for (let i = 0; i < 50; i++) {
        list = await request(a, { party_join_request_list: { party_id } });
        if (!list.party_join_request.presences) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(list.party_join_request, { party_id });
    } finally {
      close(a, b);
    }
  });
});

describe('party matchmaking', () => {
  test('a ticket for the whole party; it goes when the party changes', async () => {
    const a = await player(), b = await player(), c = await player();
    try {
      const { party_id } = await create(a);
      await joinOpen(b, party_id, [a]);
      const r = await request(a, { party_matchmaker_add: { party_id, min_count: 3,
        max_count: 3, query: '+properties.mode:never', string_properties: { mode: 'x' } } });
      assert.deepEqual(Object.keys(r.party_matchmaker_ticket).sort(), ['party_id', 'ticket']);
      assert.equal(r.party_matchmaker_ticket.party_id, party_id);
      const { ticket } = r.party_matchmaker_ticket;
      assert.deepEqual(await b.inbox.next(), { party_matchmaker_ticket: { party_id, ticket } });
      // removable by the leader, once
      assert.deepEqual(await request(a, { party_matchmaker_remove: { party_id, ticket } }),
        { cid: String(cidSeq) });
      await refused(a, { party_matchmaker_remove: { party_id, ticket } }, 3, /not found/);
      // a party ticket is not the leader's own
      const t2 = (await request(a, { party_matchmaker_add: { party_id, min_count: 3,
        max_count: 3, query: '+properties.mode:never', string_properties: { mode: 'x' } } }))
        .party_matchmaker_ticket.ticket;
      await b.inbox.next();
      await refused(a, { matchmaker_remove: { ticket: t2 } }, 3, /not found/);
      // c joins: the ticket is gone
      await joinOpen(c, party_id, [a, b]);
      await new Promise((r) => setTimeout(r, 100));
      await refused(a, { party_matchmaker_remove: { party_id, ticket: t2 } }, 3, /not found/);
      // too large for max_count
      await refused(a, { party_matchmaker_add: { party_id, min_count: 2, max_count: 2 } }, 3,
        /party size exceeds max count/);
    } finally {
      close(a, b, c);
    }
  });

  test('a party of 2 and a solo player are matched as one group of 3', async () => {
    const a = await player(), b = await player(), s = await player();
    try {
      const { party_id } = await create(a);
      await joinOpen(b, party_id, [a]);
      const body = { min_count: 3, max_count: 3, query: '+properties.mode:duo3',
        string_properties: { mode: 'duo3' } };
      const pt = (await request(a, { party_matchmaker_add: { party_id, ...body } }))
        .party_matchmaker_ticket.ticket;
      await b.inbox.next();
      const st = (await request(s, { matchmaker_add: body })).matchmaker_ticket.ticket;
      const got = await Promise.all([a, b, s].map((p) => p.inbox.next(5000)));
      for (const [i, m] of got.entries()) {
        const mm = m.matchmaker_matched;
        assert.ok(mm, JSON.stringify(m));
        assert.equal(mm.users.length, 3);
        assert.equal(mm.ticket, i < 2 ? pt : st);
        if (i < 2) assert.equal(mm.self.presence.session_id, [a, b][i].sid);
        assert.equal(mm.self.party_id, i < 2 ? party_id : undefined);
        assert.ok(mm.token);
        assert.equal(mm.token, got[0].matchmaker_matched.token);
        const inParty = mm.users.filter((u) => u.party_id === party_id);
        assert.deepEqual(inParty.map((u) => u.presence.session_id).sort(), [a.sid, b.sid].sort());
      }
    } finally {
      close(a, b, s);
    }
  });
});
