// Profile `spec.patches` applied to policyRefs objects, as addon-controller's `applyPatches` does
// through libsveltos's `CustomPatchPostRenderer.RunUnstructured`: per object, the patches whose
// target matches; JSON6902 `remove` operations on missing paths dropped; the rest applied by
// kustomize (strategic merge or RFC 6902). An object no patch applies to is left untouched.
// Helm output is patched as Helm's post-renderer `CustomPatchPostRenderer.Run` does: see patchManifest.

import { parse } from 'yaml';
import { apiGroup, describe, isPlainObject, type Patch, type PatchSelector } from '../model/sveltos.js';
import { goYAMLTags } from '../model/yaml11.js';
import { GoRegexp } from '../gotemplate/index.js';

type Obj = Record<string, unknown>;

/** PatchFailure is a patch that fails on an object: Sveltos fails the profile's deployment. */
export class PatchFailure extends Error {
  override name = 'PatchFailure';
}

/**
 * applyPatches returns `obj` patched by every patch that applies, in order (a new object when
 * patched). Throws PatchFailure where kustomize would fail.
 */
export function applyPatches(obj: Obj, patches: Patch[]): Obj {
  const applicable: ({ kind: 'json'; ops: Obj[] } | { kind: 'smp'; body: Obj; targeted: boolean })[] = [];
  for (const [i, p] of patches.entries()) {
    if (!targetMatches(p.target, obj, i)) continue;
    if (isJSONPatch(p.patch)) {
      if (!p.target) throw new PatchFailure(`patches[${i}]: a JSON6902 patch needs a target`);
      const ops = parseOps(p.patch, i).filter((op) => !(op.op === 'remove' && typeof op.path === 'string' && op.path !== '' && !pointerExists(obj, op.path)));
      if (ops.length > 0) applicable.push({ kind: 'json', ops });
    } else {
      applicable.push({ kind: 'smp', body: parseSMP(p.patch, i), targeted: p.target !== undefined });
    }
  }
  if (applicable.length === 0) return obj;
  let out = structuredClone(obj);
  for (const [i, a] of applicable.entries()) {
    if (a.kind === 'json') out = applyJSONPatch(out, a.ops, i);
    else out = applySMP(out, a.body, a.targeted, i);
  }
  return out;
}

/**
 * patchManifest applies profile patches to a rendered Helm manifest as libsveltos's CustomPatchPostRenderer.Run
 * (Helm's post-renderer) does: one kustomize build over all the objects, each patch in order applied to every
 * object its target selects. A strategic merge patch without a target goes to the object with its own kind,
 * name and namespace, and fails when there is none; `$patch: delete` removes objects; a JSON6902 operation on
 * a path that does not exist fails (Run drops nothing, unlike RunUnstructured). Returns new objects where
 * patched; the input is not changed. Throws PatchFailure where kustomize would fail.
 */
export function patchManifest(objects: Obj[], patches: Patch[]): Obj[] {
  let out = [...objects];
  for (const [i, p] of patches.entries()) {
    if (isJSONPatch(p.patch)) {
      if (!p.target) throw new PatchFailure(`patches[${i}]: a JSON6902 patch needs a target`);
      const ops = parseOps(p.patch, i);
      out = out.map((o) => (targetMatches(p.target, o, i) ? applyJSONPatch(structuredClone(o), ops, i) : o));
      continue;
    }
    const body = parseSMP(p.patch, i);
    const remove = body.$patch === 'delete';
    if (p.target) {
      out = out.flatMap((o) => (!targetMatches(p.target, o, i) ? [o] : remove ? [] : [applySMP(structuredClone(o), body, true, i)]));
      continue;
    }
    const at = out.findIndex((o) => sameId(o, body));
    if (at < 0) {
      const meta = isPlainObject(body.metadata) ? body.metadata : {};
      throw new PatchFailure(`patches[${i}] has no target and names ${String(body.kind)} ${nsName(meta)}, which the chart does not render: kustomize finds no resource for it`);
    }
    out = remove ? out.filter((_, j) => j !== at) : out.map((o, j) => (j === at ? applySMP(structuredClone(o), body, false, i) : o));
  }
  return kustomizeOrder(out);
}

