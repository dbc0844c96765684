// Accounts: search (id, username, email, device), view, edit, ban/unban, delete, export.
// Backed by GET /v2/console/account and /v2/console/account/{id}[/ban|/unban|/export].
import * as api from '../api.js';
import { h, fill, panel, field, form, table, notice, errorNotice, button, firstArray, nextCursor, parseJson, pretty, kv, needs } from '../ui.js';

/** "2026-12-07T01:19:30Z" as "2026-12-07 01:19" (the full time in the cell's title). */
function short(t) {
  return typeof t === 'string' ? h('span', { class: 'nowrap', title: t }, t.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, '')) : '';
}

/** The user object of an account answer ({account: {user}}, {user}, or the user itself). */
function userOf(data) {
  return data?.account?.user || data?.user || data?.account || data || {};
}

export async function render(root, ctx) {
  const q = field('Search', { name: 'filter', placeholder: 'user id, username, email or device id', size: 40 });
  const results = h('div', { id: 'account-results' });
  const detail = h('div', { id: 'account-detail' });

  async function search(cursor = '') {
    fill(results, h('p', { class: 'muted' }, 'Searching…'));
    try {
      const data = await api.get(`/v2/console/account${api.qs({ filter: q.input.value.trim(), cursor })}`);
      // {accounts: [{user, email, custom_id, disable_time}], cursor}
      const rows = firstArray(data, 'accounts', 'users').map((r) => (r.user ? { ...r.user, email: r.email, custom_id: r.custom_id, disable_time: r.disable_time } : r));
      const next = nextCursor(data);
      // fits 1280 px without scrolling: the user's names in one column, the id in small type,
      // times to the minute, long emails cut (in full in the title)
      fill(results, table(rows, {
        empty: 'No accounts match.',
        columns: [['username', 'player', (r) => h('span', {}, h('strong', {}, r.username || ''),
          r.display_name ? h('span', { class: 'muted small block' }, r.display_name) : null)],
        ['id', 'user id', (r) => h('code', { class: 'id' }, r.id || r.user_id || '')],
        ['email', 'email', (r) => h('span', { class: 'cell narrow', title: r.email || undefined }, r.email || '')],
        ['create_time', 'created', (r) => short(r.create_time)],
        ['disable_time', 'banned since', (r) => short(r.disable_time)]],
        actions: (r) => [button('Open', () => { location.hash = `#/accounts/${api.enc(r.id || r.user_id)}`; }, undefined, { 'aria-label': `Open ${r.username || r.id}` })],
      }), next ? h('p', {}, button('Next page', () => search(next))) : null);
    } catch (e) {
      fill(results, errorNotice(e, 'Account search'));
    }
  }

  /** Shows account id; note: a notice to show above it (the outcome of what reopened it). */
  async function open(id, note) {
    const msg = h('div', { id: 'account-message' }, note);
    const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
    fill(detail, panel('Account', msg, body));
    let data;
    try {
      data = await api.get(`/v2/console/account/${api.enc(id)}`);
    } catch (e) {
      fill(body, errorNotice(e, 'The account'));
      return;
    }
    const u = userOf(data);
    const banned = !!(data.disable_time || data.account?.disable_time || u.disable_time);
    const f = {
      username: field('Username', { name: 'username', value: u.username }),
      display: field('Display name', { name: 'display_name', value: u.display_name }),
      avatar: field('Avatar URL', { name: 'avatar_url', value: u.avatar_url }),
      lang: field('Language tag', { name: 'lang_tag', value: u.lang_tag }),
      location: field('Location', { name: 'location', value: u.location }),
      timezone: field('Time zone', { name: 'timezone', value: u.timezone }),
      metadata: field('Metadata (JSON object)', { type: 'textarea', name: 'metadata', code: true, rows: 3,
        value: u.metadata ? (typeof u.metadata === 'string' ? u.metadata : JSON.stringify(u.metadata)) : '' }),
    };
    /* doing: what failed, for the error ("Banning: ..."); done: the success notice; reopen:
     * show the account again (its state changed) with the notice */
    const act = async (doing, done, fn, reopen) => {
      fill(msg);
      try {
        await fn();
        if (reopen) await open(id, notice('ok', done));
        else fill(msg, notice('ok', done));
      } catch (e) {
        fill(msg, errorNotice(e, doing));
      }
    };
    const edit = form(() => act('Saving', 'Saved.', async () => {
      const b = { username: f.username.input.value.trim(), display_name: f.display.input.value, avatar_url: f.avatar.input.value,
        lang_tag: f.lang.input.value, location: f.location.input.value, timezone: f.timezone.input.value };
      const m = parseJson(f.metadata.input.value, 'Metadata');
      if (m !== undefined) b.metadata = m;
      await api.put(`/v2/console/account/${api.enc(id)}`, b);
    }), h('div', { class: 'row' }, f.username.row, f.display.row, f.avatar.row),
    h('div', { class: 'row' }, f.lang.row, f.location.row, f.timezone.row), f.metadata.row,
    h('button', { type: 'submit', class: 'primary' }, 'Save changes'));
    edit.setAttribute('aria-label', 'Edit the account');
    needs(edit, 'PUT', `/v2/console/account/${api.enc(id)}`);
    const exportData = () => act('Exporting', 'Exported.', async () => {
      const out = await api.get(`/v2/console/account/${api.enc(id)}/export`);
      const url = URL.createObjectURL(new Blob([pretty(out)], { type: 'application/json' }));
      const a = h('a', { href: url, download: `account-${id}.json` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
    fill(body,
      h('p', {}, banned ? h('strong', {}, 'Banned. ') : null, `User ${u.id || id}`),
      h('div', { class: 'actions' },
        banned ? needs(button('Unban', () => act('Unbanning', 'Unbanned.', () => api.post(`/v2/console/account/${api.enc(id)}/unban`), true)),
          'POST', `/v2/console/account/${api.enc(id)}/unban`)
          : needs(button('Ban', () => { if (confirm('Ban this account? Its sessions stop working.')) act('Banning', 'Banned.', () => api.post(`/v2/console/account/${api.enc(id)}/ban`), true); }, 'danger'),
            'POST', `/v2/console/account/${api.enc(id)}/ban`),
        button('Export data', exportData),
        button('Economy', () => { location.hash = `#/economy/${api.enc(u.id || id)}`; }),
        needs(button('Delete account', () => { if (confirm('Delete this account and its data for good?')) act('Deleting', 'Deleted.', async () => { await api.del(`/v2/console/account/${api.enc(id)}`); location.hash = '#/accounts'; }); }, 'danger'),
          'DELETE', `/v2/console/account/${api.enc(id)}`)),
      h('h3', {}, 'Edit'), edit,
      h('h3', {}, 'Everything the server returned'), kv(Object.fromEntries(Object.entries(data).filter(([k]) => k !== 'account'))),
      data.account ? kv(data.account) : null);
  }

  const f = form(() => search(), h('div', { class: 'row' }, q.row, h('div', { class: 'field btn' }, h('button', { type: 'submit', class: 'primary' }, 'Search'))));
  f.setAttribute('aria-label', 'Search accounts');
  root.append(panel('Find a player', f, results), detail);
  if (ctx.arg) await open(ctx.arg);
  else await search();
}
