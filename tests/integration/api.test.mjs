// The REST API, the console login and /ws of a real tavern, over HTTP, raw TCP and WebSocket:
// Nakama's wire format (spec sections 1-3), error cases, hostile input and token forgery.
// Run by meson on SQLite and PostgreSQL; see tests/lib/server.mjs for the environment.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startServer, basic, bearer, decodeJwt, signJwt, randomId, SERVER_KEY,
} from '../lib/server.mjs';
import { wsOpen } from './wsutil.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?Z$/;
const PASSWORD = 'correct horse';

let srv;

before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

// ---------------------------------------------------------------------------------------------
// helpers

/** Every answer carries the CORS origin and no-store caching. */
function commonHeaders(res) {
  assert.equal(res.headers.get('access-control-allow-origin'), '*', 'Access-Control-Allow-Origin');
}

/** A Nakama error: HTTP status, {"code": grpc, "message": "..."}; 401 adds WWW-Authenticate. */
function assertError(res, status, grpc, what = '') {
  const ctx = `${what} -> ${res.status} ${res.text}`;
  assert.equal(res.status, status, ctx);
  assert.ok(res.json && typeof res.json === 'object', `error body is JSON: ${ctx}`);
  assert.equal(res.json.code, grpc, `grpc code: ${ctx}`);
  assert.equal(typeof res.json.message, 'string', `message: ${ctx}`);
  assert.ok(res.json.message.length > 0, `message not empty: ${ctx}`);
  assert.match(res.headers.get('content-type') || '', /application\/json/, ctx);
  if (status === 401) assert.ok(res.headers.get('www-authenticate'), `WWW-Authenticate on 401: ${ctx}`);
  commonHeaders(res);
}

function assertOk(res, what = '') {
  assert.equal(res.status, 200, `${what} -> ${res.status} ${res.text}`);
  commonHeaders(res);
  return res.json;
}

/** Signs up a fresh device account; returns {id, token, refresh, uid, usn, session}. */
async function newDevice(vars, query = '') {
  const id = randomId('dev-', 32);
  const res = await srv.authenticate('device', vars ? { id, vars } : { id }, query);
  const s = assertOk(res, 'device sign-up');
  assert.equal(s.created, true);
  const { payload } = decodeJwt(s.token);
  return { id, token: s.token, refresh: s.refresh_token, uid: payload.uid, usn: payload.usn, session: s };
}

const account = (token) => srv.get('/v2/account', { auth: bearer(token) });

/** Raw TCP: writes `data` (string/Buffer, or an array written with pauses), returns all bytes read until the server closes or `waitMs` passes. */
function rawExchange(data, { waitMs = 2000, pauseMs = 0, port = srv.port } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, srv.host);
    let got = '';
    let closed = false;
    sock.setEncoding('latin1');
    sock.on('data', (d) => { got += d; });
    sock.on('error', () => {});
    sock.on('close', () => { closed = true; clearTimeout(timer); resolve({ got, closed }); });
    const timer = setTimeout(() => { sock.destroy(); resolve({ got, closed }); }, waitMs);
    sock.on('connect', async () => {
      const parts = Array.isArray(data) ? data : [data];
      for (const p of parts) {
        if (sock.destroyed) break;
        sock.write(p);
        if (pauseMs) await sleep(pauseMs);
      }
    });
  });
}

async function stillServing() {
  const res = await srv.get('/healthcheck');
  assert.equal(res.status, 200, 'server still answers /healthcheck');
  assert.ok(srv.alive, 'server process still running');
}

// ---------------------------------------------------------------------------------------------

