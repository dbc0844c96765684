// The real @heroiclabs/nakama-js 2.8.0 against tavern's parties, with three clients: an open
// party joined, presence events, data both ways (Uint8Array bytes, strings as Latin-1), a
// closed party's join requests listed, accepted and declined, promote, the leader leaving
// (hand-over), close, and a party of 2 matched with a solo player into one group of 3.
// Matchmaker passes every 200 ms. Run on SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import { format, unset } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;
const sockets = [];

before(async () => {
  srv = await startServer(['--matchmaker-interval-ms', '200']);
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => {
  for (const s of sockets) s.disconnect(false);
  await srv?.stop();
});

const EVENTS = ['party', 'partypresence', 'partydata', 'partyleader', 'partyjoinrequest',
  'partymatchmakerticket', 'partyclose', 'matchmakermatched'];

/** A signed-in player whose pushes land in one queue per kind (onparty -> q.party, ...). */
async function player(tag) {
  const session = await client.authenticateDevice(randomId(`njs-party-${tag}-`, 32), true);
  const socket = client.createSocket(false, false);
  socket.onerror = () => {};
  socket.ondisconnect = () => {};
  await socket.connect(session, true, 5000);
  sockets.push(socket);
  const p = { session, socket, q: {}, waiters: [] };
  for (const e of EVENTS) {
    p.q[e] = [];
    socket[`on${e}`] = (m) => {
      p.q[e].push(m);
      p.waiters.splice(0).forEach((w) => w());
    };
  }
  return p;
}

/** The next push of a kind, within ms. */
async function next(p, kind, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!p.q[kind].length) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${kind} within ${ms} ms`);
    await new Promise((r) => {
      const t = setTimeout(r, left);
      p.waiters.push(() => { clearTimeout(t); r(); });
    });
  }
  return p.q[kind].shift();
}

/** Nothing more of these kinds arrives within ms. */
async function quiet(p, kinds, ms = 300) {
  await new Promise((r) => setTimeout(r, ms));
  for (const k of kinds) assert.deepEqual(p.q[k], [], `no more ${k}`);
}

const me = (p, party) => party.self ?? party; // a presence as the server wrote it
const sids = (list) => (list ?? []).map((x) => x.session_id).sort();

describe('parties with nakama-js', () => {
  test('open party: join, presences, data, promote, leader leaves, close', async () => {
    const [a, b, c] = [await player('a'), await player('b'), await player('c')];
    const party = await a.socket.createParty(true, 3);
    assert.match(party.party_id, /^[0-9a-f-]{36}\.tavern$/);
    assert.equal(party.open, true);
    assert.equal(party.max_size, 3);
    assert.deepEqual(party.leader, party.self);
    assert.equal(party.self.user_id, a.session.user_id);
    const pa = me(a, party);
    assert.deepEqual(sids((await next(a, 'partypresence')).joins), [pa.session_id]);

    await b.socket.joinParty(party.party_id);
    const pb = (await next(b, 'party')).self;
    assert.equal(pb.user_id, b.session.user_id);
    for (const p of [a, b])
      assert.deepEqual((await next(p, 'partypresence')).joins, [pb]);
    await c.socket.joinParty(party.party_id);
    const cparty = await next(c, 'party');
    const pc = cparty.self;
    assert.deepEqual(cparty.leader, pa);
    assert.deepEqual(sids(cparty.presences), sids([pa, pb, pc]));
    for (const p of [a, b, c])
      assert.deepEqual((await next(p, 'partypresence')).joins, [pc]);

    // data: bytes from a Uint8Array, and a string sent as Latin-1
    await a.socket.sendPartyData(party.party_id, 5, new Uint8Array([0, 1, 2, 250, 255]));
    for (const p of [b, c]) {
      const d = await next(p, 'partydata');
      assert.equal(d.party_id, party.party_id);
      assert.equal(d.op_code, 5);
      assert.deepEqual(d.presence, pa);
      assert.deepEqual([...d.data], [0, 1, 2, 250, 255]);
    }
    await b.socket.sendPartyData(party.party_id, 9, 'h\u00e9llo');
    for (const p of [a, c])
      // nakama-js sends a string as Latin-1 bytes, nakama-js-protobuf as UTF-8
      assert.deepEqual([...(await next(p, 'partydata')).data],
        format === 'protobuf' ? [0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f] : [0x68, 0xe9, 0x6c, 0x6c, 0x6f]);
    await quiet(a, ['partydata']);
    assert.deepEqual(b.q.partydata, [], 'the sender does not hear its own data');

    // promote b: everyone hears it
    await a.socket.promotePartyMember(party.party_id, pb);
    for (const p of [a, b, c])
      assert.deepEqual(await next(p, 'partyleader'), { party_id: party.party_id, presence: pb });
    // a non-leader cannot close
    await assert.rejects(a.socket.closeParty(party.party_id),
      (e) => e.code === 3 && /leader only/.test(e.message));

    // the leader leaves: the oldest remaining member (a) leads
    await b.socket.leaveParty(party.party_id);
    for (const p of [a, c]) {
      assert.deepEqual((await next(p, 'partypresence')).leaves, [pb]);
      assert.deepEqual(await next(p, 'partyleader'), { party_id: party.party_id, presence: pa });
    }

    // close: everyone left hears it; the party is gone
    await a.socket.closeParty(party.party_id);
    for (const p of [a, c])
      assert.deepEqual(await next(p, 'partyclose'), { party_id: party.party_id });
    await assert.rejects(b.socket.joinParty(party.party_id), (e) => e.code === 4);
  });

  test('closed party: join requests listed, accepted and declined', async () => {
    const [a, b, c] = [await player('a'), await player('b'), await player('c')];
    const party = await a.socket.createParty(false, 4);
    assert.ok(unset(party.open), 'closed: open left out, as protojson does');
    await next(a, 'partypresence');
    await b.socket.joinParty(party.party_id);
    await c.socket.joinParty(party.party_id);
    const rb = await next(a, 'partyjoinrequest');
    const rc = await next(a, 'partyjoinrequest');
    assert.equal(rb.presences[0].user_id, b.session.user_id);
    assert.equal(rc.presences[0].user_id, c.session.user_id);
    const list = await a.socket.listPartyJoinRequests(party.party_id);
    assert.equal(list.party_id, party.party_id);
    assert.deepEqual(list.presences, [rb.presences[0], rc.presences[0]]);
    await assert.rejects(b.socket.listPartyJoinRequests(party.party_id),
      (e) => e.code === 3 && /leader only/.test(e.message));

    await a.socket.acceptPartyMember(party.party_id, rb.presences[0]);
    const bp = await next(b, 'party');
    assert.deepEqual(bp.self, rb.presences[0]);
    assert.deepEqual(bp.leader, party.self);
    for (const p of [a, b])
      assert.deepEqual((await next(p, 'partypresence')).joins, [rb.presences[0]]);
    await a.socket.removePartyMember(party.party_id, rc.presences[0]);
    const after = await a.socket.listPartyJoinRequests(party.party_id);
    assert.ok(unset(after.presences));
    await quiet(c, ['party', 'partyclose']);

    // the leader removes member b: b hears party_close, a the leave
    await a.socket.removePartyMember(party.party_id, rb.presences[0]);
    assert.deepEqual(await next(b, 'partyclose'), { party_id: party.party_id });
    assert.deepEqual((await next(a, 'partypresence')).leaves, [rb.presences[0]]);
    await a.socket.leaveParty(party.party_id);
  });

  test('a party of 2 and a solo player are matched into one group of 3', async () => {
    const [a, b, s] = [await player('a'), await player('b'), await player('s')];
    const tag = randomId('t', 12);
    const party = await a.socket.createParty(true, 2);
    await b.socket.joinParty(party.party_id);
    const pb = (await next(b, 'party')).self;
    const t = await a.socket.addMatchmakerParty(party.party_id, `+properties.tag:${tag}`, 3, 3,
      { tag }, {});
    assert.equal(t.party_id, party.party_id);
    assert.match(t.ticket, /^[0-9a-f-]{36}$/);
    assert.deepEqual(await next(b, 'partymatchmakerticket'), t, 'members hear the ticket');
    await assert.rejects(b.socket.addMatchmakerParty(party.party_id, '*', 2, 4, {}, {}),
      (e) => e.code === 3 && /leader only/.test(e.message));
    const st = await s.socket.addMatchmaker(`+properties.tag:${tag}`, 3, 3, { tag }, {});

    const [ma, mb, ms] = await Promise.all([a, b, s].map((p) => next(p, 'matchmakermatched')));
    for (const m of [ma, mb, ms]) {
      assert.equal(m.users.length, 3);
      assert.ok(m.token);
      assert.equal(m.token, ma.token);
      const party_users = m.users.filter((u) => u.party_id === party.party_id);
      assert.deepEqual(sids(party_users.map((u) => u.presence)),
        sids([party.self, pb]));
      const solo = m.users.filter((u) => !u.party_id);
      assert.deepEqual(solo.map((u) => u.presence.user_id), [s.session.user_id]);
      assert.deepEqual(solo[0].string_properties, { tag });
    }
    assert.equal(ma.ticket, t.ticket);
    assert.equal(mb.ticket, t.ticket);
    assert.equal(ms.ticket, st.ticket);
    assert.equal(ma.self.party_id, party.party_id);
    assert.equal(mb.self.presence.session_id, pb.session_id);
    assert.ok(unset(ms.self.party_id));
    // the token makes the match as usual: all three join it
    const matches = await Promise.all([a, b, s].map((p) =>
      p.socket.joinMatch(undefined, ma.token)));
    assert.equal(new Set(matches.map((m) => m.match_id)).size, 1);
    await a.socket.leaveParty(party.party_id);
  });
});
