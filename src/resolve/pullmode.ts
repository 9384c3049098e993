// ConfigurationGroups and ConfigurationBundles as libsveltos's pull-mode staging writes them
// (lib/pullmode/utils.go, setters.go; sveltos-pullmode.md §2). Names are deterministic instead of
// random so that the same inputs give byte-identical output.

import { createHash } from 'node:crypto';
import {
  ANNOTATION_BUNDLE_INDEX,
  ANNOTATION_REQUESTOR_NAME,
  CONFIG_API_VERSION,
  LABEL_CLUSTER_NAME,
  LABEL_REQUESTOR_FEATURE,
  LABEL_REQUESTOR_KIND,
  LIB_API_VERSION,
  type ConfigurationBundle,
  type ConfigurationBundleSpec,
  type ConfigurationGroup,
  type Feature,
} from '../model/sveltos.js';
import { goJSONMarshal } from './gojson.js';
import { sigsYAMLMarshal } from './goyaml.js';

/** REQUESTOR_KIND is the requestor of every group this package writes: addon-controller's ClusterSummary. */
export const REQUESTOR_KIND = 'ClusterSummary';

/** clusterSummaryName is addon-controller's ClusterSummary name for (profile, cluster) (lib/clusterops). */
export function clusterSummaryName(profileKind: 'ClusterProfile' | 'Profile', profileName: string, clusterName: string): string {
  // clusterops.GetClusterSummaryName: Profiles get the "p--" prefix; clusterType Sveltos adds "-sveltos-".
  return `${profileKind === 'Profile' ? 'p--' : ''}${profileName}-sveltos-${clusterName}`;
}

const NAME_CHARSET = '0123456789abcdefghijklmnopqrstuvwxyz';
const NAME_PREFIX = [...'config-'].map((c) => c.charCodeAt(0));

/**
 * objectName derives the `config-` + 20 character name libsveltos draws at random
 * (randutils.RandomString over [0-9a-z]) from a hash of what identifies the object, so that it
 * is stable across runs. `index` is the bundle index, '' for the group.
 */
export function objectName(clusterNamespace: string, clusterName: string, requestorName: string, feature: string, index: string): string {
  const h = createHash('sha256')
    .update([clusterNamespace, clusterName, REQUESTOR_KIND, requestorName, feature, index].join('\0'))
    .digest();
  // One flat string (appending character by character would keep a chain of 20 string pieces).
  const codes = [...NAME_PREFIX];
  for (let i = 0; i < 20; i++) codes.push(NAME_CHARSET.charCodeAt(h[i]! % NAME_CHARSET.length));
  return String.fromCharCode(...codes);
}

/** resourceIndex is the bundle index of a policyRef: `<Kind>-<Namespace>-<Name>` of the referenced object. */
export function resourceIndex(kind: string, namespace: string, name: string): string {
  return `${kind}-${namespace}-${name}`;
}

/** helmIndex is the bundle index of chunk `i` of a Helm release (`handlers_helm.go`). */
export function helmIndex(releaseNamespace: string, releaseName: string, repositoryName: string, i: number): string {
  return `${releaseNamespace}-${releaseName}-${repositoryName}-${i}`;
}

/** Requestor identifies who stages a group: the ClusterSummary of (profile, cluster) and a feature. */
export interface Requestor {
  clusterNamespace: string;
  clusterName: string;
  /** ClusterSummary name. */
  requestorName: string;
  feature: Feature;
}

function labels(r: Requestor): Record<string, string> {
  return {
    [LABEL_CLUSTER_NAME]: r.clusterName,
    [LABEL_REQUESTOR_FEATURE]: r.feature,
    [LABEL_REQUESTOR_KIND]: REQUESTOR_KIND,
  };
}

/** BundleInfo is what `WithResourceInfo` / `WithReleaseInfo` (and notTracked) put on a bundle's spec. */
export type BundleInfo = Omit<ConfigurationBundleSpec, 'resources'>;

/**
 * prepareResource clears what libsveltos clears before staging (managedFields, resourceVersion,
 * uid) on a copy of the object.
 */
