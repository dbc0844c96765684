// What the real nakama-js needs to run under Node, shared by the compat tests: importing this
// module installs the globals; statusOf reads the HTTP status of a refused client call.
import assert from 'node:assert/strict';
import WebSocket from 'ws';

// nakama-js targets browsers: it needs a global WebSocket (Node 20 has none) and reads
// `window` when logging.
if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = WebSocket;
if (typeof globalThis.window === 'undefined') globalThis.window = globalThis;

// nakama-js races every request, socket connect and socket call against a timer (7, 30 and
// 10 s by default) it never clears; those alone would hold each test process open that long
// after its last test. Only they are unref'd (told apart by their reject message): a test's
// own timers keep the process alive as usual.
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = (fn, ms, ...args) => {
  const t = realSetTimeout(fn, ms, ...args);
  const text = typeof fn === 'function' ? fn.toString() : '';
  if (args[0] === 'Request timed out.' || text.includes('timed out')) t?.unref?.();
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
