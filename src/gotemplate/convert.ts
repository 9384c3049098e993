// Conversion of plain JavaScript data into the engine's Go value model.
import { GoFloat, GoInt, GoObject, GoTime, GoUint, setKey } from './values.js';
import { UTC } from './gotime.js';

const INT64_LIMIT = 2 ** 63;

/**
 * toGoValue converts JS data (as parsed from YAML or JSON) into Go-typed data, as Kubernetes
 * unstructured objects hold it: integral numbers become int64, other numbers float64, bigints int64,
 * Dates time.Time (UTC), null and undefined nil. Arrays and objects are copied
 * ([]interface{} / map[string]interface{}); Maps with string keys become maps too.
 *
 * JavaScript cannot tell 1.0 from 1: wrap such values in GoFloat to keep them float64 (the YAML or
 * JSON source said "1.0"), or use goValueFromYaml, which keeps the distinction.
 */
export function toGoValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'number':
      if (Number.isInteger(v) && Math.abs(v) < INT64_LIMIT && !Object.is(v, -0)) return v;
      return Number.isInteger(v) || Object.is(v, -0) ? new GoFloat(v) : v;
    case 'bigint':
      return v >= -(2n ** 63n) && v < 2n ** 63n ? v : new GoFloat(Number(v));
    case 'string':
    case 'boolean':
    case 'function':
      return v;
    case 'symbol':
      return String(v);
  }
  if (v instanceof GoFloat || v instanceof GoInt || v instanceof GoUint || v instanceof GoTime || v instanceof GoObject) return v;
  if (v instanceof Date) return new GoTime(v.getTime(), 0, UTC);
  if (Array.isArray(v)) return v.map(toGoValue);
  const out: Record<string, unknown> = {};
  if (v instanceof Map) {
    for (const [k, e] of v) setKey(out, String(k), toGoValue(e));
    return out;
  }
  for (const [k, e] of Object.entries(v as object)) setKey(out, k, toGoValue(e));
  return out;
}
