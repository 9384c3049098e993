// Planning a profile's kustomizationRefs (addon-controller handlers_kustomize.go) for one cluster: the
// source read, `path` and `components` templated, the substitute values collected and rendered, and what
// each ConfigurationBundle of feature Kustomize will be keyed and flagged with. Building the kustomization
// needs the kustomize binary: the export's Kustomize stage does it from this plan. Pure.

import { createHash } from 'node:crypto';
import { isMap, isScalar, parseDocument, Scalar } from 'yaml';
import {
  ANNOTATION_TEMPLATE,
  DEFAULT_TIER,
  isConfigMap,
  isPlainObject,
  isSecret,
  SECRET_TYPE_CLUSTER_PROFILE,
  type AnyProfile,
  type Feature,
  type KubeObject,
} from '../model/sveltos.js';
import { goYAMLTags, resolveGoScalar } from '../model/yaml11.js';
import { referencedData } from './content.js';
import { isFluxKind } from './flux.js';
import { sigsYAMLMarshal } from './goyaml.js';
import { instantiate, instantiateReference, type TemplateContext } from './instantiate.js';
import type { BundleInfo, GroupSettings, Requestor } from './pullmode.js';
import { displayURL } from './remote-url.js';
import { profileId } from './select.js';

/** ARCHIVE_KEY is the data key holding a kustomizationRef's archive. */
export const ARCHIVE_KEY = 'kustomize.tar.gz';

/** KustomizeTreeEntry is one path of a kustomization tree: a directory or a file's bytes. */
export type KustomizeTreeEntry = { type: 'directory' } | { type: 'file'; data: Buffer };

/**
 * KustomizeSource is the archive a ConfigMap or Secret holds, decoded, what a remoteURL served, or the files
 * of a fetched Flux source.
 */
export type KustomizeSource = {
  /** `ConfigMap ns/name` or `Secret ns/name` (instantiated), `remoteURL URL`, or `GitRepository ns/name revision …`. */
  object: string;
  /** sha256 of the archive, or of the tree, `sha256:<hex>`. */
  digest: string;
} & (
  | {
      archive: Buffer;
      /** A remoteURL OCI artifact's further layers, extracted over `archive` in manifest order. */
      layers?: Buffer[];
      /** What messages call the archive (default `kustomize.tar.gz`, the data key of a ConfigMap or Secret). */
      archiveName?: string;
    }
  | { tree: Map<string, KustomizeTreeEntry> }
);

/** PlannedKustomizationRef is one kustomizationRef for one cluster, ready to build. */
export interface PlannedKustomizationRef {
  /** `spec.kustomizationRefs[i]`. */
  field: string;
  /** The bundle index: `<Kind>-<Namespace>-<Name>` of the raw (not instantiated) spec. */
  key: string;
  /** referencedObject* (raw spec values), referenceTier, skipNamespaceCreation, force. */
  info: BundleInfo;
  /** What to build; unset for `deploymentType: Local`, whose bundle is staged empty. */
  build?: {
    source: KustomizeSource;
    /** `path` instantiated ('' is the archive root). */
    path: string;
    /** `components` instantiated, appended to the kustomization's own. */
    components: string[];
  };
  /** The substitute values after both templating passes; the output is a template only when not empty. */
  values: Record<string, string>;
  /** Set on every output object after rendering. */
  targetNamespace?: string;
}

/** PlannedKustomize is the Kustomize group of one (profile, cluster): its refs in spec order. */
export interface PlannedKustomize {
  /** `ClusterProfile/name` or `Profile/ns/name`. */
  profile: string;
  requestor: Requestor;
  settings: GroupSettings;
  /** Digest of the feature's inputs (base64), the group's requestorHash. */
  requestorHash: string;
  refs: PlannedKustomizationRef[];
}

