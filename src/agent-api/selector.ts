// Label and field selectors in the string form clients send (`?labelSelector=a=b,c in (d,e),!f`).
// Reference: https://github.com/kubernetes/apimachinery/blob/v0.32.0/pkg/labels/selector.go (Parse)
import type { Requirement, Selector } from '../model/labels.js';
import type { ApiResult } from './status.js';
import { badRequest, fail, ok } from './status.js';

export { matchesLabels } from '../model/labels.js';
export type { Requirement, Selector };

const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

// splitTopLevel splits on commas outside parentheses.
function splitTopLevel(s: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth < 0) return undefined;
    } else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  out.push(s.slice(start));
  return out.map((p) => p.trim());
}

/** parseLabelSelector parses the string form; a malformed selector is a 400 BadRequest. */
export function parseLabelSelector(text: string | null | undefined): ApiResult<Selector> {
  if (!text || text.trim() === '') return ok([]);
  if (text.length > 4096) return fail(badRequest('labelSelector: longer than 4096 characters'));
  const parts = splitTopLevel(text);
  if (!parts) return fail(badRequest(`unable to parse requirement: unbalanced parentheses in ${JSON.stringify(text)}`));
  const reqs: Requirement[] = [];
  for (const part of parts) {
    const r = parseRequirement(part);
    if (typeof r === 'string') return fail(badRequest(`unable to parse requirement: ${r}`));
    reqs.push(r);
  }
  return ok(reqs);
}

function parseRequirement(p: string): Requirement | string {
  let m: RegExpExecArray | null;
  if ((m = /^!\s*(\S+)$/.exec(p))) return checkKey(m[1]!) ?? { key: m[1]!, op: 'notexists' };
  if ((m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(p))) {
    const values = m[3]!.split(',').map((v) => v.trim());
    const badValue = values.find((v) => !VALUE_RE.test(v));
    if (badValue !== undefined) return `invalid label value: ${JSON.stringify(badValue)}`;
    return checkKey(m[1]!) ?? { key: m[1]!, op: m[2] as 'in' | 'notin', values };
  }
  if ((m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/.exec(p))) {
    const [, key, op, value] = m as unknown as [string, string, string, string];
    const badKey = checkKey(key);
    if (badKey) return badKey;
    if (op === '>' || op === '<') {
      if (!/^-?\d+$/.test(value)) return `for 'Gt', 'Lt' operators, the value must be an integer: ${JSON.stringify(value)}`;
      return { key, op: op === '>' ? 'gt' : 'lt', value: Number(value) };
    }
    if (!VALUE_RE.test(value)) return `invalid label value: ${JSON.stringify(value)}`;
    return { key, op: op === '!=' ? 'ne' : 'eq', value };
  }
  if (/^\S+$/.test(p)) return checkKey(p) ?? { key: p, op: 'exists' };
  return `${JSON.stringify(p)}: expected key, !key, key=value, key!=value, key in (…) or key notin (…)`;
}

function checkKey(key: string): string | undefined {
  return KEY_RE.test(key) && key.length <= 317 ? undefined : `invalid label key: ${JSON.stringify(key)}`;
}

/** FieldSelector supports what custom resources support: metadata.name and metadata.namespace. */
export type FieldSelector = readonly { field: 'metadata.name' | 'metadata.namespace'; op: 'eq' | 'ne'; value: string }[];

/** parseFieldSelector parses `metadata.name=x,metadata.namespace!=y`; other fields are a 400, as for CRDs. */
export function parseFieldSelector(text: string | null | undefined): ApiResult<FieldSelector> {
  if (!text || text.trim() === '') return ok([]);
  const out: { field: 'metadata.name' | 'metadata.namespace'; op: 'eq' | 'ne'; value: string }[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) return fail(badRequest(`invalid field selector: ${JSON.stringify(part)}`));
    const field = m[1]!;
    if (field !== 'metadata.name' && field !== 'metadata.namespace') {
      return fail(badRequest(`field label not supported: ${field}`));
    }
    out.push({ field, op: m[2] === '!=' ? 'ne' : 'eq', value: m[3]! });
  }
  return ok(out);
}

/** matchesFields tells whether an object's name and namespace satisfy the field selector. */
export function matchesFields(selector: FieldSelector, meta: { name: string; namespace?: string }): boolean {
  for (const r of selector) {
    const v = r.field === 'metadata.name' ? meta.name : (meta.namespace ?? '');
    if ((r.op === 'eq') !== (v === r.value)) return false;
  }
  return true;
}
