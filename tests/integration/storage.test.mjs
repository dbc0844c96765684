// Storage objects over real HTTP, on SQLite and PostgreSQL: writes, reads, deletes and listings;
// versions and optimistic concurrency under parallel writers; all-or-nothing batches; the
// documented limits; permissions across two users; cursor paging and tampered cursors; the
// module host entries (tests/modules/storage_mod) and a before hook on ReadStorageObjects.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, bearer, decodeJwt, randomId } from '../lib/server.mjs';

const HTTP_KEY = 'defaulthttpkey';
const SYSTEM = '00000000-0000-0000-0000-000000000000';

let srv;
let moduleDir;

before(async () => {
  moduleDir = mkdtempSync(join(tmpdir(), 'tavern-storage-modules-'));
  copyFileSync(join(process.env.TAVERN_TEST_MODULES, 'storage_mod.so'), join(moduleDir, 'storage_mod.so'));
  srv = await startServer(['--module-path', moduleDir]);
  assert.match(srv.log, /loaded storage_mod/);
});

after(async () => {
  await srv?.stop();
  if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
});

/** A fresh user: {token, uid, auth}. */
async function user() {
  const res = await srv.authenticate('device', { id: randomId('st-', 32) });
  assert.equal(res.status, 200, res.text);
  const uid = decodeJwt(res.json.token).payload.uid;
  return { token: res.json.token, uid, auth: bearer(res.json.token) };
}

const write = (u, objects) => srv.put('/v2/storage', { objects }, { auth: u.auth });
const read = (u, ids) => srv.post('/v2/storage', { object_ids: ids }, { auth: u.auth });
const del = (u, ids) => srv.put('/v2/storage/delete', { object_ids: ids }, { auth: u.auth });
const list = (u, col, query = '') => srv.get(`/v2/storage/${encodeURIComponent(col)}?${query}`, { auth: u.auth });
const obj = (collection, key, value, extra = {}) => ({ collection, key, value: JSON.stringify(value), ...extra });
const col = () => randomId('c', 12);

function assert400(res, message) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.code, 3);
  if (message) assert.equal(res.json.message, message);
}

/** The module's RPCs, called with the HTTP key, the payload raw (?unwrap). */
async function rpc(id, payload, query = '') {
  const res = await srv.post(`/v2/rpc/${id}?http_key=${HTTP_KEY}&unwrap${query}`,
    typeof payload === 'string' ? payload : JSON.stringify(payload));
  return { status: res.status, json: res.text ? JSON.parse(res.text) : undefined, text: res.text };
}

