// Matches: the running matches with their labels and presences; stop one (a signal to its
// handler). Backed by GET /v2/console/match and POST /v2/console/match/{id}/stop.
import * as api from '../api.js';
import { h, fill, panel, table, notice, errorNotice, button, firstArray, needs } from '../ui.js';

export async function render(root) {
  const msg = h('div');
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(panel('Running matches', h('p', {}, button('Refresh', () => load())), msg, list));

  async function load() {
    try {
      const rows = firstArray(await api.get('/v2/console/match'), 'matches');
      fill(list, table(rows, {
        empty: 'No matches running.',
        columns: [['match_id', 'match id'], ['authoritative', 'kind', (r) => (r.authoritative ? 'authoritative' : 'relayed')],
          ['handler_name', 'handler', (r) => r.handler_name ?? r.handler ?? r.module],
          ['label', 'label'], ['size', 'size'], ['tick_rate', 'tick rate'],
          ['presences', 'presences', (r) => (Array.isArray(r.presences) ? r.presences.map((p) => p.username || p.user_id).join(', ') : r.presences)]],
        actions: (r) => [needs(button('Stop', async () => {
          if (!confirm(`Stop match ${r.match_id}?`)) return;
          try {
            await api.post(`/v2/console/match/${api.enc(r.match_id)}/stop`);
            fill(msg, notice('ok', `Asked ${r.match_id} to stop.`));
          } catch (e) {
            fill(msg, errorNotice(e, 'Stopping the match'));
          }
          load();
        }, 'danger', { 'aria-label': `Stop match ${r.match_id}` }), 'POST', `/v2/console/match/${api.enc(r.match_id)}/stop`)],
      }));
    } catch (e) {
      fill(list, errorNotice(e, 'Matches'));
    }
  }
  await load();
}
