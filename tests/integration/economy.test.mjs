// Wallets through the module host entries (tests/modules/wallet_mod.c): credits shown in the
// account, refused overdrafts that change nothing, all-or-nothing updates across users,
// concurrent debits that never overdraw, balance == sum of the ledger, ledger paging; the
// shop catalog through the console API (validation, replace, disable, the cache after a
// restart); purchases and inventory over REST; the built-in RPCs (shop_catalog, shop_purchase,
// inventory_list, inventory_consume, wallet_ledger) over HTTP and the socket, and module hooks
// (tests/modules/shop_hooks.c) around both forms.
// Run by meson on SQLite and PostgreSQL; see tests/lib/server.mjs for the environment.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer, basic, decodeJwt, randomId } from '../lib/server.mjs';
import { wsConnect } from './wsutil.mjs';

let consoleToken;

let srv, dir;

before(async () => {
  assert.ok(process.env.TAVERN_TEST_MODULES, 'TAVERN_TEST_MODULES is set by meson');
  dir = mkdtempSync(join(tmpdir(), 'tavern-econ-modules-'));
  for (const m of ['wallet_mod.so', 'shop_hooks.so'])
    copyFileSync(join(process.env.TAVERN_TEST_MODULES, m), join(dir, m));
  srv = await startServer(['--module-path', dir]);
});
after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ok(res, what = '') {
  assert.equal(res.status, 200, `${what} -> ${res.status} ${res.text}`);
  return res.json;
}

/** Calls an RPC with the HTTP key and a raw payload; resolves to {status, text, json}. */
function rpc(id, payload) {
  return srv.post(`/v2/rpc/${id}?unwrap`, payload, { auth: basic('defaulthttpkey'), headers: { 'content-type': 'text/plain' } });
}

/** The rpc error shape: status and gRPC code, with a message. */
function rpcErr(res, status, grpc, what = '') {
  assert.equal(res.status, status, `${what} -> ${res.status} ${res.text}`);
  const j = JSON.parse(res.text);
  assert.equal(j.code, grpc, `${what}: grpc code in ${res.text}`);
  assert.ok(j.message, `${what}: message`);
}

async function user() {
  const s = ok(await srv.authenticate('device', { id: randomId('dev-', 32) }), 'sign-up');
  const { payload } = decodeJwt(s.token);
  return { uid: payload.uid, auth: bearer(s.token) };
}

async function wallet(u) {
  const acc = ok(await srv.get('/v2/account', { auth: u.auth }), 'account');
  return JSON.parse(acc.wallet);
}

async function update(updates, neg = false) {
  return rpc(neg ? 'wallet_update_neg' : 'wallet_update', JSON.stringify(updates));
}

/** Every ledger entry of u, newest first, following cursors 7 at a time. */
async function ledger(u) {
  const all = [];
  let cursor = '';
  for (let i = 0; i < 100; i++) {
    const res = await rpc('wallet_ledger_of', `${u.uid} 7 ${cursor}`);
    assert.equal(res.status, 200, res.text);
    const page = JSON.parse(res.text);
    all.push(...(page.items ?? []));
    if (!page.cursor) return all;
    cursor = page.cursor;
  }
  assert.fail('the ledger never ended');
}

function ledgerSum(items, currency) {
  return items.reduce((s, it) => s + (it.changeset[currency] ?? 0), 0);
}

