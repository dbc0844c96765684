// Groups over REST (Nakama's): create (unique names, limits), update with wrappers, delete,
// list with name prefix, lang_tag, members and open filters in signed cursor pages; join (an
// open group makes a member, a closed one a request with notification -5 to its admins), leave
// (not the last superadmin), and the admins' add (notification -4), kick, promote, demote and
// ban with the permission rules; max_count under 20 concurrent joins; member listings both ways
// with the state wrapper; account deletion; bad input; Nakama's statuses and messages. Group
// chat: members join and talk, others are refused, a kicked or banned user is taken out of the
// channel, history for members only, a deleted group empties its channel; the group event
// messages (codes 3-9) told live to the channel and kept in its history.
// Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, bearer, decodeJwt, randomId } from '../lib/server.mjs';
import { wsConnect } from './wsutil.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

async function user() {
  const res = await srv.authenticate('device', { id: randomId('gr-', 32) });
  assert.equal(res.status, 200, res.text);
  const { payload } = decodeJwt(res.json.token);
  return { uid: payload.uid, usn: payload.usn, token: res.json.token, auth: bearer(res.json.token) };
}

function ok(res, what = '') {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

function refused(res, status, message, what = '') {
  assert.equal(res.status, status, `${what}: ${res.status} ${res.text}`);
  if (message) assert.match(res.json.message, message, what);
  return res.json;
}

const gname = (p = 'g') => `${p}-${randomId('', 12)}`;
const create = (u, body) => srv.post('/v2/group', body, { auth: u.auth });
async function group(u, body = {}) {
  return ok(await create(u, { name: gname(), open: true, ...body }), 'create');
}
const act = (u, gid, what, ids = []) =>
  srv.post(`/v2/group/${gid}/${what}${ids.length ? '?' + ids.map((i) => `user_ids=${i}`).join('&') : ''}`, {}, { auth: u.auth });
const users = async (u, gid, q = '') => ok(await srv.get(`/v2/group/${gid}/user${q ? '?' + q : ''}`, { auth: u.auth }), 'users');
const states = async (u, gid) =>
  Object.fromEntries(((await users(u, gid)).group_users ?? []).map((g) => [g.user.id, g.state]));
const userGroups = async (u, uid, q = '') =>
  ok(await srv.get(`/v2/user/${uid}/group${q ? '?' + q : ''}`, { auth: u.auth }), 'user groups');
const getGroup = async (u, gid) =>
  (await userGroups(u, u.uid)).user_groups?.find((g) => g.group.id === gid)?.group;
const notes = async (u) => (ok(await srv.get('/v2/notification?limit=100', { auth: u.auth })).notifications ?? []);

test('create: the Group object, the creator a superadmin, unique names, defaults', async () => {
  const a = await user();
  const name = gname('créé');
  const g = ok(await create(a, { name, description: 'desc', lang_tag: 'fr', avatar_url: 'http://x/a.png', open: true, max_count: 7 }));
  assert.match(g.id, UUID);
  assert.equal(g.creator_id, a.uid);
  assert.deepEqual({ ...g, id: 0, create_time: 0, update_time: 0 }, {
    id: 0, creator_id: a.uid, name, description: 'desc', lang_tag: 'fr', metadata: '{}',
    avatar_url: 'http://x/a.png', open: true, edge_count: 1, max_count: 7, create_time: 0, update_time: 0,
  });
  assert.match(g.create_time, RFC3339);
  assert.deepEqual(await states(a, g.id), { [a.uid]: 0 });
  refused(await create(a, { name }), 409, /in use/, 'a taken name');
  const d = ok(await create(a, { name: gname() }));
  assert.equal(d.open, false, 'open is a BoolValue: there when false');
  assert.equal(d.max_count, 100, "Nakama's default max_count");
  assert.equal(d.lang_tag, 'en');
});

test('update: admins only, wrappers leave absent fields alone, renames stay unique', async () => {
  const a = await user();
  const b = await user();
  const g = await group(a, { description: 'before' });
  const other = await group(a);
  ok(await act(b, g.id, 'join'));
  refused(await srv.put(`/v2/group/${g.id}`, { name: 'x' }, { auth: b.auth }), 404, /^Group not found or you're not allowed to update\.$/, 'a member');
  refused(await srv.put(`/v2/group/${g.id}`, {}, { auth: a.auth }), 400, /^Specify at least one field to update\.$/);
  assert.deepEqual(ok(await srv.put(`/v2/group/${g.id}`, { lang_tag: 'de', open: false }, { auth: a.auth })), {});
  let now = await getGroup(a, g.id);
  assert.equal(now.name, g.name);
  assert.equal(now.description, 'before');
  assert.equal(now.lang_tag, 'de');
  assert.equal(now.open, false);
  ok(await act(a, g.id, 'promote', [b.uid]));
  const renamed = gname('renamed');
  ok(await srv.put(`/v2/group/${g.id}`, { name: renamed, description: '' }, { auth: b.auth }), 'an admin');
  now = await getGroup(a, g.id);
  assert.equal(now.name, renamed);
  assert.equal(now.description, undefined);
  refused(await srv.put(`/v2/group/${g.id}`, { name: other.name }, { auth: a.auth }), 400, /^Group name is in use\.$/, 'a taken name: 400 on update');
  refused(await srv.put(`/v2/group/${randomUuid()}`, { name: 'y' }, { auth: a.auth }), 404, /^Group not found or you're not allowed to update\.$/);
});

test('delete: the superadmin only; members and listings go with it', async () => {
  const a = await user();
  const b = await user();
  const g = await group(a);
  ok(await act(b, g.id, 'join'));
  ok(await act(a, g.id, 'promote', [b.uid]));
  refused(await srv.del(`/v2/group/${g.id}`, { auth: b.auth }), 400, /^Group not found or you're not allowed to delete\.$/, 'an admin');
  assert.deepEqual(ok(await srv.del(`/v2/group/${g.id}`, { auth: a.auth })), {});
  assert.equal((await userGroups(b, b.uid)).user_groups, undefined);
  refused(await srv.get(`/v2/group/${g.id}/user`, { auth: a.auth }), 404, /not found/);
  refused(await srv.del(`/v2/group/${g.id}`, { auth: a.auth }), 400, /not allowed to delete/);
  refused(await act(b, g.id, 'join'), 404, /^Group not found\.$/);
});

test('join and leave: open groups, closed groups with requests and -5, the last superadmin', async () => {
  const a = await user();
  const b = await user();
  const c = await user();
  const open = await group(a);
  assert.deepEqual(ok(await act(b, open.id, 'join')), {});
  ok(await act(b, open.id, 'join'), 'again: no change');
  assert.deepEqual(await states(a, open.id), { [a.uid]: 0, [b.uid]: 2 });
  assert.equal((await getGroup(a, open.id)).edge_count, 2);

  const closed = await group(a, { open: false });
  ok(await act(a, closed.id, 'add', [c.uid]));
  ok(await act(a, closed.id, 'promote', [c.uid]));
  // c is an admin now: both admins hear of b's request
  ok(await act(b, closed.id, 'join'));
  assert.equal((await states(a, closed.id))[b.uid], 3, 'a join request');
  assert.equal((await getGroup(a, closed.id)).edge_count, 2, 'requests do not count');
  for (const admin of [a, c]) {
    const n = (await notes(admin)).find((x) => x.code === -5);
    assert.ok(n, 'join request notification');
    assert.equal(n.sender_id, b.uid);
    assert.deepEqual(JSON.parse(n.content), { group_id: closed.id, username: b.usn });
  }
  ok(await act(b, closed.id, 'leave'), 'withdrawing a request');
  assert.equal((await states(a, closed.id))[b.uid], undefined);

  refused(await act(a, open.id, 'leave'), 400, /^Cannot leave group when you are the last superadmin\.$/);
  ok(await act(a, open.id, 'promote', [b.uid]));
  ok(await act(a, open.id, 'promote', [b.uid]));
  assert.equal((await states(a, open.id))[b.uid], 0, 'two superadmins');
  ok(await act(a, open.id, 'leave'));
  assert.deepEqual(await states(b, open.id), { [b.uid]: 0 });
  assert.equal((await getGroup(b, open.id)).edge_count, 1);
  assert.deepEqual(ok(await act(c, open.id, 'leave')), {}, 'leaving a group one is not in');
});

test('add: admins add members and accept requests (-4); members may not', async () => {
  const a = await user();
  const b = await user();
  const c = await user();
  const d = await user();
  const g = await group(a, { open: false });
  ok(await act(c, g.id, 'join'));
  refused(await act(a, g.id, 'add', [b.uid, c.uid, randomUuid()]), 400, /^One or more users not found\.$/);
  assert.deepEqual(await states(a, g.id), { [a.uid]: 0, [c.uid]: 3 }, 'an unknown id: nothing changed');
  assert.equal((await notes(b)).filter((x) => x.code === -4).length, 0, 'nobody told');
  assert.equal((await getGroup(a, g.id)).edge_count, 1);
  assert.deepEqual(ok(await act(a, g.id, 'add', [b.uid, c.uid])), {});
  assert.deepEqual(await states(a, g.id), { [a.uid]: 0, [b.uid]: 2, [c.uid]: 2 });
  assert.equal((await getGroup(a, g.id)).edge_count, 3);
  for (const u of [b, c]) {
    const n = (await notes(u)).find((x) => x.code === -4);
    assert.ok(n, 'group add notification');
    assert.equal(n.sender_id, a.uid);
    assert.deepEqual(JSON.parse(n.content), { group_id: g.id, name: g.name });
  }
  refused(await act(b, g.id, 'add', [d.uid]), 404, /^Group not found or permission denied\.$/, 'a member adds');
  refused(await act(d, g.id, 'add', [d.uid]), 404, /^Group not found or permission denied\.$/, 'an outsider adds');
  ok(await act(a, g.id, 'add', [b.uid]), 'adding a member again');
  assert.equal((await notes(b)).filter((x) => x.code === -4).length, 1, 'told once');
});

test('kick, promote, demote: superadmin > admin > member', async () => {
  const [s, s2, ad, ad2, m, m2] = [await user(), await user(), await user(), await user(), await user(), await user()];
  const g = await group(s);
  for (const u of [s2, ad, ad2, m, m2]) ok(await act(u, g.id, 'join'));
  ok(await act(s, g.id, 'promote', [s2.uid, ad.uid, ad2.uid]));
  ok(await act(s, g.id, 'promote', [s2.uid]));
  assert.deepEqual(await states(s, g.id),
    { [s.uid]: 0, [s2.uid]: 0, [ad.uid]: 1, [ad2.uid]: 1, [m.uid]: 2, [m2.uid]: 2 });

  const denied = /^Group not found or permission denied[.:]/;
  refused(await act(m, g.id, 'kick', [m2.uid]), 404, denied, 'members cannot kick');
  refused(await act(m, g.id, 'promote', [m2.uid]), 404, denied, 'members cannot promote');
  refused(await act(ad, g.id, 'kick', [s.uid]), 404, /permission denied: admins cannot kick/, 'an admin kicks a superadmin');
  refused(await act(ad, g.id, 'kick', [ad2.uid]), 404, /permission denied: admins cannot kick/, 'an admin kicks an admin');
  refused(await act(ad, g.id, 'demote', [s.uid]), 404, /permission denied: admins cannot demote/);
  refused(await act(ad, g.id, 'demote', [ad2.uid]), 404, /permission denied: admins cannot demote/);
  refused(await act(ad, g.id, 'promote', [ad2.uid]), 404, /permission denied: only a superadmin/, 'an admin makes a superadmin');
  refused(await act(ad, g.id, 'kick', [m.uid, s.uid]), 404, denied, 'all or nothing');
  assert.equal((await states(s, g.id))[m.uid], 2, 'm stayed: the call rolled back');
  refused(await act(s, g.id, 'kick', [s.uid]), 400, /yourself/);

  ok(await act(ad, g.id, 'promote', [m.uid]), 'an admin promotes a member');
  assert.equal((await states(s, g.id))[m.uid], 1);
  ok(await act(s, g.id, 'demote', [m.uid]));
  ok(await act(s, g.id, 'demote', [m.uid]), 'a member stays a member');
  assert.equal((await states(s, g.id))[m.uid], 2);
  ok(await act(s, g.id, 'demote', [s2.uid]), 'a superadmin demotes another');
  assert.equal((await states(s, g.id))[s2.uid], 1);
  ok(await act(ad, g.id, 'kick', [m2.uid]), 'an admin kicks a member');
  ok(await act(s, g.id, 'kick', [ad2.uid]), 'a superadmin kicks an admin');
  const now = await states(s, g.id);
  assert.equal(now[m2.uid], undefined);
  assert.equal(now[ad2.uid], undefined);
  assert.equal((await getGroup(s, g.id)).edge_count, 4);
  ok(await act(m2, g.id, 'join'), 'a kicked user may come back');
});

test('ban: state 4, not counted, cannot rejoin; an add keeps it, a kick lifts it', async () => {
  const a = await user();
  const b = await user();
  const c = await user();
  const g = await group(a);
  ok(await act(b, g.id, 'join'));
  ok(await act(a, g.id, 'promote', [b.uid]));
  refused(await act(b, g.id, 'ban', [a.uid]), 404, /permission denied: admins cannot ban/);
  ok(await act(a, g.id, 'ban', [b.uid, c.uid]), 'a member and an outsider');
  assert.deepEqual(await states(a, g.id), { [a.uid]: 0, [b.uid]: 4, [c.uid]: 4 });
  assert.equal((await getGroup(a, g.id)).edge_count, 1);
  refused(await act(b, g.id, 'join'), 403, /banned/);
  refused(await act(c, g.id, 'join'), 403, /banned/);
  assert.deepEqual(ok(await act(b, g.id, 'leave')), {}, 'leaving as a banned user: nothing');
  assert.equal((await states(a, g.id))[b.uid], 4, 'a ban outlives a leave');
  assert.deepEqual(ok(await act(a, g.id, 'add', [b.uid, c.uid])), {}, 'adding banned users');
  assert.deepEqual(await states(a, g.id), { [a.uid]: 0, [b.uid]: 4, [c.uid]: 4 }, 'an add keeps a ban (Nakama)');
  assert.equal((await notes(b)).filter((x) => x.code === -4).length, 0, 'not told of an add');
  assert.equal((await getGroup(a, g.id)).edge_count, 1);
  assert.equal((await users(a, g.id, 'state=4')).group_users.length, 2);
  ok(await act(a, g.id, 'kick', [b.uid]), 'a kick lifts a ban (Nakama)');
  assert.equal((await states(a, g.id))[b.uid], undefined);
  ok(await act(b, g.id, 'join'), 'an outsider again: may join');
  assert.equal((await states(a, g.id))[b.uid], 2);
  refused(await act(c, g.id, 'join'), 403, /banned/, 'c is still banned');
});

test('max_count: 20 concurrent joins of an open group of 5 make exactly 5 members', async () => {
  const owner = await user();
  const g = await group(owner, { max_count: 5 });
  const joiners = await Promise.all(Array.from({ length: 20 }, () => user()));
  const res = await Promise.all(joiners.map((u) => act(u, g.id, 'join')));
  const okN = res.filter((r) => r.status === 200).length;
  for (const r of res) if (r.status !== 200) refused(r, 400, /full/);
  assert.equal(okN, 4, 'the owner and four joiners');
  const members = (await users(owner, g.id)).group_users;
  assert.equal(members.length, 5);
  assert.equal((await getGroup(owner, g.id)).edge_count, 5);
  // closed groups: requests do not count, accepting past the cap is refused
  const closed = await group(owner, { open: false, max_count: 2 });
  for (const u of joiners.slice(0, 3)) ok(await act(u, closed.id, 'join'));
  refused(await act(owner, closed.id, 'add', joiners.slice(0, 2).map((u) => u.uid)), 400, /full/);
  ok(await act(owner, closed.id, 'add', [joiners[0].uid]));
  refused(await act(owner, closed.id, 'promote', [joiners[1].uid]), 400, /full/, 'accepting by promote');
  assert.equal((await getGroup(owner, closed.id)).edge_count, 2);
});

test('listings: groups by name prefix and filters, members both ways, in cursor pages', async () => {
  const a = await user();
  const b = await user();
  const prefix = `pg${randomId('', 8)}`;
  const made = [];
  for (let i = 0; i < 5; i++) made.push(await group(a, { name: `${prefix}-${i}`, lang_tag: i < 3 ? 'en' : 'es', open: i % 2 === 0 }));
  let page = ok(await srv.get(`/v2/group?name=${prefix}%25&limit=2`, { auth: b.auth }));
  const seen = page.groups.map((g) => g.name);
  while (page.cursor) {
    page = ok(await srv.get(`/v2/group?name=${prefix}%25&limit=2&cursor=${page.cursor}`, { auth: b.auth }));
    seen.push(...page.groups.map((g) => g.name));
  }
  assert.deepEqual(seen, made.map((g) => g.name), 'every group once, by name');
  const exact = ok(await srv.get(`/v2/group?name=${prefix}-3`, { auth: b.auth }));
  assert.deepEqual(exact.groups.map((g) => g.id), [made[3].id]);
  const es = ok(await srv.get(`/v2/group?name=${prefix}%25&lang_tag=es`, { auth: b.auth }));
  assert.deepEqual(es.groups.map((g) => g.name), [`${prefix}-3`, `${prefix}-4`]);
  const closed = ok(await srv.get(`/v2/group?name=${prefix}%25&open=false`, { auth: b.auth }));
  assert.deepEqual(closed.groups.map((g) => g.name), [`${prefix}-1`, `${prefix}-3`]);
  ok(await act(b, made[0].id, 'join'));
  const small = ok(await srv.get(`/v2/group?name=${prefix}%25&members=1`, { auth: b.auth }));
  assert.equal(small.groups.length, 4, 'members=n: groups of at most n members');
  const page1 = ok(await srv.get(`/v2/group?name=${prefix}%25&limit=2`, { auth: b.auth }));
  refused(await srv.get(`/v2/group?name=${prefix}%25&limit=2&lang_tag=en&cursor=${page1.cursor}`, { auth: b.auth }), 400, /cursor/, "another listing's cursor");
  refused(await srv.get(`/v2/group?cursor=${page1.cursor.slice(0, -2)}xx`, { auth: b.auth }), 400, /cursor/);

  // members of a group, and a user's groups, with the state wrapper (0 printed)
  const g = made[0];
  const others = [b];
  for (let i = 0; i < 4; i++) { const u = await user(); others.push(u); ok(await act(u, g.id, 'join')); }
  let mp = await users(b, g.id, 'limit=2');
  assert.deepEqual(mp.group_users[0], { user: mp.group_users[0].user, state: 0 });
  assert.equal(mp.group_users[0].user.id, a.uid);
  const ids = mp.group_users.map((x) => x.user.id);
  while (mp.cursor) {
    mp = await users(b, g.id, `limit=2&cursor=${mp.cursor}`);
    ids.push(...mp.group_users.map((x) => x.user.id));
  }
  assert.deepEqual(ids, [a.uid, ...others.map((u) => u.uid)], 'superadmin first, then members by join');
  assert.equal((await users(b, g.id, 'state=2')).group_users.length, 5);
  assert.equal((await users(b, g.id, 'state=0')).group_users.length, 1);
  refused(await srv.get(`/v2/group/${g.id}/user?state=5`, { auth: b.auth }), 400, /state/);
  refused(await srv.get(`/v2/group/${g.id}/user?cursor=${mp.cursor ?? page1.cursor}`, { auth: b.auth }), 400, /cursor/);

  let up = await userGroups(b, a.uid, 'limit=3');
  const gids = up.user_groups.map((x) => x.group.id);
  assert.deepEqual(up.user_groups[0].state, 0);
  while (up.cursor) {
    up = await userGroups(b, a.uid, `limit=3&cursor=${up.cursor}`);
    gids.push(...up.user_groups.map((x) => x.group.id));
  }
  assert.deepEqual(new Set(gids), new Set(made.map((x) => x.id)));
  assert.equal(gids.length, 5);
  const bs = await userGroups(a, b.uid);
  assert.deepEqual(bs.user_groups.map((x) => [x.group.id, x.state]), [[g.id, 2]]);
  assert.equal((await userGroups(a, b.uid, 'state=0')).user_groups, undefined);
});

test('account deletion: memberships go, counts follow, a group without its superadmin stays', async () => {
  const a = await user();
  const b = await user();
  const c = await user();
  const g = await group(a);
  ok(await act(b, g.id, 'join'));
  ok(await act(c, g.id, 'join'));
  ok(await act(a, g.id, 'promote', [b.uid]));
  ok(await srv.del('/v2/account', { auth: c.auth }));
  assert.deepEqual(await states(a, g.id), { [a.uid]: 0, [b.uid]: 1 });
  assert.equal((await getGroup(a, g.id)).edge_count, 2);
  ok(await srv.del('/v2/account', { auth: a.auth }));
  assert.deepEqual(await states(b, g.id), { [b.uid]: 1 }, 'the group stays');
  const left = (await userGroups(b, b.uid)).user_groups[0].group;
  assert.equal(left.edge_count, 1);
  assert.equal(left.creator_id, a.uid);
  const d = await user();
  ok(await act(d, g.id, 'join'));
  ok(await act(b, g.id, 'kick', [d.uid]), 'its admin still runs it');
});

test('bad input: ids, bodies, limits', async () => {
  const a = await user();
  const g = await group(a);
  refused(await create(a, {}), 400, /name/);
  refused(await create(a, { name: '' }), 400, /name/);
  refused(await create(a, { name: 'x'.repeat(129) }), 400, /name/);
  ok(await create(a, { name: `${'x'.repeat(110)}${randomId('', 18)}` }), '128 bytes');
  refused(await create(a, { name: 'tab\tname' }), 400, /control/);
  refused(await create(a, { name: gname(), description: 'd'.repeat(1025) }), 400, /description/);
  refused(await create(a, { name: gname(), avatar_url: 'a'.repeat(513) }), 400, /avatar/);
  refused(await create(a, { name: gname(), lang_tag: 'l'.repeat(19) }), 400, /lang_tag/);
  refused(await create(a, { name: gname(), max_count: 10001 }), 400, /max_count/);
  refused(await create(a, { name: gname(), max_count: -1 }), 400, /max_count/);
  refused(await create(a, { name: gname(), max_count: 1.5 }), 400, /max_count/);
  refused(await create(a, { name: gname(), open: 'maybe' }), 400, /open/);
  refused(await create(a, { name: 7 }), 400);
  refused(await srv.request('POST', '/v2/group', { body: '{not json', auth: a.auth }), 400);
  refused(await srv.put(`/v2/group/${g.id}`, { name: '' }, { auth: a.auth }), 400, /name/);
  for (const path of ['/v2/group/not-a-uuid/join', '/v2/group/not-a-uuid/leave']) refused(await srv.post(path, {}, { auth: a.auth }), 400, /group ID/);
  refused(await srv.put('/v2/group/nope', {}, { auth: a.auth }), 400, /group ID/);
  refused(await srv.del('/v2/group/nope', { auth: a.auth }), 400, /group ID/);
  refused(await srv.get('/v2/group/nope/user', { auth: a.auth }), 400, /group ID/);
  refused(await srv.get('/v2/user/nope/group', { auth: a.auth }), 400, /user ID/);
  for (const what of ['add', 'kick', 'promote', 'demote', 'ban'])
    assert.deepEqual(ok(await act(a, g.id, what), `${what} of nobody`), {});
  assert.deepEqual(ok(await act(a, randomUuid(), 'add')), {}, 'an empty list: no look-up at all (Nakama)');
  refused(await act(a, g.id, 'add', ['bad']), 400, /^User ID must be a valid ID\.$/);
  refused(await act(a, g.id, 'kick', Array.from({ length: 101 }, randomUuid)), 400, /at most 100/);
  ok(await act(a, g.id, 'kick', Array.from({ length: 100 }, randomUuid)), '100 ids');
  refused(await act(a, randomUuid(), 'join'), 404, /not found/);
  refused(await act(a, randomUuid(), 'add', [a.uid]), 404, /^Group not found or permission denied\.$/);
  refused(await srv.get('/v2/group?limit=0', { auth: a.auth }), 400, /limit/);
  refused(await srv.get('/v2/group?limit=101', { auth: a.auth }), 400, /limit/);
  refused(await srv.get('/v2/group?name=%25x', { auth: a.auth }), 400, /name filter/);
  refused(await srv.get('/v2/group?members=0', { auth: a.auth }), 400, /members/);
  refused(await srv.get('/v2/group?open=sometimes', { auth: a.auth }), 400, /open/);
  refused(await srv.get(`/v2/group/${g.id}/user?limit=101`, { auth: a.auth }), 400, /limit/);
  refused(await srv.get(`/v2/user/${a.uid}/group?cursor=junk`, { auth: a.auth }), 400, /cursor/);
  assert.equal((await srv.get('/v2/group')).status, 401);
  assert.equal((await srv.post(`/v2/group/${g.id}/join`, {})).status, 401);
});

// ---- group chat ---------------------------------------------------------------------------

let cidSeq = 0;
class Peer {
  constructor(conn) { Object.assign(this, conn); this.backlog = []; }
  async ask(msg) {
    const cid = String(++cidSeq);
    this.inbox.send({ cid, ...msg });
    for (;;) {
      const m = await this.inbox.next();
      if (m.cid === cid) return m;
      this.backlog.push(m);
    }
  }
  async push(kind) {
    for (;;) {
      const m = this.backlog.length ? this.backlog.shift() : await this.inbox.next();
      if (m[kind]) return m[kind];
    }
  }
  close() { this.ws.close(); }
}
const connect = async (u) => new Peer(await wsConnect(srv, u));
const joinGroupChat = (p, gid) => p.ask({ channel_join: { target: gid, type: 3 } });
const say = (p, cid, content) => p.ask({ channel_message_send: { channel_id: cid, content: JSON.stringify(content) } });
const history = (u, cid) => srv.get(`/v2/channel/${encodeURIComponent(cid)}?limit=100`, { auth: u.auth });

test('group chat: members join and talk; others are refused; history for members only', async () => {
  const a = await user();
  const b = await user();
  const out = await user();
  const g = await group(a, { open: false });
  ok(await act(b, g.id, 'join')); // a request: not a member yet
  const pa = await connect(a);
  const pb = await connect(b);
  const po = await connect(out);
  const cid = `3.${g.id}..`;

  const ra = await joinGroupChat(pa, g.id);
  assert.equal(ra.channel?.id, cid, JSON.stringify(ra));
  assert.equal(ra.channel.group_id, g.id);
  assert.equal(ra.channel.room_name, undefined);
  for (const [p, who] of [[pb, 'a join request'], [po, 'an outsider']]) {
    const r = await joinGroupChat(p, g.id);
    assert.equal(r.error?.code, 3, `${who}: ${JSON.stringify(r)}`);
    assert.match(r.error.message, /not a member/);
  }
  refused(await history(b, cid), 403, /member/, 'history for a request');

  ok(await act(a, g.id, 'add', [b.uid]));
  const rb = await joinGroupChat(pb, g.id);
  assert.equal(rb.channel?.group_id, g.id, JSON.stringify(rb));
  const ack = await say(pb, cid, { hi: 'all' });
  assert.equal(ack.channel_message_ack?.group_id, g.id, JSON.stringify(ack));
  const added = await pa.push('channel_message');
  assert.deepEqual([added.code, added.sender_id], [4, b.uid], "b's add came first");
  const heard = await pa.push('channel_message');
  assert.deepEqual(JSON.parse(heard.content), { hi: 'all' });
  assert.equal(heard.group_id, g.id);
  assert.equal(heard.sender_id, b.uid);
  const h = ok(await history(a, cid));
  assert.deepEqual(h.messages.map((m) => [m.code, JSON.parse(m.content)]), [[4, {}], [0, { hi: 'all' }]], "b's add, then b's message");
  assert.equal(h.messages[0].group_id, g.id);
  refused(await history(out, cid), 403, /member/, 'history for an outsider');
  const e = await po.ask({ channel_message_send: { channel_id: cid, content: '{}' } });
  assert.match(e.error?.message ?? '', /Must join channel/);
  for (const p of [pa, pb, po]) p.close();
});

test('group chat: a kicked or banned user, or one who leaves, is taken out; a deletion empties it', async () => {
  const a = await user();
  const b = await user();
  const c = await user();
  const g = await group(a);
  ok(await act(b, g.id, 'join'));
  ok(await act(c, g.id, 'join'));
  const cid = `3.${g.id}..`;
  const [pa, pb, pc] = [await connect(a), await connect(b), await connect(c)];
  for (const p of [pa, pb, pc]) assert.ok((await joinGroupChat(p, g.id)).channel);

  ok(await act(a, g.id, 'kick', [b.uid]));
  const leave = await pa.push('channel_presence_event');
  // the joins of b and c may come first: wait for b's leave
  let ev = leave;
  while (!ev.leaves) ev = await pa.push('channel_presence_event');
  assert.equal(ev.leaves[0].user_id, b.uid);
  const refusedSend = await say(pb, cid, { after: 'kick' });
  assert.match(refusedSend.error?.message ?? '', /Must join channel/, 'the kicked user is out');
  const again = await joinGroupChat(pb, g.id);
  assert.match(again.error?.message ?? '', /not a member/);
  refused(await history(b, cid), 403);

  ok(await act(a, g.id, 'ban', [c.uid]));
  assert.match((await say(pc, cid, { x: 1 })).error?.message ?? '', /Must join channel/, 'banned: out');

  ok(await act(b, g.id, 'join'));
  assert.ok((await joinGroupChat(pb, g.id)).channel, 'rejoined the group, rejoins the chat');
  ok(await act(b, g.id, 'leave'));
  assert.match((await say(pb, cid, { x: 2 })).error?.message ?? '', /Must join channel/, 'left: out');

  assert.ok((await say(pa, cid, { last: true })).channel_message_ack, 'a member still talks');
  ok(await srv.del(`/v2/group/${g.id}`, { auth: a.auth }));
  assert.match((await say(pa, cid, { x: 3 })).error?.message ?? '', /Must join channel/, 'deleted: empty');
  refused(await history(a, cid), 403, undefined, 'no history of a deleted group');
  for (const p of [pa, pb, pc]) p.close();
});

test('group events: join, add, promote, demote, kick, ban, leave told live to the channel and kept', async () => {
  const [a, b, c, d] = [await user(), await user(), await user(), await user()];
  const g = await group(a);
  const cid = `3.${g.id}..`;
  const pa = await connect(a);
  assert.ok((await joinGroupChat(pa, g.id)).channel);
  const live = [];
  const expectEvent = async (p, code, who, what) => {
    const m = await p.push('channel_message');
    assert.deepEqual(
      [m.code, m.sender_id, m.username, m.group_id, m.channel_id, m.content, m.persistent],
      [code, who.uid, who.usn, g.id, cid, '{}', true], `${what}: ${JSON.stringify(m)}`);
    assert.match(m.create_time, RFC3339);
    return m;
  };
  ok(await act(b, g.id, 'join'));
  live.push(await expectEvent(pa, 3, b, 'join'));
  ok(await act(a, g.id, 'add', [c.uid]));
  live.push(await expectEvent(pa, 4, c, 'add'));
  const pc = await connect(c);
  assert.ok((await joinGroupChat(pc, g.id)).channel);
  ok(await act(a, g.id, 'promote', [b.uid]));
  live.push(await expectEvent(pa, 7, b, 'promote'));
  ok(await act(a, g.id, 'demote', [b.uid]));
  live.push(await expectEvent(pa, 9, b, 'demote'));
  ok(await act(a, g.id, 'kick', [b.uid]));
  live.push(await expectEvent(pa, 6, b, 'kick'));
  ok(await act(a, g.id, 'ban', [c.uid]));
  live.push(await expectEvent(pa, 8, c, 'ban'));
  for (const [code, who] of [[7, b], [9, b], [6, b], [8, c]])
    await expectEvent(pc, code, who, 'another member hears them, the last one of its own ban');
  ok(await act(d, g.id, 'join'));
  live.push(await expectEvent(pa, 3, d, 'join'));
  ok(await act(d, g.id, 'leave'));
  live.push(await expectEvent(pa, 5, d, 'leave'));
  // nothing for what changes nothing, nor for join requests
  ok(await act(a, g.id, 'demote', [d.uid]));
  ok(await act(a, g.id, 'add', [c.uid]));
  const h = ok(await history(a, cid)).messages;
  assert.deepEqual(h.map((m) => [m.code, m.sender_id]),
    [[3, b.uid], [4, c.uid], [7, b.uid], [9, b.uid], [6, b.uid], [8, c.uid], [3, d.uid], [5, d.uid]]);
  assert.deepEqual(h.map((m) => m.message_id), live.map((m) => m.message_id), 'the live ones are the stored ones');
  for (const m of h) assert.deepEqual([m.content, m.username.length > 0, m.group_id, m.persistent], ['{}', true, g.id, true]);

  const closed = await group(a, { open: false });
  const ccid = `3.${closed.id}..`;
  ok(await act(b, closed.id, 'join'));
  ok(await act(a, closed.id, 'kick', [b.uid]), 'a declined request');
  ok(await act(d, closed.id, 'join'));
  ok(await act(d, closed.id, 'leave'), 'a withdrawn request');
  ok(await act(b, closed.id, 'join'));
  ok(await act(a, closed.id, 'add', [b.uid]), 'an accepted request');
  assert.deepEqual(ok(await history(a, ccid)).messages.map((m) => [m.code, m.sender_id]), [[4, b.uid]],
    'requests come and go unannounced; accepting one is an add');
  refused(await act(a, closed.id, 'add', [d.uid, randomUuid()]), 400, /users not found/);
  assert.equal(ok(await history(a, ccid)).messages.length, 1, 'a refused add writes no event');
  pa.close();
  pc.close();
});

function randomUuid() {
  const h = randomId('', 32).replace(/[^0-9a-f]/g, 'a');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
