// The console's data API in a real tavern (issue 7): the storage browser (collections, listing
// across owners with filters and signed cursors, one object read, edited with optimistic
// concurrency and deleted, server-only objects included), leaderboards (a board, its ranked
// records, deleting a record changes what players see; tournaments through the same routes),
// matches (relayed and authoritative with their presences, one with its tick figures, stop),
// and modules (the loaded list with registrations, refused files, reload of a new .so).
// Run by meson on SQLite and PostgreSQL; modules come from $TAVERN_MODULES and
// $TAVERN_TEST_MODULES.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer } from '../lib/server.mjs';
import { newWsUser, wsConnect } from './wsutil.mjs';

const EXAMPLE_MODULES = process.env.TAVERN_MODULES;
const TEST_MODULES = process.env.TAVERN_TEST_MODULES;
const NIL = '00000000-0000-0000-0000-000000000000';

let srv;
let moduleDir;
let ct; // the console's Authorization header

before(async () => {
  assert.ok(EXAMPLE_MODULES && TEST_MODULES, 'TAVERN_MODULES and TAVERN_TEST_MODULES are set by meson');
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-condata-'));
  for (const name of ['arena', 'tictactoe']) copyFileSync(join(EXAMPLE_MODULES, `${name}.so`), join(moduleDir, `${name}.so`));
  copyFileSync(join(TEST_MODULES, 'good.so'), join(moduleDir, 'good.so'));
  copyFileSync(join(TEST_MODULES, 'bad_abi.so'), join(moduleDir, 'bad_abi.so'));
  srv = await startServer(['--module-path', moduleDir]);
  const res = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
  assert.equal(res.status, 200, res.text);
  ct = bearer(res.json.token);
});

after(async () => {
  await srv?.stop();
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

const con = (method, path, body) => srv.request(method, path, { body, auth: ct, consolePort: true });
const cget = (path) => con('GET', path);

async function player() {
  return newWsUser(srv, 'cd-');
}

/** Writes objects as u (PUT /v2/storage). */
async function write(u, objects) {
  const res = await srv.put('/v2/storage', { objects }, { auth: bearer(u.token) });
  assert.equal(res.status, 200, res.text);
  return res.json.acks;
}

async function nextWhere(p, pred, timeoutMs = 5000, what = 'a matching message') {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) assert.fail(`no ${what} within ${timeoutMs} ms`);
    let m;
    try { m = await p.inbox.next(left); } catch (e) { assert.fail(`waiting for ${what}: ${e.message}`); }
    if (pred(m)) return m;
  }
}

let cidSeq = 0;
async function request(p, msg) {
  const cid = String(++cidSeq);
  p.inbox.send({ cid, ...msg });
  return nextWhere(p, (m) => m.cid === cid, 5000, `reply to ${JSON.stringify(msg)}`);
}

// ---------------------------------------------------------------------------------------------

