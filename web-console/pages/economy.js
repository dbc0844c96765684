// Economy: the shop catalog editor (list, create or replace, disable) and one user's wallet,
// inventory, ledger and receipts, with grants and revokes (a reason is required) and refunds.
import * as api from '../api.js';
import { h, fill, panel, field, form, table, notice, errorNotice, button, firstArray, nextCursor, parseJson, parseAmounts, kv, needs } from '../ui.js';

function amounts(o) {
  return Object.entries(o || {}).map(([k, v]) => `${k}=${v}`).join(', ');
}

/** A cell cut to a narrow width, the whole text in its title. */
function cut(text, cls = '') {
  return text ? h('span', { class: `cell narrow ${cls}`, title: text }, text) : '';
}

/** A ledger entry's metadata without the members shown in their own columns. */
function otherMeta(m) {
  if (!m || typeof m !== 'object') return m ? String(m) : '';
  const rest = Object.fromEntries(Object.entries(m).filter(([k]) => !['op', 'reason', 'admin'].includes(k)));
  return Object.keys(rest).length ? JSON.stringify(rest) : '';
}

/** "2026-12-07T01:34:21Z" as "2026-12-07 01:34:21". */
function when(t) {
  return typeof t === 'string' ? h('span', { class: 'nowrap', title: t }, t.replace('T', ' ').replace(/(\.\d+)?Z$/, '')) : '';
}

function grantsText(g) {
  if (!g) return '';
  const parts = [];
  if (g.currencies && Object.keys(g.currencies).length) parts.push(amounts(g.currencies));
  if (g.items && Object.keys(g.items).length) parts.push('items: ' + amounts(g.items));
  return parts.join('; ');
}