describe('write, read, list, delete', () => {
  test('acks carry versions; reads return the objects; an update keeps create_time', async () => {
    const a = await user();
    const c = col();
    const w = await write(a, [obj(c, 'k1', { n: 1 }), obj(c, 'k2', { n: 2 }, { permission_read: 2, permission_write: 0 })]);
    assert.equal(w.status, 200, w.text);
    assert.equal(w.json.acks.length, 2);
    for (const [i, ack] of w.json.acks.entries()) {
      assert.deepEqual(Object.keys(ack).sort(), ['collection', 'create_time', 'key', 'update_time', 'user_id', 'version']);
      assert.equal(ack.key, `k${i + 1}`);
      assert.equal(ack.user_id, a.uid);
      assert.match(ack.version, /^[0-9a-f]{32}$/);
    }
    const same = await write(a, [obj(c, 'k1', { n: 1 })]);
    assert.equal(same.json.acks[0].version, w.json.acks[0].version, 'the version is a hash of the value');
    const r = await read(a, [{ collection: c, key: 'k2', user_id: a.uid }, { collection: c, key: 'k1', user_id: a.uid },
      { collection: c, key: 'missing', user_id: a.uid }, { collection: c, key: 'k1', user_id: a.uid }]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.objects.map((o) => o.key), ['k2', 'k1'], 'input order, found ones, each once');
    const k2 = r.json.objects[0];
    assert.equal(k2.value, '{"n":2}');
    assert.equal(k2.permission_read, 2);
    assert.ok(!Object.hasOwn(k2, 'permission_write'), 'permission 0 is omitted');
    assert.equal(k2.version, w.json.acks[1].version);
    const upd = await write(a, [obj(c, 'k1', { n: 10 })]);
    assert.notEqual(upd.json.acks[0].version, w.json.acks[0].version);
    assert.equal(upd.json.acks[0].create_time, w.json.acks[0].create_time);
  });

  test('empty requests answer {}', async () => {
    const a = await user();
    for (const res of [await write(a, []), await read(a, []), await del(a, []),
      await srv.put('/v2/storage', {}, { auth: a.auth }), await list(a, col())])
      assert.deepEqual([res.status, res.json], [200, {}], res.text);
  });

  test('versions: "*" creates only, a hash updates only if unchanged, a mismatch is 400', async () => {
    const a = await user();
    const c = col();
    const first = await write(a, [obj(c, 'k', { v: 1 }, { version: '*' })]);
    assert.equal(first.status, 200, first.text);
    assert400(await write(a, [obj(c, 'k', { v: 2 }, { version: '*' })]), 'Storage write rejected.');
    const v1 = first.json.acks[0].version;
    const second = await write(a, [obj(c, 'k', { v: 2 }, { version: v1 })]);
    assert.equal(second.status, 200, second.text);
    assert400(await write(a, [obj(c, 'k', { v: 3 }, { version: v1 })]), 'Storage write rejected.');
    assert400(await write(a, [obj(c, 'absent', { v: 3 }, { version: v1 })]), 'Storage write rejected.');
    const r = await read(a, [{ collection: c, key: 'k', user_id: a.uid }]);
    assert.equal(r.json.objects[0].value, '{"v":2}');
  });

  test('delete: by id, with a version; nothing matched rejects the batch', async () => {
    const a = await user();
    const c = col();
    const w = await write(a, [obj(c, 'x', { n: 1 }), obj(c, 'y', { n: 2 })]);
    assert400(await del(a, [{ collection: c, key: 'x', version: 'ffffffffffffffffffffffffffffffff' }]), 'Storage delete rejected.');
    assert400(await del(a, [{ collection: c, key: 'x' }, { collection: c, key: 'nope' }]), 'Storage delete rejected.');
    assert.equal((await read(a, [{ collection: c, key: 'x', user_id: a.uid }])).json.objects.length, 1, 'the batch deleted nothing');
    const ok = await del(a, [{ collection: c, key: 'x', version: w.json.acks[0].version }, { collection: c, key: 'y' }]);
    assert.deepEqual([ok.status, ok.json], [200, {}], ok.text);
    assert.deepEqual((await read(a, [{ collection: c, key: 'x', user_id: a.uid }, { collection: c, key: 'y', user_id: a.uid }])).json, {});
  });
});

describe('concurrency and atomicity', () => {
  test('20 parallel writes on one version: exactly one wins', async () => {
    const a = await user();
    const c = col();
    const base = await write(a, [obj(c, 'race', { n: 0 })]);
    const version = base.json.acks[0].version;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      write(a, [obj(c, 'race', { n: i + 1 }, { version })])));
    const won = results.filter((r) => r.status === 200);
    assert.equal(won.length, 1, results.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of results.filter((x) => x.status !== 200)) assert400(r, 'Storage write rejected.');
    const stored = (await read(a, [{ collection: c, key: 'race', user_id: a.uid }])).json.objects[0];
    assert.equal(stored.version, won[0].json.acks[0].version, 'the winner is what is stored');
  });

  test('20 parallel creates ("*") of one key: exactly one wins', async () => {
    const a = await user();
    const c = col();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      write(a, [obj(c, 'new', { n: i }, { version: '*' })])));
    assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join(','));
  });

  test('a batch with one rejected object writes nothing', async () => {
    const a = await user();
    const c = col();
    await write(a, [obj(c, 'exists', { n: 1 })]);
    assert400(await write(a, [obj(c, 'fresh', { n: 1 }), obj(c, 'exists', { n: 2 }, { version: '*' })]), 'Storage write rejected.');
    assert400(await write(a, [obj(c, 'fresh', { n: 1 }), { collection: c, key: 'bad', value: 'not json' }]), 'Value must be a JSON object.');
    const r = await read(a, [{ collection: c, key: 'fresh', user_id: a.uid }, { collection: c, key: 'exists', user_id: a.uid }]);
    assert.deepEqual(r.json.objects.map((o) => [o.key, o.value]), [['exists', '{"n":1}']]);
  });
});

