// Friends over REST (Nakama's): invites and accepts (states 1/2 then 0 on both sides, with
// system notifications -2 and -3 to the other user), listing by state with cursor pages,
// delete, block (their invites stop), edge counts, concurrent mutual adds, bad input.
// Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, bearer, decodeJwt, randomId } from '../lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

async function user() {
  const res = await srv.authenticate('device', { id: randomId('fr-', 32) });
  assert.equal(res.status, 200, res.text);
  const { payload } = decodeJwt(res.json.token);
  return { uid: payload.uid, usn: payload.usn, auth: bearer(res.json.token) };
}

function ok(res, what = '') {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

const add = (u, q) => srv.post(`/v2/friend?${q}`, {}, { auth: u.auth });
const del = (u, q) => srv.del(`/v2/friend?${q}`, { auth: u.auth });
const block = (u, q) => srv.post(`/v2/friend/block?${q}`, {}, { auth: u.auth });
const list = async (u, q = '') => ok(await srv.get(`/v2/friend${q ? '?' + q : ''}`, { auth: u.auth }), 'list');
const states = async (u) => Object.fromEntries(((await list(u)).friends ?? []).map((f) => [f.user.id, f.state]));
const edges = async (u) => Number(ok(await srv.get('/v2/account', { auth: u.auth })).user.edge_count ?? 0);
const notes = async (u) => (ok(await srv.get('/v2/notification?limit=100', { auth: u.auth })).notifications ?? []);

test('an invite, its accept, and the notifications both ways', async () => {
  const a = await user();
  const b = await user();
  assert.deepEqual(ok(await add(a, `ids=${b.uid}`)), {});
  assert.deepEqual(await states(a), { [b.uid]: 1 });
  assert.deepEqual(await states(b), { [a.uid]: 2 });
  const [invite] = await notes(b);
  assert.equal(invite.code, -2);
  assert.equal(invite.sender_id, a.uid);
  assert.deepEqual(JSON.parse(invite.content), { username: a.usn });
  ok(await add(a, `ids=${b.uid}`), 'again: no change');
  assert.equal((await notes(b)).length, 1);

  ok(await add(b, `usernames=${a.usn}`)); // accepting by username
  assert.deepEqual(await states(a), { [b.uid]: 0 });
  assert.deepEqual(await states(b), { [a.uid]: 0 });
  assert.equal((await notes(a)).find((n) => n.code === -3)?.sender_id, b.uid);
  assert.equal(await edges(a), 1);
  assert.equal(await edges(b), 1);
  const f = (await list(a)).friends[0];
  assert.equal(f.user.username, b.usn);
  assert.ok(Date.parse(f.update_time) > 0);

  ok(await del(b, `ids=${a.uid}`));
  assert.deepEqual(await states(a), {});
  assert.deepEqual(await states(b), {});
  assert.equal(await edges(a), 0);
});

test('block: the blocked user cannot invite; unblocking by adding', async () => {
  const a = await user();
  const b = await user();
  ok(await add(b, `ids=${a.uid}`));
  ok(await block(a, `ids=${b.uid}`));
  assert.deepEqual(await states(a), { [b.uid]: 3 });
  assert.deepEqual(await states(b), {}, "b's invite went with the block");
  assert.equal(await edges(a), 0, 'a block is no edge count');
  ok(await add(b, `ids=${a.uid}`), 'silently ignored');
  assert.deepEqual(await states(b), {});
  ok(await del(b, `ids=${a.uid}`));
  assert.deepEqual(await states(a), { [b.uid]: 3 }, 'their delete leaves my block');
  ok(await add(a, `ids=${b.uid}`));
  assert.deepEqual(await states(a), { [b.uid]: 1 }, 'adding lifts my block with an invite');
});

test('listing: by state, in pages with a cursor', async () => {
  const a = await user();
  const others = [];
  for (let i = 0; i < 7; i++) others.push(await user());
  for (const o of others.slice(0, 4)) ok(await add(a, `ids=${o.uid}`));
  for (const o of others.slice(4)) ok(await add(o, `ids=${a.uid}`));
  ok(await add(a, `ids=${others[4].uid}`)); // accept one: a friend
  const all = (await list(a)).friends;
  assert.deepEqual(all.map((f) => f.state), [0, 1, 1, 1, 1, 2, 2]);
  assert.deepEqual((await list(a, 'state=2')).friends.map((f) => f.user.id).sort(),
    [others[5].uid, others[6].uid].sort());
  const seen = [];
  let cursor = '';
  for (let i = 0; i < 10; i++) {
    const page = await list(a, `limit=3${cursor ? '&cursor=' + cursor : ''}`);
    seen.push(...page.friends.map((f) => f.user.id));
    if (!page.cursor) break;
    cursor = page.cursor;
  }
  assert.deepEqual(seen, all.map((f) => f.user.id));
  assert.equal(await edges(a), 7);
});

test('two users adding each other at once end up friends', async () => {
  for (let round = 0; round < 5; round++) {
    const a = await user();
    const b = await user();
    await Promise.all([add(a, `ids=${b.uid}`), add(b, `ids=${a.uid}`)]).then((rs) => rs.forEach((r) => ok(r)));
    const sa = await states(a);
    const sb = await states(b);
    assert.ok(sa[b.uid] === 0 || (sa[b.uid] === 1 && sb[a.uid] === 2) || (sa[b.uid] === 2 && sb[a.uid] === 1),
      `consistent edges: ${JSON.stringify([sa, sb])}`);
    assert.equal(sa[b.uid] === 0, sb[a.uid] === 0, 'friends on both sides or neither');
  }
});

test('bad input: 400 and nothing changed', async () => {
  const a = await user();
  const bad = async (res, msg) => {
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.code, 3);
    assert.match(res.json.message, msg);
  };
  await bad(await add(a, ''), /at least one/);
  await bad(await add(a, 'ids=nope'), /UUID/);
  await bad(await add(a, `ids=${a.uid}`), /yourself/);
  await bad(await block(a, `usernames=${a.usn}`), /yourself/);
  await bad(await add(a, `usernames=${'x'.repeat(129)}`), /username/);
  await bad(await add(a, Array.from({ length: 101 }, (_, i) => `usernames=u${i}`).join('&')), /at most 100/);
  await bad(await srv.get('/v2/friend?limit=0', { auth: a.auth }), /limit/);
  await bad(await srv.get('/v2/friend?state=4', { auth: a.auth }), /state/);
  await bad(await srv.get('/v2/friend?cursor=junk', { auth: a.auth }), /cursor/);
  ok(await add(a, 'ids=00000000-0000-4000-8000-000000000000'), 'an unknown user is skipped');
  assert.deepEqual(await list(a), {});
  assert.equal((await srv.get('/v2/friend')).status, 401);
});
