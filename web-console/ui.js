// DOM helpers: elements built from data (never parsed HTML, so nothing a player wrote can run),
// tolerant tables from arrays of objects, form fields with labels, and notices.
import { ApiError, NotAvailable, needsRole, role } from './api.js';

/** h('div', {class: 'x', onclick: fn}, child...) -> Element. Strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export const nextId = (p = 'f') => `${p}-${++uid}`;

/** A labelled form field. opts: {type, name, value, required, placeholder, hint, options,
 *  rows, code, min, autocomplete}. Returns {row, input}. */
export function field(label, opts = {}) {
  const id = opts.id || nextId(opts.name || 'f');
  let input;
  if (opts.type === 'select') {
    input = h('select', { id, name: opts.name },
      (opts.options || []).map((o) => {
        const [v, t] = Array.isArray(o) ? o : [o, o];
        return h('option', { value: v, selected: String(v) === String(opts.value ?? '') }, t);
      }));
  } else if (opts.type === 'textarea') {
    input = h('textarea', { id, name: opts.name, rows: opts.rows || 4, placeholder: opts.placeholder,
      class: opts.code ? 'code' : undefined, spellcheck: opts.code ? 'false' : undefined, required: opts.required });
    input.value = opts.value ?? '';
  } else if (opts.type === 'checkbox') {
    input = h('input', { id, name: opts.name, type: 'checkbox', checked: !!opts.value });
    return { row: h('div', { class: 'field check' }, input, h('label', { for: id }, label)), input };
  } else {
    input = h('input', { id, name: opts.name, type: opts.type || 'text', placeholder: opts.placeholder,
      required: opts.required, min: opts.min, autocomplete: opts.autocomplete || 'off', value: opts.value ?? '',
      'aria-describedby': opts.hint ? id + '-hint' : undefined, size: opts.size });
  }
  const row = h('div', { class: 'field' }, h('label', { for: id }, label), input,
    opts.hint ? h('span', { class: 'hint', id: id + '-hint' }, opts.hint) : null);
  return { row, input };
}

/** A panel with an h2. */
export function panel(title, ...children) {
  return h('section', { class: 'panel', 'aria-label': title }, h('h2', {}, title), ...children);
}

/** A notice: kind ok | error | warn. Errors are announced (role=alert), others politely. */
export function notice(kind, text) {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** The "this server has no such route yet" state of a page part. */
export function unavailable(what, err) {
  return h('p', { class: 'unavailable', role: 'status', 'data-unavailable': err?.route || '' },
    `${what}: not available on this server`,
    err?.route ? h('span', { class: 'small' }, ` (${err.route} is not served).`) : '.');
}

/** A notice for any error from a console call. */
export function errorNotice(err, what = 'Request failed') {
  if (err instanceof NotAvailable) return unavailable(what, err);
  // the server's 403 names the role and the one it takes: "Console role readonly may not ..."
  if (err instanceof ApiError && err.status === 403) return notice('error', `${what} refused: ${err.message}`);
  return notice('error', `${what}: ${err.message}`);
}

/** Runs fn() and shows its error in target (replacing target's content) when it throws. */
export async function guard(target, what, fn) {
  try {
    return await fn();
  } catch (e) {
    fill(target, errorNotice(e, what));
    return undefined;
  }
}

/** A short text for a cell value. */
export function show(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The first array of objects in an answer ({leaderboards: [...]}, {items: [...]}, [...]). */
export function firstArray(data, ...prefer) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return [];
  for (const k of prefer) if (Array.isArray(data[k])) return data[k];
  for (const v of Object.values(data)) if (Array.isArray(v)) return v;
  return [];
}

/** The next-page cursor of a list answer, if any. */
export function nextCursor(data) {
  return data?.next_cursor || data?.cursor || data?.nextCursor || '';
}

/**
 * A table from an array of objects. opts: {columns: [key | [key, label, fn]], caption,
 * actions: (row) => [Element], empty: text, rowClass: (row) => class}. Without columns, the
 * keys of the rows in order of appearance.
 */
export function table(rows, opts = {}) {
  if (!rows || rows.length === 0) return h('p', { class: 'muted' }, opts.empty || 'None.');
  let cols = opts.columns;
  if (!cols) {
    const seen = new Set();
    for (const r of rows) for (const k of Object.keys(r || {})) seen.add(k);
    cols = [...seen];
  }
  cols = cols.map((c) => (Array.isArray(c) ? c : [c, c.replace(/_/g, ' ')]));
  const head = h('tr', {}, cols.map(([, label]) => h('th', { scope: 'col' }, label)),
    opts.actions ? h('th', { scope: 'col' }, h('span', { class: 'muted' }, 'actions')) : null);
  const body = rows.map((r) => h('tr', { class: opts.rowClass ? opts.rowClass(r) : undefined },
    cols.map(([k, , fn]) => {
      const v = fn ? fn(r) : r?.[k];
      if (v instanceof Node) return h('td', {}, v);
      const text = show(v);
      const num = typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) && v.length < 16);
      return h('td', { class: num ? 'num' : undefined }, h('span', { class: 'cell', title: text.length > 40 ? text : undefined }, text));
    }),
    opts.actions ? h('td', {}, h('div', { class: 'actions' }, opts.actions(r))) : null));
  return h('div', { class: 'table-wrap' },
    h('table', {}, opts.caption ? h('caption', {}, opts.caption) : null, h('thead', {}, head), h('tbody', {}, body)));
}

