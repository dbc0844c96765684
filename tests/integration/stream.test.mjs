// Streams (ABI 1.8, tests/modules/streams_mod.c) over raw WebSockets: a module's RPCs join
// sessions to a stream, list and count them, send stream_data to all or to listed members,
// leave and close; members hear stream_presence_event for visible joins and leaves (their own
// join too), never for hidden members; a closing socket leaves its streams; the limits (mode,
// label, data size, streams per socket, unknown sessions). Then POST /v2/event handed to the
// module's event hook (register_event) off the request path.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer } from '../lib/server.mjs';
import { newWsUser, wsConnect } from './wsutil.mjs';

const HTTP_KEY = 'defaulthttpkey';
let srv, dir;

before(async () => {
  assert.ok(process.env.TAVERN_TEST_MODULES, 'TAVERN_TEST_MODULES is set by meson');
  dir = mkdtempSync(join(tmpdir(), 'tavern-streams-'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'streams_mod.so'), join(dir, 'streams_mod.so'));
  srv = await startServer(['--module-path', dir]);
});
after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A user with a socket, its session id learnt by joining a scratch stream through the RPC. */
async function player() {
  const u = await newWsUser(srv, 'stream-');
  const p = await wsConnect(srv, u);
  p.stash = [];
  const label = `me-${u.uid}`;
  const r = await rpcWs(p, 'stream_join', `mode=200&label=${label}`);
  p.sid = r.session_id;
  await take(p, (m) => m.stream_presence_event?.stream?.label === label);
  return p;
}

/** The first message (stashed ones first) matching pred; others are stashed. */
async function take(p, pred, timeoutMs = 5000) {
  const i = p.stash.findIndex(pred);
  if (i >= 0) return p.stash.splice(i, 1)[0];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await p.inbox.next(Math.max(1, deadline - Date.now()));
    if (pred(m)) return m;
    p.stash.push(m);
  }
}

/** The next stream_* push of p (stashed ones first). */
const nextStream = (p) => take(p, (m) => m.stream_data || m.stream_presence_event);