// Kinds kustomize's legacy sort puts first and last (kyaml resid/gvk.go); other kinds sit between, by GVK.
const ORDER_FIRST = ['Namespace', 'ResourceQuota', 'StorageClass', 'CustomResourceDefinition', 'ServiceAccount', 'PodSecurityPolicy', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Endpoints', 'Service', 'LimitRange', 'PriorityClass', 'PersistentVolume', 'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'CronJob', 'PodDisruptionBudget'];
const ORDER_LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];
const kindRank = (kind: string) => (ORDER_FIRST.includes(kind) ? ORDER_FIRST.indexOf(kind) - ORDER_FIRST.length : ORDER_LAST.includes(kind) ? ORDER_LAST.indexOf(kind) + 1 : 0);

/**
 * kustomizeOrder sorts objects as a kustomize build outputs them (legacy order): by kind rank, then by
 * `group_version_kind` (`~G` for the core group), then namespace (none sorts last, as `~X`), then name.
 */
export function kustomizeOrder(objects: Obj[]): Obj[] {
  const key = (o: Obj) => {
    const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
    const slash = apiVersion.indexOf('/');
    const kind = typeof o.kind === 'string' ? o.kind : '';
    const meta = isPlainObject(o.metadata) ? o.metadata : {};
    const gvk = [slash < 0 ? '~G' : apiVersion.slice(0, slash) || '~G', (slash < 0 ? apiVersion : apiVersion.slice(slash + 1)) || '~V', kind || '~K'].join('_');
    const ns = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : '~X';
    return { rank: kindRank(kind), gvk, ns, name: typeof meta.name === 'string' ? meta.name : '' };
  };
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return objects
    .map((o) => ({ o, k: key(o) }))
    .sort((a, b) => a.k.rank - b.k.rank || cmp(a.k.gvk, b.k.gvk) || cmp(a.k.ns, b.k.ns) || cmp(a.k.name, b.k.name))
    .map((x) => x.o);
}

/** isJSONPatch is libsveltos's test: the text starts with `[` or `- `. */
export function isJSONPatch(text: string): boolean {
  const t = text.trim();
  return t.startsWith('[') || t.startsWith('- ');
}

