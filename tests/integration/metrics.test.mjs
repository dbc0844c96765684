// GET /metrics and the Status page's API on a real tavern: the exposition text parsed strictly
// (every sample well-formed, HELP and TYPE for every metric, histograms cumulative up to +Inf
// with _count equal to it), counters that move with HTTP calls, sockets, realtime messages, the
// database, an authoritative arena match and a matchmaker ticket; RTT from the server's own
// PINGs and the drop of a socket that never answers them; /v2/console/status and
// /status/history; who may read /metrics; request ids echoed and carried by the JSON log, the
// slow-request line. Run by meson on SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, bearer } from '../lib/server.mjs';
import { newWsUser, wsConnect } from './wsutil.mjs';

const METRICS_TOKEN = 'scrape-secret-0123456789';

// ---------------------------------------------------------------------------------------------
// A strict parser of the text exposition format 0.0.4

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]Inf|NaN)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL}="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*)\\})? (${VALUE})(?: -?\\d+)?$`);

function parseLabels(text) {
  const out = {};
  if (!text) return out;
  const re = new RegExp(`(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"(,|$)`, 'y');
  let m;
  let at = 0;
  while (at < text.length && (m = re.exec(text))) {
    assert.ok(!(m[1] in out), `label ${m[1]} twice in {${text}}`);
    out[m[1]] = m[2].replace(/\\(["\\n])/g, (_, c) => (c === 'n' ? '\n' : c));
    at = re.lastIndex;
  }
  assert.equal(at, text.length, `labels parse to the end: {${text}}`);
  return out;
}

/** {families: Map name -> {help, type, samples: [{name, labels, value}]}}; throws on any flaw. */
export function parseExposition(text) {
  assert.ok(text.endsWith('\n'), 'the text ends with a newline');
  const families = new Map();
  let current = null;
  const lines = text.slice(0, -1).split('\n');
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    let m;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      assert.ok(!families.has(m[1]), `HELP for ${m[1]} once: ${where}`);
      current = { name: m[1], help: m[2], type: null, samples: [] };
      families.set(m[1], current);
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      assert.ok(current && current.name === m[1] && !current.type && !current.samples.length, `TYPE right after its HELP: ${where}`);
      current.type = m[2];
    } else if (line.startsWith('#')) {
      assert.fail(`an unknown comment: ${where}`);
    } else {
      m = SAMPLE.exec(line);
      assert.ok(m, `a well-formed sample: ${where}`);
      assert.ok(current?.type, `a sample after HELP and TYPE: ${where}`);
      const base = current.type === 'histogram' ? m[1].replace(/_(bucket|sum|count)$/, '') : m[1];
      assert.equal(base, current.name, `the sample belongs to the family above it: ${where}`);
      if (current.type === 'counter') assert.match(m[1], /_total$/, `counters end in _total: ${where}`);
      const value = Number(m[3].replace('Inf', 'Infinity'));
      if (current.type === 'counter') assert.ok(value >= 0, `a counter is never negative: ${where}`);
      current.samples.push({ name: m[1], labels: parseLabels(m[2]), value });
    }
  }
  for (const f of families.values()) {
    assert.ok(f.type, `${f.name} has a TYPE`);
    assert.match(f.name, /^tavern_/, `${f.name} has the tavern_ prefix`);
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

const key = (labels) => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());

function checkHistogram(f) {
  assert.match(f.name, /_seconds$/, `${f.name}: histograms here are in seconds`);
  const series = new Map();
  for (const s of f.samples) {
    const k = key(s.labels);
    if (!series.has(k)) series.set(k, { buckets: [], sum: null, count: null });
    const e = series.get(k);
    if (s.name.endsWith('_bucket')) {
      assert.ok('le' in s.labels, `${f.name}: a bucket has le`);
      e.buckets.push({ le: Number(s.labels.le.replace('Inf', 'Infinity')), v: s.value });
    } else if (s.name.endsWith('_sum')) {
      e.sum = s.value;
    } else {
      e.count = s.value;
    }
  }
  for (const [k, e] of series) {
    const w = `${f.name}${k}`;
    assert.ok(e.buckets.length >= 2, `${w}: buckets`);
    for (let i = 1; i < e.buckets.length; i++) {
      assert.ok(e.buckets[i].le > e.buckets[i - 1].le, `${w}: le ascending`);
      assert.ok(e.buckets[i].v >= e.buckets[i - 1].v, `${w}: buckets cumulative`);
    }
    const last = e.buckets[e.buckets.length - 1];
    assert.equal(last.le, Infinity, `${w}: the last bucket is +Inf`);
    assert.equal(e.count, last.v, `${w}: _count equals the +Inf bucket`);
    assert.ok(e.sum !== null && e.sum >= 0, `${w}: a _sum`);
  }
}

/** The value of one sample (0 when absent); labels must all match. */
function value(fams, name, labels = {}) {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const f = fams.get(name) ?? fams.get(base);
  if (!f) return 0;
  let v = 0;
  for (const s of f.samples)
    if (s.name === name && Object.entries(labels).every(([k, x]) => s.labels[k] === x)) v += s.value;
  return v;
}

// ---------------------------------------------------------------------------------------------

let srv;
let moduleDir;
let consoleToken;

async function signIn(s) {
  const res = await s.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
  assert.equal(res.status, 200, res.text);
  return res.json.token;
}

async function scrape(s = srv, auth = bearer(consoleToken)) {
  const res = await s.get('/metrics', { consolePort: true, auth });
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.text);
}

async function until(what, fn, timeoutMs = 8000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fn();
    if (r) return r;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * A WebSocket by hand over TCP, for what the ws package does by itself: answer (or not) the
 * server's PINGs. Resolves once upgraded to {sock, pings, closedAt} (closedAt 0 while open;
 * the server closing, with or without a close frame, sets it).
 */
function rawWs(server, token, answer) {
  return new Promise((resolve, reject) => {
    const st = { sock: null, pings: 0, closedAt: 0 };
    const sock = net.connect(server.port, server.host);
    st.sock = sock;
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const closed = () => { if (!st.closedAt) st.closedAt = Date.now(); };
    sock.on('error', (e) => { if (!upgraded) reject(e); closed(); });
    sock.on('close', closed);
    sock.on('connect', () => sock.write(`GET /ws?token=${encodeURIComponent(token)} HTTP/1.1\r\nHost: x\r\n` +
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n\r\n'));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head));
        upgraded = true;
        buf = buf.subarray(end + 4);
        // the answering one sends a text message first (after one, lws 4.1 checks PONG
        // payloads as UTF-8 too), masked with a zero key
        const text = Buffer.from('{"ping":{}}');
        if (answer) sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | text.length, 0, 0, 0, 0]), text]));
        resolve(st);
      }
      // server frames: unmasked, and ours are all short
      while (buf.length >= 2 && buf.length >= 2 + (buf[1] & 0x7f)) {
        const op = buf[0] & 0x0f, len = buf[1] & 0x7f;
        assert.ok(len < 126, 'a short frame');
        const payload = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        if (op === 0x9) {
          st.pings++;
          if (answer) sock.write(Buffer.concat([Buffer.from([0x8a, 0x80 | len, 0, 0, 0, 0]), payload]));
        } else if (op === 0x8) {
          closed();
        }
      }
    });
  });
}

