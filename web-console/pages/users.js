// Console users (admins only): list, add, change role, delete. Backed by
// GET/POST /v2/console/user and PUT/DELETE /v2/console/user/{username}.
import * as api from '../api.js';
import { h, fill, panel, field, form, table, notice, errorNotice, button, firstArray } from '../ui.js';

const ROLES = ['admin', 'developer', 'maintainer', 'readonly'];

export async function render(root) {
  const msg = h('div', { id: 'users-message' });
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(panel('Console users', msg, list));

  async function load() {
    try {
      const rows = firstArray(await api.get('/v2/console/user'), 'users');
      fill(list, table(rows, {
        empty: 'No console users.',
        columns: [['username', 'username'], ['role', 'role'], ['email', 'email'], ['last_signin_time', 'last sign-in'],
          ['failed_attempts', 'failed sign-ins'], ['locked_until', 'locked until'], ['disabled', 'state', (r) => (r.disabled ? 'disabled' : 'enabled')]],
        actions: (r) => {
          const sel = field(`Role of ${r.username}`, { type: 'select', name: 'role', value: r.role, options: ROLES });
          sel.row.classList.add('small');
          return [sel.row,
            button('Set role', () => act(`Role of ${r.username} set.`, () => api.put(`/v2/console/user/${api.enc(r.username)}`, { role: sel.input.value })), undefined, { 'aria-label': `Set the role of ${r.username}` }),
            r.locked_until ? button('Unlock', () => act(`Unlocked ${r.username}.`, () => api.post(`/v2/console/user/${api.enc(r.username)}/unlock`)), undefined, { 'aria-label': `Unlock ${r.username}` }) : null,
            button(r.disabled ? 'Enable' : 'Disable', () => act(`${r.username} ${r.disabled ? 'enabled' : 'disabled'}.`, () => api.put(`/v2/console/user/${api.enc(r.username)}`, { disabled: !r.disabled })), undefined, { 'aria-label': `${r.disabled ? 'Enable' : 'Disable'} ${r.username}` }),
            button('Delete', () => { if (confirm(`Delete console user ${r.username}?`)) act(`Deleted ${r.username}.`, () => api.del(`/v2/console/user/${api.enc(r.username)}`)); }, 'danger', { 'aria-label': `Delete ${r.username}` })];
        },
      }));
    } catch (e) {
      fill(list, errorNotice(e, 'Console users'));
    }
  }

  async function act(done, fn) {
    fill(msg);
    try {
      await fn();
      fill(msg, notice('ok', done));
    } catch (e) {
      fill(msg, errorNotice(e, 'Request'));
    }
    load();
  }

  const u = field('Username', { name: 'new_username', required: true });
  const p = field('Password', { name: 'new_password', type: 'password', required: true, autocomplete: 'new-password' });
  const e = field('Email', { name: 'email' });
  const r = field('Role', { type: 'select', name: 'new_role', value: 'readonly', options: ROLES });
  const add = form(() => act(`Added ${u.input.value}.`, async () => {
    const body = { username: u.input.value.trim(), password: p.input.value, role: r.input.value };
    if (e.input.value.trim()) body.email = e.input.value.trim();
    await api.post('/v2/console/user', body);
    u.input.value = '';
    p.input.value = '';
  }), h('div', { class: 'row' }, u.row, p.row, e.row, r.row), h('button', { type: 'submit', class: 'primary' }, 'Add user'));
  add.setAttribute('aria-label', 'Add a console user');
  root.append(panel('Add a console user', add));
  await load();
}
