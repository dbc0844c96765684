// Modules: the loaded modules, their RPCs, hooks and match handlers; reload the folder.
// Backed by GET /v2/console/module and POST /v2/console/module/reload.
import * as api from '../api.js';
import { h, fill, panel, table, notice, errorNotice, button, firstArray, kv, show } from '../ui.js';

export async function render(root) {
  const msg = h('div');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(panel('Loaded modules', h('p', {}, button('Reload modules', reload, 'primary')), msg, body));

  async function load() {
    try {
      const data = await api.get('/v2/console/module');
      const mods = firstArray(data, 'modules');
      const parts = [table(mods.map((m) => ({ ...m, rpcs: Array.isArray(m.rpcs) ? m.rpcs.length : m.rpcs,
        hooks: Array.isArray(m.hooks) ? m.hooks.length : m.hooks, match_handlers: Array.isArray(m.match_handlers) ? m.match_handlers.join(', ') : m.match_handlers })),
      { empty: 'No modules loaded.', caption: 'Modules' })];
      for (const m of mods) {
        const name = m.name || m.path || 'module';
        if (Array.isArray(m.rpcs) && m.rpcs.length) parts.push(h('h3', {}, `${name}: RPCs`), h('p', {}, m.rpcs.map((r) => (typeof r === 'string' ? r : r.id || show(r))).join(', ')));
        if (Array.isArray(m.hooks) && m.hooks.length) parts.push(h('h3', {}, `${name}: hooks`), h('p', {}, m.hooks.map((r) => (typeof r === 'string' ? r : show(r))).join(', ')));
      }
      for (const [k, v] of Object.entries(data)) if (k !== 'modules' && Array.isArray(v)) parts.push(h('h3', {}, k.replace(/_/g, ' ')), table(v.map((x) => (typeof x === 'object' ? x : { value: x }))));
      const scalars = Object.fromEntries(Object.entries(data).filter(([, v]) => !Array.isArray(v)));
      if (Object.keys(scalars).length) parts.push(kv(scalars));
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
