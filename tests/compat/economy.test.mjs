// The real @heroiclabs/nakama-js 2.8.0 using the shop through the server's built-in RPCs, with
// no SDK of its own: client.rpc (HTTP, a session) and socket.rpc for shop_catalog,
// shop_purchase, inventory_list, inventory_consume and wallet_ledger; the wallet in
// getAccount; a retried purchase charging once; refusals as rejected calls; a module's
// ShopPurchase hooks (tests/modules/shop_hooks.c) refusing and granting a bonus on the RPC
// form. Wallets are funded and items made by the server side (wallet_mod.so, console API).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@heroiclabs/nakama-js';
import { statusOf } from '../lib/nakama.mjs';
import { startServer, basic, bearer, randomId } from '../lib/server.mjs';

let srv, client, dir, consoleToken;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tavern-njs-econ-'));
  for (const m of ['wallet_mod.so', 'shop_hooks.so'])
    copyFileSync(join(process.env.TAVERN_TEST_MODULES, m), join(dir, m));
  srv = await startServer(['--module-path', dir]);
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
  const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
  assert.equal(res.status, 200, res.text);
  consoleToken = res.json.token;
});

after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function item(prefix, def) {
  const id = randomId(prefix, 12);
  const res = await srv.request('PUT', `/v2/console/shop/${id}`, { body: def, consolePort: true, auth: bearer(consoleToken) });
  assert.equal(res.status, 200, res.text);
  return id;
}

/** A new player with coins in the wallet (credited by the server, as a game would). */
async function player(coins) {
  const session = await client.authenticateDevice(randomId('njs-econ-', 32), true);
  const res = await srv.post('/v2/rpc/wallet_update?unwrap', JSON.stringify([{ user_id: session.user_id, changeset: { coins } }]),
    { auth: basic('defaulthttpkey'), headers: { 'content-type': 'text/plain' } });
  assert.equal(res.status, 200, res.text);
  return session;
}

async function walletOf(session) {
  return JSON.parse((await client.getAccount(session)).wallet);
}

test('client.rpc: catalog, purchase, inventory, consume and ledger', async () => {
  const id = await item('njs-', { name: 'Potion', price: { coins: 15 }, grants: { items: { potion: 2 }, currencies: { xp: 3 } } });
  const s = await player(40);
  const cat = await client.rpc(s, 'shop_catalog', {});
  const shown = cat.payload.items.find((i) => i.id === id);
  assert.deepEqual([shown.name, shown.price, shown.grants], ['Potion', { coins: 15 }, { items: { potion: 2 }, currencies: { xp: 3 } }]);

  const bought = await client.rpc(s, 'shop_purchase', { item_id: id, idempotency_key: 'njs-1' });
  assert.equal(bought.payload.receipt.item_id, id);
  assert.deepEqual(JSON.parse(bought.payload.wallet), { coins: 25, xp: 3 });
  assert.deepEqual(await walletOf(s), { coins: 25, xp: 3 }, 'the account shows the new wallet');

  // a client retrying after a timeout sends the same key: same receipt, charged once
  const retry = await client.rpc(s, 'shop_purchase', { item_id: id, idempotency_key: 'njs-1' });
  assert.deepEqual([retry.payload.receipt, retry.payload.replayed], [bought.payload.receipt, true]);
  assert.deepEqual(await walletOf(s), { coins: 25, xp: 3 });

  const inv = await client.rpc(s, 'inventory_list', {});
  assert.deepEqual(inv.payload.items.map((i) => [i.item_id, i.count]), [['potion', '2']]);
  const used = await client.rpc(s, 'inventory_consume', { item_id: 'potion', count: 1 });
  assert.deepEqual(used.payload, { item_id: 'potion', count: '1' });

  const page = await client.rpc(s, 'wallet_ledger', { limit: 10 });
  assert.deepEqual(page.payload.items.map((e) => e.changeset), [{ coins: -15, xp: 3 }, { coins: 40 }]);
  assert.equal(page.payload.items[0].metadata.receipt, bought.payload.receipt.id);
  assert.equal(page.payload.cursor, undefined, 'one page');
});

test('client.rpc: refusals reject with the HTTP status and change nothing', async () => {
  const id = await item('njs-dear-', { name: 'Crown', price: { coins: 500 }, grants: { items: { crown: 1 } } });
  const s = await player(10);
  assert.equal(await statusOf(client.rpc(s, 'shop_purchase', { item_id: id, idempotency_key: 'k' })), 400, 'insufficient funds');
  try {
    await client.rpc(s, 'shop_purchase', { item_id: id, idempotency_key: 'k' });
  } catch (res) {
    assert.equal((await res.json()).code, 9, 'FAILED_PRECONDITION, as Nakama\'s wallet');
  }
  assert.equal(await statusOf(client.rpc(s, 'shop_purchase', { item_id: 'nothing-here', idempotency_key: 'k' })), 404);
  assert.equal(await statusOf(client.rpc(s, 'shop_purchase', { item_id: id })), 400, 'no key');
  assert.equal(await statusOf(client.rpc(s, 'inventory_consume', { item_id: 'crown', count: 1 })), 400, 'none held');
  assert.equal(await statusOf(client.rpc(s, 'inventory_consume', { item_id: 'crown', count: -2 })), 400, 'negative');
  assert.deepEqual(await walletOf(s), { coins: 10 });
  assert.equal((await client.rpc(s, 'inventory_list', {})).payload.items, undefined, 'nothing granted');
});

test('socket.rpc: the same operations over the realtime socket', async () => {
  const id = await item('njs-ws-', { name: 'Torch', price: { coins: 5 }, grants: { items: { torch: 1 } } });
  const s = await player(12);
  const socket = client.createSocket(false, false);
  await socket.connect(s, false);
  try {
    const r = await socket.rpc('shop_purchase', JSON.stringify({ item_id: id, idempotency_key: 'ws-1' }));
    assert.equal(r.id, 'shop_purchase');
    assert.deepEqual(JSON.parse(JSON.parse(r.payload).wallet), { coins: 7 });
    const inv = JSON.parse((await socket.rpc('inventory_list', '')).payload);
    assert.deepEqual(inv.items.map((i) => [i.item_id, i.count]), [['torch', '1']]);
    const cat = JSON.parse((await socket.rpc('shop_catalog', '{}')).payload);
    assert.ok(cat.items.some((i) => i.id === id));
    await socket.rpc('shop_purchase', JSON.stringify({ item_id: id, idempotency_key: 'ws-2' }));
    await assert.rejects(socket.rpc('shop_purchase', JSON.stringify({ item_id: id, idempotency_key: 'ws-3' })),
      (e) => e.code === 7 && /insufficient coins/.test(e.message), 'the third torch is refused');
  } finally {
    socket.disconnect(false);
  }
  assert.deepEqual(await walletOf(s), { coins: 2 });
});

test('a module\'s ShopPurchase hooks govern client.rpc purchases', async () => {
  const no = await item('forbidden-', { name: 'Forbidden', grants: { items: { x: 1 } } });
  const yes = await item('bonus-', { name: 'Bonus', price: { coins: 1 }, grants: { items: { y: 1 } } });
  const s = await player(5);
  assert.equal(await statusOf(client.rpc(s, 'shop_purchase', { item_id: no, idempotency_key: 'a' })), 403, 'refused by the before hook');
  await client.rpc(s, 'shop_purchase', { item_id: yes, idempotency_key: 'b' });
  await client.rpc(s, 'shop_purchase', { item_id: yes, idempotency_key: 'b' }); // a retry: no second bonus
  assert.deepEqual(await walletOf(s), { coins: 4, bonus: 1 });
});
