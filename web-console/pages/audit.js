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
      fill(body, table(firstArray(data, 'entries', 'audit', 'items'), { empty: 'No console writes recorded yet.',
        columns: [['time', 'time'], ['username', 'who'], ['role', 'role'], ['action', 'action'], ['target', 'target'],
          ['status', 'status'], ['client', 'client'], ['body', 'body']] }),
        next ? h('p', {}, button('Older entries', () => load(next))) : null);
    } catch (e) {
      fill(body, errorNotice(e, 'Audit log'));
    }
  }
  await load();
}
