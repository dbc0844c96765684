// The economy's admin side: the console's view of a user's wallet and inventory, grants and
// revokes with a reason (refusals change nothing, the ledger records reason and admin),
// receipts and refunds (wallet, inventory, stock and per-user limit back; once, also when
// sent concurrently; the not-enough case and force), the console token required; and the
// ABI 1.6 module entries through tests/modules/inventory_mod.c (item properties, revokes
// never below zero, catalog items put and disabled). After every scenario the balances equal
// the sum of the ledger. Run by meson on SQLite and PostgreSQL; see tests/lib/server.mjs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer, basic, decodeJwt, randomId } from '../lib/server.mjs';

let srv, dir, ct;

before(async () => {
  assert.ok(process.env.TAVERN_TEST_MODULES, 'TAVERN_TEST_MODULES is set by meson');
  dir = mkdtempSync(join(tmpdir(), 'tavern-econ-admin-'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'inventory_mod.so'), join(dir, 'inventory_mod.so'));
  srv = await startServer(['--module-path', dir]);
  const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
  ct = ok(res, 'console login').token;
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
  assert.ok(res.json.message, `${what}: message`);
  return res.json.message;
}

const cget = (path, auth = bearer(ct)) => srv.get(`/v2/console${path}`, { consolePort: true, auth });
const cpost = (path, body, auth = bearer(ct)) => srv.post(`/v2/console${path}`, body, { consolePort: true, auth });
const grant = (u, body) => cpost(`/economy/${u.uid}/grant`, body);
const revoke = (u, body) => cpost(`/economy/${u.uid}/revoke`, body);
const refund = (rid, body) => cpost(`/receipt/${rid}/refund`, body);
const put = async (id, def) => ok(await srv.put(`/v2/console/shop/${id}`, def, { consolePort: true, auth: bearer(ct) }), `put ${id}`);
const buy = (u, item_id, key) => srv.post('/v2/shop/purchase', { item_id, idempotency_key: key }, { auth: u.auth });
const consume = (u, item_id, count) => srv.post('/v2/inventory/consume', { item_id, count }, { auth: u.auth });
const shopItem = async (id) => (ok(await cget('/shop'), 'catalog').items ?? []).find((i) => i.id === id);

/** Calls an RPC of inventory_mod with the HTTP key and a raw payload. */
function rpc(id, payload) {
  return srv.post(`/v2/rpc/${id}?unwrap`, payload, { auth: basic('defaulthttpkey'), headers: { 'content-type': 'text/plain' } });
}

async function user() {
  const s = ok(await srv.authenticate('device', { id: randomId('adm-', 32) }), 'sign-up');
  return { uid: decodeJwt(s.token).payload.uid, auth: bearer(s.token) };
}

async function view(u) {
  return ok(await cget(`/economy/${u.uid}`), 'view');
}

/** The wallet as the account shows it (Nakama's string), parsed. */
async function wallet(u) {
  return JSON.parse(ok(await srv.get('/v2/account', { auth: u.auth }), 'account').wallet);
}

/** The inventory as the player sees it: {item_id: count}. */
async function inventory(u) {
  const items = ok(await srv.get('/v2/inventory', { auth: u.auth }), 'inventory').items ?? [];
  return Object.fromEntries(items.map((i) => [i.item_id, Number(i.count)]));
}

/** Every ledger entry of u through the console, newest first, 7 a page. */
async function ledger(u) {
  const all = [];
  let cursor = '';
  for (let k = 0; k < 100; k++) {
    const page = ok(await cget(`/economy/${u.uid}/ledger?limit=7${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`), 'ledger');
    all.push(...(page.items ?? []));
    if (!page.cursor) return all;
    cursor = page.cursor;
  }
  assert.fail('the ledger never ended');
}

/** Checks balance == sum of the ledger for every currency of u; returns the ledger. */
async function balanced(u) {
  const w = await wallet(u), items = await ledger(u);
  const shown = (await view(u)).wallet ?? {};
  for (const c of new Set([...Object.keys(w), ...items.flatMap((i) => Object.keys(i.changeset ?? {}))])) {
    const sum = items.reduce((s, it) => s + (it.changeset?.[c] ?? 0), 0);
    assert.equal(sum, w[c] ?? 0, `balance of ${c} == sum of the ledger`);
    assert.equal(shown[c] ?? 0, sum, `the console shows ${c} as the account does`);
  }
  return items;
}

describe('console: view, grant, revoke', () => {
  test('the view shows wallet and inventory; a grant writes one ledger entry with reason and admin', async () => {
    const u = await user();
    const v0 = await view(u);
    assert.deepEqual(Object.keys(v0).sort(), ['user_id', 'username'], 'an empty economy leaves wallet and items out');
    assert.equal(v0.user_id, u.uid);
    const g = ok(await grant(u, { currencies: { coins: 100, gems: 5 }, items: { sword: 2, potion: 3 }, reason: 'welcome pack' }), 'grant');
    assert.deepEqual(g.wallet, { coins: 100, gems: 5 });
    assert.deepEqual(g.items.map((i) => [i.item_id, i.count]), [['potion', '3'], ['sword', '2']]);
    assert.match(g.ledger_id, /^[0-9a-f-]{36}$/);
    const v = await view(u);
    assert.deepEqual([v.wallet, v.items], [g.wallet, g.items], 'the view matches the grant answer');
    assert.deepEqual(await wallet(u), { coins: 100, gems: 5 });
    assert.deepEqual(await inventory(u), { potion: 3, sword: 2 });
    const entries = await balanced(u);
    assert.equal(entries.length, 1);
    assert.deepEqual([entries[0].id, entries[0].changeset, entries[0].metadata],
      [g.ledger_id, { coins: 100, gems: 5 }, { op: 'grant', reason: 'welcome pack', admin: 'admin', items: { sword: 2, potion: 3 } }]);
    // the console's ledger is the player's own
    assert.deepEqual(ok(await srv.get('/v2/wallet/ledger', { auth: u.auth })).items, entries);
  });

  test('items only: still one ledger entry (an empty changeset, the items in its metadata)', async () => {
    const u = await user();
    ok(await grant(u, { items: { key: 1 }, reason: 'found it' }));
    ok(await revoke(u, { items: { key: 1 }, reason: 'lost it' }));
    const entries = await balanced(u);
    assert.deepEqual(entries.map((e) => [e.changeset, e.metadata.op, e.metadata.items, e.metadata.reason]),
      [[undefined, 'revoke', { key: -1 }, 'lost it'], [undefined, 'grant', { key: 1 }, 'found it']]);
    assert.deepEqual(await inventory(u), {}, 'revoked to 0: the row is gone');
  });

  test('revokes never go below zero: refused, nothing changed, no ledger entry', async () => {
    const u = await user();
    ok(await grant(u, { currencies: { coins: 10 }, items: { arrow: 5 }, reason: 'start' }));
    err(await revoke(u, { currencies: { coins: 11 }, reason: 'too much' }), 400, 9, 'funds');
    err(await revoke(u, { currencies: { gold: 1 }, reason: 'never held' }), 400, 9, 'a currency never held');
    assert.match(err(await revoke(u, { items: { arrow: 6 }, reason: 'too many' }), 400, 3, 'items'), /arrow/);
    err(await revoke(u, { items: { shield: 1 }, reason: 'never held' }), 400, 3, 'an item never held');
    // a revoke is whole: the part that fits is not applied either
    err(await revoke(u, { currencies: { coins: 1 }, items: { arrow: 6 }, reason: 'mixed' }), 400, 3, 'mixed items');
    err(await revoke(u, { currencies: { coins: 11 }, items: { arrow: 1 }, reason: 'mixed' }), 400, 9, 'mixed funds');
    assert.deepEqual([await wallet(u), await inventory(u)], [{ coins: 10 }, { arrow: 5 }]);
    assert.equal((await balanced(u)).length, 1, 'only the grant');
    // exactly everything is fine; a zero balance is left out of the view
    const r = ok(await revoke(u, { currencies: { coins: 10 }, items: { arrow: 5 }, reason: 'all' }));
    assert.deepEqual([r.wallet, r.items], [undefined, undefined]);
    assert.deepEqual([await wallet(u), await inventory(u)], [{ coins: 0 }, {}]);
    await balanced(u);
  });

  test('bad input: a clear 400 (or 404 for an unknown user), nothing changed', async () => {
    const u = await user();
    ok(await grant(u, { currencies: { coins: 7 }, items: { gem: 1 }, reason: 'start' }));
    const many = (n, prefix) => Object.fromEntries(Array.from({ length: n }, (_, k) => [`${prefix}${k}`, 1]));
    const bad = [
      {}, { currencies: { coins: 1 } }, { currencies: { coins: 1 }, reason: '' },
      { currencies: { coins: 1 }, reason: 'x'.repeat(257) }, { currencies: { coins: 1 }, reason: 5 },
      { reason: 'nothing' }, { currencies: {}, items: {}, reason: 'empty' },
      { currencies: [1], reason: 'r' }, { currencies: { coins: 0 }, reason: 'r' },
      { currencies: { coins: -1 }, reason: 'r' }, { currencies: { coins: 1.5 }, reason: 'r' },
      { currencies: { coins: '5' }, reason: 'r' }, { currencies: { coins: 2 ** 53 }, reason: 'r' },
      { currencies: { 'two words': 1 }, reason: 'r' }, { currencies: many(33, 'c'), reason: 'r' },
      { items: 'sword', reason: 'r' }, { items: { sword: 0 }, reason: 'r' },
      { items: { sword: 1000001 }, reason: 'r' }, { items: { sword: '1' }, reason: 'r' },
      { items: { 'bad/id': 1 }, reason: 'r' }, { items: { ['x'.repeat(65)]: 1 }, reason: 'r' },
      { items: many(17, 'i'), reason: 'r' }, { currencies: { coins: 1 }, reason: 'r', note: 'typo' },
    ];
    for (const op of [grant, revoke])
      for (const b of bad) err(await op(u, b), 400, 3, `${op === grant ? 'grant' : 'revoke'} ${JSON.stringify(b).slice(0, 70)}`);
    for (const raw of ['{"reason":', '[1]', '"text"']) {
      const res = await srv.request('POST', `/v2/console/economy/${u.uid}/grant`, { body: raw, consolePort: true, auth: bearer(ct), headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 400, `${raw}: ${res.text}`);
    }
    err(await cpost('/economy/not-a-uuid/grant', { items: { gem: 1 }, reason: 'r' }), 400, 3, 'user id');
    const ghost = { uid: '3c0f5a7e-0000-4000-8000-000000000000' };
    err(await grant(ghost, { items: { gem: 1 }, reason: 'r' }), 404, 5, 'unknown user');
    err(await revoke(ghost, { items: { gem: 1 }, reason: 'r' }), 404, 5, 'unknown user');
    err(await cget(`/economy/${ghost.uid}`), 404, 5, 'view unknown');
    err(await cget('/economy/nope'), 400, 3, 'view bad id');
    assert.deepEqual([await wallet(u), await inventory(u)], [{ coins: 7 }, { gem: 1 }]);
    assert.equal((await balanced(u)).length, 1);
    // the limits themselves are accepted
    ok(await grant(u, { currencies: many(32, 'c'), items: many(16, 'i'), reason: 'x'.repeat(256) }), 'at the limits');
    ok(await grant(u, { items: { ['x'.repeat(64)]: 1000000 }, reason: 'big' }), 'a 64-byte id, 10^6 of it');
    await balanced(u);
  });

  test('the console token is required: none, or a game session token, answers 401', async () => {
    const u = await user();
    const rid = '3c0f5a7e-0000-4000-8000-000000000001';
    for (const auth of [null, u.auth, basic()]) { // null: no header (undefined means the console token)
      for (const res of [
        await cget(`/economy/${u.uid}`, auth), await cget(`/economy/${u.uid}/ledger`, auth),
        await cget(`/economy/${u.uid}/receipts`, auth),
        await cpost(`/economy/${u.uid}/grant`, { currencies: { coins: 1 }, reason: 'r' }, auth),
        await cpost(`/economy/${u.uid}/revoke`, { currencies: { coins: 1 }, reason: 'r' }, auth),
        await cpost(`/receipt/${rid}/refund`, { reason: 'r' }, auth),
      ]) assert.equal(res.status, 401, res.text);
    }
    // and the API port does not serve these routes at all
    assert.equal((await srv.post(`/v2/console/economy/${u.uid}/grant`, { currencies: { coins: 1 }, reason: 'r' }, { auth: u.auth })).status, 404);
    assert.deepEqual(await wallet(u), {});
  });
});

describe('console: receipts and refunds', () => {
  test('a refund gives the price back, takes the grants, returns the stock, frees the limit', async () => {
    const id = randomId('pack-', 12);
    await put(id, { name: 'Pack', price: { coins: 30 }, grants: { items: { gem: 3 }, currencies: { xp: 5 } }, stock: 2, user_limit: 1 });
    const u = await user();
    ok(await grant(u, { currencies: { coins: 100 }, reason: 'funds' }));
    const r = ok(await buy(u, id, 'first'), 'buy').receipt;
    err(await buy(u, id, 'second'), 400, 3, 'the per-user limit');
    assert.equal((await shopItem(id)).stock, '1');
    const list = ok(await cget(`/economy/${u.uid}/receipts`)).receipts;
    assert.deepEqual(list.map((x) => [x.id, x.item_id, x.idempotency_key, x.refund_time]), [[r.id, id, 'first', undefined]]);

    const out = ok(await refund(r.id, { reason: 'bought by mistake' }), 'refund');
    assert.deepEqual([out.user_id, out.wallet, out.items], [u.uid, { coins: 100 }, undefined], 'xp back to 0, gems gone');
    assert.deepEqual([out.receipt.id, out.receipt.refund_reason, out.receipt.refund_ledger_id], [r.id, 'bought by mistake', out.ledger_id]);
    assert.match(out.receipt.refund_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual([await wallet(u), await inventory(u)], [{ coins: 100, xp: 0 }, {}]);
    assert.equal((await shopItem(id)).stock, '2', 'the stock got its one back');
    const entries = await balanced(u);
    assert.deepEqual([entries[0].id, entries[0].changeset, entries[0].metadata], [out.ledger_id, { coins: 30, xp: -5 },
      { op: 'refund', reason: 'bought by mistake', admin: 'admin', receipt: r.id, item: id, items: { gem: -3 } }]);
    const shown = ok(await cget(`/economy/${u.uid}/receipts`)).receipts[0];
    assert.deepEqual([shown.refund_time, shown.refund_reason, shown.refund_ledger_id], [out.receipt.refund_time, 'bought by mistake', out.ledger_id]);

    err(await refund(r.id, { reason: 'again' }), 409, 6, 'a second refund');
    // the refunded receipt no longer counts toward the limit; its key still returns it
    const replay = ok(await buy(u, id, 'first'));
    assert.deepEqual([replay.receipt.id, replay.replayed], [r.id, true], 'the old key replays, charging nothing');
    assert.deepEqual(replay.receipt, shown, 'the replayed receipt says it was refunded');
    assert.deepEqual(await wallet(u), { coins: 100, xp: 0 });
    ok(await buy(u, id, 'second'), 'bought again after the refund');
    assert.deepEqual([await wallet(u), await inventory(u)], [{ coins: 70, xp: 5 }, { gem: 3 }]);
    assert.equal((await shopItem(id)).stock, '1');
    await balanced(u);
  });

  test('not enough left to take back: refused with nothing changed, unless forced', async () => {
    const id = randomId('box-', 12);
    await put(id, { name: 'Box', price: { coins: 10 }, grants: { items: { gem: 3, key: 1 }, currencies: { xp: 5 } }, stock: 5 });
    const u = await user();
    ok(await grant(u, { currencies: { coins: 10 }, reason: 'funds' }));
    const r = ok(await buy(u, id, 'k')).receipt;
    ok(await consume(u, 'gem', 2));
    const before = { w: await wallet(u), inv: await inventory(u), n: (await ledger(u)).length };
    assert.match(err(await refund(r.id, { reason: 'r' }), 400, 3, 'items used up'), /gem/);
    ok(await revoke(u, { currencies: { xp: 4 }, reason: 'spent' }));
    before.w = await wallet(u);
    before.n++;
    err(await refund(r.id, { reason: 'r', force: false }), 400, 3, 'still short of gems');
    ok(await grant(u, { items: { gem: 2 }, reason: 'make up the gems' }));
    before.inv = await inventory(u);
    before.n++;
    assert.match(err(await refund(r.id, { reason: 'r' }), 400, 9, 'xp spent'), /xp/);
    ok(await revoke(u, { items: { gem: 2 }, reason: 'take them again' }));
    before.inv = await inventory(u);
    before.n++;
    assert.deepEqual([await wallet(u), await inventory(u), (await ledger(u)).length], [before.w, before.inv, before.n], 'nothing changed');
    assert.equal(ok(await cget(`/economy/${u.uid}/receipts`)).receipts[0].refund_time, undefined, 'not refunded');
    assert.equal((await shopItem(id)).stock, '4');

    const out = ok(await refund(r.id, { reason: 'chargeback', force: true }), 'forced');
    assert.deepEqual([out.wallet, out.items], [{ coins: 10, xp: -4 }, undefined], 'xp negative, items down to 0');
    assert.deepEqual(out.receipt.refund_reason, 'chargeback');
    const entry = (await balanced(u))[0];
    assert.deepEqual([entry.changeset, entry.metadata], [{ coins: 10, xp: -5 },
      { op: 'refund', reason: 'chargeback', admin: 'admin', receipt: r.id, item: id, items: { gem: -1, key: -1 }, not_taken: { gem: 2 }, force: true }]);
    assert.equal((await shopItem(id)).stock, '5');
    err(await refund(r.id, { reason: 'again', force: true }), 409, 6, 'forced twice');
  });

  test('concurrent refunds of one receipt refund it once', async () => {
    const id = randomId('conc-', 12);
    await put(id, { name: 'Conc', price: { coins: 10 }, grants: { items: { orb: 1 } }, stock: 8 });
    const users = await Promise.all(Array.from({ length: 4 }, () => user()));
    const receipts = [];
    for (const u of users) {
      ok(await grant(u, { currencies: { coins: 20 }, reason: 'funds' }));
      ok(await grant(u, { items: { orb: 1 }, reason: 'a spare orb: a second take would not be refused' }));
      receipts.push(ok(await buy(u, id, 'k')).receipt);
    }
    // ten at once per receipt, forced or not, all receipts together
    const res = await Promise.all(receipts.flatMap((r) => Array.from({ length: 10 },
      (_, k) => refund(r.id, { reason: `try ${k}`, force: k % 2 === 1 }))));
    for (const [n, r] of receipts.entries()) {
      const mine = res.slice(n * 10, n * 10 + 10);
      assert.equal(mine.filter((x) => x.status === 200).length, 1, `${r.id}: ${mine.map((x) => x.status).join(' ')}`);
      for (const x of mine.filter((y) => y.status !== 200)) err(x, 409, 6, 'the others');
    }
    for (const u of users) {
      assert.deepEqual([await wallet(u), await inventory(u)], [{ coins: 20 }, { orb: 1 }], 'refunded once');
      assert.equal((await balanced(u)).filter((e) => e.metadata?.op === 'refund').length, 1);
    }
    assert.equal((await shopItem(id)).stock, '8', 'one back per receipt, once');
  });

  test('receipts page newest first; bad refunds and listings are refused', async () => {
    const id = randomId('cheap-', 12);
    await put(id, { name: 'Cheap', grants: { items: { pebble: 1 } } });
    const u = await user();
    const ids = [];
    for (let k = 0; k < 5; k++) ids.push(ok(await buy(u, id, `k${k}`)).receipt.id);
    const seen = [];
    let cursor = '';
    for (let k = 0; k < 10; k++) {
      const page = ok(await cget(`/economy/${u.uid}/receipts?limit=2${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`));
      assert.ok(page.receipts.length <= 2);
      seen.push(...page.receipts.map((r) => r.idempotency_key));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    // receipts of one second may share a create_time: the order is by time, then id
    assert.deepEqual([...seen].sort(), ['k0', 'k1', 'k2', 'k3', 'k4'], 'each receipt once');
    for (const q of ['limit=0', 'limit=101', 'limit=x', 'cursor=nonsense', 'cursor=1:not-a-uuid'])
      err(await cget(`/economy/${u.uid}/receipts?${q}`), 400, 3, q);
    err(await cget('/economy/3c0f5a7e-0000-4000-8000-000000000000/receipts'), 404, 5, 'unknown user');
    err(await cget('/economy/3c0f5a7e-0000-4000-8000-000000000000/ledger'), 404, 5, 'unknown user');
    err(await cget(`/economy/${u.uid}/ledger?cursor=nonsense`), 400, 3, 'ledger cursor');
    err(await refund('3c0f5a7e-0000-4000-8000-000000000000', { reason: 'r' }), 404, 5, 'unknown receipt');
    err(await refund('not-a-uuid', { reason: 'r' }), 400, 3, 'receipt id');
    for (const b of [{}, { reason: '' }, { reason: 'x'.repeat(257) }, { reason: 1 }, { reason: 'r', force: 'yes' }, { reason: 'r', forced: true }])
      err(await refund(ids[0], b), 400, 3, JSON.stringify(b).slice(0, 60));
    assert.equal(ok(await cget(`/economy/${u.uid}/receipts?limit=100`)).receipts.filter((r) => r.refund_time).length, 0);
    assert.deepEqual(await inventory(u), { pebble: 5 });
  });

  test('a deleted account: its view, receipts and refunds are gone', async () => {
    const id = randomId('gone-', 12);
    await put(id, { name: 'Gone', grants: { items: { leaf: 1 } } });
    const u = await user();
    const r = ok(await buy(u, id, 'k')).receipt;
    ok(await srv.del('/v2/account', { auth: u.auth }), 'delete');
    err(await cget(`/economy/${u.uid}`), 404, 5, 'view');
    err(await cget(`/economy/${u.uid}/receipts`), 404, 5, 'receipts');
    err(await refund(r.id, { reason: 'r' }), 404, 5, 'refund');
  });
});

describe('module host entries (ABI 1.6)', () => {
  test('inventory_grant with properties shows them to the player; NULL keeps, new ones replace', async () => {
    const u = await user();
    ok(await rpc('inv_grant', `${u.uid} sword 1 {"level":3,"skin":"gold"}`), 'grant with properties');
    const items = () => srv.get('/v2/inventory', { auth: u.auth }).then((r) => ok(r).items);
    assert.deepEqual((await items()).map((i) => [i.item_id, i.count, i.properties]), [['sword', '1', { level: 3, skin: 'gold' }]]);
    ok(await rpc('inv_grant', `${u.uid} sword 2`), 'grant without properties');
    assert.deepEqual((await items()).map((i) => [i.count, i.properties]), [['3', { level: 3, skin: 'gold' }]], 'kept');
    ok(await rpc('inv_grant', `${u.uid} sword 1 {"level":4}`));
    assert.deepEqual((await items()).map((i) => [i.count, i.properties]), [['4', { level: 4 }]], 'replaced');
    assert.deepEqual((await view(u)).items, await items(), 'the console shows them too');
    assert.deepEqual(ok(await rpc('inv_list_of', u.uid)), { items: await items() }, 'inventory_list is GET /v2/inventory');
    assert.deepEqual(ok(await rpc('inv_list_of', '3c0f5a7e-0000-4000-8000-000000000000')), {}, 'an unknown user has none');
    err(await rpc('inv_list_of', 'not-a-uuid'), 400, 3, 'not a UUID');
    // refused: bad properties, counts, ids, an unknown user; nothing changes
    for (const p of [`${u.uid} sword 1 [1]`, `${u.uid} sword 1 {"a":`, `${u.uid} sword 1 {"big":"${'x'.repeat(4100)}"}`,
      `${u.uid} sword 0`, `${u.uid} sword 1000001`, `${u.uid} bad/id 1`, 'not-a-uuid sword 1'])
      err(await rpc('inv_grant', p), 400, 3, p.slice(0, 60));
    err(await rpc('inv_grant', '3c0f5a7e-0000-4000-8000-000000000000 sword 1'), 404, 5, 'unknown user');
    assert.deepEqual((await items()).map((i) => [i.count, i.properties]), [['4', { level: 4 }]]);
    assert.deepEqual(await balanced(u), [], 'inventory entries write no ledger entry');
  });

  test('inventory_revoke never goes below zero; at 0 the item and its properties go', async () => {
    const u = await user();
    ok(await rpc('inv_grant', `${u.uid} shield 2 {"dents":1}`));
    err(await rpc('inv_revoke', `${u.uid} shield 3`), 400, 9, 'below zero: FAILED_PRECONDITION');
    err(await rpc('inv_revoke', `${u.uid} helmet 1`), 400, 9, 'never held');
    err(await rpc('inv_revoke', `${u.uid} shield 0`), 400, 3, 'zero');
    err(await rpc('inv_revoke', '3c0f5a7e-0000-4000-8000-000000000000 shield 1'), 404, 5, 'unknown user');
    assert.deepEqual(await inventory(u), { shield: 2 });
    ok(await rpc('inv_revoke', `${u.uid} shield 1`));
    assert.deepEqual(await inventory(u), { shield: 1 });
    ok(await rpc('inv_revoke', `${u.uid} shield 1`));
    assert.deepEqual(ok(await srv.get('/v2/inventory', { auth: u.auth })), {});
    ok(await rpc('inv_grant', `${u.uid} shield 1`));
    assert.equal(ok(await srv.get('/v2/inventory', { auth: u.auth })).items[0].properties, undefined, 'a new row starts without properties');
    // concurrent revokes take only what is there
    ok(await rpc('inv_grant', `${u.uid} arrow 5`));
    const res = await Promise.all(Array.from({ length: 8 }, () => rpc('inv_revoke', `${u.uid} arrow 1`)));
    assert.equal(res.filter((r) => r.status === 200).length, 5);
    assert.deepEqual(await inventory(u), { shield: 1 });
  });

  test('shop_item_put puts an item a player can buy; shop_item_disable takes it off sale', async () => {
    assert.ok(await shopItem('inv-mod-starter'), 'the module stocked the shop in its init');
    const id = randomId('mod-', 12);
    const item = ok(await rpc('shop_put', JSON.stringify({ id, name: 'Module item', price: { coins: 4 }, grants: { items: { rune: 2 } }, stock: 1 })), 'shop_put');
    assert.deepEqual([item.id, item.stock, item.price], [id, '1', { coins: 4 }]);
    assert.deepEqual(await shopItem(id), item, 'the cache follows at once');
    const u = await user();
    ok(await grant(u, { currencies: { coins: 5 }, reason: 'funds' }));
    const r = ok(await buy(u, id, 'k'), 'buy the module item').receipt;
    assert.deepEqual([await wallet(u), await inventory(u)], [{ coins: 1 }, { rune: 2 }]);
    assert.equal((await shopItem(id)).stock, '0');
    ok(await refund(r.id, { reason: 'module item refund' }));
    assert.equal((await shopItem(id)).stock, '1');
    ok(await rpc('shop_disable', id), 'disable');
    err(await buy(u, id, 'k2'), 400, 3, 'off sale');
    err(await rpc('shop_disable', 'no-such-item'), 404, 5, 'unknown');
    err(await rpc('shop_put', JSON.stringify({ id, name: '' })), 400, 3, 'bad definition');
    err(await rpc('shop_put', '{"id":'), 400, 3, 'not JSON');
    assert.equal((await shopItem(id)).disabled, true, 'the bad put changed nothing');
    await balanced(u);
  });
});
