// API explorer: call any REST route or RPC of the game API as a user. The console mints a
// session token for a user id (POST /v2/console/explorer/token), or a token is pasted; the
// calls go straight to the API port (its CORS preflight allows any origin).
import * as api from '../api.js';
import { h, fill, panel, field, form, notice, errorNotice, firstArray, pretty, needs } from '../ui.js';

const COMMON = [
  ['GET', '/v2/account'], ['PUT', '/v2/account'], ['GET', '/v2/friend'], ['GET', '/v2/group'],
  ['GET', '/v2/notification'], ['GET', '/v2/storage/{collection}'], ['POST', '/v2/storage'],
  ['GET', '/v2/leaderboard/{leaderboard_id}'], ['POST', '/v2/leaderboard/{leaderboard_id}'],
  ['GET', '/v2/tournament'], ['GET', '/v2/match'], ['GET', '/v2/wallet/ledger'], ['GET', '/v2/shop'],
  ['POST', '/v2/rpc/{id}'],
];

export async function render(root) {
  // --- settings and identity
  const base = field('API base URL', { name: 'api_base', type: 'url', value: api.apiBase(), size: 34, hint: 'the game API port; saved in this browser' });
  const uid = field('User id', { name: 'explorer_user_id', size: 38 });
  const tok = field('Session token', { name: 'session_token', size: 40, hint: 'minted from the user id, or paste one' });
  const idMsg = h('div', { id: 'explorer-token-message' });
  const who = form(async () => {
    fill(idMsg);
    api.setApiBase(base.input.value.trim());
    if (!uid.input.value.trim()) return;
    try {
      const out = await api.post('/v2/console/explorer/token', { user_id: uid.input.value.trim() });
      tok.input.value = out.token || '';
      fill(idMsg, notice('ok', 'Token ready: calls below run as this user.'));
    } catch (e) {
      fill(idMsg, errorNotice(e, 'Minting a token'));
    }
  }, h('div', { class: 'row' }, base.row, uid.row, h('div', { class: 'field btn' }, needs(h('button', { type: 'submit', class: 'primary' }, 'Use this user'), 'POST', '/v2/console/explorer/token'))), tok.row);
  who.setAttribute('aria-label', 'Who to call as');

  // --- the call
  const endpoints = h('datalist', { id: 'explorer-endpoints' });
  const method = field('Method', { type: 'select', name: 'method', options: ['GET', 'POST', 'PUT', 'DELETE'] });
  const path = field('Path', { name: 'path', value: '/v2/account', size: 44, hint: 'any /v2/... route, or /v2/rpc/{id}' });
  path.input.setAttribute('list', 'explorer-endpoints');
  const body = field('Body (JSON)', { type: 'textarea', name: 'body', code: true, rows: 5, placeholder: '{}' });
  const out = h('div', { id: 'explorer-result', 'aria-live': 'polite' });
  const call = form(async () => {
    fill(out);
    api.setApiBase(base.input.value.trim());
    const url = api.apiBase() + (path.input.value.startsWith('/') ? '' : '/') + path.input.value.trim();
    const init = { method: method.input.value, headers: {} };
    if (tok.input.value.trim()) init.headers.Authorization = 'Bearer ' + tok.input.value.trim();
    if (method.input.value !== 'GET' && body.input.value.trim()) {
      init.headers['Content-Type'] = 'application/json';
      init.body = body.input.value;
    }
    const t0 = performance.now();
    try {
      const res = await fetch(url, init);
      const text = await res.text();
      let shown = text;
      try { shown = pretty(JSON.parse(text)); } catch { /* not JSON */ }
      fill(out, h('p', {}, h('strong', {}, `${res.status} ${res.statusText}`), ` in ${Math.round(performance.now() - t0)} ms`),
        h('pre', { tabindex: '0', 'aria-label': 'Response body' }, shown || '(empty body)'));
    } catch (e) {
      fill(out, notice('error', `The call failed: ${e.message} (is the API base URL right?)`));
    }
  }, h('div', { class: 'row' }, method.row, path.row), body.row, endpoints,
  h('button', { type: 'submit', class: 'primary' }, 'Send'));
  call.setAttribute('aria-label', 'Call an endpoint');
  path.input.addEventListener('change', () => {
    const hit = known.find((e) => e.path === path.input.value);
    if (hit) method.input.value = hit.method;
  });

  const epMsg = h('div');
  root.append(panel('Call as', idMsg, who), panel('Request', epMsg, call, out));

  let known = COMMON.map(([m, p]) => ({ method: m, path: p }));
  try {
    const data = await api.get('/v2/console/explorer/endpoints');
    const list = firstArray(data, 'endpoints').map((e) => (typeof e === 'string' ? { method: e.split(' ')[0], path: e.split(' ')[1] || e } : e));
    for (const r of data.rpcs || []) list.push({ method: 'POST', path: `/v2/rpc/${r.id ?? r}` });
    if (list.length) known = list;
  } catch (e) {
    fill(epMsg, errorNotice(e, 'The endpoint list'));
  }
  fill(endpoints, known.map((e) => h('option', { value: e.path }, `${e.method} ${e.path}`)));
}
