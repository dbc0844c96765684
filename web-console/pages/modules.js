// Modules: the loaded modules, their RPCs, hooks and match handlers, files refused; reload the
// folder. Backed by GET /v2/console/module and POST /v2/console/module/reload.
import * as api from '../api.js';
import { h, fill, panel, table, notice, errorNotice, button, firstArray, kv, show, needs } from '../ui.js';

const list = (v) => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : x.id || show(x))).join(', ') : show(v));

export async function render(root) {
  const msg = h('div');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(panel('Loaded modules', h('p', {}, needs(button('Reload modules', reload, 'primary'), 'POST', '/v2/console/module/reload')), msg, body));

  async function load() {
    try {
      // {generation, dir, modules: [{name, version, file, abi_version, rpcs, before_hooks,
      //  after_hooks, match_handlers, ...}], refused: [{file, reason}], mapped}
      const data = await api.get('/v2/console/module');
      const mods = firstArray(data, 'modules');
      const parts = [table(mods, { empty: 'No modules loaded.', caption: 'Modules',
        columns: [['name', 'name'], ['version', 'version'], ['file', 'file'], ['abi_version', 'ABI'],
          ['rpcs', 'RPCs', (m) => list(m.rpcs)], ['match_handlers', 'match handlers', (m) => list(m.match_handlers)],
          ['hooks', 'hooks', (m) => [list(m.before_hooks) && `before: ${list(m.before_hooks)}`, list(m.after_hooks) && `after: ${list(m.after_hooks)}`, list(m.hooks)].filter(Boolean).join('; ')],
          ['other', 'other', (m) => [m.leaderboard_reset && 'leaderboard reset', m.matchmaker_matched && 'matchmaker matched'].filter(Boolean).join(', ')]] })];
      if (Array.isArray(data.refused) && data.refused.length) parts.push(h('h3', {}, 'Refused files'), table(data.refused));
      const scalars = Object.fromEntries(Object.entries(data).filter(([, v]) => !Array.isArray(v)));
      if (Object.keys(scalars).length) parts.push(h('h3', {}, 'Loader'), kv(scalars));
      fill(body, parts);
    } catch (e) {
      fill(body, errorNotice(e, 'Modules'));
    }
  }

  async function reload() {
    fill(msg);
    try {
      const out = await api.post('/v2/console/module/reload');
      fill(msg, notice('ok', `Reloaded${out && Object.keys(out).length ? ': ' + show(out) : '.'}`));
    } catch (e) {
      fill(msg, errorNotice(e, 'Reload'));
    }
    load();
  }
  await load();
}
