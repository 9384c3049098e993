// Go's fmt formatting for engine values: %v, Sprint, Sprintln and Sprintf with the common verbs.
import { timeString, toGoTime } from './gotime.js';
import { GoInt, GoObject, GoTime, GoUint, kindOf, numValue, sortedKeys, typeName } from './values.js';

/** formatFloat formats a float64 like Go's %v (strconv 'g' with the shortest digits). */
export function formatFloat(f: number, fmt: 'g' | 'e' | 'f' = 'g', prec = -1): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (fmt === 'f') {
    if (prec < 0) {
      // Shortest digits in plain notation.
      const s = shortest(f);
      return expandPlain(s.neg, s.digits, s.exp);
    }
    return toFixed(f, prec);
  }
  if (fmt === 'e') {
    const s = prec < 0 ? shortest(f) : fixedDigits(f, prec + 1);
    return expForm(s.neg, s.digits, s.exp, prec < 0 ? -1 : prec);
  }
  // 'g': exponent form when the exponent is < -4 or >= the precision (6 for the shortest form).
  const s = prec < 0 ? shortest(f) : fixedDigits(f, prec === 0 ? 1 : prec);
  const digits = s.digits.replace(/0+$/, '') || '0';
  let eprec = prec < 0 ? 6 : prec === 0 ? 1 : prec;
  if (prec >= 0 && eprec > digits.length && digits.length >= s.exp + 1) eprec = digits.length;
  if (s.exp < -4 || s.exp >= eprec) return expForm(s.neg, digits, s.exp, -1);
  return expandPlain(s.neg, digits, s.exp);
}

interface Digits {
  neg: boolean;
  digits: string;
  exp: number;
}

function shortest(f: number): Digits {
  const neg = f < 0 || Object.is(f, -0);
  const e = Math.abs(f).toExponential();
  const [m, x] = e.split('e') as [string, string];
  return { neg, digits: m.replace('.', ''), exp: Number(x) };
}

// exactDecimal is the exact decimal expansion of |f|: value = 0.digits × 10^point.
function exactDecimal(f: number): { digits: string; point: number } {
  const a = Math.abs(f);
  if (a === 0) return { digits: '0', point: 1 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const bits = view.getBigUint64(0);
  const rawExp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e2: number;
  if (rawExp === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = rawExp - 1075;
  }
  if (e2 >= 0) {
    const d = (mant << BigInt(e2)).toString();
    return { digits: d, point: d.length };
  }
  const d = (mant * 5n ** BigInt(-e2)).toString();
  return { digits: d, point: d.length + e2 };
}

// roundHalfEven keeps the first `keep` digits of an exact expansion, rounding half to even as Go does.
function roundHalfEven(digits: string, point: number, keep: number): { digits: string; point: number } {
  if (keep < 0) return { digits: '0', point: point };
  if (digits.length <= keep) return { digits: digits.padEnd(keep, '0'), point };
  const head = digits.slice(0, keep);
  const next = digits.charCodeAt(keep) - 48;
  const rest = digits.slice(keep + 1);
  let up = next > 5 || (next === 5 && (/[1-9]/.test(rest) || (keep > 0 && (head.charCodeAt(keep - 1) - 48) % 2 === 1)));
  if (next === 5 && keep === 0 && !/[1-9]/.test(rest)) up = false;
  if (!up) return { digits: head, point };
  const n = (BigInt(head === '' ? '0' : head) + 1n).toString();
  if (n.length > keep) return { digits: n.slice(0, Math.max(keep, 1)), point: point + 1 };
  return { digits: n.padStart(keep, '0'), point };
}

function fixedDigits(f: number, n: number): Digits {
  const neg = f < 0 || Object.is(f, -0);
  if (f === 0) return { neg, digits: '0'.repeat(n), exp: 0 };
  const x = exactDecimal(f);
  const lead = x.digits.length - x.digits.replace(/^0+/, '').length;
  const r = roundHalfEven(x.digits.slice(lead), x.point - lead, n);
  return { neg, digits: r.digits, exp: r.point - 1 };
}

function expForm(neg: boolean, digits: string, exp: number, prec: number): string {
  let mant = digits[0] ?? '0';
  const rest = digits.slice(1);
  if (prec < 0) {
    if (rest.length > 0) mant += '.' + rest;
  } else if (prec > 0) {
    mant += '.' + rest.padEnd(prec, '0').slice(0, prec);
  }
  const sign = exp < 0 ? '-' : '+';
  const ax = Math.abs(exp);
  return `${neg ? '-' : ''}${mant}e${sign}${ax < 10 ? '0' : ''}${ax}`;
}

function expandPlain(neg: boolean, digits: string, exp: number): string {
  let s: string;
  if (exp < 0) s = '0.' + '0'.repeat(-exp - 1) + digits;
  else if (digits.length <= exp + 1) s = digits + '0'.repeat(exp + 1 - digits.length);
  else s = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  return (neg ? '-' : '') + s;
}

function toFixed(f: number, prec: number): string {
  const neg = f < 0 || Object.is(f, -0);
  const x = exactDecimal(f);
  // Digits before the point plus `prec` after it.
  let digits = x.digits;
  let point = x.point;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  const r = roundHalfEven(digits, point, point + prec);
  let d = r.digits;
  const ip = r.point;
  if (d.length < ip + prec) d = d.padEnd(ip + prec, '0');
  const intPart = d.slice(0, ip).replace(/^0+(?=\d)/, '') || '0';
  const frac = d.slice(ip, ip + prec);
  return (neg ? '-' : '') + intPart + (prec > 0 ? '.' + frac : '');
}

/** quoteGo quotes a string like Go's strconv.Quote. */
export function quoteGo(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c === 0xfffd && ch !== '\ufffd') out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

/** formatValue formats a value like Go's %v. `top` is false inside slices and maps. */
export function formatValue(v: unknown): string {
  switch (kindOf(v)) {
    case 'nil':
      return '<nil>';
    case 'bool':
      return v ? 'true' : 'false';
    case 'int':
    case 'int64':
    case 'uint':
      return intString(v);
    case 'float64':
      return formatFloat(numValue(v));
    case 'string':
      return v as string;
    case 'slice':
      return '[' + (v as unknown[]).map(formatValue).join(' ') + ']';
    case 'map': {
      const m = v as Record<string, unknown>;
      return 'map[' + sortedKeys(m).map((k) => `${k}:${formatValue(m[k])}`).join(' ') + ']';
    }
    case 'time':
      return timeString(toGoTime(v as GoTime | Date));
    case 'ptr':
      return (v as GoObject).string();
    case 'func':
      return '0x0';
  }
}

/** intString prints any Go integer value in decimal. */
export function intString(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof GoInt || v instanceof GoUint) return v.value.toString();
  return String(v);
}

