// Modules in a real tavern: loading (broken modules refused, the server keeps running), RPC
// over HTTP as Nakama's RpcFuncHttp answers it (JSON-string bodies, ?unwrap, GET, http_key by
// query or Basic, sessions, error shape), before/after hooks on authentication and
// GET /v2/account, and SIGHUP reloads while a call is in flight. The modules come from
// tests/modules and modules/ ($TAVERN_TEST_MODULES, $TAVERN_MODULES, set by meson).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, basic, bearer, decodeJwt, randomId } from '../lib/server.mjs';

const HTTP_KEY = 'defaulthttpkey';
// The server's ABI version as api/tavern/module.h defines it (the minor grows with the table).
const MODULE_H = readFileSync(new URL('../../api/tavern/module.h', import.meta.url), 'utf8');
const ABI = ['MAJOR', 'MINOR'].map((k) => MODULE_H.match(new RegExp(`#define TV_ABI_${k} (\\d+)`))[1]).join('.');
const TEST_MODULES = process.env.TAVERN_TEST_MODULES;
const EXAMPLE_MODULES = process.env.TAVERN_MODULES;
const BROKEN = ['bad_abi', 'bad_magic', 'small_info', 'no_init', 'no_info', 'init_fails', 'zz_dup'];

let srv;
let moduleDir;

function putModule(from, name, as = `${name}.so`) {
  copyFileSync(join(from, `${name}.so`), join(moduleDir, as));
}

before(async () => {
  assert.ok(TEST_MODULES && EXAMPLE_MODULES, 'TAVERN_TEST_MODULES and TAVERN_MODULES are set by meson');
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-modules-'));
  for (const name of ['good', 'late', ...BROKEN]) putModule(TEST_MODULES, name);
  putModule(TEST_MODULES, 'reload_v1', 'reload.so');
  putModule(EXAMPLE_MODULES, 'echo');
  writeFileSync(join(moduleDir, 'README.txt'), 'not a module');
  srv = await startServer(['--module-path', moduleDir]);
});

after(async () => {
  await srv?.stop();
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

/** Resolves once the server's log matches re (polling), or fails after timeoutMs. */
async function waitForLog(re, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (re.test(srv.log)) return;
    await sleep(20);
  }
  assert.fail(`no log line matching ${re} within ${timeoutMs} ms:\n${srv.log}`);
}

/** A fresh device session: {token, uid, usn}. */
async function session(vars) {
  const id = randomId('rpc-', 32);
  const res = await srv.authenticate('device', vars ? { id, vars } : { id });
  assert.equal(res.status, 200, res.text);
  const { payload } = decodeJwt(res.json.token);
  return { token: res.json.token, uid: payload.uid, usn: payload.usn };
}

/** POST /v2/rpc/<id> the way nakama-js sends it: the payload text as a JSON string. */
function rpcPost(id, payloadText, opts = {}) {
  return srv.post(`/v2/rpc/${id}${opts.query ?? ''}`, JSON.stringify(payloadText), opts);
}

function keyQuery(extra = '') {
  return `?http_key=${HTTP_KEY}${extra}`;
}

/** The RPC error shape: {"error":m,"message":m,"code":N} with the HTTP status of N. */
function assertRpcError(res, status, code, message) {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(Object.keys(res.json), ['error', 'message', 'code'], res.text);
  assert.equal(res.json.code, code, res.text);
  assert.equal(res.json.error, res.json.message);
  if (message) assert.equal(res.json.message, message);
}

/** The regular API error shape {"code":N,"message":m}. */
function assertApiError(res, status, code, message) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.code, code, res.text);
  if (message) assert.equal(res.json.message, message);
  assert.equal(res.json.error, undefined);
}

/** Calls whoami and returns its description of the caller. */
async function whoami(path, opts) {
  const res = await srv.request(opts.method ?? 'POST', path, opts);
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.json.payload);
}

