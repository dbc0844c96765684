// The REST contract (api/openapi.yaml) against the running server and the route tables in
// server/core/server.c: every table route is documented with its port and credentials, every
// documented operation exists (401 without credentials when secured, never 404/501), other
// methods on documented paths answer 501, and every answer this file provokes has a status and
// a body the document allows (RPC through the example module echo.so, matches through a
// relayed match made over /ws). Length limits, patterns, integer bounds and lowerCamel aliases
// in the request schemas are sent at and past their bounds. Run by meson on SQLite and
// PostgreSQL; the YAML is read by a small strict reader below (no dependency).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, basic, bearer, decodeJwt, randomId } from '../lib/server.mjs';
import { wsOpen } from './wsutil.mjs';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const DOC_PATH = join(ROOT, 'api', 'openapi.yaml');
const ROUTES_PATH = join(ROOT, 'server', 'core', 'server.c');
const PORT_NAMES = { 7350: 'api', 7351: 'console' };
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const PROBE_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const PASSWORD = 'contract-password';
const HTTP_KEY = 'defaulthttpkey';

/** The folder holding the example module echo.so: $TAVERN_MODULES, else <build>/modules. */
function echoModuleDir() {
  const dirs = [process.env.TAVERN_MODULES, process.env.TAVERN_BIN && join(dirname(dirname(process.env.TAVERN_BIN)), 'modules')];
  return dirs.find((d) => d && existsSync(join(d, 'echo.so')));
}

// =============================================================================================
// A strict reader for the YAML subset api/openapi.yaml is written in: block mappings and
// sequences (compact "- key: value" items too), plain / 'single' / "double" scalars, | and >
// block scalars with clip or strip (-) chomping, one-line flow collections, # comments. Anything
// else (tabs, anchors, aliases, tags, multi-line plain scalars, duplicate keys, YAML 1.1
// spellings such as yes/no that readers disagree on) is an error naming the line.