before(async () => {
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-modules-'));
  copyFileSync(join(process.env.TAVERN_MODULES, 'arena.so'), join(moduleDir, 'arena.so'));
  srv = await startServer(['--module-path', moduleDir, '--log-format', 'json', '--log-level', 'debug',
    '--metrics-token', METRICS_TOKEN, '--status-sample-ms', '500', '--ws-ping-interval', '1',
    '--ws-pong-timeout', '5', '--matchmaker-interval-ms', '200', '--slow-request-ms', '1']);
  consoleToken = await signIn(srv);
});

after(async () => {
  await srv?.stop();
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

describe('/metrics', () => {
  test('the exposition text is well-formed and names the required figures', async () => {
    const f = await scrape();
    for (const name of ['tavern_rt_sessions', 'tavern_rt_sessions_opened_total', 'tavern_rt_sessions_closed_total',
      'tavern_rt_messages_total', 'tavern_rt_message_bytes_total', 'tavern_rt_rtt_seconds',
      'tavern_http_requests_total', 'tavern_http_request_duration_seconds', 'tavern_db_query_duration_seconds',
      'tavern_db_pool_connections', 'tavern_relayed_matches', 'tavern_matchmaker_tickets',
      'tavern_matchmaker_matched_total', 'tavern_matchmaker_expired_total', 'tavern_process_start_time_seconds',
      'tavern_process_uptime_seconds', 'tavern_build_info'])
      assert.ok(f.has(name), `${name} is there`);
    assert.equal(value(f, 'tavern_db_pool_connections', { state: 'max' }), 8);
    assert.ok(Math.abs(value(f, 'tavern_process_start_time_seconds') - Date.now() / 1000) < 600);
  });

  test('HTTP requests by route pattern and status, and their latency, move', async () => {
    const before = await scrape();
    const u = await newWsUser(srv, 'mt-');
    for (let i = 0; i < 3; i++) assert.equal((await srv.get('/v2/account', { auth: bearer(u.token) })).status, 200);
    assert.equal((await srv.get('/v2/storage/some-collection/not-a-uuid', { auth: bearer(u.token) })).status, 400);
    assert.equal((await srv.get('/v2/no-such-route-' + Date.now())).status, 404);
    const after = await scrape();
    const d = (name, labels) => value(after, name, labels) - value(before, name, labels);
    assert.equal(d('tavern_http_requests_total', { route: '/v2/account', method: 'GET', status: '200' }), 3);
    assert.equal(d('tavern_http_requests_total', { route: '/v2/account/authenticate/device', status: '200' }), 1);
    assert.equal(d('tavern_http_requests_total', { route: '/v2/storage/{collection}/{user_id}', status: '400' }), 1);
    assert.equal(d('tavern_http_requests_total', { server: 'api', route: 'unmatched', status: '404' }), 1);
    assert.equal(d('tavern_http_request_duration_seconds_count', { route: '/v2/account', method: 'GET' }), 3);
    for (const s of after.get('tavern_http_requests_total').samples)
      assert.ok(!/no-such-route|some-collection|not-a-uuid/.test(s.labels.route), `raw paths never become labels: ${s.labels.route}`);
    assert.ok(d('tavern_db_query_duration_seconds_count', { op: 'query' }) >= 4, 'database statements were timed');
  });

  test('sockets: CCU, sessions opened and closed, messages and bytes in and out by type', async () => {
    const before = await scrape();
    const a = await wsConnect(srv, await newWsUser(srv, 'mt-'));
    const b = await wsConnect(srv, await newWsUser(srv, 'mt-'));
    a.inbox.send({ cid: '1', ping: {} });
    assert.deepEqual(await a.inbox.next(5000), { cid: '1', pong: {} });
    b.inbox.send({ cid: '2', rpc: { id: 'no-such-rpc' } });
    assert.equal((await b.inbox.next(5000)).cid, '2');
    let f = await scrape();
    const d = (name, labels) => value(f, name, labels) - value(before, name, labels);
    assert.equal(d('tavern_rt_sessions'), 2);
    assert.equal(d('tavern_rt_sessions_opened_total'), 2);
    assert.equal(d('tavern_rt_messages_total', { direction: 'in', type: 'ping' }), 1);
    assert.equal(d('tavern_rt_messages_total', { direction: 'out', type: 'pong' }), 1);
    assert.equal(d('tavern_rt_messages_total', { direction: 'in', type: 'rpc' }), 1);
    assert.equal(d('tavern_rt_messages_total', { direction: 'out', type: 'error' }), 1);
    assert.equal(d('tavern_rt_message_bytes_total', { direction: 'in', type: 'ping' }), JSON.stringify({ cid: '1', ping: {} }).length);
    assert.equal(d('tavern_rt_message_bytes_total', { direction: 'out', type: 'pong' }), JSON.stringify({ cid: '1', pong: {} }).length);
    // the Status page sees the same sockets
    const st = await srv.get('/v2/console/status', { consolePort: true, auth: bearer(consoleToken) });
    assert.equal(st.status, 200, st.text);
    assert.equal(st.json.current.ccu ?? 0, value(f, 'tavern_rt_sessions'));
    a.ws.close();
    b.ws.close();
    f = await until('the closes', async () => {
      const x = await scrape();
      return value(x, 'tavern_rt_sessions_closed_total') - value(before, 'tavern_rt_sessions_closed_total') === 2 ? x : null;
    });
    assert.equal(value(f, 'tavern_rt_sessions'), value(before, 'tavern_rt_sessions'));
  });

  // tavern PINGs every socket once per --ws-ping-interval (1 s here) with 8 bytes of its own
  // clock; the client (the ws package, like a browser) echoes them in PONGs by itself
  test('RTT: the server PINGs a socket and times the PONG', async () => {
    const f0 = await scrape();
    const c0 = value(f0, 'tavern_rt_rtt_seconds_count');
    const s0 = value(f0, 'tavern_rt_rtt_seconds_sum');
    const a = await wsConnect(srv, await newWsUser(srv, 'mt-'));
    const pings = [];
    a.ws.on('ping', (data) => pings.push(data));
    try {
      // a text message first: after one, lws 4.1 checks PONG payloads as UTF-8 too
      a.inbox.send({ cid: '1', ping: {} });
      assert.deepEqual(await a.inbox.next(5000), { cid: '1', pong: {} });
      const f = await until('RTT samples', async () => {
        const x = await scrape();
        return value(x, 'tavern_rt_rtt_seconds_count') - c0 >= 2 && pings.length >= 2 ? x : null;
      });
      assert.ok(pings.every((p) => p.length === 8), 'every PING carries 8 bytes');
      assert.equal(a.inbox.closed, null, 'the socket is still open');
      const n = value(f, 'tavern_rt_rtt_seconds_count') - c0;
      const sum = value(f, 'tavern_rt_rtt_seconds_sum') - s0;
      assert.ok(sum > 0 && sum / n < 0.25, `a small positive round trip: ${sum} s over ${n} PONGs`);
      assert.equal(value(f, 'tavern_rt_rtt_seconds_bucket', { le: '+Inf' }), value(f, 'tavern_rt_rtt_seconds_count'));
    } finally {
      a.ws.close();
    }
  });

  test('keep-alive: a raw socket that never answers PINGs is dropped after --ws-pong-timeout; one that answers stays', async () => {
    const before = await scrape();
    const t0 = Date.now();
    const [silent, answering] = await Promise.all([
      rawWs(srv, (await newWsUser(srv, 'mt-')).token, false),
      rawWs(srv, (await newWsUser(srv, 'mt-')).token, true)]);
    try {
      await until('the silent socket to be dropped', async () => silent.closedAt, 9000);
      const after = silent.closedAt - t0;
      assert.ok(after >= 4500 && after < 7000, `dropped ${after} ms after opening (pong timeout 5 s)`);
      assert.ok(silent.pings >= 1 && silent.pings <= 2, `the silent one was PINGed (${silent.pings})`);
      await sleep(Math.max(0, 6500 - (Date.now() - t0)));
      assert.equal(answering.closedAt, 0, 'the answering socket is still open past the pong timeout');
      assert.ok(answering.pings >= 4, `it answered ${answering.pings} PINGs`);
      const f = await scrape();
      assert.ok(value(f, 'tavern_rt_rtt_seconds_count') - value(before, 'tavern_rt_rtt_seconds_count') >= answering.pings - 1,
        'its PONGs were timed');
    } finally {
      silent.sock.destroy();
      answering.sock.destroy();
    }
  });

  test('an authoritative match: matches by handler and its tick histogram grow', async () => {
    const u = await newWsUser(srv, 'mt-');
    const res = await srv.post('/v2/rpc/create_match', JSON.stringify('{}'), { auth: bearer(u.token) });
    assert.equal(res.status, 200, res.text);
    const f1 = await until('ticks', async () => {
      const x = await scrape();
      return value(x, 'tavern_amatch_tick_duration_seconds_count', { handler: 'arena' }) > 0 ? x : null;
    });
    assert.ok(value(f1, 'tavern_amatch_matches', { handler: 'arena' }) >= 1);
    assert.ok(f1.has('tavern_amatch_tick_overruns_total'));
    await sleep(300);
    const f2 = await scrape();
    assert.ok(value(f2, 'tavern_amatch_tick_duration_seconds_count', { handler: 'arena' }) >
      value(f1, 'tavern_amatch_tick_duration_seconds_count', { handler: 'arena' }), 'it keeps ticking');
  });

  test('the matchmaker: a waiting ticket, then matched', async () => {
    const before = await scrape();
    const ps = [await wsConnect(srv, await newWsUser(srv, 'mt-')), await wsConnect(srv, await newWsUser(srv, 'mt-'))];
    try {
      ps[0].inbox.send({ cid: 't0', matchmaker_add: { min_count: 2, max_count: 2, query: '*' } });
      assert.ok((await ps[0].inbox.next(5000)).matchmaker_ticket);
      const mid = await scrape();
      assert.equal(value(mid, 'tavern_matchmaker_tickets') - value(before, 'tavern_matchmaker_tickets'), 1);
      ps[1].inbox.send({ cid: 't1', matchmaker_add: { min_count: 2, max_count: 2, query: '*' } });
      await until('matched', async () => {
        const x = await scrape();
        return value(x, 'tavern_matchmaker_matched_total') - value(before, 'tavern_matchmaker_matched_total') === 2;
      });
    } finally {
      for (const p of ps) p.ws.close();
    }
  });
});

describe('the Status page API', () => {
  test('status: node, version, uptime, figures; history: samples every interval', async () => {
    const st = await srv.get('/v2/console/status', { consolePort: true, auth: bearer(consoleToken) });
    assert.equal(st.status, 200, st.text);
    assert.equal(st.json.node, 'tavern');
    assert.match(st.json.version, /^\d+\.\d+\.\d+/);
    assert.ok(st.json.db_engine === 'sqlite' || st.json.db_engine === 'postgres');
    assert.ok(st.json.current.db_max === 8);
    assert.ok(st.json.sessions_opened_total >= 2);
    const a = await wsConnect(srv, await newWsUser(srv, 'mt-'));
    try {
      const h = await until('a sample with the socket', async () => {
        const r = await srv.get('/v2/console/status/history', { consolePort: true, auth: bearer(consoleToken) });
        assert.equal(r.status, 200, r.text);
        const last = (r.json.samples ?? []).at(-1);
        return last && (last.ccu ?? 0) >= 1 ? r.json : null;
      });
      assert.equal(h.interval_ms, 500);
      assert.equal(h.capacity, 360);
      assert.ok(h.samples.length >= 2);
      for (let i = 1; i < h.samples.length; i++) assert.ok(h.samples[i].time_ms > h.samples[i - 1].time_ms, 'oldest first');
      assert.ok(h.samples.some((s) => (s.msgs_out_per_s ?? 0) > 0), 'rates from counter deltas');
    } finally {
      a.ws.close();
    }
  });

  test('status routes need a console token', async () => {
    const u = await newWsUser(srv, 'mt-');
    for (const path of ['/v2/console/status', '/v2/console/status/history']) {
      assert.equal((await srv.get(path, { consolePort: true })).status, 401);
      assert.equal((await srv.get(path, { consolePort: true, auth: bearer(u.token) })).status, 401);
    }
  });
});

describe('who may read /metrics', () => {
  test('a console token or --metrics-token; nothing else', async () => {
    const u = await newWsUser(srv, 'mt-');
    assert.equal((await srv.get('/metrics', { consolePort: true })).status, 401);
    assert.equal((await srv.get('/metrics', { consolePort: true, auth: bearer(u.token) })).status, 401);
    assert.equal((await srv.get('/metrics', { consolePort: true, auth: bearer(METRICS_TOKEN + 'x') })).status, 401);
    assert.equal((await srv.get('/metrics', { consolePort: true, auth: 'Basic ' + Buffer.from(METRICS_TOKEN + ':').toString('base64') })).status, 401);
    await scrape(srv, bearer(METRICS_TOKEN));
    await scrape(srv, bearer(consoleToken));
    assert.equal((await srv.get('/metrics')).status, 404, 'not on the API port');
  });

  test('without --metrics-token only a console token; --metrics-open 1 lets anyone in', async () => {
    const closed = await startServer([]);
    try {
      assert.equal((await closed.get('/metrics', { consolePort: true, auth: bearer(METRICS_TOKEN) })).status, 401);
      await scrape(closed, bearer(await signIn(closed)));
    } finally {
      await closed.stop();
    }
    const open = await startServer(['--metrics-open', '1']);
    try {
      await scrape(open, undefined);
    } finally {
      await open.stop();
    }
  });
});

describe('request ids and log lines', () => {
  const logLines = () => srv.log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

  test('a sane X-Request-Id is echoed and carried by the request\'s log lines; others get a fresh one', async () => {
    const id = 'req-' + Date.now() + '.abc:1';
    const res = await srv.authenticate('device', { id: 'mt-rid-' + Date.now() + '-0123456789' }, 'create=true', { headers: { 'x-request-id': id } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-request-id'), id);
    const slowId = 'slow-' + Date.now();
    const email = await srv.authenticate('email', { email: `mt${Date.now()}@ex.io`, password: 'password-123' }, 'create=true',
      { headers: { 'x-request-id': slowId } });
    assert.equal(email.status, 200, email.text); // argon2id: well over 1 ms
    const slow = await until('the slow-request line', () => logLines().find((x) => x.request_id === slowId && /slow request/.test(x.msg)));
    assert.equal(slow.level, 'warn');
    assert.match(slow.msg, /route=\/v2\/account\/authenticate\/email status=200 duration_ms=\d/);
    const mine = await until('the log lines', () => {
      const l = logLines().filter((x) => x.request_id === id);
      return l.some((x) => x.room === 'http') ? l : null;
    });
    assert.ok(mine.some((x) => x.room === 'auth' && /created/.test(x.msg)), 'the handler\'s own line carries it');
    assert.ok(mine.some((x) => x.room === 'http' && /route=\/v2\/account\/authenticate\/device status=200 duration_ms=/.test(x.msg)),
      'the request\'s own line (debug level, or slow)');
    for (const bad of ['has space', 'x'.repeat(65), 'semi;colon']) {
      const r = await srv.get('/healthcheck', { headers: { 'x-request-id': bad } });
      const got = r.headers.get('x-request-id');
      assert.notEqual(got, bad);
      assert.match(got, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    const a = await srv.get('/healthcheck');
    const b = await srv.get('/healthcheck');
    assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
    const err = await srv.get('/v2/no-such-route', { headers: { 'x-request-id': 'nf-1' } });
    assert.equal(err.headers.get('x-request-id'), 'nf-1', 'answers made on the I/O thread too');
  });
});
