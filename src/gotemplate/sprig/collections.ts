// Sprig list and dict functions (list.go, dict.go) with Go's reflection behaviour: typed nils,
// panics on nil lists, DeepEqual membership and mergo's merge rules.
import { GoError, goFunc } from '../funcs.js';
import { checkAlloc } from '../limits.js';
import {
  GoFunc,
  GoInt,
  GoTime,
  hasOwn,
  isTypedNil,
  kindOf,
  nilOf,
  numValue,
  reflectKind,
  setKey,
  sortedKeys,
  typed,
  typeName,
} from '../values.js';
import { empty, strval, toInt64 } from './cast.js';

const ANY = 'interface {}' as const;
const MAP = 'map[string]interface {}' as const;
const LIST = '[]interface {}' as const;

/** NIL_DEREF is the runtime panic Go raises when Sprig inspects the type of a nil list. */
export const NIL_DEREF = 'runtime error: invalid memory address or nil pointer dereference';

// listOf returns a list's elements, or throws Sprig's error for non-lists (message uses the reflect kind).
function listOf(v: unknown, describe: (kind: string) => string): unknown[] {
  if (v === null || v === undefined) throw new GoError(NIL_DEREF);
  if (kindOf(v) !== 'slice') throw new GoError(describe(reflectKind(v)));
  return v as unknown[];
}

/** deepEqual is reflect.DeepEqual over engine values (types must match exactly). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (typeName(a) !== typeName(b)) return false;
  switch (kindOf(a)) {
    case 'slice': {
      const x = a as unknown[];
      const y = b as unknown[];
      if (isTypedNil(x) !== isTypedNil(y) || x.length !== y.length) return false;
      return x.every((e, i) => deepEqual(e, y[i]));
    }
    case 'map': {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      if (isTypedNil(x) !== isTypedNil(y)) return false;
      const kx = Object.keys(x);
      if (kx.length !== Object.keys(y).length) return false;
      return kx.every((k) => hasOwn(y, k) && deepEqual(x[k], y[k]));
    }
    case 'int':
    case 'uint':
      return BigInt((a as GoInt).value) === BigInt((b as GoInt).value);
    case 'float64':
      return numValue(a) === numValue(b);
    case 'time':
      return (a as GoTime).epochMs === (b as GoTime).epochMs && (a as GoTime).nanos === (b as GoTime).nanos;
    default:
      return a === b;
  }
}

/** deepCopy is copystructure.Copy: maps and lists copied recursively, keeping their Go types. */
export function deepCopy(v: unknown): unknown {
  if (v === null || v === undefined) throw new GoError('reflect: call of reflect.Value.Type on zero Value');
  return copyValue(v);
}

function copyValue(v: unknown): unknown {
  if (Array.isArray(v)) {
    if (isTypedNil(v)) return v;
    const out = v.map(copyValue);
    return typeName(v) !== LIST ? typed(out, typeName(v)) : out;
  }
  if (kindOf(v) === 'map' && v !== null) {
    if (isTypedNil(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v as object)) setKey(out, k, copyValue(e));
    return typeName(v) !== MAP ? typed(out, typeName(v)) : out;
  }
  return v;
}

function toIntIndex(v: unknown): number {
  return Number(BigInt.asIntN(64, toInt64(v)));
}

/** sliceList is Sprig's slice: reflect.Value.Slice, which panics outside 0 ≤ i ≤ j ≤ len. */
function sliceList(list: unknown, ...indices: unknown[]): unknown {
  const l = listOf(list, (k) => `list should be type of slice or array but ${k}`);
  if (l.length === 0) return null;
  const start = indices.length > 0 ? toIntIndex(indices[0]) : 0;
  const end = indices.length < 2 ? l.length : toIntIndex(indices[1]);
  if (start < 0 || end < start || end > l.length) throw new GoError('reflect.Value.Slice: slice index out of bounds');
  const out = l.slice(start, end);
  return typeName(list) === LIST ? out : typed(out, typeName(list));
}

function chunk(size: number, list: unknown): unknown[][] {
  const l = listOf(list, (k) => `Cannot chunk type ${k}`);
  if (size <= 0) throw new GoError('runtime error: makeslice: len out of range');
  const out: unknown[][] = [];
  for (let i = 0; i < l.length; i += size) out.push(l.slice(i, i + size));
  return out;
}

function uniq(list: unknown): unknown[] {
  const l = listOf(list, (k) => `Cannot find uniq on type ${k}`);
  const dest: unknown[] = [];
  for (const item of l) if (!dest.some((d) => deepEqual(item, d))) dest.push(item);
  return dest;
}

