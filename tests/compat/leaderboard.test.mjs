// The real @heroiclabs/nakama-js 2.8.0 on tavern's leaderboards and tournaments: records written,
// listed (with ownerIds and cursors), around an owner and deleted; tournaments listed, joined,
// written (nakama-js writes with PUT) and listed. Boards are made through the console API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import { statusOf } from '../lib/nakama.mjs';
import { startServer, bearer, randomId } from '../lib/server.mjs';

let srv, client, consoleAuth;
const sessions = [];

before(async () => {
  srv = await startServer();
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
  const c = await srv.post('/v2/console/authenticate', { username: 'admin', password: 'password' }, { consolePort: true });
  assert.equal(c.status, 200, c.text);
  consoleAuth = bearer(c.json.token);
  for (let i = 0; i < 5; i++) sessions.push(await client.authenticateDevice(randomId('njs-lb-', 32), true));
});

after(async () => { await srv?.stop(); });

async function create(path, body) {
  const res = await srv.post(path, body, { consolePort: true, auth: consoleAuth });
  assert.equal(res.status, 200, res.text);
}

test('writeLeaderboardRecord, listLeaderboardRecords (+ownerIds, cursor), around owner, delete', async () => {
  const id = randomId('njs-board-', 20);
  await create('/v2/console/leaderboard', { id, operator: 'best' });
  for (const [i, s] of sessions.entries()) {
    const rec = await client.writeLeaderboardRecord(s, id, { score: (i + 1) * 10, subscore: i, metadata: { i } });
    assert.equal(rec.leaderboard_id, id);
    assert.equal(rec.owner_id, s.user_id);
    assert.equal(rec.username, s.username);
    assert.equal(rec.score, (i + 1) * 10);
    assert.deepEqual(rec.metadata, { i });
    assert.equal(rec.num_score, 1);
  }
  const best = await client.writeLeaderboardRecord(sessions[0], id, { score: 5, subscore: 100 });
  assert.deepEqual([best.score, best.subscore, best.rank], [10, 100, 5]);

  const top = await client.listLeaderboardRecords(sessions[0], id, [sessions[0].user_id], 2);
  assert.deepEqual(top.records.map((r) => r.score), [50, 40]);
  assert.deepEqual(top.records.map((r) => r.rank), [1, 2]);
  assert.equal(top.owner_records[0].rank, 5);
  assert.equal(top.rank_count, 5);
  assert.ok(top.next_cursor);
  const page2 = await client.listLeaderboardRecords(sessions[0], id, undefined, 2, top.next_cursor);
  assert.deepEqual(page2.records.map((r) => r.rank), [3, 4]);
  const back = await client.listLeaderboardRecords(sessions[0], id, undefined, 2, page2.prev_cursor);
  assert.deepEqual(back.records.map((r) => r.score), [50, 40]);

  const around = await client.listLeaderboardRecordsAroundOwner(sessions[0], id, sessions[2].user_id, 3);
  assert.deepEqual(around.records.map((r) => r.owner_id), [sessions[3].user_id, sessions[2].user_id, sessions[1].user_id]);
  assert.deepEqual(around.records.map((r) => r.rank), [2, 3, 4]);

  await client.apiClient.deleteLeaderboardRecord(sessions[4].token, id);
  const after = await client.listLeaderboardRecords(sessions[0], id, undefined, 10);
  assert.equal(after.records.length, 4);
  assert.equal(after.records[0].owner_id, sessions[3].user_id);
  assert.equal(after.rank_count, 4);
  assert.equal(await statusOf(client.writeLeaderboardRecord(sessions[0], 'njs-no-board', { score: 1 })), 404);
});

test('listTournaments, joinTournament, writeTournamentRecord, listTournamentRecords (+AroundOwner)', async () => {
  const id = randomId('njs-t-', 20);
  const now = Math.floor(Date.now() / 1000);
  await create('/v2/console/tournament', {
    id, title: 'Weekly', description: 'Who is best', category: 42, duration: 3600, end_time: now + 86400,
    max_size: 4, max_num_score: 3, join_required: true, operator: 'incr', metadata: { prize: 'cup' },
  });
  const list = await client.listTournaments(sessions[0], 42, 42, undefined, undefined, 10);
  assert.equal(list.tournaments.length, 1);
  const t = list.tournaments[0];
  assert.deepEqual([t.id, t.title, t.description, t.category, t.max_size, t.max_num_score, t.duration, t.can_enter],
    [id, 'Weekly', 'Who is best', 42, 4, 3, 3600, true]);
  assert.deepEqual(t.metadata, { prize: 'cup' });
  assert.ok(t.end_active > now);

  assert.equal(await statusOf(client.writeTournamentRecord(sessions[0], id, { score: 1 })), 400);
  for (const s of sessions.slice(0, 4)) assert.equal(await client.joinTournament(s, id), true);
  assert.equal(await statusOf(client.joinTournament(sessions[4], id)), 400);
  for (const [i, s] of sessions.slice(0, 4).entries()) {
    const r = await client.writeTournamentRecord(s, id, { score: i + 1, metadata: { i } });
    assert.equal(r.score, i + 1);
    assert.equal(r.max_num_score, 3);
  }
  const again = await client.writeTournamentRecord(sessions[0], id, { score: 10 });
  assert.deepEqual([again.score, again.num_score, again.rank], [11, 2, 1]);

  const recs = await client.listTournamentRecords(sessions[0], id, [sessions[1].user_id], 10);
  assert.deepEqual(recs.records.map((r) => r.score), [11, 4, 3, 2]);
  assert.equal(recs.owner_records[0].rank, 4);
  const around = await client.listTournamentRecordsAroundOwner(sessions[0], id, sessions[3].user_id, 2);
  assert.equal(around.records.length, 2);
  assert.ok(around.records.some((r) => r.owner_id === sessions[3].user_id));
  const sizes = await client.listTournaments(sessions[0], 42, 42, undefined, undefined, 10);
  assert.equal(sizes.tournaments[0].size, 4);
});
