// Storage: browse collections and objects (by collection and owner), view, edit and delete an
// object. Backed by GET /v2/console/storage/collections, GET /v2/console/storage and
// GET/PUT/DELETE /v2/console/storage/{collection}/{key}/{user_id}.
import * as api from '../api.js';
import { h, fill, panel, field, form, table, notice, errorNotice, button, firstArray, nextCursor, pretty, parseJson, needs } from '../ui.js';

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
        // fits 1280 px: the owner in small type, the version's first characters (all in its title)
        columns: [['collection', 'collection'], ['key', 'key'],
          ['user_id', 'owner', (r) => h('code', { class: 'id' }, r.user_id || NIL)],
          ['version', 'version', (r) => h('code', { class: 'id', title: r.version }, (r.version || '').slice(0, 8))],
          ['permission_read', 'read', (r) => r.permission_read ?? 0],
          ['permission_write', 'write', (r) => r.permission_write ?? 0],
          ['update_time', 'updated', (r) => h('span', { class: 'nowrap', title: r.update_time }, (r.update_time || '').replace('T', ' ').replace(/Z$/, ''))]],
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
    o = o.object || o; /* zeros are left out of the answer (protojson): absent permissions are 0 */
    let value = o.value;
    if (typeof value === 'string') { try { value = JSON.parse(value); } catch { /* keep text */ } }
    const v = field('Value (JSON object)', { type: 'textarea', name: 'value', code: true, rows: 12, value: typeof value === 'string' ? value : pretty(value ?? {}) });
    const pr = field('Read permission', { type: 'select', name: 'permission_read', value: o.permission_read ?? 0, options: [[0, '0 server only'], [1, '1 owner'], [2, '2 public']] });
    const about = () => `Owner ${u}; version ${o.version || '-'}; updated ${o.update_time || '-'}`;
    const meta = h('p', { class: 'muted small', id: 'storage-version' }, about());
    const pw = field('Write permission', { type: 'select', name: 'permission_write', value: o.permission_write ?? 0, options: [[0, '0 server only'], [1, '1 owner']] });
    const f = form(async () => {
      fill(msg);
      try {
        const parsed = parseJson(v.input.value, 'Value');
        const out = await api.put(path, { value: JSON.stringify(parsed ?? {}), permission_read: Number(pr.input.value),
          permission_write: Number(pw.input.value), version: o.version });
        if (out && out.version) o.version = out.version;
        fill(msg, notice('ok', `Saved: version ${o.version}.`));
        fill(meta, about());
        browse();
      } catch (e) {
        // 409: someone wrote the object since it was opened (its version moved on)
        fill(msg, errorNotice(e, 'Saving'), e.status === 409
          ? h('p', {}, 'Someone changed this object since you opened it. ', button('Reload the object', () => open(c, k, u)),
            ' to see their version (your edit is lost), or copy your value first.')
          : null);
      }
    }, v.row, h('div', { class: 'row' }, pr.row, pw.row), meta,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save object'),
      needs(button('Delete object', async () => {
        if (!confirm(`Delete ${c}/${k}?`)) return;
        try {
          await api.del(path);
          fill(obj, notice('ok', `Deleted ${c}/${k}.`));
          browse();
        } catch (e) {
          fill(msg, errorNotice(e, 'Deleting'));
        }
      }, 'danger'), 'DELETE', path)));
    f.setAttribute('aria-label', 'Edit the object');
    needs(f, 'PUT', path);
    fill(body, f);
  }

  const f = form(() => browse(), h('div', { class: 'row' }, coll.row, owner.row,
    h('div', { class: 'field btn' }, h('button', { type: 'submit', class: 'primary' }, 'List objects'))));
  f.setAttribute('aria-label', 'Browse objects');
  root.append(panel('Collections', cols), panel('Objects', f, list), obj);
  await loadCollections();
}