describe('validation and limits', () => {
  test('bad JSON and bad fields answer 400', async () => {
    const a = await user();
    const c = col();
    assert400(await srv.put('/v2/storage', '{"objects": [', { auth: a.auth }));
    assert400(await srv.put('/v2/storage', { objects: {} }, { auth: a.auth }));
    assert400(await srv.put('/v2/storage', { objects: [5] }, { auth: a.auth }));
    for (const value of ['[1]', '"s"', '42', 'null', '{"a":', '{} x'])
      assert400(await write(a, [{ collection: c, key: 'k', value }]), 'Value must be a JSON object.');
    const mustSet = 'Invalid collection or key value supplied. They must be set.';
    assert400(await write(a, [{ collection: '', key: 'k', value: '{}' }]), mustSet);
    assert400(await write(a, [{ collection: c, key: 'k' }]), mustSet);
    assert400(await write(a, [{ collection: c, key: 7, value: '{}' }]));
    assert400(await write(a, [{ collection: c, key: 'k', value: { a: 1 } }]));
    assert400(await write(a, [obj(c, 'k', {}, { permission_read: 3 })]), 'Invalid Read permission supplied. It must be either 0, 1 or 2.');
    assert400(await write(a, [obj(c, 'k', {}, { permission_read: -1 })]));
    assert400(await write(a, [obj(c, 'k', {}, { permission_write: 2 })]), 'Invalid Write permission supplied. It must be either 0 or 1.');
    assert400(await write(a, [obj(c, 'k', {}, { permission_read: 1.5 })]));
    assert.equal((await write(a, [obj(c, 'k', {}, { permission_read: '2' })])).status, 200, 'int32 as a string, as protojson reads it');
    assert400(await read(a, [{ collection: c, key: 'k', user_id: 'not-a-uuid' }]), 'Invalid user ID - make sure user ID is a valid UUID.');
    assert400(await read(a, [{ collection: c, key: 'k', user_id: SYSTEM }]), 'Invalid user ID - make sure user ID is a valid UUID.');
    assert400(await del(a, [{ collection: c }]), mustSet);
  });

  test('collection and key: 128 bytes; value: 65536 bytes; batches: 100 objects', async () => {
    const a = await user();
    const c = col();
    assert.equal((await write(a, [obj('é'.repeat(64), 'k', {})])).status, 200, '128 bytes of UTF-8');
    assert400(await write(a, [obj('c'.repeat(129), 'k', {})]), 'Invalid collection: at most 128 bytes.');
    assert.equal((await write(a, [obj(c, 'k'.repeat(128), {})])).status, 200);
    assert400(await write(a, [obj(c, 'k'.repeat(129), {})]), 'Invalid key: at most 128 bytes.');
    const sized = (n) => `{"p":"${'x'.repeat(n - 8)}"}`;
    assert.equal(Buffer.byteLength(sized(65536)), 65536);
    assert.equal((await write(a, [{ collection: c, key: 'big', value: sized(65536) }])).status, 200);
    assert400(await write(a, [{ collection: c, key: 'big', value: sized(65537) }]), 'Invalid value: at most 65536 bytes.');
    const many = (n) => Array.from({ length: n }, (_, i) => obj(c, `b${i}`, { i }));
    const hundred = await write(a, many(100));
    assert.equal(hundred.status, 200, hundred.text);
    assert.equal(hundred.json.acks.length, 100);
    assert400(await write(a, many(101)), 'Too many storage objects: at most 100 per request.');
    const ids = (n) => Array.from({ length: n }, (_, i) => ({ collection: c, key: `b${i}`, user_id: a.uid }));
    assert.equal((await read(a, ids(100))).json.objects.length, 100);
    assert400(await read(a, ids(101)));
  });

  test('list: limit 1..100 (default 1), collection and user id checked', async () => {
    const a = await user();
    const c = col();
    await write(a, [obj(c, 'a', {}, { permission_read: 2 }), obj(c, 'b', {}, { permission_read: 2 })]);
    const one = await list(a, c);
    assert.equal(one.json.objects.length, 1, 'default limit 1');
    assert.ok(one.json.cursor);
    for (const bad of ['0', '101', 'abc', '', '1.5', '-1'])
      assert400(await list(a, c, `limit=${bad}`), 'Invalid limit - limit must be between 1 and 100.');
    assert.equal((await list(a, c, 'limit=100')).json.objects.length, 2);
    assert400(await list(a, 'c'.repeat(129)));
    assert400(await list(a, c, 'user_id=nope'), 'Invalid user ID - make sure user ID is a valid UUID.');
    assert400(await srv.get(`/v2/storage/${c}/nope`, { auth: a.auth }));
  });
});

