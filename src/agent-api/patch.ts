// JSON merge patch (RFC 7386) and JSON patch (RFC 6902) over plain JSON values. Pure.
import type { ApiResult } from './status.js';
import { badRequest, fail, ok } from './status.js';
import { isPlainObject } from '../model/json.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };


/** mergePatch applies an RFC 7386 merge patch: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface Op {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: string): string[] | undefined {
  if (path === '') return [];
  if (!path.startsWith('/')) return undefined;
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** jsonPatch applies an RFC 6902 patch to a copy of `doc`; a failing operation fails the whole patch. */
export function jsonPatch(doc: unknown, ops: unknown): ApiResult<unknown> {
  if (!Array.isArray(ops)) return fail(badRequest('json patch: expected an array of operations'));
  let root: unknown = structuredClone(doc) as Json;
  for (const [i, raw] of ops.entries()) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') return fail(badRequest(`json patch: operation ${i}: expected {op, path}`));
    const op = raw as unknown as Op;
    const path = pointer(op.path);
    if (!path) return fail(badRequest(`json patch: operation ${i}: invalid path ${JSON.stringify(op.path)}`));
    const res = applyOp(root, op, path);
    if (typeof res === 'string') return fail(badRequest(`json patch: operation ${i} (${op.op} ${op.path}): ${res}`));
    root = res.root;
  }
  return ok(root);
}

function get(root: unknown, path: string[]): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      const i = Number(seg);
      if (!/^\d+$/.test(seg) || i >= cur.length) return { found: false };
      cur = cur[i];
    } else if (isPlainObject(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) return { found: false };
      cur = cur[seg];
    } else return { found: false };
  }
  return { found: true, value: cur };
}

function applyOp(root: unknown, op: Op, path: string[]): { root: unknown } | string {
  switch (op.op) {
    case 'test': {
      const g = get(root, path);
      return g.found && JSON.stringify(g.value) === JSON.stringify(op.value) ? { root } : 'test failed';
    }
    case 'add':
    case 'replace': {
      if (!('value' in op)) return 'missing value';
      return set(root, path, structuredClone(op.value), op.op);
    }
    case 'remove':
      return set(root, path, undefined, 'remove');
    case 'copy':
    case 'move': {
      const from = typeof op.from === 'string' ? pointer(op.from) : undefined;
      if (!from) return 'invalid from';
      const g = get(root, from);
      if (!g.found) return `from ${op.from}: not found`;
      let r = root;
      if (op.op === 'move') {
        const removed = set(r, from, undefined, 'remove');
        if (typeof removed === 'string') return removed;
        r = removed.root;
      }
      return set(r, path, structuredClone(g.value), 'add');
    }
    default:
      return `unknown op ${JSON.stringify(op.op)}`;
  }
}

function set(root: unknown, path: string[], value: unknown, mode: 'add' | 'replace' | 'remove'): { root: unknown } | string {
  if (path.length === 0) return mode === 'remove' ? 'cannot remove the root' : { root: value };
  const parent = get(root, path.slice(0, -1));
  if (!parent.found) return 'path not found';
  const last = path[path.length - 1]!;
  const container = parent.value;
  if (Array.isArray(container)) {
    const i = last === '-' ? container.length : Number(last);
    if (!(last === '-' || /^\d+$/.test(last))) return 'invalid array index';
    if (mode === 'add') {
      if (i > container.length) return 'index out of range';
      container.splice(i, 0, value);
    } else {
      if (i >= container.length) return 'index out of range';
      if (mode === 'remove') container.splice(i, 1);
      else container[i] = value;
    }
  } else if (isPlainObject(container)) {
    const has = Object.prototype.hasOwnProperty.call(container, last);
    if (mode !== 'add' && !has) return 'path not found';
    if (mode === 'remove') delete container[last];
    else container[last] = value;
  } else return 'parent is not a container';
  return { root };
}
