// Table tests against the Go oracle: each case runs through Go text/template (+ Sprig) and through
// the TypeScript engine, and both must give the same output or both fail.
import { spawnSync } from 'node:child_process';
import { expect, inject, it } from 'vitest';
import { TemplateError } from '../../src/errors.js';
import { formatFloat } from '../../src/gotemplate/fmt.js';
import {
  FuncMap,
  GoFloat,
  renderTemplate,
  sprigFuncs,
  sveltosTemplateFuncs,
  toGoValue,
} from '../../src/gotemplate/index.js';

/** OracleCase is one template run on both engines. */
export interface OracleCase {
  name: string;
  template: string;
  /** Plain data; integral numbers are int64 on both sides, GoFloat values float64. */
  data?: unknown;
  missingkey?: 'error' | 'zero' | 'default';
  /** Function set: builtins only, Sprig (default), or Sprig plus the Sveltos functions. */
  funcs?: 'none' | 'sprig' | 'sveltos';
  mgmtResources?: Record<string, unknown>;
  /** Both must fail, but the messages are known to differ. */
  errorOnly?: boolean;
  /** Random output: both outputs must match this pattern instead of each other. */
  shape?: RegExp;
}

/** OracleResult is what one engine produced for a case. */
export interface OracleResult {
  output?: string;
  error?: string;
}

// goJSON writes data so that Go decodes GoFloat values as float64 and integral numbers as int64.
function goJSON(v: unknown): string {
  if (v instanceof GoFloat) {
    const s = formatFloat(v.value);
    return /[.eE]/.test(s) ? s : s + '.0';
  }
  if (Array.isArray(v)) return '[' + v.map(goJSON).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, e]) => JSON.stringify(k) + ':' + goJSON(e)).join(',') + '}';
  }
  return v === undefined ? 'null' : JSON.stringify(v);
}

/** runOracle renders all cases with the Go oracle in one process. */
export function runOracle(cases: OracleCase[]): OracleResult[] {
  const oracle = inject('templateOracle');
  if (!oracle.path) throw new Error(oracle.error ?? 'template oracle unavailable');
  const input =
    '[' +
    cases
      .map(
        (c) =>
          `{"name":"t","template":${JSON.stringify(c.template)},"data":${goJSON(c.data ?? null)},` +
          `"missingkey":${JSON.stringify(c.missingkey ?? 'error')},"funcs":${JSON.stringify(c.funcs ?? 'sprig')},` +
          `"mgmtResources":${goJSON(c.mgmtResources ?? null)}}`,
      )
      .join(',') +
    ']';
  const res = spawnSync(oracle.path, [], { input, env: { TZ: 'UTC' }, maxBuffer: 256 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`oracle failed: ${res.stderr.toString()}`);
  return JSON.parse(res.stdout.toString()) as OracleResult[];
}

function funcsFor(c: OracleCase): FuncMap {
  switch (c.funcs ?? 'sprig') {
    case 'none':
      return {};
    case 'sprig':
      return sprigFuncs();
    case 'sveltos': {
      const res = toGoValue(c.mgmtResources ?? {}) as Record<string, Record<string, unknown>>;
      return sveltosTemplateFuncs({ mgmtResources: res });
    }
  }
}

/** runEngine renders a case with the TypeScript engine. */
export function runEngine(c: OracleCase): OracleResult {
  try {
    return { output: renderTemplate(c.template, toGoValue(c.data ?? null), { name: 't', missingKey: c.missingkey, funcs: funcsFor(c) }) };
  } catch (e) {
    if (e instanceof TemplateError) return { error: e.message };
    throw e;
  }
}

/** lazyOracle runs the oracle on first use; without it every test that asks fails (none is skipped). */
export function lazyOracle(cases: OracleCase[]): () => OracleResult[] {
  let want: OracleResult[] | undefined;
  let failure: unknown;
  return () => {
    if (!want && failure === undefined) {
      try {
        want = runOracle(cases);
      } catch (e) {
        failure = e;
      }
    }
    if (failure !== undefined) throw failure;
    return want!;
  };
}

/** oracleTable registers one test per case, comparing the engine with the Go oracle. */
export function oracleTable(cases: OracleCase[]): void {
  const want = lazyOracle(cases);
  it.each(cases.map((c, i) => ({ ...c, i })))('$name', (c) => {
    const w = want()[c.i]!;
    const got = runEngine(c);
    if (c.shape) {
      expect(w.output, `Go output (error: ${w.error})`).toMatch(c.shape);
      expect(got.output, `engine output (error: ${got.error})`).toMatch(c.shape);
    } else if (w.error !== undefined) {
      expect(got.error, `Go failed with: ${w.error}`).toBeDefined();
      if (!c.errorOnly) expect(got.error).toBe(w.error);
    } else {
      expect(JSON.stringify(got)).toBe(JSON.stringify({ output: w.output }));
    }
  });
}
