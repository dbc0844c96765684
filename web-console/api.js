// Talking to the console API (this origin) and the game API (the explorer's base URL).
// The console token lives in sessionStorage: it goes when the tab closes, and a 401 from any
// console call signs out and returns to the sign-in page.

import { allows, required } from './roles.js';

const TOKEN_KEY = 'tavern.console.token';
const USER_KEY = 'tavern.console.user';
const API_BASE_KEY = 'tavern.console.apiBase';

export class ApiError extends Error {
  constructor(status, body, fallback) {
    super((body && typeof body.message === 'string' && body.message) || fallback || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** The route is not served by this server (yet): 404 "Not Found" or 501 on an unknown path. */
export class NotAvailable extends ApiError {
  constructor(status, body, route) {
    super(status, body, 'Not available');
    this.route = route;
  }
}

let onSignedOut = () => {};
export function setSignedOutHandler(fn) { onSignedOut = fn; }

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function username() { return sessionStorage.getItem(USER_KEY) || ''; }

/** The claims of the console token (not verified: only for showing the role). */
export function claims() {
  const t = token();
  if (!t) return {};
  try {
    const p = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(p + '='.repeat((4 - (p.length % 4)) % 4)));
  } catch {
    return {};
  }
}

/** The console role from the token (vrs.role: "admin" ... "readonly"; a number on Nakama's
 *  tokens); undefined for a token without one. */
export function role() {
  const c = claims();
  return c.vrs?.role ?? c.role ?? c.rol;
}

/** True when the signed-in role may call method path (web-console/roles.js, the copy of the
 *  server's table): for hiding or disabling controls; the server still decides. */
export function can(method, path) {
  return allows(role(), method, path);
}

/** The role method path needs, when the signed-in role has less; '' when it may. */
export function needsRole(method, path) {
  return can(method, path) ? '' : required(method, path);
}

export function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  onSignedOut(reason);
}

async function readBody(res) {
  const text = await res.text();
  if (!text) return {};
  try { return JSON.parse(text); } catch { return { message: text.slice(0, 200) }; }
}

function isMissingRoute(status, body) {
  return (status === 404 && body && body.message === 'Not Found') ||
    (status === 501 && body && body.code === 12);
}

/** POST /v2/console/authenticate. Resolves on success, throws ApiError otherwise. */
export async function signIn(user, password) {
  const res = await fetch('/v2/console/authenticate', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user, password }),
  });
  const body = await readBody(res);
  if (!res.ok || typeof body.token !== 'string')
    throw new ApiError(res.status, body, res.status === 401 ? 'Invalid credentials.' : undefined);
  sessionStorage.setItem(TOKEN_KEY, body.token);
  sessionStorage.setItem(USER_KEY, user);
}

/**
 * One console call. `path` starts with /v2/console; `body` is sent as JSON. Resolves to the
 * parsed answer; throws NotAvailable for a route this server lacks, ApiError otherwise, and
 * signs out on 401.
 */
export async function call(method, path, body) {
  const headers = { Authorization: 'Bearer ' + (token() || '') };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, null, `Cannot reach the server: ${e.message}`);
  }
  const data = await readBody(res);
  if (res.status === 401) {
    signOut('Your console session has ended: sign in again.');
    throw new ApiError(401, data);
  }
  if (isMissingRoute(res.status, data))
    throw new NotAvailable(res.status, data, `${method} ${path.split('?')[0]}`);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (p) => call('GET', p);
export const post = (p, b) => call('POST', p, b ?? {});
export const put = (p, b) => call('PUT', p, b ?? {});
export const del = (p) => call('DELETE', p);

/** Builds a query string from an object, leaving out empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.append(k, String(v));
  const s = u.toString();
  return s ? '?' + s : '';
}

export const enc = encodeURIComponent;

/** The game API's base URL for the explorer: the saved setting, or this host on port 7350. */
export function apiBase() {
  return localStorage.getItem(API_BASE_KEY) || `${location.protocol}//${location.hostname}:7350`;
}
export function setApiBase(url) {
  if (url) localStorage.setItem(API_BASE_KEY, url.replace(/\/+$/, ''));
  else localStorage.removeItem(API_BASE_KEY);
}
