// Go strconv semantics the template engine and Sprig rely on: ParseInt/ParseUint (with base 0
// prefixes and underscores), ParseFloat (Go float syntax) and Unquote/UnquoteChar.

/** NumError is a failed strconv parse: 'syntax' for bad input, 'range' for out-of-range values. */
export type NumError = 'syntax' | 'range';

/** ParseResult is a parsed value, with err set when Go's strconv would return an error. */
export type ParseResult<T> = { value: T; err?: undefined } | { value: T; err: NumError };

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

function lower(c: string): string {
  return c.toLowerCase();
}

/** underscoreOK reports whether underscores in s sit between digits, as Go number syntax requires. */
export function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(lower(s[1]!))) {
    i = 2;
    saw = '0';
    hex = lower(s[1]!) === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** parseUint is Go's strconv.ParseUint(s, base, bitSize). */
export function parseUint(s0: string, base: number, bitSize = 64): ParseResult<bigint> {
  if (s0 === '') return { value: 0n, err: 'syntax' };
  const base0 = base === 0;
  let s = s0;
  if (base === 0) {
    base = 10;
    if (s[0] === '0') {
      if (s.length >= 3 && lower(s[1]!) === 'b') {
        base = 2;
        s = s.slice(2);
      } else if (s.length >= 3 && lower(s[1]!) === 'o') {
        base = 8;
        s = s.slice(2);
      } else if (s.length >= 3 && lower(s[1]!) === 'x') {
        base = 16;
        s = s.slice(2);
      } else {
        base = 8;
        s = s.slice(1);
      }
    }
  } else if (base < 2 || base > 36) {
    return { value: 0n, err: 'syntax' };
  }
  const max = (1n << BigInt(bitSize)) - 1n;
  let n = 0n;
  let underscores = false;
  const b = BigInt(base);
  for (const c of s) {
    let d: number;
    if (c === '_' && base0) {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') d = c.charCodeAt(0) - 48;
    else if (lower(c) >= 'a' && lower(c) <= 'z') d = lower(c).charCodeAt(0) - 97 + 10;
    else return { value: 0n, err: 'syntax' };
    if (d >= base) return { value: 0n, err: 'syntax' };
    n = n * b + BigInt(d);
    if (n > max) {
      // Keep scanning for syntax errors, as Go reports those first only before overflow; Go returns range here.
      return { value: max, err: 'range' };
    }
  }
  if (underscores && !underscoreOK(s0)) return { value: 0n, err: 'syntax' };
  return { value: n };
}

/** parseInt is Go's strconv.ParseInt(s, base, bitSize). */
export function parseInt64(s0: string, base: number, bitSize = 64): ParseResult<bigint> {
  if (s0 === '') return { value: 0n, err: 'syntax' };
  let s = s0;
  let neg = false;
  if (s[0] === '+') s = s.slice(1);
  else if (s[0] === '-') {
    neg = true;
    s = s.slice(1);
  }
  const u = parseUint(s, base, bitSize);
  if (u.err === 'syntax') return { value: 0n, err: 'syntax' };
  const cutoff = 1n << BigInt(bitSize - 1);
  if (u.err === 'range') return { value: neg ? -cutoff : cutoff - 1n, err: 'range' };
  if (!neg && u.value >= cutoff) return { value: cutoff - 1n, err: 'range' };
  if (neg && u.value > cutoff) return { value: -cutoff, err: 'range' };
  return { value: neg ? -u.value : u.value };
}

const DEC_FLOAT = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9_]+)$/;
const SPECIAL = /^([+-]?)(inf|infinity)$/i;

