// Plain YAML scalars as Kubernetes reads them: every scalar of a generated corpus goes through
// sigs.k8s.io/yaml (go-yaml v2 and its JSON conversion, the Go oracle) and through our loader, and
// both must give the same JSON value, or both refuse it.
import { spawnSync } from 'node:child_process';
import { expect, inject, it } from 'vitest';
import { parseObjects, type LoadError } from '../src/source/kube.js';

// corpus builds plain scalars of every form go-yaml v2 resolves, and near-misses of each.
function corpus(): string[] {
  const out = new Set<string>();
  const signs = ['', '+', '-'];
  const ints = ['0', '1', '7', '8', '9', '10', '010', '007', '08', '09', '0644', '0777', '1_000', '1__0', '_1', '1_', '0_7',
    '0x1F', '0X1f', '0xff_ff', '0x', '0xg', '0o17', '0O17', '0o', '0o8', '0o_7', '0b101', '0B11', '0b', '0b2', '0b1_0',
    '9223372036854775807', '9223372036854775808', '18446744073709551615', '18446744073709551616', '99999999999999999999',
    '2147483647', '4294967296', '00', '0_', '1e', '1e+', '12abc', '1,000', '1 000'];
  for (const s of signs) for (const i of ints) out.add(s + i);
  // Near-misses: the same digits with a fraction, an exponent or a stray letter after them.
  for (const i of ints) for (const t of ['.0', 'e1', 'E-1', 'x']) out.add(i + t);
  const floats = ['1.5', '1.', '.5', '0.5', '1.5e3', '1.5E3', '1e5', '1E5', '1e+5', '1e-5', '1.e5', '.5e5', '.5E-5', '1.5e', 'e0', 'E5',
    'e+5', '.e5', '.E5', '.', '..', '1..2', '1.2.3', '1_000.5', '1.0_0', '1e1_0', '6.8523015e+5', '685.230_15e+03', '685_230.15',
    '0.', '00.5', '0e0', '1e400', '1e-400', '4.9e-324', '1.7976931348623157e308', '0x1p-2', '0x1.8p1', '1p5', 'Infinity', 'inf', 'NaN', 'nan', 'infinity'];
  for (const s of signs) for (const f of floats) out.add(s + f);
  for (const s of signs) for (const w of ['inf', 'Inf', 'INF', 'iNf', 'nan', 'NaN', 'NAN', 'Nan', 'nAn', 'infinity']) out.add(`${s}.${w}`);
  for (const w of ['y', 'Y', 'yes', 'Yes', 'YES', 'yEs', 'n', 'N', 'no', 'No', 'NO', 'nO', 'true', 'True', 'TRUE', 'tRue', 'false', 'False',
    'FALSE', 'fAlse', 'on', 'On', 'ON', 'oN', 'off', 'Off', 'OFF', 'oFF', 't', 'f', 'T', 'F', 'yes!', 'trueish', 'onn', 'of', 'nope', 'Nope'])
    out.add(w);
  for (const w of ['~', 'null', 'Null', 'NULL', 'nULL', 'nil', 'None', '~~', '<<']) out.add(w);
  for (const w of ['2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '2001-12-15T02:59:43.1Z', '2002-12-14',
    '2001-1-1', '2001-12-14T21:59:43', '2001-12-14 21:59:43', '2001-12-14T21:59:43Z', '2001-13-14', '2001-12-32', '20011214', '2001-12',
    '1:20', '190:20:30', '-1:20', '+1:20', '1:20.5', '1:2:3:4', '12:30', '00:00', '1:60', ':20', '1:', 'a:b'])
    out.add(w);
  for (const w of ['a', 'abc', 'e', 'E', 'x', '0a', 'a0', 'e00', 'E10', 'e-1', 'ee', '1ee1', '1e1e1', 'yess', 'n0', 'o', 'O',
    '.a', '.1a', '.1.', '+', '-.', '+.', '-e1', '+E1', '+-1', '--1', '1-', '0x-1', '-0x1', '-0o7', '-0b1', '+0b1', '0b-1',
    '1_2_3', '0_x1', '0x_1', '1e_1', '1_e1', '_', '__', '0.0', '-0', '+0', '-0.0', '007.5', '08.5', '09e1', '0e', '0x1.', 'v1', 'v1.2.3', '1.2.3-rc.1', '1.2.3+build'])
    out.add(w);
  return [...out];
}

interface GoResult {
  json?: string;
  error?: string;
}

function runGo(bin: string, scalars: string[]): GoResult[] {
  const r = spawnSync(bin, [], { input: JSON.stringify(scalars), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`YAML scalar oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as GoResult[];
}

function ours(scalar: string): { value?: unknown; error?: string } {
  const errors: LoadError[] = [];
  const objs = parseObjects(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nv: ${scalar}\n`, 'x.yaml', errors);
  if (errors.length > 0) return { error: errors.map((e) => e.message).join('; ') };
  return { value: (objs[0] as unknown as { v: unknown }).v };
}

it('plain scalars load as sigs.k8s.io/yaml reads them, value and type', () => {
  const oracle = inject('yamlScalarOracle');
  if (!oracle.path) throw new Error(oracle.error);
  const scalars = corpus();
  expect(scalars.length).toBeGreaterThanOrEqual(500);
  const want = runGo(oracle.path, scalars);
  const diffs: string[] = [];
  scalars.forEach((s, i) => {
    const go = want[i]!;
    const ts = ours(s);
    if (go.error !== undefined || ts.error !== undefined) {
      if (go.error === undefined || ts.error === undefined) diffs.push(`${JSON.stringify(s)}: go ${go.error ?? go.json}, ours ${ts.error ?? JSON.stringify(ts.value)}`);
      return;
    }
    const g = (JSON.parse(go.json!) as { v: unknown }).v;
    if (typeof g !== typeof ts.value || !Object.is(g, ts.value)) {
      diffs.push(`${JSON.stringify(s)}: go ${typeof g} ${JSON.stringify(g)}, ours ${typeof ts.value} ${JSON.stringify(ts.value)}`);
    }
  });
  expect(diffs).toEqual([]);
});
