// Functions Sveltos adds to Sprig: libsveltos lib/funcmap (YAML, JSON and TOML helpers that swallow
// errors) and the addon-controller's helpers over templateResourceRefs (getResource, copy,
// getField, setField, removeField, chainSetField, chainRemoveField).
import { GoError, goFunc } from './funcs.js';
import { marshalJSON, unmarshalJSON } from './gojson.js';
import { unmarshalYAML } from './goyaml/decode.js';
import { marshalYAML } from './goyaml/emit.js';
import { sprigFuncs } from './sprig/index.js';
import { TOML_FUNCS } from './toml/index.js';
import { GoFunc, hasOwn, isTypedNil, nilOf, setKey, typeName } from './values.js';

/**
 * SveltosTemplateContext holds the management-cluster resources (templateResourceRefs) by
 * identifier, as Go-typed values (see toGoValue). Pass the same objects as the data's
 * MgmtResources: getResource, copy, setField and removeField change them in place, as Sveltos does.
 */
export interface SveltosTemplateContext {
  mgmtResources: Record<string, Record<string, unknown>>;
}

const S = 'string' as const;
const ANY = 'interface {}' as const;
const MAP = 'map[string]interface {}' as const;

function swallow<T>(f: () => T, fallback: (e: GoError) => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GoError) return fallback(e);
    throw e;
  }
}

/** toYAML is libsveltos' toYaml: sigs.k8s.io/yaml output without the final newline, "" on error. */
export function toYAML(v: unknown): string {
  return swallow(() => marshalYAML(v).replace(/\n$/, ''), () => '');
}

// deepCopyJSON is apimachinery's runtime.DeepCopyJSONValue: JSON types only, anything else panics.
function deepCopyJSON(x: unknown): unknown {
  if (x === null || x === undefined) return null;
  const t = typeName(x);
  if (t === MAP) {
    if (isTypedNil(x)) return x;
    const c: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x as object)) setKey(c, k, deepCopyJSON(v));
    return c;
  }
  if (t === '[]interface {}') return isTypedNil(x) ? x : (x as unknown[]).map(deepCopyJSON);
  if (t === 'string' || t === 'int64' || t === 'bool' || t === 'float64') return x;
  throw new GoError(`cannot deep copy ${t}`);
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && v !== undefined && typeName(v) === MAP;
}

function nestedField(obj: Record<string, unknown>, fields: string[]): { found: boolean; value?: unknown } {
  let val: unknown = obj;
  for (let i = 0; i < fields.length; i++) {
    if (val === null || val === undefined) return { found: false };
    if (!isPlainMap(val)) throw new GoError(`.${fields.slice(0, i + 1).join('.')} accessor error`);
    if (!hasOwn(val, fields[i]!)) return { found: false };
    val = val[fields[i]!];
  }
  return { found: true, value: val };
}

function setNestedField(obj: Record<string, unknown>, value: unknown, fields: string[]): boolean {
  value = deepCopyJSON(value);
  let m = obj;
  for (let i = 0; i < fields.length - 1; i++) {
    const f = fields[i]!;
    if (hasOwn(m, f)) {
      if (!isPlainMap(m[f]) || isTypedNil(m[f])) return false;
      m = m[f] as Record<string, unknown>;
    } else {
      const n: Record<string, unknown> = {};
      setKey(m, f, n);
      m = n;
    }
  }
  setKey(m, fields[fields.length - 1]!, value);
  return true;
}

function removeNestedField(obj: Record<string, unknown>, fields: string[]): void {
  let m = obj;
  for (const f of fields.slice(0, -1)) {
    const x = m[f];
    if (!isPlainMap(x) || !hasOwn(m, f)) return;
    m = x;
  }
  delete m[fields[fields.length - 1]!];
}

// resetFields drops managedFields, resourceVersion and uid in place, as Unstructured's setters do.
function resetFields(u: Record<string, unknown>): Record<string, unknown> {
  for (const f of ['managedFields', 'resourceVersion', 'uid']) removeNestedField(u, ['metadata', f]);
  return u;
}

