// What the real nakama-js needs to run under Node, shared by the compat tests: importing this
// module installs the globals; statusOf reads the HTTP status of a refused client call.
import assert from 'node:assert/strict';
import WebSocket from 'ws';

// nakama-js targets browsers: it needs a global WebSocket (Node 20 has none) and reads
// `window` when logging.
if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = WebSocket;
if (typeof globalThis.window === 'undefined') globalThis.window = globalThis;

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
