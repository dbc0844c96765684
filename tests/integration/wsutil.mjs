// WebSocket helpers for the integration tests (the `ws` package): open a socket and learn the
// HTTP status when the upgrade is refused, read messages one at a time with a timeout, and
// sign up a user with a socket of its own.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { decodeJwt, randomId } from '../lib/server.mjs';

/** Signs up a fresh device account on srv; returns {token, uid, usn}. */
export async function newWsUser(srv, prefix = 'ws-') {
  const res = await srv.authenticate('device', { id: randomId(prefix, 32) });
  assert.equal(res.status, 200, res.text);
  const { payload } = decodeJwt(res.json.token);
  return { token: res.json.token, uid: payload.uid, usn: payload.usn };
}

/** Opens a socket for user u (query goes before the token); returns {ws, inbox, u}. */
export async function wsConnect(srv, u, query = '') {
  const r = await wsOpen(srv, `${query ? query + '&' : ''}token=${encodeURIComponent(u.token)}`);
  assert.ok(r.ws, `upgrade refused: ${r.status} ${r.body}`);
  return { ws: r.ws, inbox: r.inbox, u };
}

/**
 * Opens ws://host:port/ws?<query>. Resolves to {ws, inbox} when the upgrade succeeds, or to
 * {status, body} when the server answers the upgrade with a plain HTTP response.
 */
export function wsOpen(server, query = '', { headers = {}, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${server.host}:${server.port}/ws${query ? '?' + query : ''}`,
      { headers, handshakeTimeout: timeoutMs });
    const inbox = new Inbox(ws);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => { req.destroy(); resolve({ status: res.statusCode, headers: res.headers, body }); });
      res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    ws.once('open', () => resolve({ ws, inbox }));
    ws.once('error', (e) => { if (ws.readyState !== WebSocket.OPEN) reject(e); });
  });
}

/** Collects text frames (parsed as JSON when possible) and the close event of one socket. */
export class Inbox {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.closed = null; // {code, reason}
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString('utf8');
      let msg;
      try { msg = text !== null ? JSON.parse(text) : { binary: data }; } catch { msg = { text }; }
      this.queue.push(msg);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => {}); // reported through 'close'
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** The next message; rejects when the socket closes first or after timeoutMs. */
  async next(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.queue.length) return this.queue.shift();
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for a message`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  /** Resolves to {code, reason} when the socket closes; rejects after timeoutMs. */
  async closedWithin(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`socket still open after ${timeoutMs} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
    return this.closed;
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
  }
}
