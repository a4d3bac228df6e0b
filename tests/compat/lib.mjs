// Shared helpers for the upstream-client compatibility drivers (scripts/test-compat.sh).
//
// - `compat(rel)`: import a module from the installed upstream clients (~/.cache/waiaas/compat/node).
// - `shape(value, spec)`: check a response against the fields an upstream client's own types
//   declare (a small spec language, see below). Returns a list of problems.
// - `OpenApi`: check a raw daemon response against upstream's OpenAPI document (status listed
//   for the route, body valid against its schema).
// - `Report`: one line per check, "PASS|FAIL|QUIRK|DIFF|INFO <client> <op>: detail", and a
//   summary; FAIL means the client call threw or its own types were not met, DIFF means our
//   raw response is not what upstream's OpenAPI document says for that route and status.
//
// Spec language for `shape`: a string type 'string' | 'number' | 'integer' | 'boolean' |
// 'object' | 'array' | 'any', with '|null' for a nullable field and a trailing '?' for an
// optional one ('string|null?'); an object literal for a nested object; [spec] for an array
// whose items all match spec; a function (v) => problem-string|null for anything else.

import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const COMPAT = process.env.WAIAAS_COMPAT_DIR ?? join(process.env.HOME ?? '/tmp', '.cache/waiaas/compat');

export async function compat(rel) {
  const p = join(COMPAT, 'node', 'node_modules', rel);
  if (!existsSync(p)) throw new Error(`${p} missing: run scripts/test-compat.sh --install`);
  return import(pathToFileURL(p).href);
}

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// SDK type shapes

function typeOk(t, v) {
  switch (t) {
    case 'any': return v !== undefined;
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array': return Array.isArray(v);
    default: throw new Error(`bad spec type ${t}`);
  }
}

