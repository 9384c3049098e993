// Sprig math and conversion functions (numeric.go): int64 arithmetic that wraps like Go's,
// float arithmetic through exact decimals like shopspring/decimal, ranges and conversions.
import { randomInt } from 'node:crypto';
import { formatFloat, sprint } from '../fmt.js';
import { GoError, goFunc } from '../funcs.js';
import { fields } from '../gostrings.js';
import { checkAlloc } from '../limits.js';
import { parseInt64 } from '../strconv.js';
import { GoFunc, int64 } from '../values.js';
import { toFloat64, toInt64 } from './cast.js';

const ANY = 'interface {}' as const;
const I64 = 'int64' as const;
const F64 = 'float64' as const;

const wrap = (n: bigint) => int64(BigInt.asIntN(64, n));

function divByZero(): never {
  throw new GoError('runtime error: integer divide by zero');
}

/** Dec is an exact decimal: coef × 10^exp. */
interface Dec {
  coef: bigint;
  exp: number;
}

function decFromFloat(f: number): Dec {
  if (!Number.isFinite(f)) throw new GoError(`Cannot create a Decimal from ${formatFloat(f)}`);
  const s = Math.abs(f).toExponential();
  const [m, e] = s.split('e') as [string, string];
  const digits = m.replace('.', '');
  const frac = m.includes('.') ? m.length - m.indexOf('.') - 1 : 0;
  const coef = BigInt(digits) * (f < 0 ? -1n : 1n);
  return { coef, exp: Number(e) - frac };
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const exp = Math.min(a.exp, b.exp);
  return [a.coef * 10n ** BigInt(a.exp - exp), b.coef * 10n ** BigInt(b.exp - exp), exp];
}

const DIVISION_PRECISION = 16;

function decDiv(a: Dec, b: Dec): Dec {
  if (b.coef === 0n) throw new GoError('decimal division by 0');
  // The quotient truncated to DIVISION_PRECISION fractional digits, then rounded half away from zero.
  const k = a.exp - b.exp + DIVISION_PRECISION;
  const num = k >= 0 ? a.coef * 10n ** BigInt(k) : a.coef;
  const den = k >= 0 ? b.coef : b.coef * 10n ** BigInt(-k);
  let q = num / den;
  const r = num % den;
  const abs = (x: bigint) => (x < 0n ? -x : x);
  if (2n * abs(r) >= abs(den)) q += (num < 0n) !== (den < 0n) ? -1n : 1n;
  return { coef: q, exp: -DIVISION_PRECISION };
}

function decToFloat(d: Dec): number {
  return Number(`${d.coef}e${d.exp}`);
}

function decimalOp(a: unknown, rest: unknown[], op: 'add' | 'sub' | 'mul' | 'div'): number {
  let acc = decFromFloat(toFloat64(a));
  for (const x of rest) {
    const d = decFromFloat(toFloat64(x));
    if (op === 'div') acc = decDiv(acc, d);
    else if (op === 'mul') acc = { coef: acc.coef * d.coef, exp: acc.exp + d.exp };
    else {
      const [p, q, exp] = align(acc, d);
      acc = { coef: op === 'add' ? p + q : p - q, exp };
    }
  }
  return decToFloat(acc);
}

/** untilStep is Sprig's untilStep, bounded by the allocation limit. */
export function untilStep(start: number, stop: number, step: number): number[] {
  const v: number[] = [];
  if (stop < start) {
    if (step >= 0) return v;
    checkAlloc(Math.ceil((start - stop) / -step), 'untilStep');
    for (let i = start; i > stop; i += step) v.push(i);
    return v;
  }
  if (step <= 0) return v;
  checkAlloc(Math.ceil((stop - start) / step), 'untilStep');
  for (let i = start; i < stop; i += step) v.push(i);
  return v;
}

function seq(...params: number[]): string {
  const join = (l: number[]) => fields(sprint([l.map(String).join(' ')])).join(' ');
  switch (params.length) {
    case 0:
      return '';
    case 1: {
      const end = params[0]!;
      const inc = end < 1 ? -1 : 1;
      return join(untilStep(1, end + inc, inc));
    }
    case 2: {
      const [start, end] = params as [number, number];
      const step = end < start ? -1 : 1;
      return join(untilStep(start, end + step, step));
    }
    case 3: {
      const [start, step, end] = params as [number, number, number];
      let inc = 1;
      if (end < start) {
        inc = -1;
        if (step > 0) return '';
      }
      return join(untilStep(start, end + inc, step));
    }
    default:
      return '';
  }
}

function round(a: unknown, p: number, ...rOpt: number[]): number {
  const roundOn = rOpt.length > 0 ? rOpt[0]! : 0.5;
  const val = toFloat64(a);
  const pow = Math.pow(10, p);
  const digit = pow * val;
  const frac = digit - Math.trunc(digit);
  const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return r / pow;
}

