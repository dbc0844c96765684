// Storage: browse collections and objects (by collection and owner), view, edit and delete an
// object. Backed by GET /v2/console/storage/collections, GET /v2/console/storage and
// GET/PUT/DELETE /v2/console/storage/{collection}/{key}/{user_id}.
import * as api from '../api.js';
import { h, fill, panel, field, form, table, notice, errorNotice, button, firstArray, nextCursor, pretty, parseJson } from '../ui.js';

const NIL = '00000000-0000-0000-0000-000000000000';

export async function render(root) {
  const cols = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const coll = field('Collection', { name: 'collection', placeholder: 'saves' });
  const owner = field('Owner (user id)', { name: 'user_id', placeholder: 'any', size: 38 });
  const list = h('div', { id: 'storage-list' });
  const obj = h('div', { id: 'storage-object' });

  async function loadCollections() {
    try {
      const data = await api.get('/v2/console/storage/collections');
      const names = firstArray(data, 'collections').map((c) => (typeof c === 'string' ? c : c.name || c.collection));
      fill(cols, names.length ? h('ul', { class: 'actions', 'aria-label': 'Collections' }, names.map((n) => h('li', {},
        button(n, () => { coll.input.value = n; browse(); })))) : h('p', { class: 'muted' }, 'No collections yet.'));
    } catch (e) {
      fill(cols, errorNotice(e, 'Collections'));
    }
  }

  async function browse(cursor = '') {
    fill(list, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const data = await api.get(`/v2/console/storage${api.qs({ collection: coll.input.value.trim(), user_id: owner.input.value.trim(), cursor })}`);
      const rows = firstArray(data, 'objects');
      const next = nextCursor(data);
      fill(list, table(rows, {
        empty: 'No objects.',
        columns: [['collection', 'collection'], ['key', 'key'], ['user_id', 'owner'], ['version', 'version'],
          ['permission_read', 'read'], ['permission_write', 'write'], ['update_time', 'updated']],
        actions: (r) => [button('Open', () => open(r.collection, r.key, r.user_id || NIL), undefined, { 'aria-label': `Open ${r.collection}/${r.key}` })],
      }), next ? h('p', {}, button('Next page', () => browse(next))) : null);
    } catch (e) {
      fill(list, errorNotice(e, 'Objects'));
    }
  }

  async function open(c, k, u) {
    const msg = h('div', { id: 'storage-message' });
    const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
    fill(obj, panel(`Object ${c} / ${k}`, msg, body));
    const path = `/v2/console/storage/${api.enc(c)}/${api.enc(k)}/${api.enc(u)}`;
    let o;
    try {
      o = await api.get(path);
    } catch (e) {
      fill(body, errorNotice(e, 'The object'));
      return;
    }
    o = o.object || o;
    let value = o.value;
    if (typeof value === 'string') { try { value = JSON.parse(value); } catch { /* keep text */ } }
    const v = field('Value (JSON object)', { type: 'textarea', name: 'value', code: true, rows: 12, value: typeof value === 'string' ? value : pretty(value ?? {}) });
    const pr = field('Read permission', { type: 'select', name: 'permission_read', value: o.permission_read ?? 1, options: [[0, '0 server only'], [1, '1 owner'], [2, '2 public']] });
    const pw = field('Write permission', { type: 'select', name: 'permission_write', value: o.permission_write ?? 1, options: [[0, '0 server only'], [1, '1 owner']] });
    const f = form(async () => {
      fill(msg);
      try {
        const parsed = parseJson(v.input.value, 'Value');
        const out = await api.put(path, { value: JSON.stringify(parsed ?? {}), permission_read: Number(pr.input.value),
          permission_write: Number(pw.input.value), version: o.version });
        if (out && out.version) o.version = out.version;
        fill(msg, notice('ok', 'Saved.'));
      } catch (e) {
        fill(msg, errorNotice(e, 'Saving'));
      }
    }, v.row, h('div', { class: 'row' }, pr.row, pw.row),
    h('p', { class: 'muted small' }, `Owner ${u}; version ${o.version || '-'}; updated ${o.update_time || '-'}`),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save object'),
      button('Delete object', async () => {
        if (!confirm(`Delete ${c}/${k}?`)) return;
        try {
          await api.del(path);
          fill(obj, notice('ok', `Deleted ${c}/${k}.`));
          browse();
        } catch (e) {
          fill(msg, errorNotice(e, 'Deleting'));
        }
      }, 'danger')));
    f.setAttribute('aria-label', 'Edit the object');
    fill(body, f);
  }

  const f = form(() => browse(), h('div', { class: 'row' }, coll.row, owner.row,
    h('div', { class: 'field btn' }, h('button', { type: 'submit', class: 'primary' }, 'List objects'))));
  f.setAttribute('aria-label', 'Browse objects');
  root.append(panel('Collections', cols), panel('Objects', f, list), obj);
  await loadCollections();
}
