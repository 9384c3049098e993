// The builtin functions of Go text/template: and or not len index slice print printf println
// html js urlquery call eq ne lt le gt ge. Error texts follow Go 1.19 src/text/template/funcs.go.
import { formatValue, sprint, sprintf, sprintln } from './fmt.js';
import { GoError, GoType, goFunc, paramType, signatureOf, toCallArg, fromResult } from './funcs.js';
import {
  GoFunc,
  GoInt,
  GoUint,
  bigValue,
  elemType,
  hasOwn,
  isTypedNil,
  kindOf,
  numValue,
  typed,
  typeName,
  truth as isTrue,
  zeroOf,
} from './values.js';

const RV: GoType = 'reflect.Value';

/** indirectInterface turns a nil interface (null) into an invalid value (undefined). */
export function indirectInterface(v: unknown): unknown {
  return v === null ? undefined : v;
}

/** truthOf is Go's template truth of a raw value. */
export function truthOf(v: unknown): boolean {
  return isTrue(indirectInterface(v));
}

function indexArg(index: unknown, cap: number): number {
  const k = kindOf(index);
  let x: bigint;
  if (k === 'int' || k === 'int64' || k === 'uint') x = bigValue(index);
  else if (index === undefined || index === null) throw new GoError('cannot index slice/array with nil');
  else throw new GoError(`cannot index slice/array with type ${typeName(index)}`);
  if (x < 0n || x > BigInt(cap)) throw new GoError(`index out of range: ${x}`);
  return Number(x);
}

