// Conversions Sprig builds on: spf13/cast's ToInt64/ToInt/ToFloat64, Sprig's strval/strslice/empty.
import { formatValue } from '../fmt.js';
import { parseFloat64, parseInt64 } from '../strconv.js';
import { GoObject, GoTime, bigValue, isTypedNil, kindOf, numValue, typed } from '../values.js';
import { timeString, toGoTime } from '../gotime.js';

const MIN_INT64 = -(1n << 63n);

// trimZeroDecimal drops a trailing ".0…" so that "1.0" casts to 1, as cast does.
function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

/** floatToInt64 is Go's int64(f) on amd64: truncation, and the minimum int64 when out of range. */
export function floatToInt64(f: number): bigint {
  if (Number.isNaN(f) || f >= 2 ** 63 || f < -(2 ** 63)) return MIN_INT64;
  return BigInt(Math.trunc(f));
}

/** castInt64 is cast.ToInt64E: undefined when the value cannot be cast. */
export function castInt64(v: unknown): bigint | undefined {
  switch (kindOf(v)) {
    case 'nil':
      return 0n;
    case 'int':
    case 'int64':
    case 'uint':
      return BigInt.asIntN(64, bigValue(v));
    case 'float64':
      return floatToInt64(numValue(v));
    case 'bool':
      return v ? 1n : 0n;
    case 'string': {
      const r = parseInt64(trimZeroDecimal(v as string), 0);
      return r.err ? undefined : r.value;
    }
  }
  return undefined;
}

/** toInt64 is cast.ToInt64 (0 when the value cannot be cast). */
export function toInt64(v: unknown): bigint {
  return castInt64(v) ?? 0n;
}

/** toFloat64 is cast.ToFloat64 (0 when the value cannot be cast). */
export function toFloat64(v: unknown): number {
  switch (kindOf(v)) {
    case 'int':
    case 'int64':
    case 'uint':
    case 'float64':
      return numValue(v);
    case 'bool':
      return v ? 1 : 0;
    case 'string': {
      const r = parseFloat64(v as string);
      return r.err ? 0 : r.value;
    }
  }
  return 0;
}

/** strval is Sprig's strval: strings as is, Stringers through String(), the rest with %v. */
export function strval(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof GoObject) return v.string();
  if (v instanceof GoTime || v instanceof Date) return timeString(toGoTime(v));
  return formatValue(v);
}

/** strslice is Sprig's strslice: a list as []string (nil elements dropped), a scalar as a one-element list. */
export function strslice(v: unknown): string[] {
  if (Array.isArray(v)) return typed(v.filter((e) => e !== null && e !== undefined).map(strval), '[]string');
  if (v === null || v === undefined) return typed([], '[]string');
  return typed([strval(v)], '[]string');
}

/** empty is Sprig's empty: zero values, empty collections and nils are empty; structs never are. */
export function empty(v: unknown): boolean {
  switch (kindOf(v)) {
    case 'nil':
      return true;
    case 'string':
      return (v as string).length === 0;
    case 'slice':
      return (v as unknown[]).length === 0;
    case 'map':
      return isTypedNil(v) || Object.keys(v as object).length === 0;
    case 'bool':
      return !v;
    case 'int':
    case 'int64':
    case 'uint':
    case 'float64':
      return numValue(v) === 0;
    default:
      return false;
  }
}