/** mergeInto is mergo.Merge / MergeWithOverwrite (dario.cat/mergo v1.0) for map[string]interface{}. */
export function mergeInto(dst: Record<string, unknown>, src: Record<string, unknown>, overwrite: boolean): void {
  for (const key of Object.keys(src)) {
    const s = src[key];
    const hasD = hasOwn(dst, key);
    const d = dst[key];
    if (s === null || s === undefined || isTypedNil(s)) {
      if (overwrite) setKey(dst, key, s === undefined ? null : s);
      continue;
    }
    const sk = kindOf(s);
    if (sk === 'map' || sk === 'ptr' || sk === 'time') {
      if (sk === 'map' && hasD && kindOf(d) === 'map' && d !== null && !isTypedNil(d)) {
        mergeInto(d as Record<string, unknown>, s as Record<string, unknown>, overwrite);
      }
    } else if (sk === 'slice') {
      let dstSlice: unknown = !hasD || d === null ? [] : d;
      if (overwrite || Object.keys(dst).length === 0) dstSlice = s;
      setKey(dst, key, dstSlice);
    }
    if (hasD && !empty(d)) {
      if (sk === 'slice') continue;
      if (sk === 'map' && kindOf(d) === 'map') continue;
    }
    if (overwrite || !hasD || empty(d)) setKey(dst, key, s);
  }
}

function merge(overwrite: boolean) {
  return (dst: Record<string, unknown>, ...srcs: Record<string, unknown>[]) => {
    if (isTypedNil(dst)) dst = {};
    for (const src of srcs) if (!isTypedNil(src)) mergeInto(dst, src, overwrite);
    return dst;
  };
}

function typeAssert(v: unknown, want: string): never {
  const got = v === null || v === undefined ? 'nil' : typeName(v);
  throw new GoError(`interface conversion: interface {} is ${got}, not ${want}`);
}

function dig(...ps: unknown[]): unknown {
  if (ps.length < 3) throw new GoError('dig needs at least three arguments');
  let dict = ps[ps.length - 1];
  if (typeName(dict) !== MAP || dict === null) typeAssert(dict, MAP);
  const def = ps[ps.length - 2];
  const keys = ps.slice(0, -2).map((k) => (typeof k === 'string' ? k : typeAssert(k, 'string')));
  for (let i = 0; i < keys.length; i++) {
    const m = dict as Record<string, unknown>;
    if (!hasOwn(m, keys[i]!)) return def;
    const step = m[keys[i]!];
    if (i === keys.length - 1) return step;
    if (typeName(step) !== MAP || step === null) typeAssert(step, MAP);
    dict = step;
  }
  return def;
}

function listFn(f: (l: unknown[]) => unknown, msg: (k: string) => string, out: 'interface {}' | '[]interface {}' = LIST) {
  return goFunc({ in: [ANY], out }, (list: unknown) => f(listOf(list, msg)));
}

/** LIST_FUNCS are Sprig's list functions. */
export const LIST_FUNCS: Record<string, GoFunc> = {
  list: goFunc({ in: [ANY], variadic: true, out: LIST }, (...v: unknown[]) => v),
  tuple: goFunc({ in: [ANY], variadic: true, out: LIST }, (...v: unknown[]) => v),
  append: goFunc({ in: [ANY, ANY], out: LIST }, (l: unknown, v: unknown) => [...listOf(l, (k) => `Cannot push on type ${k}`), v]),
  prepend: goFunc({ in: [ANY, ANY], out: LIST }, (l: unknown, v: unknown) => [v, ...listOf(l, (k) => `Cannot prepend on type ${k}`)]),
  first: listFn((l) => (l.length === 0 ? null : l[0]), (k) => `Cannot find first on type ${k}`, ANY),
  last: listFn((l) => (l.length === 0 ? null : l[l.length - 1]), (k) => `Cannot find last on type ${k}`, ANY),
  rest: listFn((l) => (l.length === 0 ? nilOf(LIST) : l.slice(1)), (k) => `Cannot find rest on type ${k}`),
  initial: listFn((l) => (l.length === 0 ? nilOf(LIST) : l.slice(0, -1)), (k) => `Cannot find initial on type ${k}`),
  reverse: listFn((l) => [...l].reverse(), (k) => `Cannot find reverse on type ${k}`),
  compact: listFn((l) => l.filter((e) => !empty(e)), (k) => `Cannot compact on type ${k}`),
  uniq: goFunc({ in: [ANY], out: LIST }, uniq),
  without: goFunc({ in: [ANY, ANY], variadic: true, out: LIST }, (list: unknown, ...omit: unknown[]) =>
    listOf(list, (k) => `Cannot find without on type ${k}`).filter((e) => !omit.some((o) => deepEqual(e, o))),
  ),
  has: goFunc({ in: [ANY, ANY], out: 'bool' }, (needle: unknown, hay: unknown) => {
    if (hay === null) return false;
    return listOf(hay, (k) => `Cannot find has on type ${k}`).some((e) => deepEqual(needle, e));
  }),
  slice: goFunc({ in: [ANY, ANY], variadic: true, out: ANY }, sliceList),
  concat: goFunc({ in: [ANY], variadic: true, out: ANY }, (...lists: unknown[]) => {
    const res: unknown[] = [];
    for (const l of lists) {
      if (l === null) throw new GoError(NIL_DEREF);
      if (kindOf(l) !== 'slice') throw new GoError(`Cannot concat type ${reflectKind(l)} as list`);
      checkAlloc(res.length + (l as unknown[]).length, 'concat');
      res.push(...(l as unknown[]));
    }
    return res.length === 0 ? nilOf(LIST) : res;
  }),
  chunk: goFunc({ in: ['int', ANY], out: '[][]interface {}' }, chunk),
  sortAlpha: goFunc({ in: [ANY], out: '[]string' }, (list: unknown) => {
    if (kindOf(list) !== 'slice') return [strval(list)];
    return (list as unknown[])
      .filter((e) => e !== null)
      .map(strval)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }),
};

