// Function values for templates: Go signatures attached to JavaScript functions, so that the engine
// checks and converts arguments the way text/template does through reflection.
import { GoFloat, GoFunc, GoInt, GoUint, goFloat, int64, nilOf, typed } from './values.js';

/**
 * GoType names a Go type as text/template's reflection sees it. 'reflect.Value' receives the raw
 * engine value (undefined for an invalid value), as the builtins do.
 */
export type GoType =
  | 'interface {}'
  | 'reflect.Value'
  | 'string'
  | 'bool'
  | 'int'
  | 'int64'
  | 'uint32'
  | 'float64'
  | 'time.Time'
  | '[]interface {}'
  | '[]string'
  | '[]int'
  | '[][]interface {}'
  | 'map[string]interface {}'
  | 'map[string]string'
  | '*semver.Version';

/** GoSignature is a function's parameter types (the last one repeated when variadic) and result type. */
export interface GoSignature {
  in: GoType[];
  variadic?: boolean;
  out: GoType;
}

/** GO_SIGNATURE is the property under which a function carries its Go signature. */
export const GO_SIGNATURE: unique symbol = Symbol('goSignature');

/** DEFAULT_SIGNATURE is assumed for plain functions: func(...interface{}) interface{}. */
export const DEFAULT_SIGNATURE: GoSignature = { in: ['interface {}'], variadic: true, out: 'interface {}' };

/**
 * GoError is an error a Go function returns (or panics with); templates report it as
 * `error calling NAME: MESSAGE`.
 */
export class GoError extends Error {}

/** goFunc attaches a Go signature to an implementation; arguments arrive converted (see toCallArg). */
export function goFunc(sig: GoSignature, fn: (...args: never[]) => unknown): GoFunc {
  const f = fn as unknown as GoFunc & { [GO_SIGNATURE]?: GoSignature };
  f[GO_SIGNATURE] = sig;
  return f;
}

/** signatureOf returns a function's Go signature, or the default for plain functions. */
export function signatureOf(fn: GoFunc): GoSignature {
  return (fn as { [GO_SIGNATURE]?: GoSignature })[GO_SIGNATURE] ?? DEFAULT_SIGNATURE;
}

/** paramType is the type of argument i under a signature (variadic tail included). */
export function paramType(sig: GoSignature, i: number): GoType {
  if (sig.variadic && i >= sig.in.length - 1) return sig.in[sig.in.length - 1]!;
  return sig.in[i]!;
}

/**
 * toCallArg converts an already type-checked engine value for the implementation: numbers of
 * int/int64/float64/uint32 parameters arrive as JavaScript numbers, everything else unchanged.
 */
export function toCallArg(v: unknown, t: GoType): unknown {
  switch (t) {
    case 'int':
    case 'int64':
    case 'uint32':
    case 'float64':
      if (v instanceof GoInt || v instanceof GoFloat || v instanceof GoUint) return Number(v.value);
      if (typeof v === 'bigint') return Number(v);
      return v;
    case 'interface {}':
      return v === undefined ? null : v;
    default:
      return v;
  }
}

/** fromResult types an implementation's JavaScript result by the signature's result type. */
export function fromResult(v: unknown, t: GoType): unknown {
  switch (t) {
    case 'int':
      return v instanceof GoInt ? v : new GoInt(typeof v === 'bigint' ? v : Math.trunc(v as number));
    case 'int64':
      return typeof v === 'number' || typeof v === 'bigint' ? int64(v) : v;
    case 'float64':
      return typeof v === 'number' ? goFloat(v) : v;
    case '[]string':
    case '[]int':
    case '[][]interface {}':
    case 'map[string]string':
      if (v === null || v === undefined) return nilOf(t);
      if (t === '[]int') return typed((v as unknown[]).map((n) => (n instanceof GoInt ? n : new GoInt(n as number))), t);
      return typed(v as object, t);
    case '[]interface {}':
    case 'map[string]interface {}':
      return v === null || v === undefined ? nilOf(t) : v;
    case 'interface {}':
      return v === undefined ? null : v;
    default:
      return v;
  }
}