let cid = 0;
async function rpcWs(p, id, payload) {
  const c = String(++cid);
  p.inbox.send({ cid: c, rpc: { id, payload } });
  const r = await take(p, (m) => m.cid === c);
  assert.ok(r.rpc, JSON.stringify(r));
  return JSON.parse(r.rpc.payload);
}
function rpcHttp(id, query = {}, body = '') {
  const q = new URLSearchParams({ http_key: HTTP_KEY, unwrap: '', ...query });
  return srv.post(`/v2/rpc/${id}?${q}`, body);
}
async function ok(id, query) {
  const res = await rpcHttp(id, query);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

const pres = (p) => ({ user_id: p.u.uid, session_id: p.sid, username: p.u.usn });

describe('streams through the module host table', () => {
  test('joins, presence events, list, count, send to all and to some, leave, hidden, close', async () => {
    const a = await player(), b = await player(), c = await player();
    const S = { mode: '100', label: 'lobby' };
    const stream = { mode: 100, label: 'lobby' };

    assert.deepEqual(await ok('stream_join', { ...S, session_id: a.sid }), { is_new: 1, session_id: a.sid });
    let e = await nextStream(a);
    assert.deepEqual(e, { stream_presence_event: { stream, joins: [pres(a)] } });
    assert.equal((await ok('stream_join', { ...S, session_id: a.sid })).is_new, 0); // again: nothing

    await ok('stream_join', { ...S, session_id: b.sid, persistence: '1' });
    const bj = { stream_presence_event: { stream, joins: [{ ...pres(b), persistence: true }] } };
    assert.deepEqual(await nextStream(a), bj);
    assert.deepEqual(await nextStream(b), bj);

    // a hidden member hears the stream but is never announced or listed as visible
    await ok('stream_join', { ...S, session_id: c.sid, hidden: '1' });
    let l = await ok('stream_list', S);
    assert.equal(l.count, 3);
    assert.deepEqual(l.presences.map((x) => x.session_id).sort(), [a.sid, b.sid, c.sid].sort());
    assert.deepEqual(l.presences.find((x) => x.session_id === c.sid).hidden, true);
    l = await ok('stream_list', { ...S, visible: '1' });
    assert.deepEqual(l.presences.map((x) => x.session_id).sort(), [a.sid, b.sid].sort());
    assert.deepEqual((await ok('stream_list', { ...S, hidden: '1' })).presences.map((x) => x.session_id), [c.sid]);

    await ok('stream_send', { ...S, data: 'hello' });
    for (const p of [a, b, c]) // no presence event for c came first
      assert.deepEqual(await nextStream(p), { stream_data: { stream, data: 'hello' } });

    await ok('stream_send', { ...S, data: 'just b', to: b.sid, sender: a.sid, reliable: '1' });
    assert.deepEqual(await nextStream(b), { stream_data: { stream, sender: pres(a), data: 'just b', reliable: true } });
    await ok('stream_send', { ...S, data: 'to all' });
    assert.equal((await nextStream(a)).stream_data.data, 'to all'); // a never got "just b"
    assert.equal((await nextStream(c)).stream_data.data, 'to all');
    assert.equal((await nextStream(b)).stream_data.data, 'to all');

    await ok('stream_leave', { ...S, session_id: b.sid });
    const bl = { stream_presence_event: { stream, leaves: [{ ...pres(b), persistence: true }] } };
    assert.deepEqual(await nextStream(a), bl);
    assert.deepEqual(await nextStream(c), bl); // hidden members hear the others
    assert.equal((await ok('stream_list', S)).count, 2);

    // a closing socket leaves its streams
    a.ws.close();
    assert.deepEqual(await nextStream(c), { stream_presence_event: { stream, leaves: [pres(a)] } });
    assert.equal((await ok('stream_list', S)).count, 1);

    // close: everyone out, nobody told
    await ok('stream_join', { ...S, session_id: b.sid });
    assert.ok((await nextStream(b)).stream_presence_event.joins);
    assert.ok((await nextStream(c)).stream_presence_event.joins);
    await ok('stream_close', S);
    assert.equal((await ok('stream_list', S)).count, 0);
    await ok('stream_send', { ...S, data: 'nobody' });
    await ok('stream_join', { mode: '100', label: 'after', session_id: b.sid });
    assert.deepEqual((await nextStream(b)).stream_presence_event.stream, { mode: 100, label: 'after' });
    b.ws.close();
    c.ws.close();
  });

  test('subject and subcontext, and streams of one mode kept apart', async () => {
    const a = await player();
    const subject = a.u.uid, sub = '5f0c4a2e-8a7b-4c1d-9e2f-0123456789ab';
    await ok('stream_join', { mode: '123', subject: subject.toUpperCase(), subcontext: sub, session_id: a.sid });
    const e = await nextStream(a);
    assert.deepEqual(e.stream_presence_event.stream, { mode: 123, subject, subcontext: sub });
    assert.equal((await ok('stream_list', { mode: '123', subject, subcontext: sub })).count, 1);
    assert.equal((await ok('stream_list', { mode: '123', subject })).count, 0);
    await ok('stream_send', { mode: '123', subject, data: 'elsewhere' });
    await ok('stream_send', { mode: '123', subject, subcontext: sub, data: 'here' });
    assert.equal((await nextStream(a)).stream_data.data, 'here');
    a.ws.close();
  });

  test('limits and refusals', async () => {
    const a = await player(), other = await player();
    const bad = async (id, query, status) => {
      const res = await rpcHttp(id, query);
      assert.equal(res.status, status, `${id} ${JSON.stringify(query)}: ${res.text}`);
    };
    for (const mode of ['0', '2', '7', '256', '-1'])
      await bad('stream_join', { mode, label: 'x', session_id: a.sid }, 400);
    await bad('stream_join', { label: 'x'.repeat(65), session_id: a.sid }, 400);
    await ok('stream_join', { label: 'y'.repeat(64), session_id: a.sid });
    await bad('stream_join', { subject: 'not-a-uuid', session_id: a.sid }, 400);
    await bad('stream_join', { label: 'x', session_id: '00000000-0000-4000-8000-000000000000' }, 404);
    await bad('stream_join', { label: 'x', session_id: a.sid, user_id: other.u.uid }, 404);
    await ok('stream_join', { label: 'x', session_id: a.sid, user_id: a.u.uid });
    await bad('stream_send', { label: 'x', size: '3073' }, 400);
    await ok('stream_send', { label: 'x', size: '3072' });
    assert.equal((await take(a, (m) => m.stream_data)).stream_data.data.length, 3072);
    // 64 streams a socket (the scratch one, y*64 and x are 3 of them)
    for (let i = 0; i < 61; i++) await ok('stream_join', { label: `n${i}`, session_id: a.sid });
    await bad('stream_join', { label: 'one-too-many', session_id: a.sid }, 429);
    // streams do not count against the 128 chat channels, nor channels against streams
    const c = String(++cid);
    a.inbox.send({ cid: c, channel_join: { target: 'stream-room', type: 1 } });
    assert.ok((await take(a, (m) => m.cid === c)).channel);
    await ok('stream_leave', { label: 'n0', session_id: a.sid });
    await ok('stream_join', { label: 'one-too-many', session_id: a.sid });
    a.ws.close();
    other.ws.close();
  });
});

describe('POST /v2/event handed to the modules\' event hook', () => {
  test('events reach the hook with the sender; bad bodies are 400', async () => {
    const u = await srv.authenticate('device', { id: `stream-ev-${Date.now()}-0123456789` });
    assert.equal(u.status, 200, u.text);
    const auth = bearer(u.json.token);
    let res = await srv.post('/v2/event', { name: 'level_up', timestamp: '2024-05-01T10:00:00Z',
      external: false, properties: { level: '3' } }, { auth });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, {});
    res = await srv.post('/v2/event', { name: 'no_time' }, { auth });
    assert.equal(res.status, 200, res.text);
    let seen = [];
    for (let i = 0; i < 50 && seen.length < 2; i++) {
      seen = (await ok('events_seen')).filter((e) => e.event.name === 'level_up' || e.event.name === 'no_time');
      if (seen.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(seen.length, 2, JSON.stringify(seen));
    const uid = JSON.parse(Buffer.from(u.json.token.split('.')[1], 'base64url')).uid;
    assert.deepEqual(seen[0], { user_id: uid, event: { name: 'level_up', timestamp: '2024-05-01T10:00:00Z',
      external: true, properties: { level: '3' } } });
    assert.match(seen[1].event.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(seen[1].event.properties, {});

    for (const body of [{ properties: { n: 3 } }, { name: 5 }, [1]]) {
      res = await srv.post('/v2/event', body, { auth });
      assert.equal(res.status, 400, res.text);
    }
    res = await srv.post('/v2/event', { name: 'x' });
    assert.equal(res.status, 401);
  });
});
