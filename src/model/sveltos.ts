// Sveltos and Kubernetes object shapes read from `--from` directories and written for the pull agent
// (sveltos-pullmode.md §2, §4, §5). Data + guards only: `checkObject` reports every bad field as a path.

import { isPlainObject } from './json.js';

/** API groups and versions of the kinds this package reads and writes. */
export const CONFIG_API_VERSION = 'config.projectsveltos.io/v1beta1';
export const LIB_API_VERSION = 'lib.projectsveltos.io/v1beta1';
export const CONFIG_GROUP = 'config.projectsveltos.io';
export const LIB_GROUP = 'lib.projectsveltos.io';

/** Secret type a policyRefs Secret must have (addon-controller `handlers_utils.go`). */
export const SECRET_TYPE_CLUSTER_PROFILE = 'addons.projectsveltos.io/cluster-profile';
/** Annotation that pauses a ClusterProfile or Profile. */
export const ANNOTATION_PAUSED = 'profile.projectsveltos.io/paused';
/** Annotation that makes a referenced ConfigMap/Secret a Go template. */
export const ANNOTATION_TEMPLATE = 'projectsveltos.io/template';
/** Annotation that makes a referenced ConfigMap/Secret a Lua program. */
export const ANNOTATION_LUA = 'projectsveltos.io/lua';

/** Labels and annotations on ConfigurationGroups and ConfigurationBundles (sveltos-pullmode.md §2.4). */
export const LABEL_CLUSTER_NAME = 'pullmode.projectsveltos.io/clustername';
export const LABEL_REQUESTOR_KIND = 'pullmode.projectsveltos.io/requestorkind';
export const LABEL_REQUESTOR_FEATURE = 'pullmode.projectsveltos.io/requestorfeature';
export const ANNOTATION_REQUESTOR_NAME = 'pullmode.projectsveltos.io/requestorname';
export const ANNOTATION_BUNDLE_INDEX = 'pullmode.projectsveltos.io/index';

/** Default tier of profiles and references (lower wins). */
export const DEFAULT_TIER = 100;

export type Labels = Record<string, string>;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Labels;
  [field: string]: unknown;
}

/** KubeObject is any object read from the input: apiVersion, kind and metadata are checked, the rest is free. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** SourceLocation says where an object was read from (1-based line). */
export interface SourceLocation {
  file: string;
  line: number;
}

const sources = new WeakMap<object, SourceLocation>();

/** withSource records where `obj` was read from, without adding a field to it. */
export function withSource<T extends object>(obj: T, loc: SourceLocation): T {
  sources.set(obj, loc);
  return obj;
}

/** sourceOf returns where `obj` was read from, if it was read from a file. */
export function sourceOf(obj: object): SourceLocation | undefined {
  return sources.get(obj);
}

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
export const SELECTOR_OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export interface LabelSelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

/** LabelSelector is metav1.LabelSelector (Sveltos's `Selector` inlines it). */
export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
}

export interface PolicyRef {
  kind?: string;
  name?: string;
  namespace?: string;
  path?: string;
  deploymentType?: 'Remote' | 'Local';
  optional?: boolean;
  tier?: number;
  skipNamespaceCreation?: boolean;
  force?: boolean;
  remoteURL?: Record<string, unknown>;
}

export interface TemplateResourceRef {
  resource: ObjectReference;
  identifier: string;
  optional?: boolean;
  ignoreStatusChanges?: boolean;
  watchFields?: string[];
}

export interface PatchSelector {
  version?: string;
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  annotationSelector?: string;
  labelSelector?: string;
}

export interface Patch {
  patch: string;
  target?: PatchSelector;
}

