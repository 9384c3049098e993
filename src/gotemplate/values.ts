// Go value model for the template engine: how JSON-like JavaScript data stands for Go values.
//
// - undefined is an invalid reflect.Value ("no value"); null is a nil interface{} (what a
//   map[string]interface{} holds for a JSON null). Pipelines turn null into undefined, as Go does.
// - strings, booleans, arrays ([]interface{}) and plain objects (map[string]interface{}) are what
//   they look like. Arrays and objects may carry another Go type in a hidden tag (`typed`), e.g.
//   []string from splitList or map[string]string from split, and may be typed nils (`nilOf`).
// - A JavaScript number that is an integer is an int64 (what Kubernetes unstructured objects and
//   Sprig's arithmetic hold); a non-integer number is a float64. A bigint is an int64 too.
// - GoFloat wraps a float64 whose value is integral (3.0), so it keeps its type.
// - GoInt wraps a Go `int` (template constants, len, range indexes, atoi, until), which Go keeps
//   apart from int64 when checking function argument types. GoUint is an unsigned integer.
// - GoTime is a time.Time; GoObject is a pointer to a Go struct with methods (*semver.Version).

/** GoFloat is a float64 with an integral value, kept apart from int64. */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** GoInt is a Go `int`, kept apart from int64. */
export class GoInt {
  constructor(readonly value: number | bigint) {}
}

/** GoUint is an unsigned Go integer (uint8 from indexing a string, uint64 from semver). */
export class GoUint {
  constructor(
    readonly value: number | bigint,
    readonly type: 'uint8' | 'uint32' | 'uint64' = 'uint64',
  ) {}
}

/** GoZone is a time zone: a name and the abbreviation and offset in force at an instant. */
export interface GoZone {
  readonly name: string;
  at(epochMs: number): { abbrev: string; offsetSec: number };
}

/** GoTime is a time.Time: an instant (milliseconds plus extra nanoseconds) shown in a zone. */
export class GoTime {
  constructor(
    readonly epochMs: number,
    readonly nanos: number,
    readonly zone: GoZone,
  ) {}
}

/** GoObject is a pointer to a Go struct: a type name, methods callable from templates and its String(). */
export class GoObject {
  constructor(
    readonly typeName: string,
    readonly methods: Record<string, GoFunc>,
    readonly string: () => string,
    readonly json?: () => unknown,
  ) {}
}

/** GoFunc is a function value that templates can call. */
export type GoFunc = (...args: unknown[]) => unknown;

/** GO_TYPE tags an array or object with a Go type other than []interface{} / map[string]interface{}. */
export const GO_TYPE: unique symbol = Symbol('goType');
/** GO_NIL tags an empty array or object as a typed nil slice or map. */
export const GO_NIL: unique symbol = Symbol('goNil');

type Tagged = { [GO_TYPE]?: string; [GO_NIL]?: boolean };

/** typed tags an array or object with its Go type, e.g. typed(['a'], '[]string'). */
export function typed<T extends object>(v: T, type: string): T {
  Object.defineProperty(v, GO_TYPE, { value: type, enumerable: false, configurable: true });
  return v;
}

/** nilOf makes a typed nil slice or map (prints as [] or map[], encodes as JSON null). */
export function nilOf(type: string): unknown[] | Record<string, unknown> {
  const v = type.startsWith('[]') ? [] : {};
  typed(v, type);
  Object.defineProperty(v, GO_NIL, { value: true, enumerable: false });
  return v;
}

/** isTypedNil tells whether a value is a nil slice or map. */
export function isTypedNil(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Tagged)[GO_NIL] === true;
}

/** goFloat makes a float64 value: a plain number when not integral, else a GoFloat. */
export function goFloat(n: number): number | GoFloat {
  return Number.isInteger(n) || Object.is(n, -0) ? new GoFloat(n) : n;
}

/** goInt makes a Go `int` value. */
export function goInt(n: number | bigint): GoInt {
  return new GoInt(n);
}

/** int64 normalizes an int64 result: a number when it is safe, else a bigint (wrapped to 64 bits). */
export function int64(n: number | bigint): number | bigint {
  if (typeof n === 'number') {
    if (Number.isSafeInteger(n)) return n;
    if (!Number.isFinite(n)) return Number.NaN;
    n = BigInt(Math.trunc(n));
  }
  const w = BigInt.asIntN(64, n);
  return w >= BigInt(Number.MIN_SAFE_INTEGER) && w <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(w) : w;
}

/** Kind is how the engine classifies a value (Go's reflect kinds, merged where the engine does not care). */
export type Kind =
  | 'nil'
  | 'bool'
  | 'int'
  | 'int64'
  | 'uint'
  | 'float64'
  | 'string'
  | 'slice'
  | 'map'
  | 'time'
  | 'func'
  | 'ptr';

