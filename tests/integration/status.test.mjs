// Status presences over real WebSockets: status_follow (by id and by username) answers the
// followed users' visible sessions, status_update and ?status=true make a session visible,
// followers hear status_presence_event joins and leaves for changes, hiding, new sockets and
// closed ones; unfollow stops the events; bad input answers BAD_INPUT (3).
// Run by meson on SQLite and PostgreSQL; see tests/lib/server.mjs for the environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, randomId } from '../lib/server.mjs';
import { newWsUser, wsConnect } from './wsutil.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

const newUser = () => newWsUser(srv, 'st-');
const connect = (u, status = false) => wsConnect(srv, u, `status=${status}`);

let cidSeq = 0;
async function request(p, msg) {
  const cid = String(++cidSeq);
  p.inbox.send({ cid, ...msg });
  const reply = await p.inbox.next();
  assert.equal(reply.cid, cid, `reply to ${JSON.stringify(msg)}: ${JSON.stringify(reply)}`);
  return reply;
}

async function silent(p, ms = 300) {
  await assert.rejects(p.inbox.next(ms), /no message within/);
}

/** Checks a presence against user u with status text. */
function isPresence(p, u, status) {
  assert.equal(p.user_id, u.uid);
  assert.equal(p.username, u.usn);
  assert.match(p.session_id, UUID);
  assert.equal(p.status, status);
  assert.equal(p.persistence, undefined);
}

async function event(p) {
  const m = await p.inbox.next();
  assert.ok(m.status_presence_event, `a status event: ${JSON.stringify(m)}`);
  return m.status_presence_event;
}

test('follow by id and username, then hear every change of a visible user', async () => {
  const alice = await newUser();
  const a = await connect(alice, true); // visible from the start, status ""
  const b = await connect(await newUser());

  const r = await request(b, { status_follow: { user_ids: [alice.uid.toUpperCase()] } });
  assert.equal(r.status.presences.length, 1);
  isPresence(r.status.presences[0], alice, '');
  const sid = r.status.presences[0].session_id;

  assert.deepEqual(await request(a, { status_update: { status: 'in a match' } }), { cid: String(cidSeq) });
  let e = await event(b);
  isPresence(e.joins[0], alice, 'in a match');
  isPresence(e.leaves[0], alice, '');
  assert.equal(e.joins[0].session_id, sid);

  assert.deepEqual(await request(a, { status_update: {} }), { cid: String(cidSeq) });
  e = await event(b);
  assert.equal(e.joins, undefined);
  isPresence(e.leaves[0], alice, 'in a match');

  // a second socket of alice's, visible at once; then it closes
  const a2 = await connect(alice, true);
  e = await event(b);
  isPresence(e.joins[0], alice, '');
  a2.ws.close();
  e = await event(b);
  isPresence(e.leaves[0], alice, '');

  // by username, from another follower: only visible sessions are listed (none now)
  const c = await connect(await newUser());
  assert.deepEqual((await request(c, { status_follow: { usernames: [alice.usn, 'nobody-' + randomId('', 8)] } })).status, {});
  await request(a, { status_update: { status: 'back' } });
  isPresence((await event(b)).joins[0], alice, 'back');
  isPresence((await event(c)).joins[0], alice, 'back');

  // unfollow: b hears no more; c still does
  assert.deepEqual(await request(b, { status_unfollow: { user_ids: [alice.uid] } }), { cid: String(cidSeq) });
  await request(a, { status_update: { status: 'again' } });
  isPresence((await event(c)).joins[0], alice, 'again');
  await silent(b);

  // the visible socket closes: c hears the leave
  a.ws.close();
  isPresence((await event(c)).leaves[0], alice, 'again');
  for (const p of [b, c]) p.ws.close();
});

test('sockets without ?status=true stay hidden until they update; nobody follows themselves', async () => {
  const bob = await newUser();
  const hidden = await connect(bob);
  const f = await connect(await newUser());
  assert.deepEqual((await request(f, { status_follow: { user_ids: [bob.uid] } })).status, {});
  await request(hidden, { status_update: { status: 'here' } });
  isPresence((await event(f)).joins[0], bob, 'here');

  // following oneself is skipped, as in Nakama: no presences, no events
  assert.deepEqual((await request(hidden, { status_follow: { user_ids: [bob.uid] } })).status, {});
  await request(hidden, { status_update: { status: 'still here' } });
  await event(f);
  await silent(hidden);

  // an unknown user id is skipped too
  const unknown = '00000000-0000-4000-8000-000000000000';
  assert.deepEqual((await request(f, { status_follow: { user_ids: [unknown] } })).status, {});

  // a closed follower is forgotten: the user's next change reaches nobody and nothing breaks
  f.ws.close();
  await f.inbox.closedWithin();
  await request(hidden, { status_update: { status: 'alone' } });
  hidden.ws.close();
});

test('bad input: BAD_INPUT with the socket open, or a close for the wrong types', async () => {
  const p = await connect(await newUser());
  const bad = async (msg, message) => {
    const r = await request(p, msg);
    assert.equal(r.error?.code, 3, JSON.stringify(r));
    assert.match(r.error.message, message);
  };
  await bad({ status_follow: { user_ids: ['not-a-uuid'] } }, /Invalid user identifier/);
  await bad({ status_unfollow: { user_ids: ['not-a-uuid'] } }, /Invalid user identifier/);
  await bad({ status_follow: { usernames: [''] } }, /Invalid username/);
  await bad({ status_follow: { usernames: ['x'.repeat(129)] } }, /Invalid username/);
  await bad({ status_update: { status: 'x'.repeat(2049) } }, /at most 2048/);
  assert.deepEqual(await request(p, { status_update: { status: 'x'.repeat(2048) } }), { cid: String(cidSeq) });
  assert.deepEqual((await request(p, { status_follow: {} })).status, {});
  p.inbox.send({ cid: 'x', status_follow: { user_ids: 'not-an-array' } });
  await p.inbox.closedWithin();
});