/** A definition list of key/value pairs from an object (nested objects as JSON). */
export function kv(obj) {
  return h('dl', { class: 'kv' }, Object.entries(obj || {}).map(([k, v]) =>
    [h('dt', {}, k.replace(/_/g, ' ')), h('dd', {}, show(v))]));
}

/** Figures: [[label, value]] as a grid of big numbers (words and times in smaller type). */
export function figures(list, attrs = {}) {
  return h('dl', { class: 'figures', ...attrs }, list.map(([label, value, key]) => {
    const text = show(value);
    return h('div', { 'data-figure': key || label }, h('dt', {}, label),
      h('dd', { class: text.length > 12 ? 'long' : undefined }, text));
  }));
}

/** A button. kind: primary | danger | undefined. */
export function button(text, onclick, kind, attrs = {}) {
  return h('button', { type: 'button', class: kind, onclick, ...attrs }, text);
}

/** Parses "gold=100, gems=5" or a JSON object into {name: number}. Throws with a message. */
export function parseAmounts(text, what) {
  const s = (text || '').trim();
  if (!s) return {};
  if (s.startsWith('{')) {
    const o = parseJson(s, what);
    return o;
  }
  const out = {};
  for (const part of s.split(/[,\n]/)) {
    const p = part.trim();
    if (!p) continue;
    const m = /^([^=\s:]+)\s*[=:]\s*(-?\d+)$/.exec(p);
    if (!m) throw new Error(`${what}: "${p}" is not name=amount`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** JSON.parse with a readable error; empty text is undefined. */
export function parseJson(text, what) {
  const s = (text || '').trim();
  if (!s) return undefined;
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new Error(`${what} is not valid JSON (${e.message})`);
  }
}

export function pretty(v) {
  return JSON.stringify(v, null, 2);
}

/** Formats a number with thousands separators; other values as they are. */
export function num(v) {
  const n = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : show(v);
}

/** A form whose submit runs fn (never a real submission: form-action is 'none'). */
export function form(onsubmit, ...children) {
  return h('form', {
    onsubmit: (ev) => { ev.preventDefault(); onsubmit(ev); },
  }, ...children);
}

/**
 * Marks a write control for the console route it calls: when the signed-in role may not call
 * method path (web-console/roles.js), a button is disabled, and in a form the buttons, choices
 * and checkboxes are disabled and the text fields made read-only (still selectable), under a
 * line saying which role it takes. Returns el. Only a courtesy: the server refuses the call
 * anyway, and the page shows its 403.
 */
export function needs(el, method, path) {
  const least = needsRole(method, path);
  if (!least) return el;
  const why = `Needs the ${least} role or above (you are ${role() ?? 'without a role'}).`;
  el.dataset.needsRole = least;
  if (el.tagName !== 'FORM') {
    el.disabled = true;
    el.title = why;
    return el;
  }
  for (const c of el.querySelectorAll('input, textarea, select, button')) {
    if (c.tagName === 'TEXTAREA' || (c.tagName === 'INPUT' && !/^(checkbox|radio)$/.test(c.type))) c.readOnly = true;
    else c.disabled = true;
    if (c.tagName === 'BUTTON') c.title = why;
  }
  el.prepend(h('p', { class: 'role-note small' }, why));
  return el;
}
