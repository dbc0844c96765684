// The real @heroiclabs/nakama-js 2.8.0 managing friends: addFriends (by id and username),
// listFriends with a state filter and cursor pages, blockFriends, deleteFriends, and the
// invite notification seen with listNotifications. Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;
before(async () => {
  srv = await startServer();
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => { await srv?.stop(); });

const player = (tag) => client.authenticateDevice(randomId(`njs-fr-${tag}-`, 32), true);
const ids = (l) => l.friends.map((f) => [f.user.id, f.state]);

test('addFriends, listFriends, blockFriends, deleteFriends', async () => {
  const a = await player('a');
  const b = await player('b');
  const c = await player('c');
  assert.equal(await client.addFriends(a, [b.user_id], [c.username]), true);
  assert.deepEqual(ids(await client.listFriends(b)), [[a.user_id, 2]]);
  const invite = (await client.listNotifications(b, 10)).notifications[0];
  assert.deepEqual([invite.code, invite.sender_id, invite.content], [-2, a.user_id, { username: a.username }]);

  assert.equal(await client.addFriends(b, [a.user_id]), true);
  assert.deepEqual(ids(await client.listFriends(a, 0)), [[b.user_id, 0]]);
  assert.deepEqual(ids(await client.listFriends(a, 1)), [[c.user_id, 1]]);
  const page = await client.listFriends(a, undefined, 1);
  assert.equal(page.friends.length, 1);
  assert.ok(page.cursor);
  const rest = await client.listFriends(a, undefined, 1, page.cursor);
  assert.deepEqual([...ids(page), ...ids(rest)], [[b.user_id, 0], [c.user_id, 1]]);

  assert.equal(await client.blockFriends(c, [a.user_id]), true);
  assert.deepEqual(ids(await client.listFriends(a)), [[b.user_id, 0]]);
  assert.deepEqual(ids(await client.listFriends(c)), [[a.user_id, 3]]);
  assert.equal(await client.deleteFriends(a, [b.user_id]), true);
  assert.deepEqual((await client.listFriends(b)).friends, []);
});