describe('storage', () => {
  test('collections with counts, a listing across owners by collection, owner and key prefix, paged', async () => {
    const a = await player(), b = await player();
    const col = `cd-col-${a.uid.slice(0, 8)}`;
    await write(a, [
      { collection: col, key: 'item-1', value: '{"n":1}' },
      { collection: col, key: 'item-2', value: '{"n":2}', permission_read: 0, permission_write: 0 },
      { collection: col, key: 'other', value: '{"n":3}' },
    ]);
    await write(b, [{ collection: col, key: 'item-1', value: '{"n":4}', permission_read: 2 }]);

    const cols = await cget('/v2/console/storage/collections?limit=1000');
    assert.equal(cols.status, 200, cols.text);
    assert.deepEqual(cols.json.collections.find((c) => c.name === col), { name: col, count: 4 });

    // every owner, every permission (player a cannot read b's object nor its own read-0 one)
    const all = await cget(`/v2/console/storage?collection=${col}&limit=100`);
    assert.equal(all.status, 200, all.text);
    assert.equal(all.json.objects.length, 4);
    assert.deepEqual(all.json.objects.map((o) => o.key), ['item-1', 'item-1', 'item-2', 'other']);
    assert.ok(!all.json.cursor, 'no cursor on the last page');
    const hidden = all.json.objects.find((o) => o.key === 'item-2');
    assert.equal(hidden.permission_read, undefined, 'read 0 is left out as protojson does');
    assert.equal(hidden.user_id, a.uid);
    assert.equal(hidden.value, '{"n":2}');

    const byOwner = await cget(`/v2/console/storage?collection=${col}&user_id=${b.uid}`);
    assert.deepEqual(byOwner.json.objects.map((o) => [o.key, o.user_id]), [['item-1', b.uid]]);
    const byPrefix = await cget(`/v2/console/storage?collection=${col}&key_prefix=item-`);
    assert.deepEqual(byPrefix.json.objects.map((o) => o.key), ['item-1', 'item-1', 'item-2']);
    const allCols = await cget(`/v2/console/storage?user_id=${a.uid}`);
    assert.equal(allCols.json.objects.length, 3, 'without a collection: every collection of the owner');

    // pages of 1 walk the same objects in the same order
    const seen = [];
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const page = await cget(`/v2/console/storage?collection=${col}&key_prefix=item&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(page.status, 200, page.text);
      seen.push(...page.json.objects.map((o) => `${o.key}/${o.user_id}`));
      cursor = page.json.cursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, byPrefix.json.objects.map((o) => `${o.key}/${o.user_id}`));

    // a cursor is tied to its filters; a forged one is refused
    const p1 = await cget(`/v2/console/storage?collection=${col}&limit=1`);
    assert.ok(p1.json.cursor);
    assert.equal((await cget(`/v2/console/storage?collection=${col}&limit=1&key_prefix=o&cursor=${encodeURIComponent(p1.json.cursor)}`)).status, 400);
    assert.equal((await cget(`/v2/console/storage?collection=${col}&cursor=AAAA`)).status, 400);
    const c1 = await cget('/v2/console/storage/collections?limit=1');
    assert.equal(c1.json.collections.length, 1);
    if (c1.json.cursor) {
      const c2 = await cget(`/v2/console/storage/collections?limit=1&cursor=${encodeURIComponent(c1.json.cursor)}`);
      assert.equal(c2.status, 200);
      assert.notEqual(c2.json.collections[0].name, c1.json.collections[0].name);
    }
  });

  test('read, edit with the version, delete: also objects players cannot read or write', async () => {
    const a = await player();
    const col = `cd-edit-${a.uid.slice(0, 8)}`;
    const [ack] = await write(a, [{ collection: col, key: 'secret', value: '{"gold":1}', permission_read: 0, permission_write: 0 }]);
    const path = `/v2/console/storage/${col}/secret/${a.uid}`;

    // a player cannot read it; the console can
    const pr = await srv.post('/v2/storage', { object_ids: [{ collection: col, key: 'secret', user_id: a.uid }] }, { auth: bearer(a.token) });
    assert.deepEqual(pr.json, {});
    const got = await cget(path);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.value, '{"gold":1}');
    assert.equal(got.json.version, ack.version);

    // optimistic concurrency: the right version writes, a stale one is 409, "*" on an existing one too
    const put = await con('PUT', path, { value: { gold: 50 }, version: ack.version, permission_read: 1, permission_write: 0 });
    assert.equal(put.status, 200, put.text);
    assert.notEqual(put.json.version, ack.version);
    assert.equal(put.json.user_id, a.uid);
    const stale = await con('PUT', path, { value: { gold: 99 }, version: ack.version });
    assert.equal(stale.status, 409, stale.text);
    assert.equal(stale.json.code, 6);
    assert.equal((await con('PUT', path, { value: '{"gold":99}', version: '*' })).status, 409);
    const now = await srv.post('/v2/storage', { object_ids: [{ collection: col, key: 'secret', user_id: a.uid }] }, { auth: bearer(a.token) });
    assert.equal(now.json.objects[0].value, '{"gold":50}', 'the player sees the edit (read is 1 now)');
    // the player still cannot write it (write 0), the console just did

    // server objects: the nil UUID
    const sp = `/v2/console/storage/${col}/config/${NIL}`;
    const sput = await con('PUT', sp, { value: { motd: 'hi' }, version: '*', permission_read: 2 });
    assert.equal(sput.status, 200, sput.text);
    assert.equal((await cget(sp)).json.user_id, NIL);

    // delete: a stale version is 409, the right one deletes, then 404
    assert.equal((await con('DELETE', `${path}?version=${ack.version}`)).status, 409);
    assert.equal((await con('DELETE', `${path}?version=${put.json.version}`)).status, 200);
    assert.equal((await cget(path)).status, 404);
    assert.equal((await con('DELETE', path)).status, 404);
    assert.equal((await con('DELETE', sp)).status, 200);
  });

  test('bad input: UUIDs, JSON, values, permissions, limits', async () => {
    assert.equal((await cget('/v2/console/storage/c/k/not-a-uuid')).status, 400);
    assert.equal((await con('PUT', `/v2/console/storage/c/k/${NIL}`, '{"value":')).status, 400);
    assert.equal((await con('PUT', `/v2/console/storage/c/k/${NIL}`, { value: [1] })).status, 400);
    assert.equal((await con('PUT', `/v2/console/storage/c/k/${NIL}`, { value: '{}', permission_read: 3 })).status, 400);
    assert.equal((await con('PUT', `/v2/console/storage/c/k/${NIL}`, { value: '{}', version: 5 })).status, 400);
    assert.equal((await con('PUT', `/v2/console/storage/${'c'.repeat(129)}/k/${NIL}`, { value: '{}' })).status, 400);
    assert.equal((await cget('/v2/console/storage?user_id=nope')).status, 400);
    assert.equal((await cget('/v2/console/storage?limit=0')).status, 400);
    assert.equal((await cget('/v2/console/storage?limit=1001')).status, 400);
    assert.equal((await cget('/v2/console/storage/collections?limit=x')).status, 400);
    assert.equal((await cget(`/v2/console/storage/c/missing/${NIL}`)).status, 404);
    assert.equal((await srv.get('/v2/console/storage', { consolePort: true })).status, 401);
  });
});

// ---------------------------------------------------------------------------------------------

describe('leaderboards', () => {
  test('a board, its ranked records, and deleting a record moves the ranks players see', async () => {
    const id = 'cd-board';
    assert.equal((await con('POST', '/v2/console/leaderboard', { id, authoritative: false })).status, 200);
    const us = [await player(), await player(), await player()];
    for (const [i, u] of us.entries()) {
      const w = await srv.post(`/v2/leaderboard/${id}`, { score: 100 - i * 10 }, { auth: bearer(u.token) });
      assert.equal(w.status, 200, w.text);
    }
    const board = await cget(`/v2/console/leaderboard/${id}`);
    assert.equal(board.status, 200, board.text);
    assert.equal(board.json.id, id);
    assert.equal(board.json.size, 3);
    assert.equal(board.json.record_count, 3);

    const recs = await cget(`/v2/console/leaderboard/${id}/records?limit=10`);
    assert.equal(recs.status, 200, recs.text);
    assert.deepEqual(recs.json.records.map((r) => [r.owner_id, r.rank]), us.map((u, i) => [u.uid, String(i + 1)]));
    const page = await cget(`/v2/console/leaderboard/${id}/records?limit=2`);
    assert.equal(page.json.records.length, 2);
    const page2 = await cget(`/v2/console/leaderboard/${id}/records?limit=2&cursor=${encodeURIComponent(page.json.next_cursor)}`);
    assert.deepEqual(page2.json.records.map((r) => [r.owner_id, r.rank]), [[us[2].uid, '3']]);

    // the top record goes: the second becomes first for players
    assert.equal((await con('DELETE', `/v2/console/leaderboard/${id}/owner/${us[0].uid}`)).status, 200);
    assert.equal((await con('DELETE', `/v2/console/leaderboard/${id}/owner/${us[0].uid}`)).status, 404, 'no record left');
    const seen = await srv.get(`/v2/leaderboard/${id}?limit=10&owner_ids=${us[2].uid}`, { auth: bearer(us[1].token) });
    assert.deepEqual(seen.json.records.map((r) => [r.owner_id, r.rank]), [[us[1].uid, '1'], [us[2].uid, '2']]);
    assert.equal(seen.json.owner_records[0].rank, '2', 'the rank cache followed');
    assert.equal((await cget(`/v2/console/leaderboard/${id}`)).json.size, 2);
  });

  test('authoritative boards and tournaments through the same routes', async () => {
    const id = 'cd-tourn';
    const t = await con('POST', '/v2/console/tournament', { id, title: 'T', duration: 3600, authoritative: true });
    assert.equal(t.status, 200, t.text);
    const u = await player();
    assert.equal((await srv.post(`/v2/tournament/${id}/join`, {}, { auth: bearer(u.token) })).status, 200);
    // authoritative: players cannot write; a module could. Here: a player's record on a
    // non-authoritative tournament instead
    const id2 = 'cd-tourn2';
    assert.equal((await con('POST', '/v2/console/tournament', { id: id2, title: 'T2', duration: 3600 })).status, 200);
    const w = await srv.put(`/v2/tournament/${id2}`, { score: 7 }, { auth: bearer(u.token) });
    assert.equal(w.status, 200, w.text);
    const view = await cget(`/v2/console/leaderboard/${id2}`);
    assert.equal(view.json.tournament, true);
    assert.equal(view.json.title, 'T2');
    const recs = await cget(`/v2/console/leaderboard/${id2}/records`);
    assert.deepEqual(recs.json.records.map((r) => r.owner_id), [u.uid]);
    assert.equal((await con('DELETE', `/v2/console/leaderboard/${id2}/owner/${u.uid}`)).status, 200);
    const after = await srv.get(`/v2/tournament/${id2}?limit=10`, { auth: bearer(u.token) });
    assert.equal(after.json.records, undefined);
    assert.equal((await cget(`/v2/console/leaderboard/${id}`)).json.authoritative, true);
  });

  test('bad input and unknown boards', async () => {
    assert.equal((await cget('/v2/console/leaderboard/cd-none')).status, 404);
    assert.equal((await cget('/v2/console/leaderboard/cd-none/records')).status, 404);
    assert.equal((await cget('/v2/console/leaderboard/cd-board/records?limit=1001')).status, 400);
    assert.equal((await cget('/v2/console/leaderboard/cd-board/records?cursor=zzz')).status, 400);
    assert.equal((await con('DELETE', '/v2/console/leaderboard/cd-board/owner/not-a-uuid')).status, 400);
    assert.equal((await con('DELETE', `/v2/console/leaderboard/cd-none/owner/${NIL}`)).status, 404);
  });
});

// ---------------------------------------------------------------------------------------------

describe('matches', () => {
  test('relayed and authoritative matches with their presences; one with tick figures; stop', async () => {
    const a = await wsConnect(srv, await player()), b = await wsConnect(srv, await player());
    try {
      // a relayed match of a and b
      const made = await request(a, { match_create: {} });
      const rid = made.match.match_id;
      const jb = await request(b, { match_join: { match_id: rid } });
      assert.ok(jb.match, JSON.stringify(jb));
      await nextWhere(a, (m) => m.match_presence_event?.joins?.[0]?.user_id === b.u.uid, 3000, 'b joining');

      // an authoritative tictactoe match with a in it
      const r = await srv.post('/v2/rpc/create_tictactoe', JSON.stringify('{}'), { auth: bearer(a.u.token) });
      assert.equal(r.status, 200, r.text);
      const aid = JSON.parse(r.json.payload).match_id;
      const ja = await request(a, { match_join: { match_id: aid } });
      assert.ok(ja.match, JSON.stringify(ja));

      const list = await cget('/v2/console/match');
      assert.equal(list.status, 200, list.text);
      const rel = list.json.matches.find((m) => m.match_id === rid);
      assert.ok(rel, JSON.stringify(list.json));
      assert.equal(rel.authoritative, undefined);
      assert.equal(rel.size, 2);
      assert.deepEqual(rel.presences.map((p) => p.user_id).sort(), [a.u.uid, b.u.uid].sort());
      assert.ok(rel.presences.every((p) => p.session_id && p.username));
      assert.ok(rel.create_time);
      const auth = list.json.matches.find((m) => m.match_id === aid);
      assert.equal(auth.authoritative, true);
      assert.equal(auth.handler_name, 'tictactoe');
      assert.equal(auth.tick_rate, 5);
      assert.equal(JSON.parse(auth.label).mode, 'tictactoe');
      assert.deepEqual(auth.presences.map((p) => p.user_id), [a.u.uid]);

      const one = await cget(`/v2/console/match/${aid}`);
      assert.equal(one.status, 200, one.text);
      assert.equal(one.json.module, 'tictactoe');
      assert.ok(one.json.ticks > 0, JSON.stringify(one.json));
      assert.equal((await cget(`/v2/console/match/${rid}`)).json.size, 2);
      assert.equal((await cget('/v2/console/match?limit=1')).json.matches.length, 1);

      // stop the authoritative match: a hears every member leave, it is gone from GET /v2/match
      const stop = await con('POST', `/v2/console/match/${aid}/stop`);
      assert.equal(stop.status, 200, stop.text);
      assert.deepEqual(stop.json, { match_id: aid, authoritative: true, ended: true });
      const bye = await nextWhere(a, (m) => m.match_presence_event?.match_id === aid && m.match_presence_event.leaves, 3000, 'the stopped match\'s leaves');
      assert.deepEqual(bye.match_presence_event.leaves.map((p) => p.user_id), [a.u.uid]);
      const listed = await srv.get('/v2/match?limit=100', { auth: bearer(a.u.token) });
      assert.ok(!(listed.json.matches ?? []).some((m) => m.match_id === aid), 'the stopped match is not listed');
      assert.equal((await cget(`/v2/console/match/${aid}`)).status, 404);
      assert.equal((await con('POST', `/v2/console/match/${aid}/stop`)).status, 404);
      const gone = await request(a, { match_join: { match_id: aid } });
      assert.equal(gone.error?.code, 4, JSON.stringify(gone));

      // stop the relayed match: both hear both leave; it is gone
      const rs = await con('POST', `/v2/console/match/${rid}/stop`);
      assert.deepEqual(rs.json, { match_id: rid, ended: true });
      for (const p of [a, b]) {
        const ev = await nextWhere(p, (m) => m.match_presence_event?.match_id === rid && m.match_presence_event.leaves, 3000, 'the relayed leaves');
        assert.equal(ev.match_presence_event.leaves.length, 2);
      }
      assert.equal((await cget(`/v2/console/match/${rid}`)).status, 404);
      const again = await request(b, { match_join: { match_id: rid } });
      assert.equal(again.error?.code, 4, 'a stopped relayed match cannot be joined');
    } finally {
      a.ws.close();
      b.ws.close();
    }
  });

  test('bad and unknown match ids', async () => {
    assert.equal((await cget('/v2/console/match/nope')).status, 400);
    assert.equal((await cget(`/v2/console/match/${NIL}`)).status, 400, 'no dot');
    assert.equal((await cget(`/v2/console/match/${NIL}.`)).status, 404);
    assert.equal((await cget(`/v2/console/match/${NIL}.tavern`)).status, 404);
    assert.equal((await cget(`/v2/console/match/${NIL}.othernode`)).status, 404);
    assert.equal((await con('POST', `/v2/console/match/${NIL}./stop`)).status, 404);
    assert.equal((await cget('/v2/console/match?limit=0')).status, 400);
    assert.equal((await cget('/v2/console/match?limit=1001')).status, 400);
  });
});

// ---------------------------------------------------------------------------------------------

describe('modules', () => {
  test('the loaded modules with their registrations, and the refused files with reasons', async () => {
    const res = await cget('/v2/console/module');
    assert.equal(res.status, 200, res.text);
    const good = res.json.modules.find((m) => m.name === 'good');
    assert.ok(good, JSON.stringify(res.json));
    assert.equal(good.version, '1.2.3');
    assert.equal(good.file, 'good.so');
    assert.match(good.abi_version, /^1\.\d+$/);
    assert.ok(good.rpcs.includes('TestEcho') && good.rpcs.includes('whoami'), JSON.stringify(good));
    assert.deepEqual(good.before_hooks.sort(), ['AuthenticateCustom', 'GetAccount', 'ListMatches', 'UpdateAccount']);
    assert.ok(good.after_hooks.includes('GetAccount'));
    assert.deepEqual(good.match_handlers, ['good_match']);
    const ttt = res.json.modules.find((m) => m.name === 'tictactoe');
    assert.deepEqual(ttt.match_handlers, ['tictactoe']);
    assert.deepEqual(res.json.modules.map((m) => m.file), ['arena.so', 'good.so', 'tictactoe.so']);
    assert.deepEqual(res.json.refused.map((r) => r.file), ['bad_abi.so']);
    assert.match(res.json.refused[0].reason, /ABI/);
    assert.equal(res.json.dir, moduleDir);
    assert.ok(res.json.generation >= 1);
  });

  test('reload picks up a new .so copied into the folder, and answers the new list', async () => {
    const before = (await cget('/v2/console/module')).json;
    copyFileSync(join(TEST_MODULES, 'reload_v2.so'), join(moduleDir, 'reload.so'));
    writeFileSync(join(moduleDir, 'junk.so'), 'not an elf');
    const res = await con('POST', '/v2/console/module/reload');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.generation, before.generation + 1);
    const rl = res.json.modules.find((m) => m.name === 'reload');
    assert.ok(rl, JSON.stringify(res.json));
    assert.equal(rl.version, 'v2');
    assert.deepEqual(rl.rpcs, ['reload_version', 'reload_slow']);
    assert.deepEqual(res.json.refused.map((r) => r.file).sort(), ['bad_abi.so', 'junk.so']);
    const call = await srv.post('/v2/rpc/reload_version?http_key=defaulthttpkey', JSON.stringify('""'));
    assert.equal(call.status, 200, call.text);
    assert.equal((await cget('/v2/console/module')).json.generation, res.json.generation);
  });
});
