// The real @heroiclabs/nakama-js 2.8.0 (from tests/node_modules) against tavern, under Node:
// authentication, account, users, session refresh and logout, link/unlink, delete, and the
// realtime socket. Every HTTP call the client makes is recorded, so the tests also check what
// went over the wire (and that no call was silently preceded by a session refresh).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { Client, Session } from '@heroiclabs/nakama-js';
import { statusOf } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

const require = createRequire(import.meta.url);
const PASSWORD = 'password1234';

// Record every fetch the client makes.
const calls = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input.url);
  const res = await realFetch(input, init);
  calls.push({ method: init.method || 'GET', path: url.pathname, search: url.search, status: res.status });
  return res;
};
// nakama-js warns on the console when token lifetimes are too short for it; collect that.
const warnings = [];
for (const level of ['warn', 'error']) {
  const orig = console[level].bind(console);
  console[level] = (...args) => { warnings.push(`${level}: ${args.join(' ')}`); orig(...args); };
}

const refreshCalls = () => calls.filter((c) => c.path === '/v2/account/session/refresh').length;

let srv;
let client;

before(async () => {
  srv = await startServer();
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => { await srv?.stop(); });

test('the installed client is nakama-js 2.8.0', () => {
  assert.equal(require('@heroiclabs/nakama-js/package.json').version, '2.8.0');
});

describe('authenticate', () => {
  test('device: create, then existing, with vars', async () => {
    const id = randomId('njs-dev-', 32);
    const s = await client.authenticateDevice(id, true, undefined, { platform: 'node', v: '1' });
    assert.ok(s instanceof Session);
    assert.equal(s.created, true);
    assert.match(s.user_id, /^[0-9a-f-]{36}$/);
    assert.ok(s.username && s.username.length > 0);
    assert.deepEqual(s.vars, { platform: 'node', v: '1' });
    assert.ok(s.expires_at - Date.now() / 1000 > 3600, 'a long session: no refresh before every call');
    assert.ok(s.refresh_expires_at > s.expires_at);
    assert.equal(s.isexpired(Date.now() / 1000), false);
    const again = await client.authenticateDevice(id, false);
    assert.equal(again.created, false);
    assert.equal(again.user_id, s.user_id);
    assert.equal(again.username, s.username);
  });

  test('device with a username; create=false for an unknown id is refused (404)', async () => {
    const name = randomId('njsname', 16);
    const s = await client.authenticateDevice(randomId('njs-dev-', 32), true, name);
    assert.equal(s.username, name);
    assert.equal(await statusOf(client.authenticateDevice(randomId('njs-none-', 32), false)), 404);
    assert.equal(await statusOf(client.authenticateDevice(randomId('njs-dev-', 32), true, name)), 409);
  });

  test('custom: create, then existing', async () => {
    const id = randomId('njs-cust-', 24);
    const s = await client.authenticateCustom(id, true, undefined, { lvl: '3' });
    assert.equal(s.created, true);
    assert.deepEqual(s.vars, { lvl: '3' });
    const again = await client.authenticateCustom(id);
    assert.equal(again.created, false);
    assert.equal(again.user_id, s.user_id);
  });

  test('email: create, existing, wrong password', async () => {
    const email = `njs-${randomId('', 10)}@example.com`;
    const s = await client.authenticateEmail(email, PASSWORD, true, undefined, { k: 'v' });
    assert.equal(s.created, true);
    assert.deepEqual(s.vars, { k: 'v' });
    const again = await client.authenticateEmail(email, PASSWORD, false);
    assert.equal(again.created, false);
    assert.equal(again.user_id, s.user_id);
    assert.equal(await statusOf(client.authenticateEmail(email, PASSWORD + '!', false)), 401);
  });

  test('a client with the wrong server key is refused (401)', async () => {
    const bad = new Client('wrongkey', '127.0.0.1', String(srv.port), false);
    assert.equal(await statusOf(bad.authenticateDevice(randomId('njs-dev-', 32))), 401);
  });
});

describe('account and users', () => {
  let session;
  let deviceId;
  before(async () => {
    deviceId = randomId('njs-acc-', 32);
    session = await client.authenticateDevice(deviceId, true);
  });

  test('getAccount', async () => {
    const acc = await client.getAccount(session);
    assert.equal(acc.user.id, session.user_id);
    assert.equal(acc.user.username, session.username);
    assert.equal(acc.user.lang_tag, 'en');
    assert.equal(acc.wallet, '{}');
    assert.deepEqual(acc.devices.map((d) => d.id), [deviceId]);
    assert.ok(!Object.hasOwn(acc, 'email'));
  });

  test('updateAccount', async () => {
    const name = randomId('njsupd', 16);
    assert.equal(await client.updateAccount(session, {
      username: name, display_name: 'Node Player', avatar_url: 'https://example.com/x.png',
      lang_tag: 'de', location: 'Berlin', timezone: 'Europe/Berlin',
    }), true);
    const acc = await client.getAccount(session);
    assert.equal(acc.user.username, name);
    assert.equal(acc.user.display_name, 'Node Player');
    assert.equal(acc.user.avatar_url, 'https://example.com/x.png');
    assert.equal(acc.user.lang_tag, 'de');
    assert.equal(acc.user.location, 'Berlin');
    assert.equal(acc.user.timezone, 'Europe/Berlin');
  });

  test('getUsers by ids and usernames', async () => {
    const other = await client.authenticateCustom(randomId('njs-other-', 24), true);
    const res = await client.getUsers(session, [session.user_id], [other.username]);
    assert.deepEqual(res.users.map((u) => u.id).sort(), [session.user_id, other.user_id].sort());
    const none = await client.getUsers(session, ['00000000-0000-4000-8000-00000000abcd']);
    assert.ok(!none.users || none.users.length === 0);
    assert.equal(await statusOf(client.getUsers(session, ['not-a-uuid'])), 400);
  });

  test('no call so far refreshed the session behind our back', () => {
    assert.equal(refreshCalls(), 0, JSON.stringify(calls.filter((c) => c.path.includes('refresh'))));
  });

  test('the client sends what the spec says (trailing "?", snake_case query)', () => {
    const users = calls.find((c) => c.path === '/v2/user');
    assert.ok(users, 'a /v2/user call was made');
    assert.match(users.search, /ids=/);
    assert.ok(calls.every((c) => c.status < 500), JSON.stringify(calls.filter((c) => c.status >= 500)));
  });

  test('nakama-js printed no warnings (e.g. "Session lifetime too short")', () => {
    assert.deepEqual(warnings, []);
  });
});

describe('sessions', () => {
  test('sessionRefresh after a second gives a new token for the same user', async () => {
    const s = await client.authenticateDevice(randomId('njs-ref-', 32), true, undefined, { a: 'b' });
    const oldToken = s.token;
    const oldRefresh = s.refresh_token;
    await sleep(1100);
    const before = refreshCalls();
    const r = await client.sessionRefresh(s);
    assert.equal(refreshCalls(), before + 1);
    assert.notEqual(r.token, oldToken);
    assert.equal(r.user_id, s.user_id);
    assert.ok(r.refresh_token);
    assert.deepEqual(r.vars, { a: 'b' }, 'vars kept when none are sent');
    const acc = await client.getAccount(r);
    assert.equal(acc.user.id, s.user_id);
    // With new vars.
    const r2 = await client.sessionRefresh(Session.restore(r.token, r.refresh_token), { c: 'd' });
    assert.deepEqual(r2.vars, { c: 'd' });
    assert.notEqual(oldRefresh, undefined);
  });

  test('sessionLogout, then the old session is refused', async () => {
    const s = await client.authenticateDevice(randomId('njs-out-', 32), true);
    const token = s.token;
    const refresh = s.refresh_token;
    assert.equal(await client.sessionLogout(s, token, refresh), true);
    assert.equal(await statusOf(client.getAccount(Session.restore(token, refresh))), 401);
    // The refresh token was revoked too.
    const restored = Session.restore(token, refresh);
    await assert.rejects(client.sessionRefresh(restored), (e) => e.status === 401);
  });

  test('a session restored from its tokens works', async () => {
    const s = await client.authenticateCustom(randomId('njs-rest-', 24), true);
    const r = Session.restore(s.token, s.refresh_token);
    assert.equal(r.user_id, s.user_id);
    assert.equal(r.username, s.username);
    assert.equal((await client.getAccount(r)).user.id, s.user_id);
  });
});

describe('link and unlink', () => {
  test('device, custom and email', async () => {
    const dev = randomId('njs-link-', 32);
    const s = await client.authenticateDevice(dev, true);

    const dev2 = randomId('njs-link2-', 32);
    assert.equal(await client.linkDevice(s, { id: dev2 }), true);
    assert.equal((await client.authenticateDevice(dev2, false)).user_id, s.user_id);

    const cust = randomId('njs-lc-', 24);
    assert.equal(await client.linkCustom(s, { id: cust }), true);
    assert.equal((await client.authenticateCustom(cust, false)).user_id, s.user_id);

    const email = `njs-link-${randomId('', 8)}@example.com`;
    assert.equal(await client.linkEmail(s, { email, password: PASSWORD }), true);
    assert.equal((await client.authenticateEmail(email, PASSWORD, false)).user_id, s.user_id);

    let acc = await client.getAccount(s);
    assert.deepEqual(acc.devices.map((d) => d.id).sort(), [dev, dev2].sort());
    assert.equal(acc.custom_id, cust);
    assert.equal(acc.email, email);

    // Someone else's ids cannot be linked.
    const other = await client.authenticateDevice(randomId('njs-oth-', 32), true);
    assert.equal(await statusOf(client.linkDevice(other, { id: dev })), 409);
    assert.equal(await statusOf(client.linkCustom(other, { id: cust })), 409);

    assert.equal(await client.unlinkDevice(s, { id: dev2 }), true);
    assert.equal(await client.unlinkCustom(s, { id: cust }), true);
    assert.equal(await client.unlinkEmail(s, { email, password: PASSWORD }), true);
    acc = await client.getAccount(s);
    assert.deepEqual(acc.devices.map((d) => d.id), [dev]);
    assert.ok(!acc.custom_id);
    assert.ok(!acc.email);
    assert.equal(await statusOf(client.authenticateDevice(dev2, false)), 404);
    assert.equal(await statusOf(client.authenticateCustom(cust, false)), 404);

    // The last identifier stays.
    assert.equal(await statusOf(client.unlinkDevice(s, { id: dev })), 403);
  });
});

describe('deleteAccount', () => {
  test('deletes the user; its device can sign up anew', async () => {
    const id = randomId('njs-del-', 32);
    const s = await client.authenticateDevice(id, true);
    const peer = await client.authenticateDevice(randomId('njs-peer-', 32), true);
    assert.equal(await client.deleteAccount(s), true);
    const users = await client.getUsers(peer, [s.user_id]);
    assert.ok(!users.users || users.users.length === 0);
    const again = await client.authenticateDevice(id, true);
    assert.equal(again.created, true);
    assert.notEqual(again.user_id, s.user_id);
  });
});

describe('realtime socket', () => {
  test('connect, ping/pong, heartbeat, disconnect', async () => {
    const s = await client.authenticateDevice(randomId('njs-ws-', 32), true);
    const socket = client.createSocket(false, false);
    let heartbeatTimeouts = 0;
    let disconnects = 0;
    socket.onheartbeattimeout = () => { heartbeatTimeouts++; };
    socket.ondisconnect = () => { disconnects++; };
    socket.onerror = () => {};
    socket.setHeartbeatTimeoutMs(1000); // the client pings every second and wants each pong within a second
    const connected = await socket.connect(s, true, 5000);
    assert.equal(connected, s);
    assert.equal(socket.adapter.isOpen(), true);

    const pong = await socket.send({ ping: {} });
    assert.ok(pong && Object.hasOwn(pong, 'pong'), `reply to ping: ${JSON.stringify(pong)}`);
    assert.equal(pong.cid !== undefined, true);

    await sleep(3500); // several heartbeats
    assert.equal(heartbeatTimeouts, 0, 'every heartbeat ping got its pong in time');
    assert.equal(socket.adapter.isOpen(), true, 'still connected');
    assert.equal(disconnects, 0);

    socket.disconnect(true);
    assert.equal(disconnects, 1);
    assert.equal(socket.adapter.isOpen(), false);
    await sleep(1100); // let the last heartbeat timer see the closed socket
  });

  test('a bad token is refused', async () => {
    const socket = client.createSocket(false, false);
    socket.onerror = () => {};
    socket.ondisconnect = () => {};
    const fake = Session.restore('a.eyJleHAiOjk5OTk5OTk5OTl9.c', '');
    await assert.rejects(socket.connect(fake, false, 3000));
    socket.disconnect(false);
  });

  test('two sockets for one user at once', async () => {
    const s = await client.authenticateCustom(randomId('njs-ws2-', 24), true);
    const a = client.createSocket();
    const b = client.createSocket();
    for (const x of [a, b]) { x.onerror = () => {}; x.ondisconnect = () => {}; }
    await a.connect(s, false, 5000);
    await b.connect(s, false, 5000);
    const [pa, pb] = await Promise.all([a.send({ ping: {} }), b.send({ ping: {} })]);
    assert.ok(Object.hasOwn(pa, 'pong') && Object.hasOwn(pb, 'pong'));
    a.disconnect(false);
    b.disconnect(false);
  });
});

describe('wire summary', () => {
  test('no unexpected refreshes and no server errors over the whole run', () => {
    // Exactly the two explicit sessionRefresh calls of the sessions tests, plus the refused one.
    assert.equal(refreshCalls(), 3, JSON.stringify(calls.filter((c) => c.path.includes('refresh'))));
    assert.ok(calls.every((c) => c.status < 500), JSON.stringify(calls.filter((c) => c.status >= 500)));
  });

  test('nakama-js printed no warnings (e.g. "Session lifetime too short")', () => {
    assert.deepEqual(warnings, []);
  });
});
