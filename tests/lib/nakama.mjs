// What the real nakama-js needs to run under Node, shared by the compat tests: importing this
// module installs the globals; statusOf reads the HTTP status of a refused client call; Feed
// collects a socket's pushes of one kind.
import assert from 'node:assert/strict';
import WebSocket from 'ws';

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