function prepareKey(index: unknown, keyType: string): string {
  if (index === undefined || index === null) throw new GoError(`value is nil; should be of type ${keyType}`);
  if (typeof index !== 'string') throw new GoError(`value has type ${typeName(index)}; should be ${keyType}`);
  return index;
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  item = indirectInterface(item);
  if (item === undefined) throw new GoError('index of untyped nil');
  for (let idx of indexes) {
    idx = indirectInterface(idx);
    if (item === null) throw new GoError('index of nil pointer');
    const k = kindOf(item);
    if (k === 'string') {
      const b = Buffer.from(item as string, 'utf8');
      const x = indexArg(idx, b.length);
      if (x === b.length) throw new GoError('reflect: string index out of range');
      item = new GoUint(b[x]!, 'uint8');
    } else if (k === 'slice') {
      const a = item as unknown[];
      const x = indexArg(idx, a.length);
      if (x === a.length) throw new GoError('reflect: slice index out of range');
      item = a[x];
    } else if (k === 'map') {
      const m = item as Record<string, unknown>;
      const key = prepareKey(idx, 'string');
      item = hasOwn(m, key) ? m[key] : zeroOf(elemType(typeName(m)));
    } else {
      throw new GoError(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  item = indirectInterface(item);
  if (item === undefined) throw new GoError('slice of untyped nil');
  if (indexes.length > 3) throw new GoError(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(item);
  let len: number;
  if (k === 'string') {
    if (indexes.length === 3) throw new GoError('cannot 3-index slice a string');
    len = Buffer.byteLength(item as string);
  } else if (k === 'slice') {
    len = (item as unknown[]).length;
  } else {
    throw new GoError(`can't slice item of type ${typeName(item)}`);
  }
  const idx = [0, len, len];
  indexes.forEach((x, i) => (idx[i] = indexArg(indirectInterface(x), len)));
  if (idx[0]! > idx[1]!) throw new GoError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new GoError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (k === 'string') return Buffer.from(item as string, 'utf8').subarray(idx[0], idx[1]).toString('utf8');
  const out = (item as unknown[]).slice(idx[0], idx[1]);
  return typed(out, typeName(item));
}

function length(item: unknown): GoInt {
  if (item === null) throw new GoError('len of nil pointer');
  if (item === undefined) throw new GoError('reflect: call of reflect.Value.Type on zero Value');
  switch (kindOf(item)) {
    case 'string':
      return new GoInt(Buffer.byteLength(item as string));
    case 'slice':
      return new GoInt((item as unknown[]).length);
    case 'map':
      return new GoInt(Object.keys(item as object).length);
  }
  throw new GoError(`len of type ${typeName(item)}`);
}

function call(fn: unknown, ...args: unknown[]): unknown {
  fn = indirectInterface(fn);
  if (fn === undefined) throw new GoError('call of nil');
  if (typeof fn !== 'function') throw new GoError(`non-function of type ${typeName(fn)}`);
  const f = fn as GoFunc;
  const sig = signatureOf(f);
  const numIn = sig.in.length;
  if (sig.variadic) {
    if (args.length < numIn - 1) throw new GoError(`wrong number of args: got ${args.length} want at least ${numIn - 1}`);
  } else if (args.length !== numIn) {
    throw new GoError(`wrong number of args: got ${args.length} want ${numIn}`);
  }
  const argv = args.map((a, i) => {
    a = indirectInterface(a);
    const t = paramType(sig, i);
    if (a === undefined) {
      if (t === 'interface {}' || t.startsWith('[]') || t.startsWith('map[') || t.startsWith('*')) return zeroOf(t);
      throw new GoError(`arg ${i}: value is nil; should be of type ${t}`);
    }
    const at = typeName(a);
    const intLike = (x: string) => /^u?int(8|16|32|64)?$/.test(x);
    if (t !== 'interface {}' && t !== 'reflect.Value' && at !== t && !(intLike(at) && intLike(t))) {
      throw new GoError(`arg ${i}: value has type ${at}; should be ${t}`);
    }
    return toCallArg(a, t);
  });
  return fromResult(f(...argv), sig.out);
}

type BasicKind = 'bool' | 'int' | 'uint' | 'float' | 'string' | 'invalid';

function basicKind(v: unknown): BasicKind {
  switch (kindOf(v)) {
    case 'bool':
      return 'bool';
    case 'int':
    case 'int64':
      return 'int';
    case 'uint':
      return 'uint';
    case 'float64':
      return 'float';
    case 'string':
      return 'string';
  }
  return 'invalid';
}

const ERR_BAD_TYPE = 'invalid type for comparison';
const ERR_BAD = 'incompatible types for comparison';

function isNilValue(v: unknown): boolean {
  return v === undefined || v === null || isTypedNil(v);
}

function eq(arg1: unknown, ...arg2: unknown[]): boolean {
  arg1 = indirectInterface(arg1);
  if (arg2.length === 0) throw new GoError('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (let arg of arg2) {
    arg = indirectInterface(arg);
    const k2 = basicKind(arg);
    let t = false;
    if (k1 !== k2) {
      if (k1 === 'int' && k2 === 'uint') t = bigValue(arg1) >= 0n && bigValue(arg1) === bigValue(arg);
      else if (k1 === 'uint' && k2 === 'int') t = bigValue(arg) >= 0n && bigValue(arg1) === bigValue(arg);
      else if (arg1 !== undefined && arg !== undefined) throw new GoError(ERR_BAD);
    } else {
      switch (k1) {
        case 'bool':
        case 'string':
          t = arg1 === arg;
          break;
        case 'float':
          t = numValue(arg1) === numValue(arg);
          break;
        case 'int':
        case 'uint':
          t = bigValue(arg1) === bigValue(arg);
          break;
        default: {
          const ka = kindOf(arg1);
          const kb = kindOf(arg);
          if (ka !== kb && arg1 !== undefined && arg !== undefined) {
            throw new GoError(`non-comparable types ${sprintf('%s', [arg1])}: ${typeName(arg1)}, ${typeName(arg)}: ${formatValue(arg)}`);
          }
          if (isNilValue(arg1) || isNilValue(arg)) t = isNilValue(arg) === isNilValue(arg1);
          else if (ka === 'slice' || ka === 'map' || ka === 'func') {
            throw new GoError(`non-comparable type ${sprintf('%s', [arg])}: ${typeName(arg)}`);
          } else t = arg1 === arg;
        }
      }
    }
    if (t) return true;
  }
  return false;
}

function lt(arg1: unknown, arg2: unknown): boolean {
  arg1 = indirectInterface(arg1);
  const k1 = basicKind(arg1);
  if (k1 === 'invalid') throw new GoError(ERR_BAD_TYPE);
  arg2 = indirectInterface(arg2);
  const k2 = basicKind(arg2);
  if (k2 === 'invalid') throw new GoError(ERR_BAD_TYPE);
  if (k1 !== k2) {
    if (k1 === 'int' && k2 === 'uint') return bigValue(arg1) < 0n || bigValue(arg1) < bigValue(arg2);
    if (k1 === 'uint' && k2 === 'int') return bigValue(arg2) >= 0n && bigValue(arg1) < bigValue(arg2);
    throw new GoError(ERR_BAD);
  }
  switch (k1) {
    case 'bool':
      throw new GoError(ERR_BAD_TYPE);
    case 'float':
      return numValue(arg1) < numValue(arg2);
    case 'int':
    case 'uint':
      return bigValue(arg1) < bigValue(arg2);
    default:
      return Buffer.compare(Buffer.from(arg1 as string), Buffer.from(arg2 as string)) < 0;
  }
}

function le(a: unknown, b: unknown): boolean {
  return lt(a, b) || eq(a, b);
}

const HTML_ESCAPES: Record<string, string> = { '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** htmlEscape is Go's template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => HTML_ESCAPES[c]!);
}

const JS_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '<': '\\u003C',
  '>': '\\u003E',
  '&': '\\u0026',
  '=': '\\u003D',
};
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** jsEscape is Go's template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (JS_ESCAPES[ch]) out += JS_ESCAPES[ch];
    else if (r < 0x20) out += '\\u00' + r.toString(16).toUpperCase().padStart(2, '0');
    else if (r < 0x80) out += ch;
    else if (PRINTABLE.test(ch)) out += ch;
    else out += '\\u' + r.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** queryEscape is Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// evalArgs is how html, js and urlquery turn their arguments into one string.
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === null || a === undefined ? '<no value>' : a)));
}