/** KustomizeContext is what planning needs from the (profile, cluster) being planned. */
export interface KustomizeContext {
  readonly profile: AnyProfile;
  /** ClusterSummary name. */
  readonly summary: string;
  readonly tctx: TemplateContext;
  readonly settings: GroupSettings;
  readonly lookup: { get(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined };
  readonly plan: { notCarried: { profile: string; ref: string; reason: string }[] };
  readonly memo: { requestorHash(profile: AnyProfile, feature: string, parts: unknown): Buffer };
  problem(code: string, message: string, field?: string): void;
  warn(code: string, message: string, field?: string): void;
  requestor(feature: Feature): Requestor;
  /** What a Flux source holds (fetched before planning), or 'failed' after reporting why. */
  fluxFetched(kind: string, ns: string, name: string, field: string): { revision: string; tree: Map<string, Buffer> } | 'failed';
  /** What a remoteURL served (fetched before planning), or 'failed' after reporting why. */
  remoteFetched(remoteURL: Record<string, unknown>, optional: boolean, field: string): { url: string; digest: string; parts: Buffer[] } | 'failed' | 'skipped';
}


// A decoded archive per source object: every cluster referencing it shares one.
const archives = new WeakMap<KubeObject, { archive: Buffer; digest: string } | undefined>();

function archiveOf(obj: KubeObject): { archive: Buffer; digest: string } | undefined {
  if (archives.has(obj)) return archives.get(obj);
  const encoded = isConfigMap(obj) ? obj.binaryData?.[ARCHIVE_KEY] : isSecret(obj) ? obj.data?.[ARCHIVE_KEY] : undefined;
  let out: { archive: Buffer; digest: string } | undefined;
  if (typeof encoded === 'string') {
    const archive = Buffer.from(encoded, 'base64');
    out = { archive, digest: `sha256:${createHash('sha256').update(archive).digest('hex')}` };
  }
  archives.set(obj, out);
  return out;
}

/**
 * planKustomize plans the profile's kustomizationRefs for the cluster (undefined when it has none or one
 * fails; each failure is reported). A Local ref is reported as not carried and keeps its (empty) bundle, as
 * addon-controller stages one. Two refs with the same bundle index (one source used twice) are an input
 * error: addon-controller would stage both under one index and keep one.
 */
export function planKustomize(ctx: KustomizeContext): PlannedKustomize | undefined {
  const refs = ctx.profile.spec.kustomizationRefs ?? [];
  if (refs.length === 0) return undefined;
  const planned: PlannedKustomizationRef[] = [];
  const keys = new Map<string, string>();
  let failed = false;
  for (const [i, raw] of refs.entries()) {
    const field = `spec.kustomizationRefs[${i}]`;
    const r = planRef(ctx, raw, field, keys);
    if (r) planned.push(r);
    else failed = true;
  }
  if (failed) return undefined;
  const parts = planned.map((r) => [r.key, r.build?.source.digest ?? '', r.build?.path ?? '', r.build?.components ?? [], r.values, r.targetNamespace ?? '', r.build ? 'Remote' : 'Local']);
  return {
    profile: profileId(ctx.profile),
    requestor: ctx.requestor('Kustomize'),
    settings: ctx.settings,
    requestorHash: ctx.memo.requestorHash(ctx.profile, 'Kustomize', parts).toString('base64'),
    refs: planned,
  };
}

// planRef plans one ref; undefined after reporting why it cannot be.
function planRef(ctx: KustomizeContext, raw: Record<string, unknown>, field: string, keys: Map<string, string>): PlannedKustomizationRef | undefined {
  const bad = shapeProblem(raw);
  if (bad) {
    ctx.problem('INVALID_OBJECT', `${field}: ${bad}`, field);
    return undefined;
  }
  // A Profile's references are forced to its namespace (addon-controller limitReferencesToNamespace).
  const forced = ctx.profile.kind === 'Profile' ? ctx.profile.metadata.namespace : undefined;
  const kind = str(raw.kind);
  const rawNs = forced ?? str(raw.namespace);
  const rawName = str(raw.name);
  const key = `${kind}-${rawNs}-${rawName}`;
  const first = keys.get(key);
  if (first !== undefined) {
    ctx.problem(
      'DUPLICATE_KUSTOMIZATION',
      `${field} and ${first} both reference ${kind} ${rawNs ? `${rawNs}/` : ''}${rawName}: both would be staged as the bundle ${JSON.stringify(key)} and addon-controller would keep only one; reference each source once (one kustomization per archive, or two ConfigMaps)`,
      field,
    );
    return undefined;
  }
  keys.set(key, field);
  const info: BundleInfo = {
    referencedObjectKind: kind,
    referencedObjectNamespace: rawNs,
    referencedObjectName: rawName,
    referenceTier: typeof raw.tier === 'number' ? raw.tier : DEFAULT_TIER,
    skipNamespaceCreation: raw.skipNamespaceCreation === true,
    force: raw.force === true,
  };
  const targetNamespace = str(raw.targetNamespace) || undefined;
  if (raw.deploymentType === 'Local') {
    const label = raw.remoteURL !== undefined ? `remoteURL ${str((raw.remoteURL as Record<string, unknown>).url)}` : `${kind} ${rawNs ? `${rawNs}/` : ''}${rawName}`;
    ctx.plan.notCarried.push({ profile: profileId(ctx.profile), ref: `kustomizationRef ${label}`, reason: 'deploymentType Local: deployed to the management cluster, not by the agent (its bundle is carried empty, as addon-controller stages it)' });
    return { field, key, info, values: {}, ...(targetNamespace ? { targetNamespace } : {}) };
  }
  const source =
    raw.remoteURL !== undefined ? remoteSource(ctx, raw.remoteURL as Record<string, unknown>, field) : isFluxKind(kind) ? fluxSource(ctx, field, kind, rawNs, rawName) : objectSource(ctx, raw, field, kind, rawNs, rawName);
  if (!source) return undefined;
  let path: string;
  let components: string[];
  try {
    path = instantiate(str(raw.path), ctx.tctx, ctx.summary);
    components = (raw.components as string[] | undefined ?? []).map((c) => instantiate(c, ctx.tctx, ctx.summary));
  } catch (err) {
    ctx.problem('TEMPLATE', `${field}: ${(err as Error).message}`, field);
    return undefined;
  }
  const values = substituteValues(ctx, raw, field, forced);
  if (!values) return undefined;
  return { field, key, info, build: { source, path, components }, values, ...(targetNamespace ? { targetNamespace } : {}) };
}

// remoteSource is a remoteURL's body (http) or layers (OCI) as the archive(s) to extract, one over the other.
function remoteSource(ctx: KustomizeContext, remoteURL: Record<string, unknown>, field: string): KustomizeSource | undefined {
  // addon-controller never reads kustomizationRef.optional: a failed fetch fails the feature.
  const fetched = ctx.remoteFetched(remoteURL, false, field);
  if (typeof fetched === 'string') return undefined;
  const object = `remoteURL ${displayURL(fetched.url)}`;
  if (fetched.parts.length === 0) {
    ctx.problem('REMOTE_URL', `${field}: ${object} (${fetched.digest}) has no layers: nothing to build`, field);
    return undefined;
  }
  return { object, archive: fetched.parts[0]!, archiveName: fetched.parts.length > 1 ? 'layer' : 'archive', ...(fetched.parts.length > 1 ? { layers: fetched.parts.slice(1) } : {}), digest: fetched.digest };
}

// refNames instantiates a ref's namespace and name against the cluster; undefined after reporting a template error.
function refNames(ctx: KustomizeContext, rawNs: string, rawName: string, field: string): { ns: string; name: string } | undefined {
  try {
    return { ns: instantiateReference(rawNs, ctx.tctx), name: instantiateReference(rawName, ctx.tctx) };
  } catch (err) {
    ctx.problem('TEMPLATE', `${field}: ${(err as Error).message}`, field);
    return undefined;
  }
}

// A Flux source's files as a kustomization tree (every parent directory present), per fetched tree: every
// cluster referencing it shares one.
const fluxTrees = new WeakMap<Map<string, Buffer>, { tree: Map<string, KustomizeTreeEntry>; digest: string }>();

// fluxSource is the tree of the Flux source a kustomizationRef names (addon-controller extracts its artifact).
function fluxSource(ctx: KustomizeContext, field: string, kind: string, rawNs: string, rawName: string): KustomizeSource | undefined {
  const names = refNames(ctx, rawNs, rawName, field);
  if (!names) return undefined;
  const { ns, name } = names;
  const fetched = ctx.fluxFetched(kind, ns, name, field);
  if (fetched === 'failed') return undefined;
  let made = fluxTrees.get(fetched.tree);
  if (!made) {
    const tree = new Map<string, KustomizeTreeEntry>();
    const h = createHash('sha256');
    for (const [path, data] of [...fetched.tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) tree.set(path.slice(0, i), { type: 'directory' });
      tree.set(path, { type: 'file', data });
      h.update(`${path}\0${createHash('sha256').update(data).digest('hex')}\n`);
    }
    made = { tree, digest: `sha256:${h.digest('hex')}` };
    fluxTrees.set(fetched.tree, made);
  }
  return { object: `${kind} ${ns}/${name} revision ${fetched.revision}`, ...made };
}

// objectSource is the archive of the ConfigMap or Secret a kustomizationRef names.
function objectSource(ctx: KustomizeContext, raw: Record<string, unknown>, field: string, kind: string, rawNs: string, rawName: string): KustomizeSource | undefined {
  if (kind !== 'ConfigMap' && kind !== 'Secret') {
    ctx.problem('INVALID_OBJECT', `${field}: kind ${JSON.stringify(kind)}: expected ConfigMap, Secret, GitRepository, OCIRepository or Bucket`, field);
    return undefined;
  }
  const names = refNames(ctx, rawNs, rawName, field);
  if (!names) return undefined;
  const { ns, name } = names;
  const object = `${kind} ${ns}/${name}`;
  const obj = ctx.lookup.get('v1', kind, ns, name);
  if (!obj) {
    // addon-controller never reads kustomizationRef.optional: a missing source fails the feature.
    ctx.problem('REFERENCE_NOT_FOUND', `${field}: ${object} is not in the input${raw.optional === true ? ' (optional is ignored for kustomizationRefs, as addon-controller ignores it)' : ''}`, field);
    return undefined;
  }
  if (isSecret(obj) && obj.type !== SECRET_TYPE_CLUSTER_PROFILE) {
    ctx.problem('SECRET_TYPE', `${field}: Secret ${ns}/${name} has type ${JSON.stringify(obj.type ?? '')}, Sveltos reads only type ${SECRET_TYPE_CLUSTER_PROFILE}`, field);
    return undefined;
  }
  const archive = archiveOf(obj);
  if (!archive) {
    const inData = isConfigMap(obj) && obj.data?.[ARCHIVE_KEY] !== undefined;
    ctx.problem('INVALID_CONTENT', `${field}: ${object}: ${ARCHIVE_KEY} missing${kind === 'ConfigMap' ? ` (addon-controller reads it from binaryData${inData ? ', not data' : ''}: kubectl create configmap NAME --from-file=${ARCHIVE_KEY})` : ' (in data)'}`, field);
    return undefined;
  }
  return { object, ...archive };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

// shapeProblem checks the fields planning reads have the types of the KustomizationRef API.
function shapeProblem(raw: Record<string, unknown>): string | undefined {
  for (const f of ['kind', 'namespace', 'name', 'path', 'targetNamespace', 'deploymentType']) {
    if (raw[f] !== undefined && typeof raw[f] !== 'string') return `${f}: expected a string`;
  }
  if (raw.components !== undefined && (!Array.isArray(raw.components) || raw.components.some((c) => typeof c !== 'string'))) return 'components: expected a list of strings';
  if (raw.values !== undefined && (!isPlainObject(raw.values) || Object.values(raw.values).some((v) => typeof v !== 'string'))) return 'values: expected a map of strings';
  if (raw.valuesFrom !== undefined && (!Array.isArray(raw.valuesFrom) || raw.valuesFrom.some((v) => !isPlainObject(v)))) return 'valuesFrom: expected a list of references';
  if (raw.tier !== undefined && (typeof raw.tier !== 'number' || !Number.isInteger(raw.tier) || raw.tier < 1)) return 'tier: expected an integer of at least 1';
  for (const f of ['skipNamespaceCreation', 'force', 'optional']) if (raw[f] !== undefined && typeof raw[f] !== 'boolean') return `${f}: expected a boolean`;
  if (raw.deploymentType !== undefined && raw.deploymentType !== 'Local' && raw.deploymentType !== 'Remote') return `deploymentType: expected Local or Remote, found ${JSON.stringify(raw.deploymentType)}`;
  if (raw.remoteURL !== undefined && !isPlainObject(raw.remoteURL)) return 'remoteURL: expected a mapping';
  if (raw.remoteURL === undefined && !raw.kind) return 'kind: required (ConfigMap, Secret or a Flux source) unless remoteURL is set';
  return undefined;
}

/**
 * substituteValues is getKustomizedResources's values (§1.5 of the research): `values`, then the templated
 * valuesFrom sources over them (later sources win), rendered as one template (the map marshaled as
 * sigs.k8s.io/yaml writes it, then read back as a map of strings); then the plain valuesFrom sources over
 * the result. Static valuesFrom win over templated ones, which win over `values`.
 */
function substituteValues(ctx: KustomizeContext, raw: Record<string, unknown>, field: string, forcedNs: string | undefined): Record<string, string> | undefined {
  const values: Record<string, string> = { ...((raw.values as Record<string, string> | undefined) ?? {}) };
  const dynamic: Record<string, string> = {};
  const fixed: Record<string, string> = {};
  for (const [j, vf] of ((raw.valuesFrom as Record<string, unknown>[] | undefined) ?? []).entries()) {
    const f = `${field}.valuesFrom[${j}]`;
    const kind = str(vf.kind);
    let ns: string;
    let name: string;
    try {
      ns = forcedNs ?? instantiateReference(str(vf.namespace), ctx.tctx);
      name = instantiateReference(str(vf.name), ctx.tctx);
    } catch (err) {
      ctx.problem('TEMPLATE', `${f}: ${(err as Error).message}`, f);
      return undefined;
    }
    if (kind !== 'ConfigMap' && kind !== 'Secret') {
      ctx.problem('INVALID_OBJECT', `${f}: kind ${JSON.stringify(kind)}: expected ConfigMap or Secret`, f);
      return undefined;
    }
    const obj = ctx.lookup.get('v1', kind, ns, name);
    if (!obj) {
      if (vf.optional === true) continue;
      ctx.problem('REFERENCE_NOT_FOUND', `${f}: ${kind} ${ns}/${name} is not in the input`, f);
      return undefined;
    }
    if (isSecret(obj) && obj.type !== SECRET_TYPE_CLUSTER_PROFILE) {
      ctx.problem('SECRET_TYPE', `${f}: Secret ${ns}/${name} has type ${JSON.stringify(obj.type ?? '')}, Sveltos reads only type ${SECRET_TYPE_CLUSTER_PROFILE}`, f);
      return undefined;
    }
    const data = referencedData(obj);
    Object.assign(obj.metadata.annotations?.[ANNOTATION_TEMPLATE] !== undefined ? dynamic : fixed, data);
  }
  Object.assign(values, dynamic);
  let rendered: Record<string, string>;
  try {
    const text = instantiate(sigsYAMLMarshal(values), ctx.tctx, `${ctx.tctx.clusterNamespace}${ctx.summary}kustomize`);
    rendered = readStringMap(text);
  } catch (err) {
    ctx.problem('TEMPLATE', `${field}.values: ${(err as Error).message}`, `${field}.values`);
    return undefined;
  }
  return Object.assign(rendered, fixed);
}

/**
 * readStringMap is sigs.k8s.io/yaml.Unmarshal into map[string]string (parseMapFromString): plain numbers and
 * bools become their text (floats as strconv.FormatFloat(f, 'g', -1, 32)), null becomes "", and a value that
 * is a map or a list fails, as it fails there.
 */
export function readStringMap(text: string): Record<string, string> {
  const doc = parseDocument(text, { version: '1.1', customTags: goYAMLTags, uniqueKeys: false });
  if (doc.errors.length > 0) throw new Error(`the rendered values no longer read as YAML (a rendered value holding ' or ": " breaks the quoting chosen before rendering): ${doc.errors[0]!.message.split('\n')[0]}`);
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return {};
  if (!isMap(root)) throw new Error('the rendered values are not a map');
  const out: Record<string, string> = {};
  for (const pair of root.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const v = pair.value;
    if (v === null || (isScalar(v) && v.value === null)) out[k] = '';
    else if (!isScalar(v)) throw new Error(`value of ${JSON.stringify(k)}: cannot unmarshal a ${isMap(v) ? 'map' : 'list'} into a string`);
    else if (v.type === Scalar.PLAIN && typeof v.source === 'string') out[k] = goScalarText(v.source);
    else out[k] = String(v.value);
  }
  return out;
}

// goScalarText is the string a plain scalar becomes in a Go string field through sigs.k8s.io/yaml.
function goScalarText(source: string): string {
  const r = resolveGoScalar(source);
  switch (r.tag) {
    case 'int':
      return r.value.toString();
    case 'float':
      return formatFloat32(r.value);
    case 'bool':
      return r.value ? 'true' : 'false';
    case 'null':
      return '';
    default:
      return r.value;
  }
}

/** formatFloat32 is Go's strconv.FormatFloat(f, 'g', -1, 32): the shortest digits of the float32, %e from 1e+06 or below 1e-04. */
export function formatFloat32(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  const x = Math.fround(f);
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let digits = '';
  let exp = 0;
  for (let p = 1; p <= 9; p++) {
    const [m, e] = Math.abs(x).toExponential(p - 1).split('e') as [string, string];
    if (Math.fround(Number(`${m}e${e}`)) === Math.abs(x)) {
      digits = m.replace('.', '').replace(/0+$/, '') || '0';
      exp = Number(e);
      break;
    }
  }
  const sign = x < 0 ? '-' : '';
  if (exp < -4 || exp >= 6) {
    // Go's shortest %g uses %e when the exponent is < -4 or >= 6.
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const dp = exp + 1;
  if (dp <= 0) return `${sign}0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= digits.length) return `${sign}${digits}${'0'.repeat(dp - digits.length)}`;
  return `${sign}${digits.slice(0, dp)}.${digits.slice(dp)}`;
}
