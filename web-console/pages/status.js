// Status: the node's live figures and charts over the last hour (GET /v2/console/status and
// /status/history, refreshed every 10 s, or every sessionStorage['tavern.console.statusRefreshMs']
// milliseconds: tests set it) and the matchmaker's figures, tickets and history.
import * as api from '../api.js';
import { h, fill, panel, figures, table, errorNotice, firstArray, num, show } from '../ui.js';
import { lineChart } from '../chart.js';

const REFRESH_MS = 10000;
const REFRESH_KEY = 'tavern.console.statusRefreshMs';

/** The refresh interval: the tab's setting (250 ms to 10 min) or 10 s. */
function refreshMs() {
  const v = Number(sessionStorage.getItem(REFRESH_KEY));
  return Number.isInteger(v) && v >= 250 && v <= 600000 ? v : REFRESH_MS;
}

/* Known status fields and their labels, in display order; any other figure is shown too.
 * GET /v2/console/status answers {node, version, uptime_s, ..._total, current: sample};
 * zeros are left out, so the figures of a sample show 0 when absent. */
const LABELS = {
  node: 'Node', version: 'Version', db_engine: 'Database', uptime_s: 'Uptime (s)', start_time: 'Started',
  ccu: 'CCU', sessions_opened: 'Sessions opened', sessions_closed: 'Sessions closed',
  matches_relayed: 'Relayed matches', matches_authoritative: 'Authoritative matches',
  msgs_in_per_s: 'Msgs/s in', msgs_out_per_s: 'Msgs/s out', bytes_in_per_s: 'Bytes/s in',
  bytes_out_per_s: 'Bytes/s out', tick_p50_ms: 'Tick p50 (ms)', tick_p99_ms: 'Tick p99 (ms)',
  tick_overruns: 'Tick overruns', db_in_use: 'DB pool in use', db_open: 'DB connections open',
  db_max: 'DB pool size', matchmaker_tickets: 'Matchmaker tickets', matchmaker_matched: 'Matched (window)',
  sessions_opened_total: 'Sessions opened (total)', sessions_closed_total: 'Sessions closed (total)',
  tick_overruns_total: 'Tick overruns (total)', matchmaker_matched_total: 'Matched (total)',
  matchmaker_expired_total: 'Expired tickets (total)',
};
const ALWAYS = ['ccu', 'sessions_opened', 'sessions_closed', 'matches_relayed', 'matches_authoritative', 'msgs_in_per_s', 'msgs_out_per_s',
  'bytes_in_per_s', 'bytes_out_per_s', 'tick_p50_ms', 'tick_p99_ms', 'tick_overruns', 'db_in_use', 'db_open', 'db_max'];
const NOT_CHARTED = /^(time|time_ms|t|ts|timestamp|sample_time|window_s)$/;

const MM = [['Tickets waiting', 'tickets'], ['Added', 'added'], ['Removed', 'removed'],
  ['Groups matched', 'groups'], ['Tickets matched', 'matched'], ['Expired', 'expired'],
  ['Passes', 'passes'], ['Last pass (µs)', 'last_pass_us']];