export function parseYaml(text, name = 'yaml') {
  if (text.includes('\t')) fail(text.slice(0, text.indexOf('\t')).split('\n').length - 1, 'tab character');
  if (text.includes('\r')) fail(text.slice(0, text.indexOf('\r')).split('\n').length - 1, 'carriage return');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((l, n) => { if (/ $/.test(l)) fail(n, 'trailing white space'); });
  let i = 0;

  function fail(n, msg) { throw new Error(`${name}:${n + 1}: ${msg}`); }
  const indentOf = (l) => l.length - l.trimStart().length;
  const isBlank = (l) => /^\s*(#.*)?$/.test(l);
  function peek() {
    while (i < lines.length && isBlank(lines[i])) i++;
    return i < lines.length ? i : -1;
  }
  const emptyRest = (s) => /^\s*(#.*)?$/.test(s);

  // Quoted scalar at s[0]; returns [value, index after the closing quote].
  function quoted(s, n) {
    if (s[0] === "'") {
      let out = '';
      for (let k = 1; k < s.length; k++) {
        if (s[k] !== "'") { out += s[k]; continue; }
        if (s[k + 1] === "'") { out += "'"; k++; continue; }
        return [out, k + 1];
      }
      fail(n, 'unterminated single-quoted scalar (multi-line scalars are not supported)');
    }
    for (let k = 1; k < s.length; k++) {
      if (s[k] === '\\') { k++; continue; }
      if (s[k] === '"') {
        try { return [JSON.parse(s.slice(0, k + 1)), k + 1]; } catch { fail(n, 'double-quoted scalar with escapes JSON does not have'); }
      }
    }
    fail(n, 'unterminated double-quoted scalar (multi-line scalars are not supported)');
  }

  function plain(s, n) {
    if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s) && !/^-[^\s]/.test(s)) fail(n, `plain scalar may not start with ${s[0]}`);
    if (/: |:$/.test(s)) fail(n, `": " inside a plain scalar: quote it (${s})`);
    if (/^(null|Null|NULL|~)$/.test(s)) return null;
    if (/^(true|True|TRUE)$/.test(s)) return true;
    if (/^(false|False|FALSE)$/.test(s)) return false;
    if (/^[-+]?[0-9]+$/.test(s)) {
      if (/^[-+]?0[0-9]/.test(s)) fail(n, `${s}: leading zero (octal in YAML 1.1): quote it`);
      const v = Number(s);
      if (!Number.isSafeInteger(v)) fail(n, `${s}: integer too large`);
      return v;
    }
    if (/^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
    if (/^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(s) || /^0[xob]/.test(s) ||
      /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+$/.test(s) || /^\d{4}-\d\d?-\d\d?([Tt ]|$)/.test(s) ||
      /^[-+]?[0-9][0-9_]*_/.test(s) || /^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/.test(s))
      fail(n, `${s}: YAML 1.1 and 1.2 readers disagree on this plain scalar: quote it`);
    return s;
  }

  // One-line flow collection or scalar starting at s[k]; returns [value, index after it].
  function flow(s, k, n) {
    while (s[k] === ' ') k++;
    if (s[k] === '[' || s[k] === '{') {
      const isSeq = s[k] === '[';
      const close = isSeq ? ']' : '}';
      const out = isSeq ? [] : {};
      k++;
      for (;;) {
        while (s[k] === ' ') k++;
        if (s[k] === close) return [out, k + 1];
        if (isSeq) {
          const [v, e] = flow(s, k, n);
          out.push(v);
          k = e;
        } else {
          let key;
          if (s[k] === "'" || s[k] === '"') {
            const [kv, e] = quoted(s.slice(k), n);
            key = kv;
            k += e;
          } else {
            const m = /^[^,:[\]{}]+/.exec(s.slice(k));
            if (!m) fail(n, 'bad flow mapping key');
            key = plain(m[0].trim(), n);
            k += m[0].length;
          }
          while (s[k] === ' ') k++;
          if (s[k] !== ':') fail(n, 'flow mapping entry without ":"');
          const [v, e] = flow(s, k + 1, n);
          if (Object.hasOwn(out, key)) fail(n, `duplicate key ${key}`);
          out[key] = v;
          k = e;
        }
        while (s[k] === ' ') k++;
        if (s[k] === ',') { k++; continue; }
        if (s[k] !== close) fail(n, `expected "," or "${close}" in a flow collection`);
      }
    }
    if (s[k] === "'" || s[k] === '"') {
      const [v, e] = quoted(s.slice(k), n);
      return [v, k + e];
    }
    const m = /^[^,[\]{}]+/.exec(s.slice(k));
    if (!m) fail(n, 'empty flow scalar');
    return [plain(m[0].trim(), n), k + m[0].length];
  }

  // A value on the rest of a line: quoted, flow or plain, then nothing but a comment.
  function inline(s, n) {
    s = s.trim();
    if (s[0] === "'" || s[0] === '"' || s[0] === '[' || s[0] === '{') {
      const [v, e] = s[0] === '[' || s[0] === '{' ? flow(s, 0, n) : quoted(s, n);
      if (!emptyRest(s.slice(e))) fail(n, `text after a value: ${s.slice(e)}`);
      return v;
    }
    const cut = s.search(/ #/);
    return plain((cut >= 0 ? s.slice(0, cut) : s).trim(), n);
  }

  // Splits "key: rest" (key plain or quoted); null when the text is no mapping entry.
  function entry(s, n) {
    let key, k;
    if (s[0] === "'" || s[0] === '"') [key, k] = quoted(s, n);
    else {
      if (/^[[\]{},#&*!|>%@`]|^[-?:](\s|$)/.test(s)) return null;
      const m = /^(.*?):( |$)/.exec(s);
      if (!m || m[1].includes(' #')) return null;
      key = m[1];
      if (/^\s|\s$/.test(key) || !key) fail(n, 'bad mapping key');
      k = key.length;
    }
    if (s[k] !== ':' || (s[k + 1] !== undefined && s[k + 1] !== ' ')) return null;
    return { key: String(key), rest: s.slice(k + 1) };
  }

  function blockScalar(header, parentIndent, n) {
    const m = /^([|>])(-?)\s*(#.*)?$/.exec(header.trim());
    if (!m) fail(n, `unsupported block scalar header ${header.trim()}`);
    const body = [];
    let j = i;
    while (j < lines.length && (lines[j].trim() === '' || indentOf(lines[j]) > parentIndent)) body.push(lines[j++]);
    while (body.length && body.at(-1).trim() === '') { body.pop(); j--; }
    i = j;
    if (!body.length) return '';
    const ind = indentOf(body.find((l) => l.trim() !== ''));
    const texts = body.map((l, k) => {
      if (l.trim() === '') return '';
      if (indentOf(l) < ind) fail(n + 1 + k, 'block scalar line indented less than its first line');
      return l.slice(ind);
    });
    let out;
    if (m[1] === '|') out = texts.join('\n');
    else {
      out = '';
      let prevText = false;
      texts.forEach((t, k) => {
        if (t.startsWith(' ')) fail(n + 1 + k, 'more-indented lines in a folded scalar are not supported');
        if (t === '') { out += '\n'; prevText = false; return; }
        out += prevText ? ' ' + t : t;
        prevText = true;
      });
    }
    return m[2] === '-' ? out : out + '\n';
  }

  // The value after "key:" or "- " on line n, whose own indentation is indent.
  function value(rest, indent, n) {
    if (emptyRest(rest)) {
      const j = peek();
      if (j < 0 || indentOf(lines[j]) <= indent) return null;
      return node(indentOf(lines[j]));
    }
    if (/^\s*[|>]/.test(rest)) return blockScalar(rest, indent, n);
    if (/^\s*[&*!]/.test(rest)) fail(n, 'anchors, aliases and tags are not supported');
    return inline(rest, n);
  }

  function node(indent) {
    const j = peek();
    const s = lines[j].slice(indent);
    return s === '-' || s.startsWith('- ') ? seq(indent) : map(indent);
  }

  function map(indent) {
    const out = {};
    for (let j = peek(); j >= 0 && indentOf(lines[j]) >= indent; j = peek()) {
      if (indentOf(lines[j]) > indent) fail(j, 'unexpected indentation');
      const s = lines[j].slice(indent);
      if (s === '---' || s === '...') fail(j, 'one document only');
      const e = entry(s, j);
      if (!e) fail(j, `expected "key: value"${s.startsWith('-') ? ' (a sequence must be indented under its key)' : ''}`);
      if (Object.hasOwn(out, e.key)) fail(j, `duplicate key ${e.key}`);
      i = j + 1;
      out[e.key] = value(e.rest, indent, j);
    }
    return out;
  }

  function seq(indent) {
    const out = [];
    for (let j = peek(); j >= 0 && indentOf(lines[j]) >= indent; j = peek()) {
      if (indentOf(lines[j]) > indent) fail(j, 'unexpected indentation');
      const s = lines[j].slice(indent);
      if (!(s === '-' || s.startsWith('- '))) fail(j, 'expected "- item"');
      const rest = s.slice(1);
      const inner = indent + 1 + (rest.length - rest.trimStart().length);
      if (rest.trim() !== '' && !/^\s*[[{'"]/.test(rest) && entry(rest.trimStart(), j)) {
        lines[j] = ' '.repeat(inner) + rest.trimStart(); // a compact mapping: read it in place
        i = j;
        out.push(map(inner));
      } else {
        i = j + 1;
        out.push(value(rest, indent, j));
      }
    }
    return out;
  }

  const start = peek();
  if (start < 0) fail(0, 'empty document');
  if (indentOf(lines[start]) !== 0) fail(start, 'the document must start at column 1');
  const doc = node(0);
  if (peek() >= 0) fail(i, 'text after the document');
  return doc;
}

// =============================================================================================
// The document: operations, $refs, and a validator for the schema keywords it uses.

const doc = parseYaml(readFileSync(DOC_PATH, 'utf8'), 'api/openapi.yaml');

function resolve(obj) {
  const seen = new Set();
  while (obj && typeof obj === 'object' && obj.$ref) {
    const ref = obj.$ref;
    if (seen.has(ref)) throw new Error(`$ref cycle at ${ref}`);
    seen.add(ref);
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
    obj = ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o, p) => (o && Object.hasOwn(o, p) ? o[p] : undefined), doc);
    if (obj === undefined) throw new Error(`$ref does not resolve: ${ref}`);
  }
  return obj;
}

function portsOf(servers) {
  return servers.map((s) => {
    const port = s.variables?.port?.default ?? new URL(s.url).port;
    const name = PORT_NAMES[port];
    if (!name) throw new Error(`server ${s.url} has port ${port}, neither 7350 nor 7351`);
    return name;
  });
}

/** Every operation: {id, method, path, ports, schemes (alternatives, sorted names), op}. */
const operations = [];
for (const [path, item] of Object.entries(doc.paths)) {
  const ports = portsOf(item.servers ?? doc.servers);
  for (const m of METHODS) {
    if (!item[m]) continue;
    const op = item[m];
    const security = op.security ?? doc.security ?? [];
    const schemes = security.flatMap((req) => Object.keys(req)).sort();
    operations.push({ id: op.operationId, method: m.toUpperCase(), path, ports, schemes, op, item });
  }
}
const opById = new Map(operations.map((o) => [o.id, o]));

const SCHEMA_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'items',
  'enum', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'minItems',
  'maxItems', 'anyOf', 'description', 'default', 'example', '$ref']);

/**
 * Checks value against an OpenAPI schema; returns a list of problems. Only the keywords above
 * are understood and any other (not x-) keyword throws, so the document cannot quietly use a
 * constraint this test ignores. String lengths count UTF-8 bytes, as the document says.
 */
function validate(schema, value, where = '$', out = []) {
  schema = resolve(schema);
  for (const k of Object.keys(schema))
    if (!SCHEMA_KEYWORDS.has(k) && !k.startsWith('x-')) throw new Error(`schema keyword ${k} at ${where} is not checked by contract.test.mjs`);
  const bad = (msg) => { out.push(`${where}: ${msg} (got ${JSON.stringify(value)?.slice(0, 80)})`); return out; };
  if (schema.anyOf) {
    const tries = schema.anyOf.map((alt) => validate(alt, value, where, []));
    if (!tries.some((p) => !p.length)) bad(`matches none of anyOf: ${tries.map((p) => p[0]).join(' | ')}`);
  }
  const t = schema.type;
  if (t === 'object' && !(value && typeof value === 'object' && !Array.isArray(value))) return bad('not an object');
  if (t === 'array' && !Array.isArray(value)) return bad('not an array');
  if (t === 'string' && typeof value !== 'string') return bad('not a string');
  if (t === 'integer' && !Number.isInteger(value)) return bad('not an integer');
  if (t === 'number' && typeof value !== 'number') return bad('not a number');
  if (t === 'boolean' && typeof value !== 'boolean') return bad('not a boolean');
  if (schema.enum && !schema.enum.includes(value)) bad(`not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    const n = Buffer.byteLength(value);
    if (schema.minLength !== undefined && n < schema.minLength) bad(`shorter than ${schema.minLength} bytes`);
    if (schema.maxLength !== undefined && n > schema.maxLength) bad(`longer than ${schema.maxLength} bytes`);
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) bad(`does not match ${schema.pattern}`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) bad('not a date-time');
    if (schema.format === 'uuid' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) bad('not a UUID');
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) bad(`below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) bad(`above ${schema.maximum}`);
    if (schema.format === 'int32' && (value < -(2 ** 31) || value >= 2 ** 31)) bad('not an int32');
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) bad(`fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) bad(`more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((v, k) => validate(schema.items, v, `${where}[${k}]`, out));
  }
  if (t === 'object') {
    for (const r of schema.required ?? []) if (!Object.hasOwn(value, r)) bad(`missing required ${r}`);
    const props = schema.properties ?? {};
    for (const [k, v] of Object.entries(value)) {
      if (Object.hasOwn(props, k)) validate(props[k], v, `${where}.${k}`, out);
      else if (schema.additionalProperties === false) bad(`undocumented property ${k}`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
        validate(schema.additionalProperties, v, `${where}.${k}`, out);
    }
  }
  return out;
}

/** protojson omits defaults: no null, "", false, 0, [] or {} below the top level. */
/**
 * Lists the protojson defaults (false, 0, "", empty lists and maps) in value: they should be
 * omitted. A property whose schema says `x-tavern-wrapper: true` is a protobuf wrapper type
 * (Int32Value, BoolValue...), which protojson writes even when it holds a default.
 */
function defaultsOmitted(value, schema, where = '$', out = []) {
  schema = schema ? resolve(schema) : undefined;
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const w = Array.isArray(value) ? `${where}[${k}]` : `${where}.${k}`;
      const sub = Array.isArray(value) ? schema?.items : schema?.properties?.[k];
      const wrapper = sub && resolve(sub)['x-tavern-wrapper'] === true;
      const empty = v === null || v === '' || v === false || v === 0 ||
        (Array.isArray(v) && !v.length) || (v && typeof v === 'object' && !Object.keys(v).length);
      if (empty && !wrapper) out.push(`${w} holds a default value ${JSON.stringify(v)}: it should be omitted`);
      defaultsOmitted(v, sub, w, out);
    }
  }
  return out;
}

function lowerCamel(s) { return s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()); }

function requestSchema(op) {
  const rb = op.op.requestBody && resolve(op.op.requestBody);
  const schema = rb?.content?.['application/json']?.schema;
  return schema ? resolve(schema) : null;
}

// =============================================================================================
// The server

let srv;
const moduleDir = echoModuleDir();
// passes every 300 ms, so the matchmaker's console history fills within the test below
before(async () => {
  srv = await startServer([...(moduleDir ? ['--module-path', moduleDir] : []), '--matchmaker-interval-ms', '300']);
});
after(async () => { await srv?.stop(); });

const observed = new Map(); // operationId -> Set of statuses seen

/** 1 when a documented path pattern ("/v2/storage/{collection}") takes the literal path. */
function patternMatches(pattern, path) {
  const re = new RegExp('^' + pattern.split(/\{\w+\}/).map((x) => x.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+') + '$');
  return re.test(path);
}

function fillPath(op) {
  return op.path.replace(/\{(\w+)\}/g, (_, name) => {
    const p = [...(op.item.parameters ?? []), ...(op.op.parameters ?? [])].map(resolve)
      .find((x) => x.in === 'path' && x.name === name);
    return encodeURIComponent(p?.example ?? p?.schema?.example ?? 'contract');
  });
}

/**
 * Sends one request for a documented operation and checks the answer against the document:
 * a documented status, the common headers, documented required headers, and a body that
 * matches the response schema (or no body where none is documented).
 */
async function call(opId, { query = '', body, auth, headers, port, method, pathOverride } = {}) {
  const op = opById.get(opId);
  assert.ok(op, `operation ${opId} is documented`);
  const p = port ?? op.ports[0];
  const path = (pathOverride ?? fillPath(op)) + (query ? `?${query}` : '');
  const res = await srv.request(method ?? op.method, path, { body, auth, headers, consolePort: p === 'console' });
  const ctx = `${op.method} ${path} (${opId}) -> ${res.status} ${res.text.slice(0, 300)}`;
  (observed.get(opId) ?? observed.set(opId, new Set()).get(opId)).add(res.status);
  const documented = op.op.responses[String(res.status)];
  assert.ok(documented, `status ${res.status} is not documented: ${ctx}`);
  const r = resolve(documented);
  checkCommonHeaders(res, ctx, Object.keys(r.content ?? {})[0]);
  for (const [name, h] of Object.entries(r.headers ?? {})) {
    if (resolve(h).required) assert.ok(res.headers.get(name), `documented header ${name} missing: ${ctx}`);
  }
  if (res.status === 401 && res.headers.get('www-authenticate'))
    assert.equal(res.headers.get('www-authenticate'), res.json?.message, `WWW-Authenticate holds the message: ${ctx}`);
  if (res.status >= 400)
    assert.equal(doc['x-tavern-grpc-status'][String(res.json?.code)], res.status, `gRPC code ${res.json?.code} gives HTTP ${res.status}: ${ctx}`);
  const schema = r.content?.['application/json']?.schema;
  if (r.content?.['text/plain']) {
    assert.ok(res.text.length > 0, `a text body: ${ctx}`);
  } else if ((op.method === 'HEAD' || method === 'HEAD') || !schema) {
    assert.equal(res.text, '', `no body documented: ${ctx}`);
  } else {
    assert.ok(res.json !== undefined, `body is JSON: ${ctx}`);
    const problems = [...validate(schema, res.json), ...defaultsOmitted(res.json, schema)];
    assert.deepEqual(problems, [], `body matches the documented schema: ${ctx}`);
  }
  return res;
}

async function expect(opId, status, opts) {
  const res = await call(opId, opts);
  assert.equal(res.status, status, `${opId}: expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
}

/** The CORS and cache headers, and the Content-Type documented (JSON unless said otherwise). */
function checkCommonHeaders(res, ctx, type = 'application/json') {
  const cors = doc['x-tavern-cors'];
  assert.equal(res.headers.get('access-control-allow-origin'), cors.allow_origin, `Access-Control-Allow-Origin: ${ctx}`);
  assert.equal(res.headers.get('cache-control'), cors.cache_control, `Cache-Control: ${ctx}`);
  assert.equal((res.headers.get('content-type') ?? '').split(';')[0], type, `Content-Type: ${ctx}`);
}

async function signUp() {
  const id = randomId('contract-', 32);
  const s = await expect('authenticateDevice', 200, { body: { id }, auth: basic() });
  const { payload } = decodeJwt(s.token);
  return { id, token: s.token, refresh: s.refresh_token, uid: payload.uid, usn: payload.usn };
}

// =============================================================================================

describe('the document', () => {
  test('is OpenAPI 3.0 with unique operation ids, tags, summaries and resolvable $refs', () => {
    assert.match(doc.openapi, /^3\.0\.\d+$/);
    assert.ok(doc.info?.title && doc.info?.version);
    const tags = new Set((doc.tags ?? []).map((t) => t.name));
    const ids = new Set();
    for (const o of operations) {
      assert.ok(o.id && !ids.has(o.id), `${o.method} ${o.path}: unique operationId`);
      ids.add(o.id);
      assert.ok(o.op.summary, `${o.id}: summary`);
      assert.ok(o.op.tags?.length && o.op.tags.every((t) => tags.has(t)), `${o.id}: declared tags`);
      for (const req of o.op.security ?? [])
        for (const name of Object.keys(req)) assert.ok(doc.components.securitySchemes[name], `${o.id}: scheme ${name}`);
      for (const name of o.path.match(/\{\w+\}/g) ?? []) {
        const params = [...(o.item.parameters ?? []), ...(o.op.parameters ?? [])].map(resolve);
        assert.ok(params.some((p) => p.in === 'path' && `{${p.name}}` === name && p.required), `${o.id}: path parameter ${name}`);
      }
    }
    const walk = (v) => {
      if (!v || typeof v !== 'object') return;
      if (typeof v.$ref === 'string') resolve(v);
      Object.values(v).forEach(walk);
    };
    walk(doc);
  });

  test('every schema uses only keywords this test checks', () => {
    for (const [name, s] of Object.entries(doc.components.schemas)) {
      const walk = (x, where) => {
        x = resolve(x);
        for (const k of Object.keys(x))
          assert.ok(SCHEMA_KEYWORDS.has(k) || k.startsWith('x-'), `${where}: keyword ${k}`);
        for (const [p, v] of Object.entries(x.properties ?? {})) if (!v.$ref) walk(v, `${where}.${p}`);
        if (x.items && !x.items.$ref) walk(x.items, `${where}[]`);
        if (x.additionalProperties && typeof x.additionalProperties === 'object') walk(x.additionalProperties, `${where}{}`);
        (x.anyOf ?? []).forEach((a, k) => walk(a, `${where}|${k}`));
      };
      walk(s, name);
    }
  });

  test('every operation documents the statuses any route can give', () => {
    for (const o of operations) {
      const codes = Object.keys(o.op.responses);
      if (o.op['x-tavern-not-configured']) // never succeeds: the refusal is documented instead
        assert.ok(!codes.some((c) => /^2\d\d$/.test(c)) && (codes.includes('404') || resolve(o.op.responses['400']) === resolve({ $ref: '#/components/responses/ProviderNotConfigured' })), `${o.id}: the not-configured refusal, no success`);
      else
        assert.ok(codes.some((c) => /^2\d\d$/.test(c)), `${o.id}: a success status`);
      assert.ok(codes.includes('400'), `${o.id}: 400 (body over the limit, bad query string)`);
      assert.ok(codes.includes('503'), `${o.id}: 503 (worker queue full)`);
      if (o.schemes.length) assert.ok(codes.includes('401'), `${o.id}: 401 (secured)`);
    }
  });

  test('error responses carry the gRPC code of their HTTP status', () => {
    const table = doc['x-tavern-grpc-status'];
    assert.equal(Object.keys(table).length, 16, 'x-tavern-grpc-status maps codes 1-16');
    for (const o of operations) {
      for (const [status, r] of Object.entries(o.op.responses)) {
        if (Number(status) < 400) continue;
        const schema = resolve(resolve(r).content?.['application/json']?.schema ?? {});
        const alts = (schema.anyOf ?? [schema]).map(resolve);
        for (const alt of alts) {
          assert.ok(['code', 'message'].every((k) => alt.required?.includes(k)), `${o.id} ${status}: an error schema with code and message`);
          const code = resolve(alt.properties.code);
          assert.equal(code.type, 'integer', `${o.id} ${status}: integer code`);
          for (const c of code.enum ?? []) assert.equal(table[c], Number(status), `${o.id} ${status}: gRPC code ${c}`);
          if (!code.enum) assert.ok(Object.entries(table).some(([c, h]) => h === Number(status) && c >= (code.minimum ?? 0) && c <= (code.maximum ?? 99)), `${o.id} ${status}: some gRPC code gives it`);
        }
      }
    }
  });

  test('request fields and query parameters with an underscore document their lowerCamel alias', () => {
    for (const o of operations) {
      for (const p of [...(o.item.parameters ?? []), ...(o.op.parameters ?? [])].map(resolve)) {
        if (p.in === 'query' && p.name.includes('_')) assert.equal(p['x-tavern-alias'], lowerCamel(p.name), `${o.id} ?${p.name}: x-tavern-alias`);
      }
    }
    for (const [name, s] of Object.entries(doc.components.schemas)) {
      for (const [p, v] of Object.entries(s.properties ?? {})) {
        if (!p.includes('_') || s.additionalProperties === false) continue; // responses are snake_case only
        assert.equal(v['x-tavern-alias'], lowerCamel(p), `${name}.${p}: x-tavern-alias`);
      }
    }
  });

  test('the YAML reader agrees with PyYAML where python3 has it', (t) => {
    let out;
    try {
      out = execFileSync('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', DOC_PATH],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 });
    } catch {
      t.skip('python3 with PyYAML is not available');
      return;
    }
    assert.deepEqual(doc, JSON.parse(out));
  });

  test('the YAML reader refuses what it does not understand', () => {
    const cases = {
      'a:\n\tb: 1\n': /tab/, 'a: &x 1\n': /anchor|start/, 'a: 1\na: 2\n': /duplicate/,
      'a: yes\n': /disagree/, 'a: b: c\n': /quote it/, 'a:\n- 1\n': /indented under/,
      'a: "x\n': /unterminated/, 'a: [1, 2\n': /expected/, 'a: 1 \n': /trailing/,
      'a:\n  b: 1\n c: 2\n': /expected|indentation/,
    };
    for (const [text, why] of Object.entries(cases)) assert.throws(() => parseYaml(text), why, JSON.stringify(text));
    assert.deepEqual(parseYaml("a: 'it''s' # c\nb:\n  - x: 1\n    y: [p, 'q r', {s: 2}]\n  - |\n    l1\n\n    l2\nc: >-\n  f1\n  f2\n\n  f3\n"),
      { a: "it's", b: [{ x: 1, y: ['p', 'q r', { s: 2 }] }, 'l1\n\nl2\n'], c: 'f1 f2\nf3' });
  });
});

// =============================================================================================

const AUTH_SCHEMES = {
  TV_HTTP_AUTH_NONE: [],
  TV_HTTP_AUTH_SERVER_KEY: ['serverKey'],
  TV_HTTP_AUTH_SESSION: ['sessionToken'],
  TV_HTTP_AUTH_RPC: ['httpKeyBasic', 'httpKeyQuery', 'sessionToken'],
  TV_HTTP_AUTH_CONSOLE: ['consoleToken'],
};

/** {port, method, path, auth} of every entry in the route tables of server/core/server.c. */
function tableRoutes() {
  const src = readFileSync(ROUTES_PATH, 'utf8');
  const routes = [];
  const tables = [...src.matchAll(/tv_http_route_t\s+(\w+)\s*\[\s*\]\s*=\s*\{([\s\S]*?)\n\};/g)];
  assert.ok(tables.some((t) => t[1] === 'api_routes') && tables.some((t) => t[1] === 'console_routes'),
    'server.c has the api_routes and console_routes tables');
  for (const [, name, body] of tables) {
    const port = /console/.test(name) ? 'console' : 'api';
    for (const m of body.matchAll(/\{\s*"([A-Z]+)"\s*,\s*"([^"]*)"\s*,\s*(\w+)/g))
      routes.push({ port, method: m[1], path: m[2], auth: m[3], table: name });
  }
  assert.ok(routes.length > 5, 'routes found in server.c');
  return routes;
}

describe('the route tables and the document', () => {
  test('every route in server.c is documented, on its port, with its credentials', () => {
    const missing = [];
    for (const r of tableRoutes()) {
      const o = operations.find((x) => x.method === r.method && x.path === r.path && x.ports.includes(r.port));
      if (!o) { missing.push(`${r.method} ${r.path} (${r.table})`); continue; }
      const want = AUTH_SCHEMES[r.auth];
      assert.ok(want, `${r.method} ${r.path}: unknown auth kind ${r.auth}`);
      assert.deepEqual(o.schemes, want, `${o.id}: security matches ${r.auth}`);
    }
    assert.deepEqual(missing, [], 'routes in server.c missing from api/openapi.yaml');
  });

  test('every documented operation is in the route tables', () => {
    const routes = tableRoutes();
    for (const o of operations) {
      for (const port of o.ports) {
        assert.ok(routes.some((r) => r.method === o.method && r.path === o.path && r.port === port),
          `${o.id} (${o.method} ${o.path} on ${port}) is in server.c's route tables`);
      }
    }
  });
});

