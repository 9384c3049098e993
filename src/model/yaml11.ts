// YAML as Kubernetes and Sveltos read it: go-yaml v2 (YAML 1.1) behind sigs.k8s.io/yaml.
// The `yaml` package's 1.1 schema is close but not the same (its float pattern takes `e0` and `.e5`
// as NaN, it has base-60 numbers and timestamps, no `0o17`, no underscores anywhere). So plain
// scalars are resolved here exactly as go-yaml v2's resolve() does (resolve.go): a look-up table
// for bools, nulls and the .inf/.nan spellings, then Go's strconv.ParseInt/ParseUint (base 0, after
// dropping every `_`), then a YAML-style float, then its `0b` fallback; all else is a string.
// Timestamps stay strings (go-yaml leaves them so when decoding into interface{}).
import type { ScalarTag, Tags } from 'yaml';

/** GoScalar is what go-yaml v2 resolves a plain scalar to. */
export type GoScalar =
  | { tag: 'null'; value: null }
  | { tag: 'bool'; value: boolean }
  | { tag: 'int'; value: bigint }
  | { tag: 'float'; value: number }
  | { tag: 'str'; value: string };

const MAP = new Map<string, GoScalar>();
for (const [value, words] of [
  [true, ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']],
  [false, ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']],
] as const) {
  for (const w of words) MAP.set(w, { tag: 'bool', value });
}
for (const w of ['', '~', 'null', 'Null', 'NULL']) MAP.set(w, { tag: 'null', value: null });
for (const w of ['.nan', '.NaN', '.NAN']) MAP.set(w, { tag: 'float', value: NaN });
for (const w of ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']) MAP.set(w, { tag: 'float', value: Infinity });
for (const w of ['-.inf', '-.Inf', '-.INF']) MAP.set(w, { tag: 'float', value: -Infinity });

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

// parseUint is Go's strconv.ParseUint(s, base, 64) (no sign); undefined on any error.
function parseUint(s: string, base: number): bigint | undefined {
  if (s === '') return undefined;
  if (base === 0) {
    base = 10;
    if (s[0] === '0') {
      const p = s.length >= 3 ? s[1]!.toLowerCase() : '';
      if (p === 'b' || p === 'o' || p === 'x') {
        base = p === 'b' ? 2 : p === 'o' ? 8 : 16;
        s = s.slice(2);
      } else {
        base = 8;
        s = s.slice(1);
      }
    }
  }
  let n = 0n;
  const b = BigInt(base);
  for (const c of s) {
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) return undefined;
    n = n * b + BigInt(d);
    if (n > UINT64_MAX) return undefined;
  }
  return n;
}

// parseInt64 is Go's strconv.ParseInt(s, base, 64); undefined on any error.
function parseInt64(s: string, base: number): bigint | undefined {
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  const u = parseUint(s, base);
  if (u === undefined) return undefined;
  if (neg ? u > INT64_MAX + 1n : u > INT64_MAX) return undefined;
  return neg ? -u : u;
}

/** resolveGoScalar resolves an untagged plain scalar as go-yaml v2 does. */
export function resolveGoScalar(s: string): GoScalar {
  const known = MAP.get(s);
  if (known) return known;
  const c = s[0] ?? '';
  if (c === '.') {
    const f = Number(s);
    if (DOT_FLOAT.test(s) && Number.isFinite(f)) return { tag: 'float', value: f };
  } else if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
    const plain = s.replace(/_/g, '');
    const i = parseInt64(plain, 0) ?? parseUint(plain, 0);
    if (i !== undefined) return { tag: 'int', value: i };
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = Number(plain);
      // Go's ParseFloat refuses a value beyond the float64 range (and go-yaml then keeps the text).
      if (Number.isFinite(f)) return { tag: 'float', value: f };
    }
    if (plain.startsWith('0b')) {
      const b = parseInt64(plain.slice(2), 2) ?? parseUint(plain.slice(2), 2);
      if (b !== undefined) return { tag: 'int', value: b };
    } else if (plain.startsWith('-0b')) {
      const b = parseInt64(`-${plain.slice(3)}`, 2);
      if (b !== undefined) return { tag: 'int', value: b };
    }
  }
  return { tag: 'str', value: s };
}

// A test that asks resolveGoScalar: the `yaml` package only calls `.test(value)` on it.
class GoTest extends RegExp {
  constructor(private readonly want: GoScalar['tag']) {
    super('');
  }
  override test(s: string): boolean {
    return resolveGoScalar(s).tag === this.want;
  }
}

function goValue(s: string): unknown {
  const r = resolveGoScalar(s);
  return r.tag === 'int' ? Number(r.value) : r.value;
}

const RESOLVED = new Set(['tag:yaml.org,2002:null', 'tag:yaml.org,2002:bool', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float', 'tag:yaml.org,2002:timestamp']);

/** goYAMLTags replaces the YAML 1.1 scalar tags with go-yaml v2's resolution rules. */
export function goYAMLTags(tags: Tags): Tags {
  const kept: Tags = [];
  const byTag = new Map<string, ScalarTag>();
  for (const t of tags) {
    if (typeof t === 'object' && RESOLVED.has(t.tag)) {
      // The first (plain) tag of each kind keeps stringifying as before.
      if (!byTag.has(t.tag) && !(t as ScalarTag).format) byTag.set(t.tag, t as ScalarTag);
      continue;
    }
    kept.push(t);
  }
  const go = (tag: string, kind: GoScalar['tag'], identify: (v: unknown) => boolean): ScalarTag => ({
    ...byTag.get(tag),
    tag,
    identify,
    default: true,
    format: undefined,
    test: new GoTest(kind),
    resolve: goValue,
  });
  return [
    ...kept,
    go('tag:yaml.org,2002:null', 'null', (v) => v === null || v === undefined),
    go('tag:yaml.org,2002:bool', 'bool', (v) => typeof v === 'boolean'),
    go('tag:yaml.org,2002:int', 'int', (v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))),
    go('tag:yaml.org,2002:float', 'float', (v) => typeof v === 'number'),
  ];
}
