// The real @heroiclabs/nakama-js 2.8.0 calling module RPCs on tavern: client.rpc (POST, a
// session, the payload as a JSON string) and client.rpcHttpKey (GET with http_key, where the
// function gets an empty payload, as on Nakama). Modules: modules/echo and tests/modules/good.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@heroiclabs/nakama-js';
import { statusOf } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;
let session;
let moduleDir;

before(async () => {
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-njs-modules-'));
  copyFileSync(join(process.env.TAVERN_MODULES, 'echo.so'), join(moduleDir, 'echo.so'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'good.so'), join(moduleDir, 'good.so'));
  srv = await startServer(['--module-path', moduleDir]);
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
  session = await client.authenticateDevice(randomId('njs-rpc-', 32), true, undefined, { team: 'blue' });
});

after(async () => {
  await srv?.stop();
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

test('rpc: the object goes in and comes back parsed', async () => {
  const input = { hello: 'world', n: 42, nested: { list: [1, 'two', null] }, text: 'é "q" \n' };
  const res = await client.rpc(session, 'echo', input);
  assert.deepEqual(res.payload, input);
  assert.equal(res.id, undefined); // Nakama's reply carries no id
});

test('rpc: the function sees the session user and vars', async () => {
  const res = await client.rpc(session, 'WhoAmI', {});
  assert.equal(res.payload.user_id, session.user_id);
  assert.equal(res.payload.username, session.username);
  assert.deepEqual(res.payload.vars, [['team', 'blue']]);
  assert.equal(res.payload.payload, '{}');
});

test('rpc: an empty result gives an undefined payload', async () => {
  const res = await client.rpc(session, 'empty', {});
  assert.equal(res.payload, undefined);
});

test('rpc: errors and unknown ids reject with the HTTP status', async () => {
  assert.equal(await statusOf(client.rpc(session, 'fail', 3)), 400);
  assert.equal(await statusOf(client.rpc(session, 'fail', 7)), 403);
  assert.equal(await statusOf(client.rpc(session, 'no_such_rpc', {})), 404);
  try {
    await client.rpc(session, 'fail', 5);
  } catch (res) {
    assert.deepEqual(await res.json(), { error: 'failed with 5 as asked', message: 'failed with 5 as asked', code: 5 });
  }
});

test('rpcHttpKey: GET with the HTTP key; the function gets an empty payload (Nakama quirk)', async () => {
  const res = await client.rpcHttpKey('defaulthttpkey', 'echo', { a: 1 });
  assert.equal(res.payload, undefined);
  const who = await client.rpcHttpKey('defaulthttpkey', 'whoami', { a: 1 });
  assert.equal(who.payload.user_id, '');
  assert.equal(who.payload.payload, '');
  assert.deepEqual(who.payload.query, [['payload', '{"a":1}']]);
});

test('rpcHttpKey: a wrong key is 401', async () => {
  assert.equal(await statusOf(client.rpcHttpKey('wrongkey', 'echo', { a: 1 })), 401);
});

test('socket.rpc: the call runs over the socket and answers with id and payload', async () => {
  const socket = client.createSocket(false, false);
  await socket.connect(session, false);
  try {
    const res = await socket.rpc('Echo', JSON.stringify({ over: 'socket', n: 7 }));
    assert.equal(res.id, 'echo'); // ids are lower-cased
    assert.deepEqual(JSON.parse(res.payload), { over: 'socket', n: 7 });
    const who = await socket.rpc('whoami', '');
    assert.equal(JSON.parse(who.payload).user_id, session.user_id);
    await assert.rejects(socket.rpc('no_such_rpc', '{}'), (e) => e.code === 6);
  } finally {
    socket.disconnect(false);
  }
});
