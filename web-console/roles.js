// The console's role policy as the pages see it: a copy of the table in server/console/roles.c
// (keep the two in step: same rows, same order; tests/browser/console.test.mjs compares them).
// The server decides every call; the pages only use this to hide or disable what the signed-in
// role would be refused, and say which role it needs.

/** The roles, least first: a role may do what the ones before it may. */
export const ROLES = ['readonly', 'maintainer', 'developer', 'admin'];

/* [method, route pattern, least role]; first match wins. Method '*' is any, 'W' any but GET
 * (and HEAD). In a pattern "{}" takes one path segment, a final "**" zero or more. */
export const POLICY = [
  // console users and the audit log: admins only, reads too
  ['*', '/v2/console/user/**', 'admin'],
  ['*', '/v2/console/audit/**', 'admin'],
  // deleting an account stays a developer's call ...
  ['DELETE', '/v2/console/account/{}', 'developer'],
  // ... while player care is a maintainer's: account edit, ban, unban; storage object writes;
  // economy grant, revoke and refund; stopping a match
  ['W', '/v2/console/account/{}/**', 'maintainer'],
  ['W', '/v2/console/storage/**', 'maintainer'],
  ['W', '/v2/console/economy/**', 'maintainer'],
  ['W', '/v2/console/receipt/**', 'maintainer'],
  ['W', '/v2/console/match/**', 'maintainer'],
  // defaults
  ['GET', '/**', 'readonly'],
  ['W', '/**', 'developer'],
];

/* Nakama's numeric console roles (1 admin ... 4 read-only), for tokens that carry a number. */
const NUMERIC = { 1: 'admin', 2: 'developer', 3: 'maintainer', 4: 'readonly' };

/** A role's name from a token claim: a name, or Nakama's number; 'readonly' when unknown
 *  (a control wrongly hidden costs less than one wrongly shown: the server refuses it anyway). */
export function roleName(claim) {
  const s = String(claim ?? '').toLowerCase();
  if (ROLES.includes(s)) return s;
  return NUMERIC[s] || 'readonly';
}

function methodMatches(rule, method) {
  const get = method === 'GET' || method === 'HEAD';
  if (rule === '*') return true;
  if (rule === 'W') return !get;
  return rule === 'GET' ? get : rule === method;
}

/* A concrete path ("/v2/console/account/abc/ban?x=1") against a pattern. */
function pathMatches(pattern, path) {
  const rule = pattern.split('/').filter(Boolean);
  const segs = path.split('?')[0].split('/').filter(Boolean);
  for (let i = 0; ; i++) {
    if (rule[i] === '**' && i === rule.length - 1) return true;
    if (i === rule.length || i === segs.length) return i === rule.length && i === segs.length;
    if (rule[i] !== '{}' && rule[i] !== segs[i]) return false;
  }
}

/** The least role that may call method path. */
export function required(method, path) {
  const m = method.toUpperCase();
  for (const [rm, pattern, role] of POLICY)
    if (methodMatches(rm, m) && pathMatches(pattern, path)) return role;
  return 'admin';
}

/** True when role (a token claim) may call method path. */
export function allows(role, method, path) {
  return ROLES.indexOf(roleName(role)) >= ROLES.indexOf(required(method, path));
}