/** sprint is Go's fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** sprintln is Go's fmt.Sprintln: spaces between all operands and a newline. */
export function sprintln(args: unknown[]): string {
  return args.map(formatValue).join(' ') + '\n';
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

function pad(s: string, spec: Spec, numeric = false): string {
  if (spec.width === undefined || s.length >= spec.width) return s;
  const n = spec.width - [...s].length;
  if (n <= 0) return s;
  if (spec.minus) return s + ' '.repeat(n);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(n) + s.slice(sign.length);
  }
  if (spec.zero && !numeric) return '0'.repeat(n) + s;
  return ' '.repeat(n) + s;
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${formatValue(v)})`;
}

function fmtInt(n: number | bigint, verb: string, spec: Spec): string {
  let b = typeof n === 'bigint' ? n : BigInt(n);
  const neg = b < 0n;
  if (neg) b = -b;
  let s: string;
  switch (verb) {
    case 'd':
    case 'v':
      s = b.toString(10);
      break;
    case 'x':
      s = b.toString(16);
      if (spec.sharp) s = '0x' + s;
      break;
    case 'X':
      s = b.toString(16).toUpperCase();
      if (spec.sharp) s = '0X' + s;
      break;
    case 'o':
      s = b.toString(8);
      if (spec.sharp) s = '0' + s;
      break;
    case 'b':
      s = b.toString(2);
      break;
    case 'c':
      return pad(String.fromCodePoint(Number(b)), spec);
    case 'q':
      return pad("'" + String.fromCodePoint(Number(b)) + "'", spec);
    default:
      return '';
  }
  if (spec.prec !== undefined) s = s.padStart(spec.prec, '0');
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return pad(sign + s, { ...spec, zero: spec.zero && spec.prec === undefined && !spec.minus }, true);
}

function fmtFloatVerb(f: number, verb: string, spec: Spec): string {
  let s: string;
  switch (verb) {
    case 'v':
    case 'g':
      s = formatFloat(f, 'g', spec.prec ?? -1);
      break;
    case 'G':
      s = formatFloat(f, 'g', spec.prec ?? -1).toUpperCase();
      break;
    case 'e':
      s = formatFloat(f, 'e', spec.prec ?? 6);
      break;
    case 'E':
      s = formatFloat(f, 'e', spec.prec ?? 6).toUpperCase();
      break;
    case 'f':
    case 'F':
      s = formatFloat(f, 'f', spec.prec ?? 6);
      break;
    default:
      return '';
  }
  if (spec.plus && !s.startsWith('-') && !s.startsWith('+')) s = '+' + s;
  else if (spec.space && !s.startsWith('-')) s = ' ' + s;
  if (s === '+Inf' && !spec.plus) s = 'Inf';
  return pad(s, { ...spec, zero: spec.zero && Number.isFinite(f) && !spec.minus }, true);
}

function fmtString(s: string, verb: string, spec: Spec): string {
  if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
  switch (verb) {
    case 'v':
    case 's':
      return pad(s, spec);
    case 'q':
      return pad(quoteGo(s), spec);
    case 'x':
    case 'X': {
      let h = Buffer.from(s, 'utf8').toString('hex');
      if (verb === 'X') h = h.toUpperCase();
      return pad(h, spec);
    }
    default:
      return '';
  }
}

function fmtArg(v: unknown, verb: string, spec: Spec, depth = 0): string {
  const k = kindOf(v);
  switch (k) {
    case 'nil':
      if (depth > 0 || verb === 'v') return pad('<nil>', spec);
      return pad(`%!${verb}(<nil>)`, spec);
    case 'bool':
      if (verb === 'v' || verb === 't') return pad(v ? 'true' : 'false', spec);
      return badVerb(verb, v);
    case 'int':
    case 'int64':
    case 'uint': {
      if (verb === 'U') {
        const n = BigInt(intString(v));
        return pad('U+' + (n < 0n ? '-' + (-n).toString(16) : n.toString(16)).toUpperCase().padStart(4, '0'), spec);
      }
      const out = fmtInt(BigInt(intString(v)), verb, spec);
      if (out === '' || verb === 's' || verb === 't') return badVerb(verb, v);
      return out;
    }
    case 'float64': {
      const out = fmtFloatVerb(numValue(v), verb, spec);
      return out === '' ? badVerb(verb, v) : out;
    }
    case 'string': {
      const out = fmtString(v as string, verb, spec);
      return out === '' ? badVerb(verb, v) : out;
    }
    case 'slice': {
      const items = (v as unknown[]).map((e) => fmtArg(e, verb, spec, depth + 1));
      return '[' + items.join(' ') + ']';
    }
    case 'map': {
      const m = v as Record<string, unknown>;
      const items = sortedKeys(m).map((key) => `${fmtArg(key, verb, spec, depth + 1)}:${fmtArg(m[key], verb, spec, depth + 1)}`);
      return 'map[' + items.join(' ') + ']';
    }
    default:
      if (verb === 'v' || verb === 's') return pad(formatValue(v), spec);
      return badVerb(verb, v);
  }
}

/** sprintf is Go's fmt.Sprintf for the flags, widths, precisions and verbs templates use. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    i++;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === '#') spec.sharp = true;
      else if (f === ' ') spec.space = true;
      else if (f === '0') spec.zero = !spec.minus;
      else break;
    }
    const num = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return kindOf(a) === 'int' || kindOf(a) === 'int64' ? numValue(a) : undefined;
      }
      let s = '';
      while (i < format.length && format[i]! >= '0' && format[i]! <= '9') s += format[i++];
      return s === '' ? undefined : Number(s);
    };
    spec.width = num();
    if (spec.width !== undefined && spec.width < 0) {
      spec.minus = true;
      spec.width = -spec.width;
    }
    if (format[i] === '.') {
      i++;
      spec.prec = num() ?? 0;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = [...format.slice(i)][0]!;
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[argi++];
    if (verb === 'T') {
      out += pad(a === null || a === undefined ? '<nil>' : typeName(a), spec);
      continue;
    }
    if (!'vdsqxXfFeEgGtcobU'.includes(verb)) {
      out += badVerb(verb, a);
      continue;
    }
    out += fmtArg(a, verb, spec);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => (a == null ? '<nil>' : `${typeName(a)}=${formatValue(a)}`)).join(', ') + ')';
  }
  return out;
}