// ---------------------------------------------------------------------------------------------

describe('loading', () => {
  test('every broken module is refused with one log line saying why', () => {
    const why = {
      bad_abi: `built for module ABI 99.0; this server speaks ABI ${ABI}`,
      bad_magic: 'wrong magic',
      small_info: 'tavern_module_info is 8 bytes',
      no_init: 'no tavern_module_init symbol',
      no_info: 'no tavern_module_info symbol',
      init_fails: 'tavern_module_init failed (returned 5)',
      zz_dup: "RPC 'testecho' is already registered by module good",
    };
    for (const [name, reason] of Object.entries(why)) {
      const lines = srv.log.split('\n').filter((l) => l.includes(`/${name}.so refused:`));
      assert.equal(lines.length, 1, `${name}: ${srv.log}`);
      assert.ok(lines[0].includes(reason), `${name}: ${lines[0]}`);
    }
    assert.match(srv.log, /generation 1: 4 module\(s\) loaded, 7 refused/);
    assert.match(srv.log, /loaded echo 1\.0\.0 from echo\.so: 1 rpc/);
    assert.ok(!srv.log.includes('README'));
  });

  test('the server keeps serving', async () => {
    assert.equal((await srv.get('/healthcheck')).status, 200);
    assert.ok(srv.alive);
  });

  test('a refused module registers nothing', async () => {
    for (const id of ['init_fails_rpc', 'zz_dup_own'])
      assertRpcError(await rpcPost(id, '', { query: keyQuery() }), 404, 5, 'RPC function not found');
  });
});