describe('permissions across users', () => {
  test('reads: own with read 1 or 2, others with read 2 only; read 0 for the server only', async () => {
    const a = await user();
    const b = await user();
    const c = col();
    await write(a, [obj(c, 'none', {}, { permission_read: 0 }), obj(c, 'owner', {}, { permission_read: 1 }),
      obj(c, 'public', {}, { permission_read: 2 })]);
    const ids = ['none', 'owner', 'public'].map((key) => ({ collection: c, key, user_id: a.uid }));
    assert.deepEqual((await read(a, ids)).json.objects.map((o) => o.key), ['owner', 'public']);
    assert.deepEqual((await read(b, ids)).json.objects.map((o) => o.key), ['public']);
    const mod = await rpc('storage_read', ids);
    assert.equal(mod.status, 200, mod.text);
    assert.deepEqual(mod.json.map((o) => o.key), ['none', 'owner', 'public'], 'the server reads everything');
  });

  test('lists: own (read >= 1), another user (public), everyone (public)', async () => {
    const a = await user();
    const b = await user();
    const c = col();
    await write(a, [obj(c, 'a0', {}, { permission_read: 0 }), obj(c, 'a1', {}, { permission_read: 1 }),
      obj(c, 'a2', {}, { permission_read: 2 })]);
    await write(b, [obj(c, 'b1', {}, { permission_read: 1 }), obj(c, 'b2', {}, { permission_read: 2 })]);
    const keys = (res) => (res.json.objects ?? []).map((o) => o.key);
    assert.deepEqual(keys(await list(a, c, `user_id=${a.uid}&limit=100`)), ['a1', 'a2']);
    assert.deepEqual(keys(await srv.get(`/v2/storage/${c}/${a.uid}?limit=100`, { auth: a.auth })), ['a1', 'a2']);
    assert.deepEqual(keys(await list(b, c, `user_id=${a.uid}&limit=100`)), ['a2']);
    assert.deepEqual(keys(await list(b, c, 'limit=100')).sort(), ['a2', 'b2']);
  });

  test('writes and deletes: only the owner, never with write 0; another user writes its own copy', async () => {
    const a = await user();
    const b = await user();
    const c = col();
    await write(a, [obj(c, 'locked', { v: 1 }, { permission_write: 0, permission_read: 2 })]);
    assert400(await write(a, [obj(c, 'locked', { v: 2 })]), 'Storage write rejected.');
    assert400(await del(a, [{ collection: c, key: 'locked' }]), 'Storage delete rejected.');
    const theirs = await write(b, [obj(c, 'locked', { v: 'b' })]);
    assert.equal(theirs.status, 200, theirs.text);
    assert.equal(theirs.json.acks[0].user_id, b.uid, 'the owner is always the caller');
    const aObj = (await read(b, [{ collection: c, key: 'locked', user_id: a.uid }])).json.objects[0];
    assert.equal(aObj.value, '{"v":1}');
    assert400(await del(b, [{ collection: c, key: 'locked', user_id: a.uid, version: aObj.version }]), 'Storage delete rejected.');
    assert.equal((await del(b, [{ collection: c, key: 'locked' }])).status, 200, 'b deletes its own copy');
    assert.equal((await read(a, [{ collection: c, key: 'locked', user_id: a.uid }])).json.objects.length, 1);
  });

  test('a deleted account takes its objects with it', async () => {
    const a = await user();
    const c = col();
    await write(a, [obj(c, 'gone', {})]);
    assert.equal((await srv.del('/v2/account', { auth: a.auth })).status, 200);
    assert.deepEqual((await rpc('storage_read', [{ collection: c, key: 'gone', user_id: a.uid }])).json, []);
  });
});