export async function render(root, ctx) {
  // ---------------------------------------------------------------- catalog
  const catMsg = h('div', { id: 'catalog-message' });
  const catList = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const f = {
    id: field('Item id', { name: 'item_id', required: true, placeholder: 'starter_pack' }),
    name: field('Name', { name: 'item_name', required: true }),
    category: field('Category', { name: 'category' }),
    description: field('Description', { name: 'description' }),
    price: field('Price', { name: 'price', placeholder: 'gold=100', hint: 'currency=amount, comma separated; empty = free' }),
    currencies: field('Grants currencies', { name: 'grant_currencies', placeholder: 'gems=10' }),
    items: field('Grants items', { name: 'grant_items', placeholder: 'sword=1, potion=3' }),
    stock: field('Stock', { name: 'stock', type: 'number', value: '-1', hint: '-1 = unlimited' }),
    userLimit: field('Per-user limit', { name: 'user_limit', type: 'number', value: '0', min: 0, hint: '0 = none' }),
    start: field('On sale from (Unix s)', { name: 'start_time', type: 'number', value: '0', min: 0 }),
    end: field('Until (Unix s)', { name: 'end_time', type: 'number', value: '0', min: 0 }),
    metadata: field('Metadata (JSON object)', { type: 'textarea', name: 'item_metadata', code: true, rows: 2, placeholder: '{}' }),
    disabled: field('Disabled (off sale)', { type: 'checkbox', name: 'disabled' }),
  };

  function edit(item) {
    f.id.input.value = item.id || '';
    f.name.input.value = item.name || '';
    f.category.input.value = item.category || '';
    f.description.input.value = item.description || '';
    f.price.input.value = amounts(item.price);
    f.currencies.input.value = amounts(item.grants?.currencies);
    f.items.input.value = amounts(item.grants?.items);
    f.stock.input.value = item.stock ?? '-1';
    f.userLimit.input.value = item.user_limit ?? '0';
    f.start.input.value = item.start_time ?? '0';
    f.end.input.value = item.end_time ?? '0';
    f.metadata.input.value = item.metadata ? JSON.stringify(item.metadata) : '';
    f.disabled.input.checked = !!item.disabled;
    f.name.input.focus();
  }

  async function loadCatalog() {
    try {
      const rows = firstArray(await api.get('/v2/console/shop'), 'items');
      fill(catList, table(rows, {
        caption: `${rows.length} item${rows.length === 1 ? '' : 's'}`,
        empty: 'The catalog is empty: add an item below.',
        rowClass: (r) => (r.disabled ? 'disabled' : undefined),
        columns: [['id', 'id'], ['name', 'name'], ['category', 'category'], ['price', 'price', (r) => amounts(r.price) || 'free'],
          ['grants', 'grants', (r) => grantsText(r.grants)], ['stock', 'stock', (r) => (r.stock === '-1' ? 'unlimited' : r.stock)],
          ['user_limit', 'per user'], ['disabled', 'state', (r) => (r.disabled ? 'disabled' : 'on sale')]],
        actions: (r) => [
          // a role that may not save only views an item in the editor
          api.can('PUT', `/v2/console/shop/${api.enc(r.id)}`) ? button('Edit', () => edit(r), undefined, { 'aria-label': `Edit ${r.id}` })
            : button('View', () => edit(r), undefined, { 'aria-label': `View ${r.id}` }),
          r.disabled ? null : needs(button('Disable', () => disable(r.id), 'danger', { 'aria-label': `Disable ${r.id}` }),
            'POST', `/v2/console/shop/${api.enc(r.id)}/disable`)],
      }));
    } catch (e) {
      fill(catList, errorNotice(e, 'Catalog'));
    }
  }

  async function disable(id) {
    try {
      await api.post(`/v2/console/shop/${api.enc(id)}/disable`);
      fill(catMsg, notice('ok', `${id} is off sale.`));
    } catch (e) {
      fill(catMsg, errorNotice(e, `Disabling ${id}`));
    }
    loadCatalog();
  }

  const catForm = form(async () => {
    fill(catMsg);
    try {
      const id = f.id.input.value.trim();
      const body = {
        id, name: f.name.input.value.trim(), description: f.description.input.value, category: f.category.input.value.trim(),
        price: parseAmounts(f.price.input.value, 'Price'),
        grants: { currencies: parseAmounts(f.currencies.input.value, 'Grants currencies'), items: parseAmounts(f.items.input.value, 'Grants items') },
        stock: Number(f.stock.input.value || -1), user_limit: Number(f.userLimit.input.value || 0),
        start_time: Number(f.start.input.value || 0), end_time: Number(f.end.input.value || 0),
        disabled: f.disabled.input.checked,
      };
      const m = parseJson(f.metadata.input.value, 'Metadata');
      if (m !== undefined) body.metadata = m;
      const saved = await api.put(`/v2/console/shop/${api.enc(id)}`, body);
      fill(catMsg, notice('ok', `Saved ${saved.id || id}.`));
      loadCatalog();
    } catch (e) {
      fill(catMsg, errorNotice(e, 'Saving the item'));
    }
  },
  h('div', { class: 'row' }, f.id.row, f.name.row, f.category.row, f.description.row),
  h('div', { class: 'row' }, f.price.row, f.currencies.row, f.items.row),
  h('div', { class: 'row' }, f.stock.row, f.userLimit.row, f.start.row, f.end.row),
  f.metadata.row, f.disabled.row,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save item'),
    button('Clear', () => edit({}))));
  catForm.setAttribute('aria-label', 'Catalog item editor');
  needs(catForm, 'PUT', '/v2/console/shop/{id}');
  root.append(panel('Shop catalog', catMsg, catList, h('h3', {}, 'Add or replace an item'),
    h('p', { class: 'muted small' }, 'Saving an existing id replaces that item (stock included).'), catForm));

  // ---------------------------------------------------------------- a user's economy
  const userId = field('User id', { name: 'user_id', placeholder: '00000000-0000-0000-0000-000000000000', size: 38 });
  const userMsg = h('div', { id: 'user-message' });
  const userView = h('div', { id: 'user-economy', class: 'spaced' });
  let current = '';

  async function loadUser(id, ledgerCursor = '') {
    current = id;
    fill(userView, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const [eco, ledger, receipts] = await Promise.all([
        api.get(`/v2/console/economy/${api.enc(id)}`),
        api.get(`/v2/console/economy/${api.enc(id)}/ledger${api.qs({ limit: 20, cursor: ledgerCursor })}`),
        api.get(`/v2/console/economy/${api.enc(id)}/receipts${api.qs({ limit: 20 })}`)]);
      const wallet = Object.entries(eco.wallet || {}).map(([currency, balance]) => ({ currency, balance }));
      const next = nextCursor(ledger);
      fill(userView,
        kv({ user_id: eco.user_id, username: eco.username }),
        h('h3', {}, 'Wallet'), table(wallet, { empty: 'The wallet is empty.', caption: 'Balances', columns: [['currency', 'currency'], ['balance', 'balance']] }),
        h('h3', {}, 'Inventory'), table(firstArray(eco, 'items'), { empty: 'No items.', columns: [['item_id', 'item'], ['count', 'count'], ['properties', 'properties'], ['update_time', 'updated']] }),
        h('h3', {}, 'Ledger'), table(firstArray(ledger, 'items'), { empty: 'No ledger entries.',
          // fits 1280 px: op, reason and admin out of the metadata, the rest of it and the entry
          // id cut (in full in their titles)
          columns: [['create_time', 'time', (r) => when(r.create_time)], ['changeset', 'change', (r) => amounts(r.changeset)], ['op', 'op', (r) => r.metadata?.op],
            ['reason', 'reason', (r) => r.metadata?.reason], ['admin', 'by', (r) => r.metadata?.admin],
            ['metadata', 'other metadata', (r) => cut(otherMeta(r.metadata))], ['id', 'entry id', (r) => cut(r.id, 'id')]] }),
        next ? h('p', {}, button('Older entries', () => loadUser(id, next))) : null,
        h('h3', {}, 'Receipts'), table(firstArray(receipts, 'receipts'), { empty: 'No purchases.',
          columns: [['create_time', 'time', (r) => when(r.create_time)], ['item_id', 'item'], ['price', 'price', (r) => amounts(r.price)],
            ['grants', 'grants', (r) => grantsText(r.grants)], ['refund_time', 'refunded', (r) => when(r.refund_time)],
            ['refund_reason', 'refund reason', (r) => cut(r.refund_reason)], ['id', 'receipt id', (r) => cut(r.id, 'id')]],
          actions: (r) => (r.refund_time ? [] : [button('Refund…', () => { refundId.input.value = r.id; refundReason.input.focus(); }, undefined, { 'aria-label': `Refund receipt ${r.id}` })]) }));
    } catch (e) {
      fill(userView, errorNotice(e, 'The user\'s economy'));
    }
  }

  const lookup = form(() => { fill(userMsg); const id = userId.input.value.trim(); if (id) { location.hash = `#/economy/${api.enc(id)}`; } },
    h('div', { class: 'row' }, userId.row, h('div', { class: 'field btn' }, h('button', { type: 'submit', class: 'primary' }, 'Show'))));
  lookup.setAttribute('aria-label', 'Find a user\'s economy');

  // grant / revoke
  const gCur = field('Currencies', { name: 'change_currencies', placeholder: 'gold=100, gems=5' });
  const gItems = field('Items', { name: 'change_items', placeholder: 'sword=1' });
  const gReason = field('Reason', { name: 'reason', required: true, placeholder: 'support ticket #123' });
  async function change(kind) {
    fill(userMsg);
    const id = userId.input.value.trim() || current;
    try {
      if (!id) throw new Error('enter a user id first');
      if (!gReason.input.value.trim()) throw new Error('a reason is required');
      const body = { reason: gReason.input.value.trim() };
      const c = parseAmounts(gCur.input.value, 'Currencies');
      const it = parseAmounts(gItems.input.value, 'Items');
      if (Object.keys(c).length) body.currencies = c;
      if (Object.keys(it).length) body.items = it;
      await api.post(`/v2/console/economy/${api.enc(id)}/${kind}`, body);
      fill(userMsg, notice('ok', `${kind === 'grant' ? 'Granted' : 'Revoked'}: ${[gCur.input.value, gItems.input.value].filter(Boolean).join('; ')}.`));
      gCur.input.value = '';
      gItems.input.value = '';
      gReason.input.value = '';
      await loadUser(id);
    } catch (e) {
      fill(userMsg, errorNotice(e, kind === 'grant' ? 'Grant' : 'Revoke'));
    }
  }
  const grantForm = form(() => change('grant'), h('div', { class: 'row' }, gCur.row, gItems.row, gReason.row),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Grant'), button('Revoke', () => change('revoke'), 'danger')));
  grantForm.setAttribute('aria-label', 'Grant or revoke');
  needs(grantForm, 'POST', '/v2/console/economy/{user_id}/grant');

  // refund
  const refundId = field('Receipt id', { name: 'receipt_id', size: 38 });
  const refundReason = field('Refund reason', { name: 'refund_reason' });
  const refundForce = field('Force (balances may go negative)', { type: 'checkbox', name: 'force' });
  const refundForm = form(async () => {
    fill(userMsg);
    try {
      if (!refundReason.input.value.trim()) throw new Error('a reason is required');
      const out = await api.post(`/v2/console/receipt/${api.enc(refundId.input.value.trim())}/refund`,
        { reason: refundReason.input.value.trim(), force: refundForce.input.checked });
      fill(userMsg, notice('ok', `Refunded receipt ${refundId.input.value.trim()}.`));
      refundId.input.value = '';
      refundReason.input.value = '';
      if (out.user_id) { userId.input.value = out.user_id; await loadUser(out.user_id); }
    } catch (e) {
      fill(userMsg, errorNotice(e, 'Refund'));
    }
  }, h('div', { class: 'row' }, refundId.row, refundReason.row), refundForce.row,
  h('button', { type: 'submit' }, 'Refund'));
  refundForm.setAttribute('aria-label', 'Refund a receipt');
  needs(refundForm, 'POST', '/v2/console/receipt/{receipt_id}/refund');

  root.append(panel('A user\'s economy', lookup, userMsg,
    h('h3', {}, 'Grant or revoke'), grantForm, h('h3', {}, 'Refund a purchase'), refundForm, userView));

  await loadCatalog();
  if (ctx.arg) {
    userId.input.value = ctx.arg;
    await loadUser(ctx.arg);
  }
}
