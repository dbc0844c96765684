// Console users, roles, tokens, lockout and the audit log: the bootstrap admin from the flags
// (and its recovery by a restart with a new password), wrong passwords, lockout after
// --console-max-failures (also under concurrent failures) and its unlock and expiry, token
// expiry, a disabled / deleted / re-roled user's token refused at once, user management by
// admins only, a role test over EVERY console route documented in api/openapi.yaml (the
// contract test holds that list equal to server.c's table), an audit row for every write with
// who/what/status (refused ones too), no password in any row, and the audit list's cursor.
// Run by meson on SQLite and PostgreSQL; see tests/lib/server.mjs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, bearer, decodeJwt } from '../lib/server.mjs';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const MAX_FAILURES = 3;
const LOCKOUT_S = 3;
const PASSWORDS = new Set(['password']); // every password this file sends: none may be audited
const ROLES = ['readonly', 'maintainer', 'developer', 'admin'];
const rank = (r) => ROLES.indexOf(r);

let srv, admin;

before(async () => {
  srv = await startServer(['--console-max-failures', String(MAX_FAILURES), '--console-lockout', String(LOCKOUT_S)]);
  admin = await signIn('admin', 'password');
});
after(async () => { await srv?.stop(); });

const con = (auth, extra = {}) => ({ consolePort: true, auth: auth && bearer(auth), ...extra });

async function signInRes(username, password, server = srv) {
  PASSWORDS.add(password);
  return server.post('/v2/console/authenticate', { username, password }, { consolePort: true });
}

async function signIn(username, password, server = srv) {
  const res = await signInRes(username, password, server);
  assert.equal(res.status, 200, `sign-in ${username} -> ${res.status} ${res.text}`);
  return res.json.token;
}

function err(res, status, grpc, what) {
  assert.equal(res.status, status, `${what} -> ${res.status} ${res.text}`);
  assert.equal(res.json?.code, grpc, `${what}: ${res.text}`);
  return res.json.message;
}

async function makeUser(username, role, password = `pw-${username}-0123`) {
  PASSWORDS.add(password);
  const res = await srv.post('/v2/console/user', { username, role, password }, con(admin));
  assert.equal(res.status, 200, `create ${username} -> ${res.status} ${res.text}`);
  return { username, role, password, token: await signIn(username, password) };
}

