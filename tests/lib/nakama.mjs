// What the real nakama-js needs to run under Node, shared by the compat tests: importing this
// module installs the globals; statusOf reads the HTTP status of a refused client call; Feed
// collects a socket's pushes of one kind.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Client } from '@heroiclabs/nakama-js';
import { WebSocketAdapterPb } from '@heroiclabs/nakama-js-protobuf';

// nakama-js targets browsers: it needs a global WebSocket (Node 20 has none) and reads
// `window` when logging.
if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = WebSocket;
if (typeof globalThis.window === 'undefined') globalThis.window = globalThis;

// nakama-js races every request, socket connect and socket call against a timer (7, 30 and
// 10 s by default) it never clears, and its socket heartbeat re-arms a 10 s timer; those alone
// would hold each test process open that long after its last test. Only they are unref'd
// (told apart by their source): a test's own timers keep the process alive as usual.
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = (fn, ms, ...args) => {
  const t = realSetTimeout(fn, ms, ...args);
  const text = typeof fn === 'function' ? fn.toString() : '';
  if (args[0] === 'Request timed out.' || text.includes('timed out') || text.includes('pingPong'))
    t?.unref?.();
  return t;
};

// The realtime format the compat tests' sockets speak: TAVERN_RT_FORMAT=protobuf (set by
// tests/compat/meson.build for the `-pb-` runs) gives every socket a test makes without an
// adapter of its own nakama-js-protobuf's WebSocketAdapterPb, as the official client's suite
// runs its socket tests once per adapter.
export const format = process.env.TAVERN_RT_FORMAT === 'protobuf' ? 'protobuf' : 'json';
export const pb = format === 'protobuf';
if (pb) {
  const createSocket = Client.prototype.createSocket;
  Client.prototype.createSocket = function (useSSL = false, verbose = false, adapter, ...rest) {
    return createSocket.call(this, useSSL, verbose, adapter ?? new WebSocketAdapterPb(), ...rest);
  };
}

/** Whether a member is "not there": JSON leaves zero values out (undefined), while the protobuf
 * adapter's decoder fills in the zero value (false, 0, '', []). */
export function unset(v) {
  if (v === undefined) return true;
  return pb && (v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0));
}

/** v with the members unset() drops left out, recursively: a push decoded by the protobuf
 * adapter compares with the JSON form (which leaves zero values out). Unchanged under JSON. */
export function sparse(v) {
  if (!pb || v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(sparse);
  const o = {};
  for (const [k, x] of Object.entries(v)) if (!unset(x)) o[k] = sparse(x);
  return o;
}

/** Awaits a client promise that should fail; returns the HTTP status of the thrown Response. */
export async function statusOf(promise) {
  try {
    await promise;
  } catch (e) {
    if (e && typeof e.status === 'number') return e.status;
    throw e;
  }
  assert.fail('the call succeeded');
}

/** Collects one kind of push (onmatchdata, onmatchpresence...) and waits for the next one. */
export class Feed {
  constructor(socket, hook) {
    this.items = [];
    this.waiters = [];
    socket[hook] = (x) => {
      this.items.push(x);
      this.waiters.splice(0).forEach((w) => w());
    };
  }

  async next(ms = 5000) {
    const deadline = Date.now() + ms;
    while (!this.items.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`nothing within ${ms} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
    return this.items.shift();
  }

  /** Resolves when nothing arrives within ms. */
  async none(ms = 300) {
    await new Promise((r) => setTimeout(r, ms));
    assert.deepEqual(this.items, [], 'nothing more should have arrived');
  }
}