// decodeInto builds fromYaml/fromJson (errors under "Error") and the …Array forms (the error as the only element).
function decodeInto(target: 'map' | 'slice', decode: (s: string, target: 'map' | 'slice') => unknown): GoFunc {
  if (target === 'map') {
    return goFunc({ in: [S], out: MAP }, (s: string) =>
      swallow(() => (decode(s, target) as Record<string, unknown> | null) ?? {}, (e) => ({ Error: e.message })),
    );
  }
  return goFunc({ in: [S], out: '[]interface {}' }, (s: string) => swallow(() => (decode(s, target) as unknown[] | null) ?? [], (e) => [e.message]));
}

/** sveltosFuncs returns the functions Sveltos adds on top of Sprig. */
export function sveltosFuncs(ctx: SveltosTemplateContext): Record<string, GoFunc> {
  const resource = (id: string) => (hasOwn(ctx.mgmtResources, id) ? ctx.mgmtResources[id] : undefined);
  return {
    toYaml: goFunc({ in: [ANY], out: S }, toYAML),
    fromYaml: decodeInto('map', unmarshalYAML),
    fromYamlArray: decodeInto('slice', unmarshalYAML),
    toJson: goFunc({ in: [ANY], out: S }, (v: unknown) => swallow(() => marshalJSON(v), () => '')),
    fromJson: decodeInto('map', unmarshalJSON),
    fromJsonArray: decodeInto('slice', unmarshalJSON),
    ...TOML_FUNCS,
    getResource: goFunc({ in: [S], out: MAP }, (id: string) => {
      const u = resource(id);
      return u ? resetFields(u) : nilOf(MAP);
    }),
    copy: goFunc({ in: [S], out: S }, (id: string) => {
      const u = resource(id);
      return u ? toYAML(resetFields(u)) : '';
    }),
    getField: goFunc({ in: [S, S], out: ANY }, (id: string, fields: string) => {
      const u = resource(id);
      if (!u) return '';
      return swallow(
        () => {
          const r = nestedField(u, fields.split('.'));
          return r.found ? deepCopyJSON(r.value) : '';
        },
        () => '',
      );
    }),
    removeField: goFunc({ in: [S, S], out: S }, (id: string, fields: string) => {
      const u = resource(id);
      if (!u) return '';
      removeNestedField(u, fields.split('.'));
      return toYAML(resetFields(u));
    }),
    setField: goFunc({ in: [S, S, ANY], out: S }, (id: string, fields: string, value: unknown) => {
      const u = resource(id);
      if (!u) return '';
      if (!setNestedField(u, value, fields.split('.'))) return '';
      return toYAML(resetFields(u));
    }),
    chainRemoveField: goFunc({ in: [MAP, S], out: MAP }, (u: Record<string, unknown>, fields: string) => {
      if (!isTypedNil(u)) removeNestedField(u, fields.split('.'));
      return u;
    }),
    chainSetField: goFunc({ in: [MAP, S, ANY], out: MAP }, (u: Record<string, unknown>, fields: string, value: unknown) => {
      if (isTypedNil(u)) throw new GoError('assignment to entry in nil map');
      return setNestedField(u, value, fields.split('.')) ? u : nilOf(MAP);
    }),
  };
}

/** sveltosTemplateFuncs is Sprig plus the Sveltos functions, as the addon-controller builds its FuncMap. */
export function sveltosTemplateFuncs(ctx: SveltosTemplateContext): Record<string, GoFunc> {
  return { ...sprig(), ...sveltosFuncs(ctx) };
}

// Sprig's functions hold no state, so one map serves every call (building it is not cheap).
let sprigMap: Readonly<Record<string, GoFunc>> | undefined;
function sprig(): Readonly<Record<string, GoFunc>> {
  return (sprigMap ??= Object.freeze(sprigFuncs()));
}