/** kindOf classifies a value the way the engine treats it. */
export function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'nil';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(v) ? 'int64' : 'float64';
    case 'bigint':
      return 'int64';
    case 'function':
      return 'func';
  }
  if (v instanceof GoInt) return 'int';
  if (v instanceof GoFloat) return 'float64';
  if (v instanceof GoUint) return 'uint';
  if (v instanceof GoTime || v instanceof Date) return 'time';
  if (v instanceof GoObject) return 'ptr';
  if (Array.isArray(v)) return 'slice';
  return 'map';
}

/** typeName is the Go type name of a value, as Go's error messages and %T print it. */
export function typeName(v: unknown): string {
  const k = kindOf(v);
  switch (k) {
    case 'nil':
      return '<nil>';
    case 'slice':
      return (v as Tagged)[GO_TYPE] ?? '[]interface {}';
    case 'map':
      return (v as Tagged)[GO_TYPE] ?? 'map[string]interface {}';
    case 'time':
      return 'time.Time';
    case 'func':
      return 'func(...interface {}) (interface {}, error)';
    case 'uint':
      return (v as GoUint).type;
    case 'ptr':
      return (v as GoObject).typeName;
    default:
      return k;
  }
}

/** reflectKind is the name of a value's reflect.Kind (Sprig's kindOf). */
export function reflectKind(v: unknown): string {
  const k = kindOf(v);
  switch (k) {
    case 'nil':
      return 'invalid';
    case 'time':
      return 'struct';
    case 'uint':
      return (v as GoUint).type;
    default:
      return k;
  }
}

/** elemType is the element type of a slice or map type name. */
export function elemType(type: string): string {
  if (type.startsWith('[]')) return type.slice(2);
  const i = type.indexOf(']');
  return type.slice(i + 1);
}

/** zeroOf is the zero value of a Go type name (null for interfaces and other nilable types). */
export function zeroOf(type: string): unknown {
  switch (type) {
    case 'string':
      return '';
    case 'int':
      return new GoInt(0);
    case 'int64':
      return 0;
    case 'float64':
      return new GoFloat(0);
    case 'bool':
      return false;
  }
  if (type.startsWith('[]') || type.startsWith('map[')) return nilOf(type);
  return null;
}

/** isNumber tells whether a value is an int, int64, uint or float64. */
export function isNumber(v: unknown): boolean {
  const k = kindOf(v);
  return k === 'int' || k === 'int64' || k === 'float64' || k === 'uint';
}

/** numValue unwraps a numeric value to a JavaScript number. */
export function numValue(v: unknown): number {
  if (v instanceof GoFloat || v instanceof GoInt || v instanceof GoUint) return Number(v.value);
  if (typeof v === 'bigint') return Number(v);
  return v as number;
}

/** bigValue unwraps an integer value to a bigint. */
export function bigValue(v: unknown): bigint {
  if (v instanceof GoInt || v instanceof GoUint) return BigInt(v.value);
  if (typeof v === 'bigint') return v;
  return BigInt(Math.trunc(numValue(v)));
}

/** isMap tells whether a value is a map of any Go map type. */
export function isMap(v: unknown): v is Record<string, unknown> {
  return kindOf(v) === 'map';
}

/** truth is Go template truthiness: false, 0, nil, and empty strings/slices/maps are false. */
export function truth(v: unknown): boolean {
  switch (kindOf(v)) {
    case 'nil':
      return false;
    case 'bool':
      return v as boolean;
    case 'int':
    case 'int64':
    case 'uint':
    case 'float64':
      return numValue(v) !== 0;
    case 'string':
      return (v as string).length > 0;
    case 'slice':
      return (v as unknown[]).length > 0;
    case 'map':
      return Object.keys(v as object).length > 0;
    default:
      return true;
  }
}

/** toPlain turns engine values back into plain JSON-like JavaScript (GoFloat/GoInt unwrapped). */
export function toPlain(v: unknown): unknown {
  if (v instanceof GoFloat || v instanceof GoInt || v instanceof GoUint) return v.value;
  if (Array.isArray(v)) return v.map(toPlain);
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) out[k] = toPlain(e);
    return out;
  }
  return v;
}

/** sortedKeys returns a map's keys in Go's sorted order (byte order of UTF-8). */
export function sortedKeys(m: Record<string, unknown>): string[] {
  return Object.keys(m).sort(compareStrings);
}

/** compareStrings compares like Go's string comparison (UTF-8 byte order). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  // Without surrogates, UTF-16 code unit order is UTF-8 byte order.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x >= 0xd800 && x <= 0xdfff) break;
    if (y >= 0xd800 && y <= 0xdfff) break;
    if (x !== y) return x < y ? -1 : 1;
    if (i === n - 1) return a.length < b.length ? -1 : 1;
  }
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** hasKey tells whether a map holds a key (own properties only). */
export function hasOwn(m: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(m, k);
}

/** setKey stores m[k] = v as an own data property, so that keys like "__proto__" stay plain keys. */
export function setKey(m: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(m, k, { value: v, writable: true, enumerable: true, configurable: true });
  else m[k] = v;
}
