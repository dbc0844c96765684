// The purchase storm (issue 5): many clients buy at once, each resending a request that failed
// (a network error, 5xx) with the same idempotency key until it gets a definitive answer, and
// the server is SIGKILLed five times in the middle (frozen first, so that the kill finds every
// client waiting on it) and started again on the same data. Then every key is sent once more,
// and per user and in total: balance == funding + receipts == sum of the ledger, one ledger
// entry per receipt, inventory == the receipts' items, a limited item never oversold, a
// refused key charged nothing, no key charged twice. Linux only (/proc).
// Run by meson on SQLite and PostgreSQL; see tests/lib/server.mjs for the environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer, basic, decodeJwt, randomId } from '../lib/server.mjs';

const USERS = 30;      // each with two clients buying at once
const STEPS = 14;      // keys per client
const STOCK = 40;      // of the limited item
const LIMIT = 3;       // per user, of the capped item
const MAX_TRIES = 60;  // sends of one key before the test gives up on it
// the server is SIGKILLed (and started again) after this many answers: five times in the storm.
// A crash answers at most two rounds of the clients' requests after its threshold (one before
// the freeze, one drained after it), so the last one still finds clients running.
const KILLS = [1, 2, 3, 4, 5].map((n) => Math.floor(n * USERS * 2 * STEPS / 7));

// Coins and gold only ever go down once funded (no item grants them), so a key refused once
// stays refused: the last resend of every key must answer as the first did.
const ITEMS = {
  'storm-relic': { name: 'Relic', price: { coins: 20, gold: 1 }, grants: { items: { relic: 1 } }, stock: STOCK },
  'storm-pack': { name: 'Pack', price: { coins: 10 }, grants: { items: { arrow: 5, gem: 1 }, currencies: { xp: 3 } } },
  'storm-pass': { name: 'Pass', price: { coins: 5 }, grants: { currencies: { tokens: 2 } }, user_limit: LIMIT },
};

let srv, dir, args;

before(async () => {
  assert.ok(process.env.TAVERN_TEST_MODULES, 'TAVERN_TEST_MODULES is set by meson');
  dir = mkdtempSync(join(tmpdir(), 'tavern-storm-modules-'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'wallet_mod.so'), join(dir, 'wallet_mod.so'));
  args = ['--module-path', dir];
  srv = await startServer(args);
});
after(async () => {
  if (srv?.alive) await srv.stop();
  else srv?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ok(res, what = '') {
  assert.equal(res.status, 200, `${what} -> ${res.status} ${res.text}`);
  return res.json;
}

async function consoleToken() {
  return ok(await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true }), 'console login').token;
}

/** Every ledger entry of u through GET /v2/wallet/ledger with u's own token, newest first. */
async function ledger(u) {
  const all = [];
  let cursor = '';
  for (let i = 0; i < 100; i++) {
    const page = ok(await srv.get(`/v2/wallet/ledger?limit=100${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`, { auth: u.auth }), 'ledger');
    all.push(...(page.items ?? []));
    if (!page.cursor) return all;
    cursor = page.cursor;
  }
  assert.fail('the ledger never ended');
}

/** The unix milliseconds in a UUIDv7 (a ledger entry's id). */
function uuid7ms(id) {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

/** Adds every currency of b (times sign) into a. */
function addTo(a, b = {}, sign = 1) {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + sign * v;
  return a;
}

/** The map without its zero entries, for comparisons. */
function nonzero(m) {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== 0));
}

// --- the storm's client side -----------------------------------------------------------------

let up = Promise.resolve(); // pending while the server is down
const stats = { answered: 0, active: 0, inflight: 0, netErrors: 0, fivexx: 0, kills: [] };
let onAnswer = () => {};

/**
 * POST /v2/shop/purchase, resent with the same key after a network error (the kill) or a 5xx
 * until the answer is definitive. Resolves to {status, json, text, cut} of that answer, cut
 * the entry in stats.kills of the kill that cut a send of it (else undefined).
 */
