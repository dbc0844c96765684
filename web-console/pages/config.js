// Configuration: the server's effective settings, secrets masked by the server
// (GET /v2/console/config).
import * as api from '../api.js';
import { h, fill, panel, table, errorNotice, show, firstArray } from '../ui.js';

function rows(obj, prefix = '', out = []) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && !('value' in v)) rows(v, key, out);
    else if (v && typeof v === 'object' && 'value' in v) out.push({ setting: key, value: show(v.value), ...Object.fromEntries(Object.entries(v).filter(([x]) => x !== 'value')) });
    else out.push({ setting: key, value: show(v) });
  }
  return out;
}

export async function render(root) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(panel('Effective configuration', body));
  try {
    const data = await api.get('/v2/console/config');
    // {flags: [{name, value, source, secret}]}; other shapes as flattened settings
    const list = Array.isArray(data) ? data : firstArray(data, 'flags', 'settings');
    fill(body, list.length ? table(list.map((f) => (typeof f === 'object' ? { ...f, secret: f.secret ? 'masked' : '' } : { value: f })), {
      columns: [['name', 'setting', (f) => f.name ?? f.setting], ['value', 'value', (f) => h('span', {}, show(f.value))], /* text, left-aligned */ ['source', 'from'], ['secret', 'secret']] })
      : table(rows(data.config || data), { empty: 'No settings returned.' }));
  } catch (e) {
    fill(body, errorNotice(e, 'Configuration'));
  }
}
