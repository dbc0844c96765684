// The tavern command line: --help, --version, bad flags, `migrate up|status`, and a restart on
// the same data directory and database (accounts, secrets and sessions survive; SIGTERM exits 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { TavernServer, startServer, basic, bearer, decodeJwt, randomId } from '../lib/server.mjs';

function run(args, env = {}) {
  const r = spawnSync(TavernServer.bin(), args, { encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr, all: r.stdout + r.stderr };
}

test('--version prints the version and exits 0', () => {
  const r = run(['--version']);
  assert.equal(r.code, 0, r.all);
  assert.match(r.all, /\d+\.\d+\.\d+/);
});

test('--help prints the usage and exits 0', () => {
  const r = run(['--help']);
  assert.equal(r.code, 0, r.all);
  for (const flag of ['--port', '--console-port', '--db', '--data-dir', '--server-key', '--session-ttl', 'migrate'])
    assert.ok(r.all.includes(flag), `help mentions ${flag}`);
});

test('bad flags and values exit non-zero with a message, without serving', () => {
  for (const args of [['--no-such-flag'], ['--port', 'abc'], ['--port', '70000'], ['--port'],
    ['--session-ttl', '-5'], ['--log-level', 'loud'], ['--db', 'mysql://x/y'], ['migrate', 'sideways']]) {
    const r = run(['--address', '127.0.0.1', '--console-port', '0', ...args]);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail: ${r.all}`);
    assert.equal(r.signal, null, `${args.join(' ')} must not crash: ${r.signal}`);
    assert.ok(r.err.trim().length > 0, `${args.join(' ')} explains itself`);
    assert.doesNotMatch(r.all, /ready api=/);
  }
});

test('migrate status, up, status on a fresh database', async () => {
  const s = new TavernServer();
  s.prepare();
  try {
    const base = ['--data-dir', s.dataDir, '--db', s.dbUrl];
    const before = run(['migrate', 'status', ...base]);
    assert.equal(before.code, 0, before.all);
    const up = run(['migrate', 'up', ...base]);
    assert.equal(up.code, 0, up.all);
    const again = run(['migrate', 'up', ...base]);
    assert.equal(again.code, 0, `migrate up twice is fine: ${again.all}`);
    const after = run(['migrate', 'status', ...base]);
    assert.equal(after.code, 0, after.all);
    assert.notEqual(after.out, before.out, 'status changes once migrations are applied');
    // The server starts on the migrated database.
    await s.start();
    assert.equal((await s.get('/healthcheck')).status, 200);
  } finally {
    await s.stop();
  }
});

test('a restart keeps accounts, secrets and sessions; SIGTERM exits 0 each time', async () => {
  const s = await startServer();
  try {
    const id = randomId('restart-', 24);
    const res = await s.authenticate('device', { id });
    assert.equal(res.status, 200);
    const { token, refresh_token } = res.json;
    await s.restart();
    const acc = await s.get('/v2/account', { auth: bearer(token) });
    assert.equal(acc.status, 200, `the old session works after a restart: ${acc.text}`);
    assert.equal(acc.json.user.id, decodeJwt(token).payload.uid);
    const again = await s.authenticate('device', { id }, 'create=false');
    assert.equal(again.status, 200);
    assert.ok(!again.json.created);
    const ref = await s.post('/v2/account/session/refresh', { token: refresh_token }, { auth: basic() });
    assert.equal(ref.status, 200, ref.text);
  } finally {
    await s.stop();
  }
});

test('SIGTERM with requests and sockets in flight still exits 0', async () => {
  const s = await startServer();
  try {
    const u = (await s.authenticate('device', { id: randomId('term-', 20) })).json;
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://${s.host}:${s.port}/ws?token=${encodeURIComponent(u.token)}`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.on('error', () => {});
    const inflight = Array.from({ length: 20 }, () => s.get('/v2/account', { auth: bearer(u.token) }).catch(() => null));
    await s.stop({ keep: true });
    await Promise.all(inflight);
    await new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r() : ws.once('close', r)));
  } finally {
    await s.stop();
  }
});

test('a second server on the same database and data dir works (shared secrets)', async () => {
  const a = await startServer();
  const b = new TavernServer();
  try {
    b.dataDir = a.dataDir;
    b.dbUrl = a.dbUrl;
    b.db = a.db;
    await b.start();
    const s = (await a.authenticate('device', { id: randomId('two-', 20) })).json;
    const acc = await b.get('/v2/account', { auth: bearer(s.token) });
    assert.equal(acc.status, 200, acc.text);
  } finally {
    b.dataDir = null; // owned by a
    b.pg = null;
    await b.stop();
    await a.stop();
  }
});