export function prepareResource(obj: Record<string, unknown>): Record<string, unknown> {
  const out = { ...obj };
  const meta = out.metadata;
  if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
    const m = { ...(meta as Record<string, unknown>) };
    delete m.managedFields;
    delete m.resourceVersion;
    delete m.uid;
    out.metadata = m;
  }
  return out;
}

/** bundleHash is libsveltos `getHash`: sha256 over json.Marshal of every object, concatenated. */
export function bundleHash(objects: Record<string, unknown>[]): Buffer {
  const h = createHash('sha256');
  for (const o of objects) h.update(goJSONMarshal(o), 'utf8');
  return h.digest();
}

/**
 * buildBundle writes one ConfigurationBundle: each object (after prepareResource) as one
 * sigs.k8s.io/yaml document in `spec.resources`, `status.hash` over their JSON. Omits zero
 * values as Go's `omitempty` does. Throws YAMLMarshalError where sigs.k8s.io/yaml would fail.
 */
export function buildBundle(r: Requestor, index: string, objects: Record<string, unknown>[], info: BundleInfo = {}): ConfigurationBundle {
  return assembleBundle(r, index, bundleContent(objects), info);
}

/** BundleContent is what a bundle carries, whoever stages it: `spec.resources` and `status.hash`. */
export interface BundleContent {
  /** One sigs.k8s.io/yaml document per object; undefined when there is none (omitempty). */
  resources?: string[];
  /** libsveltos `getHash`, base64. */
  hash: string;
}

/**
 * bundleContent prepares the objects (prepareResource) and encodes them as a bundle carries
 * them. Throws YAMLMarshalError where sigs.k8s.io/yaml would fail.
 */
export function bundleContent(objects: Record<string, unknown>[]): BundleContent {
  const prepared = objects.map(prepareResource);
  const resources = prepared.length > 0 ? prepared.map((o) => sigsYAMLMarshal(o)) : undefined;
  return { ...(resources ? { resources } : {}), hash: bundleHash(prepared).toString('base64') };
}

/**
 * assembleBundle writes the ConfigurationBundle of `r` at `index` around encoded content. The
 * content's `resources` list is shared, not copied: bundles of equal content share one.
 */
export function assembleBundle(r: Requestor, index: string, content: BundleContent, info: BundleInfo = {}): ConfigurationBundle {
  const spec: ConfigurationBundle['spec'] = {};
  if (content.resources) spec.resources = content.resources;
  const set = <K extends keyof BundleInfo>(k: K) => {
    const v = info[k];
    if (v !== undefined && v !== '' && v !== false && v !== 0) (spec as Record<string, unknown>)[k] = v;
  };
  for (const k of [
    'notTracked',
    'timeout',
    'helmReleaseNamespace',
    'helmReleaseName',
    'helmChartVersion',
    'helmIcon',
    'helmRepoURL',
    'helmReleaseUninstall',
    'isLastHelmReleaseBundle',
    'referencedObjectKind',
    'referencedObjectNamespace',
    'referencedObjectName',
    'referenceTier',
    'skipNamespaceCreation',
    'force',
  ] as const) {
    set(k);
  }
  return {
    apiVersion: LIB_API_VERSION,
    kind: 'ConfigurationBundle',
    metadata: {
      name: objectName(r.clusterNamespace, r.clusterName, r.requestorName, r.feature, index),
      namespace: r.clusterNamespace,
      labels: labels(r),
      annotations: { [ANNOTATION_REQUESTOR_NAME]: r.requestorName, [ANNOTATION_BUNDLE_INDEX]: index },
    },
    spec,
    status: { hash: content.hash },
  };
}

