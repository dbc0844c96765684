// The real @heroiclabs/nakama-js 2.8.0 on the last REST calls: listFriendsOfFriends, event,
// getUsers by facebook ids (none), sessionLogout of every token, and the calls that need an
// outside provider, each rejected with Nakama's clear "not configured" refusal (400, code 9)
// instead of a 404. Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;

before(async () => {
  srv = await startServer();
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => { await srv?.stop(); });

const signUp = (tag) => client.authenticateDevice(randomId(`njs-prov-${tag}-`, 32), true);

/** The refused call's HTTP status and error body. */
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    if (e && typeof e.status === 'number') return { status: e.status, body: await e.json() };
    throw e;
  }
  assert.fail('the call succeeded');
}

test('listFriendsOfFriends, event, getUsers by facebookIds, sessionLogout of every token', async () => {
  const [a, b, c] = [await signUp('a'), await signUp('b'), await signUp('c')];
  const friends = async (x, y) => {
    await client.addFriends(x, [y.user_id]);
    await client.addFriends(y, [x.user_id]);
  };
  await friends(a, b);
  await friends(b, c);
  const fof = await client.listFriendsOfFriends(a, 10);
  assert.deepEqual(fof.friends_of_friends.map((f) => [f.referrer, f.user.id]), [[b.user_id, c.user_id]]);
  assert.equal(fof.friends_of_friends[0].user.username, c.username);

  // 2.8.0's Client has no event(): its generated apiClient carries it (POST /v2/event)
  assert.deepEqual(await client.apiClient.event(a.token, { name: 'match_end', properties: { score: '10' } }), {});
  const users = await client.getUsers(a, [b.user_id], [], ['1234567890']);
  assert.deepEqual(users.users.map((u) => u.id), [b.user_id]);
  assert.deepEqual((await client.getUsers(a, [], [], ['1234567890'])).users ?? [], []);

  const again = await client.authenticateDevice(randomId('njs-prov-d-', 32), true);
  await new Promise((r) => setTimeout(r, 1100)); // tokens of the logout's own second survive
  await client.sessionLogout(again, '', ''); // every token of the user
  assert.equal((await refusal(client.getAccount(again))).status, 401);
});

test("outside providers: Nakama's not-configured refusal, never a 404", async () => {
  const s = await signUp('p');
  const notConfigured = async (promise, text) => {
    const r = await refusal(promise);
    assert.deepEqual([r.status, r.body.code, r.body.message], [400, 9, text]);
  };
  await notConfigured(client.authenticateApple('apple-id-token', true), 'Apple authentication is not configured.');
  await notConfigured(client.authenticateGoogle('google-token', true), 'Google authentication is not configured.');
  await notConfigured(client.authenticateFacebook('fb-token', true), 'Facebook authentication is not configured.');
  await notConfigured(client.authenticateSteam('steam-token', true), 'Steam authentication is not configured.');
  await notConfigured(client.authenticateGameCenter('bundle', 'player', 'https://k', 'salt', 'sig', '1', true),
    'GameCenter authentication is not configured.');
  await notConfigured(client.authenticateFacebookInstantGame('signed', true),
    'Facebook Instant Game authentication is not configured.');
  await notConfigured(client.linkSteam(s, { token: 'x' }), 'Steam authentication is not configured.');
  await notConfigured(client.unlinkApple(s, { token: 'x' }), 'Apple authentication is not configured.');
  await notConfigured(client.importSteamFriends(s, { token: 'x' }, false), 'Steam authentication is not configured.');
  await notConfigured(client.importFacebookFriends(s, { token: 'x' }), 'Facebook authentication is not configured.');
  await notConfigured(client.validatePurchaseApple(s, 'receipt'), 'Apple IAP is not configured.');
  await notConfigured(client.validatePurchaseGoogle(s, 'purchase'), 'Google IAP is not configured.');
  await notConfigured(client.validatePurchaseHuawei(s, 'purchase', 'sig'), 'Huawei IAP is not configured.');
  await notConfigured(client.validateSubscriptionGoogle(s, 'receipt'), 'Google IAP is not configured.');
  const subs = await client.listSubscriptions(s, undefined, 10);
  assert.deepEqual(subs.validated_subscriptions ?? [], []);
  const r = await refusal(client.getSubscription(s, 'premium'));
  assert.deepEqual([r.status, r.body.message], [404, 'Subscription not found.']);
});
