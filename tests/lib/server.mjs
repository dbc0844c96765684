// Test harness shared by tests/integration and tests/compat: starts the real tavern binary on
// free loopback ports with a fresh data directory (and, for PostgreSQL, a fresh database),
// waits for its "ready" log line, and stops it with SIGTERM, checking that it exits 0.
//
// Environment (set by meson, see tests/integration/meson.build):
//   TAVERN_BIN      path of the tavern binary (required)
//   TAVERN_TEST_DB  "sqlite" (default) or a postgres:// URL of a database the tests may use to
//                   create and drop scratch databases (the role needs CREATEDB; without it the
//                   harness falls back to emptying schema public of that database)
//   TAVERN_TEST_LOG set to 1 to copy the server's log to this process's stderr as it comes
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHmac } from 'node:crypto';

export const SERVER_KEY = 'defaultkey';
export const READY_TIMEOUT_MS = 20000;
export const STOP_TIMEOUT_MS = 5000;

/** "Basic base64(key:)", the way nakama-js sends the server key. */
export function basic(key = SERVER_KEY, password = '') {
  return 'Basic ' + Buffer.from(`${key}:${password}`).toString('base64');
}

export function bearer(token) {
  return 'Bearer ' + token;
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

/** Decodes a JWT's header and payload without checking anything. */
export function decodeJwt(token) {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

/**
 * Builds a JWT from header and payload objects. alg HS256/HS384/HS512 signs with `key`;
 * anything else ("none") gets an empty signature.
 */
export function signJwt(header, payload, key) {
  const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(payload));
  const algs = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
  const sig = algs[header.alg] ? b64url(createHmac(algs[header.alg], key).update(input).digest()) : '';
  return input + '.' + sig;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL scratch databases

function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtX', '-c', sql], {
    encoding: 'utf8',
    env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

const SCRATCH_PREFIX = 'tavern_t_';

/**
 * Makes an empty database for one test-file run and returns {url, drop()}. Scratch databases
 * left by crashed runs more than an hour ago are dropped on the way.
 */
function preparePostgres(baseUrl) {
  const now = Math.floor(Date.now() / 1000);
  const name = `${SCRATCH_PREFIX}${now}_${process.pid}_${randomBytes(3).toString('hex')}`;
  try {
    const stale = psql(baseUrl, `SELECT datname FROM pg_database WHERE datname LIKE '${SCRATCH_PREFIX}%'`)
      .split('\n').filter(Boolean)
      .filter((d) => Number(d.slice(SCRATCH_PREFIX.length).split('_')[0]) < now - 3600);
    for (const d of stale) {
      try { psql(baseUrl, `DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`); } catch { /* in use */ }
    }
    psql(baseUrl, `CREATE DATABASE "${name}"`);
    const url = withDatabase(baseUrl, name);
    return {
      url,
      drop() { psql(baseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`); },
    };
  } catch (e) {
    const why = String(e.stderr || e.message).trim();
    if (!/permission denied/i.test(why))
      throw new Error(`PostgreSQL at ${baseUrl} is not usable: ${why}`);
    // No CREATEDB right: empty the given database instead (runs must then not overlap).
    psql(baseUrl, 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
    return { url: baseUrl, drop() {} };
  }
}

// ---------------------------------------------------------------------------------------------
// The server process

export class TavernServer {
  constructor() {
    this.proc = null;
    this.log = '';
    this.exited = null; // {code, signal} once the process is gone
    this.dataDir = null;
    this.pg = null;
  }

  /** Address of the API port, e.g. "http://127.0.0.1:34567". */
  get url() { return `http://${this.host}:${this.port}`; }
  get consoleUrl() { return `http://${this.host}:${this.consolePort}`; }

  /** The session-token HMAC key the server generated in its data directory. */
  sessionSecret() {
    return readFileSync(join(this.dataDir, 'session.key'), 'utf8').split(/\r?\n/)[0];
  }
  refreshSecret() {
    return readFileSync(join(this.dataDir, 'refresh.key'), 'utf8').split(/\r?\n/)[0];
  }

  /** Makes the data directory and the database (once per server object). */
  prepare() {
    if (this.dataDir) return;
    const db = process.env.TAVERN_TEST_DB || 'sqlite';
    this.db = db === 'sqlite' ? 'sqlite' : 'postgres';
    this.dataDir = mkdtempSync(join(tmpdir(), 'tavern-test-'));
    if (db === 'sqlite') {
      this.dbUrl = `sqlite://${join(this.dataDir, 'tavern.db')}`;
    } else if (/^postgres(ql)?:\/\//.test(db)) {
      this.pg = preparePostgres(db);
      this.dbUrl = this.pg.url;
    } else {
      throw new Error(`TAVERN_TEST_DB must be "sqlite" or a postgres:// URL, not ${JSON.stringify(db)}`);
    }
  }

  /** The binary, from $TAVERN_BIN. */
  static bin() {
    const bin = process.env.TAVERN_BIN;
    if (!bin)
      throw new Error('TAVERN_BIN is not set: run the tests through meson (meson test -C <builddir>)');
    return bin;
  }

  /** Starts the server; extraArgs come after the harness's own flags. */
  async start(extraArgs = []) {
    const bin = TavernServer.bin();
    this.prepare();
    this.extraArgs = extraArgs;
    this.log = '';
    this.exited = null;
    const args = ['--address', '127.0.0.1', '--port', '0', '--console-port', '0',
      '--data-dir', this.dataDir, '--db', this.dbUrl, ...extraArgs];
    this.proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const echo = process.env.TAVERN_TEST_LOG === '1';
    const onData = (chunk) => {
      this.log += chunk;
      if (echo) process.stderr.write(chunk);
    };
    this.proc.stdout.setEncoding('utf8').on('data', onData);
    this.proc.stderr.setEncoding('utf8').on('data', onData);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => { this.exited = { code, signal }; resolve(this.exited); });
    });

    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no "ready" line within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const check = () => {
        const m = /ready api=([^\s:]+):(\d+) console=([^\s:]+):(\d+) db=(\w+)/.exec(this.log);
        if (m) {
          this.host = m[1];
          this.port = Number(m[2]);
          this.consolePort = Number(m[4]);
          this.reportedDb = m[5];
          done();
        }
      };
      const onExit = () => done(new Error(`tavern exited before it was ready (${JSON.stringify(this.exited)})`));
      const done = (err) => {
        clearTimeout(timer);
        this.proc.stderr.off('data', check);
        this.proc.stdout.off('data', check);
        this.proc.off('exit', onExit);
        if (err) {
          err.message += `\n--- tavern ${args.join(' ')}\n${this.log}`;
          this.proc.kill('SIGKILL');
          reject(err);
        } else {
          resolve();
        }
      };
      this.proc.stderr.on('data', check);
      this.proc.stdout.on('data', check);
      this.proc.on('exit', onExit);
      check();
    });
    if (this.reportedDb !== this.db)
      throw new Error(`tavern reports db=${this.reportedDb}, expected ${this.db}`);
    return this;
  }

  /** True while the process runs. */
  get alive() { return this.proc && !this.exited; }

  /**
   * SIGTERM, then waits for the exit. Resolves to {code, signal}; throws (after SIGKILL) when
   * it hangs, and throws when it exits with anything but 0, showing the log.
   */
  async stop({ keep = false } = {}) {
    try {
      if (!this.proc) return null;
      if (!this.exited) {
        this.proc.kill('SIGTERM');
        const timeout = new Promise((r) => setTimeout(() => r(null), STOP_TIMEOUT_MS).unref());
        const res = await Promise.race([this.exitPromise, timeout]);
        if (!res) {
          this.proc.kill('SIGKILL');
          await this.exitPromise;
          throw new Error(`tavern did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${this.log}`);
        }
      }
      if (this.exited.code !== 0)
        throw new Error(`tavern exited with ${JSON.stringify(this.exited)} (expected code 0)\n${this.log}`);
      return this.exited;
    } finally {
      if (!keep) this.cleanup();
    }
  }

  /**
   * SIGSTOP: the process stays, frozen wherever it was (a transaction half done, an answer
   * half written), until kill() or SIGCONT; its ports still take connections and bytes.
   */
  freeze() {
    if (this.alive) this.proc.kill('SIGSTOP');
  }

  /**
   * SIGKILL, as a crash or a power cut of the process would end it: waits for the exit and
   * keeps the data directory and the database, so start() can run again on them (stop() or
   * cleanup() removes them afterwards). Resolves to {code, signal}.
   */
  async kill() {
    if (!this.proc) return null;
    if (!this.exited) {
      this.proc.kill('SIGKILL');
      await this.exitPromise;
    }
    return this.exited;
  }

  /** Stops (expecting exit 0) and starts again on the same data directory and database. */
  async restart(extraArgs = this.extraArgs) {
    await this.stop({ keep: true });
    return this.start(extraArgs);
  }

  /** Drops the scratch database and removes the data directory. */
  cleanup() {
    try { this.pg?.drop(); } catch (e) { process.stderr.write(`dropping scratch database: ${e.message}\n`); }
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    this.pg = null;
    this.dataDir = null;
  }

  // -------------------------------------------------------------------------------------------
  // HTTP helpers

  /**
   * One HTTP request. `body` may be an object (sent as JSON), a string or a Buffer (sent raw).
   * Resolves to {status, headers, text, json} where json is the parsed body or undefined.
   */
  async request(method, path, { body, headers = {}, auth, consolePort = false, timeoutMs = 15000 } = {}) {
    const h = { ...headers };
    if (auth) h.authorization = auth;
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    }
    const base = consolePort ? this.consoleUrl : this.url;
    const res = await fetch(base + path, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  }

  get(path, opts) { return this.request('GET', path, opts); }
  post(path, body, opts = {}) { return this.request('POST', path, { ...opts, body }); }
  put(path, body, opts = {}) { return this.request('PUT', path, { ...opts, body }); }
  del(path, opts) { return this.request('DELETE', path, opts); }

  /** POST /v2/account/authenticate/<kind> with the server key. */
  authenticate(kind, body, query = '', opts = {}) {
    return this.post(`/v2/account/authenticate/${kind}${query ? '?' + query : ''}`, body,
      { auth: basic(), ...opts });
  }
}

/** Starts a server; the caller stops it. */
export async function startServer(extraArgs = []) {
  const s = new TavernServer();
  try {
    await s.start(extraArgs);
  } catch (e) {
    s.cleanup();
    throw e;
  }
  return s;
}

/** A random id of the given length from [a-z0-9] (device and custom ids). */
export function randomId(prefix = '', len = 24) {
  let s = prefix;
  while (s.length < len) s += randomBytes(16).toString('hex');
  return s.slice(0, len);
}