/** GroupSettings are the ConfigurationGroup spec fields addon-controller's `prepareSetters` sets from the profile. */
export interface GroupSettings {
  sourceRef: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string };
  tier: number;
  continueOnConflict?: boolean;
  continueOnError?: boolean;
  dryRun?: boolean;
  driftDetection?: boolean;
  driftExclusions?: unknown[];
  reloader?: boolean;
  leavePolicies?: boolean;
  maxConsecutiveFailures?: number;
  preDeployChecks?: unknown[];
  validateHealths?: unknown[];
  preDeleteChecks?: unknown[];
  postDeleteChecks?: unknown[];
  /** Resolved jobCheck Jobs, keyed `<namespace>/<name>` of the Job (src/resolve/job-checks.ts). */
  preDeployCheckJobs?: Record<string, string>;
  validateHealthJobs?: Record<string, string>;
  serviceAccountName?: string;
  serviceAccountNamespace?: string;
}

/** sourceRefFor is the group's sourceRef: the profile (Profile refs carry the namespace). */
export function sourceRefFor(kind: 'ClusterProfile' | 'Profile', name: string, namespace?: string, uid?: string): GroupSettings['sourceRef'] {
  const ref: GroupSettings['sourceRef'] = { apiVersion: CONFIG_API_VERSION, kind, name };
  if (kind === 'Profile' && namespace) ref.namespace = namespace;
  if (uid) ref.uid = uid;
  return ref;
}

/** deployedGVK renders `Kind.version.group` as addon-controller records deployed kinds. */
export function deployedGVK(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return `${kind}.${version}.${group}`;
}

/**
 * buildGroup writes the ConfigurationGroup committing `bundles` in order (action Deploy,
 * updatePhase Ready, sourceStatus Active) with the profile's settings, the deployed kinds and
 * `requestorHash`.
 */
export function buildGroup(
  r: Requestor,
  settings: GroupSettings,
  bundles: ConfigurationBundle[],
  deployedGroupVersionKind: string[],
  requestorHash: Buffer,
): ConfigurationGroup {
  const spec: ConfigurationGroup['spec'] = {
    action: 'Deploy',
    requestorHash: requestorHash.toString('base64'),
    sourceRef: settings.sourceRef,
    sourceStatus: 'Active',
    tier: settings.tier,
    updatePhase: 'Ready',
  };
  if (bundles.length > 0) {
    spec.configurationItem = bundles.map((b) => ({
      contentRef: { apiVersion: LIB_API_VERSION, kind: 'ConfigurationBundle', name: b.metadata.name, namespace: b.metadata.namespace },
      hash: b.status.hash,
    }));
  }
  const flags = ['continueOnConflict', 'continueOnError', 'dryRun', 'driftDetection', 'reloader', 'leavePolicies'] as const;
  for (const f of flags) if (settings[f]) spec[f] = true;
  if (settings.maxConsecutiveFailures !== undefined) spec.maxConsecutiveFailures = settings.maxConsecutiveFailures;
  const lists = ['driftExclusions', 'preDeployChecks', 'validateHealths', 'preDeleteChecks', 'postDeleteChecks'] as const;
  for (const f of lists) if (settings[f] && settings[f].length > 0) spec[f] = settings[f];
  for (const f of ['preDeployCheckJobs', 'validateHealthJobs'] as const) if (settings[f] && Object.keys(settings[f]).length > 0) spec[f] = settings[f];
  if (deployedGroupVersionKind.length > 0) spec.deployedGroupVersionKind = deployedGroupVersionKind;
  if (settings.serviceAccountName) spec.serviceAccountName = settings.serviceAccountName;
  if (settings.serviceAccountNamespace) spec.serviceAccountNamespace = settings.serviceAccountNamespace;
  return {
    apiVersion: LIB_API_VERSION,
    kind: 'ConfigurationGroup',
    metadata: {
      name: objectName(r.clusterNamespace, r.clusterName, r.requestorName, r.feature, ''),
      namespace: r.clusterNamespace,
      labels: labels(r),
      annotations: { [ANNOTATION_REQUESTOR_NAME]: r.requestorName },
    },
    spec,
  };
}

/** clusterGroupsToYAML renders a group then its bundles as a multi-document YAML stream (sigs.k8s.io/yaml). */
export function clusterGroupsToYAML(group: ConfigurationGroup, bundles: ConfigurationBundle[]): string {
  return [group, ...bundles].map((o) => `---\n${sigsYAMLMarshal(o)}`).join('');
}