/** ProfileSpec is the `Spec` shared by ClusterProfile and Profile (sveltos-pullmode.md §4.1). */
export interface ProfileSpec {
  clusterSelector?: LabelSelector;
  clusterRefs?: ObjectReference[];
  setRefs?: string[];
  syncMode?: 'OneTime' | 'Continuous' | 'ContinuousWithDriftDetection' | 'DryRun';
  tier?: number;
  continueOnConflict?: boolean;
  continueOnError?: boolean;
  maxUpdate?: number | string;
  stopMatchingBehavior?: 'WithdrawPolicies' | 'LeavePolicies';
  reloader?: boolean;
  templateResourceRefs?: TemplateResourceRef[];
  dependsOn?: string[];
  policyRefs?: PolicyRef[];
  helmCharts?: Record<string, unknown>[];
  kustomizationRefs?: Record<string, unknown>[];
  preDeployChecks?: unknown[];
  validateHealths?: unknown[];
  patches?: Patch[];
  patchesFrom?: Record<string, unknown>[];
  driftExclusions?: unknown[];
  maxConsecutiveFailures?: number;
  preDeleteChecks?: unknown[];
  postDeleteChecks?: unknown[];
  extraLabels?: Labels;
  extraAnnotations?: Labels;
}

export interface ClusterProfile extends KubeObject {
  kind: 'ClusterProfile';
  spec: ProfileSpec;
}

export interface Profile extends KubeObject {
  kind: 'Profile';
  metadata: ObjectMeta & { namespace: string };
  spec: ProfileSpec;
}

export type AnyProfile = ClusterProfile | Profile;

export interface SveltosCluster extends KubeObject {
  kind: 'SveltosCluster';
  metadata: ObjectMeta & { namespace: string };
  spec?: { paused?: boolean; pullMode?: boolean; [field: string]: unknown };
}

/** SetSpec is the spec of a ClusterSet (cluster-scoped) or Set (namespaced). */
export interface SetSpec {
  clusterSelector?: LabelSelector;
  clusterRefs?: ObjectReference[];
  maxReplicas?: number;
}

export interface ClusterSet extends KubeObject {
  kind: 'ClusterSet';
  spec?: SetSpec;
  status?: { selectedClusterRefs?: ObjectReference[] };
}

export interface SveltosSet extends KubeObject {
  kind: 'Set';
  metadata: ObjectMeta & { namespace: string };
  spec?: SetSpec;
  status?: { selectedClusterRefs?: ObjectReference[] };
}