describe('wallets (module host entries)', () => {
  test('a credit shows in the account as Nakama\'s wallet string, with a ledger entry', async () => {
    const u = await user();
    assert.deepEqual(await wallet(u), {});
    const r = JSON.parse((await update([{ user_id: u.uid, changeset: { coins: 100, gems: 5 }, metadata: { why: 'welcome' } }])).text);
    assert.equal(r.length, 1);
    assert.deepEqual([r[0].user_id, r[0].previous, r[0].updated], [u.uid, {}, { coins: 100, gems: 5 }]);
    assert.deepEqual(await wallet(u), { coins: 100, gems: 5 });
    const items = await ledger(u);
    assert.equal(items.length, 1);
    assert.deepEqual([items[0].id, items[0].changeset, items[0].metadata], [r[0].ledger_id, { coins: 100, gems: 5 }, { why: 'welcome' }]);
    assert.match(items[0].create_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('insufficient funds: refused, nothing changed, no ledger entry', async () => {
    const u = await user();
    ok(await update([{ user_id: u.uid, changeset: { coins: 10 } }]));
    rpcErr(await update([{ user_id: u.uid, changeset: { coins: -11 } }]), 400, 9, 'overdraft');
    rpcErr(await update([{ user_id: u.uid, changeset: { gems: -1 } }]), 400, 9, 'a currency never held');
    // a changeset is whole: the credit beside the refused debit is not applied either
    rpcErr(await update([{ user_id: u.uid, changeset: { gold: 5, coins: -50 } }]), 400, 9, 'mixed');
    assert.deepEqual(await wallet(u), { coins: 10 });
    assert.equal((await ledger(u)).length, 1);
    // allowed on request
    const r = JSON.parse((await update([{ user_id: u.uid, changeset: { coins: -15 } }], true)).text);
    assert.deepEqual(r[0].updated, { coins: -5 });
  });

  test('many users in one update: all or nothing', async () => {
    const [a, b] = await Promise.all([user(), user()]);
    ok(await update([{ user_id: a.uid, changeset: { coins: 50 } }, { user_id: b.uid, changeset: { coins: 20 } }]));
    // a trade a -> b of 30 coins works; b -> a of 30 cannot (b has 20 + 30 = 50, a has 20)
    const t = JSON.parse((await update([{ user_id: a.uid, changeset: { coins: -30 } }, { user_id: b.uid, changeset: { coins: 30 } }])).text);
    assert.deepEqual(t.map((x) => x.updated.coins), [20, 50]);
    rpcErr(await update([{ user_id: b.uid, changeset: { coins: 40 } }, { user_id: a.uid, changeset: { coins: -40 } }]), 400, 9, 'a cannot pay');
    rpcErr(await update([{ user_id: a.uid, changeset: { coins: 1 } }, { user_id: '3c0f5a7e-0000-4000-8000-000000000000', changeset: { coins: 1 } }]), 404, 5, 'unknown user');
    assert.deepEqual([await wallet(a), await wallet(b)], [{ coins: 20 }, { coins: 50 }]);
    for (const u of [a, b]) {
      const items = await ledger(u);
      assert.equal(items.length, 2);
      assert.equal(ledgerSum(items, 'coins'), (await wallet(u)).coins, 'balance == sum of the ledger');
    }
  });

  test('bad input is refused with nothing changed', async () => {
    const u = await user();
    ok(await update([{ user_id: u.uid, changeset: { coins: 7 } }]));
    const bad = [
      '[{"user_id":', // malformed JSON
      '[]',
      '{}',
      JSON.stringify([{ user_id: 'not-a-uuid', changeset: { coins: 1 } }]),
      JSON.stringify([{ user_id: u.uid, changeset: { 'two words': 1 } }]),
      JSON.stringify([{ user_id: u.uid, changeset: { coins: 1.5 } }]),
      JSON.stringify([{ user_id: u.uid, changeset: { coins: 0 } }]),
      JSON.stringify([{ user_id: u.uid, changeset: { coins: '1' } }]),
      JSON.stringify([{ user_id: u.uid, changeset: { coins: 2 ** 53 } }]),
      JSON.stringify([{ user_id: u.uid, changeset: [1] }]),
      JSON.stringify([{ user_id: u.uid, changeset: { coins: 1 }, metadata: [1] }]),
      JSON.stringify([{ user_id: u.uid, changeset: { coins: 1 }, metadata: { big: 'x'.repeat(5000) } }]),
      JSON.stringify(Array.from({ length: 101 }, () => ({ user_id: u.uid, changeset: { coins: 1 } }))),
    ];
    for (const p of bad) rpcErr(await rpc('wallet_update', p), 400, 3, p.slice(0, 60));
    // past the balance range
    ok(await update([{ user_id: u.uid, changeset: { big: 2 ** 53 - 1 } }]));
    rpcErr(await update([{ user_id: u.uid, changeset: { big: 1 } }]), 400, 3, 'range');
    assert.deepEqual(await wallet(u), { coins: 7, big: 2 ** 53 - 1 });
    rpcErr(await rpc('wallet_ledger_of', `${u.uid} 0`), 400, 3, 'limit 0');
    rpcErr(await rpc('wallet_ledger_of', `${u.uid} 5 nonsense`), 400, 3, 'bad cursor');
  });

  test('concurrent debits never overdraw, and balance == sum of the ledger', async () => {
    const u = await user();
    ok(await update([{ user_id: u.uid, changeset: { coins: 100 } }]));
    const results = await Promise.all(Array.from({ length: 25 }, () => update([{ user_id: u.uid, changeset: { coins: -10 } }])));
    const okCount = results.filter((r) => r.status === 200).length;
    for (const r of results.filter((x) => x.status !== 200)) rpcErr(r, 400, 9, 'the late ones');
    assert.equal(okCount, 10, 'exactly ten debits of 10 fit in 100');
    assert.deepEqual(await wallet(u), { coins: 0 });
    const items = await ledger(u);
    assert.equal(items.length, 11);
    assert.equal(ledgerSum(items, 'coins'), 0);
    // newest first, and each entry once across the pages
    assert.equal(new Set(items.map((i) => i.id)).size, 11);
    assert.deepEqual(items.at(-1).changeset, { coins: 100 });
  });

  test('GET /v2/wallet/ledger: the caller\'s own ledger, paged, the same as the module sees', async () => {
    const [u, other] = await Promise.all([user(), user()]);
    for (let i = 1; i <= 5; i++) ok(await update([{ user_id: u.uid, changeset: { coins: i } }]));
    ok(await update([{ user_id: other.uid, changeset: { coins: 99 } }]));
    const seen = [];
    let cursor = '';
    for (let k = 0; k < 10; k++) {
      const page = ok(await srv.get(`/v2/wallet/ledger?limit=2${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`, { auth: u.auth }));
      seen.push(...page.items);
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    assert.deepEqual(seen.map((i) => i.changeset.coins), [5, 4, 3, 2, 1], 'newest first, only the caller\'s');
    assert.deepEqual(seen, await ledger(u));
    assert.equal(ledgerSum(seen, 'coins'), (await wallet(u)).coins);
    for (const q of ['limit=0', 'limit=101', 'limit=x', 'cursor=nonsense']) {
      const res = await srv.get(`/v2/wallet/ledger?${q}`, { auth: u.auth });
      assert.equal(res.status, 400, `${q}: ${res.text}`);
    }
    assert.equal((await srv.get('/v2/wallet/ledger')).status, 401);
  });

  test('a deleted account takes its ledger with it', async () => {
    const u = await user();
    ok(await update([{ user_id: u.uid, changeset: { coins: 3 } }]));
    ok(await update([{ user_id: u.uid, changeset: { coins: -1 } }]));
    assert.equal((await ledger(u)).length, 2);
    const del = await srv.del('/v2/account', { auth: u.auth });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(await ledger(u), []);
    rpcErr(await update([{ user_id: u.uid, changeset: { coins: 1 } }]), 404, 5, 'gone');
  });
});

describe('shop catalog (console API)', () => {
  before(async () => {
    const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
    consoleToken = ok(res, 'console login').token;
  });
  const con = { consolePort: true, get auth() { return bearer(consoleToken); } };
  const put = (id, body) => srv.request('PUT', `/v2/console/shop/${id}`, { body, consolePort: true, auth: bearer(consoleToken) });
  const list = async () => ok(await srv.get('/v2/console/shop', con), 'list').items ?? [];

  function consoleErr(res, status, grpc, what) {
    assert.equal(res.status, status, `${what} -> ${res.status} ${res.text}`);
    assert.equal(res.json?.code, grpc, `${what}: ${res.text}`);
    assert.ok(res.json.message, `${what}: message`);
  }

  test('create, replace, disable; every change shows in the list at once', async () => {
    const id = randomId('item-', 12);
    const def = { name: 'Sword', description: 'sharp', category: 'weapons', price: { coins: 100 }, grants: { items: { sword: 1 }, currencies: { xp: 5 } }, stock: 10, user_limit: 2, start_time: 1000, end_time: 2000000000, metadata: { rarity: 'rare' } };
    const item = ok(await put(id, def), 'create');
    assert.deepEqual(item, { id, name: 'Sword', description: 'sharp', category: 'weapons', price: { coins: 100 }, grants: { items: { sword: 1 }, currencies: { xp: 5 } }, stock: '10', user_limit: '2', start_time: '1000', end_time: '2000000000', metadata: { rarity: 'rare' } });
    assert.deepEqual((await list()).find((i) => i.id === id), item);
    // replace: the whole definition, lowerCamel aliases accepted
    const again = ok(await put(id, { id, name: 'Sword+', grants: { items: { sword: 2 } }, userLimit: 1 }), 'replace');
    assert.deepEqual(again, { id, name: 'Sword+', grants: { items: { sword: 2 } }, stock: '-1', user_limit: '1' });
    // what the list shows can be sent back unchanged
    ok(await put(id, again), 'round trip');
    assert.deepEqual((await list()).find((i) => i.id === id), again);
    ok(await srv.post(`/v2/console/shop/${id}/disable`, {}, con), 'disable');
    assert.equal((await list()).find((i) => i.id === id).disabled, true);
    consoleErr(await srv.post('/v2/console/shop/no-such-item/disable', {}, con), 404, 5, 'disable unknown');
  });

  test('bad definitions are refused and change nothing', async () => {
    const id = randomId('item-', 12);
    const good = { name: 'Potion', price: { coins: 5 }, grants: { items: { potion: 1 } } };
    const stored = ok(await put(id, good));
    const bad = [
      { ...good, name: '' },
      { ...good, name: 'x'.repeat(129) },
      { ...good, price: { coins: 0 } },
      { ...good, price: { coins: -5 } },
      { ...good, price: { 'bad currency': 5 } },
      { ...good, grants: {} },
      { ...good, grants: { items: { potion: 0 } } },
      { ...good, grants: { items: { potion: 1.5 } } },
      { ...good, stock: -2 },
      { ...good, user_limit: -1 },
      { ...good, start_time: 100, end_time: 50 },
      { ...good, metadata: 'text' },
      { ...good, id: 'another-id' },
    ];
    for (const b of bad) consoleErr(await put(id, b), 400, 3, JSON.stringify(b).slice(0, 80));
    const raw = await srv.request('PUT', `/v2/console/shop/${id}`, { body: '{"name":', consolePort: true, auth: bearer(consoleToken), headers: { 'content-type': 'application/json' } });
    assert.equal(raw.status, 400, raw.text);
    consoleErr(await put('bad%20id', good), 400, 3, 'bad id in the path');
    assert.deepEqual((await list()).find((i) => i.id === id), stored);
    assert.equal((await list()).filter((i) => i.id === 'another-id').length, 0);
  });

  test('concurrent changes: the cache ends with every one of them', async () => {
    const ids = Array.from({ length: 12 }, () => randomId('conc-', 10));
    const res = await Promise.all(ids.map((id, k) => put(id, { name: `n${k}`, grants: { currencies: { coins: k + 1 } } })));
    for (const r of res) assert.equal(r.status, 200, r.text);
    const seen = new Map((await list()).map((i) => [i.id, i]));
    for (const [k, id] of ids.entries()) assert.equal(seen.get(id)?.name, `n${k}`, id);
  });

  test('GET /v2/shop: only items on sale now', async () => {
    const u = await user();
    const now = Math.floor(Date.now() / 1000);
    const on = randomId('on-', 10), off = randomId('off-', 10), later = randomId('later-', 10), past = randomId('past-', 10);
    const g = { grants: { items: { thing: 1 } } };
    ok(await put(on, { name: 'On', ...g }));
    ok(await put(off, { name: 'Off', ...g, disabled: true }));
    ok(await put(later, { name: 'Later', ...g, start_time: now + 3600 }));
    ok(await put(past, { name: 'Past', ...g, start_time: now - 7200, end_time: now - 3600 }));
    const ids = (ok(await srv.get('/v2/shop', { auth: u.auth })).items ?? []).map((i) => i.id);
    assert.ok(ids.includes(on));
    for (const id of [off, later, past]) assert.ok(!ids.includes(id), `${id} is not on sale`);
    assert.equal((await srv.get('/v2/shop')).status, 401);
  });

  test('the console needs its own token', async () => {
    const u = await user();
    const res = await srv.get('/v2/console/shop', { consolePort: true, auth: u.auth });
    assert.equal(res.status, 401, res.text);
  });

  test('the cache loads from the database at start', async () => {
    const id = randomId('item-', 12);
    const item = ok(await put(id, { name: 'Shield', grants: { items: { shield: 1 } }, stock: 0 }));
    assert.equal(item.stock, '0', 'a sold-out item shows its stock');
    await srv.restart();
    const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
    consoleToken = ok(res).token;
    assert.deepEqual((await list()).find((i) => i.id === id), item);
  });
});

describe('purchases and inventory', () => {
  let ct;
  before(async () => {
    const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
    ct = ok(res, 'console login').token;
  });
  const put = async (id, body) => ok(await srv.request('PUT', `/v2/console/shop/${id}`, { body, consolePort: true, auth: bearer(ct) }), `put ${id}`);
  const buy = (u, item_id, idempotency_key) => srv.post('/v2/shop/purchase', { item_id, idempotency_key }, { auth: u.auth });
  const inventory = async (u) => Object.fromEntries((ok(await srv.get('/v2/inventory', { auth: u.auth }), 'inventory').items ?? []).map((i) => [i.item_id, Number(i.count)]));
  const consume = (u, item_id, count) => srv.post('/v2/inventory/consume', { item_id, count }, { auth: u.auth });
  function err(res, status, grpc, what) {
    assert.equal(res.status, status, `${what} -> ${res.status} ${res.text}`);
    assert.equal(res.json?.code, grpc, `${what}: ${res.text}`);
    assert.ok(res.json.message, `${what}: message`);
  }
  async function rich(coins) {
    const u = await user();
    ok(await update([{ user_id: u.uid, changeset: { coins } }]), 'credit');
    return u;
  }
  async function checkLedger(u) {
    const w = await wallet(u), items = await ledger(u);
    for (const c of new Set([...Object.keys(w), ...items.flatMap((i) => Object.keys(i.changeset ?? {}))]))
      assert.equal(ledgerSum(items, c), w[c] ?? 0, `balance of ${c} == sum of the ledger`);
    return items;
  }

  test('a purchase debits, grants items and currencies, and returns its receipt', async () => {
    const id = randomId('sword-', 12);
    await put(id, { name: 'Sword', price: { coins: 30 }, grants: { items: { sword: 1, gem: 3 }, currencies: { xp: 7 } } });
    const u = await rich(100);
    const r = ok(await buy(u, id, 'first'), 'buy');
    assert.deepEqual([r.receipt.item_id, r.receipt.price, r.receipt.grants], [id, { coins: 30 }, { items: { sword: 1, gem: 3 }, currencies: { xp: 7 } }]);
    assert.match(r.receipt.id, /^[0-9a-f-]{36}$/);
    assert.match(r.receipt.create_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(JSON.parse(r.wallet), { coins: 70, xp: 7 });
    assert.deepEqual(await wallet(u), { coins: 70, xp: 7 });
    assert.deepEqual(await inventory(u), { sword: 1, gem: 3 });
    const entry = (await checkLedger(u)).find((i) => i.metadata?.receipt === r.receipt.id);
    assert.deepEqual([entry?.changeset, entry?.metadata], [{ coins: -30, xp: 7 }, { receipt: r.receipt.id, item: id }]);
    // a second purchase adds up
    ok(await buy(u, id, 'second'), 'buy again');
    assert.deepEqual(await inventory(u), { sword: 2, gem: 6 });
    assert.deepEqual(await wallet(u), { coins: 40, xp: 14 });
    await checkLedger(u);
  });

  test('one idempotency key charges once, also when sent 10 times at once', async () => {
    const id = randomId('pot-', 12);
    await put(id, { name: 'Potion', price: { coins: 10 }, grants: { items: { potion: 1 } } });
    const u = await rich(1000);
    const first = ok(await buy(u, id, 'same-key'));
    assert.equal(first.replayed, undefined, 'a new purchase');
    const retry = ok(await buy(u, id, 'same-key'), 'retry');
    assert.deepEqual([retry.receipt, retry.wallet, retry.replayed], [first.receipt, first.wallet, true]);
    const res = await Promise.all(Array.from({ length: 10 }, () => buy(u, id, 'burst')));
    const ids = new Set(res.map((r) => ok(r, 'burst').receipt.id));
    assert.equal(ids.size, 1, 'one receipt for one key');
    assert.deepEqual(await wallet(u), { coins: 980 });
    assert.deepEqual(await inventory(u), { potion: 2 });
    assert.equal((await checkLedger(u)).length, 3, 'the credit and two purchases');
  });

  test('20 buyers of the last one: exactly one gets it', async () => {
    const id = randomId('last-', 12);
    await put(id, { name: 'Last', price: { coins: 5 }, grants: { items: { relic: 1 } }, stock: 1 });
    const users = await Promise.all(Array.from({ length: 20 }, () => rich(5)));
    const res = await Promise.all(users.map((u) => buy(u, id, 'k')));
    assert.equal(res.filter((r) => r.status === 200).length, 1, res.map((r) => r.status).join(' '));
    for (const r of res.filter((r) => r.status !== 200)) err(r, 400, 3, 'sold out');
    for (const [k, u] of users.entries()) {
      const got = res[k].status === 200;
      assert.deepEqual(await wallet(u), { coins: got ? 0 : 5 });
      assert.deepEqual(await inventory(u), got ? { relic: 1 } : {});
    }
    const shown = ok(await srv.get('/v2/console/shop', { consolePort: true, auth: bearer(ct) })).items.find((i) => i.id === id);
    assert.equal(shown.stock, '0', 'the catalog shows it sold out');
  });

  test('refusals change nothing: limit, funds, off sale, unknown, bad input', async () => {
    const lim = randomId('lim-', 12), off = randomId('off-', 12), later = randomId('later-', 12);
    await put(lim, { name: 'Limited', price: { coins: 1 }, grants: { currencies: { gems: 1 } }, user_limit: 2 });
    await put(off, { name: 'Off', grants: { items: { x: 1 } }, disabled: true });
    await put(later, { name: 'Later', grants: { items: { x: 1 } }, start_time: Math.floor(Date.now() / 1000) + 3600 });
    const u = await rich(3);
    ok(await buy(u, lim, 'a'));
    ok(await buy(u, lim, 'b'));
    err(await buy(u, lim, 'c'), 400, 3, 'per-user limit');
    assert.deepEqual(await wallet(u), { coins: 1, gems: 2 });
    const big = randomId('big-', 12);
    await put(big, { name: 'Big', price: { coins: 2, gold: 1 }, grants: { items: { y: 1 } }, stock: 5 });
    err(await buy(u, big, 'd'), 400, 9, 'insufficient funds');
    assert.deepEqual(await wallet(u), { coins: 1, gems: 2 });
    assert.deepEqual(await inventory(u), {});
    assert.equal(ok(await srv.get('/v2/console/shop', { consolePort: true, auth: bearer(ct) })).items.find((i) => i.id === big).stock, '5', 'stock kept');
    // the refused key is free: a later purchase with it works once the wallet can pay
    err(await buy(u, off, 'e'), 400, 3, 'disabled');
    err(await buy(u, later, 'f'), 400, 3, 'not on sale yet');
    err(await buy(u, 'no-such-item', 'g'), 404, 5, 'unknown');
    err(await buy(u, lim, ''), 400, 3, 'empty key');
    err(await buy(u, lim, 'k'.repeat(65)), 400, 3, 'long key');
    err(await buy(u, 'bad id', 'h'), 400, 3, 'bad item id');
    err(await srv.post('/v2/shop/purchase', { item_id: lim }, { auth: u.auth }), 400, 3, 'no key');
    const raw = await srv.request('POST', '/v2/shop/purchase', { body: '{"item_id":', auth: u.auth, headers: { 'content-type': 'application/json' } });
    assert.equal(raw.status, 400, raw.text);
    assert.equal((await srv.post('/v2/shop/purchase', { item_id: lim, idempotency_key: 'z' })).status, 401);
    assert.deepEqual(await wallet(u), { coins: 1, gems: 2 });
    assert.equal((await checkLedger(u)).length, 3);
    ok(await update([{ user_id: u.uid, changeset: { coins: 1, gold: 1 } }]));
    ok(await buy(u, big, 'd'), 'the refused key, now paid');
    assert.deepEqual(await inventory(u), { y: 1 });
    await checkLedger(u);
  });

  test('consume: never below zero, the row goes at 0', async () => {
    const id = randomId('pack-', 12);
    await put(id, { name: 'Pack', grants: { items: { arrow: 5 } } });
    const u = await user();
    ok(await buy(u, id, 'p'));
    err(await consume(u, 'arrow', 6), 400, 3, 'more than held');
    err(await consume(u, 'arrow', 0), 400, 3, 'zero');
    err(await consume(u, 'arrow', 1000001), 400, 3, 'over the limit');
    err(await consume(u, 'arrow', 1.5), 400, 3, 'fraction');
    err(await consume(u, 'nothing', 1), 400, 3, 'not held');
    const raw = await srv.request('POST', '/v2/inventory/consume', { body: '[', auth: u.auth, headers: { 'content-type': 'application/json' } });
    assert.equal(raw.status, 400, raw.text);
    assert.deepEqual(await inventory(u), { arrow: 5 });
    assert.deepEqual(ok(await consume(u, 'arrow', 2)), { item_id: 'arrow', count: '3' });
    const res = await Promise.all(Array.from({ length: 6 }, () => consume(u, 'arrow', 1)));
    assert.equal(res.filter((r) => r.status === 200).length, 3, 'only what is held');
    assert.deepEqual(await inventory(u), {});
    assert.deepEqual(ok(await srv.get('/v2/inventory', { auth: u.auth })), {});
  });

  test('an account with inventory and receipts can be deleted (the 0007 trigger runs)', async () => {
    const id = randomId('gift-', 12);
    await put(id, { name: 'Gift', grants: { items: { box: 1 } } });
    const u = await user();
    ok(await buy(u, id, 'x'));
    ok(await srv.del('/v2/account', { auth: u.auth }), 'delete');
    const v = await user();
    ok(await buy(v, id, 'x'));
    assert.deepEqual(await inventory(v), { box: 1 });
  });
});

describe('built-in RPCs and purchase hooks', () => {
  let ct;
  before(async () => {
    const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
    ct = ok(res, 'console login').token;
  });
  const put = async (id, body) => ok(await srv.request('PUT', `/v2/console/shop/${id}`, { body, consolePort: true, auth: bearer(ct) }), `put ${id}`);
  /** A built-in RPC with the user's session, as nakama-js client.rpc sends it (a JSON string). */
  const call = (u, id, input) => srv.post(`/v2/rpc/${id}`, JSON.stringify(JSON.stringify(input)), { auth: u.auth, headers: { 'content-type': 'application/json' } });
  const payload = (res, what) => JSON.parse(ok(res, what).payload);
  async function rich(coins) {
    const u = await user();
    ok(await update([{ user_id: u.uid, changeset: { coins } }]), 'credit');
    return u;
  }

  test('every operation answers over RPC what its REST route answers', async () => {
    const id = randomId('rpc-', 12);
    await put(id, { name: 'Arrows', price: { coins: 4 }, grants: { items: { arrow: 10 }, currencies: { xp: 1 } } });
    const u = await rich(10);
    const cat = payload(await call(u, 'shop_catalog', {}), 'catalog');
    assert.deepEqual(cat, ok(await srv.get('/v2/shop', { auth: u.auth })));
    assert.ok(cat.items.some((i) => i.id === id));
    const bought = payload(await call(u, 'shop_purchase', { item_id: id, idempotency_key: 'r1' }), 'purchase');
    assert.deepEqual([bought.receipt.item_id, JSON.parse(bought.wallet)], [id, { coins: 6, xp: 1 }]);
    // the same key over REST is the same purchase
    const again = ok(await srv.post('/v2/shop/purchase', { item_id: id, idempotency_key: 'r1' }, { auth: u.auth }));
    assert.deepEqual([again.receipt, again.replayed], [bought.receipt, true]);
    assert.deepEqual(payload(await call(u, 'inventory_list', {}), 'inventory'), ok(await srv.get('/v2/inventory', { auth: u.auth })));
    assert.deepEqual(payload(await call(u, 'inventory_consume', { item_id: 'arrow', count: 3 }), 'consume'), { item_id: 'arrow', count: '7' });
    assert.deepEqual(payload(await call(u, 'INVENTORY_LIST', {}), 'ids are case-insensitive').items.map((i) => [i.item_id, i.count]), [['arrow', '7']]);
    const page = payload(await call(u, 'wallet_ledger', { limit: 1 }), 'ledger page');
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0].metadata.receipt, bought.receipt.id, 'newest first');
    const rest = ok(await srv.get(`/v2/wallet/ledger?limit=5&cursor=${encodeURIComponent(page.cursor)}`, { auth: u.auth }));
    assert.deepEqual(payload(await call(u, 'wallet_ledger', { limit: 5, cursor: page.cursor }), 'next page'), rest);
    assert.deepEqual(rest.items.map((i) => i.changeset), [{ coins: 10 }]);
    // an empty payload reads as {}
    const empty = await srv.post('/v2/rpc/wallet_ledger', '', { auth: u.auth });
    assert.equal(JSON.parse(ok(empty).payload).items.length, 2);
  });

  test('refusals carry the REST call\'s codes and change nothing', async () => {
    const id = randomId('rpcx-', 12);
    await put(id, { name: 'Dear', price: { coins: 50 }, grants: { items: { gem: 1 } } });
    const u = await rich(10);
    rpcErr(await call(u, 'shop_purchase', { item_id: id, idempotency_key: 'x' }), 400, 9, 'insufficient funds');
    rpcErr(await call(u, 'shop_purchase', { item_id: 'no-such-item', idempotency_key: 'x' }), 404, 5, 'unknown item');
    rpcErr(await call(u, 'shop_purchase', { item_id: id }), 400, 3, 'no key');
    rpcErr(await call(u, 'shop_purchase', [1, 2]), 400, 3, 'not an object');
    rpcErr(await srv.post('/v2/rpc/shop_purchase', '"{\\"item_id\\":"', { auth: u.auth }), 400, 3, 'malformed JSON');
    rpcErr(await call(u, 'inventory_consume', { item_id: 'gem', count: 1 }), 400, 3, 'nothing to consume');
    rpcErr(await call(u, 'inventory_consume', { item_id: 'gem', count: -1 }), 400, 3, 'negative count');
    rpcErr(await call(u, 'wallet_ledger', { limit: 101 }), 400, 3, 'limit');
    rpcErr(await call(u, 'wallet_ledger', { cursor: 'nonsense' }), 400, 3, 'cursor');
    rpcErr(await call(u, 'wallet_ledger', { cursor: 7 }), 400, 3, 'cursor type');
    // the HTTP key names no user: the economy's RPCs need a session
    rpcErr(await srv.post('/v2/rpc/inventory_list?http_key=defaulthttpkey', '"{}"'), 401, 16, 'HTTP key');
    assert.deepEqual(await wallet(u), { coins: 10 });
    assert.equal((await ledger(u)).length, 1);
  });

  test('hooks on the REST call govern the RPC form: refuse, bonus once, rewrite', async () => {
    const forbidden = randomId('forbidden-', 12), bonus = randomId('bonus-', 12);
    await put(forbidden, { name: 'No', grants: { items: { x: 1 } } });
    await put(bonus, { name: 'Yes', price: { coins: 1 }, grants: { items: { y: 1 } } });
    const u = await rich(10);
    rpcErr(await call(u, 'shop_purchase', { item_id: forbidden, idempotency_key: 'f' }), 403, 7, 'refused by the before hook (RPC)');
    const rest = await srv.post('/v2/shop/purchase', { item_id: forbidden, idempotency_key: 'f' }, { auth: u.auth });
    assert.equal(rest.status, 403, rest.text);
    ok(await call(u, 'shop_purchase', { item_id: bonus, idempotency_key: 'b1' }), 'bonus item (RPC)');
    ok(await srv.post('/v2/shop/purchase', { item_id: bonus, idempotency_key: 'b2' }, { auth: u.auth }), 'bonus item (REST)');
    // retries of either key are no purchases: no bonus for them
    ok(await call(u, 'shop_purchase', { item_id: bonus, idempotency_key: 'b2' }), 'retry');
    ok(await srv.post('/v2/shop/purchase', { item_id: bonus, idempotency_key: 'b1' }, { auth: u.auth }), 'retry');
    assert.deepEqual(await wallet(u), { coins: 8, bonus: 2 });
    const items = await ledger(u);
    assert.equal(items.filter((i) => i.metadata?.why === 'bonus').length, 2, 'one bonus per purchase');
    assert.equal(items.reduce((s, i) => s + (i.changeset.bonus ?? 0), 0), 2);
    // a before hook's replacement payload is what the built-in reads
    const capped = payload(await call(u, 'wallet_ledger', { limit: 50, capped: true }), 'capped');
    assert.equal(capped.items.length, 1);
  });

  test('over the socket: rpc answers with the payload, refusals are error envelopes', async () => {
    const id = randomId('ws-', 12);
    await put(id, { name: 'Socket', price: { coins: 2 }, grants: { items: { torch: 1 } } });
    const u = await rich(3);
    const sock = await wsConnect(srv, { token: u.auth.slice('Bearer '.length) });
    let cid = 0;
    const rpcWs = async (rpc) => {
      sock.inbox.send({ cid: String(++cid), rpc });
      const reply = await sock.inbox.next();
      assert.equal(reply.cid, String(cid), JSON.stringify(reply));
      return reply;
    };
    try {
      const r = await rpcWs({ id: 'shop_purchase', payload: JSON.stringify({ item_id: id, idempotency_key: 'w' }) });
      assert.equal(r.rpc?.id, 'shop_purchase', JSON.stringify(r));
      assert.equal(JSON.parse(r.rpc.payload).receipt.item_id, id);
      const inv = await rpcWs({ id: 'inventory_list' });
      assert.deepEqual(JSON.parse(inv.rpc.payload).items.map((i) => [i.item_id, i.count]), [['torch', '1']]);
      const refused = await rpcWs({ id: 'shop_purchase', payload: JSON.stringify({ item_id: id, idempotency_key: 'w2' }) });
      assert.equal(refused.error?.code, 7, JSON.stringify(refused)); // RUNTIME_FUNCTION_EXCEPTION
      assert.match(refused.error.message, /insufficient|funds/i);
    } finally {
      sock.ws.close();
    }
    assert.deepEqual(await wallet(u), { coins: 1 });
  });
});