describe('RPC over HTTP', () => {
  test('POST with a session: the JSON-string body in, {"payload"} out, no id', async () => {
    const s = await session();
    const payload = JSON.stringify({ hello: 'world', n: 1 });
    const res = await rpcPost('echo', payload, { auth: bearer(s.token) });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { payload });
    assert.match(res.headers.get('content-type'), /application\/json/);
  });

  test('ids are case-insensitive', async () => {
    for (const id of ['testecho', 'TestEcho', 'TESTECHO']) {
      const res = await rpcPost(id, 'x', { query: keyQuery() });
      assert.deepEqual(res.json, { payload: 'x' }, id);
    }
  });

  test('the function sees the session user, vars and expiry', async () => {
    const s = await session({ color: 'red' });
    const who = await whoami('/v2/rpc/WhoAmI?k=v', { body: JSON.stringify('in'), auth: bearer(s.token) });
    assert.equal(who.rpc_id, 'whoami');
    assert.equal(who.user_id, s.uid);
    assert.equal(who.username, s.usn);
    assert.deepEqual(who.vars, [['color', 'red']]);
    assert.ok(who.expiry > Date.now() / 1000);
    assert.equal(who.payload, 'in');
    assert.deepEqual(who.query, [['k', 'v']]);
  });

  test('http_key in the query: no user, and http_key is not among the query parameters', async () => {
    const who = await whoami(`/v2/rpc/whoami${keyQuery('&a=1&a=2')}`, { body: JSON.stringify('') });
    assert.equal(who.user_id, '');
    assert.equal(who.username, '');
    assert.equal(who.expiry, 0);
    assert.deepEqual(who.vars, []);
    assert.deepEqual(who.query, [['a', '1'], ['a', '2']]);
  });

  test('http_key as the Basic user name', async () => {
    const who = await whoami('/v2/rpc/whoami', { body: JSON.stringify(''), auth: basic(HTTP_KEY) });
    assert.equal(who.user_id, '');
  });

  test('without credentials, or with wrong ones: 401', async () => {
    for (const opts of [{}, { auth: basic('wrongkey') }, { auth: bearer('not.a.token') },
      { query: '?http_key=wrong' }, { auth: basic() }]) {
      const res = await rpcPost('echo', 'x', opts);
      assert.equal(res.status, 401, `${JSON.stringify(opts)} -> ${res.text}`);
      assert.equal(res.json.code, 16);
    }
  });

  test('an unknown id is 404 in the RPC error shape, before the body is read', async () => {
    assertRpcError(await rpcPost('nope', 'x', { query: keyQuery() }), 404, 5, 'RPC function not found');
    assertRpcError(await srv.post(`/v2/rpc/nope${keyQuery()}`, '{"not":"a string"}'), 404, 5);
  });

  test('a body that is JSON but not a string, or not JSON: 400', async () => {
    for (const body of ['{"a":1}', '123', 'true', '["x"]', '"unterminated', '"a" "b"', 'nope']) {
      const res = await srv.post(`/v2/rpc/echo${keyQuery()}`, body);
      assertRpcError(res, 400, 3, 'json: cannot unmarshal object into Go value of type string');
    }
  });

  test('an empty body or null is an empty payload; an empty result leaves payload out', async () => {
    for (const body of ['', 'null']) {
      const res = await srv.post(`/v2/rpc/echo${keyQuery()}`, body);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, {}, JSON.stringify(body));
    }
    const res = await srv.post(`/v2/rpc/empty${keyQuery()}`, JSON.stringify('ignored'));
    assert.deepEqual(res.json, {});
  });

  test('escapes survive both ways', async () => {
    const text = 'line\nbreak "quoted" \\ é 😀 \u0000 nul';
    const res = await rpcPost('echo', text, { query: keyQuery() });
    assert.equal(res.json.payload, text);
    const bin = await rpcPost('binary', '', { query: keyQuery() });
    assert.equal(bin.json.payload, 'a\u0000b<>&\ufffd"é');
    assert.ok(bin.text.includes('\\u003c'), bin.text); // Go's HTML-safe escaping
  });

  test('?unwrap: the raw body in, the raw result out', async () => {
    const raw = '{"raw":true,"n":[1,2]}';
    const res = await srv.post(`/v2/rpc/echo${keyQuery('&unwrap')}`, raw);
    assert.equal(res.status, 200);
    assert.equal(res.text, raw);
    const plain = await srv.post(`/v2/rpc/echo${keyQuery('&unwrap=')}`, 'not json at all');
    assert.equal(plain.text, 'not json at all');
  });

  test('GET: the function gets an empty payload, "payload" only among the query parameters', async () => {
    const who = await whoami(`/v2/rpc/whoami${keyQuery('&payload=%22abc%22')}`, { method: 'GET' });
    assert.equal(who.payload, '');
    assert.deepEqual(who.query, [['payload', '"abc"']]);
    const res = await srv.get(`/v2/rpc/echo${keyQuery('&payload=abc')}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, {});
  });

  test('a function error keeps its code (1-16, else 13) and message', async () => {
    const cases = [[3, 400], [5, 404], [7, 403], [16, 401], [13, 500], [14, 503], [99, 500]];
    for (const [code, status] of cases) {
      const res = await rpcPost('fail', String(code), { query: keyQuery() });
      assertRpcError(res, status, code > 16 ? 13 : code, `failed with ${code} as asked`);
    }
  });

  test('registering after init is refused', async () => {
    const res = await rpcPost('late_register', '', { query: keyQuery() });
    assert.equal(res.json.payload, '9'); // FAILED_PRECONDITION
    assert.match(srv.log, /late: RPC registration outside init refused/);
  });

  test('other methods: 501', async () => {
    assert.equal((await srv.put(`/v2/rpc/echo${keyQuery()}`, '""')).status, 501);
  });
});

describe('hooks', () => {
  const custom = (id, query = '') => srv.authenticate('custom', { id }, query);
  const stats = async () => JSON.parse((await rpcPost('hook_stats', '', { query: keyQuery() })).json.payload);

  test('a before hook refuses with its code and message, in the API error shape', async () => {
    const res = await custom(randomId('blocked-', 20));
    assertApiError(res, 403, 7, 'custom id blocked by module');
  });

  test('a before hook rewrites the request', async () => {
    const res = await custom(randomId('rewrite-', 20));
    assert.equal(res.status, 200, res.text);
    const acct = await srv.get('/v2/account', { auth: bearer(res.json.token) });
    assert.equal(acct.status, 200, acct.text);
    assert.match(acct.json.custom_id, /^rewrote-/);
  });

  test('an after hook sees successful calls; its errors are only logged', async () => {
    const before = (await stats()).after_custom;
    assert.equal((await custom(randomId('plain-', 20))).status, 200);
    assert.equal((await custom(randomId('after-fails-', 24))).status, 200);
    assert.equal((await custom('short')).status, 400); // failed calls run no after hook
    assert.equal((await stats()).after_custom, before + 2);
    await waitForLog(/good: after hook AuthenticateCustom failed \(13\): after hook failed/);
  });

  test('GetAccount hooks see the session user and vars', async () => {
    const s = await session();
    const ok = await srv.get('/v2/account', { auth: bearer(s.token) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await stats()).last_user, s.uid);
    const denied = await session({ deny: 'yes' });
    assertApiError(await srv.get('/v2/account', { auth: bearer(denied.token) }), 403, 7, 'denied by module');
  });

  test('hooks reach every API: UpdateAccount and ListMatches refuse the same way', async () => {
    const ok = await session();
    assert.equal((await srv.put('/v2/account', { display_name: 'fine' }, { auth: bearer(ok.token) })).status, 200);
    assert.equal((await srv.get('/v2/match', { auth: bearer(ok.token) })).status, 200);
    const denied = await session({ deny: 'yes' });
    assertApiError(await srv.put('/v2/account', { display_name: 'no' }, { auth: bearer(denied.token) }), 403, 7, 'denied by module');
    assertApiError(await srv.get('/v2/match', { auth: bearer(denied.token) }), 403, 7, 'denied by module');
  });

  test('APIs without hooks are untouched', async () => {
    const res = await srv.authenticate('device', { id: randomId('blocked-', 24) });
    assert.equal(res.status, 200, res.text);
  });
});

describe('SIGHUP reload', () => {
  test('new calls get the new code; a call in flight finishes on the old', async () => {
    const version = async () => (await rpcPost('reload_version', '', { query: keyQuery() })).json.payload;
    assert.equal(await version(), 'v1');
    const inFlight = rpcPost('reload_slow', '1500', { query: keyQuery() });
    await sleep(200);
    // overwrite in place, as cp does: the loaded copy must not notice
    putModule(TEST_MODULES, 'reload_v2', 'reload.so');
    srv.proc.kill('SIGHUP');
    await waitForLog(/generation 2: /);
    assert.equal(await version(), 'v2');
    const old = await inFlight;
    assert.equal(old.status, 200, old.text);
    assert.equal(old.json.payload, 'v1');
    assert.deepEqual((await rpcPost('echo', 'still here', { query: keyQuery() })).json, { payload: 'still here' });
  });

  test('a removed module is gone after the next reload; the server runs on', async () => {
    unlinkSync(join(moduleDir, 'good.so'));
    srv.proc.kill('SIGHUP');
    await waitForLog(/generation 3: /);
    assertRpcError(await rpcPost('whoami', 'x', { query: keyQuery() }), 404, 5);
    // with good.so gone, zz_dup no longer clashes: testecho is now its (empty) function
    assert.match(srv.log, /generation 3: 4 module\(s\) loaded, 6 refused/);
    assert.equal((await rpcPost('zz_dup_own', '', { query: keyQuery() })).status, 200);
    assert.deepEqual((await rpcPost('testecho', 'x', { query: keyQuery() })).json, {});
    // and its hooks are gone too
    assert.equal((await srv.authenticate('custom', { id: randomId('blocked-', 20) })).status, 200);
  });
});