export interface ConfigMap extends KubeObject {
  kind: 'ConfigMap';
  metadata: ObjectMeta & { namespace: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** Secret as the API server returns it: `data` is base64, `stringData` already merged in by the loader. */
export interface Secret extends KubeObject {
  kind: 'Secret';
  metadata: ObjectMeta & { namespace: string };
  type?: string;
  data?: Record<string, string>;
}

export type Feature = 'Resources' | 'Helm' | 'Kustomize';

export interface ConfigurationItem {
  contentRef: { apiVersion: string; kind: 'ConfigurationBundle'; namespace: string; name: string };
  hash: string;
}

/** ConfigurationGroup as written for the pull agent (sveltos-pullmode.md §2.1); `[]byte` fields are base64. */
export interface ConfigurationGroup {
  apiVersion: typeof LIB_API_VERSION;
  kind: 'ConfigurationGroup';
  metadata: { name: string; namespace: string; labels: Labels; annotations: Labels };
  spec: {
    action: 'Deploy' | 'Remove';
    updatePhase: 'Ready' | 'Preparing';
    sourceRef: { apiVersion: string; kind: string; name: string; namespace?: string };
    sourceStatus: 'Active' | 'Deleted';
    tier: number;
    configurationItem?: ConfigurationItem[];
    requestorHash: string;
    [field: string]: unknown;
  };
}

/** ConfigurationBundleSpec is libsveltos's ConfigurationBundleSpec (sveltos-pullmode.md §2.2); `timeout` is a Go duration string. */
export interface ConfigurationBundleSpec {
  resources?: string[];
  notTracked?: boolean;
  timeout?: string;
  helmReleaseNamespace?: string;
  helmReleaseName?: string;
  helmChartVersion?: string;
  helmIcon?: string;
  helmRepoURL?: string;
  helmReleaseUninstall?: boolean;
  isLastHelmReleaseBundle?: boolean;
  referencedObjectKind?: string;
  referencedObjectNamespace?: string;
  referencedObjectName?: string;
  referenceTier?: number;
  skipNamespaceCreation?: boolean;
  force?: boolean;
}

/** ConfigurationBundle as written for the pull agent (sveltos-pullmode.md §2.2). */
export interface ConfigurationBundle {
  apiVersion: typeof LIB_API_VERSION;
  kind: 'ConfigurationBundle';
  metadata: { name: string; namespace: string; labels: Labels; annotations: Labels };
  spec: ConfigurationBundleSpec;
  status: { hash: string };
}

/** apiGroup returns the group of an apiVersion (`''` for the core group `v1`). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

const kindGroups: Record<string, string> = {
  ClusterProfile: CONFIG_GROUP,
  Profile: CONFIG_GROUP,
  SveltosCluster: LIB_GROUP,
  ClusterSet: LIB_GROUP,
  Set: LIB_GROUP,
  ConfigMap: '',
  Secret: '',
};

/** CLUSTER_SCOPED_KINDS are the known kinds without a namespace. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set(['ClusterProfile', 'ClusterSet']);

/** isKnownKind tells whether `obj` is one of the kinds this package interprets (kind and API group both match). */
export function isKnownKind(obj: KubeObject): boolean {
  const g = kindGroups[obj.kind];
  return g !== undefined && apiGroup(obj.apiVersion) === g;
}

/**
 * apiVersionProblem tells what is wrong with the version of a Sveltos kind this package reads
 * (ClusterProfile, Profile, SveltosCluster, ClusterSet, Set): the Sveltos CRDs serve only v1beta1
 * (addon-controller and libsveltos config/crd/bases); v1alpha1 is the old version, whose fields differ.
 * Undefined for a right version and for every other kind.
 */
export function apiVersionProblem(obj: KubeObject): string | undefined {
  const g = kindGroups[obj.kind];
  if (g !== CONFIG_GROUP && g !== LIB_GROUP) return undefined;
  if (apiGroup(obj.apiVersion) !== g) return undefined;
  const want = g === CONFIG_GROUP ? CONFIG_API_VERSION : LIB_API_VERSION;
  if (obj.apiVersion === want) return undefined;
  if (obj.apiVersion === `${g}/v1alpha1`) {
    return `${obj.apiVersion} is the old version of ${obj.kind} (Sveltos serves only v1beta1, whose fields differ); change apiVersion to ${want}`;
  }
  return `${obj.apiVersion} is not a version Sveltos serves for ${obj.kind}; expected ${want}`;
}

function isKind<K extends string>(obj: unknown, kind: K): boolean {
  return isKubeObject(obj) && obj.kind === kind && apiGroup(obj.apiVersion) === kindGroups[kind];
}

export const isClusterProfile = (o: unknown): o is ClusterProfile => isKind(o, 'ClusterProfile');
export const isProfile = (o: unknown): o is Profile => isKind(o, 'Profile');
export const isAnyProfile = (o: unknown): o is AnyProfile => isClusterProfile(o) || isProfile(o);
export const isSveltosCluster = (o: unknown): o is SveltosCluster => isKind(o, 'SveltosCluster');
export const isClusterSet = (o: unknown): o is ClusterSet => isKind(o, 'ClusterSet');
export const isSet = (o: unknown): o is SveltosSet => isKind(o, 'Set');
export const isConfigMap = (o: unknown): o is ConfigMap => isKind(o, 'ConfigMap');
export const isSecret = (o: unknown): o is Secret => isKind(o, 'Secret');

export { isPlainObject };

/** isKubeObject checks the envelope: string apiVersion and kind, metadata with a string name. */
export function isKubeObject(v: unknown): v is KubeObject {
  return (
    isPlainObject(v) &&
    typeof v.apiVersion === 'string' &&
    typeof v.kind === 'string' &&
    isPlainObject(v.metadata) &&
    typeof v.metadata.name === 'string'
  );
}

/** FieldProblem is one bad field: `path` from the object root, `message` says expected vs found. */
export interface FieldProblem {
  path: (string | number)[];
  message: string;
}

/** describe renders a found value briefly for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** formatPath renders a field path as `spec.policyRefs[0].name`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

// Checker collects problems while walking an object; each check says what it expected and what it found.
class Checker {
  readonly problems: FieldProblem[] = [];
  add(path: (string | number)[], message: string): void {
    this.problems.push({ path, message });
  }
  string(v: unknown, path: (string | number)[], opts: { required?: boolean; nonEmpty?: boolean } = {}): void {
    if (v === undefined) {
      if (opts.required) this.add(path, 'expected a string, found nothing');
      return;
    }
    if (typeof v !== 'string') this.add(path, `expected a string, found ${describe(v)}`);
    else if (opts.nonEmpty && v === '') this.add(path, 'expected a non-empty string, found ""');
  }
  bool(v: unknown, path: (string | number)[]): void {
    if (v !== undefined && typeof v !== 'boolean') this.add(path, `expected true or false, found ${describe(v)}`);
  }
  int(v: unknown, path: (string | number)[], min: number): void {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.add(path, `expected an integer, found ${describe(v)}`);
    else if (v < min) this.add(path, `expected an integer >= ${min}, found ${v}`);
  }
  stringMap(v: unknown, path: (string | number)[]): void {
    if (v === undefined || v === null) return;
    if (!isPlainObject(v)) return this.add(path, `expected a mapping of strings, found ${describe(v)}`);
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string') this.add([...path, k], `expected a string, found ${describe(x)}`);
    }
  }
  list(v: unknown, path: (string | number)[]): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.add(path, `expected a list, found ${describe(v)}`);
      return [];
    }
    return v;
  }
  object(v: unknown, path: (string | number)[]): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isPlainObject(v)) {
      this.add(path, `expected a mapping, found ${describe(v)}`);
      return undefined;
    }
    return v;
  }
  oneOf(v: unknown, path: (string | number)[], allowed: readonly string[]): void {
    if (v === undefined) return;
    if (typeof v !== 'string' || !allowed.includes(v)) {
      this.add(path, `expected one of ${allowed.join(', ')}, found ${describe(v)}`);
    }
  }
}

function checkSelector(c: Checker, v: unknown, path: (string | number)[]): void {
  const sel = c.object(v, path);
  if (!sel) return;
  c.stringMap(sel.matchLabels, [...path, 'matchLabels']);
  c.list(sel.matchExpressions, [...path, 'matchExpressions']).forEach((e, i) => {
    const p = [...path, 'matchExpressions', i];
    const req = c.object(e, p);
    if (!req) return;
    c.string(req.key, [...p, 'key'], { required: true, nonEmpty: true });
    c.oneOf(req.operator, [...p, 'operator'], SELECTOR_OPERATORS);
    if (req.operator === undefined) c.add([...p, 'operator'], `expected one of ${SELECTOR_OPERATORS.join(', ')}, found nothing`);
    const values = c.list(req.values, [...p, 'values']);
    values.forEach((x, j) => c.string(x, [...p, 'values', j]));
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
      c.add([...p, 'values'], `expected at least one value for operator ${req.operator}, found none`);
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
      c.add([...p, 'values'], `expected no values for operator ${req.operator}, found ${values.length}`);
    }
  });
}

function checkClusterRefs(c: Checker, v: unknown, path: (string | number)[]): void {
  c.list(v, path).forEach((r, i) => {
    const ref = c.object(r, [...path, i]);
    if (!ref) return;
    c.string(ref.name, [...path, i, 'name'], { required: true, nonEmpty: true });
    c.string(ref.namespace, [...path, i, 'namespace']);
    c.string(ref.kind, [...path, i, 'kind']);
    c.string(ref.apiVersion, [...path, i, 'apiVersion']);
  });
}

function checkProfileSpec(c: Checker, v: unknown): void {
  const spec = c.object(v, ['spec']);
  if (!spec) return;
  checkSelector(c, spec.clusterSelector, ['spec', 'clusterSelector']);
  checkClusterRefs(c, spec.clusterRefs, ['spec', 'clusterRefs']);
  c.list(spec.setRefs, ['spec', 'setRefs']).forEach((s, i) => c.string(s, ['spec', 'setRefs', i], { nonEmpty: true }));
  c.oneOf(spec.syncMode, ['spec', 'syncMode'], ['OneTime', 'Continuous', 'ContinuousWithDriftDetection', 'DryRun']);
  c.int(spec.tier, ['spec', 'tier'], 1);
  c.bool(spec.continueOnConflict, ['spec', 'continueOnConflict']);
  c.bool(spec.continueOnError, ['spec', 'continueOnError']);
  c.bool(spec.reloader, ['spec', 'reloader']);
  c.oneOf(spec.stopMatchingBehavior, ['spec', 'stopMatchingBehavior'], ['WithdrawPolicies', 'LeavePolicies']);
  c.int(spec.maxConsecutiveFailures, ['spec', 'maxConsecutiveFailures'], 0);
  c.list(spec.dependsOn, ['spec', 'dependsOn']).forEach((s, i) => c.string(s, ['spec', 'dependsOn', i], { nonEmpty: true }));
  c.list(spec.policyRefs, ['spec', 'policyRefs']).forEach((r, i) => {
    const p = ['spec', 'policyRefs', i];
    const ref = c.object(r, p);
    if (!ref) return;
    if (ref.remoteURL === undefined) {
      c.string(ref.kind, [...p, 'kind'], { required: true, nonEmpty: true });
      c.string(ref.name, [...p, 'name'], { required: true, nonEmpty: true });
    } else {
      c.object(ref.remoteURL, [...p, 'remoteURL']);
      if (ref.kind !== undefined) c.add([...p, 'kind'], `expected either kind or remoteURL, found both`);
    }
    c.string(ref.namespace, [...p, 'namespace']);
    c.string(ref.path, [...p, 'path']);
    c.oneOf(ref.deploymentType, [...p, 'deploymentType'], ['Remote', 'Local']);
    c.bool(ref.optional, [...p, 'optional']);
    c.int(ref.tier, [...p, 'tier'], 1);
    c.bool(ref.skipNamespaceCreation, [...p, 'skipNamespaceCreation']);
    c.bool(ref.force, [...p, 'force']);
  });
  c.list(spec.templateResourceRefs, ['spec', 'templateResourceRefs']).forEach((r, i) => {
    const p = ['spec', 'templateResourceRefs', i];
    const ref = c.object(r, p);
    if (!ref) return;
    c.string(ref.identifier, [...p, 'identifier'], { required: true, nonEmpty: true });
    c.bool(ref.optional, [...p, 'optional']);
    const res = c.object(ref.resource, [...p, 'resource']);
    if (!res) return c.add([...p, 'resource'], 'expected a mapping, found nothing');
    c.string(res.kind, [...p, 'resource', 'kind'], { required: true, nonEmpty: true });
    c.string(res.name, [...p, 'resource', 'name'], { required: true, nonEmpty: true });
    c.string(res.apiVersion, [...p, 'resource', 'apiVersion']);
    c.string(res.namespace, [...p, 'resource', 'namespace']);
  });
  c.list(spec.helmCharts, ['spec', 'helmCharts']).forEach((h, i) => c.object(h, ['spec', 'helmCharts', i]));
  c.list(spec.kustomizationRefs, ['spec', 'kustomizationRefs']).forEach((h, i) => c.object(h, ['spec', 'kustomizationRefs', i]));
  c.list(spec.patches, ['spec', 'patches']).forEach((x, i) => {
    const patch = c.object(x, ['spec', 'patches', i]);
    if (!patch) return;
    c.string(patch.patch, ['spec', 'patches', i, 'patch'], { required: true });
    c.object(patch.target, ['spec', 'patches', i, 'target']);
  });
  for (const f of ['preDeployChecks', 'validateHealths', 'driftExclusions', 'preDeleteChecks', 'postDeleteChecks', 'patchesFrom']) {
    c.list(spec[f], ['spec', f]);
  }
  c.stringMap(spec.extraLabels, ['spec', 'extraLabels']);
  c.stringMap(spec.extraAnnotations, ['spec', 'extraAnnotations']);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** isBase64 tells whether `s` is standard padded base64 (what Kubernetes accepts in Secret `data`). */
export function isBase64(s: string): boolean {
  return BASE64.test(s);
}

/**
 * checkObject validates the fields this package reads from `obj` (envelope for every kind, spec for
 * the known kinds) and returns every problem; an empty list means the object is usable.
 */
export function checkObject(obj: unknown): FieldProblem[] {
  const c = new Checker();
  if (!isPlainObject(obj)) {
    c.add([], `expected a mapping (a Kubernetes object), found ${describe(obj)}`);
    return c.problems;
  }
  c.string(obj.apiVersion, ['apiVersion'], { required: true, nonEmpty: true });
  c.string(obj.kind, ['kind'], { required: true, nonEmpty: true });
  const meta = c.object(obj.metadata, ['metadata']);
  if (!meta) {
    if (obj.metadata === undefined || obj.metadata === null) c.add(['metadata'], 'expected a mapping, found nothing');
    return c.problems;
  }
  c.string(meta.name, ['metadata', 'name'], { required: true, nonEmpty: true });
  c.string(meta.namespace, ['metadata', 'namespace']);
  c.stringMap(meta.labels, ['metadata', 'labels']);
  c.stringMap(meta.annotations, ['metadata', 'annotations']);
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return c.problems;
  if (!isKnownKind(obj as KubeObject)) return c.problems;
  switch (obj.kind) {
    case 'ClusterProfile':
    case 'Profile':
      checkProfileSpec(c, obj.spec);
      break;
    case 'SveltosCluster': {
      const spec = c.object(obj.spec, ['spec']);
      if (spec) {
        c.bool(spec.paused, ['spec', 'paused']);
        c.bool(spec.pullMode, ['spec', 'pullMode']);
      }
      break;
    }
    case 'ClusterSet':
    case 'Set': {
      const spec = c.object(obj.spec, ['spec']);
      if (spec) {
        checkSelector(c, spec.clusterSelector, ['spec', 'clusterSelector']);
        checkClusterRefs(c, spec.clusterRefs, ['spec', 'clusterRefs']);
        c.int(spec.maxReplicas, ['spec', 'maxReplicas'], 0);
      }
      break;
    }
    case 'ConfigMap':
      c.stringMap(obj.data, ['data']);
      c.stringMap(obj.binaryData, ['binaryData']);
      break;
    case 'Secret': {
      c.string(obj.type, ['type']);
      c.stringMap(obj.stringData, ['stringData']);
      c.stringMap(obj.data, ['data']);
      if (isPlainObject(obj.data)) {
        for (const [k, v] of Object.entries(obj.data)) {
          if (typeof v === 'string' && !isBase64(v)) {
            c.add(['data', k], `expected base64, found ${describe(v)}`);
          }
        }
      }
      break;
    }
  }
  return c.problems;
}

/** objectKey identifies an object by group, kind, namespace and name: `apps/Deployment/ns/name`. */
export function objectKey(o: { apiVersion: string; kind: string; metadata: { namespace?: string; name: string } }): string {
  return `${apiGroup(o.apiVersion)}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/** profileTier returns a profile's tier, 100 when unset. */
export function profileTier(p: AnyProfile): number {
  return p.spec.tier ?? DEFAULT_TIER;
}

/** isProfilePaused tells whether the profile carries the paused annotation; any value pauses, as in addon-controller's `hasAnnotation`. */
export function isProfilePaused(p: AnyProfile): boolean {
  return p.metadata.annotations?.[ANNOTATION_PAUSED] !== undefined;
}