// The must* variants return the error instead of panicking; to a template both read the same.
for (const n of ['append', 'prepend', 'first', 'last', 'rest', 'initial', 'reverse', 'compact', 'uniq', 'without', 'has', 'slice', 'chunk']) {
  const f = LIST_FUNCS[n]!;
  LIST_FUNCS['must' + n[0]!.toUpperCase() + n.slice(1)] = f;
}
LIST_FUNCS.push = LIST_FUNCS.append!;
LIST_FUNCS.mustPush = LIST_FUNCS.append!;

/** DICT_FUNCS are Sprig's dict functions. */
export const DICT_FUNCS: Record<string, GoFunc> = {
  dict: goFunc({ in: [ANY], variadic: true, out: MAP }, (...v: unknown[]) => {
    const d: Record<string, unknown> = {};
    for (let i = 0; i < v.length; i += 2) setKey(d, strval(v[i]), i + 1 < v.length ? v[i + 1] : '');
    return d;
  }),
  get: goFunc({ in: [MAP, 'string'], out: ANY }, (d: Record<string, unknown>, k: string) => (hasOwn(d, k) ? d[k] : '')),
  set: goFunc({ in: [MAP, 'string', ANY], out: MAP }, (d: Record<string, unknown>, k: string, v: unknown) => {
    if (isTypedNil(d)) throw new GoError('assignment to entry in nil map');
    setKey(d, k, v);
    return d;
  }),
  unset: goFunc({ in: [MAP, 'string'], out: MAP }, (d: Record<string, unknown>, k: string) => {
    delete d[k];
    return d;
  }),
  hasKey: goFunc({ in: [MAP, 'string'], out: 'bool' }, (d: Record<string, unknown>, k: string) => hasOwn(d, k)),
  pluck: goFunc({ in: ['string', MAP], variadic: true, out: LIST }, (k: string, ...ds: Record<string, unknown>[]) =>
    ds.filter((d) => hasOwn(d, k)).map((d) => d[k]),
  ),
  keys: goFunc({ in: [MAP], variadic: true, out: '[]string' }, (...ds: Record<string, unknown>[]) => ds.flatMap((d) => sortedKeys(d))),
  values: goFunc({ in: [MAP], out: LIST }, (d: Record<string, unknown>) => sortedKeys(d).map((k) => d[k])),
  pick: goFunc({ in: [MAP, 'string'], variadic: true, out: MAP }, (d: Record<string, unknown>, ...ks: string[]) => {
    const r: Record<string, unknown> = {};
    for (const k of ks) if (hasOwn(d, k)) setKey(r, k, d[k]);
    return r;
  }),
  omit: goFunc({ in: [MAP, 'string'], variadic: true, out: MAP }, (d: Record<string, unknown>, ...ks: string[]) => {
    const r: Record<string, unknown> = {};
    for (const k of Object.keys(d)) if (!ks.includes(k)) setKey(r, k, d[k]);
    return r;
  }),
  merge: goFunc({ in: [MAP, MAP], variadic: true, out: ANY }, merge(false)),
  mergeOverwrite: goFunc({ in: [MAP, MAP], variadic: true, out: ANY }, merge(true)),
  mustMerge: goFunc({ in: [MAP, MAP], variadic: true, out: ANY }, merge(false)),
  mustMergeOverwrite: goFunc({ in: [MAP, MAP], variadic: true, out: ANY }, merge(true)),
  deepCopy: goFunc({ in: [ANY], out: ANY }, deepCopy),
  mustDeepCopy: goFunc({ in: [ANY], out: ANY }, deepCopy),
  dig: goFunc({ in: [ANY], variadic: true, out: ANY }, dig),
};