// =============================================================================================

describe('every documented operation against the server', () => {
  test('without credentials: secured ones answer 401, open ones neither 404 nor 501', async () => {
    for (const o of operations) {
      for (const port of o.ports) {
        const res = await call(o.id, { port });
        if (o.schemes.length) assert.equal(res.status, 401, `${o.id} on ${port} without credentials`);
        else assert.ok(![404, 501].includes(res.status), `${o.id} on ${port} exists (${res.status})`);
      }
    }
  });

  test('secured operations refuse the wrong kind of credentials with 401', async () => {
    const u = await signUp();
    const wrong = { serverKey: bearer(u.token), sessionToken: basic(), consoleToken: bearer(u.token) };
    for (const o of operations) {
      if (!o.schemes.length || o.schemes.length > 1) continue; // the RPC takes several kinds
      const res = await call(o.id, { auth: wrong[o.schemes[0]] });
      assert.equal(res.status, 401, `${o.id} with ${o.schemes[0] === 'serverKey' ? 'a session token' : 'the server key'}`);
    }
    for (const o of operations.filter((x) => x.schemes.includes('httpKeyQuery'))) {
      assert.equal((await call(o.id, { query: 'http_key=wrong' })).status, 401, `${o.id} with a wrong http_key`);
      assert.equal((await call(o.id, { auth: basic('wrong') })).status, 401, `${o.id} with a wrong Basic key`);
      assert.equal((await call(o.id, { auth: basic() })).status, 401, `${o.id} with the server key`);
      assert.equal((await call(o.id, { auth: bearer('x.y.z') })).status, 401, `${o.id} with a bad token`);
    }
  });

  test('other methods on a documented path answer 501 with code 12; HEAD follows GET', async () => {
    const schema = doc.components.schemas.ErrorUnimplemented;
    const paths = new Map();
    for (const o of operations) for (const port of o.ports) {
      const k = `${port} ${o.path}`;
      if (!paths.has(k)) paths.set(k, { port, o, methods: new Set() });
      paths.get(k).methods.add(o.method);
    }
    for (const { port, o, methods } of paths.values()) {
      for (const m of PROBE_METHODS) {
        if (methods.has(m)) continue;
        // A literal path that another operation's pattern also takes with this method is that
        // operation (GET /v2/storage/delete lists the collection "delete", as on Nakama).
        if (operations.some((x) => x.method === m && x.ports.includes(port) && patternMatches(x.path, fillPath(o)))) continue;
        const res = await srv.request(m, fillPath(o), { consolePort: port === 'console' });
        const ctx = `${m} ${o.path} on ${port} -> ${res.status} ${res.text}`;
        assert.equal(res.status, 501, ctx);
        checkCommonHeaders(res, ctx);
        assert.deepEqual(validate(schema, res.json), [], ctx);
      }
      if (methods.has('GET')) {
        const get = await srv.request('GET', fillPath(o), { consolePort: port === 'console' });
        const head = await srv.request('HEAD', fillPath(o), { consolePort: port === 'console' });
        assert.equal(head.status, get.status, `HEAD ${o.path} on ${port}`);
        assert.equal(head.text, '', `HEAD ${o.path} has no body`);
        checkCommonHeaders(head, `HEAD ${o.path}`);
      }
    }
  });

  test('a path documented on one port only is unknown (404) on the other', async () => {
    for (const o of operations) {
      for (const port of ['api', 'console']) {
        if (o.ports.includes(port)) continue;
        // outside /v2/ the console port serves its web UI (GET / is the console's page)
        if (port === 'console' && !o.path.startsWith('/v2/')) continue;
        const res = await srv.request(o.method, fillPath(o), { consolePort: port === 'console', auth: basic() });
        assert.equal(res.status, 404, `${o.id} on ${port} -> ${res.status}`);
        assert.equal(res.json?.code, 5);
      }
    }
  });

  test('OPTIONS on every documented path is the documented CORS preflight', async () => {
    const cors = doc['x-tavern-cors'];
    const list = (h) => (h ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    for (const o of operations) for (const port of o.ports) {
      const res = await srv.request('OPTIONS', fillPath(o), {
        consolePort: port === 'console',
        headers: { origin: 'null', 'access-control-request-method': o.method, 'access-control-request-headers': 'authorization,content-type' },
      });
      const ctx = `OPTIONS ${o.path} on ${port}`;
      assert.equal(res.status, 200, ctx);
      assert.equal(res.text, '', ctx);
      assert.equal(res.headers.get('access-control-allow-origin'), cors.allow_origin, ctx);
      assert.deepEqual(list(res.headers.get('access-control-allow-methods')), cors.allow_methods, ctx);
      assert.deepEqual(list(res.headers.get('access-control-allow-headers')), cors.allow_headers, ctx);
      assert.equal(Number(res.headers.get('access-control-max-age')), cors.max_age, ctx);
    }
  });

  test('unknown paths answer 404 with the documented error shape', async () => {
    for (const port of ['api', 'console']) {
      const res = await srv.request('GET', '/v2/contract-no-such-route', { consolePort: port === 'console' });
      assert.equal(res.status, 404);
      checkCommonHeaders(res, 'unknown path');
      assert.deepEqual(validate(doc.components.schemas.ErrorNotFound, res.json), []);
    }
  });
});

// =============================================================================================

describe('answers match the documented schemas', () => {
  test('transport', async () => {
    assert.equal((await call('getRoot')).status, 200);
    for (const port of opById.get('healthcheck').ports) assert.deepEqual(await expect('healthcheck', 200, { port }), {});
  });

  test('device and custom sign-in: Session, 400, 401, 404, 409', async () => {
    for (const [opId, prefix] of [['authenticateDevice', 'dev-'], ['authenticateCustom', 'cu-']]) {
      const id = randomId(prefix, 24);
      const first = await expect(opId, 200, { body: { id, vars: { k: 'v' } }, auth: basic() });
      assert.equal(first.created, true);
      const again = await expect(opId, 200, { body: { id }, auth: basic() });
      assert.ok(!Object.hasOwn(again, 'created'), 'created omitted on a sign-in');
      await expect(opId, 404, { body: { id: randomId(prefix, 24) }, query: 'create=false', auth: basic() });
      await expect(opId, 400, { body: { id: 'x' }, auth: basic() });
      await expect(opId, 400, { body: '{"id":', auth: basic() });
      await expect(opId, 400, { body: { id: randomId(prefix, 24) }, query: 'create=maybe', auth: basic() });
      await expect(opId, 401, { body: { id }, auth: basic('wrong-key') });
      await expect(opId, 409, { body: { id: randomId(prefix, 24) }, query: `username=${decodeJwt(first.token).payload.usn}`, auth: basic() });
    }
  });

  test('email sign-in: Session, 400, 401, 404, 409, and sign-in by user name', async () => {
    const email = `c-${randomId('', 10)}@example.com`;
    const name = randomId('cname', 16);
    const s = await expect('authenticateEmail', 200, { body: { email, password: PASSWORD }, query: `username=${name}`, auth: basic() });
    assert.equal(s.created, true);
    await expect('authenticateEmail', 200, { body: { email: email.toUpperCase(), password: PASSWORD }, auth: basic() });
    await expect('authenticateEmail', 200, { body: { password: PASSWORD }, query: `username=${name}`, auth: basic() });
    await expect('authenticateEmail', 401, { body: { email, password: 'wrong-password' }, auth: basic() });
    await expect('authenticateEmail', 400, { body: { email, password: 'short' }, auth: basic() });
    await expect('authenticateEmail', 400, { body: { password: PASSWORD }, auth: basic() });
    await expect('authenticateEmail', 404, { body: { email: `n-${randomId('', 10)}@example.com`, password: PASSWORD }, query: 'create=false', auth: basic() });
    await expect('authenticateEmail', 409, { body: { email: `d-${randomId('', 10)}@example.com`, password: PASSWORD }, query: `username=${name}`, auth: basic() });
  });

  test('refresh and logout', async () => {
    const u = await signUp();
    const pair = await expect('sessionRefresh', 200, { body: { token: u.refresh, vars: { a: 'b' } }, auth: basic() });
    assert.ok(!Object.hasOwn(pair, 'created'));
    await expect('sessionRefresh', 400, { body: {}, auth: basic() });
    await expect('sessionRefresh', 400, { body: { token: 5 }, auth: basic() });
    await expect('sessionRefresh', 401, { body: { token: u.token }, auth: basic() });
    const other = await signUp();
    await expect('sessionLogout', 400, { body: { token: other.token }, auth: bearer(u.token) });
    assert.deepEqual(await expect('sessionLogout', 200, { body: { token: u.token, refresh_token: u.refresh }, auth: bearer(u.token) }), {});
    await expect('getAccount', 401, { auth: bearer(u.token) });
    await expect('sessionRefresh', 401, { body: { token: pair.refresh_token }, auth: basic() });
  });

  test('account: Account, update, 400, 409, delete', async () => {
    const u = await signUp();
    const other = await signUp();
    const acc = await expect('getAccount', 200, { auth: bearer(u.token) });
    assert.equal(acc.user.id, u.uid);
    assert.equal(acc.user.username, u.usn);
    assert.deepEqual(acc.devices, [{ id: u.id }]);
    await expect('updateAccount', 200, { body: { display_name: 'Contract', location: 'Here' }, auth: bearer(u.token) });
    await expect('updateAccount', 409, { body: { username: other.usn }, auth: bearer(u.token) });
    await expect('updateAccount', 400, { body: { lang_tag: 7 }, auth: bearer(u.token) });
    const after = await expect('getAccount', 200, { auth: bearer(u.token) });
    assert.equal(after.user.display_name, 'Contract');
    assert.deepEqual(await expect('deleteAccount', 200, { auth: bearer(u.token) }), {});
    const gone = await call('getAccount', { auth: bearer(u.token) });
    assert.ok([401, 404].includes(gone.status), 'the deleted account is gone');
  });

  test('users: Users, {}, 400', async () => {
    const a = await signUp();
    const b = await signUp();
    const res = await expect('getUsers', 200, { query: `ids=${a.uid}&usernames=${b.usn}&`, auth: bearer(a.token) });
    assert.deepEqual(res.users.map((x) => x.id).sort(), [a.uid, b.uid].sort());
    assert.deepEqual(await expect('getUsers', 200, { query: 'usernames=nobody-by-that-name', auth: bearer(a.token) }), {});
    await expect('getUsers', 400, { query: 'ids=not-a-uuid', auth: bearer(a.token) });
  });

  test('link and unlink: 200, 403, 409', async () => {
    const u = await signUp();
    const v = await signUp();
    const device = randomId('ldev-', 24);
    const custom = randomId('lcu-', 16);
    const email = `l-${randomId('', 10)}@example.com`;
    await expect('linkDevice', 200, { body: { id: device }, auth: bearer(u.token) });
    await expect('linkCustom', 200, { body: { id: custom }, auth: bearer(u.token) });
    await expect('linkEmail', 200, { body: { email, password: PASSWORD }, auth: bearer(u.token) });
    await expect('linkDevice', 409, { body: { id: device }, auth: bearer(v.token) });
    await expect('linkCustom', 409, { body: { id: custom }, auth: bearer(v.token) });
    await expect('linkEmail', 409, { body: { email, password: PASSWORD }, auth: bearer(v.token) });
    await expect('linkEmail', 400, { body: { email }, auth: bearer(v.token) });
    const acc = await expect('getAccount', 200, { auth: bearer(u.token) });
    assert.equal(acc.custom_id, custom);
    assert.equal(acc.email, email);
    assert.equal(acc.devices.length, 2);
    await expect('unlinkDevice', 200, { body: { id: device }, auth: bearer(u.token) });
    await expect('unlinkCustom', 200, { body: { id: custom }, auth: bearer(u.token) });
    await expect('unlinkEmail', 200, { body: { email }, auth: bearer(u.token) });
    await expect('unlinkDevice', 403, { body: { id: u.id }, auth: bearer(u.token) });
    await expect('unlinkCustom', 403, { body: { id: custom }, auth: bearer(u.token) });
    await expect('unlinkEmail', 403, { body: { email }, auth: bearer(u.token) });
  });

  test('rpc: payload in and out, every credential, 400, 404', async (t) => {
    if (!opById.has('rpcPost')) { t.skip('no RPC route documented'); return; }
    assert.ok(moduleDir, 'the example module echo.so is built (ninja builds modules/echo; or set TAVERN_MODULES)');
    const u = await signUp();
    const obj = JSON.stringify({ a: 1, s: 'x"y' });
    const wrapped = JSON.stringify(obj);
    assert.deepEqual(await expect('rpcPost', 200, { query: `http_key=${HTTP_KEY}`, body: wrapped }), { payload: obj });
    assert.deepEqual(await expect('rpcPost', 200, { auth: basic(HTTP_KEY), body: wrapped }), { payload: obj });
    assert.deepEqual(await expect('rpcPost', 200, { auth: bearer(u.token), body: '"hi"' }), { payload: 'hi' });
    assert.deepEqual(await expect('rpcPost', 200, { auth: bearer(u.token), pathOverride: '/v2/rpc/ECHO', body: '"hi"' }), { payload: 'hi' });
    assert.deepEqual(await expect('rpcPost', 200, { auth: bearer(u.token) }), {}, 'no body: empty payload, {}');
    assert.deepEqual(await expect('rpcGet', 200, { query: `http_key=${HTTP_KEY}&payload=ignored` }), {}, 'GET: empty payload');
    await expect('rpcPost', 400, { auth: bearer(u.token), body: obj });
    await expect('rpcPost', 404, { auth: bearer(u.token), pathOverride: '/v2/rpc/contract-no-such-rpc', body: '"x"' });
    await expect('rpcGet', 404, { auth: bearer(u.token), pathOverride: '/v2/rpc/contract-no-such-rpc' });
    await expect('rpcPost', 401, { query: 'http_key=wrong', body: '"x"' });
    const raw = await srv.request('POST', `/v2/rpc/echo?http_key=${HTTP_KEY}&unwrap`, { body: 'raw {not json' });
    assert.equal(raw.status, 200);
    assert.equal(raw.text, 'raw {not json', '?unwrap answers the bytes as they are');
  });

  test('storage: acks, objects, pages, {} and 400', async () => {
    const u = await signUp();
    const other = await signUp();
    const auth = bearer(u.token);
    const col = 'contract';
    const w = await expect('writeStorageObjects', 200, { auth, body: { objects: [
      { collection: col, key: 'a', value: '{"n":1}', permission_read: 2 },
      { collection: col, key: 'b', value: '{"n":2}', permissionRead: 1, permissionWrite: 0 },
    ] } });
    assert.equal(w.acks.length, 2);
    assert.deepEqual(await expect('writeStorageObjects', 200, { auth, body: { objects: [] } }), {});
    await expect('writeStorageObjects', 400, { auth, body: { objects: [{ collection: col, key: 'a', value: '{}', version: '*' }] } });
    await expect('writeStorageObjects', 400, { auth, body: { objects: [{ collection: col, key: 'c', value: '[1]' }] } });
    await expect('writeStorageObjects', 400, { auth, body: { objects: [{ collection: col, key: 'c', value: '{}', permission_read: 3 }] } });
    const ids = [{ collection: col, key: 'a', user_id: u.uid }, { collection: col, key: 'b', userId: u.uid }];
    assert.equal((await expect('readStorageObjects', 200, { auth, body: { object_ids: ids } })).objects.length, 2);
    assert.equal((await expect('readStorageObjects', 200, { auth: bearer(other.token), body: { objectIds: ids } })).objects.length, 1);
    assert.deepEqual(await expect('readStorageObjects', 200, { auth, body: {} }), {});
    await expect('readStorageObjects', 400, { auth, body: { object_ids: [{ collection: col, key: 'a', user_id: 'nope' }] } });
    const page = await expect('listStorageObjects', 200, { auth, query: `user_id=${u.uid}&limit=1` });
    assert.ok(page.cursor);
    const rest = await expect('listStorageObjects', 200, { auth, query: `userId=${u.uid}&limit=1&cursor=${page.cursor}` });
    assert.ok(!Object.hasOwn(rest, 'cursor'));
    assert.deepEqual([...page.objects, ...rest.objects].map((o) => o.key), ['b', 'a']);
    assert.deepEqual((await expect('listStorageObjects', 200, { auth, query: 'limit=100' })).objects.map((o) => o.key), ['a']);
    await expect('listStorageObjects', 400, { auth, query: `user_id=${u.uid}&limit=1&cursor=${page.cursor.slice(0, -2)}` });
    await expect('listStorageObjects', 400, { auth, query: 'user_id=nope' });
    const theirs = await expect('listStorageObjectsOfUser', 200, { auth: bearer(other.token), pathOverride: `/v2/storage/${col}/${u.uid}`, query: 'limit=10' });
    assert.deepEqual(theirs.objects.map((o) => o.key), ['a']);
    assert.deepEqual(await expect('listStorageObjectsOfUser', 200, { auth }), {});
    await expect('listStorageObjectsOfUser', 400, { auth, pathOverride: `/v2/storage/${col}/not-a-uuid` });
    await expect('deleteStorageObjects', 400, { auth, body: { object_ids: [{ collection: col, key: 'b' }] } });
    assert.deepEqual(await expect('deleteStorageObjects', 200, { auth, body: { object_ids: [{ collection: col, key: 'a', version: w.acks[0].version }] } }), {});
    await expect('deleteStorageObjects', 400, { auth, body: { object_ids: [{ collection: col, key: 'a' }] } });
  });

  test('friends: {} for an empty list, an invite listed, 400s', async () => {
    const u = await signUp();
    const v = await signUp();
    const auth = bearer(u.token);
    assert.deepEqual(await expect('listFriends', 200, { auth }), {});
    assert.deepEqual(await expect('addFriends', 200, { auth, query: `ids=${v.uid}` }), {});
    const l = await expect('listFriends', 200, { auth, query: 'state=1&limit=10' });
    assert.deepEqual(l.friends.map((f) => [f.user.id, f.state]), [[v.uid, 1]]);
    await expect('listFriends', 400, { auth, query: 'state=9' });
    await expect('addFriends', 400, { auth });
    assert.deepEqual(await expect('blockFriends', 200, { auth, query: `ids=${v.uid}` }), {});
    await expect('blockFriends', 400, { auth, query: 'ids=nope' });
    assert.deepEqual(await expect('deleteFriends', 200, { auth, query: `ids=${v.uid}` }), {});
    await expect('deleteFriends', 400, { auth, query: `ids=${u.uid}` });
  });

  test('friends of friends: {} when none, a page with its referrer, the cursor, 400s', async () => {
    const [u, v, w, x] = [await signUp(), await signUp(), await signUp(), await signUp()];
    const befriend = async (a, b) => {
      await expect('addFriends', 200, { auth: bearer(a.token), query: `ids=${b.uid}` });
      await expect('addFriends', 200, { auth: bearer(b.token), query: `ids=${a.uid}` });
    };
    const auth = bearer(u.token);
    assert.deepEqual(await expect('listFriendsOfFriends', 200, { auth }), {});
    await befriend(u, v);
    await befriend(v, w);
    await befriend(v, x);
    await expect('addFriends', 200, { auth: bearer(w.token), query: `ids=${u.uid}` }); // an invite: not a friend
    const first = await expect('listFriendsOfFriends', 200, { auth, query: 'limit=1' });
    const both = [w.uid, x.uid].sort();
    assert.deepEqual(first.friends_of_friends.map((f) => [f.referrer, f.user.id]), [[v.uid, both[0]]]);
    const rest = await expect('listFriendsOfFriends', 200, { auth, query: `limit=1&cursor=${first.cursor}` });
    assert.deepEqual(rest.friends_of_friends.map((f) => [f.referrer, f.user.id]), [[v.uid, both[1]]]);
    assert.ok(!Object.hasOwn(rest, 'cursor'));
    await expect('listFriendsOfFriends', 400, { auth, query: 'limit=101' });
    await expect('listFriendsOfFriends', 400, { auth, query: 'cursor=bogus' });
  });

  test('users by facebook_ids (none), events, subscriptions', async () => {
    const u = await signUp();
    const auth = bearer(u.token);
    assert.deepEqual(await expect('getUsers', 200, { auth, query: 'facebook_ids=1234567890' }), {});
    const mine = await expect('getUsers', 200, { auth, query: `ids=${u.uid}&facebookIds=1` });
    assert.deepEqual(mine.users.map((x) => x.id), [u.uid]);
    await expect('getUsers', 400, { auth, query: Array.from({ length: 101 }, (_, i) => `facebook_ids=${i}`).join('&') });
    assert.deepEqual(await expect('event', 200, { auth, body: { name: 'contract', properties: { a: 'b' } } }), {});
    await expect('event', 400, { auth, body: { properties: { a: 1 } } });
    assert.deepEqual(await expect('listSubscriptions', 200, { auth, body: { limit: 10 } }), {});
    await expect('listSubscriptions', 400, { auth, body: { limit: 0 } });
  });

  test("outside providers: Nakama's not-configured refusal on every route, never a 404", async () => {
    const u = await signUp();
    const flagged = operations.filter((o) => o.op['x-tavern-not-configured']);
    assert.equal(flagged.length, 27, `${flagged.length} provider routes`);
    for (const o of flagged) {
      const res = await call(o.id, { auth: o.schemes.includes('serverKey') ? basic() : bearer(u.token), body: o.method === 'GET' ? undefined : { token: 'x' } });
      if (o.id === 'getSubscription') {
        assert.deepEqual([res.status, res.json], [404, { code: 5, message: 'Subscription not found.' }]);
        continue;
      }
      assert.equal(res.status, 400, `${o.id}: ${res.text}`);
      assert.equal(res.json.code, 9, o.id);
      assert.match(res.json.message, /^[A-Za-z ]+ (authentication|IAP) is not configured\.$/, o.id);
    }
  });

  test("groups: Group, lists, {} for every change, Nakama's 400, 403, 404, 409", async () => {
    const u = await signUp();
    const v = await signUp();
    const auth = bearer(u.token);
    const vauth = bearer(v.token);
    const wauth = bearer((await signUp()).token); // never in the group
    const name = `contract-${u.uid.slice(0, 8)}`;
    const g = await expect('createGroup', 200, { auth, body: { name, open: true } });
    await expect('createGroup', 409, { auth, body: { name } });
    await expect('createGroup', 400, { auth, body: { name: '' } });
    const path = (p) => `/v2/group/${g.id}${p}`;
    assert.deepEqual(await expect('listGroups', 200, { auth, query: 'name=nobody-has-this-name' }), {});
    const l = await expect('listGroups', 200, { auth, query: `name=${name}` });
    assert.deepEqual(l.groups.map((x) => x.id), [g.id]);
    await expect('listGroups', 400, { auth, query: 'limit=0' });
    await expect('joinGroup', 200, { auth: vauth, pathOverride: path('/join') });
    await expect('joinGroup', 404, { auth: vauth });
    await expect('joinGroup', 400, { auth: vauth, pathOverride: '/v2/group/nope/join' });
    const users = await expect('listGroupUsers', 200, { auth, pathOverride: path('/user') });
    assert.deepEqual(users.group_users.map((x) => x.state), [0, 2]);
    await expect('listGroupUsers', 404, { auth });
    await expect('listGroupUsers', 400, { auth, pathOverride: path('/user'), query: 'state=9' });
    const mine = await expect('listUserGroups', 200, { auth, pathOverride: `/v2/user/${u.uid}/group` });
    assert.deepEqual(mine.user_groups.map((x) => [x.group.id, x.state]), [[g.id, 0]]);
    assert.deepEqual(await expect('listUserGroups', 200, { auth }), {});
    await expect('listUserGroups', 400, { auth, pathOverride: '/v2/user/nope/group' });
    await expect('updateGroup', 200, { auth, pathOverride: path(''), body: { description: 'c' } });
    await expect('updateGroup', 404, { auth: vauth, pathOverride: path(''), body: { description: 'v' } });
    await expect('updateGroup', 404, { auth, body: { description: 'w' } });
    await expect('updateGroup', 400, { auth, pathOverride: path(''), body: {} });
    const other = await expect('createGroup', 200, { auth, body: { name: `${name}-2` } });
    await expect('updateGroup', 400, { auth, pathOverride: path(''), body: { name: other.name } });
    const q = `user_ids=${v.uid}`;
    for (const id of ['promoteGroupUsers', 'demoteGroupUsers', 'kickGroupUsers', 'addGroupUsers', 'banGroupUsers']) {
      const verb = id.replace(/GroupUsers$/, '');
      await expect(id, 200, { auth, pathOverride: path(`/${verb}`), query: q });
      assert.deepEqual(await expect(id, 200, { auth, pathOverride: path(`/${verb}`) }), {}, 'no user_ids');
      await expect(id, 400, { auth, pathOverride: path(`/${verb}`), query: 'user_ids=nope' });
      await expect(id, 404, { auth: wauth, pathOverride: path(`/${verb}`), query: `user_ids=${u.uid}` });
      await expect(id, 404, { auth, query: q });
    }
    await expect('joinGroup', 403, { auth: vauth, pathOverride: path('/join') });
    await expect('leaveGroup', 200, { auth: vauth, pathOverride: path('/leave') });
    await expect('leaveGroup', 400, { auth, pathOverride: path('/leave') });
    await expect('leaveGroup', 404, { auth });
    await expect('listChannelMessages', 403, { auth: vauth, pathOverride: `/v2/channel/3.${g.id}..` });
    const events = await expect('listChannelMessages', 200, { auth, pathOverride: `/v2/channel/3.${g.id}..`, query: 'limit=100' });
    assert.deepEqual(events.messages.map((m) => m.code), [3, 7, 9, 6, 4, 8], 'join, promote, demote, kick, add, ban');
    await expect('deleteGroup', 400, { auth: vauth, pathOverride: path('') });
    await expect('deleteGroup', 200, { auth, pathOverride: path('') });
    await expect('deleteGroup', 400, { auth, pathOverride: path('') });
    await expect('deleteGroup', 400, { auth, pathOverride: '/v2/group/nope' });
  });

  test('notifications: an empty list with its cursor, {} on delete, and 400', async () => {
    const u = await signUp();
    const auth = bearer(u.token);
    const l = await expect('listNotifications', 200, { auth, query: 'limit=10' });
    assert.ok(l.cacheable_cursor && !l.notifications);
    await expect('listNotifications', 200, { auth, query: `cacheableCursor=${l.cacheable_cursor}` });
    await expect('listNotifications', 400, { auth, query: 'limit=0' });
    await expect('listNotifications', 400, { auth, query: 'cacheable_cursor=%%%' });
    assert.deepEqual(await expect('deleteNotifications', 200, { auth, query: `ids=${u.uid}` }), {});
    await expect('deleteNotifications', 400, { auth, query: 'ids=nope' });
  });

  test('channel history: {} for a quiet room, pages of messages sent over the socket, 400s', async () => {
    const u = await signUp();
    const other = await signUp();
    const auth = bearer(u.token);
    const room = `contract-${randomId('', 8)}`;
    assert.deepEqual(await expect('listChannelMessages', 200, { auth, pathOverride: `/v2/channel/2...${room}` }), {});
    const open = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
    assert.ok(open.ws, `socket opened (${open.status} ${open.body})`);
    try {
      const ask = async (cid, msg) => {
        open.inbox.send({ cid, ...msg });
        for (;;) { const m = await open.inbox.next(); if (m.cid === cid) return m; }
      };
      assert.ok((await ask('1', { channel_join: { target: room, type: 1 } })).channel);
      for (const n of [1, 2]) assert.ok((await ask(`m${n}`, { channel_message_send: { channel_id: `2...${room}`, content: `{"n":${n}}` } })).channel_message_ack);
    } finally {
      open.ws.close();
    }
    const path = `/v2/channel/${encodeURIComponent(`2...${room}`)}`;
    const first = await expect('listChannelMessages', 200, { auth, pathOverride: path, query: 'limit=1' });
    assert.equal(first.messages.length, 1);
    assert.ok(first.next_cursor && first.cacheable_cursor && !first.prev_cursor);
    const second = await expect('listChannelMessages', 200, { auth, pathOverride: path, query: `limit=1&cursor=${encodeURIComponent(first.next_cursor)}` });
    assert.equal(second.messages[0].code, 0, 'code is an Int32Value: present when 0');
    assert.ok(second.prev_cursor && !second.next_cursor);
    await expect('listChannelMessages', 200, { auth, pathOverride: path, query: 'forward=false&limit=100' });
    await expect('listChannelMessages', 400, { auth, pathOverride: path, query: `forward=false&cursor=${encodeURIComponent(first.next_cursor)}` });
    await expect('listChannelMessages', 400, { auth, pathOverride: path, query: 'cursor=nope' });
    await expect('listChannelMessages', 400, { auth, pathOverride: path, query: 'forward=sideways' });
    await expect('listChannelMessages', 400, { auth, pathOverride: '/v2/channel/9...x' });
    await expect('listChannelMessages', 403, { auth, pathOverride: `/v2/channel/3.${u.uid}..` });
    const [lo, hi] = [u.uid, other.uid].sort();
    await expect('listChannelMessages', 200, { auth, pathOverride: `/v2/channel/4.${lo}.${hi}.` });
    const third = await signUp();
    await expect('listChannelMessages', 400, { auth: bearer(third.token), pathOverride: `/v2/channel/4.${lo}.${hi}.` });
  });

  test('matches: {} and a relayed match made over the socket', async (t) => {
    if (!opById.has('listMatches')) { t.skip('GET /v2/match is not documented'); return; }
    const u = await signUp();
    assert.deepEqual(await expect('listMatches', 200, { auth: bearer(u.token) }), {}, 'no matches: {}');
    const open = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
    assert.ok(open.ws, `socket opened (${open.status} ${open.body})`);
    try {
      open.inbox.send({ cid: '1', match_create: {} });
      const reply = await open.inbox.next();
      assert.ok(reply.match?.match_id, `match_create answered ${JSON.stringify(reply)}`);
      const list = await expect('listMatches', 200, { auth: bearer(u.token) });
      assert.deepEqual(list.matches.map((m) => m.match_id), [reply.match.match_id]);
      assert.equal(list.matches[0].size, 1);
      assert.deepEqual(await expect('listMatches', 200, { query: 'authoritative=true', auth: bearer(u.token) }), {});
      assert.deepEqual(await expect('listMatches', 200, { query: 'min_size=2', auth: bearer(u.token) }), {});
      await expect('listMatches', 400, { query: 'min_size=3&max_size=2', auth: bearer(u.token) });
      await expect('listMatches', 400, { query: 'authoritative=false&label=x', auth: bearer(u.token) });
      await expect('listMatches', 400, { query: 'authoritative=perhaps', auth: bearer(u.token) });
    } finally {
      open.ws.close();
    }
  });

  test('console sign-in: ConsoleSession, 400, 401', async () => {
    const s = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    await expect('consoleAuthenticate', 401, { body: { username: 'admin', password: 'nope' } });
    await expect('consoleAuthenticate', 400, { body: { username: 1, password: 'password' } });
    await expect('getAccount', 401, { auth: bearer(s.token) });
  });

  test('metrics and the Status page: a console token reads them, a game token does not', async () => {
    const s = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const m = await call('metrics', { auth: bearer(s.token) });
    assert.equal(m.status, 200, m.text.slice(0, 200));
    assert.match(m.text, /^# HELP tavern_/m);
    await expect('consoleStatus', 200, { auth: bearer(s.token) });
    await expect('consoleStatusHistory', 200, { auth: bearer(s.token) });
    const u = await signUp();
    await expect('metrics', 401, { auth: bearer(u.token) });
  });
});

// =============================================================================================
// Limits: every length bound and pattern of the request schemas below is sent at and past the
// bound; lowerCamel aliases are sent instead of their snake_case names.

const rand = (n) => randomId('', n).replace(/[0-9]/g, (d) => 'ghijklmnop'[d]);
const fillers = {
  id: (n) => randomId('', n),
  email: (n) => `${rand(Math.max(1, n - 6))}@ex.io`,
  password: (n) => 'p'.repeat(n),
  username: (n) => rand(n),
  text: (n) => 'x'.repeat(n),
};

/** How to make a valid request for an operation whose body limits are exercised. */
const LIMIT_TARGETS = {
  authenticateDevice: { auth: () => basic(), base: () => ({ id: fillers.id(20) }), fill: { id: fillers.id } },
  authenticateCustom: { auth: () => basic(), base: () => ({ id: fillers.id(20) }), fill: { id: fillers.id } },
  authenticateEmail: {
    auth: () => basic(),
    base: () => ({ email: fillers.email(24), password: PASSWORD }),
    fill: { email: fillers.email, password: fillers.password },
  },
  updateAccount: {
    session: true,
    base: () => ({}),
    fill: { username: fillers.username, display_name: fillers.text, avatar_url: fillers.text, lang_tag: fillers.text, location: fillers.text, timezone: fillers.text },
  },
  linkDevice: { session: true, base: () => ({ id: fillers.id(20) }), fill: { id: fillers.id } },
  linkCustom: { session: true, base: () => ({ id: fillers.id(20) }), fill: { id: fillers.id } },
  linkEmail: { session: true, base: () => ({ email: fillers.email(24), password: PASSWORD }), fill: { email: fillers.email, password: fillers.password } },
  unlinkDevice: { session: true, base: () => ({ id: fillers.id(20) }), fill: { id: fillers.id } },
  unlinkCustom: { session: true, base: () => ({ id: fillers.id(20) }), fill: { id: fillers.id } },
  unlinkEmail: { session: true, base: () => ({ email: fillers.email(24) }), fill: { email: fillers.email, password: fillers.password } },
  shopPurchase: { session: true, base: () => ({ item_id: fillers.id(20), idempotency_key: fillers.text(20) }), fill: { item_id: fillers.id, idempotency_key: fillers.text } },
};

/** Values that break a pattern: a space, a control character, DEL, or no "@". */
function patternBreakers(v) {
  const mid = Math.floor(v.length / 2);
  return [v.slice(0, mid) + ' ' + v.slice(mid + 1), v.slice(0, mid) + '\u0001' + v.slice(mid + 1),
    v.slice(0, mid) + '\u007f' + v.slice(mid + 1), v.replace(/@/g, 'a')];
}

describe('documented limits hold', () => {
  for (const [opId, target] of Object.entries(LIMIT_TARGETS)) {
    test(`${opId}: lengths and patterns of the request body`, async (t) => {
      const op = opById.get(opId);
      assert.ok(op, `${opId} is documented`);
      const schema = requestSchema(op);
      let auth;
      const send = async (body, accepted, what) => {
        if (target.session) auth = bearer((await signUp()).token); // fresh: updates and links pile up
        else auth = target.auth();
        const res = await call(opId, { body, auth });
        if (accepted) assert.notEqual(res.status, 400, `${opId} ${what} is accepted: ${res.text}`);
        else assert.equal(res.status, 400, `${opId} ${what} answers 400: ${res.text}`);
      };
      let checked = 0;
      for (const [prop, ps] of Object.entries(schema.properties ?? {})) {
        const p = resolve(ps);
        if (p.type !== 'string' || (p.minLength === undefined && p.maxLength === undefined && !p.pattern)) continue;
        const fill = target.fill[prop];
        assert.ok(fill, `${opId}: the test knows how to fill ${prop}`);
        const at = (n) => ({ ...target.base(), [prop]: fill(n) });
        const okLen = Math.max(p.minLength ?? 1, Math.min(p.maxLength ?? 24, 24));
        if (p.minLength !== undefined) {
          await send(at(p.minLength), true, `${prop} of ${p.minLength} bytes`);
          if (p.minLength > 0) await send(at(p.minLength - 1), false, `${prop} of ${p.minLength - 1} bytes`);
        }
        if (p.maxLength !== undefined) {
          await send(at(p.maxLength), true, `${prop} of ${p.maxLength} bytes`);
          await send(at(p.maxLength + 1), false, `${prop} of ${p.maxLength + 1} bytes`);
        }
        if (p.pattern) {
          const re = new RegExp(p.pattern, 'u');
          const good = fill(okLen);
          assert.ok(re.test(good), `${opId}: the filler for ${prop} matches ${p.pattern}`);
          for (const v of patternBreakers(good)) {
            if (v === good) continue;
            await send({ ...target.base(), [prop]: v }, re.test(v), `${prop} ${JSON.stringify(v)}`);
          }
        }
        checked++;
      }
      if (!checked) t.diagnostic(`${opId}: no length or pattern constraints documented`);
    });
  }

  test('integer query parameters: documented bounds, and their aliases', async (t) => {
    let checked = 0;
    for (const o of operations) {
      if (o.method !== 'GET' || !(o.schemes.length === 0 || o.schemes.includes('sessionToken'))) continue;
      for (const p of (o.op.parameters ?? []).map(resolve)) {
        const sch = resolve(p.schema ?? {});
        if (p.in !== 'query' || sch.type !== 'integer') continue;
        const auth = o.schemes.length ? bearer((await signUp()).token) : undefined;
        const q = (name, v) => ({ query: `${name}=${encodeURIComponent(v)}`, auth });
        for (const name of [p.name, p['x-tavern-alias']].filter(Boolean)) {
          if (sch.minimum !== undefined) {
            assert.notEqual((await call(o.id, q(name, sch.minimum))).status, 400, `${o.id} ?${name}=${sch.minimum}`);
            assert.equal((await call(o.id, q(name, sch.minimum - 1))).status, 400, `${o.id} ?${name}=${sch.minimum - 1}`);
          }
          if (sch.maximum !== undefined) {
            assert.notEqual((await call(o.id, q(name, sch.maximum))).status, 400, `${o.id} ?${name}=${sch.maximum}`);
            assert.equal((await call(o.id, q(name, sch.maximum + 1))).status, 400, `${o.id} ?${name}=${sch.maximum + 1}`);
          }
          for (const bad of ['abc', '1.5', '', '99999999999'])
            assert.equal((await call(o.id, q(name, bad))).status, 400, `${o.id} ?${name}=${bad}`);
          checked++;
        }
      }
    }
    if (!checked) t.diagnostic('no integer query parameters documented on GET routes');
  });

  test('sign-up ?username: documented length and pattern', async () => {
    for (const opId of ['authenticateDevice', 'authenticateCustom']) {
      const p = resolve(opById.get(opId).op.parameters.map(resolve).find((x) => x.name === 'username').schema);
      const body = () => ({ id: fillers.id(20) });
      await expect(opId, 200, { body: body(), query: `username=${rand(p.maxLength)}`, auth: basic() });
      await expect(opId, 400, { body: body(), query: `username=${rand(p.maxLength + 1)}`, auth: basic() });
      if (p.pattern) await expect(opId, 400, { body: body(), query: `username=ab%01cd`, auth: basic() });
    }
  });

  test('lowerCamel aliases are read like their snake_case names', async (t) => {
    const seen = new Set();
    const u = await signUp();
    for (const [prop, ps] of Object.entries(requestSchema(opById.get('updateAccount')).properties)) {
      const alias = ps['x-tavern-alias'];
      if (!alias) continue;
      const v = prop === 'lang_tag' ? 'de' : `camel ${prop}`;
      await expect('updateAccount', 200, { body: { [alias]: v }, auth: bearer(u.token) });
      const acc = await expect('getAccount', 200, { auth: bearer(u.token) });
      assert.equal(acc.user[prop], v, `${alias} sets ${prop}`);
      seen.add(`UpdateAccountRequest.${prop}`);
    }
    const logout = requestSchema(opById.get('sessionLogout')).properties.refresh_token['x-tavern-alias'];
    const w = await signUp();
    await expect('sessionLogout', 200, { body: { [logout]: w.refresh }, auth: bearer(w.token) });
    await expect('sessionRefresh', 401, { body: { token: w.refresh }, auth: basic() });
    seen.add('SessionLogoutRequest.refresh_token');
    for (const [name, s] of Object.entries(doc.components.schemas))
      for (const [p, v] of Object.entries(s.properties ?? {}))
        if (v['x-tavern-alias'] && !seen.has(`${name}.${p}`)) t.diagnostic(`${name}.${p}: alias ${v['x-tavern-alias']} documented but not exercised here`);
  });

  test('GET /v2/user: at most max_users_per_lookup ids and usernames, within the query-string cap', async () => {
    const { max_users_per_lookup: maxUsers, max_query_parameters: maxQuery } = doc['x-tavern-limits'];
    const effective = Math.min(maxUsers, maxQuery);
    for (const name of ['ids', 'usernames']) {
      const p = resolve(opById.get('getUsers').op.parameters.find((x) => x.name === name).schema);
      assert.equal(p.maxItems, effective, `${name}: maxItems is the limit a client can reach`);
    }
    const u = await signUp();
    const uuid = (k) => `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`;
    const q = (nIds, nNames) => [...Array.from({ length: nIds }, (_, k) => `ids=${uuid(k)}`),
      ...Array.from({ length: nNames }, (_, k) => `usernames=n${k}`)].join('&');
    await expect('getUsers', 200, { query: q(effective, 0), auth: bearer(u.token) });
    await expect('getUsers', 200, { query: q(effective - 10, 10), auth: bearer(u.token) });
    await expect('getUsers', 400, { query: q(effective + 1, 0), auth: bearer(u.token) });
    await expect('getUsers', 400, { query: q(effective - 10, 11), auth: bearer(u.token) });
  });

  test('query strings: at most max_query_parameters parameters', async () => {
    const n = doc['x-tavern-limits'].max_query_parameters;
    const q = (k) => Array.from({ length: k }, (_, j) => `p${j}=1`).join('&');
    await expect('healthcheck', 200, { query: q(n) });
    await expect('healthcheck', 400, { query: q(n + 1) });
  });

  test('bodies: at most max_body_bytes', async () => {
    const max = doc['x-tavern-limits'].max_body_bytes;
    const sized = (n) => {
      const head = JSON.stringify({ id: fillers.id(20), pad: '' });
      return head.slice(0, -2) + 'x'.repeat(n - head.length) + '"}';
    };
    assert.equal(Buffer.byteLength(sized(max)), max);
    await expect('authenticateDevice', 200, { body: sized(max), auth: basic() });
    await expect('authenticateDevice', 400, { body: sized(max + 1), auth: basic() });
  });
});

describe('leaderboards and tournaments', () => {
  test('console boards, records and tournaments answer in the documented shapes', async () => {
    const c = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const ct = bearer(c.token);
    const board = { id: 'contract-board', operator: 'incr', reset_schedule: '0 0 * * *', metadata: { a: 1 } };
    await expect('consoleCreateLeaderboard', 200, { body: board, auth: ct });
    await expect('consoleCreateLeaderboard', 409, { body: board, auth: ct });
    await expect('consoleCreateLeaderboard', 400, { body: { id: '' }, auth: ct });
    const tourn = { id: 'contract-tournament', title: 'T', category: 1, duration: 3600, max_size: 10, max_num_score: 5, join_required: true };
    await expect('consoleCreateTournament', 200, { body: tourn, auth: ct });
    await expect('consoleCreateTournament', 400, { body: { ...tourn, id: 'contract-t2', duration: 0 }, auth: ct });
    const list = await expect('consoleListLeaderboards', 200, { auth: ct });
    assert.deepEqual(list.leaderboards.map((b) => b.id), ['contract-board', 'contract-tournament']);
    const u = await signUp();
    const a = bearer(u.token);
    await expect('writeLeaderboardRecord', 200, { body: { score: 5, subscore: 1, metadata: '{"k":1}' }, auth: a });
    await expect('writeLeaderboardRecord', 400, { body: { score: 'x' }, auth: a });
    await expect('listLeaderboardRecords', 200, { query: `limit=10&owner_ids=${u.uid}`, auth: a });
    await expect('listLeaderboardRecords', 400, { query: 'limit=0', auth: a });
    await expect('listLeaderboardRecords', 404, { pathOverride: '/v2/leaderboard/contract-none', auth: a });
    await expect('listLeaderboardRecordsAroundOwner', 200, { pathOverride: `/v2/leaderboard/contract-board/owner/${u.uid}`, query: 'limit=3', auth: a });
    await expect('deleteLeaderboardRecord', 200, { auth: a });
    await expect('listTournaments', 200, { auth: a });
    await expect('writeTournamentRecord', 400, { body: { score: 1 }, auth: a });
    await expect('joinTournament', 200, { auth: a });
    await expect('writeTournamentRecord', 200, { body: { score: 1 }, auth: a });
    await expect('writeTournamentRecordPost', 200, { body: { score: '2', operator: 2 }, auth: a });
    await expect('listTournamentRecords', 200, { query: 'limit=5', auth: a });
    await expect('listTournamentRecordsAroundOwner', 200, { pathOverride: `/v2/tournament/contract-tournament/owner/${u.uid}`, auth: a });
    await expect('deleteTournamentRecord', 200, { auth: a });
    await expect('consoleDeleteLeaderboard', 200, { auth: ct });
    await expect('consoleDeleteLeaderboard', 404, { auth: ct });
  });
});

describe('matchmaker', () => {
  test('the console figures answer in the documented shape, and only with a console token', async () => {
    const c = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const st = await expect('consoleMatchmakerStats', 200, { auth: bearer(c.token) });
    for (const k of ['tickets', 'added', 'removed', 'groups', 'matched', 'expired', 'passes', 'last_pass_us'])
      assert.ok(st[k] === undefined || (Number.isInteger(st[k]) && st[k] > 0), k);
    await expect('consoleMatchmakerStats', 401, {});
  });

  test('waiting tickets and the matched history in the documented shapes', async () => {
    const c = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const ct = bearer(c.token);
    const [u1, u2] = [await signUp(), await signUp()];
    const socks = [];
    try {
      for (const u of [u1, u2]) {
        const open = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
        assert.ok(open.ws, `upgrade: ${open.status}`);
        socks.push(open);
      }
      const tag = randomId('c', 12);
      const add = { min_count: 2, max_count: 2, query: `+properties.tag:${tag}`,
        string_properties: { tag }, numeric_properties: { level: 3 } };
      socks[0].inbox.send({ cid: '1', matchmaker_add: add });
      const t1 = (await socks[0].inbox.next()).matchmaker_ticket?.ticket;
      assert.ok(t1);
      const w = await expect('consoleMatchmakerTickets', 200, { query: `user_id=${u1.uid}`, auth: ct });
      assert.deepEqual(w.tickets.map((t) => t.ticket), [t1]);
      await expect('consoleMatchmakerTickets', 200, { query: 'limit=1000', auth: ct });
      await expect('consoleMatchmakerTickets', 400, { query: 'limit=1001', auth: ct });
      await expect('consoleMatchmakerTickets', 400, { query: 'session_id=x', auth: ct });
      await expect('consoleMatchmakerTickets', 401, {});
      socks[1].inbox.send({ cid: '1', matchmaker_add: add });
      assert.ok((await socks[1].inbox.next()).matchmaker_ticket);
      assert.ok((await socks[0].inbox.next(10000)).matchmaker_matched, 'matched');
      const h = await expect('consoleMatchmakerMatched', 200, { query: 'limit=256', auth: ct });
      assert.ok(h.entries.some((e) => e.kind === 'matched' && e.tickets.includes(t1)), JSON.stringify(h));
      await expect('consoleMatchmakerMatched', 400, { query: 'limit=0', auth: ct });
      await expect('consoleMatchmakerMatched', 401, {});
    } finally {
      for (const s of socks) s.ws.close();
    }
  });
});

describe('shop catalog (console)', () => {
  test('console shop items answer in the documented shapes', async () => {
    const c = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const ct = bearer(c.token);
    assert.deepEqual(await expect('consoleListShopItems', 200, { auth: ct }), {});
    const item = { name: 'Contract item', price: { coins: 10 }, grants: { items: { token: 1 } }, stock: 3, userLimit: 2, metadata: { a: 1 } };
    const put = await expect('consolePutShopItem', 200, { body: item, auth: ct });
    assert.deepEqual([put.id, put.user_limit, put.stock], ['contract-item', '2', '3']);
    await expect('consolePutShopItem', 400, { body: { ...item, price: { coins: -1 } }, auth: ct });
    await expect('consolePutShopItem', 400, { body: { ...item, id: 'other' }, auth: ct });
    await expect('consoleDisableShopItem', 200, { auth: ct });
    await expect('consoleDisableShopItem', 404, { pathOverride: '/v2/console/shop/contract-none/disable', auth: ct });
    const list = await expect('consoleListShopItems', 200, { auth: ct });
    assert.deepEqual(list.items.map((i) => [i.id, i.disabled]), [['contract-item', true]]);
    const a = bearer((await signUp()).token);
    assert.deepEqual(await expect('listShopItems', 200, { auth: a }), {}, 'a disabled item is not on sale');
    await expect('consolePutShopItem', 200, { body: item, auth: ct });
    assert.deepEqual((await expect('listShopItems', 200, { auth: a })).items.map((i) => i.id), ['contract-item']);
    assert.deepEqual(await expect('listWalletLedger', 200, { query: 'limit=5', auth: a }), {});
    await expect('listWalletLedger', 400, { query: 'cursor=nonsense', auth: a });
    // a free item: bought, listed, consumed
    const free = { name: 'Free token', grants: { items: { token: 2 } } };
    await expect('consolePutShopItem', 200, { pathOverride: '/v2/console/shop/contract-free', body: free, auth: ct });
    const buy = await expect('shopPurchase', 200, { body: { item_id: 'contract-free', idempotency_key: 'k1' }, auth: a });
    assert.deepEqual([buy.receipt.item_id, buy.receipt.grants, buy.wallet], ['contract-free', { items: { token: 2 } }, '{}']);
    await expect('shopPurchase', 400, { body: { item_id: 'contract-item', idempotency_key: 'k2' }, auth: a }); // no coins
    await expect('shopPurchase', 404, { body: { item_id: 'contract-none', idempotency_key: 'k3' }, auth: a });
    assert.deepEqual((await expect('listInventory', 200, { auth: a })).items.map((i) => [i.item_id, i.count]), [['token', '2']]);
    assert.deepEqual(await expect('consumeInventory', 200, { body: { item_id: 'token', count: 1 }, auth: a }), { item_id: 'token', count: '1' });
    await expect('consumeInventory', 400, { body: { item_id: 'token', count: 2 }, auth: a });
  });
});

describe('economy admin (console)', () => {
  test('views, grants, revokes, lists and refunds answer in the documented shapes', async () => {
    const c = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const ct = bearer(c.token);
    const u = await signUp();
    const econ = `/v2/console/economy/${u.uid}`;
    const none = '/v2/console/economy/00000000-0000-4000-8000-00000000abcd';
    assert.deepEqual(await expect('consoleGetEconomy', 200, { pathOverride: econ, auth: ct }), { user_id: u.uid, username: u.usn });
    await expect('consoleGetEconomy', 404, { pathOverride: none, auth: ct });
    await expect('consoleGetEconomy', 400, { pathOverride: '/v2/console/economy/not-a-uuid', auth: ct });
    const g = await expect('consoleGrant', 200, { pathOverride: `${econ}/grant`, body: { currencies: { coins: 50 }, items: { key: 2 }, reason: 'contract' }, auth: ct });
    assert.deepEqual([g.wallet, g.items.map((i) => [i.item_id, i.count])], [{ coins: 50 }, [['key', '2']]]);
    await expect('consoleGrant', 400, { pathOverride: `${econ}/grant`, body: { currencies: { coins: 0 }, reason: 'zero' }, auth: ct });
    await expect('consoleGrant', 404, { pathOverride: `${none}/grant`, body: { items: { key: 1 }, reason: 'nobody' }, auth: ct });
    await expect('consoleRevoke', 200, { pathOverride: `${econ}/revoke`, body: { items: { key: 1 }, reason: 'contract' }, auth: ct });
    const poor = await expect('consoleRevoke', 400, { pathOverride: `${econ}/revoke`, body: { currencies: { coins: 51 }, reason: 'too much' }, auth: ct });
    assert.equal(poor.code, 9, 'insufficient funds: FAILED_PRECONDITION');
    await expect('consoleRevoke', 404, { pathOverride: `${none}/revoke`, body: { items: { key: 1 }, reason: 'nobody' }, auth: ct });
    const ledger = await expect('consoleListUserLedger', 200, { pathOverride: `${econ}/ledger`, query: 'limit=1', auth: ct });
    assert.ok(ledger.cursor && ledger.items.length === 1);
    await expect('consoleListUserLedger', 400, { pathOverride: `${econ}/ledger`, query: 'cursor=nonsense', auth: ct });
    await expect('consoleListUserLedger', 404, { pathOverride: `${none}/ledger`, auth: ct });
    assert.deepEqual(await expect('consoleListUserReceipts', 200, { pathOverride: `${econ}/receipts`, auth: ct }), {});
    await expect('consolePutShopItem', 200, { pathOverride: '/v2/console/shop/contract-refund', body: { name: 'R', price: { coins: 10 }, grants: { items: { gem: 1 } }, stock: 5 }, auth: ct });
    const buy = await expect('shopPurchase', 200, { body: { item_id: 'contract-refund', idempotency_key: 'r1' }, auth: bearer(u.token) });
    const list = await expect('consoleListUserReceipts', 200, { pathOverride: `${econ}/receipts`, query: 'limit=5', auth: ct });
    assert.deepEqual(list.receipts.map((r) => r.id), [buy.receipt.id]);
    await expect('consoleListUserReceipts', 400, { pathOverride: `${econ}/receipts`, query: 'limit=0', auth: ct });
    await expect('consoleListUserReceipts', 404, { pathOverride: `${none}/receipts`, auth: ct });
    const refund = `/v2/console/receipt/${buy.receipt.id}/refund`;
    await expect('consoleRefundReceipt', 400, { pathOverride: refund, body: {}, auth: ct });
    const r = await expect('consoleRefundReceipt', 200, { pathOverride: refund, body: { reason: 'contract' }, auth: ct });
    assert.deepEqual([r.receipt.refund_reason, r.wallet], ['contract', { coins: 50 }]);
    await expect('consoleRefundReceipt', 409, { pathOverride: refund, body: { reason: 'again' }, auth: ct });
    await expect('consoleRefundReceipt', 404, { body: { reason: 'none' }, auth: ct });
  });
});

describe('console accounts, API explorer and configuration', () => {
  test('search, view, edit, ban, unban, export, delete answer in the documented shapes', async () => {
    const c = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const ct = bearer(c.token);
    const u = await signUp();
    const other = await signUp();
    const acc = `/v2/console/account/${u.uid}`;
    const none = '/v2/console/account/00000000-0000-4000-8000-00000000abcd';
    const page = await expect('consoleListAccounts', 200, { query: 'limit=1', auth: ct });
    assert.ok(page.cursor && page.accounts.length === 1);
    await expect('consoleListAccounts', 200, { query: `limit=1&cursor=${page.cursor}`, auth: ct });
    assert.deepEqual((await expect('consoleListAccounts', 200, { query: `filter=${u.id}&order=username`, auth: ct })).accounts.map((a) => a.user.id), [u.uid]);
    assert.deepEqual(await expect('consoleListAccounts', 200, { query: 'filter=contract-nobody-has-this', auth: ct }), {});
    await expect('consoleListAccounts', 400, { query: 'limit=101', auth: ct });
    await expect('consoleListAccounts', 400, { query: 'cursor=nope', auth: ct });
    await expect('consoleGetAccount', 200, { pathOverride: acc, auth: ct });
    await expect('consoleGetAccount', 404, { pathOverride: none, auth: ct });
    await expect('consoleGetAccount', 400, { pathOverride: '/v2/console/account/nope', auth: ct });
    const e = await expect('consoleUpdateAccount', 200, { pathOverride: acc, body: { displayName: 'C', metadata: { a: 1 }, customId: randomId('ccu', 12) }, auth: ct });
    assert.equal(e.account.user.display_name, 'C');
    await expect('consoleUpdateAccount', 409, { pathOverride: acc, body: { username: other.usn }, auth: ct });
    await expect('consoleUpdateAccount', 400, { pathOverride: acc, body: { metadata: [1] }, auth: ct });
    await expect('consoleUpdateAccount', 404, { pathOverride: none, body: {}, auth: ct });
    await expect('writeStorageObjects', 200, { auth: bearer(u.token), body: { objects: [{ collection: 'contract', key: 'x', value: '{"n":1}' }] } });
    const x = await expect('consoleExportAccount', 200, { pathOverride: `${acc}/export`, auth: ct });
    assert.equal(x.storage_objects.length, 1);
    await expect('consoleExportAccount', 404, { pathOverride: `${none}/export`, auth: ct });
    await expect('consoleExportAccount', 400, { pathOverride: '/v2/console/account/nope/export', auth: ct });
    assert.deepEqual(await expect('consoleBanAccount', 200, { pathOverride: `${acc}/ban`, auth: ct }), {});
    await expect('getAccount', 401, { auth: bearer(u.token) });
    await expect('authenticateDevice', 403, { body: { id: u.id }, auth: basic() });
    await expect('consoleExplorerToken', 403, { body: { user_id: u.uid }, auth: ct });
    await expect('consoleBanAccount', 404, { pathOverride: `${none}/ban`, auth: ct });
    await expect('consoleBanAccount', 400, { pathOverride: '/v2/console/account/nope/ban', auth: ct });
    assert.deepEqual(await expect('consoleUnbanAccount', 200, { pathOverride: `${acc}/unban`, auth: ct }), {});
    await expect('consoleUnbanAccount', 404, { pathOverride: `${none}/unban`, auth: ct });
    await expect('consoleUnbanAccount', 400, { pathOverride: '/v2/console/account/nope/unban', auth: ct });
    assert.deepEqual(await expect('consoleDeleteAccount', 200, { pathOverride: `/v2/console/account/${other.uid}`, auth: ct }), {});
    await expect('consoleDeleteAccount', 404, { pathOverride: `/v2/console/account/${other.uid}`, auth: ct });
    await expect('consoleDeleteAccount', 400, { pathOverride: '/v2/console/account/nope', auth: ct });
  });

  test('explorer token and endpoints, configuration', async () => {
    const c = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const ct = bearer(c.token);
    const u = await signUp();
    const t = await expect('consoleExplorerToken', 200, { body: { userId: u.uid }, auth: ct });
    assert.equal((await expect('getAccount', 200, { auth: bearer(t.token) })).user.id, u.uid);
    await expect('consoleExplorerToken', 400, { body: { user_id: 'nope' }, auth: ct });
    await expect('consoleExplorerToken', 404, { body: { user_id: '00000000-0000-4000-8000-00000000abcd' }, auth: ct });
    const ep = await expect('consoleExplorerEndpoints', 200, { auth: ct });
    assert.ok(ep.endpoints.some((r) => r.method === 'GET' && r.path === '/v2/account'));
    if (moduleDir) assert.ok(ep.rpcs.some((r) => r.id === 'echo'));
    const cfg = await expect('consoleGetConfig', 200, { auth: ct });
    assert.equal(cfg.flags.find((f) => f.name === 'console-password').value, '********');
  });
});

describe('console data: storage, boards, matches, modules', () => {
  const NIL = '00000000-0000-0000-0000-000000000000';
  const consoleAuth = async () => bearer((await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } })).token);

  test('storage browser: collections, listing, one object read, written and deleted', async () => {
    const ct = await consoleAuth();
    const u = await signUp();
    await expect('writeStorageObjects', 200, { body: { objects: [{ collection: 'contract-con', key: 'k1', value: '{"a":1}', permission_read: 0 }] }, auth: bearer(u.token) });
    const cols = await expect('consoleStorageCollections', 200, { query: 'limit=1000', auth: ct });
    assert.ok(cols.collections.some((c) => c.name === 'contract-con'));
    await expect('consoleStorageCollections', 400, { query: 'cursor=bad', auth: ct });
    const list = await expect('consoleStorageList', 200, { query: `collection=contract-con&userId=${u.uid}&keyPrefix=k`, auth: ct });
    assert.equal(list.objects.length, 1);
    await expect('consoleStorageList', 400, { query: 'user_id=x', auth: ct });
    const path = `/v2/console/storage/contract-con/k1/${u.uid}`;
    const obj = await expect('consoleStorageGet', 200, { pathOverride: path, auth: ct });
    await expect('consoleStorageGet', 404, { auth: ct });
    await expect('consoleStorageGet', 400, { pathOverride: '/v2/console/storage/c/k/nope', auth: ct });
    const ack = await expect('consoleStorageWrite', 200, { pathOverride: path, body: { value: { a: 2 }, version: obj.version, permissionRead: 2 }, auth: ct });
    await expect('consoleStorageWrite', 409, { pathOverride: path, body: { value: '{"a":3}', version: obj.version }, auth: ct });
    await expect('consoleStorageWrite', 400, { pathOverride: path, body: { value: 1 }, auth: ct });
    await expect('consoleStorageDelete', 409, { pathOverride: `${path}?version=${obj.version}`, auth: ct });
    await expect('consoleStorageDelete', 200, { pathOverride: `${path}?version=${ack.version}`, auth: ct });
    await expect('consoleStorageDelete', 404, { pathOverride: path, auth: ct });
    await expect('consoleStorageDelete', 400, { pathOverride: '/v2/console/storage/c/k/nope', auth: ct });
  });

  test('a board, its records, deleting a record', async () => {
    const ct = await consoleAuth();
    await expect('consoleCreateLeaderboard', 200, { body: { id: 'contract-board' }, auth: ct });
    const u = await signUp();
    await expect('writeLeaderboardRecord', 200, { body: { score: 3 }, auth: bearer(u.token) });
    const b = await expect('consoleGetLeaderboard', 200, { auth: ct });
    assert.equal(b.record_count, 1);
    await expect('consoleGetLeaderboard', 404, { pathOverride: '/v2/console/leaderboard/contract-none', auth: ct });
    const r = await expect('consoleLeaderboardRecords', 200, { query: 'limit=10', auth: ct });
    assert.equal(r.records[0].owner_id, u.uid);
    await expect('consoleLeaderboardRecords', 400, { query: 'cursor=x', auth: ct });
    await expect('consoleLeaderboardRecords', 404, { pathOverride: '/v2/console/leaderboard/contract-none/records', auth: ct });
    await expect('consoleDeleteLeaderboardRecord', 200, { pathOverride: `/v2/console/leaderboard/contract-board/owner/${u.uid}`, auth: ct });
    await expect('consoleDeleteLeaderboardRecord', 404, { pathOverride: `/v2/console/leaderboard/contract-board/owner/${u.uid}`, auth: ct });
    await expect('consoleDeleteLeaderboardRecord', 400, { pathOverride: '/v2/console/leaderboard/contract-board/owner/x', auth: ct });
    await expect('consoleDeleteLeaderboard', 200, { auth: ct });
  });

  test('matches: list, one, stop', async () => {
    const ct = await consoleAuth();
    const u = await signUp();
    const open = await wsOpen(srv, `token=${encodeURIComponent(u.token)}`);
    assert.ok(open.ws, `socket opened (${open.status} ${open.body})`);
    try {
      open.inbox.send({ cid: '1', match_create: {} });
      const id = (await open.inbox.next()).match.match_id;
      const list = await expect('consoleListMatches', 200, { auth: ct });
      assert.ok(list.matches.some((m) => m.match_id === id));
      await expect('consoleListMatches', 400, { query: 'limit=0', auth: ct });
      const one = await expect('consoleGetMatch', 200, { pathOverride: `/v2/console/match/${id}`, auth: ct });
      assert.equal(one.presences[0].user_id, u.uid);
      await expect('consoleGetMatch', 404, { auth: ct });
      await expect('consoleGetMatch', 400, { pathOverride: '/v2/console/match/x', auth: ct });
      await expect('consoleStopMatch', 200, { pathOverride: `/v2/console/match/${id}/stop`, auth: ct });
      await expect('consoleStopMatch', 404, { pathOverride: `/v2/console/match/${id}/stop`, auth: ct });
      await expect('consoleStopMatch', 400, { pathOverride: `/v2/console/match/${NIL}/stop`, auth: ct });
    } finally {
      open.ws.close();
    }
  });

  test('modules: list and reload', async () => {
    const ct = await consoleAuth();
    const before = await expect('consoleListModules', 200, { auth: ct });
    const after = await expect('consoleReloadModules', 200, { auth: ct });
    assert.equal(after.generation, (before.generation ?? 0) + 1);
  });
});

