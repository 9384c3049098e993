// Go's encoding/json, for the JSON values Kubernetes objects hold: the bytes Sveltos hashes
// (libsveltos `pullmode.getHash` = sha256 over json.Marshal of each object) must match to the byte.
// Kept apart from the template engine's encoder on purpose: objects here are unstructured JSON
// (every number a float64, so -0 stays -0) and Sveltos is built with Go 1.22+ (\b and \f escapes).
//
// Rules followed (Go 1.22+ encoding/json):
// - map keys are sorted by their UTF-8 bytes (Go sorts map[string] keys as byte strings);
// - strings escape `"`, `\`, control characters (\n \r \t \b \f, others as \u00xx), and, because
//   Marshal escapes HTML, `<` `>` `&` as \u003c \u003e \u0026, plus U+2028 and U+2029;
//   invalid UTF-16 (a lone surrogate) is written as \ufffd, as Go writes invalid UTF-8;
// - float64 numbers print as strconv 'f' with the shortest digits, or 'e' (exponent without
//   leading zeros) when |n| < 1e-6 or >= 1e21: exactly JavaScript's Number#toString, except -0.

import { InternalError } from '../errors.js';

/** goJSONMarshal encodes `v` as Go's json.Marshal encodes the same map[string]interface{} value. */
export function goJSONMarshal(v: unknown): string {
  const out: string[] = [];
  encode(v, out, 0);
  return out.join('');
}

const MAX_DEPTH = 10_000;

function encode(v: unknown, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new InternalError('INTERNAL', `json: value nested deeper than ${MAX_DEPTH}`);
  if (v === null || v === undefined) {
    out.push('null');
    return;
  }
  switch (typeof v) {
    case 'string':
      out.push(goJSONString(v));
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'number':
      out.push(goJSONNumber(v));
      return;
    case 'bigint':
      out.push(v.toString());
      return;
    case 'object':
      break;
    default:
      throw new InternalError('INTERNAL', `json: unsupported type ${typeof v}`);
  }
  if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i > 0) out.push(',');
      encode(x, out, depth + 1);
    });
    out.push(']');
    return;
  }
  const obj = v as Record<string, unknown>;
  out.push('{');
  let first = true;
  for (const k of sortKeysGo(Object.keys(obj))) {
    const x = obj[k];
    if (x === undefined) continue;
    if (!first) out.push(',');
    first = false;
    out.push(goJSONString(k), ':');
    encode(x, out, depth + 1);
  }
  out.push('}');
}

/** goJSONNumber formats a float64 as Go's encoding/json does (NaN and infinities are errors there). */
export function goJSONNumber(n: number): string {
  if (!Number.isFinite(n)) throw new InternalError('INTERNAL', `json: unsupported value: ${n}`);
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

/** compareGo orders two strings by their UTF-8 bytes, as Go compares strings. */
export function compareGo(a: string, b: string): number {
  // UTF-16 order equals code point order except that surrogates (astral characters) sort before
  // U+E000..U+FFFF; code point order equals UTF-8 byte order.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** sortKeysGo sorts map keys as Go's encoding/json does. */
export function sortKeysGo(keys: string[]): string[] {
  return keys.sort(compareGo);
}

const HEX = '0123456789abcdef';

/** goJSONString quotes `s` as Go's encoding/json does with HTML escaping on. */
export function goJSONString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20) {
      switch (c) {
        case 0x0a:
          esc = '\\n';
          break;
        case 0x0d:
          esc = '\\r';
          break;
        case 0x09:
          esc = '\\t';
          break;
        case 0x08:
          esc = '\\b';
          break;
        case 0x0c:
          esc = '\\f';
          break;
        default:
          esc = `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
      }
    } else if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x3c) esc = '\\u003c';
    else if (c === 0x3e) esc = '\\u003e';
    else if (c === 0x26) esc = '\\u0026';
    else if (c === 0x2028) esc = '\\u2028';
    else if (c === 0x2029) esc = '\\u2029';
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      esc = '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) esc = '\\ufffd';
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}