function parseYAML(text: string, what: string): unknown {
  try {
    return parse(text, { version: '1.1', customTags: goYAMLTags, maxAliasCount: 1000 });
  } catch (err) {
    throw new PatchFailure(`${what}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

function parseOps(text: string, i: number): Obj[] {
  const v = parseYAML(text, `patches[${i}]`);
  if (!Array.isArray(v) || !v.every(isPlainObject)) throw new PatchFailure(`patches[${i}]: expected a list of JSON6902 operations`);
  return v as Obj[];
}

function parseSMP(text: string, i: number): Obj {
  const v = parseYAML(text, `patches[${i}]`);
  if (!isPlainObject(v)) throw new PatchFailure(`patches[${i}]: expected a strategic merge patch (a mapping), found ${describe(v)}`);
  const meta = v.metadata;
  // libsveltos validatePatch: a strategic merge patch naming a kind needs metadata.name.
  if (typeof v.kind === 'string' && v.kind !== '' && (!isPlainObject(meta) || typeof meta.name !== 'string' || meta.name === '')) {
    throw new PatchFailure(
      `patches[${i}]: strategic merge patch for ${String(v.apiVersion ?? '')}/${v.kind} requires metadata.name in the patch body; use a JSON patch (- op: ...) to match resources by regex name selector`,
    );
  }
  return v;
}

// targetMatches: libsveltos checks every set field as an unanchored Go regexp, then kustomize
// selects with the same patterns anchored (`^(?:p)$`); both must hold, so anchored wins. Patterns
// are RE2 (Go regexp) syntax.
function targetMatches(t: PatchSelector | undefined, obj: Obj, i: number): boolean {
  if (!t) return true;
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
  const fields: [string | undefined, string, string][] = [
    [t.group, apiGroup(apiVersion), 'group'],
    [t.version, version, 'version'],
    [t.kind, typeof obj.kind === 'string' ? obj.kind : '', 'kind'],
    [t.namespace, typeof meta.namespace === 'string' ? meta.namespace : '', 'namespace'],
    [t.name, typeof meta.name === 'string' ? meta.name : '', 'name'],
  ];
  for (const [pattern, value, field] of fields) {
    if (!pattern) continue;
    let re: GoRegexp;
    try {
      re = GoRegexp.compile(`^(?:${pattern})$`);
    } catch (err) {
      throw new PatchFailure(`patches[${i}].target.${field}: invalid regex ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    }
    if (!re.matchString(value)) return false;
  }
  if (t.labelSelector && !labelSelectorStringMatches(t.labelSelector, stringMap(meta.labels), i, 'labelSelector')) return false;
  if (t.annotationSelector && !labelSelectorStringMatches(t.annotationSelector, stringMap(meta.annotations), i, 'annotationSelector')) return false;
  return true;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** labelSelectorStringMatches evaluates a selector string (`a=b,c!=d,e in (x,y),!f,g`) on a label map. */
export function labelSelectorStringMatches(selector: string, labels: Record<string, string>, i = 0, field = 'labelSelector'): boolean {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (p === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const values = m[3]!.split(',').map((s) => s.trim());
      const has = Object.prototype.hasOwnProperty.call(labels, m[1]!);
      if (m[2] === 'in' ? !(has && values.includes(labels[m[1]!]!)) : has && values.includes(labels[m[1]!]!)) return false;
    } else if ((m = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)$/.exec(p))) {
      const v = labels[m[1]!];
      if (m[2] === '!=' ? v === m[3] : v !== m[3]) return false;
    } else if ((m = /^!\s*([^\s!=()]+)$/.exec(p))) {
      if (Object.prototype.hasOwnProperty.call(labels, m[1]!)) return false;
    } else if ((m = /^([^\s!=()]+)$/.exec(p))) {
      if (!Object.prototype.hasOwnProperty.call(labels, m[1]!)) return false;
    } else {
      throw new PatchFailure(`patches[${i}].target.${field}: cannot parse selector ${JSON.stringify(selector)}`);
    }
  }
  return true;
}