describe('console users, roles and the audit log', () => {
  test('console users and audit entries answer in the documented shapes; roles answer 403', async () => {
    const c = await expect('consoleAuthenticate', 200, { body: { username: 'admin', password: 'password' } });
    const ct = bearer(c.token);
    const list = await expect('consoleListUsers', 200, { auth: ct });
    assert.ok(list.users.some((u) => u.username === 'admin' && u.role === 'admin'));
    const made = await expect('consoleCreateUser', 200, { body: { username: 'contract-ro', role: 'readonly', password: PASSWORD, email: 'contract-ro@example.com' }, auth: ct });
    assert.equal(made.role, 'readonly');
    await expect('consoleCreateUser', 409, { body: { username: 'contract-ro', role: 'readonly', password: PASSWORD }, auth: ct });
    await expect('consoleCreateUser', 400, { body: { username: 'contract ro', role: 'readonly', password: PASSWORD }, auth: ct });
    await expect('consoleCreateUser', 400, { body: { username: 'contract-x', role: 'root', password: PASSWORD }, auth: ct });
    await expect('consoleCreateUser', 400, { body: { username: 'contract-x', role: 'readonly', password: 'short' }, auth: ct });
    const ro = await expect('consoleAuthenticate', 200, { body: { username: 'contract-ro', password: PASSWORD } });
    const rt = bearer(ro.token);
    await expect('consoleListLeaderboards', 200, { auth: rt });
    await expect('consoleCreateLeaderboard', 403, { body: { id: 'contract-ro-board' }, auth: rt });
    await expect('consoleListUsers', 403, { auth: rt });
    await expect('consoleListAudit', 403, { auth: rt });
    const path = '/v2/console/user/contract-ro';
    const up = await expect('consoleUpdateUser', 200, { pathOverride: path, body: { role: 'maintainer', email: '' }, auth: ct });
    assert.equal(up.role, 'maintainer');
    assert.equal(up.email, undefined);
    await expect('consoleListLeaderboards', 401, { auth: rt }); // its role changed
    await expect('consoleUpdateUser', 404, { body: { role: 'readonly' }, auth: ct });
    await expect('consoleUpdateUser', 400, { pathOverride: '/v2/console/user/admin', body: { role: 'readonly' }, auth: ct });
    await expect('consoleUnlockUser', 200, { pathOverride: `${path}/unlock`, auth: ct });
    await expect('consoleUnlockUser', 404, { auth: ct });
    await expect('consoleDeleteUser', 200, { pathOverride: path, auth: ct });
    await expect('consoleDeleteUser', 404, { pathOverride: path, auth: ct });
    await expect('consoleDeleteUser', 400, { pathOverride: '/v2/console/user/admin', auth: ct });
    const page = await expect('consoleListAudit', 200, { query: 'limit=2', auth: ct });
    assert.equal(page.entries.length, 2);
    assert.ok(page.cursor);
    const next = await expect('consoleListAudit', 200, { query: `limit=2&cursor=${encodeURIComponent(page.cursor)}`, auth: ct });
    assert.ok(next.entries[0].id < page.entries[1].id);
    await expect('consoleListAudit', 200, { query: 'user=contract-ro&action=POST%20/v2/console/leaderboard', auth: ct });
    await expect('consoleListAudit', 400, { query: `user=admin&cursor=${encodeURIComponent(page.cursor)}`, auth: ct });
    await expect('consoleListAudit', 400, { query: 'limit=101', auth: ct });
  });
});

// Last: every documented operation was seen succeeding in this file, so a documented route
// cannot go without at least one checked answer.
test('every documented operation answered 2xx at least once above', (t) => {
  const ok = (o, s) => (o.op['x-tavern-not-configured'] ? s === 400 || s === 404 : s >= 200 && s < 300);
  const never = operations.filter((o) => ![...(observed.get(o.id) ?? [])].some((s) => ok(o, s))).map((o) => o.id);
  assert.deepEqual(never, [], 'operations never seen succeeding');
  for (const o of operations) {
    const missed = Object.keys(o.op.responses).filter((s) => !observed.get(o.id)?.has(Number(s)));
    if (missed.length) t.diagnostic(`${o.id}: documented but not provoked here: ${missed.join(', ')}`);
  }
});