export function shape(value, spec, path = '$', out = []) {
  if (typeof spec === 'function') {
    const p = spec(value);
    if (p) out.push(`${path}: ${p}`);
    return out;
  }
  if (typeof spec === 'string') {
    let s = spec;
    const optional = s.endsWith('?');
    if (optional) s = s.slice(0, -1);
    const alts = s.split('|');
    if (value === undefined) {
      if (!optional) out.push(`${path}: missing (expected ${s})`);
      return out;
    }
    if (value === null) {
      if (!alts.includes('null')) out.push(`${path}: null (expected ${s})`);
      return out;
    }
    if (!alts.filter((a) => a !== 'null').some((a) => typeOk(a, value))) {
      out.push(`${path}: ${JSON.stringify(value)?.slice(0, 80)} is not ${s}`);
    }
    return out;
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(value)) { out.push(`${path}: ${value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 80)} (expected array)`); return out; }
    value.forEach((v, i) => shape(v, spec[0], `${path}[${i}]`, out));
    return out;
  }
  // object literal; a key ending in '?' is an optional nested object
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    out.push(`${path}: ${value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 80)} (expected object)`);
    return out;
  }
  for (const [k0, sub] of Object.entries(spec)) {
    const opt = k0.endsWith('?');
    const k = opt ? k0.slice(0, -1) : k0;
    if (opt && (value[k] === undefined || value[k] === null)) continue;
    shape(value[k], sub, `${path}.${k}`, out);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Upstream OpenAPI document

export function findOpenApi() {
  const root = join(HERE, '..', '..');
  const candidates = [
    process.env.WAIAAS_UPSTREAM_OPENAPI,
    join(root, 'tests/fixtures/upstream-openapi.json'),
    join(root, '../shared/spec/upstream-openapi.json'),
    '/work/shared/spec/upstream-openapi.json',
  ].filter(Boolean);
  return candidates.find((p) => existsSync(p)) ?? null;
}

export class OpenApi {
  constructor(file) {
    this.doc = JSON.parse(readFileSync(file, 'utf8'));
    this.routes = Object.keys(this.doc.paths).map((p) => ({
      path: p,
      params: (p.match(/\{/g) ?? []).length,
      re: new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
    })).sort((a, b) => a.params - b.params);
  }

  route(method, path) {
    const p = path.split('?')[0];
    for (const r of this.routes) {
      if (r.re.test(p) && this.doc.paths[r.path][method.toLowerCase()]) return { template: r.path, op: this.doc.paths[r.path][method.toLowerCase()] };
    }
    return null;
  }

  resolve(s) {
    while (s && s.$ref) {
      s = s.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o[k], this.doc);
    }
    return s;
  }

  allowsNull(s) {
    s = this.resolve(s);
    if (!s) return true;
    if (s.nullable) return true;
    const alts = s.anyOf ?? s.oneOf;
    if (alts) return alts.some((a) => this.allowsNull(a));
    if (s.allOf) return s.allOf.every((a) => this.allowsNull(a));
    return s.type === undefined && !s.properties && !s.enum;
  }

  validate(s0, v, path = '$', out = []) {
    const s = this.resolve(s0);
    if (!s) return out;
    if (v === null) {
      if (!this.allowsNull(s)) out.push(`${path}: null not allowed`);
      return out;
    }
    if (s.allOf) for (const a of s.allOf) this.validate(a, v, path, out);
    const alts = s.anyOf ?? s.oneOf;
    if (alts) {
      const results = alts.map((a) => this.validate(a, v, path, []));
      if (!results.some((r) => r.length === 0)) {
        out.push(...results.sort((a, b) => a.length - b.length)[0]);
      }
    }
    if (s.enum && !s.enum.includes(v)) out.push(`${path}: ${JSON.stringify(v)} not one of ${JSON.stringify(s.enum)}`);
    const t = s.type;
    if (t) {
      const ok = t === 'integer' ? Number.isInteger(v)
        : t === 'number' ? typeof v === 'number'
        : t === 'array' ? Array.isArray(v)
        : t === 'object' ? v !== null && typeof v === 'object' && !Array.isArray(v)
        : typeof v === t;
      if (!ok) { out.push(`${path}: ${JSON.stringify(v)?.slice(0, 60)} is not ${t}`); return out; }
    }
    if (Array.isArray(v) && s.items) v.forEach((x, i) => this.validate(s.items, x, `${path}[${i}]`, out));
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const k of s.required ?? []) if (v[k] === undefined) out.push(`${path}.${k}: missing (required)`);
      for (const [k, sub] of Object.entries(s.properties ?? {})) if (v[k] !== undefined) this.validate(sub, v[k], `${path}.${k}`, out);
    }
    return out;
  }

  /** Problems with one raw exchange, or null when the route is not in the document. */
  check(method, path, status, body) {
    const r = this.route(method, path);
    if (!r) return null;
    // network=all answers another shape than the one upstream's document declares for the
    // route (upstream casts it `as never`); the SDK types and spec §3.3 are checked instead.
    if (/[?&]network=all(&|$)/.test(path)) return null;
    const resp = r.op.responses?.[String(status)];
    if (!resp) {
      // Upstream's document lists few of the errors its middleware raises (401 from sessionAuth,
      // 400 from validation, 503 from the kill switch): an unlisted error status is fine when
      // its body is upstream's flat error body.
      if (status >= 400 && this.doc.components?.schemas?.ErrorResponse) {
        return { template: r.template, problems: this.validate({ $ref: '#/components/schemas/ErrorResponse' }, body) };
      }
      return { template: r.template, problems: [`status ${status} not listed (upstream lists ${Object.keys(r.op.responses ?? {}).join(', ')})`] };
    }
    const schema = resp.content?.['application/json']?.schema;
    if (!schema) return { template: r.template, problems: [] };
    return { template: r.template, problems: this.validate(schema, body) };
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting

export class Report {
  constructor(client) {
    this.client = client;
    this.counts = { PASS: 0, FAIL: 0, QUIRK: 0, DIFF: 0, INFO: 0 };
  }
  line(kind, op, detail = '') {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    console.log(`${kind.padEnd(5)} ${this.client} ${op}${detail ? ': ' + detail : ''}`);
  }
  pass(op, detail) { this.line('PASS', op, detail); }
  fail(op, detail) { this.line('FAIL', op, detail); }
  quirk(op, detail) { this.line('QUIRK', op, detail); }
  diff(op, detail) { this.line('DIFF', op, detail); }
  info(op, detail) { this.line('INFO', op, detail); }
  summary() {
    const c = this.counts;
    console.log(`SUMMARY ${this.client}: ${c.PASS} passed, ${c.FAIL} failed, ${c.DIFF} diff, ${c.QUIRK} quirk, ${c.INFO} info`);
    return c.FAIL;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** JSON-RPC call to anvil. */
export async function rpc(url, method, params = []) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const j = await r.json();
  if (j.error) throw new Error(`${method}: ${JSON.stringify(j.error)}`);
  return j.result;
}

// Minimal RLP, enough for an unsigned EIP-1559 transaction.
function rlpBytes(b) {
  if (b.length === 1 && b[0] < 0x80) return b;
  return Buffer.concat([rlpLen(b.length, 0x80), b]);
}
function rlpLen(n, off) {
  if (n < 56) return Buffer.from([off + n]);
  const hex = n.toString(16);
  const l = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  return Buffer.concat([Buffer.from([off + 55 + l.length]), l]);
}
function rlp(x) {
  if (Array.isArray(x)) {
    const body = Buffer.concat(x.map(rlp));
    return Buffer.concat([rlpLen(body.length, 0xc0), body]);
  }
  return rlpBytes(x);
}
const big = (n) => {
  let h = BigInt(n).toString(16);
  if (h === '0') return Buffer.alloc(0);
  if (h.length % 2) h = '0' + h;
  return Buffer.from(h, 'hex');
};
export function unsignedEip1559({ chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data = '0x' }) {
  const fields = [big(chainId), big(nonce), big(maxPriorityFee), big(maxFee), big(gas), Buffer.from(to.slice(2), 'hex'), big(value), Buffer.from(data.slice(2), 'hex'), []];
  return '0x02' + rlp(fields).toString('hex');
}