// JSON Pointer (RFC 6901) helpers.
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchFailure(`JSON pointer ${JSON.stringify(pointer)} must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// pointerExists is libsveltos's pathExistsInObject (used to drop no-op removes).
function pointerExists(obj: Obj, pointer: string): boolean {
  let cur: unknown = obj;
  for (const key of pointer.replace(/^\/+|\/+$/g, '').split('/')) {
    if (key === '') continue;
    const k = key.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(k) || Number(k) >= cur.length) return false;
      cur = cur[Number(k)];
    } else if (isPlainObject(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, k)) return false;
      cur = cur[k];
    } else return false;
  }
  return true;
}

function getAt(doc: unknown, toks: string[], what: string): unknown {
  let cur = doc;
  for (const t of toks) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(t) || Number(t) >= cur.length) throw new PatchFailure(`${what}: path does not exist`);
      cur = cur[Number(t)];
    } else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new PatchFailure(`${what}: path does not exist`);
  }
  return cur;
}

function applyJSONPatch(doc: Obj, ops: Obj[], i: number): Obj {
  let root: unknown = doc;
  for (const [j, op] of ops.entries()) {
    const what = `patches[${i}] operation ${j} (${String(op.op)} ${String(op.path)})`;
    if (typeof op.path !== 'string') throw new PatchFailure(`${what}: missing path`);
    const toks = tokens(op.path);
    const value = () => {
      if (!Object.prototype.hasOwnProperty.call(op, 'value')) throw new PatchFailure(`${what}: missing value`);
      return structuredClone(op.value);
    };
    switch (op.op) {
      case 'add':
        root = put(root, toks, value(), 'add', what);
        break;
      case 'replace':
        getAt(root, toks, what);
        root = put(root, toks, value(), 'replace', what);
        break;
      case 'remove':
        getAt(root, toks, what);
        root = remove(root, toks, what);
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchFailure(`${what}: missing from`);
        const from = tokens(op.from);
        const v = structuredClone(getAt(root, from, what));
        if (op.op === 'move') root = remove(root, from, what);
        root = put(root, toks, v, 'add', what);
        break;
      }
      case 'test':
        if (JSON.stringify(canonical(getAt(root, toks, what))) !== JSON.stringify(canonical(op.value))) {
          throw new PatchFailure(`${what}: test failed`);
        }
        break;
      default:
        throw new PatchFailure(`${what}: unknown operation`);
    }
  }
  if (!isPlainObject(root)) throw new PatchFailure(`patches[${i}]: the result is not an object`);
  return root;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isPlainObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

function put(root: unknown, toks: string[], v: unknown, mode: 'add' | 'replace', what: string): unknown {
  if (toks.length === 0) return v;
  const parent = getAt(root, toks.slice(0, -1), what);
  const last = toks[toks.length - 1]!;
  if (Array.isArray(parent)) {
    if (mode === 'add' && last === '-') parent.push(v);
    else {
      if (!/^(0|[1-9]\d*)$/.test(last)) throw new PatchFailure(`${what}: bad array index`);
      const n = Number(last);
      if (mode === 'add') {
        if (n > parent.length) throw new PatchFailure(`${what}: index out of range`);
        parent.splice(n, 0, v);
      } else parent[n] = v;
    }
  } else if (isPlainObject(parent)) parent[last] = v;
  else throw new PatchFailure(`${what}: parent is not a container`);
  return root;
}

function remove(root: unknown, toks: string[], what: string): unknown {
  if (toks.length === 0) throw new PatchFailure(`${what}: cannot remove the whole document`);
  const parent = getAt(root, toks.slice(0, -1), what);
  const last = toks[toks.length - 1]!;
  // RFC 6902: the target location must exist (kustomize's json-patch fails otherwise).
  if (Array.isArray(parent)) {
    if (!/^(0|[1-9]\d*)$/.test(last) || Number(last) >= parent.length) throw new PatchFailure(`${what}: path does not exist`);
    parent.splice(Number(last), 1);
  } else if (isPlainObject(parent)) {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchFailure(`${what}: path does not exist`);
    delete parent[last];
  } else throw new PatchFailure(`${what}: parent is not a container`);
  return root;
}

// Strategic merge (kustomize/kyaml merge2). Lists of mappings merge by a key: the schema's patch
// merge key for the built-in types below, else kyaml's fallback, the first of these fields that
// every element has. Other lists are replaced.
const ASSOCIATIVE_KEYS = ['mountPath', 'devicePath', 'ip', 'type', 'topologyKey', 'name', 'containerPort'];
const SCHEMA_MERGE_KEYS: Record<string, string> = {
  // Service spec.ports merge by port (x-kubernetes-patch-merge-key: port).
  'Service:spec.ports': 'port',
  // Container ports merge by containerPort whatever other fields they have.
  'containers.ports': 'containerPort',
};

function mergeKeyFor(kind: string, path: string[], base: unknown[], patch: unknown[]): string | undefined {
  const joined = path.join('.');
  const schemaKey = SCHEMA_MERGE_KEYS[`${kind}:${joined}`] ?? (/(^|\.)(initContainers|containers|ephemeralContainers)\.ports$/.test(joined) ? SCHEMA_MERGE_KEYS['containers.ports'] : undefined);
  if (schemaKey) return schemaKey;
  const items = [...base, ...patch].filter((x) => !(isPlainObject(x) && '$patch' in x && Object.keys(x).length === 1));
  if (items.length === 0 || !items.every(isPlainObject)) return undefined;
  return ASSOCIATIVE_KEYS.find((k) => items.every((x) => Object.prototype.hasOwnProperty.call(x as Obj, k)));
}

function applySMP(obj: Obj, body: Obj, targeted: boolean, i: number): Obj {
  const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
  const pmeta = isPlainObject(body.metadata) ? body.metadata : {};
  if (!targeted) {
    // Without a target kustomize applies the patch to the resource with the patch's own id.
    if (!sameId(obj, body)) {
      throw new PatchFailure(
        `patches[${i}] has no target and names ${String(body.kind)} ${nsName(pmeta)}, not ${String(obj.kind)} ${nsName(meta)}: kustomize finds no resource for it`,
      );
    }
  }
  if (body.$patch === 'delete') return obj; // kustomize output is empty; libsveltos keeps the object as it was
  const kind = String(obj.kind);
  const merged = mergeValue(obj, body, [], kind) as Obj;
  // kustomize restores name, namespace and kind after the merge.
  const out: Obj = { ...merged, kind: obj.kind, apiVersion: obj.apiVersion };
  const m = isPlainObject(out.metadata) ? { ...out.metadata } : {};
  m.name = meta.name;
  if (meta.namespace === undefined) delete m.namespace;
  else m.namespace = meta.namespace;
  out.metadata = m;
  return out;
}

// sameId: the patch body names the object (kind, apiVersion, name, namespace; no namespace is "default").
function sameId(obj: Obj, body: Obj): boolean {
  const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
  const pmeta = isPlainObject(body.metadata) ? body.metadata : {};
  return body.kind === obj.kind && body.apiVersion === obj.apiVersion && pmeta.name === meta.name && normNs(pmeta.namespace) === normNs(meta.namespace);
}

function normNs(ns: unknown): string {
  return typeof ns === 'string' && ns !== '' ? ns : 'default';
}
function nsName(m: Obj): string {
  return typeof m.namespace === 'string' && m.namespace ? `${m.namespace}/${String(m.name)}` : String(m.name);
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isPlainObject(x) && x.$patch === 'delete')).map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$patch' || k.startsWith('$setElementOrder/') || k.startsWith('$deleteFromPrimitiveList/') || k === '$retainKeys') continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function mergeValue(base: unknown, patch: unknown, path: string[], kind: string): unknown {
  if (isPlainObject(patch)) {
    if (patch.$patch === 'replace') return stripDirectives(patch);
    if (!isPlainObject(base)) return stripDirectives(patch);
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (k === '$patch' || k === '$retainKeys') continue;
      if (k.startsWith('$setElementOrder/')) continue;
      if (k.startsWith('$deleteFromPrimitiveList/')) {
        const field = k.slice('$deleteFromPrimitiveList/'.length);
        if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = (out[field] as unknown[]).filter((x) => !v.includes(x));
        continue;
      }
      if (v === null) {
        delete out[k];
        continue;
      }
      if (isPlainObject(v) && v.$patch === 'delete') {
        delete out[k];
        continue;
      }
      out[k] = Object.prototype.hasOwnProperty.call(base, k) ? mergeValue(base[k], v, [...path, k], kind) : stripDirectives(v);
    }
    return out;
  }
  if (Array.isArray(patch)) {
    if (!Array.isArray(base)) return stripDirectives(patch);
    if (patch.some((x) => isPlainObject(x) && x.$patch === 'replace')) {
      return stripDirectives(patch.filter((x) => !(isPlainObject(x) && x.$patch === 'replace')));
    }
    const key = mergeKeyFor(kind, path, base, patch);
    if (!key) return stripDirectives(patch);
    const out = [...base];
    for (const p of patch) {
      if (!isPlainObject(p)) continue;
      const at = out.findIndex((b) => isPlainObject(b) && b[key] === p[key]);
      if (p.$patch === 'delete') {
        if (at >= 0) out.splice(at, 1);
        continue;
      }
      if (at >= 0) out[at] = mergeValue(out[at], p, path, kind);
      else out.push(stripDirectives(p));
    }
    return out;
  }
  return patch;
}