/** MATH_FUNCS are Sprig's arithmetic and numeric conversion functions. */
export const MATH_FUNCS: Record<string, GoFunc> = {
  add1: goFunc({ in: [ANY], out: I64 }, (i: unknown) => wrap(toInt64(i) + 1n)),
  add: goFunc({ in: [ANY], variadic: true, out: I64 }, (...v: unknown[]) => wrap(v.reduce<bigint>((a, b) => a + toInt64(b), 0n))),
  sub: goFunc({ in: [ANY, ANY], out: I64 }, (a: unknown, b: unknown) => wrap(toInt64(a) - toInt64(b))),
  div: goFunc({ in: [ANY, ANY], out: I64 }, (a: unknown, b: unknown) => {
    const d = toInt64(b);
    if (d === 0n) divByZero();
    return wrap(toInt64(a) / d);
  }),
  mod: goFunc({ in: [ANY, ANY], out: I64 }, (a: unknown, b: unknown) => {
    const d = toInt64(b);
    if (d === 0n) divByZero();
    return wrap(toInt64(a) % d);
  }),
  mul: goFunc({ in: [ANY, ANY], variadic: true, out: I64 }, (a: unknown, ...v: unknown[]) =>
    wrap(v.reduce<bigint>((acc, b) => BigInt.asIntN(64, acc * toInt64(b)), toInt64(a))),
  ),
  randInt: goFunc({ in: ['int', 'int'], out: 'int' }, (min: number, max: number) => {
    if (max - min <= 0) throw new GoError('invalid argument to Intn');
    return randomInt(min, max);
  }),
  add1f: goFunc({ in: [ANY], out: F64 }, (i: unknown) => decimalOp(i, [1], 'add')),
  addf: goFunc({ in: [ANY], variadic: true, out: F64 }, (...v: unknown[]) => decimalOp(0, v, 'add')),
  subf: goFunc({ in: [ANY, ANY], variadic: true, out: F64 }, (a: unknown, ...v: unknown[]) => decimalOp(a, v, 'sub')),
  divf: goFunc({ in: [ANY, ANY], variadic: true, out: F64 }, (a: unknown, ...v: unknown[]) => decimalOp(a, v, 'div')),
  mulf: goFunc({ in: [ANY, ANY], variadic: true, out: F64 }, (a: unknown, ...v: unknown[]) => decimalOp(a, v, 'mul')),
  biggest: goFunc({ in: [ANY, ANY], variadic: true, out: I64 }, (a: unknown, ...v: unknown[]) => maxInt(a, v)),
  max: goFunc({ in: [ANY, ANY], variadic: true, out: I64 }, (a: unknown, ...v: unknown[]) => maxInt(a, v)),
  min: goFunc({ in: [ANY, ANY], variadic: true, out: I64 }, (a: unknown, ...v: unknown[]) =>
    int64(v.reduce<bigint>((acc, b) => (toInt64(b) < acc ? toInt64(b) : acc), toInt64(a))),
  ),
  maxf: goFunc({ in: [ANY, ANY], variadic: true, out: F64 }, (a: unknown, ...v: unknown[]) =>
    v.reduce<number>((acc, b) => Math.max(acc, toFloat64(b)), toFloat64(a)),
  ),
  minf: goFunc({ in: [ANY, ANY], variadic: true, out: F64 }, (a: unknown, ...v: unknown[]) =>
    v.reduce<number>((acc, b) => Math.min(acc, toFloat64(b)), toFloat64(a)),
  ),
  ceil: goFunc({ in: [ANY], out: F64 }, (a: unknown) => Math.ceil(toFloat64(a))),
  floor: goFunc({ in: [ANY], out: F64 }, (a: unknown) => Math.floor(toFloat64(a))),
  round: goFunc({ in: [ANY, 'int', F64], variadic: true, out: F64 }, round),
  until: goFunc({ in: ['int'], out: '[]int' }, (n: number) => untilStep(0, n, n < 0 ? -1 : 1)),
  untilStep: goFunc({ in: ['int', 'int', 'int'], out: '[]int' }, untilStep),
  seq: goFunc({ in: ['int'], variadic: true, out: 'string' }, seq),
  toDecimal: goFunc({ in: [ANY], out: I64 }, (v: unknown) => {
    const r = parseInt64(sprint([v]), 8);
    return r.err ? 0 : int64(r.value);
  }),
  atoi: goFunc({ in: ['string'], out: 'int' }, (s: string) => {
    const r = parseInt64(s, 10);
    return r.err ? 0 : int64(r.value);
  }),
  int64: goFunc({ in: [ANY], out: I64 }, (v: unknown) => int64(toInt64(v))),
  int: goFunc({ in: [ANY], out: 'int' }, (v: unknown) => int64(toInt64(v))),
  float64: goFunc({ in: [ANY], out: F64 }, toFloat64),
};

function maxInt(a: unknown, v: unknown[]): number | bigint {
  return int64(v.reduce<bigint>((acc, b) => (toInt64(b) > acc ? toInt64(b) : acc), toInt64(a)));
}