/** Every audit entry matching query, newest first, read 7 at a time through the cursor. */
async function auditAll(query = '') {
  const out = [];
  let cursor = '';
  for (let pages = 0; pages < 500; pages++) {
    const res = await srv.get(`/v2/console/audit?limit=7${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, con(admin));
    assert.equal(res.status, 200, res.text);
    out.push(...(res.json.entries ?? []));
    if (!res.json.cursor) return out;
    assert.equal(res.json.entries.length, 7);
    cursor = res.json.cursor;
  }
  throw new Error('audit pages never end');
}

// ---------------------------------------------------------------------------------------------
// The console routes, from api/openapi.yaml: paths served on the console port (7351)

function consoleRoutes() {
  const text = readFileSync(join(ROOT, 'api', 'openapi.yaml'), 'utf8');
  const body = text.slice(text.indexOf('\npaths:\n'), text.indexOf('\ncomponents:\n'));
  const routes = [];
  for (const block of body.split(/\n(?=  \/)/)) {
    const path = /^ {2}(\/\S*):/.exec(block.trimStart() === block ? block : block.replace(/^\n/, ''))?.[1]
      ?? /^\s*(\/\S*):/.exec(block)?.[1];
    if (!path || !/default: '7351'/.test(block)) continue;
    for (const m of block.matchAll(/\n {4}(get|post|put|delete):\n([\s\S]*?)(?=\n {4}\w+:\n|$)/g)) {
      if (/- consoleToken: \[\]/.test(m[2])) routes.push({ method: m[1].toUpperCase(), path });
    }
  }
  return routes;
}

/** The role table of the README and server/console/roles.c, written again. */
function required(method, path) {
  const under = (p) => path === p || path.startsWith(p + '/');
  if (under('/v2/console/user') || under('/v2/console/audit')) return 'admin';
  if (method === 'GET') return 'readonly';
  if (method === 'DELETE' && /^\/v2\/console\/account\/\{[^/]+\}$/.test(path)) return 'developer';
  if (/^\/v2\/console\/account\/\{[^/]+\}(\/|$)/.test(path) || ['storage', 'economy', 'receipt', 'match'].some((r) => under(`/v2/console/${r}`)))
    return 'maintainer';
  return 'developer';
}

const fill = (path) => path.replace(/\{(\w+)\}/g, (_, n) => (/id$/.test(n) ? '00000000-0000-4000-8000-00000000dead' : 'role-test-nobody'));

// ---------------------------------------------------------------------------------------------

describe('sign-in', () => {
  test('the bootstrap admin signs in; its token names id, name and role and expires in an hour', async () => {
    const { payload } = decodeJwt(admin);
    assert.equal(payload.usn, 'admin');
    assert.match(payload.uid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(payload.vrs, { role: 'admin' });
    assert.ok(Math.abs(payload.exp - payload.iat - 3600) <= 1, `ttl ${payload.exp - payload.iat}`);
    const list = await srv.get('/v2/console/user', con(admin));
    const me = list.json.users.find((u) => u.username === 'admin');
    assert.equal(me.role, 'admin');
    assert.ok(me.last_signin_time);
  });

  test('wrong passwords, unknown names and bad bodies are refused', async () => {
    err(await signInRes('admin', 'not-the-password'), 401, 16, 'wrong password');
    err(await signInRes('nobody-here', 'password'), 401, 16, 'unknown user');
    err(await signInRes('Admin', 'password'), 401, 16, 'names are case-sensitive');
    err(await srv.post('/v2/console/authenticate', { username: 1, password: 'x' }, { consolePort: true }), 400, 3, 'not strings');
    await signIn('admin', 'password'); // a success resets the count
  });

  test(`${MAX_FAILURES} failures lock the user (429, even with the right password); an admin unlocks it`, async () => {
    const u = await makeUser('locky', 'developer');
    for (let i = 0; i < MAX_FAILURES; i++) err(await signInRes('locky', `wrong-${i}-password`), 401, 16, `failure ${i + 1}`);
    const msg = err(await signInRes('locky', u.password), 429, 8, 'locked');
    assert.match(msg, /locked/);
    const listed = (await srv.get('/v2/console/user', con(admin))).json.users.find((x) => x.username === 'locky');
    assert.ok(listed.locked_until, JSON.stringify(listed));
    // a locked user cannot unlock itself, a developer cannot unlock it, an admin can
    err(await srv.post('/v2/console/user/locky/unlock', {}, con(u.token)), 403, 7, 'developer unlocks');
    const un = await srv.post('/v2/console/user/locky/unlock', {}, con(admin));
    assert.equal(un.status, 200, un.text);
    assert.equal(un.json.locked_until, undefined);
    await signIn('locky', u.password);
  });

  test('concurrent failures all count (one UPDATE each): the user locks, and the lock expires', async () => {
    const u = await makeUser('racy', 'readonly');
    const answers = await Promise.all(Array.from({ length: MAX_FAILURES }, (_, i) => signInRes('racy', `bad-${i}-password`)));
    assert.deepEqual(answers.map((r) => r.status), Array(MAX_FAILURES).fill(401));
    err(await signInRes('racy', u.password), 429, 8, 'locked after concurrent failures');
    await new Promise((r) => setTimeout(r, LOCKOUT_S * 1000 + 1100));
    await signIn('racy', u.password);
  });
});

describe('tokens follow the user', () => {
  test('a disabled, re-roled or deleted user is refused at once; re-enabled it works again', async () => {
    const v = await makeUser('victim', 'developer');
    const probe = () => srv.get('/v2/console/leaderboard', con(v.token));
    assert.equal((await probe()).status, 200);
    assert.equal((await srv.put('/v2/console/user/victim', { disabled: true }, con(admin))).status, 200);
    assert.match(err(await probe(), 401, 16, 'disabled'), /disabled/);
    err(await signInRes('victim', v.password), 403, 7, 'a disabled user signs in');
    assert.equal((await srv.put('/v2/console/user/victim', { disabled: false }, con(admin))).status, 200);
    assert.equal((await probe()).status, 200, 'enabled again');
    assert.equal((await srv.put('/v2/console/user/victim', { role: 'readonly' }, con(admin))).status, 200);
    assert.match(err(await probe(), 401, 16, 're-roled'), /changed/);
    const t2 = await signIn('victim', v.password);
    assert.deepEqual(decodeJwt(t2).payload.vrs, { role: 'readonly' });
    assert.equal((await srv.del('/v2/console/user/victim', con(admin))).status, 200);
    err(await srv.get('/v2/console/leaderboard', con(t2)), 401, 16, 'deleted');
    err(await signInRes('victim', v.password), 401, 16, 'deleted user signs in');
  });

  test('--console-token-ttl: a token expires', async () => {
    const short = await startServer(['--console-token-ttl', '1']);
    try {
      const t = await signIn('admin', 'password', short);
      const { payload } = decodeJwt(t);
      assert.equal(payload.exp - payload.iat, 1);
      await new Promise((r) => setTimeout(r, 2100));
      err(await short.get('/v2/console/leaderboard', con(t)), 401, 16, 'expired');
    } finally {
      await short.stop();
    }
  });

  test('the flags recover access: a restart with a new --console-password replaces the hash', async () => {
    const other = await startServer(['--console-user', 'ops', '--console-password', 'first-password']);
    try {
      await signIn('ops', 'first-password', other);
      await other.restart(['--console-user', 'ops', '--console-password', 'second-password']);
      err(await signInRes('ops', 'first-password', other), 401, 16, 'the old flag password');
      const t = await signIn('ops', 'second-password', other);
      assert.deepEqual(decodeJwt(t).payload.vrs, { role: 'admin' });
      // the old default admin never existed on this server
      err(await signInRes('admin', 'password', other), 401, 16, 'admin on another server');
    } finally {
      await other.stop();
    }
  });
});

describe('console user management', () => {
  test('admins create, change, unlock and delete users; rules hold', async () => {
    const made = await srv.post('/v2/console/user', { username: 'mgmt.one', role: 'maintainer', password: 'mgmt-password', email: 'Mgmt.One@Example.com' }, con(admin));
    PASSWORDS.add('mgmt-password');
    assert.equal(made.status, 200, made.text);
    assert.deepEqual([made.json.username, made.json.role, made.json.email], ['mgmt.one', 'maintainer', 'mgmt.one@example.com']);
    assert.equal(made.json.password, undefined);
    err(await srv.post('/v2/console/user', { username: 'mgmt.one', role: 'admin', password: 'mgmt-password' }, con(admin)), 409, 6, 'duplicate');
    err(await srv.post('/v2/console/user', { username: 'mgmt-two', role: 'admin', password: 'short12' }, con(admin)), 400, 3, '7-char password');
    err(await srv.post('/v2/console/user', { username: 'mgmt-two', role: 'admin', password: 'x'.repeat(257) }, con(admin)), 400, 3, '257-byte password');
    err(await srv.post('/v2/console/user', { username: 'mgmt two', role: 'admin', password: 'mgmt-password' }, con(admin)), 400, 3, 'space in name');
    err(await srv.post('/v2/console/user', { username: 'mgmt-two', role: 'owner', password: 'mgmt-password' }, con(admin)), 400, 3, 'unknown role');
    err(await srv.post('/v2/console/user', { username: 'mgmt-two', password: 'mgmt-password' }, con(admin)), 400, 3, 'no role');
    const up = await srv.put('/v2/console/user/mgmt.one', { password: 'mgmt-password-2', email: '' }, con(admin));
    PASSWORDS.add('mgmt-password-2');
    assert.equal(up.status, 200, up.text);
    assert.equal(up.json.email, undefined);
    await signIn('mgmt.one', 'mgmt-password-2');
    err(await srv.put('/v2/console/user/nobody-at-all', { role: 'admin' }, con(admin)), 404, 5, 'unknown user');
    // oneself: no delete, disable or demotion; the last enabled admin stays
    err(await srv.del('/v2/console/user/admin', con(admin)), 400, 3, 'delete oneself');
    err(await srv.put('/v2/console/user/admin', { disabled: true }, con(admin)), 400, 3, 'disable oneself');
    err(await srv.put('/v2/console/user/admin', { role: 'developer' }, con(admin)), 400, 3, 'demote oneself');
    const a2 = await makeUser('second-admin', 'admin');
    assert.equal((await srv.put('/v2/console/user/second-admin', { role: 'developer' }, con(admin))).status, 200);
    assert.equal((await srv.put('/v2/console/user/second-admin', { role: 'admin' }, con(admin))).status, 200);
    const t2 = await signIn('second-admin', a2.password);
    // with two admins, the second may demote the first... which then cannot touch anyone
    assert.equal((await srv.put('/v2/console/user/admin', { role: 'developer' }, con(t2))).status, 200);
    err(await srv.get('/v2/console/user', con(admin)), 401, 16, 'the demoted admin\'s token');
    // ... and the last enabled admin (second-admin) cannot be removed by anyone
    const dev = await signIn('admin', 'password');
    err(await srv.del('/v2/console/user/second-admin', con(dev)), 403, 7, 'a developer deletes');
    err(await srv.del('/v2/console/user/second-admin', con(t2)), 400, 3, 'self');
    // restore: the flags' admin is an admin again (as the next restart would also make it)
    assert.equal((await srv.put('/v2/console/user/admin', { role: 'admin' }, con(t2))).status, 200);
    admin = await signIn('admin', 'password');
    assert.equal((await srv.del('/v2/console/user/second-admin', con(admin))).status, 200);
    assert.equal((await srv.del('/v2/console/user/mgmt.one', con(admin))).status, 200);
    err(await srv.del('/v2/console/user/mgmt.one', con(admin)), 404, 5, 'deleted twice');
  });
});

describe('roles on every console route', () => {
  const routes = consoleRoutes();
  const users = {};

  before(async () => {
    for (const role of ROLES) users[role] = await makeUser(`role-${role}`, role);
  });

  test('the list covers every console-token route of server.c', () => {
    const src = readFileSync(join(ROOT, 'server', 'core', 'server.c'), 'utf8');
    const table = /console_routes\[\]\s*=\s*\{([\s\S]*?)\n\};/.exec(src)[1];
    const inTable = [...table.matchAll(/\{\s*"([A-Z]+)"\s*,\s*"([^"]*)"\s*,\s*TV_HTTP_AUTH_CONSOLE/g)].map((m) => `${m[1]} ${m[2]}`).sort();
    assert.deepEqual(routes.map((r) => `${r.method} ${r.path}`).sort(), inTable);
    assert.ok(routes.length >= 20, `${routes.length} routes`);
  });

  for (const role of ROLES) {
    test(`${role}: 403 exactly where the table says`, async () => {
      const u = users[role];
      const wrong = [];
      for (const r of routes) {
        const need = required(r.method, r.path);
        const res = await srv.request(r.method, fill(r.path), con(u.token, { body: r.method === 'GET' ? undefined : {} }));
        const refused = res.status === 403 && /^Console role /.test(res.json?.message ?? '');
        if (res.status === 401 || refused !== rank(role) < rank(need))
          wrong.push(`${r.method} ${r.path} (needs ${need}) -> ${res.status} ${res.text.slice(0, 120)}`);
        if (refused) assert.match(res.json.message, new RegExp(`^Console role ${role} may not call ${r.method} .* it needs ${need} or above\\.$`));
      }
      assert.deepEqual(wrong, []);
    });
  }

  test('every write is audited with who, what and status, refused ones included', async () => {
    const writes = routes.filter((r) => r.method !== 'GET');
    for (const role of ROLES) {
      const rows = await auditAll(`&user=role-${role}`);
      for (const r of writes) {
        const row = rows.find((x) => x.action === `${r.method} ${r.path}`);
        assert.ok(row, `${role}: an audit row for ${r.method} ${r.path}`);
        assert.equal(row.role, role);
        assert.equal(row.user_id, decodeJwt(users[role].token).payload.uid);
        assert.equal(row.path, fill(r.path));
        assert.ok(row.client);
        const need = required(r.method, r.path);
        if (rank(role) < rank(need)) assert.equal(row.status, 403, `${role} ${r.method} ${r.path}`);
        else assert.notEqual(row.status, 403);
      }
      assert.ok(rows.every((x) => !x.action.startsWith('GET ')), 'reads are not audited');
    }
    // a write without a valid token is audited too, with no user
    const res = await srv.post('/v2/console/leaderboard', { id: 'audit-anon' }, { consolePort: true, auth: bearer('x.y.z') });
    assert.equal(res.status, 401);
    const anon = (await auditAll('&action=POST%20/v2/console/leaderboard')).find((x) => x.body?.includes('audit-anon'));
    assert.ok(anon, 'the refused anonymous write');
    assert.deepEqual([anon.status, anon.username, anon.user_id], [401, undefined, undefined]);
    // the sign-ins, failed ones included, with the name tried as target
    const signins = await auditAll('&action=POST%20/v2/console/authenticate');
    assert.ok(signins.some((x) => x.target === 'locky' && x.status === 429));
    assert.ok(signins.some((x) => x.target === 'admin' && x.status === 401));
  });

  test('no password in any audit row; the list pages newest first with its cursor', async () => {
    const rows = await auditAll();
    assert.ok(rows.length > 50, `${rows.length} rows`);
    const text = JSON.stringify(rows);
    for (const p of PASSWORDS) {
      // "password" (the flags' default) is also the member's name: look for it as a value
      if (p !== 'password') assert.ok(!text.includes(p), `password ${p} is in the audit log`);
      for (const row of rows) {
        assert.ok(!(row.body ?? '').includes(`:"${p}"`), `password ${p} in ${JSON.stringify(row)}`);
        assert.ok(Object.values(row).every((v) => v !== p), `password ${p} in ${JSON.stringify(row)}`);
      }
    }
    assert.ok(rows.some((x) => x.body?.includes('"password":"[redacted]"')));
    const ids = rows.map((x) => x.id);
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
    assert.equal(new Set(ids).size, ids.length, 'no row twice across pages');
    // a cursor belongs to its filters; a changed one is refused
    const page = (await srv.get('/v2/console/audit?limit=1', con(admin))).json;
    err(await srv.get(`/v2/console/audit?limit=1&user=admin&cursor=${encodeURIComponent(page.cursor)}`, con(admin)), 400, 3, 'foreign cursor');
    err(await srv.get(`/v2/console/audit?limit=1&cursor=${encodeURIComponent(page.cursor.slice(0, -2) + 'AA')}`, con(admin)), 400, 3, 'changed cursor');
  });
});
