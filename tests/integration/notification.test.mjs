// Notifications over REST and WebSockets: a module (tests/modules/notify_mod) sends them; the
// recipient's open sockets get the `notifications` push at once; persistent ones are listed
// oldest first with a cacheable cursor that later yields only newer ones, and deleted by id
// (one's own only); bad input is refused. Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer, decodeJwt, randomId } from '../lib/server.mjs';
import { wsOpen } from './wsutil.mjs';

const HTTP_KEY = 'defaulthttpkey';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let srv;
let moduleDir;

before(async () => {
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-notify-modules-'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'notify_mod.so'), join(moduleDir, 'notify_mod.so'));
  srv = await startServer(['--module-path', moduleDir]);
  assert.match(srv.log, /loaded notify_mod/);
});

after(async () => {
  await srv?.stop();
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

async function user() {
  const res = await srv.authenticate('device', { id: randomId('nt-', 32) });
  assert.equal(res.status, 200, res.text);
  const uid = decodeJwt(res.json.token).payload.uid;
  return { token: res.json.token, uid, auth: bearer(res.json.token) };
}

async function notify(body) {
  const res = await srv.post(`/v2/rpc/notify?http_key=${HTTP_KEY}&unwrap`, JSON.stringify(body));
  return res.status;
}

const list = (u, q = '') => srv.get(`/v2/notification${q ? '?' + q : ''}`, { auth: u.auth });

function ok(res) {
  assert.equal(res.status, 200, res.text);
  return res.json;
}

test('pushed to open sockets at once; only persistent ones are listed', async () => {
  const a = await user();
  const r = await wsOpen(srv, `token=${encodeURIComponent(a.token)}`);
  const r2 = await wsOpen(srv, `token=${encodeURIComponent(a.token)}`);
  assert.equal(await notify({ user_id: a.uid, subject: 'reward', content: { coins: 5 }, code: 7, persistent: true }), 200);
  for (const sock of [r, r2]) {
    const m = await sock.inbox.next();
    const [n] = m.notifications.notifications;
    assert.match(n.id, UUID);
    assert.deepEqual({ ...n, id: undefined, create_time: undefined },
      { id: undefined, create_time: undefined, subject: 'reward', content: '{"coins":5}', code: 7, persistent: true });
    assert.ok(Math.abs(Date.parse(n.create_time) - Date.now()) < 60000);
  }
  const sender = (await user()).uid;
  assert.equal(await notify({ user_id: a.uid, subject: 'ping', code: 2, sender_id: sender }), 200);
  const live = (await r.inbox.next()).notifications.notifications[0];
  assert.equal(live.persistent, undefined);
  assert.equal(live.sender_id, sender);
  assert.equal(live.content, '{}');

  const l = ok(await list(a, 'limit=100'));
  assert.deepEqual(l.notifications.map((n) => n.subject), ['reward']);
  r.ws.close();
  r2.ws.close();
});

test('oldest first; the cacheable cursor yields only newer ones; delete is per owner', async () => {
  const a = await user();
  const b = await user();
  for (let i = 0; i < 5; i++)
    assert.equal(await notify({ user_id: a.uid, subject: `n${i}`, code: 1, persistent: true }), 200);
  let l = ok(await list(a)); // default limit 1
  assert.deepEqual(l.notifications.map((n) => n.subject), ['n0']);
  l = ok(await list(a, `limit=3&cacheable_cursor=${l.cacheable_cursor}`));
  assert.deepEqual(l.notifications.map((n) => n.subject), ['n1', 'n2', 'n3']);
  l = ok(await list(a, `limit=3&cacheableCursor=${l.cacheable_cursor}`));
  assert.deepEqual(l.notifications.map((n) => n.subject), ['n4']);
  const end = l.cacheable_cursor;
  l = ok(await list(a, `limit=3&cacheable_cursor=${end}`));
  assert.equal(l.notifications, undefined);
  assert.equal(l.cacheable_cursor, end, 'nothing new: the same position');
  assert.equal(await notify({ user_id: a.uid, subject: 'later', code: 1, persistent: true }), 200);
  l = ok(await list(a, `limit=3&cacheable_cursor=${end}`));
  assert.deepEqual(l.notifications.map((n) => n.subject), ['later']);

  const all = ok(await list(a, 'limit=100')).notifications;
  assert.equal(all.length, 6);
  assert.deepEqual(ok(await srv.del(`/v2/notification?ids=${all[0].id}&ids=${all[1].id}`, { auth: b.auth })), {});
  assert.equal(ok(await list(a, 'limit=100')).notifications.length, 6, "b cannot delete a's");
  assert.deepEqual(ok(await srv.del(`/v2/notification?ids=${all[0].id}&ids=${all[1].id}`, { auth: a.auth })), {});
  assert.deepEqual(ok(await list(a, 'limit=100')).notifications.map((n) => n.subject), ['n2', 'n3', 'n4', 'later']);
  assert.equal(ok(await list(b, 'limit=100')).notifications, undefined);
});

test('bad input is refused and changes nothing', async () => {
  const a = await user();
  const bad400 = (res, msg) => {
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.code, 3);
    assert.match(res.json.message, msg);
  };
  bad400(await list(a, 'limit=0'), /limit/);
  bad400(await list(a, 'limit=101'), /limit/);
  bad400(await list(a, 'limit=x'), /limit/);
  bad400(await list(a, 'cacheable_cursor=not-a-cursor'), /cursor/);
  bad400(await list(a, `cacheable_cursor=${Buffer.from('x12').toString('base64url')}`), /cursor/);
  bad400(await srv.del('/v2/notification?ids=nope', { auth: a.auth }), /Invalid notification ID/);
  const many = Array.from({ length: 101 }, () => `ids=${a.uid}`).join('&');
  bad400(await srv.del(`/v2/notification?${many}`, { auth: a.auth }), /at most 100/);
  assert.equal((await srv.get('/v2/notification')).status, 401);

  assert.equal(await notify({ user_id: a.uid, subject: 's', code: 0, persistent: true }), 400, 'system code');
  assert.equal(await notify({ user_id: a.uid, subject: '', code: 1, persistent: true }), 400, 'no subject');
  assert.equal(await notify({ user_id: a.uid, subject: 'x'.repeat(256), code: 1 }), 400, 'long subject');
  assert.equal(await notify({ user_id: 'nope', subject: 's', code: 1 }), 400, 'bad user id');
  assert.equal(await notify({ user_id: a.uid, subject: 's', code: 1, sender_id: 'nope' }), 400, 'bad sender');
  assert.equal(await notify({ user_id: '00000000-0000-4000-8000-000000000000', subject: 's', code: 1, persistent: true }), 404, 'no such user');
  assert.equal(ok(await list(a, 'limit=100')).notifications, undefined);

  // an account's notifications go with it
  assert.equal(await notify({ user_id: a.uid, subject: 'kept?', code: 1, persistent: true }), 200);
  assert.equal(ok(await srv.del('/v2/account', { auth: a.auth })) !== undefined, true);
  const again = await user();
  assert.equal(ok(await list(again, 'limit=100')).notifications, undefined);
});