async function purchase(u, item_id, key) {
  const body = JSON.stringify({ item_id, idempotency_key: key });
  let cut;
  for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
    await up;
    let status, text;
    stats.inflight++;
    try {
      const res = await fetch(srv.url + '/v2/shop/purchase', {
        method: 'POST', body, signal: AbortSignal.timeout(30000),
        headers: { authorization: u.auth, 'content-type': 'application/json' },
      });
      status = res.status;
      text = await res.text();
    } catch {
      stats.netErrors++;
      cut = stats.kills.at(-1);
      continue; // once the server is up again (up), the same key goes again
    } finally {
      stats.inflight--;
    }
    if (status >= 500) {
      stats.fivexx++;
      await new Promise((r) => setTimeout(r, Math.min(5 * attempt, 100))); // pacing, not a check
      continue;
    }
    stats.answered++;
    onAnswer();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status, json, text, cut };
  }
  assert.fail(`no definitive answer for key ${key} (${item_id}) after ${MAX_TRIES} sends`);
}

/** Resolves once cond() holds, looking every few milliseconds (fails after a minute). */
async function until(cond, what) {
  for (let i = 0; i < 12000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `waited a minute for ${what}`);
}

/** Whether every thread of process pid is stopped (state T in /proc/pid/task/tid/stat). */
function stopped(pid) {
  return readdirSync(`/proc/${pid}/task`).every((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'T';
  });
}

/** Bytes received and not yet read by the sockets connected to 127.0.0.1:port (this
 * process's, the only clients of that port): rx_queue in /proc/net/tcp. */
function unread(port) {
  const peer = '0100007F:' + port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[2] === peer) n += parseInt(f[4].split(':')[1], 16);
  }
  return n;
}

/**
 * One crash in the storm: SIGSTOP the server wherever it is (transactions half done, answers
 * half written), then, once all its threads have stopped, every answer it wrote has been read
 * and every running client waits on a request, SIGKILL it with all those requests in flight
 * (none of them can have been answered), start it again on the same data and let the
 * clients resend.
 */
async function crash() {
  await new Promise((r) => setImmediate(r)); // the requests just issued go out first
  srv.freeze();
  const ms = Date.now(), pid = srv.proc.pid, port = srv.port;
  await until(() => stopped(pid) && unread(port) === 0 && stats.inflight === stats.active,
    'the frozen server with every client waiting on it');
  let open;
  up = new Promise((r) => { open = r; });
  stats.kills.push({ ms, answered: stats.answered, inFlight: stats.inflight });
  const how = await srv.kill();
  assert.equal(how.signal, 'SIGKILL');
  await srv.start(args);
  open();
}

/** The item client side (0 or 1) of user k buys at step j, and its key there. */
function plan(k, side, j) {
  if (j === 5 || j === 10) return { item: 'storm-pack', key: `u${k}-shared-${j}` }; // both sides send it
  const key = `u${k}-${side ? 'b' : 'a'}-${j}`;
  if (j < 2) return { item: 'storm-relic', key };
  const r = (k * 7 + side * 3 + j * 5) % 6;
  return { item: r < 3 ? 'storm-pack' : r < 5 ? 'storm-pass' : 'storm-relic', key };
}

