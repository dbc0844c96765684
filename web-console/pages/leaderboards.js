// Leaderboards and tournaments: list, create, delete; a board's records (ranked, paged) with
// record deletion once the server has GET /v2/console/leaderboard/{id}/records. The list's
// record counts come from each board's view (GET /v2/console/leaderboard/{id}, record_count:
// every period's records, counted when asked), not the list's size (the rank cache's count,
// which lags a write).
import * as api from '../api.js';
import { h, fill, panel, field, form, table, notice, errorNotice, button, firstArray, nextCursor, parseJson, needs, num } from '../ui.js';

function when(secs) {
  const n = Number(secs);
  return n > 0 ? new Date(n * 1000).toISOString().replace('.000Z', 'Z') : '';
}

export async function render(root, ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const listMsg = h('div');
  const records = h('div', { id: 'records' });
  root.append(panel('Boards', listMsg, list), records);

  /* Fills each board's records cell from its view, a few boards at a time. */
  async function fillCounts(cells) {
    const queue = [...cells];
    const worker = async () => {
      for (let c; (c = queue.shift());) {
        try {
          const b = await api.get(`/v2/console/leaderboard/${api.enc(c.dataset.board)}`);
          c.textContent = num(b.record_count ?? 0);
        } catch {
          c.textContent = '?';
          c.title = 'The board view did not answer.';
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  async function loadList() {
    try {
      const data = await api.get('/v2/console/leaderboard');
      const rows = firstArray(data, 'leaderboards');
      const counts = [];
      fill(list, table(rows, {
        caption: `${rows.length} board${rows.length === 1 ? '' : 's'}`,
        empty: 'No leaderboards yet: create one below.',
        columns: [['id', 'id'], ['kind', 'kind', (r) => (r.tournament ? 'tournament' : 'leaderboard')],
          ['sort_order', 'sort'], ['operator', 'operator'], ['reset_schedule', 'reset'],
          ['record_count', 'records', (r) => {
            const c = h('span', { class: 'count', 'data-board': r.id, title: 'every period' }, '…');
            counts.push(c);
            return c;
          }], ['authoritative', 'authoritative', (r) => (r.authoritative ? 'yes' : '')],
          ['title', 'title'], ['next_reset', 'next reset', (r) => when(r.next_reset)]],
        actions: (r) => [
          button('Records', () => showRecords(r.id), undefined, { 'aria-label': `Records of ${r.id}` }),
          needs(button('Delete', () => remove(r.id), 'danger', { 'aria-label': `Delete ${r.id}` }),
            'DELETE', `/v2/console/leaderboard/${api.enc(r.id)}`)],
      }));
      await fillCounts(counts);
    } catch (e) {
      fill(list, errorNotice(e, 'Leaderboards'));
    }
  }

  async function remove(id) {
    if (!confirm(`Delete the board "${id}" and all its records?`)) return;
    try {
      await api.del(`/v2/console/leaderboard/${api.enc(id)}`);
      fill(listMsg, notice('ok', `Deleted ${id}.`));
      if (records.dataset.board === id) fill(records);
    } catch (e) {
      fill(listMsg, errorNotice(e, `Deleting ${id}`));
    }
    loadList();
  }

  async function showRecords(id, cursor = '') {
    records.dataset.board = id;
    const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
    const msg = h('div');
    fill(records, panel(`Records of ${id}`, msg, body));
    try {
      const data = await api.get(`/v2/console/leaderboard/${api.enc(id)}/records${api.qs({ cursor })}`);
      const rows = firstArray(data, 'records', 'owner_records');
      const next = nextCursor(data);
      fill(body, table(rows, {
        empty: 'No records on this board.',
        columns: [['rank', 'rank'], ['owner_id', 'owner'], ['username', 'username'], ['score', 'score'],
          ['subscore', 'subscore'], ['num_score', 'writes'], ['update_time', 'updated'], ['metadata', 'metadata']],
        actions: (r) => [needs(button('Delete record', async () => {
          if (!confirm(`Delete the record of ${r.username || r.owner_id}?`)) return;
          try {
            await api.del(`/v2/console/leaderboard/${api.enc(id)}/owner/${api.enc(r.owner_id)}`);
            await showRecords(id, cursor);
            loadList();
          } catch (e) {
            fill(msg, errorNotice(e, 'Deleting the record'));
          }
        }, 'danger', { 'aria-label': `Delete the record of ${r.username || r.owner_id}` }),
        'DELETE', `/v2/console/leaderboard/${api.enc(id)}/owner/${api.enc(r.owner_id)}`)],
      }), next ? h('p', {}, button('Next page', () => showRecords(id, next))) : null);
    } catch (e) {
      fill(body, errorNotice(e, 'Records'));
    }
  }

  // --- create a leaderboard
  const msg = h('div', { id: 'create-message' });
  const id = field('Id', { name: 'id', required: true, placeholder: 'weekly_score' });
  const sort = field('Sort order', { type: 'select', name: 'sort_order', options: [['desc', 'descending (high first)'], ['asc', 'ascending (low first)']] });
  const op = field('Operator', { type: 'select', name: 'operator', options: [['best', 'best'], ['set', 'set'], ['incr', 'increment'], ['decr', 'decrement']] });
  const reset = field('Reset schedule', { name: 'reset_schedule', placeholder: '0 0 * * 1', hint: 'cron, 5 fields in UTC; empty = never' });
  const auth = field('Authoritative (only the server writes)', { type: 'checkbox', name: 'authoritative' });
  const meta = field('Metadata (JSON object)', { type: 'textarea', name: 'metadata', code: true, rows: 2, placeholder: '{}' });
  const create = form(async () => {
    fill(msg);
    try {
      const body = { id: id.input.value.trim(), sort_order: sort.input.value, operator: op.input.value,
        reset_schedule: reset.input.value.trim(), authoritative: auth.input.checked };
      const m = parseJson(meta.input.value, 'Metadata');
      if (m !== undefined) body.metadata = m;
      await api.post('/v2/console/leaderboard', body);
      fill(msg, notice('ok', `Created leaderboard ${body.id}.`));
      id.input.value = '';
      loadList();
    } catch (e) {
      fill(msg, errorNotice(e, 'Creating the leaderboard'));
    }
  }, h('div', { class: 'row' }, id.row, sort.row, op.row, reset.row), auth.row, meta.row,
  h('button', { type: 'submit', class: 'primary' }, 'Create leaderboard'));
  create.setAttribute('aria-label', 'Create a leaderboard');
  needs(create, 'POST', '/v2/console/leaderboard');
  root.append(panel('Create a leaderboard', msg, create));

  // --- create a tournament
  const tmsg = h('div');
  const f = {
    id: field('Id', { name: 't_id', required: true }),
    title: field('Title', { name: 'title' }),
    description: field('Description', { name: 'description' }),
    category: field('Category (0-127)', { name: 'category', type: 'number', min: 0 }),
    sort: field('Sort order', { type: 'select', name: 't_sort', options: [['desc', 'descending'], ['asc', 'ascending']] }),
    op: field('Operator', { type: 'select', name: 't_op', options: ['best', 'set', 'incr', 'decr'] }),
    reset: field('Reset schedule', { name: 't_reset', placeholder: '0 0 * * *' }),
    duration: field('Duration (s)', { name: 'duration', type: 'number', min: 1, required: true, value: '3600' }),
    start: field('Start (Unix s, 0 = now)', { name: 'start_time', type: 'number', min: 0 }),
    end: field('End (Unix s, 0 = never)', { name: 'end_time', type: 'number', min: 0 }),
    maxSize: field('Max size (0 = none)', { name: 'max_size', type: 'number', min: 0 }),
    maxNum: field('Max attempts (0 = none)', { name: 'max_num_score', type: 'number', min: 0 }),
    join: field('Join required', { type: 'checkbox', name: 'join_required' }),
  };
  const tform = form(async () => {
    fill(tmsg);
    const n = (x) => (x.input.value === '' ? undefined : Number(x.input.value));
    const body = { id: f.id.input.value.trim(), title: f.title.input.value, description: f.description.input.value,
      category: n(f.category), sort_order: f.sort.input.value, operator: f.op.input.value,
      reset_schedule: f.reset.input.value.trim(), duration: n(f.duration), start_time: n(f.start), end_time: n(f.end),
      max_size: n(f.maxSize), max_num_score: n(f.maxNum), join_required: f.join.input.checked };
    try {
      await api.post('/v2/console/tournament', body);
      fill(tmsg, notice('ok', `Created tournament ${body.id}.`));
      loadList();
    } catch (e) {
      fill(tmsg, errorNotice(e, 'Creating the tournament'));
    }
  }, h('div', { class: 'row' }, f.id.row, f.title.row, f.description.row, f.category.row),
  h('div', { class: 'row' }, f.sort.row, f.op.row, f.reset.row, f.duration.row),
  h('div', { class: 'row' }, f.start.row, f.end.row, f.maxSize.row, f.maxNum.row), f.join.row,
  h('button', { type: 'submit', class: 'primary' }, 'Create tournament'));
  tform.setAttribute('aria-label', 'Create a tournament');
  needs(tform, 'POST', '/v2/console/tournament');
  root.append(panel('Create a tournament', tmsg, tform));

  await loadList();
  if (ctx.arg) showRecords(ctx.arg);
}
