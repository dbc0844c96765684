// The real @heroiclabs/nakama-js 2.8.0 following users' status: socket.followUsers answers the
// followed users' visible sessions, onstatuspresence hears updateStatus changes, hiding
// (updateStatus() without a status) and disconnects; unfollowUsers stops the events.
// Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import { Feed, unset } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;

before(async () => {
  srv = await startServer();
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => { await srv?.stop(); });

async function player(tag, appearOnline) {
  const session = await client.authenticateDevice(randomId(`njs-st-${tag}-`, 32), true);
  const socket = client.createSocket(false, false);
  socket.onerror = () => {};
  socket.ondisconnect = () => {};
  await socket.connect(session, appearOnline, 5000);
  return { session, socket, status: new Feed(socket, 'onstatuspresence') };
}

const seen = (p) => ({ user_id: p.user_id, username: p.username, status: p.status });

test('followUsers, updateStatus, onstatuspresence, unfollowUsers', async () => {
  const a = await player('a', true);
  const b = await player('b', false);
  const me = { user_id: a.session.user_id, username: a.session.username };

  const st = await b.socket.followUsers([a.session.user_id]);
  assert.deepEqual(st.presences.map(seen), [{ ...me, status: '' }]);

  await a.socket.updateStatus('looking for a match');
  let e = await b.status.next();
  assert.deepEqual(e.joins.map(seen), [{ ...me, status: 'looking for a match' }]);
  assert.deepEqual(e.leaves.map(seen), [{ ...me, status: '' }]);

  await a.socket.updateStatus(); // appear offline
  e = await b.status.next();
  assert.ok(unset(e.joins));
  assert.deepEqual(e.leaves.map(seen), [{ ...me, status: 'looking for a match' }]);

  await a.socket.updateStatus('back');
  assert.deepEqual((await b.status.next()).joins.map(seen), [{ ...me, status: 'back' }]);

  a.socket.disconnect(false);
  assert.deepEqual((await b.status.next()).leaves.map(seen), [{ ...me, status: 'back' }]);

  const a2 = await player('a2', false);
  await b.socket.followUsers([a2.session.user_id]);
  await b.socket.unfollowUsers([a2.session.user_id]);
  await a2.socket.updateStatus('nobody hears this');
  await b.status.none();
  a2.socket.disconnect(false);
  b.socket.disconnect(false);
});
