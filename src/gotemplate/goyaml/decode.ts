// YAML input like sigs.k8s.io/yaml.Unmarshal into map[string]interface{} or []interface{}:
// YAML 1.1 scalars as yaml.v2 types them, keys turned into strings, then a JSON round trip that
// makes every number a float64. Parsing itself uses the `yaml` package.
import { Alias, Document, isAlias, isMap, isScalar, isSeq, parseAllDocuments, Scalar } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { formatFloat } from '../fmt.js';
import { GoError } from '../funcs.js';
import { GoFloat, goFloat, setKey } from '../values.js';
import { resolvePlain } from './resolve.js';

/** YamlError carries sigs.k8s.io/yaml's error text. */
export class YamlError extends GoError {}

interface Ctx {
  doc: Document;
  depth: number;
  nodes: number;
}

const MAX_ALIAS_DEPTH = 100;
// Aliases can make a small document expand exponentially; yaml.v2 refuses such documents too.
const MAX_NODES = 1_000_000;

// A decoded YAML value before the JSON round trip: ints are bigints, floats numbers.
type Decoded = null | boolean | string | bigint | number | Decoded[] | Map<string, Decoded>;

function scalarValue(s: Scalar): Decoded {
  const tag = s.tag;
  const src = typeof s.source === 'string' ? s.source : String(s.value ?? '');
  if (tag === '!!binary' || tag === 'tag:yaml.org,2002:binary') return Buffer.from(src.replace(/\s+/g, ''), 'base64').toString('latin1');
  if (tag && tag !== '!' && !/^(tag:yaml\.org,2002:|!!)(int|float|bool|null|str)$/.test(tag)) return src;
  if (/(str)$/.test(tag ?? '')) return src;
  if (s.type === 'PLAIN' || (tag && /(int|float|bool|null)$/.test(tag))) {
    const r = resolvePlain(src);
    switch (r.tag) {
      case 'bool':
        return r.value as boolean;
      case 'null':
        return null;
      case 'int':
        return r.value as bigint;
      case 'float':
        return r.value as number;
      default:
        return src;
    }
  }
  return typeof s.value === 'string' ? s.value : src;
}

// float32String is strconv.FormatFloat(f, 'g', -1, 32): the shortest digits that identify the float32.
function float32String(f: number): string {
  const target = Math.fround(f);
  for (let p = 1; p <= 9; p++) {
    const s = Number(target.toPrecision(p));
    if (Math.fround(s) === target) return formatFloat(s);
  }
  return formatFloat(target);
}

function keyString(k: Decoded, v: Decoded): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'bigint') return k.toString();
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (typeof k === 'number') {
    if (Number.isNaN(k)) return '.nan';
    if (!Number.isFinite(k)) return k > 0 ? '.inf' : '-.inf';
    return float32String(k);
  }
  const key = k === null ? '<nil>' : Array.isArray(k) ? '[]interface {}{...}' : 'map[interface {}]interface {}{...}';
  const kt = k === null ? '%!s(<nil>)' : Array.isArray(k) ? '[]interface {}' : 'map[interface {}]interface {}';
  void v;
  throw new YamlError(`Unsupported map key of type: ${kt}, key: ${key}, value: ...`);
}

function convert(n: YamlNode | Alias | null | undefined, ctx: Ctx): Decoded {
  if (n === null || n === undefined) return null;
  if (++ctx.nodes > MAX_NODES) throw new YamlError('yaml: document contains excessive aliasing');
  if (isAlias(n)) {
    if (ctx.depth > MAX_ALIAS_DEPTH) throw new YamlError('yaml: document contains excessive aliasing');
    const target = n.resolve(ctx.doc);
    ctx.depth++;
    try {
      return convert(target as YamlNode, ctx);
    } finally {
      ctx.depth--;
    }
  }
  if (isScalar(n)) return scalarValue(n);
  if (isSeq(n)) return n.items.map((i) => convert(i as YamlNode, ctx));
  if (isMap(n)) {
    const m = new Map<string, Decoded>();
    for (const pair of n.items) {
      const keyNode = pair.key as YamlNode | null;
      if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.source === '<<' && !keyNode.tag) {
        const v = convert(pair.value as YamlNode, ctx);
        const merged = Array.isArray(v) ? [...v].reverse() : [v];
        for (const part of merged) {
          if (!(part instanceof Map)) throw new YamlError('yaml: map merge requires map or sequence of maps as the value');
          for (const [k, e] of part) m.set(k, e);
        }
        continue;
      }
      const k = convert(keyNode, ctx);
      const v = convert(pair.value as YamlNode, ctx);
      m.set(keyString(k, v), v);
    }
    return m;
  }
  return null;
}

// toJsonValue performs the JSON round trip: numbers become float64, NaN and infinities fail.
function toJsonValue(d: Decoded): unknown {
  if (d === null || typeof d === 'boolean' || typeof d === 'string') return d;
  if (typeof d === 'bigint') return goFloat(Number(d));
  if (typeof d === 'number') {
    if (!Number.isFinite(d)) throw new YamlError(`json: unsupported value: ${formatFloat(d)}`);
    return goFloat(d);
  }
  if (Array.isArray(d)) return d.map(toJsonValue);
  const out: Record<string, unknown> = {};
  for (const [k, v] of d) setKey(out, k, toJsonValue(v));
  return out;
}

function kindName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || v instanceof GoFloat) return 'number';
  return 'object';
}

/** unmarshalYAML is sigs.k8s.io/yaml.Unmarshal into a map or a slice; it throws YamlError with Go's wrapping. */
export function unmarshalYAML(text: string, target: 'map' | 'slice'): unknown {
  let value: unknown;
  try {
    const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: false });
    const doc = Array.isArray(docs) ? docs[0] : undefined;
    if (doc && doc.errors.length > 0) throw new YamlError(`yaml: ${doc.errors[0]!.message.split('\n')[0]}`);
    value = doc ? toJsonValue(convert(doc.contents as YamlNode | null, { doc, depth: 0, nodes: 0 })) : null;
  } catch (e) {
    if (e instanceof YamlError) throw new YamlError(`error converting YAML to JSON: ${e.message}`);
    throw e;
  }
  if (value === null) return null;
  const kind = kindName(value);
  const want = target === 'map' ? 'object' : 'array';
  if (kind !== want) {
    const type = target === 'map' ? 'map[string]interface {}' : '[]interface {}';
    throw new YamlError(`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${kind} into Go value of type ${type}`);
  }
  return value;
}
