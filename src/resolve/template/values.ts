// Go value model for the template engine: how JSON-like JavaScript data stands for Go values.
//
// - null/undefined is a nil interface{}; strings, booleans, arrays ([]interface{}) and plain
//   objects (map[string]interface{}) are what they look like.
// - A JavaScript number that is an integer is an int64 (what Kubernetes unstructured objects and
//   Sprig's arithmetic hold); a non-integer number is a float64.
// - GoFloat wraps a float64 whose value is integral (3.0), so it keeps its type.
// - GoInt wraps a Go `int` (template constants, len, range indexes, atoi, until), which Go keeps
//   apart from int64 when checking function argument types.
// - Date is a time.Time.

/** GoFloat is a float64 with an integral value, kept apart from int64. */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** GoInt is a Go `int`, kept apart from int64. */
export class GoInt {
  constructor(readonly value: number) {}
}

/** GoFunc is a function value that `call` can invoke. */
export type GoFunc = (...args: unknown[]) => unknown;

/** goFloat makes a float64 value: a plain number when not integral, else a GoFloat. */
export function goFloat(n: number): number | GoFloat {
  return Number.isInteger(n) ? new GoFloat(n) : n;
}

/** goInt makes a Go `int` value. */
export function goInt(n: number): GoInt {
  return new GoInt(n);
}

export type Kind = 'nil' | 'bool' | 'int' | 'int64' | 'float64' | 'string' | 'slice' | 'map' | 'time' | 'func';

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
  if (v instanceof Date) return 'time';
  if (Array.isArray(v)) return 'slice';
  return 'map';
}

/** typeName is the Go type name of a value, as Go's error messages print it. */
export function typeName(v: unknown): string {
  switch (kindOf(v)) {
    case 'nil':
      return '<nil>';
    case 'slice':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
    case 'time':
      return 'time.Time';
    case 'func':
      return 'func';
    default:
      return kindOf(v);
  }
}

/** isNumber tells whether a value is an int, int64 or float64. */
export function isNumber(v: unknown): boolean {
  const k = kindOf(v);
  return k === 'int' || k === 'int64' || k === 'float64';
}

/** numValue unwraps a numeric value to a JavaScript number. */
export function numValue(v: unknown): number {
  if (v instanceof GoFloat || v instanceof GoInt) return v.value;
  if (typeof v === 'bigint') return Number(v);
  return v as number;
}

/** isMap tells whether a value is a map[string]interface{}. */
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
  if (v instanceof GoFloat || v instanceof GoInt) return v.value;
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
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