describe('cursors', () => {
  test('paging over more objects than the limit visits each once, in order', async () => {
    const a = await user();
    const b = await user();
    const c = col();
    const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    await write(a, keys.map((k, i) => obj(c, k, { i }, { permission_read: i % 2 ? 2 : 1 })));
    await write(b, [obj(c, 'k05', {}, { permission_read: 2 })]); // same key, other owner
    const pages = async (u, query) => {
      const seen = [];
      let cursor = '';
      for (let n = 0; n < 20; n++) {
        const res = await list(u, c, `${query}&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(res.status, 200, res.text);
        seen.push(...res.json.objects.map((o) => `${o.permission_read}:${o.key}:${o.user_id === a.uid ? 'a' : 'b'}`));
        cursor = res.json.cursor;
        if (!cursor) return { seen, pages: n + 1 };
      }
      assert.fail('the cursor never ended');
    };
    const own = await pages(a, `user_id=${a.uid}`);
    assert.equal(own.pages, 3);
    const ownWant = [...keys.filter((_, i) => i % 2 === 0).map((k) => `1:${k}:a`), ...keys.filter((_, i) => i % 2).map((k) => `2:${k}:a`)];
    assert.deepEqual(own.seen, ownWant);
    const all = await pages(b, 'user_id=');
    const want = keys.filter((_, i) => i % 2).map((k) => `2:${k}:a`);
    want.splice(want.indexOf('2:k05:a') + (a.uid < b.uid ? 1 : 0), 0, '2:k05:b');
    assert.deepEqual(all.seen, want, 'public objects of every owner, by key then owner');
    assert.equal(all.pages, 2);
  });

  test('a tampered cursor, or one from another listing, answers 400', async () => {
    const a = await user();
    const b = await user();
    const c = col();
    await write(a, [obj(c, 'x1', {}, { permission_read: 2 }), obj(c, 'x2', {}, { permission_read: 2 }), obj(c, 'x3', {}, { permission_read: 1 })]);
    const first = await list(a, c, `user_id=${a.uid}&limit=1`);
    const cursor = first.json.cursor;
    assert.ok(cursor);
    assert.equal((await list(a, c, `user_id=${a.uid}&limit=1&cursor=${cursor}`)).status, 200);
    const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const bad of [flip(cursor, 3), flip(cursor, cursor.length - 1), cursor.slice(0, -4), cursor + 'AAAA', 'garbage!', 'AAAA'])
      assert400(await list(a, c, `user_id=${a.uid}&limit=1&cursor=${encodeURIComponent(bad)}`), 'Malformed cursor was used.');
    assert400(await list(a, `${c}x`, `user_id=${a.uid}&limit=1&cursor=${cursor}`), 'Malformed cursor was used.');
    assert400(await list(b, c, `user_id=${a.uid}&limit=1&cursor=${cursor}`), 'Malformed cursor was used.');
    assert400(await list(a, c, `limit=1&cursor=${cursor}`), 'Malformed cursor was used.');
  });
});

describe('module host entries and hooks', () => {
  test('server-owned objects: written by a module, public ones read and listed by clients', async () => {
    const a = await user();
    const c = col();
    const w = await rpc('storage_write', [
      { collection: c, key: 'cfg', value: '{"motd":"hi"}', permission_read: 2, permission_write: 0 },
      { collection: c, key: 'secret', value: '{"s":1}', permission_read: 0, permission_write: 0 },
      { collection: c, key: 'theirs', user_id: a.uid, value: '{"gift":1}', permission_read: 1, permission_write: 0 },
    ]);
    assert.equal(w.status, 200, w.text);
    assert.deepEqual(w.json.map((x) => x.user_id), [SYSTEM, SYSTEM, a.uid]);
    const r = await read(a, [{ collection: c, key: 'cfg', user_id: '' }, { collection: c, key: 'secret' },
      { collection: c, key: 'theirs', user_id: a.uid }]);
    assert.deepEqual(r.json.objects.map((o) => [o.key, o.user_id]), [['cfg', SYSTEM], ['theirs', a.uid]]);
    assert.deepEqual((await list(a, c, 'limit=10')).json.objects.map((o) => o.key), ['cfg']);
    assert400(await write(a, [obj(c, 'theirs', { mine: 1 })]), 'Storage write rejected.');
    // the server writes through write 0, and checks versions too
    const v = w.json[2].version;
    assert.equal((await rpc('storage_write', [{ collection: c, key: 'theirs', user_id: a.uid, value: '{"gift":2}', version: v }])).status, 200);
    assert.equal((await rpc('storage_write', [{ collection: c, key: 'theirs', user_id: a.uid, value: '{"gift":3}', version: v }])).status, 400);
  });

  test('module listing: as the server (everything) or as a user; module deletes', async () => {
    const a = await user();
    const b = await user();
    const c = col();
    await write(a, [obj(c, 'p0', {}, { permission_read: 0 }), obj(c, 'p1', {}, { permission_read: 1 }), obj(c, 'p2', {}, { permission_read: 2 })]);
    const asServer = await rpc('storage_list', '', `&collection=${c}&user_id=${a.uid}&limit=2`);
    assert.equal(asServer.status, 200, asServer.text);
    assert.deepEqual(asServer.json.objects.map((o) => o.key), ['p0', 'p1']);
    const next = await rpc('storage_list', '', `&collection=${c}&user_id=${a.uid}&limit=2&cursor=${asServer.json.cursor}`);
    assert.deepEqual(next.json, { objects: [next.json.objects[0]] });
    assert.equal(next.json.objects[0].key, 'p2');
    const asB = await rpc('storage_list', '', `&collection=${c}&caller_id=${b.uid}&limit=10`);
    assert.deepEqual(asB.json.objects.map((o) => o.key), ['p2']);
    assert.equal((await rpc('storage_list', '', `&collection=${c}&limit=0`)).status, 400);
    assert.equal((await rpc('storage_list', '', `&collection=${c}&caller_id=nope`)).status, 400);
    assert.equal((await rpc('storage_delete', [{ collection: c, key: 'p0', user_id: a.uid }, { collection: c, key: 'absent', user_id: a.uid }])).status, 200,
      'the server may delete what is not there');
    assert.equal((await rpc('storage_delete', [{ collection: c, key: 'p1', user_id: a.uid, version: 'ffff' }])).status, 400);
    assert.deepEqual((await rpc('storage_list', '', `&collection=${c}&user_id=${a.uid}`)).json.objects.map((o) => o.key), ['p1', 'p2']);
    assert.equal((await rpc('storage_write', 'not json')).status, 400);
    assert.equal((await rpc('storage_write', [{ collection: c, key: 'k', value: '[]' }])).status, 400);
  });

  test('a before hook on ReadStorageObjects can refuse the call', async () => {
    const a = await user();
    const res = await read(a, [{ collection: 'blocked-by-hook', key: 'k', user_id: a.uid }]);
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json.message, 'reads of blocked-by-hook refused');
    assert.equal((await read(a, [{ collection: 'fine', key: 'k', user_id: a.uid }])).status, 200);
  });
});
