// Chat over real WebSockets and REST: channel_join of rooms and direct messages (group channels
// are tested with groups, in group.test.mjs), the `channel` reply, channel_presence_event joins and leaves (hidden members are
// neither listed nor announced), channel_message_send with its ack and the push to every
// member, updates and removes of one's own stored messages only, the direct-message rules
// (not oneself, an existing user, no block either way, the "wants to chat" notification),
// limits and bad input, sockets that close leaving their channels, the stored history of
// GET /v2/channel/{channel_id} paged both ways with its cursors, and presence events coalesced
// in bursts (nobody disconnected, each join heard once, a join before the joiner's message, a
// join and a leave of one socket within one burst cancelled).
// Run by meson on SQLite and PostgreSQL; see tests/lib/server.mjs for the environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, bearer, randomId } from '../lib/server.mjs';
import { newWsUser, wsConnect } from './wsutil.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

let cidSeq = 0;

/** One socket of a user: requests that skip over pushes (kept, in order, for push()). */
class Peer {
  constructor(conn) {
    Object.assign(this, conn);
    this.backlog = [];
  }

  /** Sends msg with a fresh cid and resolves to the reply; pushes before it are kept. */
  async ask(msg) {
    const cid = String(++cidSeq);
    this.inbox.send({ cid, ...msg });
    for (;;) {
      const m = await this.inbox.next();
      if (m.cid === cid) return m;
      assert.equal(m.cid, undefined, `a reply to another request: ${JSON.stringify(m)}`);
      this.backlog.push(m);
    }
  }

  /** The next push, which must be of this kind; resolves to its body. */
  async push(kind) {
    const m = this.backlog.length ? this.backlog.shift() : await this.inbox.next();
    assert.ok(m[kind], `expected ${kind}, got ${JSON.stringify(m)}`);
    assert.equal(m.cid, undefined, 'pushes carry no cid');
    return m[kind];
  }

  /** Sends the requests in one go (no waiting in between); resolves to their replies. */
  async askAll(...msgs) {
    const cids = msgs.map((msg) => {
      const cid = String(++cidSeq);
      this.inbox.send({ cid, ...msg });
      return cid;
    });
    const replies = new Map();
    while (replies.size < cids.length) {
      const m = await this.inbox.next();
      if (cids.includes(m.cid)) replies.set(m.cid, m);
      else {
        assert.equal(m.cid, undefined, `a reply to another request: ${JSON.stringify(m)}`);
        this.backlog.push(m);
      }
    }
    return cids.map((cid) => replies.get(cid));
  }

  async error(msg, message) {
    const r = await this.ask(msg);
    assert.equal(r.error?.code, 3, `BAD_INPUT for ${JSON.stringify(msg)}: ${JSON.stringify(r)}`);
    if (message) assert.match(r.error.message, message);
    return r.error;
  }

  close() { this.ws.close(); }
}

const newUser = () => newWsUser(srv, 'ch-');
const connect = async (u) => new Peer(await wsConnect(srv, u ?? await newUser()));
const roomName = () => `room-${randomId('', 10)}`;
const join = (p, target, extra = {}) => p.ask({ channel_join: { target, type: 1, ...extra } });
const send = (p, channelId, content) =>
  p.ask({ channel_message_send: { channel_id: channelId, content: JSON.stringify(content) } });
const history = (u, channelId, q = '') =>
  srv.get(`/v2/channel/${encodeURIComponent(channelId)}${q ? '?' + q : ''}`, { auth: bearer(u.token) });

