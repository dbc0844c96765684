// The real @heroiclabs/nakama-js 2.8.0 using tavern's storage: writeStorageObjects,
// readStorageObjects, listStorageObjects (with user id, without, and paging with cursors) and
// deleteStorageObjects; optimistic concurrency with versions and permissions across two users,
// as a game client would meet them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import { statusOf } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;
let alice;
let bob;

before(async () => {
  srv = await startServer();
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
  alice = await client.authenticateDevice(randomId('njs-st-a-', 32), true);
  bob = await client.authenticateDevice(randomId('njs-st-b-', 32), true);
});
after(async () => { await srv?.stop(); });

const col = () => randomId('njs', 12);

test('write, read back, update with the version, delete', async () => {
  const c = col();
  const acks = await client.writeStorageObjects(alice, [
    { collection: c, key: 'save', value: { level: 3, items: ['sword'] } },
    { collection: c, key: 'profile', value: { title: 'hero' }, permission_read: 2, permission_write: 1 },
  ]);
  assert.equal(acks.acks.length, 2);
  assert.deepEqual(acks.acks.map((a) => [a.collection, a.key, a.user_id]), [[c, 'save', alice.user_id], [c, 'profile', alice.user_id]]);
  const res = await client.readStorageObjects(alice, { object_ids: [
    { collection: c, key: 'save', user_id: alice.user_id }, { collection: c, key: 'profile', user_id: alice.user_id }] });
  assert.deepEqual(res.objects.map((o) => o.value), [{ level: 3, items: ['sword'] }, { title: 'hero' }]);
  assert.deepEqual(res.objects.map((o) => [o.permission_read, o.permission_write]), [[1, 1], [2, 1]]);
  assert.equal(res.objects[0].version, acks.acks[0].version);
  const upd = await client.writeStorageObjects(alice, [{ collection: c, key: 'save', value: { level: 4 }, version: acks.acks[0].version }]);
  assert.notEqual(upd.acks[0].version, acks.acks[0].version);
  assert.equal(await client.deleteStorageObjects(alice, { object_ids: [{ collection: c, key: 'save', version: upd.acks[0].version }] }), true);
  const after = await client.readStorageObjects(alice, { object_ids: [{ collection: c, key: 'save', user_id: alice.user_id }] });
  assert.deepEqual(after.objects, []);
});

test('optimistic concurrency: a stale version and "*" on an existing object are refused (400)', async () => {
  const c = col();
  const first = await client.writeStorageObjects(alice, [{ collection: c, key: 'k', value: { n: 1 }, version: '*' }]);
  assert.equal(await statusOf(client.writeStorageObjects(alice, [{ collection: c, key: 'k', value: { n: 2 }, version: '*' }])), 400);
  await client.writeStorageObjects(alice, [{ collection: c, key: 'k', value: { n: 2 }, version: first.acks[0].version }]);
  try {
    await client.writeStorageObjects(alice, [{ collection: c, key: 'k', value: { n: 3 }, version: first.acks[0].version }]);
    assert.fail('the stale write succeeded');
  } catch (res) {
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { code: 3, message: 'Storage write rejected.' });
  }
  const parallel = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
    client.writeStorageObjects(bob, [{ collection: c, key: 'race', value: { i }, version: '*' }])));
  assert.equal(parallel.filter((p) => p.status === 'fulfilled').length, 1);
  assert.equal(await statusOf(client.deleteStorageObjects(alice, { object_ids: [{ collection: c, key: 'k', version: first.acks[0].version }] })), 400);
});

test('permissions across users: reads, lists, writes and deletes', async () => {
  const c = col();
  await client.writeStorageObjects(alice, [
    { collection: c, key: 'private', value: { p: 1 }, permission_read: 1 },
    { collection: c, key: 'public', value: { p: 2 }, permission_read: 2 },
    { collection: c, key: 'hidden', value: { p: 0 }, permission_read: 0 },
  ]);
  const ids = ['private', 'public', 'hidden'].map((key) => ({ collection: c, key, user_id: alice.user_id }));
  assert.deepEqual((await client.readStorageObjects(alice, { object_ids: ids })).objects.map((o) => o.key), ['private', 'public']);
  assert.deepEqual((await client.readStorageObjects(bob, { object_ids: ids })).objects.map((o) => o.key), ['public']);
  assert.deepEqual((await client.listStorageObjects(alice, c, alice.user_id, 10)).objects.map((o) => o.key), ['private', 'public']);
  assert.deepEqual((await client.listStorageObjects(bob, c, alice.user_id, 10)).objects.map((o) => o.key), ['public']);
  assert.deepEqual((await client.listStorageObjects(bob, c, undefined, 10)).objects.map((o) => o.key), ['public']);
  // bob's write lands in bob's own object; alice's stays
  await client.writeStorageObjects(bob, [{ collection: c, key: 'public', value: { bob: true }, permission_read: 2 }]);
  const both = await client.listStorageObjects(alice, c, undefined, 10);
  assert.deepEqual(both.objects.map((o) => o.user_id).sort(), [alice.user_id, bob.user_id].sort());
  // bob cannot delete alice's object: the delete names bob's own, and a version of alice's
  const alicePublic = (await client.readStorageObjects(bob, { object_ids: [ids[1]] })).objects[0];
  assert.equal(await statusOf(client.deleteStorageObjects(bob, { object_ids: [{ collection: c, key: 'public', version: alicePublic.version }] })), 400);
  assert.equal((await client.readStorageObjects(alice, { object_ids: [ids[1]] })).objects.length, 1);
});

test('listing pages with cursors; a tampered cursor is refused (400)', async () => {
  const c = col();
  const objects = Array.from({ length: 12 }, (_, i) => ({ collection: c, key: `item${String(i).padStart(2, '0')}`, value: { i }, permission_read: 2 }));
  await client.writeStorageObjects(alice, objects);
  const keys = [];
  let cursor;
  let pages = 0;
  do {
    const page = await client.listStorageObjects(bob, c, alice.user_id, 5, cursor);
    keys.push(...page.objects.map((o) => o.key));
    assert.deepEqual(page.objects.map((o) => o.value.i), page.objects.map((o) => Number(o.key.slice(4))));
    cursor = page.cursor;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(keys, objects.map((o) => o.key));
  const first = await client.listStorageObjects(bob, c, alice.user_id, 5);
  const tampered = first.cursor.slice(0, 5) + (first.cursor[5] === 'x' ? 'y' : 'x') + first.cursor.slice(6);
  assert.equal(await statusOf(client.listStorageObjects(bob, c, alice.user_id, 5, tampered)), 400);
  assert.equal(await statusOf(client.listStorageObjects(bob, c, alice.user_id, 101)), 400);
});