const ANY: GoType = 'interface {}';

/** BUILTINS are text/template's predefined functions. */
export const BUILTINS: Record<string, GoFunc> = {
  and: goFunc({ in: [RV, RV], variadic: true, out: RV }, () => undefined),
  or: goFunc({ in: [RV, RV], variadic: true, out: RV }, () => undefined),
  not: goFunc({ in: [RV], out: 'bool' }, (a: unknown) => !truthOf(a)),
  len: goFunc({ in: [RV], out: 'int' }, length),
  index: goFunc({ in: [RV, RV], variadic: true, out: RV }, index),
  slice: goFunc({ in: [RV, RV], variadic: true, out: RV }, slice),
  call: goFunc({ in: [RV, RV], variadic: true, out: RV }, call),
  print: goFunc({ in: [ANY], variadic: true, out: 'string' }, (...a: unknown[]) => sprint(a)),
  printf: goFunc({ in: ['string', ANY], variadic: true, out: 'string' }, (f: string, ...a: unknown[]) => sprintf(f, a)),
  println: goFunc({ in: [ANY], variadic: true, out: 'string' }, (...a: unknown[]) => sprintln(a)),
  html: goFunc({ in: [ANY], variadic: true, out: 'string' }, (...a: unknown[]) => htmlEscape(evalArgs(a))),
  js: goFunc({ in: [ANY], variadic: true, out: 'string' }, (...a: unknown[]) => jsEscape(evalArgs(a))),
  urlquery: goFunc({ in: [ANY], variadic: true, out: 'string' }, (...a: unknown[]) => queryEscape(evalArgs(a))),
  eq: goFunc({ in: [RV, RV], variadic: true, out: 'bool' }, eq),
  ne: goFunc({ in: [RV, RV], out: 'bool' }, (a: unknown, b: unknown) => !eq(a, b)),
  lt: goFunc({ in: [RV, RV], out: 'bool' }, lt),
  le: goFunc({ in: [RV, RV], out: 'bool' }, le),
  gt: goFunc({ in: [RV, RV], out: 'bool' }, (a: unknown, b: unknown) => !le(a, b)),
  ge: goFunc({ in: [RV, RV], out: 'bool' }, (a: unknown, b: unknown) => !lt(a, b)),
};