/** Flattens {a: {b: 1}} to {"a b": 1}, so nested figures (db_pool: {in_use}) show too. */
function flat(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}_${k}` : k;
    if (v === undefined) continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) flat(v, key, out);
    else if (!Array.isArray(v)) out[key] = v;
  }
  return out;
}

function label(key) {
  return LABELS[key] || key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

function statusFigures(data) {
  const f = { ...Object.fromEntries(ALWAYS.map((k) => [k, 0])), ...flat({ ...data, current: undefined }), ...flat(data.current) };
  delete f.time_ms;
  delete f.window_s;
  const keys = [...Object.keys(LABELS).filter((k) => k in f), ...Object.keys(f).filter((k) => !(k in LABELS))];
  // RFC 3339 times as "2026-12-07 01:29:26 UTC" (they wrap at the space)
  const text = (v) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(v) ? v.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC') : show(v));
  return figures(keys.map((k) => [label(k), typeof f[k] === 'number' || /^\d+$/.test(f[k]) ? num(f[k]) : text(f[k]), k]),
    { 'aria-label': 'Server figures' });
}

function sampleTime(s, i, n) {
  if (typeof s.time_ms === 'number' || /^\d+$/.test(s.time_ms ?? '')) return Number(s.time_ms);
  const t = s.time ?? s.t ?? s.ts ?? s.timestamp ?? s.sample_time;
  if (typeof t === 'number') return t < 1e12 ? t * 1000 : t;
  if (typeof t === 'string' && /^\d+$/.test(t)) return Number(t) * (t.length <= 10 ? 1000 : 1);
  if (typeof t === 'string') return Date.parse(t);
  return Date.now() - (n - 1 - i) * REFRESH_MS;
}

/* Charts drawn together: a chart per group of fields that exist, then one per other number. */
const GROUPS = [
  ['CCU', ['ccu', 'sessions']], ['Sessions opened and closed', ['sessions_opened', 'sessions_closed']],
  ['Matches', ['matches_relayed', 'matches_authoritative', 'matches']],
  ['Messages per second', ['msgs_in_per_s', 'msgs_out_per_s']],
  ['Bytes per second', ['bytes_in_per_s', 'bytes_out_per_s']],
  ['Tick duration (ms)', ['tick_p50_ms', 'tick_p99_ms']], ['Tick overruns', ['tick_overruns']],
  ['Database pool', ['db_in_use', 'db_open', 'db_max']],
  ['Matchmaker', ['matchmaker_tickets', 'matchmaker_matched']],
];

function historyCharts(data) {
  const samples = firstArray(data, 'samples', 'history').map((s) => flat(s));
  const n = samples.length;
  const times = samples.map((s, i) => sampleTime(s, i, n));
  const numeric = new Set();
  for (const s of samples) for (const [k, v] of Object.entries(s))
    if ((typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v))) && !NOT_CHARTED.test(k)) numeric.add(k);
  // zeros are left out of a sample: a figure seen in any sample reads 0 where absent
  const series = (k) => ({ name: label(k), points: samples.map((s, i) => ({ t: times[i], v: Number(s[k] ?? 0) })).filter((p) => Number.isFinite(p.v) && Number.isFinite(p.t)) });
  const charts = [];
  const used = new Set();
  for (const [title, keys] of GROUPS) {
    const have = keys.filter((k) => numeric.has(k));
    if (!have.length && !(n && ALWAYS.includes(keys[0]))) continue;
    if (!have.length) have.push(keys[0]); /* all zero so far: a flat line */
    have.forEach((k) => used.add(k));
    charts.push(lineChart(title, have.map(series), have[0]));
  }
  for (const k of numeric) if (!used.has(k)) charts.push(lineChart(label(k), [series(k)], k));
  if (!charts.length) return h('p', { class: 'muted' }, n ? 'The samples hold no numbers to chart.' : 'No samples yet.');
  return h('div', { class: 'charts' }, charts);
}

export async function render(root) {
  const every = refreshMs();
  const live = h('div', { 'aria-live': 'off' }, h('p', { class: 'muted' }, 'Loading…'));
  const hist = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const mm = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const updated = h('p', { class: 'muted small', id: 'status-updated' });
  root.append(updated, panel('Server', live), panel('Last hour', hist), panel('Matchmaker', mm));

  async function refresh() {
    const [st, hi, mmStats, mmTickets, mmMatched] = await Promise.allSettled([
      api.get('/v2/console/status'), api.get('/v2/console/status/history'),
      api.get('/v2/console/matchmaker'), api.get('/v2/console/matchmaker/tickets?limit=50'),
      api.get('/v2/console/matchmaker/matched?limit=20')]);
    if (!root.isConnected) return;
    fill(live, st.status === 'fulfilled' ? statusFigures(st.value) : errorNotice(st.reason, 'Server status'));
    fill(hist, hi.status === 'fulfilled' ? historyCharts(hi.value) : errorNotice(hi.reason, 'Status history'));
    const parts = [];
    if (mmStats.status === 'fulfilled') {
      parts.push(figures(MM.map(([l, k]) => [l, num(mmStats.value[k] ?? 0), 'mm_' + k]), { 'aria-label': 'Matchmaker figures', id: 'mm-figures' }));
    } else parts.push(errorNotice(mmStats.reason, 'Matchmaker figures'));
    parts.push(h('h3', {}, 'Tickets waiting'));
    parts.push(mmTickets.status === 'fulfilled'
      ? table(firstArray(mmTickets.value, 'tickets').map((t) => ({
        ticket: t.ticket ?? t.id, user: t.presence?.username ?? t.username ?? t.user_id ?? t.presence?.user_id,
        query: t.query, min: t.min_count, max: t.max_count, properties: { ...t.string_properties, ...t.numeric_properties },
        intervals: t.intervals, created: t.create_time,
      })), { empty: 'No tickets waiting.' })
      : errorNotice(mmTickets.reason, 'Tickets'));
    parts.push(h('h3', {}, 'Recently matched or expired'));
    parts.push(mmMatched.status === 'fulfilled'
      ? table(firstArray(mmMatched.value, 'entries').map((e) => ({
        time: e.time, kind: e.kind, users: (e.users || []).map((u) => u.username || u.user_id).join(', '),
        tickets: (e.tickets || []).length, match: e.match_id, authoritative: e.authoritative ? 'yes' : '',
      })), { empty: 'Nothing matched yet.' })
      : errorNotice(mmMatched.reason, 'History'));
    fill(mm, parts);
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${every / 1000} s.`;
  }

  await refresh();
  /* one refresh at a time: a slow answer never piles calls up */
  let stopped = false, timer = 0;
  const again = () => { timer = setTimeout(() => refresh().catch(() => {}).finally(() => { if (!stopped) again(); }), every); };
  again();
  return () => { stopped = true; clearTimeout(timer); };
}
