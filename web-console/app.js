// The console's shell: sign-in, the layout with its navigation, and a hash router
// (#/status, #/economy, ...) that loads one page module at a time from pages/.
import * as api from './api.js';
import { h, fill, field, notice, form } from './ui.js';

/** Every page: its id (the module pages/<id>.js), title and, for pages only some roles see,
 *  the console route it reads (the nav shows it when the role may GET that route). */
export const PAGES = [
  { id: 'status', title: 'Status' },
  { id: 'accounts', title: 'Accounts' },
  { id: 'storage', title: 'Storage' },
  { id: 'leaderboards', title: 'Leaderboards' },
  { id: 'matches', title: 'Matches' },
  { id: 'economy', title: 'Economy' },
  { id: 'modules', title: 'Modules' },
  { id: 'explorer', title: 'API explorer' },
  { id: 'config', title: 'Configuration' },
  { id: 'users', title: 'Console users', reads: '/v2/console/user' },
  { id: 'audit', title: 'Audit', reads: '/v2/console/audit' },
];

const root = document.getElementById('app');
let cleanup = null;
let generation = 0;
let signOutReason = '';

function currentRoute() {
  const m = /^#\/([a-z-]+)(?:\/(.*))?$/.exec(location.hash);
  const id = m && PAGES.some((p) => p.id === m[1]) ? m[1] : 'status';
  return { id, arg: m && m[2] ? decodeURIComponent(m[2]) : '' };
}

function renderSignIn() {
  document.title = 'Sign in - tavern console';
  const user = field('Username', { name: 'username', autocomplete: 'username', required: true });
  const pass = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div', { id: 'signin-message' });
  if (signOutReason) msg.append(notice('warn', signOutReason));
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const f = form(async () => {
    submit.disabled = true;
    fill(msg);
    try {
      await api.signIn(user.input.value, pass.input.value);
      signOutReason = '';
      if (!/^#\//.test(location.hash)) location.hash = '#/status';
      render();
    } catch (e) {
      fill(msg, notice('error', e.status === 401 ? 'Wrong username or password.' : `Sign-in failed: ${e.message}`));
      pass.input.select();
    } finally {
      submit.disabled = false;
    }
  }, user.row, pass.row, submit);
  f.setAttribute('aria-labelledby', 'signin-title');
  fill(root, h('main', { id: 'main' }, h('div', { class: 'signin' },
    h('h1', { id: 'signin-title' }, 'tavern console'),
    h('p', { class: 'muted' }, 'Sign in with a console account.'), msg, f)));
  user.input.focus();
}

function renderLayout(route) {
  const links = PAGES.filter((p) => !p.reads || api.can('GET', p.reads)).map((p) =>
    h('li', {}, h('a', { href: `#/${p.id}`, 'aria-current': p.id === route.id ? 'page' : undefined, 'data-page': p.id,
      // the link of the page shown (no hash change) loads it again: fresh figures and lists
      onclick: (e) => { if (location.hash === `#/${p.id}`) { e.preventDefault(); render(); } } }, p.title)));
  const main = h('main', { id: 'main', tabindex: '-1' });
  const skip = h('a', { class: 'skip', href: '#/' + route.id, onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content');
  const role = api.role();
  fill(root, h('div', { class: 'layout' },
    h('header', { class: 'topbar' }, skip,
      h('span', { class: 'brand' }, 'tavern console'),
      h('span', { class: 'who' }, api.username() ? `Signed in as ${api.username()}` : '', role !== undefined ? ` (${role})` : ''),
      h('button', { type: 'button', onclick: () => { api.signOut(''); } }, 'Sign out')),
    h('nav', { class: 'side', 'aria-label': 'Console pages' }, h('ul', {}, links)),
    main));
  return main;
}

async function render() {
  const gen = ++generation;
  if (cleanup) { try { cleanup(); } catch { /* page gone */ } cleanup = null; }
  if (!api.token()) { renderSignIn(); return; }
  const route = currentRoute();
  const page = PAGES.find((p) => p.id === route.id);
  document.title = `${page.title} - tavern console`;
  const main = renderLayout(route);
  const title = h('h1', {}, page.title);
  const body = h('div', { class: 'page', 'data-page-body': page.id });
  main.append(title, body);
  try {
    const mod = await import(`./pages/${page.id}.js`);
    const c = await mod.render(body, { arg: route.arg, title });
    if (typeof c === 'function') {
      if (gen === generation) cleanup = c;
      else c(); /* the user moved on while it loaded */
    }
  } catch (e) {
    body.append(notice('error', `This page failed to load: ${e.message}`));
  }
}

api.setSignedOutHandler((reason) => {
  signOutReason = reason || '';
  render();
});
window.addEventListener('hashchange', () => {
  render().then(() => document.getElementById('main')?.focus({ preventScroll: true }));
});
render();