describe('transport', () => {
  test('GET /healthcheck answers {} without auth', async () => {
    const res = await srv.get('/healthcheck');
    assert.deepEqual(assertOk(res), {});
    assert.match(res.headers.get('content-type'), /application\/json/);
    assert.match(res.headers.get('cache-control') || '', /no-store/);
  });

  test('GET / answers 200', async () => {
    const res = await srv.get('/');
    assert.equal(res.status, 200);
    commonHeaders(res);
  });

  test('HEAD /healthcheck answers 200', async () => {
    const res = await srv.request('HEAD', '/healthcheck');
    assert.equal(res.status, 200);
  });

  test('OPTIONS preflight answers 200 with the CORS headers, on any path', async () => {
    for (const path of ['/v2/account', '/v2/account/authenticate/device?create=true&', '/nowhere']) {
      const res = await srv.request('OPTIONS', path, {
        headers: {
          origin: 'null',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      assert.equal(res.status, 200, path);
      commonHeaders(res);
      const methods = (res.headers.get('access-control-allow-methods') || '').toUpperCase();
      for (const m of ['GET', 'POST', 'PUT', 'DELETE']) assert.ok(methods.includes(m), `${m} in ${methods}`);
      const hdrs = (res.headers.get('access-control-allow-headers') || '').toLowerCase();
      for (const h of ['authorization', 'content-type']) assert.ok(hdrs.includes(h), `${h} in ${hdrs}`);
    }
  });

  test('unknown routes answer 404 with code 5', async () => {
    for (const path of ['/v2/nothing', '/v2/account/authenticate/nothing', '/v2/accounts',
      '/v2/account/', '/healthcheck/x', '/v2', '/v2/account/link/phone']) {
      assertError(await srv.get(path, { auth: basic() }), 404, 5, `GET ${path}`);
    }
    assertError(await srv.post('/v2/whatever', {}), 404, 5, 'POST /v2/whatever');
  });

  test('an encoded NUL in the path does not cut the path short', async () => {
    const u = await newDevice();
    for (const path of ['/%00', '/healthcheck%00.php', '/v2/account%00', '/v2/account%00xyz']) {
      assertError(await srv.get(path, { auth: bearer(u.token) }), 404, 5, `GET ${path}`);
    }
  });

  test('a known path with the wrong method answers 501 with code 12', async () => {
    const cases = [
      ['GET', '/v2/account/authenticate/device'],
      ['PUT', '/v2/account/authenticate/custom'],
      ['POST', '/v2/account'],
      ['PATCH', '/v2/account'],
      ['DELETE', '/v2/user'],
      ['POST', '/healthcheck'],
      ['GET', '/v2/session/logout'],
      ['GET', '/v2/account/link/device'],
    ];
    for (const [m, p] of cases) assertError(await srv.request(m, p, { auth: basic() }), 501, 12, `${m} ${p}`);
  });

  test('a body over 256 KiB answers 400 and the server keeps serving', async () => {
    const big = JSON.stringify({ id: randomId('big-', 20), pad: 'x'.repeat(300 * 1024) });
    assertError(await srv.authenticate('device', big), 400, 3, 'big body');
    const huge = Buffer.alloc(4 * 1024 * 1024, 0x61);
    assertError(await srv.authenticate('device', huge), 400, 3, '4 MiB body');
    await stillServing();
  });

  test('a body just under the limit is read whole (unknown fields ignored)', async () => {
    const id = randomId('pad-', 20);
    const body = JSON.stringify({ id, unknown_field: 'y'.repeat(200 * 1024) });
    const s = assertOk(await srv.authenticate('device', body), '200 KiB body');
    assert.equal(s.created, true);
  });

  test('a hundred parallel requests all succeed', async () => {
    const res = await Promise.all(Array.from({ length: 100 }, () => srv.get('/healthcheck')));
    for (const r of res) assert.equal(r.status, 200);
  });
});

describe('server key (Basic) on /v2/account/authenticate/*', () => {
  const body = () => ({ id: randomId('key-', 20) });

  test('missing Authorization answers 401', async () => {
    assertError(await srv.post('/v2/account/authenticate/device', body()), 401, 16, 'no auth');
  });

  test('wrong, garbled or non-Basic credentials answer 401', async () => {
    const bad = [
      basic('wrongkey'),
      basic(''),
      basic('defaultkeyX'),
      basic('defaultke'),
      'Basic',
      'Basic ',
      'Basic !!!not-base64!!!',
      'Basic ' + Buffer.from('defaultkey').toString('base64'), // no colon
      'Bearer ' + Buffer.from('defaultkey:').toString('base64'),
      'Digest username="defaultkey"',
      'defaultkey',
      'Basic ' + 'A'.repeat(6000),
    ];
    for (const auth of bad) {
      assertError(await srv.post('/v2/account/authenticate/device', body(), { auth }), 401, 16, auth.slice(0, 40));
    }
  });

  test('only the user name of Basic is checked', async () => {
    assertOk(await srv.post('/v2/account/authenticate/device', body(), { auth: basic(SERVER_KEY, 'anything') }));
  });

  test('a session token is not a server key', async () => {
    const u = await newDevice();
    assertError(await srv.post('/v2/account/authenticate/device', body(), { auth: bearer(u.token) }), 401, 16);
    assertError(await srv.post('/v2/account/session/refresh', { token: u.refresh }, { auth: bearer(u.token) }), 401, 16);
  });
});

describe('authenticate/device', () => {
  test('creates an account, then finds it again', async () => {
    const id = randomId('dev-', 40);
    const first = assertOk(await srv.authenticate('device', { id }));
    assert.equal(first.created, true);
    assert.equal(typeof first.token, 'string');
    assert.equal(typeof first.refresh_token, 'string');
    const again = assertOk(await srv.authenticate('device', { id }));
    assert.ok(!Object.hasOwn(again, 'created'), 'created:false is omitted');
    assert.equal(decodeJwt(again.token).payload.uid, decodeJwt(first.token).payload.uid);
    const explicit = assertOk(await srv.authenticate('device', { id }, 'create=true&'));
    assert.equal(decodeJwt(explicit.token).payload.uid, decodeJwt(first.token).payload.uid);
  });

  test('session token: HS256 JWT with tid, uid, usn, vrs, exp, iat in that order', async () => {
    const now = Math.floor(Date.now() / 1000);
    const s = assertOk(await srv.authenticate('device', { id: randomId('jwt-', 20), vars: { k1: 'v1', 'x y': 'ü>?' } }));
    const t = decodeJwt(s.token);
    assert.deepEqual(t.header, { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(Object.keys(t.payload), ['tid', 'uid', 'usn', 'vrs', 'exp', 'iat']);
    assert.match(t.payload.tid, UUID);
    assert.match(t.payload.uid, UUID);
    assert.match(t.payload.usn, /^[a-zA-Z]{10}$/, 'generated username is 10 letters');
    assert.deepEqual(t.payload.vrs, { k1: 'v1', 'x y': 'ü>?' });
    assert.ok(Math.abs(t.payload.iat - now) <= 5, 'iat is now');
    assert.equal(t.payload.exp - t.payload.iat, 7200, 'default session lifetime');
    const r = decodeJwt(s.refresh_token);
    assert.equal(r.header.alg, 'HS256');
    assert.equal(r.payload.tid, t.payload.tid, 'the pair shares tid');
    assert.equal(r.payload.uid, t.payload.uid);
    assert.ok(r.payload.exp - r.payload.iat >= 3600, 'refresh outlives the session');
    assert.notEqual(s.token, s.refresh_token);
  });

  test('claims are encoded so nakama-js 2.8.0 atob() can read them', async () => {
    // 2.8.0 drops "-" and "_" when decoding; the payload segment must not contain them.
    for (let i = 0; i < 5; i++) {
      const vars = { q: '>>>???~~~' + i, u: 'ÿ€😀', k: '\u007f' };
      const s = assertOk(await srv.authenticate('device', { id: randomId('b64-', 20), vars }));
      const payload = s.token.split('.')[1];
      assert.doesNotMatch(payload, /[-_]/, `payload segment ${payload}`);
      const latin1 = Buffer.from(payload, 'base64').toString('latin1');
      assert.deepEqual(JSON.parse(latin1).vrs, vars, 'escaped as \\uXXXX, so Latin-1 reading works');
      assert.doesNotMatch(s.refresh_token.split('.')[1], /[-_]/);
    }
  });

  test('?username names a new account; it is ignored for an existing one', async () => {
    const name = randomId('name', 16);
    const id = randomId('dev-', 20);
    const s = assertOk(await srv.authenticate('device', { id }, `username=${name}&`));
    assert.equal(decodeJwt(s.token).payload.usn, name);
    const again = assertOk(await srv.authenticate('device', { id }, `username=${randomId('other', 16)}`));
    assert.equal(decodeJwt(again.token).payload.usn, name);
  });

  test('a taken username answers 409', async () => {
    const u = await newDevice();
    assertError(await srv.authenticate('device', { id: randomId('dev-', 20) }, `username=${u.usn}`), 409, 6);
  });

  test('a username over 128 bytes answers 400; 128 is fine', async () => {
    assertError(await srv.authenticate('device', { id: randomId('dev-', 20) }, `username=${'u'.repeat(129)}`), 400, 3);
    const name = randomId('', 128);
    const s = assertOk(await srv.authenticate('device', { id: randomId('dev-', 20) }, `username=${name}`));
    assert.equal(decodeJwt(s.token).payload.usn, name);
  });

  test('create takes the boolean spellings of the gateway (strconv.ParseBool)', async () => {
    for (const no of ['false', 'False', 'FALSE', 'f', 'F', '0'])
      assertError(await srv.authenticate('device', { id: randomId('nb-', 20) }, `create=${no}`), 404, 5, `create=${no}`);
    for (const yes of ['true', 'True', 'TRUE', 't', 'T', '1'])
      assert.equal(assertOk(await srv.authenticate('device', { id: randomId('yb-', 20) }, `create=${yes}`), `create=${yes}`).created, true);
    assertError(await srv.authenticate('device', { id: randomId('xb-', 20) }, 'create=maybe'), 400, 3, 'create=maybe');
  });

  test('create=false: unknown device answers 404, a known one logs in', async () => {
    assertError(await srv.authenticate('device', { id: randomId('nope-', 20) }, 'create=false&'), 404, 5);
    const u = await newDevice();
    const s = assertOk(await srv.authenticate('device', { id: u.id }, 'create=false'));
    assert.equal(decodeJwt(s.token).payload.uid, u.uid);
  });

  test('id length: 10 to 128 bytes', async () => {
    assertError(await srv.authenticate('device', { id: 'a'.repeat(9) }), 400, 3, '9 bytes');
    assertError(await srv.authenticate('device', { id: randomId('', 129) }), 400, 3, '129 bytes');
    assertError(await srv.authenticate('device', { id: 'é'.repeat(65) }), 400, 3, '65 chars, 130 bytes');
    assertOk(await srv.authenticate('device', { id: randomId('', 10) }), '10 bytes');
    assertOk(await srv.authenticate('device', { id: randomId('', 128) }), '128 bytes');
  });

  test('missing, empty, whitespace and control characters in ids answer 400', async () => {
    for (const body of [{}, { id: '' }, { vars: {} }, { id: 'has a space ok' }, { id: 'tab\there-xxxx' },
      { id: 'newline\nxxxxx' }, { id: 'nul\u0000xxxxxxx' }, { id: 'del\u007fxxxxxxx' }]) {
      assertError(await srv.authenticate('device', body), 400, 3, JSON.stringify(body));
    }
  });

  // C strings end at NUL: a JSON "\u0000" must not turn "id\u0000junk" into "id".
  test('NUL in a device id answers 400 (it must not log into the id before it)', async () => {
    const victim = await newDevice();
    assertError(await srv.authenticate('device', { id: victim.id + '\u0000attacker' }, 'create=false'), 400, 3, 'create=false');
    assertError(await srv.authenticate('device', { id: victim.id + '\u0000attacker' }), 400, 3, 'create');
    assertError(await srv.authenticate('device', { id: 'abcdefghij\u0000klm' }), 400, 3, '10 bytes before NUL');
  });

  test('NUL in a custom id answers 400', async () => {
    const cid = randomId('cnul', 10);
    assertError(await srv.authenticate('custom', { id: cid + '\u0000zzzz' }), 400, 3, 'custom id');
    assertError(await srv.authenticate('custom', { id: cid }, 'create=false'), 404, 5, 'nothing was created under the cut id');
  });

  test('NUL in a username answers 400', async () => {
    const u = await newDevice();
    assertError(await srv.authenticate('device', { id: randomId('dev-', 20) }, 'username=ab%00cd'), 400, 3, '?username');
    assertError(await srv.put('/v2/account', { username: 'ab\u0000cd' }, { auth: bearer(u.token) }), 400, 3, 'PUT username');
    assert.equal(assertOk(await account(u.token)).user.username, u.usn);
  });

  test('NUL in free text and vars is refused or kept whole', async () => {
    const u = await newDevice();
    const put = await srv.put('/v2/account', { display_name: 'ab\u0000cd' }, { auth: bearer(u.token) });
    if (put.status === 200) assert.equal(assertOk(await account(u.token)).user.display_name, 'ab\u0000cd', 'display_name kept whole');
    else assertError(put, 400, 3, 'display_name with NUL');
    const vars = await srv.authenticate('device', { id: randomId('dev-', 20), vars: { 'k\u0000x': 'v\u0000y' } });
    if (vars.status === 200) assert.deepEqual(decodeJwt(vars.json.token).payload.vrs, { 'k\u0000x': 'v\u0000y' }, 'vars kept whole');
    else assertError(vars, 400, 3, 'vars with NUL');
  });

  test('non-ASCII ids work and are kept exactly', async () => {
    const id = 'ünïcødé-' + randomId('', 12);
    const first = assertOk(await srv.authenticate('device', { id }));
    assert.equal(first.created, true);
    const again = assertOk(await srv.authenticate('device', { id }, 'create=false'));
    assert.equal(decodeJwt(again.token).payload.uid, decodeJwt(first.token).payload.uid);
    assertError(await srv.authenticate('device', { id: id.normalize('NFD') }, 'create=false'), 404, 5, 'another byte string');
  });

  test('bad JSON and wrong types answer 400', async () => {
    const id = randomId('dev-', 20);
    const bodies = [
      '{', '{"id":', 'not json', '{"id":"' + id + '"', '{"id":"' + id + '"}garbage', "{'id':'x'}",
      '[]', '[{"id":"' + id + '"}]', '"' + id + '"', '42', 'null', 'true',
      JSON.stringify({ id: 1234567890123 }), JSON.stringify({ id: [id] }), JSON.stringify({ id: { id } }),
      JSON.stringify({ id: null }), JSON.stringify({ id: true }),
      JSON.stringify({ id, vars: 'x' }), JSON.stringify({ id, vars: ['a'] }),
      JSON.stringify({ id, vars: { a: 1 } }), JSON.stringify({ id, vars: { a: { b: 'c' } } }),
    ];
    for (const b of bodies) assertError(await srv.authenticate('device', b), 400, 3, b);
    // Nothing was created by the attempts above.
    assertError(await srv.authenticate('device', { id }, 'create=false'), 404, 5);
  });

  test('invalid UTF-8 in the body answers 400', async () => {
    const pre = Buffer.from('{"id":"bad-utf8-');
    const post = Buffer.from('-' + randomId('', 8) + '"}');
    for (const bad of [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      const body = Buffer.concat([pre, Buffer.from(bad), post]);
      assertError(await srv.authenticate('device', body), 400, 3, `bytes ${bad}`);
    }
    await stillServing();
  });

  test('lowerCamel and unknown fields are accepted', async () => {
    assertOk(await srv.authenticate('device', { id: randomId('dev-', 20), unknownField: 1, nested: { a: [1, 2] } }));
  });

  test('ten clients signing up the same device at once get one account', async () => {
    const id = randomId('race-', 24);
    const res = await Promise.all(Array.from({ length: 10 }, () => srv.authenticate('device', { id })));
    for (const r of res) assertOk(r, 'racing sign-up');
    const uids = new Set(res.map((r) => decodeJwt(r.json.token).payload.uid));
    assert.equal(uids.size, 1, 'one account');
    assert.equal(res.filter((r) => r.json.created === true).length, 1, 'exactly one answer says created');
  });
});

describe('authenticate/custom', () => {
  test('creates, then finds; 6 to 128 bytes', async () => {
    const id = randomId('c', 6);
    const first = assertOk(await srv.authenticate('custom', { id, vars: { a: 'b' } }));
    assert.equal(first.created, true);
    assert.deepEqual(decodeJwt(first.token).payload.vrs, { a: 'b' });
    const again = assertOk(await srv.authenticate('custom', { id }, 'create=false'));
    assert.ok(!Object.hasOwn(again, 'created'));
    assert.ok(!Object.hasOwn(decodeJwt(again.token).payload, 'vrs'), 'no vars, no vrs claim');
    assert.equal(decodeJwt(again.token).payload.uid, decodeJwt(first.token).payload.uid);
    assertError(await srv.authenticate('custom', { id: 'abcde' }), 400, 3, '5 bytes');
    assertError(await srv.authenticate('custom', { id: randomId('', 129) }), 400, 3, '129 bytes');
    assertOk(await srv.authenticate('custom', { id: randomId('', 128) }), '128 bytes');
    assertError(await srv.authenticate('custom', { id: 'with space' }), 400, 3);
    assertError(await srv.authenticate('custom', {}), 400, 3);
    assertError(await srv.authenticate('custom', { id: randomId('c', 12) }, 'create=false'), 404, 5);
  });

  test('device and custom ids live in separate namespaces', async () => {
    const id = randomId('both-', 20);
    const d = assertOk(await srv.authenticate('device', { id }));
    const c = assertOk(await srv.authenticate('custom', { id }));
    assert.equal(c.created, true);
    assert.notEqual(decodeJwt(c.token).payload.uid, decodeJwt(d.token).payload.uid);
  });

  test('ten clients signing up the same custom id at once get one account', async () => {
    const id = randomId('race-', 24);
    const res = await Promise.all(Array.from({ length: 10 }, () => srv.authenticate('custom', { id })));
    for (const r of res) assertOk(r, 'racing sign-up');
    assert.equal(new Set(res.map((r) => decodeJwt(r.json.token).payload.uid)).size, 1);
    assert.equal(res.filter((r) => r.json.created === true).length, 1);
  });
});

describe('authenticate/email', () => {
  const email = `Mixed.Case+${randomId('', 8)}@Example.COM`;
  let uid;

  test('creates an account; the address is case-insensitive', async () => {
    const s = assertOk(await srv.authenticate('email', { email, password: PASSWORD, vars: { v: '1' } }));
    assert.equal(s.created, true);
    uid = decodeJwt(s.token).payload.uid;
    const again = assertOk(await srv.authenticate('email', { email: email.toLowerCase(), password: PASSWORD }, 'create=false'));
    assert.ok(!Object.hasOwn(again, 'created'));
    assert.equal(decodeJwt(again.token).payload.uid, uid);
    const acc = assertOk(await account(again.token));
    assert.equal(acc.email, email.toLowerCase(), 'stored lowercased');
  });

  test('a wrong password answers 401', async () => {
    assertError(await srv.authenticate('email', { email, password: PASSWORD + 'x' }), 401, 16);
    assertError(await srv.authenticate('email', { email, password: PASSWORD + 'x' }, 'create=false'), 401, 16);
  });

  test('?username with no email logs in by user name', async () => {
    const name = randomId('mail', 14);
    const e2 = `${randomId('', 10)}@example.org`;
    const s = assertOk(await srv.authenticate('email', { email: e2, password: PASSWORD }, `username=${name}`));
    const byName = assertOk(await srv.authenticate('email', { password: PASSWORD }, `username=${name}&create=false`));
    assert.equal(decodeJwt(byName.token).payload.uid, decodeJwt(s.token).payload.uid);
  });

  test('create=false with an unknown address answers 404', async () => {
    assertError(await srv.authenticate('email', { email: `nobody-${randomId('', 8)}@example.com`, password: PASSWORD }, 'create=false'), 404, 5);
  });

  test('address and password rules answer 400', async () => {
    const bad = [
      { email: 'a@b.c', password: PASSWORD }, // < 10 bytes
      { email: 'no-at-sign.example.com', password: PASSWORD },
      { email: 'nodot@examplecom', password: PASSWORD },
      { email: '@example.com', password: PASSWORD },
      { email: 'x'.repeat(250) + '@a.com', password: PASSWORD }, // 256 bytes
      { email: `short-${randomId('', 6)}@example.com`, password: 'seven77' },
      { email: `nopass-${randomId('', 6)}@example.com` },
      { email: `nopass-${randomId('', 6)}@example.com`, password: '' },
      { password: PASSWORD },
      {},
      { email: 12345678901, password: PASSWORD },
      { email: `types-${randomId('', 6)}@example.com`, password: 12345678 },
    ];
    for (const b of bad) assertError(await srv.authenticate('email', b), 400, 3, JSON.stringify(b).slice(0, 80));
  });

  test('a password with NUL is refused or kept whole', async () => {
    const e = `pwnul-${randomId('', 8)}@example.com`;
    const res = await srv.authenticate('email', { email: e, password: '12345678\u0000secret-part' });
    if (res.status !== 200) return assertError(res, 400, 3, 'password with NUL');
    assertError(await srv.authenticate('email', { email: e, password: '12345678' }, 'create=false'), 401, 16, 'the part before NUL alone');
    assertError(await srv.authenticate('email', { email: e, password: '12345678\u0000other' }, 'create=false'), 401, 16, 'another tail');
  });

  test('an address with NUL answers 400', async () => {
    const e = `emnul-${randomId('', 8)}@example.com`;
    assertError(await srv.authenticate('email', { email: `${e}\u0000.evil`, password: PASSWORD }), 400, 3);
    assertError(await srv.authenticate('email', { email: e, password: PASSWORD }, 'create=false'), 404, 5, 'nothing created under the cut address');
  });

  test('a username taken by another account answers 409', async () => {
    const u = await newDevice();
    assertError(await srv.authenticate('email', { email: `taken-${randomId('', 8)}@example.com`, password: PASSWORD }, `username=${u.usn}`), 409, 6);
  });

  test('three clients signing up the same address at once get one account', async () => {
    const e = `race-${randomId('', 8)}@example.com`;
    const res = await Promise.all(Array.from({ length: 3 }, () => srv.authenticate('email', { email: e, password: PASSWORD })));
    for (const r of res) assertOk(r, 'racing email sign-up');
    assert.equal(new Set(res.map((r) => decodeJwt(r.json.token).payload.uid)).size, 1);
    assert.equal(res.filter((r) => r.json.created === true).length, 1);
  });
});

describe('session refresh and logout', () => {
  test('refresh returns a new pair with the same tid and iat, and keeps vars', async () => {
    const u = await newDevice({ a: '1' });
    await sleep(1100);
    const res = await srv.post('/v2/account/session/refresh', { token: u.refresh, vars: {} }, { auth: basic() });
    const s = assertOk(res, 'refresh');
    assert.notEqual(s.token, u.token, 'a new token');
    const before = decodeJwt(u.token).payload;
    const now = decodeJwt(s.token).payload;
    assert.equal(now.tid, before.tid);
    assert.equal(now.iat, before.iat);
    assert.equal(now.uid, before.uid);
    assert.ok(now.exp > before.exp, 'new exp');
    assert.deepEqual(now.vrs, { a: '1' }, '{} counts as not sent: old vars kept');
    assertOk(await account(s.token), 'new token works');
    assertOk(await account(u.token), 'old token still works until it expires');

    const s2 = assertOk(await srv.post('/v2/account/session/refresh', { token: s.refresh_token, vars: { b: '2' } }, { auth: basic() }));
    assert.deepEqual(decodeJwt(s2.token).payload.vrs, { b: '2' }, 'sent vars replace the old');
    const s3 = assertOk(await srv.post('/v2/account/session/refresh', { token: s2.refresh_token }, { auth: basic() }));
    assert.deepEqual(decodeJwt(s3.token).payload.vrs, { b: '2' });
  });

  test('bad refresh tokens answer 401', async () => {
    const u = await newDevice();
    const [h, p, sig] = u.refresh.split('.');
    const bad = [
      'garbage', 'a.b.c', u.token /* a session token is signed with the other key */,
      `${h}.${p}.${sig.slice(0, -2)}${sig.slice(-2) === 'AA' ? 'BB' : 'AA'}`,
      `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(u.refresh).payload, uid: '00000000-0000-4000-8000-000000000000' })).toString('base64url')}.${sig}`,
      signJwt({ alg: 'none', typ: 'JWT' }, decodeJwt(u.refresh).payload),
    ];
    for (const token of bad) {
      assertError(await srv.post('/v2/account/session/refresh', { token }, { auth: basic() }), 401, 16, token.slice(0, 30));
    }
    assertError(await srv.post('/v2/account/session/refresh', { token: u.refresh }), 401, 16, 'no server key');
    assertError(await srv.post('/v2/account/session/refresh', { token: u.refresh }, { auth: basic('nope') }), 401, 16, 'wrong server key');
  });

  test('refresh input errors answer 400', async () => {
    for (const b of ['{', '[]', JSON.stringify({ token: 42 }), JSON.stringify({ token: ['x'] })]) {
      assertError(await srv.post('/v2/account/session/refresh', b, { auth: basic() }), 400, 3, b);
    }
    const missing = await srv.post('/v2/account/session/refresh', {}, { auth: basic() });
    assert.ok([400, 401].includes(missing.status), `no token -> ${missing.status}`);
  });

  test('refresh of a deleted account answers 404 (or 401)', async () => {
    const u = await newDevice();
    assertOk(await srv.del('/v2/account', { auth: bearer(u.token) }));
    const res = await srv.post('/v2/account/session/refresh', { token: u.refresh }, { auth: basic() });
    assert.ok([401, 404].includes(res.status), `-> ${res.status} ${res.text}`);
  });

  test('logout revokes that pair only', async () => {
    const u = await newDevice();
    const other = assertOk(await srv.authenticate('device', { id: u.id }));
    const res = await srv.post('/v2/session/logout', { token: u.token, refresh_token: u.refresh }, { auth: bearer(u.token) });
    assert.deepEqual(assertOk(res, 'logout'), {});
    assertError(await account(u.token), 401, 16, 'session token after logout');
    assertError(await srv.post('/v2/account/session/refresh', { token: u.refresh }, { auth: basic() }), 401, 16, 'refresh token after logout');
    assertOk(await account(other.token), 'another session of the same user');
    assertOk(await srv.post('/v2/account/session/refresh', { token: other.refresh_token }, { auth: basic() }));
    const ws = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
    assert.equal(ws.status, 401, '/ws refuses the revoked token');
  });

  test('logout of one token revokes the refreshed sibling too (shared tid)', async () => {
    const u = await newDevice();
    await sleep(1100);
    const s = assertOk(await srv.post('/v2/account/session/refresh', { token: u.refresh }, { auth: basic() }));
    assertOk(await srv.post('/v2/session/logout', { token: s.token, refresh_token: s.refresh_token }, { auth: bearer(s.token) }));
    assertError(await account(s.token), 401, 16);
    assertError(await account(u.token), 401, 16, 'same tid');
  });

  test('logout with both tokens empty logs out everywhere', async () => {
    const u = await newDevice();
    const second = assertOk(await srv.authenticate('device', { id: u.id }));
    const bystander = await newDevice();
    await sleep(1100); // revocation is by issue time in whole seconds
    assertOk(await srv.post('/v2/session/logout', {}, { auth: bearer(u.token) }));
    assertError(await account(u.token), 401, 16);
    assertError(await account(second.token), 401, 16);
    assertError(await srv.post('/v2/account/session/refresh', { token: second.refresh_token }, { auth: basic() }), 401, 16);
    assertOk(await account(bystander.token), 'other users are not affected');
    const fresh = assertOk(await srv.authenticate('device', { id: u.id }));
    assertOk(await account(fresh.token), 'a session issued after logout-all works');
  });

  test("logout with another user's token answers 400", async () => {
    const a = await newDevice();
    const b = await newDevice();
    assertError(await srv.post('/v2/session/logout', { token: b.token }, { auth: bearer(a.token) }), 400, 3);
    assertError(await srv.post('/v2/session/logout', { refresh_token: b.refresh }, { auth: bearer(a.token) }), 400, 3);
    assertOk(await account(b.token), 'b still logged in');
  });

  test('logout needs a bearer token', async () => {
    assertError(await srv.post('/v2/session/logout', {}), 401, 16);
    assertError(await srv.post('/v2/session/logout', {}, { auth: basic() }), 401, 16);
  });
});

describe('bearer tokens', () => {
  let u;
  let key;
  before(async () => {
    u = await newDevice();
    key = srv.sessionSecret();
  });
  const claims = (over = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return { tid: '11111111-2222-4333-8444-555555555555', uid: u.uid, usn: u.usn, exp: now + 600, iat: now, ...over };
  };

  test('sanity: a token signed here with the server key is accepted', async () => {
    const acc = assertOk(await account(signJwt({ alg: 'HS256', typ: 'JWT' }, claims(), key)));
    assert.equal(acc.user.id, u.uid);
  });

  test('forged, tampered, expired and wrongly signed tokens answer 401', async () => {
    const [h, p, sig] = u.token.split('.');
    const flip = (s) => s.slice(0, 5) + (s[5] === 'A' ? 'B' : 'A') + s.slice(6);
    const now = Math.floor(Date.now() / 1000);
    const bad = {
      'tampered payload': `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(u.token).payload, usn: 'admin' })).toString('base64url')}.${sig}`,
      'tampered signature': `${h}.${p}.${flip(sig)}`,
      'no signature': `${h}.${p}.`,
      'two parts': `${h}.${p}`,
      'four parts': `${u.token}.${sig}`,
      'wrong key': signJwt({ alg: 'HS256', typ: 'JWT' }, claims(), 'not-the-key-not-the-key-not-the-key'),
      'alg none': signJwt({ alg: 'none', typ: 'JWT' }, claims()),
      'alg none, real signature': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.${sig}`,
      'HS384 with the right key': signJwt({ alg: 'HS384', typ: 'JWT' }, claims(), key),
      'HS512 with the right key': signJwt({ alg: 'HS512', typ: 'JWT' }, claims(), key),
      'expired': signJwt({ alg: 'HS256', typ: 'JWT' }, claims({ exp: now - 5, iat: now - 100 }), key),
      'no exp': signJwt({ alg: 'HS256', typ: 'JWT' }, (({ exp, ...c }) => c)(claims()), key),
      'exp as string': signJwt({ alg: 'HS256', typ: 'JWT' }, claims({ exp: String(now + 600) }), key),
      'uid not a uuid': signJwt({ alg: 'HS256', typ: 'JWT' }, claims({ uid: 'not-a-uuid' }), key),
      'no uid': signJwt({ alg: 'HS256', typ: 'JWT' }, (({ uid, ...c }) => c)(claims()), key),
      'refresh token as session token': u.refresh,
      'signed with the refresh key': signJwt({ alg: 'HS256', typ: 'JWT' }, claims(), srv.refreshSecret()),
      'payload not JSON': `${h}.${Buffer.from('not json').toString('base64url')}.${sig}`,
      'header not JSON': `${Buffer.from('{').toString('base64url')}.${p}.${sig}`,
      'garbage': 'garbage',
      'dots': '...',
      'huge': 'a'.repeat(7000),
    };
    for (const [what, token] of Object.entries(bad)) assertError(await account(token), 401, 16, what);
    // The spec's token with the expiry in the past but a future iat must not be accepted either.
    assertError(await account(signJwt({ alg: 'HS256', typ: 'JWT' }, claims({ exp: now - 1, iat: now + 100 }), key)), 401, 16);
  });

  test('missing or garbled Authorization headers answer 401', async () => {
    const bad = ['', 'Bearer', 'Bearer ', 'Bearer  ' + u.token + 'x', 'Token ' + u.token, basic(), u.token,
      'Bearer ' + u.token + ' extra', 'Bearer\t', 'Basic ' + u.token];
    for (const auth of bad) {
      const res = await srv.get('/v2/account', { headers: auth === '' ? {} : { authorization: auth } });
      assertError(res, 401, 16, JSON.stringify(auth.slice(0, 30)));
    }
  });

  test('a validly signed token for a user that does not exist gets 401 or 404, never 409/5xx', async () => {
    const ghost = bearer(signJwt({ alg: 'HS256', typ: 'JWT' }, claims({ uid: '6f0a4b3c-1d2e-4f50-8a6b-7c8d9e0f1a2b' }), key));
    const calls = {
      'GET /v2/account': () => srv.get('/v2/account', { auth: ghost }),
      'PUT /v2/account': () => srv.put('/v2/account', { display_name: 'x' }, { auth: ghost }),
      'link device': () => srv.post('/v2/account/link/device', { id: randomId('ghost-', 20) }, { auth: ghost }),
      'link custom': () => srv.post('/v2/account/link/custom', { id: randomId('ghost-', 20) }, { auth: ghost }),
      'link email': () => srv.post('/v2/account/link/email', { email: `ghost-${randomId('', 8)}@example.com`, password: PASSWORD }, { auth: ghost }),
    };
    for (const [what, call] of Object.entries(calls)) {
      const res = await call();
      assert.ok([401, 404].includes(res.status), `${what} -> ${res.status} ${res.text}`);
      assertError(res, res.status, res.status === 401 ? 16 : 5, what);
    }
  });
});

describe('account', () => {
  test('GET /v2/account: the Account object', async () => {
    const u = await newDevice({ x: 'y' });
    const acc = assertOk(await account(u.token));
    assert.equal(acc.user.id, u.uid);
    assert.equal(acc.user.username, u.usn);
    assert.equal(acc.user.lang_tag, 'en');
    assert.equal(acc.user.metadata, '{}');
    assert.match(acc.user.create_time, RFC3339);
    assert.match(acc.user.update_time, RFC3339);
    assert.equal(acc.wallet, '{}');
    assert.deepEqual(acc.devices.map((d) => d.id), [u.id]);
    for (const absent of ['email', 'custom_id', 'verify_time', 'disable_time'])
      assert.ok(!Object.hasOwn(acc, absent), `${absent} omitted when empty`);
    for (const absent of ['display_name', 'avatar_url', 'location', 'timezone', 'online', 'edge_count', 'facebook_id', 'steam_id'])
      assert.ok(!Object.hasOwn(acc.user, absent), `user.${absent} omitted when empty`);
    for (const [k, v] of Object.entries(acc.user)) assert.ok(v !== null && v !== '' && v !== false && v !== 0, `user.${k} = ${JSON.stringify(v)}`);
  });

  test('an email-only account has no devices field', async () => {
    const s = assertOk(await srv.authenticate('email', { email: `nodev-${randomId('', 8)}@example.com`, password: PASSWORD }));
    const acc = assertOk(await account(s.token));
    assert.ok(!Object.hasOwn(acc, 'devices'), 'empty devices omitted');
    assert.match(acc.email, /^nodev-/);
  });

  test('GET /v2/account needs a bearer token', async () => {
    assertError(await srv.get('/v2/account'), 401, 16);
    assertError(await srv.get('/v2/account', { auth: basic() }), 401, 16);
  });

  test('PUT /v2/account updates the profile', async () => {
    const u = await newDevice();
    const name = randomId('renamed', 16);
    const upd = { username: name, display_name: 'Dïsplay <b>', avatar_url: 'https://example.com/a.png', lang_tag: 'fr', location: 'Paris', timezone: 'Europe/Paris' };
    assert.deepEqual(assertOk(await srv.put('/v2/account', upd, { auth: bearer(u.token) })), {});
    const acc = assertOk(await account(u.token));
    for (const [k, v] of Object.entries(upd)) assert.equal(acc.user[k], v, k);
    // Sending nothing changes nothing; lowerCamel is accepted in.
    assertOk(await srv.put('/v2/account', {}, { auth: bearer(u.token) }));
    assertOk(await srv.put('/v2/account', { displayName: 'camel' }, { auth: bearer(u.token) }));
    const acc2 = assertOk(await account(u.token));
    assert.equal(acc2.user.username, name);
    assert.equal(acc2.user.display_name, 'camel');
    assert.equal(acc2.user.location, 'Paris');
    // Users can find the new name.
    const found = assertOk(await srv.get(`/v2/user?usernames=${name}&`, { auth: bearer(u.token) }));
    assert.equal(found.users[0].id, u.uid);
  });

  test('PUT /v2/account errors', async () => {
    const a = await newDevice();
    const b = await newDevice();
    assertError(await srv.put('/v2/account', { username: b.usn }, { auth: bearer(a.token) }), 409, 6, 'taken');
    assertError(await srv.put('/v2/account', { username: 'n'.repeat(129) }, { auth: bearer(a.token) }), 400, 3, 'too long');
    assertError(await srv.put('/v2/account', { display_name: 5 }, { auth: bearer(a.token) }), 400, 3, 'wrong type');
    assertError(await srv.put('/v2/account', '{"username":', { auth: bearer(a.token) }), 400, 3, 'bad JSON');
    assertError(await srv.put('/v2/account', '[1]', { auth: bearer(a.token) }), 400, 3, 'not an object');
    assertError(await srv.put('/v2/account', { username: 'x' }), 401, 16, 'no auth');
    assert.equal(assertOk(await account(a.token)).user.username, a.usn, 'nothing changed');
  });

  test('DELETE /v2/account removes the user and its sessions', async () => {
    const u = await newDevice();
    const peer = await newDevice();
    assert.deepEqual(assertOk(await srv.del('/v2/account', { auth: bearer(u.token) })), {});
    const res = await account(u.token);
    assert.ok([401, 404].includes(res.status), `GET after delete -> ${res.status} ${res.text}`);
    const users = assertOk(await srv.get(`/v2/user?ids=${u.uid}`, { auth: bearer(peer.token) }));
    assert.ok(!users.users, 'the user is gone');
    const again = assertOk(await srv.authenticate('device', { id: u.id }));
    assert.equal(again.created, true, 'the device id is free again');
    assert.notEqual(decodeJwt(again.token).payload.uid, u.uid);
  });
});

describe('GET /v2/user', () => {
  test('by ids and usernames, deduplicated, public fields only', async () => {
    const a = await newDevice();
    const b = await newDevice();
    const res = assertOk(await srv.get(`/v2/user?ids=${a.uid}&ids=${b.uid}&usernames=${a.usn}&usernames=nosuchuser12345&`, { auth: bearer(a.token) }));
    assert.deepEqual(res.users.map((x) => x.id).sort(), [a.uid, b.uid].sort());
    for (const user of res.users) {
      for (const hidden of ['email', 'devices', 'custom_id', 'wallet']) assert.ok(!Object.hasOwn(user, hidden), hidden);
      assert.match(user.create_time, RFC3339);
    }
    const byName = assertOk(await srv.get(`/v2/user?usernames=${b.usn}`, { auth: bearer(a.token) }));
    assert.equal(byName.users.length, 1);
    assert.equal(byName.users[0].username, b.usn);
  });

  test('no match and no parameters give {}', async () => {
    const a = await newDevice();
    assert.deepEqual(assertOk(await srv.get('/v2/user?', { auth: bearer(a.token) })), {});
    assert.deepEqual(assertOk(await srv.get('/v2/user?ids=00000000-0000-4000-8000-000000000001', { auth: bearer(a.token) })), {});
  });

  test('an id that is not a UUID answers 400', async () => {
    const a = await newDevice();
    assertError(await srv.get('/v2/user?ids=not-a-uuid', { auth: bearer(a.token) }), 400, 3);
    assertError(await srv.get("/v2/user?ids=1'%20OR%20'1'='1", { auth: bearer(a.token) }), 400, 3);
  });

  test('needs a bearer token', async () => {
    assertError(await srv.get('/v2/user?ids=00000000-0000-4000-8000-000000000001'), 401, 16);
  });
});

describe('link and unlink', () => {
  test('device: link, log in with it, unlink', async () => {
    const u = await newDevice();
    const extra = randomId('extra-', 20);
    assert.deepEqual(assertOk(await srv.post('/v2/account/link/device', { id: extra }, { auth: bearer(u.token) })), {});
    const s = assertOk(await srv.authenticate('device', { id: extra }, 'create=false'));
    assert.equal(decodeJwt(s.token).payload.uid, u.uid);
    assert.deepEqual(assertOk(await account(u.token)).devices.map((d) => d.id).sort(), [u.id, extra].sort());
    assert.deepEqual(assertOk(await srv.post('/v2/account/unlink/device', { id: extra }, { auth: bearer(u.token) })), {});
    assertError(await srv.authenticate('device', { id: extra }, 'create=false'), 404, 5);
    assert.deepEqual(assertOk(await account(u.token)).devices.map((d) => d.id), [u.id]);
  });

  test('linking an id owned by someone else answers 409', async () => {
    const a = await newDevice();
    const b = await newDevice();
    assertError(await srv.post('/v2/account/link/device', { id: b.id }, { auth: bearer(a.token) }), 409, 6, 'device');
    const cid = randomId('cust-', 16);
    assertOk(await srv.authenticate('custom', { id: cid }));
    assertError(await srv.post('/v2/account/link/custom', { id: cid }, { auth: bearer(a.token) }), 409, 6, 'custom');
    assertOk(await srv.authenticate('device', { id: b.id }, 'create=false'), 'b keeps its device');
  });

  test('custom: link, log in, unlink; a second custom id replaces or conflicts', async () => {
    const u = await newDevice();
    const cid = randomId('cust-', 16);
    assertOk(await srv.post('/v2/account/link/custom', { id: cid }, { auth: bearer(u.token) }));
    assert.equal(assertOk(await account(u.token)).custom_id, cid);
    const s = assertOk(await srv.authenticate('custom', { id: cid }, 'create=false'));
    assert.equal(decodeJwt(s.token).payload.uid, u.uid);
    assertOk(await srv.post('/v2/account/unlink/custom', { id: cid }, { auth: bearer(u.token) }));
    assert.ok(!Object.hasOwn(assertOk(await account(u.token)), 'custom_id'));
    assertError(await srv.authenticate('custom', { id: cid }, 'create=false'), 404, 5);
  });

  test('email: link, log in with it, unlink', async () => {
    const u = await newDevice();
    const email = `Link-${randomId('', 8)}@Example.com`;
    assertOk(await srv.post('/v2/account/link/email', { email, password: PASSWORD }, { auth: bearer(u.token) }));
    assert.equal(assertOk(await account(u.token)).email, email.toLowerCase());
    const s = assertOk(await srv.authenticate('email', { email, password: PASSWORD }, 'create=false'));
    assert.equal(decodeJwt(s.token).payload.uid, u.uid);
    const other = await newDevice();
    assertError(await srv.post('/v2/account/link/email', { email, password: PASSWORD }, { auth: bearer(other.token) }), 409, 6, 'email in use');
    assertOk(await srv.post('/v2/account/unlink/email', { email, password: PASSWORD }, { auth: bearer(u.token) }));
    assert.ok(!Object.hasOwn(assertOk(await account(u.token)), 'email'));
    assertError(await srv.authenticate('email', { email, password: PASSWORD }, 'create=false'), 404, 5);
  });

  test('unlinking the last identifier answers 403', async () => {
    const u = await newDevice();
    assertError(await srv.post('/v2/account/unlink/device', { id: u.id }, { auth: bearer(u.token) }), 403, 7, 'last device');
    assertOk(await srv.authenticate('device', { id: u.id }, 'create=false'), 'still linked');
    const c = assertOk(await srv.authenticate('custom', { id: randomId('only-', 16) }));
    const cid = assertOk(await account(c.token)).custom_id;
    assertError(await srv.post('/v2/account/unlink/custom', { id: cid }, { auth: bearer(c.token) }), 403, 7, 'last custom id');
    // With a second identifier, the first can go; then the second is the last.
    assertOk(await srv.post('/v2/account/link/custom', { id: randomId('cust-', 16) }, { auth: bearer(u.token) }));
    assertOk(await srv.post('/v2/account/unlink/device', { id: u.id }, { auth: bearer(u.token) }));
    const cid2 = assertOk(await account(u.token)).custom_id;
    assertError(await srv.post('/v2/account/unlink/custom', { id: cid2 }, { auth: bearer(u.token) }), 403, 7);
  });

  test('bad input answers 400 and needs a bearer token', async () => {
    const u = await newDevice();
    for (const [kind, body] of [['device', { id: 'short' }], ['device', {}], ['device', { id: 5 }],
      ['custom', { id: 'abc' }], ['email', { email: 'bad', password: PASSWORD }],
      ['email', { email: `ok-${randomId('', 6)}@example.com`, password: 'short' }]]) {
      assertError(await srv.post(`/v2/account/link/${kind}`, body, { auth: bearer(u.token) }), 400, 3, `link ${kind} ${JSON.stringify(body)}`);
    }
    assertError(await srv.post('/v2/account/link/device', '{oops', { auth: bearer(u.token) }), 400, 3);
    for (const kind of ['device', 'custom', 'email']) {
      assertError(await srv.post(`/v2/account/link/${kind}`, { id: randomId('x', 20) }), 401, 16, `link ${kind} without auth`);
      assertError(await srv.post(`/v2/account/unlink/${kind}`, { id: randomId('x', 20) }, { auth: basic() }), 401, 16, `unlink ${kind} with the server key`);
    }
  });
});

describe('console', () => {
  test('POST /v2/console/authenticate with the console credentials', async () => {
    const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
    const body = assertOk(res);
    assert.equal(typeof body.token, 'string');
    assert.equal(body.token.split('.').length, 3);
    // A console token is no API session.
    assertError(await account(body.token), 401, 16, 'console token on the API');
  });

  test('wrong console credentials answer 401', async () => {
    for (const b of [{ username: 'admin', password: 'wrong' }, { username: 'root', password: 'password' },
      { username: 'admin', password: '' }, { username: 'Admin', password: 'password' }]) {
      const res = await srv.post('/v2/console/authenticate', b, { consolePort: true });
      assertError(res, 401, 16, JSON.stringify(b));
    }
    const bad = await srv.post('/v2/console/authenticate', '{', { consolePort: true });
    assert.ok([400, 401].includes(bad.status), `bad JSON -> ${bad.status}`);
  });

  test('the console port does not serve the game API', async () => {
    const u = await newDevice();
    const res = await srv.get('/v2/account', { auth: bearer(u.token), consolePort: true });
    assert.equal(res.status, 404);
    const r2 = await srv.post('/v2/account/authenticate/device', { id: randomId('dev-', 20) }, { auth: basic(), consolePort: true });
    assert.equal(r2.status, 404);
  });

  test('the API port does not serve the console login', async () => {
    const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' });
    assert.equal(res.status, 404);
  });
});

describe('raw TCP', () => {
  test('junk bytes get an error or a close, and the server keeps serving', async () => {
    const junk = [
      Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]),
      'HELLO WORLD\r\n\r\n',
      'GET\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      'GET /healthcheck HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      'POST /v2/account/authenticate/device HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
      'POST /v2/account/authenticate/device HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'GET /ws?token=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n',
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + 'x'.repeat(100), // a TLS ClientHello
      'GET /' + 'a'.repeat(20000) + ' HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'b'.repeat(100000) + '\r\n\r\n',
    ];
    for (const j of junk) {
      const r = await rawExchange(j, { waitMs: 1500 });
      if (r.got) assert.match(r.got, /^HTTP\/1\.[01] [45]\d\d /, `answer to junk ${JSON.stringify(String(j).slice(0, 40))}: ${r.got.slice(0, 80)}`);
      await stillServing();
    }
  });

  test('a slow request head still gets its answer', async () => {
    const head = 'GET /healthcheck HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
    const parts = head.match(/.{1,7}/gs);
    const r = await rawExchange(parts, { pauseMs: 50, waitMs: 8000 });
    assert.match(r.got, /^HTTP\/1\.1 200 /);
    assert.match(r.got, /\r\n\r\n\{\}$/);
  });

  test('a slow /ws upgrade head still upgrades', async () => {
    const u = await newDevice();
    const head = `GET /ws?token=${u.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    const parts = head.match(/.{1,40}/gs);
    const r = await rawExchange(parts, { pauseMs: 60, waitMs: 4000 });
    assert.match(r.got, /^HTTP\/1\.1 101 /);
    assert.match(r.got, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  });

  test('idle and incomplete connections do not block other clients', async () => {
    const socks = [];
    const open = (data) => new Promise((resolve) => {
      const s = net.connect(srv.port, srv.host, () => { if (data) s.write(data); resolve(s); });
      s.on('error', () => {});
      socks.push(s);
    });
    try {
      for (let i = 0; i < 30; i++) await open(null); // silent
      for (let i = 0; i < 30; i++) await open('GET /healthcheck HTTP/1.1\r\nHost: x\r\n'); // head never ends
      for (let i = 0; i < 30; i++) await open('GET /ws?token=abc HTTP/1.1\r\nHost: x\r\nUpg'); // ws head never ends
      for (let i = 0; i < 10; i++) await open('POST /v2/account/authenticate/device HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"id":'); // body never ends
      const t0 = Date.now();
      await stillServing();
      const u = await newDevice();
      assertOk(await account(u.token));
      const ws = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
      assert.ok(ws.ws, 'ws upgrade works alongside');
      ws.inbox.send({ cid: '1', ping: {} });
      assert.deepEqual(await ws.inbox.next(), { cid: '1', pong: {} });
      ws.ws.close();
      assert.ok(Date.now() - t0 < 5000, 'answers came promptly');
    } finally {
      for (const s of socks) s.destroy();
    }
  });

  test('a silent connection is closed by the server within ~10 s', async () => {
    const t0 = Date.now();
    const r = await rawExchange(Buffer.alloc(0), { waitMs: 15000 });
    assert.ok(r.closed, 'the server closed the idle socket');
    assert.ok(Date.now() - t0 >= 1000, 'not at once');
  });

  test('keep-alive and pipelined requests are answered in order', async () => {
    const req = 'GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n';
    const last = 'GET /v2/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const r = await rawExchange(req + req + last, { waitMs: 3000 });
    const statuses = [...r.got.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200', '404']);
  });

  test('a chunked request body is read', async () => {
    const body = JSON.stringify({ id: randomId('chunked-', 24) });
    const chunked = `${(10).toString(16)}\r\n${body.slice(0, 10)}\r\n${(body.length - 10).toString(16)}\r\n${body.slice(10)}\r\n0\r\n\r\n`;
    const r = await rawExchange(`POST /v2/account/authenticate/device HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic()}\r\n` +
      `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`, { waitMs: 5000 });
    assert.match(r.got, /^HTTP\/1\.1 200 /);
    assert.match(r.got, /"created":true/);
  });

  test('an oversized chunked body answers 400', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const parts = [`POST /v2/account/authenticate/device HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`];
    for (let i = 0; i < 6; i++) parts.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    parts.push('0\r\n\r\n');
    const r = await rawExchange(parts, { waitMs: 5000 });
    assert.match(r.got, /^HTTP\/1\.1 400 /);
    await stillServing();
  });

  test('a client that disconnects mid-request does not hurt the server', async () => {
    for (let i = 0; i < 20; i++) {
      const s = net.connect(srv.port, srv.host);
      s.on('error', () => {});
      await new Promise((r) => s.on('connect', r));
      s.write(`POST /v2/account/authenticate/device HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic()}\r\nContent-Length: 60\r\n\r\n{"id":"${randomId('gone-', 20)}"}` + ' '.repeat(60 - 29));
      s.destroy(); // gone before the answer
    }
    await sleep(300);
    await stillServing();
  });
});

describe('WebSocket /ws', () => {
  let u;
  before(async () => { u = await newDevice(); });

  test('a missing or bad token answers HTTP 401 before the upgrade', async () => {
    for (const q of ['', 'token=', 'token=garbage', `token=${encodeURIComponent(u.refresh)}`,
      `token=${encodeURIComponent(signJwt({ alg: 'HS256', typ: 'JWT' }, decodeJwt(u.token).payload, 'wrong-key-wrong-key-wrong-key'))}`,
      `token=${encodeURIComponent(signJwt({ alg: 'none', typ: 'JWT' }, decodeJwt(u.token).payload))}`,
      `format=json&token=${encodeURIComponent(u.token.slice(0, -3))}`]) {
      const r = await wsOpen(srv, q);
      assert.equal(r.status, 401, `query ${q.slice(0, 40)} -> ${r.status}`);
    }
  });

  test('ping answers pong with the same cid, again and again', async () => {
    const { ws, inbox } = await wsOpen(srv, `lang=en&status=true&token=${encodeURIComponent(u.token)}`);
    try {
      for (let i = 1; i <= 5; i++) {
        inbox.send({ cid: String(i), ping: {} });
        assert.deepEqual(await inbox.next(), { cid: String(i), pong: {} });
      }
      // Many at once, answered each once.
      for (let i = 100; i < 150; i++) inbox.send({ cid: String(i), ping: {} });
      const cids = [];
      for (let i = 100; i < 150; i++) cids.push((await inbox.next()).cid);
      assert.deepEqual(cids.sort(), Array.from({ length: 50 }, (_, i) => String(100 + i)).sort());
    } finally {
      ws.close();
    }
  });

  test('the token may come as a Bearer header', async () => {
    const r = await wsOpen(srv, '', { headers: { authorization: bearer(u.token) } });
    assert.ok(r.ws, `upgrade with a Bearer header -> ${r.status}`);
    r.inbox.send({ cid: '9', ping: {} });
    assert.deepEqual(await r.inbox.next(), { cid: '9', pong: {} });
    r.ws.close();
  });

  test('an unknown message gets error code 1, then the socket closes', async () => {
    const { inbox } = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
    inbox.send({ cid: '1', no_such_message: {} });
    const msg = await inbox.next();
    assert.equal(msg.cid, '1');
    assert.equal(msg.error?.code, 1, JSON.stringify(msg));
    assert.equal(typeof msg.error.message, 'string');
    await inbox.closedWithin(5000);
  });

  test('an envelope with no message gets error code 2, then the socket closes', async () => {
    const { inbox } = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
    inbox.send({ cid: '4' });
    const msg = await inbox.next();
    assert.equal(msg.error?.code, 2, JSON.stringify(msg));
    await inbox.closedWithin(5000);
  });

  test('undecodable text, binary frames and oversized messages close the socket', async () => {
    const cases = [
      (i) => i.send('this is not json'),
      (i) => i.send('[1,2,3]'),
      (i) => i.ws.send(Buffer.from('{"cid":"1","ping":{}}'), { binary: true }),
      (i) => i.send(JSON.stringify({ cid: '1', ping: {}, pad: 'x'.repeat(5000) })),
    ];
    for (const [n, send] of cases.entries()) {
      const { inbox } = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
      send(inbox);
      // Either straight away or after an error envelope.
      const deadline = Date.now() + 5000;
      while (!inbox.closed && Date.now() < deadline) {
        try {
          const m = await inbox.next(deadline - Date.now());
          assert.ok(m.error, `case ${n}: only an error may come back, got ${JSON.stringify(m).slice(0, 100)}`);
        } catch { break; }
      }
      await inbox.closedWithin(1000);
    }
    await stillServing();
  });

  test('format other than json/protobuf answers 400', async () => {
    const r = await wsOpen(srv, `format=xml&token=${encodeURIComponent(u.token)}`);
    assert.equal(r.status, 400);
  });

  test('fifty sockets at once', async () => {
    const socks = await Promise.all(Array.from({ length: 50 }, () => wsOpen(srv, `token=${encodeURIComponent(u.token)}`)));
    try {
      socks.forEach((s, i) => s.inbox.send({ cid: `c${i}`, ping: {} }));
      const replies = await Promise.all(socks.map((s) => s.inbox.next()));
      replies.forEach((m, i) => assert.deepEqual(m, { cid: `c${i}`, pong: {} }));
    } finally {
      for (const s of socks) s.ws.close();
    }
  });

  test('the server survives abrupt socket deaths', async () => {
    for (let i = 0; i < 10; i++) {
      const { ws, inbox } = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
      inbox.send({ cid: '1', ping: {} });
      ws.terminate();
    }
    await sleep(200);
    await stillServing();
  });
});

describe('a second server with its own keys and console credentials', () => {
  let other;
  before(async () => {
    other = await startServer(['--server-key', 'sekrit-key', '--console-user', 'ops', '--console-password', 'hunter2hunter2']);
  });
  after(async () => { await other?.stop(); });

  test('--server-key replaces defaultkey', async () => {
    const id = randomId('k2-', 20);
    assertError(await other.post('/v2/account/authenticate/device', { id }, { auth: basic() }), 401, 16);
    const ok = await other.post('/v2/account/authenticate/device', { id }, { auth: basic('sekrit-key') });
    assert.equal(ok.status, 200);
  });

  test("tokens of one server are refused by the other", async () => {
    const s = (await other.post('/v2/account/authenticate/device', { id: randomId('k2-', 20) }, { auth: basic('sekrit-key') })).json;
    assertError(await account(s.token), 401, 16);
    assertError(await srv.post('/v2/account/session/refresh', { token: s.refresh_token }, { auth: basic() }), 401, 16);
    const mine = await newDevice();
    assert.equal((await other.get('/v2/account', { auth: bearer(mine.token) })).status, 401);
  });

  test('--console-user and --console-password', async () => {
    assertError(await other.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true }), 401, 16);
    const ok = await other.post('/v2/console/authenticate', { username: 'ops', password: 'hunter2hunter2' }, { consolePort: true });
    assert.equal(ok.status, 200);
  });
});

describe('password hashing is bounded (--hash-concurrency)', () => {
  let tight;
  // 64 workers so that the sign-ups really queue up on the one hashing slot
  before(async () => { tight = await startServer(['--hash-concurrency', '1', '--workers', '64']); });
  after(async () => { await tight?.stop(); });

  test('a burst of email sign-ups beyond the limit gets 429 (code 8), the rest succeed', async () => {
    // One argon2id slot (64 MiB, 60-300 ms each depending on the machine) and a 2 s wait for
    // it: sixty at once cannot all get through, and none may crash or exhaust memory.
    const tries = Array.from({ length: 60 }, (_, i) => tight.post('/v2/account/authenticate/email',
      { email: `burst${i}-${randomId('', 8)}@example.com`, password: 'password-123' }, { auth: basic() }));
    const answers = await Promise.all(tries);
    const statuses = answers.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 200 || s === 429), `unexpected statuses ${statuses}`);
    assert.ok(statuses.includes(200), 'some sign-ups must get through');
    assert.ok(statuses.includes(429), 'the burst must be refused beyond the limit');
    const refused = answers.find((r) => r.status === 429);
    assert.equal(refused.json.code, 8);
    const after = await tight.get('/healthcheck');
    assert.equal(after.status, 200);
  });
});
