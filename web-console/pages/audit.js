// Audit: every console write, who did what and when (GET /v2/console/audit), newest first.
import * as api from '../api.js';
import { h, fill, panel, table, errorNotice, button, firstArray, nextCursor } from '../ui.js';

export async function render(root) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(panel('Audit log', body));
  async function load(cursor = '') {
    try {
      const data = await api.get(`/v2/console/audit${api.qs({ cursor })}`);
      const next = nextCursor(data);
      // fits 1280 px: who, role and address in one cell, the route wraps, target and body cut
      // (in full in their titles); refused and failed writes stand out
      const cut = (v) => h('span', { class: 'cell narrow', title: v || undefined }, v || '');
      fill(body, table(firstArray(data, 'entries', 'audit', 'items'), { empty: 'No console writes recorded yet.',
        columns: [['time', 'time', (r) => h('span', { class: 'nowrap', title: r.time }, (r.time || '').replace('T', ' ').replace(/\.\d+Z$/, ''))],
          ['username', 'who', (r) => h('span', {}, r.username || h('span', { class: 'muted' }, 'signing in'),
            r.role ? h('span', { class: 'muted small block' }, r.role) : null,
            r.client ? h('span', { class: 'muted small block' }, r.client) : null)],
          ['action', 'action', (r) => h('span', { class: 'wrap' }, r.action || '')], ['target', 'target', (r) => cut(r.target)],
          ['status', 'status', (r) => h('span', { class: r.status >= 400 ? 'status-bad' : undefined }, String(r.status ?? ''))],
          ['body', 'body', (r) => cut(r.body)]] }),
        next ? h('p', {}, button('Older entries', () => load(next))) : null);
    } catch (e) {
      fill(body, errorNotice(e, 'Audit log'));
    }
  }
  await load();
}