function ok(res) {
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** A presence of peer p as the server writes it. */
const presenceOf = (p, persistence = true) => ({
  user_id: p.u.uid, session_id: p.self, username: p.u.usn, ...(persistence ? { persistence } : {}),
});

/** Joins room name and checks the reply; returns it and remembers p's session id. */
async function joinRoom(p, name, extra) {
  const r = await join(p, name, extra);
  assert.ok(r.channel, JSON.stringify(r));
  assert.equal(r.channel.id, `2...${name}`);
  assert.equal(r.channel.room_name, name);
  assert.equal(r.channel.self.user_id, p.u.uid);
  assert.match(r.channel.self.session_id, UUID);
  p.self = r.channel.self.session_id;
  return r.channel;
}

test('joins: the reply lists the others, every member hears a visible join (the joiner too)', async () => {
  const name = roomName();
  const a = await connect();
  const first = await joinRoom(a, name);
  assert.equal(first.presences, undefined, 'nobody else is there');
  assert.deepEqual(first.self, presenceOf(a));
  // Nakama's tracker tells every member of the stream, the joiner included, after its reply
  assert.deepEqual(await a.push('channel_presence_event'),
    { channel_id: `2...${name}`, joins: [presenceOf(a)], room_name: name });

  const b = await connect();
  const second = await joinRoom(b, name, { persistence: false });
  assert.deepEqual(second.presences, [presenceOf(a)]);
  assert.deepEqual(second.self, presenceOf(b, false), 'persistence false is left out');
  for (const p of [a, b])
    assert.deepEqual((await p.push('channel_presence_event')).joins, [presenceOf(b, false)]);

  // joining again changes nothing: the reply lists self too, and nobody hears of it
  const again = await join(a, name);
  assert.deepEqual(again.channel.presences.map((p) => p.session_id).sort(), [a.self, b.self].sort());
  const c = await connect();
  await joinRoom(c, name);
  for (const p of [a, b, c])
    assert.equal((await p.push('channel_presence_event')).joins[0].session_id, c.self, 'the next event is c\'s join');

  // leave: the others hear it; leaving again (or a room never joined) is still {cid}
  assert.deepEqual(Object.keys(await b.ask({ channel_leave: { channel_id: `2...${name}` } })), ['cid']);
  for (const p of [a, c])
    assert.deepEqual(await p.push('channel_presence_event'),
      { channel_id: `2...${name}`, leaves: [presenceOf(b, false)], room_name: name });
  assert.equal((await b.ask({ channel_leave: { channel_id: `2...${name}` } })).error, undefined);
  assert.equal((await b.ask({ channel_leave: { channel_id: '2...never-joined' } })).error, undefined);
  await b.error({ channel_leave: { channel_id: 'lobby' } }, /Invalid channel identifier/);

  // a closed socket leaves its channels
  c.close();
  assert.deepEqual((await a.push('channel_presence_event')).leaves, [presenceOf(c)]);
  const d = await connect();
  const fourth = await joinRoom(d, name);
  assert.deepEqual(fourth.presences, [presenceOf(a)], 'only a is still there');
  for (const p of [a, d]) p.close();
});

test('hidden members hear the channel but are neither listed nor announced', async () => {
  const name = roomName();
  const a = await connect();
  await joinRoom(a, name);
  await a.push('channel_presence_event');
  const h = await connect();
  const r = await joinRoom(h, name, { hidden: true });
  assert.deepEqual(r.presences, [presenceOf(a)], 'a hidden joiner still sees the others');
  const v = await connect();
  const rv = await joinRoom(v, name);
  assert.deepEqual(rv.presences, [presenceOf(a)], 'the hidden member is not listed');
  // what a hears next is v's join: h's was never announced
  assert.equal((await a.push('channel_presence_event')).joins[0].session_id, v.self);
  assert.equal((await h.push('channel_presence_event')).joins[0].session_id, v.self, 'h hears joins');
  await v.push('channel_presence_event');

  // h gets messages and may send them
  await send(a, `2...${name}`, { text: 'to all' });
  for (const p of [a, h, v]) assert.equal((await p.push('channel_message')).content, '{"text":"to all"}');
  assert.ok((await send(h, `2...${name}`, { text: 'from the shadows' })).channel_message_ack);
  for (const p of [a, h, v]) assert.equal((await p.push('channel_message')).sender_id, h.u.uid);
  // h's close is not announced either: a next hears v leave
  h.close();
  await h.inbox.closedWithin();
  v.close();
  const e = await a.push('channel_presence_event');
  assert.deepEqual(e.leaves.map((p) => p.session_id), [v.self]);
  a.close();
});

test('send: every member gets channel_message, the sender also its ack; history keeps persistent ones', async () => {
  const name = roomName();
  const id = `2...${name}`;
  const a = await connect();
  const b = await connect();
  await joinRoom(a, name);
  await a.push('channel_presence_event');
  await joinRoom(b, name, { persistence: false });
  await a.push('channel_presence_event');
  await b.push('channel_presence_event');

  const r = await send(a, id, { text: 'hello', n: 1 });
  const ack = r.channel_message_ack;
  assert.match(ack.message_id, UUID7);
  assert.match(ack.create_time, RFC3339);
  assert.deepEqual(ack, { channel_id: id, message_id: ack.message_id, code: 0, username: a.u.usn,
    create_time: ack.create_time, update_time: ack.create_time, persistent: true, room_name: name });
  const expected = { channel_id: id, message_id: ack.message_id, code: 0, sender_id: a.u.uid,
    username: a.u.usn, content: '{"text":"hello","n":1}', create_time: ack.create_time,
    update_time: ack.create_time, persistent: true, room_name: name };
  assert.deepEqual(await a.push('channel_message'), expected, 'the sender hears it too, before its ack');
  assert.deepEqual(await b.push('channel_message'), expected);

  // b joined with persistence false: its messages reach everyone but are not stored
  const rb = await send(b, id, { text: 'off the record' });
  assert.equal(rb.channel_message_ack.persistent, false);
  for (const p of [a, b]) assert.equal((await p.push('channel_message')).persistent, false);

  // one socket's burst arrives in order, and the history keeps that order
  for (let n = 0; n < 20; n++)
    a.inbox.send({ cid: String(++cidSeq), channel_message_send: { channel_id: id, content: JSON.stringify({ n }) } });
  const heard = [];
  while (heard.length < 20) heard.push(JSON.parse((await b.push('channel_message')).content).n);
  assert.deepEqual(heard, [...Array(20).keys()]);
  const page = ok(await history(a.u, id, 'limit=100'));
  assert.deepEqual(page.messages.map((m) => m.content),
    ['{"text":"hello","n":1}', ...[...Array(20).keys()].map((n) => `{"n":${n}}`)]);
  assert.deepEqual(page.messages[0], expected, 'a stored message reads back as it was pushed');
  for (const p of [a, b]) p.close();
});

test('update and remove: only one\'s own stored messages, pushed with codes 1 and 2', async () => {
  const name = roomName();
  const id = `2...${name}`;
  const a = await connect();
  const b = await connect();
  await joinRoom(a, name);
  await a.push('channel_presence_event');
  await joinRoom(b, name);
  await a.push('channel_presence_event');
  await b.push('channel_presence_event');
  const mid = (await send(a, id, { v: 1 })).channel_message_ack.message_id;
  await a.push('channel_message');
  await b.push('channel_message');

  await b.error({ channel_message_update: { channel_id: id, message_id: mid, content: '{"v":"mine now"}' } },
    /Could not find message to update/);
  await b.error({ channel_message_remove: { channel_id: id, message_id: mid } }, /Could not find message to remove/);
  await a.error({ channel_message_update: { channel_id: '2...elsewhere', message_id: mid, content: '{}' } },
    /Must join channel before updating/);

  const up = await a.ask({ channel_message_update: { channel_id: id, message_id: mid.toUpperCase(), content: '{"v":2}' } });
  assert.equal(up.channel_message_ack.code, 1);
  assert.equal(up.channel_message_ack.message_id, mid);
  assert.equal(up.channel_message_ack.persistent, true);
  for (const p of [a, b]) {
    const m = await p.push('channel_message');
    assert.deepEqual([m.code, m.message_id, m.content, m.sender_id], [1, mid, '{"v":2}', a.u.uid]);
  }
  let stored = ok(await history(b.u, id, 'limit=10')).messages;
  assert.deepEqual(stored.map((m) => [m.message_id, m.code, m.content]), [[mid, 0, '{"v":2}']]);

  const rm = await a.ask({ channel_message_remove: { channel_id: id, message_id: mid } });
  assert.equal(rm.channel_message_ack.code, 2);
  for (const p of [a, b]) {
    const m = await p.push('channel_message');
    assert.deepEqual([m.code, m.message_id, m.content], [2, mid, '{}']);
  }
  assert.deepEqual(ok(await history(b.u, id, 'limit=10')), {});
  await a.error({ channel_message_remove: { channel_id: id, message_id: mid } }, /Could not find message to remove/);
  await a.error({ channel_message_update: { channel_id: id, message_id: 'nope', content: '{}' } }, /Invalid message identifier/);

  // an unstored message (persistence false) cannot be changed later: only stored ones can
  const c = await connect();
  await joinRoom(c, name, { persistence: false });
  const lost = (await send(c, id, { x: 1 })).channel_message_ack.message_id;
  await c.error({ channel_message_update: { channel_id: id, message_id: lost, content: '{"x":2}' } },
    /Could not find message to update/);
  for (const p of [a, b, c]) p.close();
});

test('direct messages: between two existing users who do not block each other', async () => {
  const a = await connect();
  const b = await connect();
  const [lo, hi] = [a.u.uid, b.u.uid].sort();
  const id = `4.${lo}.${hi}.`;
  const dm = (p, target, extra = {}) => p.ask({ channel_join: { target, type: 2, ...extra } });

  await a.error({ channel_join: { target: a.u.uid, type: 2 } }, /with self/);
  await a.error({ channel_join: { target: 'not-a-uuid', type: 2 } }, /Invalid user ID/);
  await a.error({ channel_join: { target: '00000000-0000-0000-0000-000000000000', type: 2 } }, /Invalid user ID/);
  await a.error({ channel_join: { target: '00000000-0000-4000-8000-000000000000', type: 2 } }, /User ID not found/);

  const r = await dm(a, b.u.uid.toUpperCase());
  assert.equal(r.channel.id, id);
  assert.deepEqual([r.channel.user_id_one, r.channel.user_id_two, r.channel.room_name], [lo, hi, undefined]);
  a.self = r.channel.self.session_id;
  await a.push('channel_presence_event');
  // b was not there: Nakama's "wants to chat" notification, pushed and stored
  const n = (await b.push('notifications')).notifications[0];
  assert.deepEqual([n.code, n.subject, n.sender_id, n.content, n.persistent],
    [-1, `${a.u.usn} wants to chat`, a.u.uid, JSON.stringify({ username: a.u.usn }), true]);

  const rb = await dm(b, a.u.uid, { type: 'DIRECT_MESSAGE' });
  assert.equal(rb.channel.id, id, 'both users land in one channel');
  assert.deepEqual(rb.channel.presences.map((p) => p.user_id), [a.u.uid]);
  b.self = rb.channel.self.session_id;
  assert.equal((await a.push('channel_presence_event')).user_id_one, lo);
  await b.push('channel_presence_event');
  const notes = ok(await srv.get('/v2/notification?limit=100', { auth: bearer(a.u.token) })).notifications ?? [];
  assert.deepEqual(notes, [], 'a was there when b joined: no notification for a');

  const ack = (await send(b, id, { text: 'hi a' })).channel_message_ack;
  assert.deepEqual([ack.user_id_one, ack.user_id_two], [lo, hi]);
  const m = await a.push('channel_message');
  assert.deepEqual([m.content, m.user_id_one, m.user_id_two], ['{"text":"hi a"}', lo, hi]);
  await b.push('channel_message');

  // the history is the two users' only
  assert.equal(ok(await history(a.u, id)).messages[0].message_id, ack.message_id);
  assert.equal(ok(await history(b.u, id)).messages.length, 1);
  const outsider = await newUser();
  const refused = await history(outsider, id);
  assert.equal(refused.status, 400, refused.text);

  // a block either way closes the channel to new joins (and Nakama does not say why)
  const c = await connect();
  assert.equal((await srv.post(`/v2/friend/block?ids=${c.u.uid}`, {}, { auth: bearer(a.u.token) })).status, 200);
  await a.error({ channel_join: { target: c.u.uid, type: 2 } }, /User ID not found/);
  await c.error({ channel_join: { target: a.u.uid, type: 2 } }, /User ID not found/);

  // a deleted account takes its DM histories with it; room messages stay
  const name = roomName();
  await joinRoom(b, name);
  await b.push('channel_presence_event');
  await send(b, `2...${name}`, { text: 'kept' });
  await b.push('channel_message');
  b.close();
  await b.inbox.closedWithin();
  assert.equal((await srv.del('/v2/account', { auth: bearer(b.u.token) })).status, 200);
  assert.deepEqual(ok(await history(a.u, id)), {});
  assert.equal(ok(await history(a.u, `2...${name}`)).messages[0].content, '{"text":"kept"}');
  for (const p of [a, c]) p.close();
});

test('bad input: BAD_INPUT with the reason, or a close for what cannot be read', async () => {
  const p = await connect();
  await p.error({ channel_join: { target: '', type: 1 } }, /Invalid channel target/);
  await p.error({ channel_join: { type: 1 } }, /Invalid channel target/);
  await p.error({ channel_join: { target: 'x'.repeat(65), type: 1 } }, /1-64 bytes/);
  await p.error({ channel_join: { target: 'tab\there', type: 1 } }, /control chars/);
  await p.error({ channel_join: { target: 'not-a-uuid', type: 3 } }, /Invalid group ID/);
  await p.error({ channel_join: { target: '7d4cf1a2-43d3-4ab8-9d2f-2a9fa1c0c9e1', type: 3 } },
    /Group not found or not a member/);
  await p.error({ channel_join: { target: 'x', type: 9 } }, /Unrecognized channel type/);
  const name = 'é'.repeat(32); // 64 bytes of UTF-8
  const r = await join(p, name, { type: 0 }); // 0: unspecified, a room
  assert.equal(r.channel?.id, `2...${name}`, JSON.stringify(r));
  await p.push('channel_presence_event');
  const id = `2...${name}`;

  await p.error({ channel_message_send: { channel_id: id, content: '[1,2]' } }, /valid JSON object/);
  await p.error({ channel_message_send: { channel_id: id, content: 'hello' } }, /valid JSON object/);
  await p.error({ channel_message_send: { channel_id: id } }, /valid JSON object/);
  await p.error({ channel_message_send: { channel_id: '2...not-joined', content: '{}' } }, /Must join channel/);
  await p.error({ channel_message_send: { channel_id: '4.x.y.', content: '{}' } }, /Invalid channel identifier/);
  await p.error({ channel_message_send: { content: '{}' } }, /Invalid channel identifier/);
  await p.error({ channel_message_remove: { channel_id: id } }, /Invalid message identifier/);

  // a content near what fits a 4096-byte socket message goes through and is stored whole
  const text = 'y'.repeat(3900);
  assert.ok((await send(p, id, { text })).channel_message_ack);
  assert.equal(JSON.parse((await p.push('channel_message')).content).text, text);
  assert.equal(JSON.parse(ok(await history(p.u, id, 'forward=false')).messages[0].content).text, text);

  // a socket is in at most 128 channels
  for (let i = 1; i < 128; i++) {
    const rr = await join(p, `many-${i}`, { hidden: true });
    assert.ok(rr.channel, JSON.stringify(rr));
  }
  await p.error({ channel_join: { target: 'one-too-many', type: 1 } }, /at most 128/);
  await p.ask({ channel_leave: { channel_id: '2...many-1' } });
  assert.ok((await join(p, 'one-too-many', { hidden: true })).channel, 'room again after a leave');

  // wrong types cannot be read: the socket closes, as for any payload Nakama cannot unmarshal
  for (const bad of [{ channel_join: { target: 5 } }, { channel_join: { target: 'x', type: 'ROOMS' } },
    { channel_join: { target: 'x', hidden: 'maybe' } }, { channel_message_send: { channel_id: id, content: { a: 1 } } }]) {
    const q = await connect();
    q.inbox.send({ cid: '1', ...bad });
    await q.inbox.closedWithin();
  }
  // and so does a message over 4096 bytes
  p.inbox.send({ cid: 'big', channel_message_send: { channel_id: id, content: JSON.stringify({ t: 'z'.repeat(4096) }) } });
  await p.inbox.closedWithin();
});

test('history: pages both ways with next and previous cursors, a cacheable cursor, and 400s', async () => {
  const name = roomName();
  const id = `2...${name}`;
  const a = await connect();
  await joinRoom(a, name);
  await a.push('channel_presence_event');
  const ids = [];
  for (let n = 1; n <= 5; n++) {
    ids.push((await send(a, id, { n })).channel_message_ack.message_id);
    await a.push('channel_message');
  }
  const u = a.u;
  const page = async (q) => ok(await history(u, id, q));
  const ns = (p) => (p.messages ?? []).map((m) => JSON.parse(m.content).n);
  const cur = (c) => encodeURIComponent(c);

  assert.deepEqual(ns(await page('')), [1], 'the default page is one message, oldest first');
  // forward: [1,2] [3,4] [5]
  const f1 = await page('limit=2');
  assert.deepEqual([ns(f1), !!f1.next_cursor, !!f1.prev_cursor], [[1, 2], true, false]);
  const f2 = await page(`limit=2&cursor=${cur(f1.next_cursor)}`);
  assert.deepEqual([ns(f2), !!f2.next_cursor, !!f2.prev_cursor], [[3, 4], true, true]);
  const f3 = await page(`limit=2&cursor=${cur(f2.next_cursor)}`);
  assert.deepEqual([ns(f3), !!f3.next_cursor, !!f3.prev_cursor], [[5], false, true]);
  const f2back = await page(`limit=2&cursor=${cur(f3.prev_cursor)}`);
  assert.deepEqual(ns(f2back), [3, 4], 'prev_cursor of the last page gives the one before');
  const f1back = await page(`limit=2&cursor=${cur(f2.prev_cursor)}`);
  assert.deepEqual([ns(f1back), !!f1back.prev_cursor, !!f1back.next_cursor], [[1, 2], false, true]);

  // backward: [5,4] [3,2] [1]
  const b1 = await page('limit=2&forward=false');
  assert.deepEqual([ns(b1), !!b1.next_cursor, !!b1.prev_cursor], [[5, 4], true, false]);
  const b2 = await page(`limit=2&forward=false&cursor=${cur(b1.next_cursor)}`);
  assert.deepEqual(ns(b2), [3, 2]);
  const b3 = await page(`limit=2&forward=false&cursor=${cur(b2.next_cursor)}`);
  assert.deepEqual([ns(b3), !!b3.next_cursor], [[1], false]);
  assert.deepEqual(ns(await page(`limit=2&forward=false&cursor=${cur(b2.prev_cursor)}`)), [5, 4]);
  assert.deepEqual(ns(await page('limit=100&forward=false')), [5, 4, 3, 2, 1]);

  // the cacheable cursor of the last page read later yields only what came after it
  const all = await page('limit=100');
  assert.deepEqual(ns(all), [1, 2, 3, 4, 5]);
  assert.deepEqual(await page(`limit=100&cursor=${cur(all.cacheable_cursor)}`),
    { cacheable_cursor: all.cacheable_cursor }, 'nothing new: the same cursor again');
  for (const n of [6, 7]) {
    await send(a, id, { n });
    await a.push('channel_message');
  }
  const fresh = await page(`limit=100&cursor=${cur(all.cacheable_cursor)}`);
  assert.deepEqual(ns(fresh), [6, 7]);

  // refusals
  const bad = async (q, message, channel = id) => {
    const res = await history(u, channel, q);
    assert.equal(res.status, 400, `${q}: ${res.text}`);
    assert.equal(res.json.code, 3);
    assert.match(res.json.message, message);
  };
  const c = f1.next_cursor;
  await bad(`cursor=${cur(c)}&forward=false`, /Cursor is invalid/);
  await bad(`cursor=${cur(c)}`, /Cursor is invalid/, '2...another-room');
  await bad(`cursor=${cur(c.slice(0, 10) + (c[10] === 'A' ? 'B' : 'A') + c.slice(11))}`, /Cursor is invalid/);
  await bad('cursor=junk', /Cursor is invalid/);
  await bad('limit=0', /limit/);
  await bad('limit=101', /limit/);
  await bad('forward=sideways', /forward/);
  await bad('', /Invalid channel ID/, 'lobby');
  const group = await history(u, `3.${u.uid}..`); // no such group: not a member
  assert.equal(group.status, 403, group.text);
  assert.deepEqual(ok(await history(u, '2...nobody-here-yet')), {});
  assert.equal((await srv.get(`/v2/channel/${encodeURIComponent(id)}`)).status, 401);
  a.close();
});

/** Opens n sockets of fresh users, a few at a time. */
async function connectMany(n) {
  const peers = [];
  while (peers.length < n)
    peers.push(...await Promise.all(Array.from({ length: Math.min(25, n - peers.length) }, () => connect())));
  return peers;
}

/** What p hears up to the next channel_message: the presence events (in order) and it. */
async function eventsUntilMessage(p) {
  const events = [];
  for (;;) {
    const m = p.backlog.length ? p.backlog.shift() : await p.inbox.next();
    if (m.channel_message) return { events, message: m.channel_message };
    assert.ok(m.channel_presence_event, `expected a presence event or a message, got ${JSON.stringify(m)}`);
    events.push(m.channel_presence_event);
  }
}

const sids = (list) => (list ?? []).map((p) => p.session_id);

test('a burst of joins is coalesced: nobody is disconnected, everyone hears each join once', async () => {
  // Every member's outgoing queue holds 64 messages (as Nakama's); one event per join, each to
  // every member, overflowed it and disconnected most of a room that joined at once.
  const name = roomName();
  const id = `2...${name}`;
  const listener = await connect();
  await joinRoom(listener, name);
  assert.deepEqual((await listener.push('channel_presence_event')).joins, [presenceOf(listener)]);
  const peers = await connectMany(150);
  const replies = await Promise.all(peers.map((p) => join(p, name))); // all sent in one go
  for (const [i, r] of replies.entries()) {
    assert.ok(r.channel, JSON.stringify(r));
    peers[i].self = r.channel.self.session_id;
  }
  const everyone = [listener.self, ...peers.map((p) => p.self)].sort();

  // the listener hears each joiner exactly once, and some events carry several joins
  const heard = [];
  let most = 0;
  while (heard.length < peers.length) {
    const ev = await listener.push('channel_presence_event');
    assert.equal(ev.leaves, undefined);
    assert.equal(ev.channel_id, id);
    assert.equal(ev.room_name, name);
    assert.ok(ev.joins.length <= 256, 'at most 256 presences an event');
    heard.push(...sids(ev.joins));
    most = Math.max(most, ev.joins.length);
  }
  assert.deepEqual(heard.sort(), peers.map((p) => p.self).sort(), 'each joiner once');
  assert.ok(most > 1, `the joins were coalesced (the largest event held ${most})`);

  // a message reaches everyone after every presence event; each joiner's reply and events
  // together name every member exactly once (itself by its own join)
  assert.ok((await send(listener, id, { text: 'all here?' })).channel_message_ack);
  assert.equal((await eventsUntilMessage(listener)).events.length, 0);
  for (const [i, p] of peers.entries()) {
    const { events, message } = await eventsUntilMessage(p);
    assert.equal(message.content, '{"text":"all here?"}');
    const seen = [...sids(replies[i].channel.presences), ...events.flatMap((e) => sids(e.joins))];
    assert.deepEqual(events.flatMap((e) => sids(e.leaves)), []);
    assert.deepEqual(seen.sort(), everyone, `the view of joiner ${i}`);
    assert.equal(p.inbox.closed, null, 'no socket was disconnected');
  }
  assert.equal(listener.inbox.closed, null);
  for (const p of [listener, ...peers]) p.close();
});

test('a join is heard before the joiner\'s first message, stored or not, within a burst', async () => {
  const name = roomName();
  const id = `2...${name}`;
  const listener = await connect();
  await joinRoom(listener, name);
  await listener.push('channel_presence_event');
  // each joins and sends at once, all together: a message must not overtake a pending join.
  // 30: every peer hears every message, and 60 of them came within a few of a socket's
  // 64-message queue (an ASan build's slower writers overflowed it, as the server should)
  const peers = await connectMany(30);
  const answers = await Promise.all(peers.map((p, i) => p.askAll(
    { channel_join: { target: name, type: 1, persistence: i % 2 === 0 } },
    { channel_message_send: { channel_id: id, content: JSON.stringify({ i }) } })));
  for (const [i, p] of peers.entries()) {
    p.self = answers[i][0].channel.self.session_id;
    assert.ok(answers[i][1].channel_message_ack, JSON.stringify(answers[i][1]));
  }
  const byUser = new Map(peers.map((p) => [p.u.uid, p]));
  const joined = new Set();
  for (let messages = 0; messages < peers.length;) {
    const m = listener.backlog.length ? listener.backlog.shift() : await listener.inbox.next();
    if (m.channel_presence_event) {
      for (const s of sids(m.channel_presence_event.joins)) joined.add(s);
      continue;
    }
    assert.ok(m.channel_message, JSON.stringify(m));
    const from = byUser.get(m.channel_message.sender_id);
    assert.ok(joined.has(from.self), `the message of ${from.self} came before its join`);
    messages++;
  }
  // each joiner: its reply, then its own join, then its own message
  for (const [i, p] of peers.entries()) {
    let own = false;
    for (;;) {
      const m = p.backlog.length ? p.backlog.shift() : await p.inbox.next();
      if (m.channel_presence_event) own ||= sids(m.channel_presence_event.joins).includes(p.self);
      else if (m.channel_message?.sender_id === p.u.uid) {
        assert.equal(m.channel_message.content, JSON.stringify({ i }));
        break;
      }
    }
    assert.ok(own, `joiner ${i} heard its own join before its message`);
  }
  for (const p of [listener, ...peers]) p.close();
});

test('a join and a leave of one socket within one burst leave no stale presence', async () => {
  const name = roomName();
  const id = `2...${name}`;
  const listener = await connect();
  await joinRoom(listener, name);
  await listener.push('channel_presence_event');
  const stayers = await connectMany(20);
  for (const p of stayers) await joinRoom(p, name, { persistence: false });
  const rejoiners = stayers.slice(0, 10); // leave and join again in one go
  const flickers = await connectMany(20); // join and leave in one go
  // drain what the set-up told: 20 joins
  for (let n = 0; n < 20;) n += (await listener.push('channel_presence_event')).joins.length;

  const leaveMsg = { channel_leave: { channel_id: id } };
  const joinMsg = (extra = {}) => ({ channel_join: { target: name, type: 1, ...extra } });
  const burst = [
    ...flickers.map((p) => p.askAll(joinMsg(), leaveMsg)),
    ...rejoiners.map((p) => p.askAll(leaveMsg, joinMsg({ persistence: false }))),
  ];
  const answers = await Promise.all(burst);
  for (const [i, p] of flickers.entries()) p.self = answers[i][0].channel.self.session_id;

  // the listener's view, built from the events up to a message, is the room as it is
  assert.ok((await send(listener, id, { text: 'who is here?' })).channel_message_ack);
  const { events } = await eventsUntilMessage(listener);
  const view = new Set([listener.self, ...stayers.map((p) => p.self)]);
  const flicker = new Set(flickers.map((p) => p.self));
  const told = new Map(); // session -> what the listener heard of it, in order
  for (const e of events) {
    // within one event a session is either joined or left, never both
    const j = sids(e.joins), l = sids(e.leaves);
    assert.equal(new Set([...j, ...l]).size, j.length + l.length, JSON.stringify(e));
    for (const s of l) { view.delete(s); told.set(s, [...(told.get(s) ?? []), 'leave']); }
    for (const s of j) { view.add(s); told.set(s, [...(told.get(s) ?? []), 'join']); }
  }
  assert.deepEqual([...view].sort(), [listener.self, ...stayers.map((p) => p.self)].sort());
  let cancelled = 0;
  for (const s of [...flicker, ...rejoiners.map((p) => p.self)]) {
    const t = told.get(s) ?? [];
    const pair = flicker.has(s) ? ['join', 'leave'] : ['leave', 'join'];
    assert.ok(t.length === 0 || JSON.stringify(t) === JSON.stringify(pair), `${s}: ${t}`);
    cancelled += t.length === 0;
  }
  // the pairs came in one read of each socket: the flush job cannot run between nearly all
  assert.ok(cancelled > 0, 'a join and a leave within one pending window cancel');

  // a rejoiner hears its own join after its reply (alone when its leave was cancelled)
  for (const p of rejoiners) {
    const own = [];
    for (;;) {
      const m = p.backlog.length ? p.backlog.shift() : await p.inbox.next();
      if (m.channel_message) break;
      own.push(...sids(m.channel_presence_event.joins));
    }
    assert.ok(own.includes(p.self), 'the rejoiner hears its own join');
  }
  for (const p of [listener, ...stayers, ...flickers]) p.close();
});
