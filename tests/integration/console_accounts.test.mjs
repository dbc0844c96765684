// The console's Accounts, API explorer and Configuration routes: search by each key with
// signed cursors, the full view with counts, edits (409, 400), ban (the old token and the open
// socket stop at once, sign-in and refresh refused; a token issued after the ban is refused
// too, also after a restart, so the banned set is reloaded from the database), unban, delete
// (socket closed), the data export of a user with data in every section (and a section cut at
// its cap), explorer tokens over REST, RPC and /ws, the endpoint list with a test module's
// RPC, and the configuration with no secret in it. Run by meson on SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer, basic, decodeJwt, signJwt, randomId } from '../lib/server.mjs';
import { wsOpen } from './wsutil.mjs';

let srv, dir, ct;
const tag = randomId('ca', 8); // keeps this run's usernames apart

async function consoleLogin(s, password = 'password') {
  const res = await s.post('/v2/console/authenticate', { username: 'admin', password }, { consolePort: true });
  return ok(res, 'console login').token;
}

before(async () => {
  assert.ok(process.env.TAVERN_TEST_MODULES, 'TAVERN_TEST_MODULES is set by meson');
  dir = mkdtempSync(join(tmpdir(), 'tavern-conacct-'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'good.so'), join(dir, 'good.so'));
  srv = await startServer(['--module-path', dir]);
  ct = await consoleLogin(srv);
});
after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ok(res, what = '') {
  assert.equal(res.status, 200, `${what} -> ${res.status} ${res.text}`);
  return res.json;
}

function err(res, status, grpc, what = '') {
  assert.equal(res.status, status, `${what} -> ${res.status} ${res.text}`);
  assert.equal(res.json?.code, grpc, `${what}: grpc code in ${res.text}`);
  return res.json.message;
}

const c = (method, path, body) => srv.request(method, `/v2/console${path}`, { body, consolePort: true, auth: bearer(ct) });
const search = (q) => c('GET', `/account?${q}`);

/** A new device account with the given username; {id (device), uid, usn, token, refresh}. */
async function user(username) {
  const id = randomId('cad-', 32);
  const s = ok(await srv.authenticate('device', { id }, username ? `username=${encodeURIComponent(username)}` : ''), 'sign-up');
  const { payload } = decodeJwt(s.token);
  return { id, uid: payload.uid, usn: payload.usn, token: s.token, refresh: s.refresh_token };
}

async function socket(token) {
  const open = await wsOpen(srv, `token=${encodeURIComponent(token)}`);
  assert.ok(open.ws, `socket opened: ${open.status} ${open.body}`);
  return open;
}