/** parseFloat is Go's strconv.ParseFloat(s, 64): decimal and hex syntax, underscores, inf and nan. */
export function parseFloat64(s: string): ParseResult<number> {
  const sp = SPECIAL.exec(s);
  if (sp) return { value: sp[1] === '-' ? -Infinity : Infinity };
  if (/^nan$/i.test(s)) return { value: NaN };
  if (s.includes('_') && !underscoreOK(s)) return { value: 0, err: 'syntax' };
  let v: number;
  const hx = HEX_FLOAT.exec(s);
  if (hx) {
    const intPart = hx[2]!.replace(/_/g, '');
    const frac = (hx[3] ?? '').replace(/_/g, '');
    if (intPart + frac === '') return { value: 0, err: 'syntax' };
    const mant = BigInt('0x' + (intPart + frac || '0'));
    const exp = Number(hx[4]!.replace(/_/g, '')) - 4 * frac.length;
    v = Number(mant) * Math.pow(2, exp);
    if (!Number.isFinite(v) && mant !== 0n) v = Number(mant) * Math.pow(2, exp / 2) * Math.pow(2, exp / 2);
    if (hx[1] === '-') v = -v;
  } else if (DEC_FLOAT.test(s) && /[0-9]/.test(s.replace(/[eE].*$/, ''))) {
    v = Number(s.replace(/_/g, ''));
  } else {
    return { value: 0, err: 'syntax' };
  }
  if (!Number.isFinite(v)) return { value: v, err: 'range' };
  return { value: v };
}

function isValidRune(r: number): boolean {
  return (r >= 0 && r < 0xd800) || (r > 0xdfff && r <= 0x10ffff);
}

/** unquoteChar decodes the first character or escape of s (Go's strconv.UnquoteChar). */
export function unquoteChar(
  s: string,
  quote: string,
): { bytes?: number[]; rune?: number; tail: string } | undefined {
  const c = s[0];
  if (c === undefined) return undefined;
  if (c === quote && (quote === "'" || quote === '"')) return undefined;
  const cp = s.codePointAt(0)!;
  if (c !== '\\') return { rune: cp, tail: s.slice(cp > 0xffff ? 2 : 1) };
  if (s.length <= 1) return undefined;
  const e = s[1]!;
  let rest = s.slice(2);
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
  if (e in simple) return { rune: simple[e]!, tail: rest };
  switch (e) {
    case 'x':
    case 'u':
    case 'U': {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      if (rest.length < n) return undefined;
      const hex = rest.slice(0, n);
      if (!/^[0-9a-fA-F]+$/.test(hex)) return undefined;
      rest = rest.slice(n);
      const v = parseInt(hex, 16);
      if (e === 'x') return { bytes: [v], tail: rest };
      if (!isValidRune(v)) return undefined;
      return { rune: v, tail: rest };
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
      const oct = e + rest.slice(0, 2);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      const v = parseInt(oct, 8);
      if (v > 255) return undefined;
      return { bytes: [v], tail: rest.slice(2) };
    }
    case "'":
    case '"':
      if (e !== quote) return undefined;
      return { rune: e.charCodeAt(0), tail: rest };
  }
  return undefined;
}

function runeBytes(r: number): number[] {
  return [...Buffer.from(String.fromCodePoint(r), 'utf8')];
}

/** unquote is Go's strconv.Unquote for "…", `…` and '…' literals; undefined means invalid syntax. */
export function unquote(s: string): string | undefined {
  if (s.length < 2) return undefined;
  const quote = s[0]!;
  if (quote !== s[s.length - 1]) return undefined;
  let body = s.slice(1, -1);
  if (quote === '`') {
    if (body.includes('`')) return undefined;
    return body.includes('\r') ? body.replace(/\r/g, '') : body;
  }
  if (quote !== '"' && quote !== "'") return undefined;
  if (body.includes('\n')) return undefined;
  const out: number[] = [];
  let count = 0;
  while (body.length > 0) {
    const r = unquoteChar(body, quote);
    if (!r) return undefined;
    body = r.tail;
    out.push(...(r.bytes ?? runeBytes(r.rune!)));
    count++;
    if (quote === "'" && count > 1) return undefined;
  }
  if (quote === "'" && count !== 1) return undefined;
  return Buffer.from(out).toString('utf8');
}

export { INT64_MAX, INT64_MIN, UINT64_MAX };