test('a purchase storm through five SIGKILLs: no purchase lost or duplicated', async (t) => {
  let ct = await consoleToken();
  for (const [id, def] of Object.entries(ITEMS))
    ok(await srv.put(`/v2/console/shop/${id}`, def, { consolePort: true, auth: bearer(ct) }), `put ${id}`);

  // users, funded through the wallet module in two multi-user updates (the funding recorded)
  const users = [];
  for (let k = 0; k < USERS; k++) {
    const s = ok(await srv.authenticate('device', { id: randomId(`storm-${k}-`, 32) }, 'create=true'), 'sign-up');
    users.push({ k, uid: decodeJwt(s.token).payload.uid, auth: bearer(s.token), funding: {}, fundEntries: 0 });
  }
  const fund = async (list) => {
    const res = await srv.post('/v2/rpc/wallet_update?unwrap', JSON.stringify(list.map(([u, changeset]) => ({ user_id: u.uid, changeset, metadata: { why: 'funding' } }))),
      { auth: basic('defaulthttpkey'), headers: { 'content-type': 'text/plain' } });
    ok(res, 'wallet_update');
    for (const [u, changeset] of list) {
      addTo(u.funding, changeset);
      u.fundEntries++;
    }
  };
  await fund(users.map((u) => [u, { coins: 100 + 40 * (u.k % 6) }]));
  await fund(users.filter((u) => u.k % 3 !== 0).map((u) => [u, { gold: 4 }]));

  // the storm: two clients per user, each through its own keys (and two keys both send)
  const answers = new Map(); // "uid key" -> [{status, json}] every definitive answer
  const record = (u, key, item, res) => {
    const id = `${u.uid} ${key}`;
    if (!answers.has(id)) answers.set(id, { u, key, item, got: [] });
    answers.get(id).got.push(res);
  };
  // the kills, in the middle of it (each crash is over long before the next one)
  const crashes = [];
  onAnswer = () => {
    if (KILLS.includes(stats.answered)) crashes.push((crashes.at(-1) ?? Promise.resolve()).then(crash));
  };
  const clients = [];
  for (const u of users) {
    for (const side of [0, 1]) {
      stats.active++;
      clients.push((async () => {
        for (let j = 0; j < STEPS; j++) {
          const { item, key } = plan(u.k, side, j);
          record(u, key, item, await purchase(u, item, key));
        }
        stats.active--;
      })());
    }
  }
  await Promise.all(clients);
  await Promise.all(crashes);
  onAnswer = () => {};
  t.diagnostic(`kills ${JSON.stringify(stats.kills.map(({ ms, ...k }) => k))}, network errors ${stats.netErrors}, 5xx ${stats.fivexx}`);
  assert.equal(stats.kills.length, KILLS.length, 'every kill came in the middle of the storm');
  for (const k of stats.kills) assert.ok(k.inFlight > 0, `requests in flight at the kill: ${JSON.stringify(k)}`);
  assert.ok(stats.netErrors >= stats.kills.reduce((n, k) => n + k.inFlight, 0), 'every request in flight at a kill was cut and resent');

  // every key: its answers agree, a receipt answers the key it was bought with, once
  const receipts = new Map(); // receipt id -> {u, key, receipt}
  let refused = 0;
  for (const a of answers.values()) {
    const first = a.got[0];
    for (const r of a.got.slice(1))
      assert.deepEqual([r.status, r.json?.receipt], [first.status, first.json?.receipt], `answers to ${a.key} agree`);
    if (first.status === 200) {
      const rc = first.json.receipt;
      assert.ok(!receipts.has(rc.id), `receipt ${rc.id} answers one key only`);
      assert.equal(rc.item_id, a.item, `${a.key}: the receipt is for the item bought`);
      assert.deepEqual([rc.price, rc.grants], [ITEMS[a.item].price, ITEMS[a.item].grants], `${a.key}: price and grants`);
      receipts.set(rc.id, { u: a.u, key: a.key, receipt: rc, cut: a.got.find((g) => g.cut)?.cut });
      a.receipt = rc;
    } else {
      assert.equal(first.status, 400, `${a.key}: ${first.text}`);
      assert.ok([3, 9].includes(first.json?.code), `${a.key}: ${first.text}`);
      refused++;
    }
  }
  assert.ok(refused > 0, 'some keys were refused (sold out, funds, limit)');

  // every key once more, after the storm: the same receipt, or refused again; nothing charged
  await Promise.all(users.map(async (u) => {
    for (const a of [...answers.values()].filter((x) => x.u === u)) {
      const r = await purchase(u, a.item, a.key);
      if (a.receipt) assert.deepEqual(ok(r, `resend ${a.key}`).receipt, a.receipt, `${a.key}: the receipt survived the kill`);
      else assert.equal(r.status, 400, `resend of refused ${a.key}: ${r.text}`);
    }
  }));

  // per user: wallet, ledger and inventory against funding and receipts
  const total = { wallet: {}, expected: {}, ledger: {} };
  let lostAnswers = 0;
  const bought = {};
  for (const u of users) {
    const mine = [...receipts.values()].filter((r) => r.u === u).map((r) => r.receipt);
    const expected = { ...u.funding }, items = {};
    for (const rc of mine) {
      addTo(expected, rc.price, -1);
      addTo(expected, rc.grants?.currencies);
      addTo(items, rc.grants?.items);
      bought[rc.item_id] = (bought[rc.item_id] ?? 0) + 1;
    }
    const acc = ok(await srv.get('/v2/account', { auth: u.auth }), 'account');
    const wallet = JSON.parse(acc.wallet);
    assert.deepEqual(nonzero(wallet), nonzero(expected), `user ${u.k}: balance == funding + receipts`);
    const entries = await ledger(u);
    assert.equal(new Set(entries.map((e) => e.id)).size, entries.length, `user ${u.k}: each ledger entry once`);
    const sum = {};
    for (const e of entries) addTo(sum, e.changeset);
    assert.deepEqual(nonzero(sum), nonzero(wallet), `user ${u.k}: balance == sum of the ledger`);
    const byReceipt = new Map();
    const plain = [];
    for (const e of entries) {
      const rid = e.metadata?.receipt;
      if (rid === undefined) { plain.push(e); continue; }
      assert.ok(!byReceipt.has(rid), `user ${u.k}: one ledger entry for receipt ${rid}`);
      byReceipt.set(rid, e);
    }
    assert.deepEqual([...byReceipt.keys()].sort(), mine.map((rc) => rc.id).sort(), `user ${u.k}: ledger entries == receipts`);
    for (const rc of mine) {
      const e = byReceipt.get(rc.id);
      const r = receipts.get(rc.id);
      if (r.cut && uuid7ms(e.id) <= r.cut.ms) // bought by the server that was killed, the answer lost
        lostAnswers++;
      const delta = addTo(addTo({}, rc.price, -1), rc.grants?.currencies);
      assert.deepEqual(nonzero(e.changeset ?? {}), nonzero(delta), `receipt ${rc.id}: its ledger changeset`);
      assert.equal(e.metadata.item, rc.item_id, `receipt ${rc.id}: the item in the ledger`);
    }
    assert.equal(plain.length, u.fundEntries, `user ${u.k}: no ledger entry but the funding and the receipts`);
    assert.deepEqual(nonzero(plain.reduce((s, e) => addTo(s, e.changeset), {})), nonzero(u.funding), `user ${u.k}: funding entries`);
    const inv = ok(await srv.get('/v2/inventory', { auth: u.auth }), 'inventory');
    const held = Object.fromEntries((inv.items ?? []).map((i) => [i.item_id, Number(i.count)]));
    assert.deepEqual(held, items, `user ${u.k}: inventory == the receipts' items`);
    assert.ok(mine.filter((rc) => rc.item_id === 'storm-pass').length <= LIMIT, `user ${u.k}: per-user limit`);
    addTo(total.wallet, wallet);
    addTo(total.expected, expected);
    addTo(total.ledger, sum);
  }
  assert.deepEqual(nonzero(total.wallet), nonzero(total.expected), 'in total: balances == funding + receipts');
  assert.deepEqual(nonzero(total.ledger), nonzero(total.wallet), 'in total: balances == sum of the ledgers');

  // the limited item: sold out (80 affordable tries at steps 0-1 alone), never oversold
  assert.equal(bought['storm-relic'], STOCK, 'every relic sold, none twice');
  ct = await consoleToken();
  const shown = ok(await srv.get('/v2/console/shop', { consolePort: true, auth: bearer(ct) }), 'catalog').items;
  assert.equal(shown.find((i) => i.id === 'storm-relic').stock, String(STOCK - bought['storm-relic']), 'stock left == stock - receipts');
  assert.equal(shown.find((i) => i.id === 'storm-pack').stock, '-1', 'unlimited stays unlimited');
  t.diagnostic(`receipts ${receipts.size} (${JSON.stringify(bought)}), refused keys ${refused}, ` +
    `bought before a kill but answered only after it ${lostAnswers}`);
});