async function closedWithin(inbox, ms = 5000) {
  const end = Date.now() + ms;
  while (!inbox.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return !!inbox.closed;
}

describe('search', () => {
  let a, b, d;
  before(async () => {
    a = await user(`${tag}-alpha`);
    b = await user(`${tag}-beta`);
    d = await user(`${tag}-delta`);
    ok(await c('PUT', `/account/${b.uid}`, { email: `${tag}-B@Example.com`, custom_id: `${tag}-custom` }), 'email and custom id');
  });

  const ids = (r) => (r.accounts ?? []).map((x) => x.user.id);

  test('by exact user id, username prefix, email, device id and custom id', async () => {
    assert.deepEqual(ids(ok(await search(`filter=${a.uid}`))), [a.uid]);
    assert.deepEqual(ids(ok(await search(`filter=${a.uid.toUpperCase()}`))), [a.uid], 'any case');
    assert.deepEqual(ids(ok(await search(`filter=${tag}-b&order=username`))), [b.uid]);
    assert.deepEqual(ids(ok(await search(`filter=${tag}-b@example.com`))), [b.uid], 'email, lower-cased');
    assert.deepEqual(ids(ok(await search(`filter=${a.id}`))), [a.uid], 'device id');
    assert.deepEqual(ids(ok(await search(`filter=${tag}-custom`))), [b.uid], 'custom id');
    const one = ok(await search(`filter=${b.uid}`)).accounts[0];
    assert.equal(one.email, `${tag}-b@example.com`);
    assert.equal(one.custom_id, `${tag}-custom`);
    assert.deepEqual(ok(await search(`filter=${tag}-nobody`)), {});
  });

  test('pages by username and newest first, with signed cursors', async () => {
    const p1 = ok(await search(`filter=${tag}-&order=username&limit=2`));
    assert.deepEqual(ids(p1), [a.uid, b.uid]);
    assert.ok(p1.cursor);
    const p2 = ok(await search(`filter=${tag}-&order=username&limit=2&cursor=${p1.cursor}`));
    assert.deepEqual(ids(p2), [d.uid]);
    assert.ok(!p2.cursor, 'last page has no cursor');
    const seen = [];
    let cursor = '';
    for (let i = 0; i < 5; i++) {
      const p = ok(await search(`filter=${tag}-&limit=1${cursor ? `&cursor=${cursor}` : ''}`));
      seen.push(...ids(p));
      if (!p.cursor) break;
      cursor = p.cursor;
    }
    assert.deepEqual([...seen].sort(), [a.uid, b.uid, d.uid].sort(), 'newest first: each once');
    const all = ok(await search('limit=100'));
    assert.ok(all.accounts.length >= 3);
    const times = all.accounts.map((x) => x.user.create_time);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    err(await search(`filter=${tag}-&order=username&limit=2&cursor=${p1.cursor.slice(0, -2)}AA`), 400, 3, 'tampered cursor');
    err(await search(`filter=${tag}-a&order=username&limit=2&cursor=${p1.cursor}`), 400, 3, 'cursor of another filter');
    err(await search(`filter=${tag}-&limit=2&cursor=${p1.cursor}`), 400, 3, 'cursor of another order');
    err(await search('limit=0'), 400, 3);
    err(await search('limit=101'), 400, 3);
    err(await search('order=oldest'), 400, 3);
    err(await search(`filter=${'x'.repeat(256)}`), 400, 3);
    err(await srv.get('/v2/console/account', { consolePort: true, auth: bearer(a.token) }), 401, 16, 'a session token');
  });
});

describe('view and edit', () => {
  test('the full account; edits with 409 and 400s', async () => {
    const u = await user(`${tag}-edit`);
    const other = await user(`${tag}-taken`);
    const v = ok(await c('GET', `/account/${u.uid}`));
    assert.equal(v.account.user.id, u.uid);
    assert.deepEqual(v.account.devices, [{ id: u.id }]);
    assert.ok(!v.counts, 'no data: no counts');
    const e = ok(await c('PUT', `/account/${u.uid}`, { display_name: 'Edited', location: 'Town', timezone: 'UTC',
      lang_tag: 'fr', avatar_url: 'http://a/b.png', metadata: { level: 3 }, custom_id: `${tag}-cu-edit` }));
    assert.equal(e.account.user.display_name, 'Edited');
    assert.equal(e.account.user.lang_tag, 'fr');
    assert.deepEqual(JSON.parse(e.account.user.metadata), { level: 3 });
    assert.equal(e.account.custom_id, `${tag}-cu-edit`);
    ok(await c('PUT', `/account/${u.uid}`, { metadata: '{"level":4}', username: `${tag}-renamed` }), 'metadata as text');
    const mine = ok(await srv.get('/v2/account', { auth: bearer(u.token) }));
    assert.equal(mine.user.username, `${tag}-renamed`);
    assert.deepEqual(JSON.parse(mine.user.metadata), { level: 4 });
    err(await c('PUT', `/account/${u.uid}`, { username: other.usn }), 409, 6, 'taken username');
    ok(await c('PUT', `/account/${u.uid}`, { custom_id: `${tag}-cu-edit` }), 'its own custom id again');
  });

  test('refusals', async () => {
    const u = await user();
    const other = await user();
    ok(await c('PUT', `/account/${other.uid}`, { email: `${tag}-o@example.com` }));
    err(await c('PUT', `/account/${u.uid}`, { email: `${tag}-o@example.com` }), 409, 6, 'taken email');
    err(await c('PUT', `/account/${u.uid}`, { metadata: [1] }), 400, 3, 'metadata array');
    err(await c('PUT', `/account/${u.uid}`, { metadata: 'not json' }), 400, 3, 'metadata text');
    err(await c('PUT', `/account/${u.uid}`, { metadata: { s: 'x'.repeat(16384) } }), 400, 3, 'metadata too big');
    err(await c('PUT', `/account/${u.uid}`, { email: 'bad' }), 400, 3, 'email');
    err(await c('PUT', `/account/${u.uid}`, { custom_id: 'x' }), 400, 3, 'custom id');
    err(await c('PUT', `/account/${u.uid}`, { username: '' }), 400, 3, 'empty username');
    err(await c('PUT', `/account/${u.uid}`, { display_name: 5 }), 400, 3, 'display_name type');
    const acc = ok(await c('GET', `/account/${u.uid}`)).account;
    assert.equal(acc.user.metadata, '{}', 'nothing changed');
    const none = '00000000-0000-4000-8000-00000000abcd';
    err(await c('GET', `/account/${none}`), 404, 5);
    err(await c('PUT', `/account/${none}`, { display_name: 'x' }), 404, 5);
    err(await c('GET', '/account/not-a-uuid'), 400, 3);
  });
});

describe('ban and unban', () => {
  test('the old token and the open socket stop at once; sign-in refused; unban restores', async () => {
    const u = await user();
    const sock = await socket(u.token);
    ok(await srv.get('/v2/account', { auth: bearer(u.token) }));
    ok(await c('POST', `/account/${u.uid}/ban`), 'ban');
    err(await srv.get('/v2/account', { auth: bearer(u.token) }), 401, 16, 'old token after the ban');
    assert.ok(await closedWithin(sock.inbox), 'the open socket was closed');
    const again = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
    assert.ok(!again.ws, 'a new socket is refused');
    err(await srv.authenticate('device', { id: u.id }), 403, 7, 'sign-in while banned');
    err(await srv.post('/v2/account/session/refresh', { token: u.refresh }, { auth: basic() }), 401, 16, 'refresh while banned');
    const acc = ok(await c('GET', `/account/${u.uid}`)).account;
    assert.ok(acc.disable_time, 'disable_time set');
    ok(await c('POST', `/account/${u.uid}/ban`), 'a second ban is fine');
    ok(await c('POST', `/account/${u.uid}/unban`), 'unban');
    assert.ok(!ok(await c('GET', `/account/${u.uid}`)).account.disable_time, 'disable_time cleared');
    const s = ok(await srv.authenticate('device', { id: u.id }), 'sign-in after the unban');
    ok(await srv.get('/v2/account', { auth: bearer(s.token) }), 'the new token works');
    const sock2 = await socket(s.token);
    sock2.ws.close();
    err(await c('POST', '/account/00000000-0000-4000-8000-00000000abcd/ban'), 404, 5);
    err(await c('POST', '/account/00000000-0000-4000-8000-00000000abcd/unban'), 404, 5);
    err(await c('POST', '/account/nope/ban'), 400, 3);
  });

  test('a ban refuses tokens issued after it too, and survives a restart', async () => {
    const u = await user();
    ok(await c('POST', `/account/${u.uid}/ban`), 'ban');
    // A token signed after the ban (iat later than the ban's logout time): only the banned-user
    // set can refuse it.
    const now = Math.floor(Date.now() / 1000);
    const later = signJwt({ alg: 'HS256', typ: 'JWT' }, { tid: '11111111-1111-4111-8111-111111111111', uid: u.uid, usn: u.usn, iat: now + 5, exp: now + 600 }, srv.sessionSecret());
    err(await srv.get('/v2/account', { auth: bearer(later) }), 401, 16, 'a token issued after the ban');
    const other = await user();
    const fresh = signJwt({ alg: 'HS256', typ: 'JWT' }, { tid: '22222222-2222-4222-8222-222222222222',
      uid: other.uid, usn: other.usn, iat: now + 5, exp: now + 600 }, srv.sessionSecret());
    ok(await srv.get('/v2/account', { auth: bearer(fresh) }), 'a hand-signed token of an unbanned user works');
    await srv.restart();
    ct = await consoleLogin(srv);
    err(await srv.get('/v2/account', { auth: bearer(later) }), 401, 16, 'still refused after the restart');
    err(await srv.authenticate('device', { id: u.id }), 403, 7, 'sign-in refused after the restart');
    ok(await srv.get('/v2/account', { auth: bearer(fresh) }), 'the other user is unaffected');
    ok(await c('POST', `/account/${u.uid}/unban`), 'unban');
    ok(await srv.get('/v2/account', { auth: bearer(later) }), 'the later token works again after the unban');
  });
});

describe('delete', () => {
  test('deletes the account as the player would, closing its sockets', async () => {
    const u = await user();
    const sock = await socket(u.token);
    ok(await c('DELETE', `/account/${u.uid}`), 'delete');
    assert.ok(await closedWithin(sock.inbox), 'socket closed');
    err(await srv.get('/v2/account', { auth: bearer(u.token) }), 401, 16, 'old token');
    err(await c('GET', `/account/${u.uid}`), 404, 5);
    err(await c('DELETE', `/account/${u.uid}`), 404, 5, 'twice');
    err(await srv.authenticate('device', { id: u.id }, 'create=false'), 404, 5, 'the device went with it');
  });
});

describe('export', () => {
  test('every section of a user with data, counts in the view, a cut section flagged', async () => {
    const u = await user(`${tag}-export`);
    const v = await user();
    const auth = bearer(u.token);
    // storage: 101 objects, one more than the section's cap
    for (const [from, to] of [[0, 100], [100, 101]]) {
      const objects = [];
      for (let i = from; i < to; i++) objects.push({ collection: 'saves', key: `k${String(i).padStart(3, '0')}`, value: `{"n":${i}}` });
      ok(await srv.put('/v2/storage', { objects }, { auth }), 'storage write');
    }
    ok(await c('POST', `/economy/${u.uid}/grant`, { currencies: { coins: 50 }, items: { sword: 1 }, reason: 'export test' }), 'grant');
    ok(await c('PUT', '/shop/ca-free', { name: 'Free', grants: { items: { gem: 1 } } }), 'shop item');
    ok(await srv.post('/v2/shop/purchase', { item_id: 'ca-free', idempotency_key: 'e1' }, { auth }), 'purchase');
    ok(await srv.post(`/v2/friend?ids=${v.uid}`, undefined, { auth }), 'invite');
    ok(await srv.post(`/v2/friend?ids=${u.uid}`, undefined, { auth: bearer(v.token) }), 'accept (a notification for u)');
    const g = ok(await srv.post('/v2/group', { name: `${tag}-g` }, { auth }), 'group');
    ok(await c('POST', '/leaderboard', { id: `${tag}-board`, operator: 'best' }), 'board');
    ok(await srv.post(`/v2/leaderboard/${tag}-board`, { score: 42 }, { auth }), 'record');
    const sock = await socket(u.token);
    try {
      const ask = async (cid, msg) => {
        sock.inbox.send({ cid, ...msg });
        for (;;) { const m = await sock.inbox.next(); if (m.cid === cid) return m; }
      };
      assert.ok((await ask('1', { channel_join: { target: `${tag}-room`, type: 1 } })).channel);
      assert.ok((await ask('2', { channel_message_send: { channel_id: `2...${tag}-room`, content: '{"hi":1}' } })).channel_message_ack);
    } finally {
      sock.ws.close();
    }
    const view = ok(await c('GET', `/account/${u.uid}`));
    assert.deepEqual(view.counts, { storage_objects: '101', friends: '1', groups: '1', leaderboard_records: '1' });
    const x = ok(await c('GET', `/account/${u.uid}/export`));
    assert.equal(x.account.user.id, u.uid);
    assert.deepEqual(JSON.parse(x.account.wallet), { coins: 50 });
    assert.equal(x.storage_objects.length, 100, 'storage capped at 100');
    assert.deepEqual(x.truncated, ['storage_objects']);
    assert.deepEqual(JSON.parse(x.storage_objects[0].value), { n: 0 });
    assert.ok(x.wallet_ledger.length >= 1);
    assert.deepEqual(x.inventory.map((i) => i.item_id).sort(), ['gem', 'sword']);
    assert.deepEqual(x.purchase_receipts.map((r) => r.item_id), ['ca-free']);
    assert.deepEqual(x.friends.map((f) => [f.user_id, f.state ?? 0]), [[v.uid, 0]]);
    assert.deepEqual(x.groups.map((m) => [m.group_id, m.name]), [[g.id, `${tag}-g`]]);
    assert.ok(x.notifications.some((n) => n.code === -3), 'the friend accept notification');
    assert.deepEqual(x.leaderboard_records.map((r) => [r.leaderboard_id, r.score]), [[`${tag}-board`, '42']]);
    assert.ok(x.chat_messages.some((m) => m.channel_id === `2...${tag}-room` && m.content === '{"hi":1}'), 'the chat message');
    const other = ok(await c('GET', `/account/${v.uid}/export`));
    assert.ok(!other.truncated && !other.storage_objects, 'another user: none of u\'s data');
    err(await c('GET', '/account/00000000-0000-4000-8000-00000000abcd/export'), 404, 5);
    err(await c('GET', '/account/nope/export'), 400, 3);
  });
});

describe('API explorer', () => {
  test('a short-lived token for a user: REST, RPC and /ws as that user', async () => {
    const u = await user();
    const t = ok(await c('POST', '/explorer/token', { user_id: u.uid }));
    assert.equal(t.user_id, u.uid);
    const { payload } = decodeJwt(t.token);
    assert.equal(payload.uid, u.uid);
    assert.ok(payload.exp - payload.iat <= 600 && payload.exp > payload.iat, 'at most 10 minutes');
    assert.equal(payload.vrs?.tavern_console_explorer, 'admin', 'marked as an explorer session');
    const acc = ok(await srv.get('/v2/account', { auth: bearer(t.token) }), 'GET /v2/account as the user');
    assert.equal(acc.user.id, u.uid);
    const who = ok(await srv.post('/v2/rpc/whoami', '""', { auth: bearer(t.token) }), 'rpc');
    assert.equal(JSON.parse(who.payload).user_id, u.uid);
    const sock = await socket(t.token); // the socket's token check takes it too
    sock.ws.close();
    err(await c('POST', '/explorer/token', { user_id: '00000000-0000-4000-8000-00000000abcd' }), 404, 5);
    err(await c('POST', '/explorer/token', { user_id: 'nope' }), 400, 3);
    err(await c('POST', '/explorer/token', {}), 400, 3);
    ok(await c('POST', `/account/${u.uid}/ban`));
    err(await c('POST', '/explorer/token', { user_id: u.uid }), 403, 7, 'banned user');
    err(await srv.get('/v2/account', { auth: bearer(t.token) }), 401, 16, 'the explorer token dies with the ban');
  });

  test('endpoints: the API routes and the RPC ids', async () => {
    const e = ok(await c('GET', '/explorer/endpoints'));
    const has = (m, p) => e.endpoints.some((x) => x.method === m && x.path === p);
    assert.ok(has('GET', '/v2/account') && has('POST', '/v2/rpc/{id}') && has('PUT', '/v2/storage'));
    assert.ok(!e.endpoints.some((x) => x.path.startsWith('/v2/console')), 'the API port only');
    assert.equal(e.endpoints.find((x) => x.path === '/v2/account').auth, 'session');
    const rpc = e.rpcs.find((r) => r.id === 'testecho');
    assert.ok(rpc, `the test module's RPC: ${JSON.stringify(e.rpcs)}`);
    assert.equal(rpc.module, 'good');
    assert.ok(e.rpcs.some((r) => r.id === 'whoami'));
  });
});

describe('configuration', () => {
  test('every flag with its source, and no secret value anywhere in the answer', async () => {
    const secrets = {
      'server-key': 'ca-server-key-S3CRET-1',
      'http-key': 'ca-http-key-S3CRET-2',
      'session-secret': 'ca-session-secret-S3CRET-3-0123456789abcdef',
      'refresh-secret': 'ca-refresh-secret-S3CRET-4-0123456789abcdef',
      'console-password': 'ca-console-password-S3CRET-5',
    };
    process.env.TAVERN_HTTP_KEY = secrets['http-key']; // one from the environment
    const args = Object.entries(secrets).filter(([k]) => k !== 'http-key').flatMap(([k, v]) => [`--${k}`, v]);
    let s;
    try {
      s = await startServer([...args, '--workers', '3']);
    } finally {
      delete process.env.TAVERN_HTTP_KEY;
    }
    try {
      const token = await consoleLogin(s, secrets['console-password']);
      const res = await s.get('/v2/console/config', { consolePort: true, auth: bearer(token) });
      const cfg = ok(res, 'config');
      for (const [name, v] of Object.entries(secrets))
        assert.ok(!res.text.includes(v), `${name}'s value is nowhere in the answer`);
      const pw = new URL(s.dbUrl.replace(/^postgres(ql)?:/, 'http:')).password;
      if (pw) assert.ok(!res.text.includes(`:${pw}@`), 'the database password is not shown');
      const flag = (n) => cfg.flags.find((f) => f.name === n);
      for (const n of Object.keys(secrets)) assert.deepEqual([flag(n).value, flag(n).secret], ['********', true], n);
      assert.equal(flag('http-key').source, 'env');
      assert.equal(flag('server-key').source, 'flag');
      assert.deepEqual([flag('workers').value, flag('workers').source], ['3', 'flag']);
      assert.deepEqual([flag('session-ttl').value, flag('session-ttl').source], ['7200', 'default']);
      assert.equal(flag('db').source, 'flag');
      assert.equal(flag('db').value, pw ? s.dbUrl.replace(`:${pw}@`, ':********@') : s.dbUrl);
      assert.ok(!flag('module-path').value, 'unset: no value');
      err(await s.get('/v2/console/config', { consolePort: true }), 401, 16);
    } finally {
      await s.stop();
    }
  });
});
