// planExport: for each target cluster, the ConfigurationGroups and ConfigurationBundles Sveltos's
// addon-controller would stage for it in pull mode, computed offline from the loaded objects.
// Pure: no fs, no network, no clock (`now` is passed in).

import { createHash } from 'node:crypto';
import { parse as parseYAML, YAMLParseError } from 'yaml';
import { goYAMLTags } from '../model/yaml11.js';
import {
  ANNOTATION_LUA,
  ANNOTATION_TEMPLATE,
  apiGroup,
  checkObject,
  DEFAULT_TIER,
  formatPath,
  isAnyProfile,
  isConfigMap,
  isClusterSet,
  isKnownKind,
  isPlainObject,
  isSecret,
  isSet,
  isSveltosCluster,
  profileTier,
  SECRET_TYPE_CLUSTER_PROFILE,
  sourceOf,
  withSource,
  type AnyProfile,
  type ConfigurationBundle,
  type ConfigurationGroup,
  type Feature,
  type KubeObject,
  type Patch,
  type PolicyRef,
  type SveltosCluster,
} from '../model/sveltos.js';
import { CarryCache, type Carried } from './carry.js';
import { referencedData } from './content.js';
import { goJSONMarshal, goJSONString } from './gojson.js';
import { instantiate, instantiateFields, instantiateReference, TemplateCache, type TemplateContext } from './instantiate.js';
import { resolveJobChecks } from './job-checks.js';
import { filesUnder, fluxChartSource, FLUX_SOURCE_GROUP, fluxRequest, isFluxChartURL, isFluxKind, type FluxChart, type FluxContents, type FluxRequest, type FluxTree } from './flux.js';
import { planKustomize, type PlannedKustomize } from './kustomize-plan.js';
import { DRIFT_DETECTION_OVERRIDE_ANNOTATION, DriftDetectionManifestError, driftDetectionBundles, driftDetectionContent, overridePatches, overrideRef, SVELTOS_NAMESPACE, type DriftDetectionContent, type DriftDetectionManifests } from './drift-detection.js';
import { explainValuesLayout } from './values-layout.js';
import { displayURL, remoteRequest, type RemoteContents, type RemoteRequest, type RemoteSource } from './remote-url.js';
import { assembleBundle, buildGroup, type BundleContent, type BundleInfo, clusterSummaryName, resourceIndex, sourceRefFor, type GroupSettings, type Requestor } from './pullmode.js';
import { clusterKey, describeObject, indexFleet, matchProfiles, profileId, type MatchReason, type PlanProblem } from './select.js';

export type { PlanProblem } from './select.js';
export { clusterGroupsToYAML } from './pullmode.js';

/** ExportPlan is the result of planExport; any `problems` entry means the export must fail. */
export interface ExportPlan {
  clusters: ClusterPlan[];
  problems: PlanProblem[];
  warnings: PlanProblem[];
}

/** PlannedProfile is one profile deployed to a cluster. */
export interface PlannedProfile {
  kind: 'ClusterProfile' | 'Profile';
  namespace?: string;
  name: string;
  tier: number;
  /** Why the profile reaches the cluster. */
  matchedBy: MatchReason[];
  /** Prerequisites (dependsOn), as profile names of the same kind. */
  dependsOn: string[];
}

/** PlannedHelmChart is one templated helmCharts entry, for the Helm stage to render and stage. */
export interface PlannedHelmChart {
  /** `ClusterProfile/name` or `Profile/ns/name`. */
  profile: string;
  /** Requestor of the Helm group (feature Helm) and the settings its ConfigurationGroup takes. */
  requestor: Requestor;
  settings: GroupSettings;
  /** Position in the profile's helmCharts (deploy order). */
  index: number;
  /** The HelmChart with every field instantiated (instantiateStructFields). */
  chart: Record<string, unknown>;
  /** Values after instantiation and valuesFrom merging (getHelmChartInstantiatedValues). */
  values: Record<string, unknown>;
  /** Profile patches, instantiated, for the post-renderer. */
  patches: Patch[];
  extraLabels?: Record<string, string>;
  extraAnnotations?: Record<string, string>;
  /** For a chart in a Flux source (`gitrepository://…`): the chart directory's files, and where they come from. */
  fluxChart?: FluxChart;
}

/** Conflict is a resource or Helm release more than one profile deploys to the same cluster. */
export interface Conflict {
  /** `group/Kind namespace/name` or `helm release namespace/name`. */
  resource: string;
  /** The profile that owns it: lowest tier; on equal tiers the first in plan order. */
  owner: string;
  /** The other profiles; the agent reports a conflict for them. */
  others: string[];
}

/** ClusterPlan is everything planned for one cluster. */
export interface ClusterPlan {
  cluster: string;
  /** The SveltosCluster as planned and templated (without `status`). */
  object: SveltosCluster;
  /** The cluster's Kubernetes version from its `status.version`, when given: Helm charts render for it. */
  kubeVersion?: string;
  labels: Record<string, string>;
  profiles: PlannedProfile[];
  /** Deploy order: prerequisites first, then by tier, then profile order. */
  groups: { group: ConfigurationGroup; bundles: ConfigurationBundle[] }[];
  helm: PlannedHelmChart[];
  /** Kustomize groups to build at export (kustomize runs there), one per profile with kustomizationRefs. */
  kustomize: PlannedKustomize[];
  notCarried: { profile: string; ref: string; reason: string }[];
  conflicts: Conflict[];
  /** The remoteURLs this cluster's policyRefs and kustomizationRefs deploy, with the digest of what was fetched. */
  remoteSources: RemoteSource[];
  /** The drift-detection-manager bundles' content, when a profile with ContinuousWithDriftDetection reaches the cluster. */
  driftDetection?: DriftDetectionContent;
}

/** DriftDetectionInput is what the drift-detection-manager bundles are made from. */
export interface DriftDetectionInput {
  manifests: DriftDetectionManifests;
  /** addon-controller's --registry: replaces the first `docker.io` of the manager's manifest. */
  registry?: string;
  /** addon-controller's --drift-detection-config: a ConfigMap of patches in the Sveltos namespace, among the input objects. */
  configMap?: string;
}

/** StagedRef is a fetched policyRef's content, ready for its bundle: the index key, how messages name it, and what the bundle says it references. */
interface StagedRef {
  index: string;
  label: string;
  info: BundleInfo;
  content: BundleContent;
  resourceKeys: string[];
  gvks: string[];
}

/** PlanInput is everything planExport reads. */
export interface PlanInput {
  objects: KubeObject[];
  /** Limit the plan to these clusters (`namespace/name`); all eligible clusters when unset. */
  clusters?: string[];
  now: Date;
  /** Deploy prerequisites to the clusters of their dependents (addon-controller default: true). */
  autoDeployDependencies?: boolean;
  /** What the exporter fetched for remoteURL refs; a URL it lacks is a problem and listed in `remoteRequests`. */
  remote?: RemoteContents;
  /** What the exporter fetched for Flux-source refs; a source it lacks is a problem and listed in `fluxRequests`. */
  flux?: FluxContents;
  /** The drift-detection-manager manifests; without them a ContinuousWithDriftDetection profile is warned about. */
  driftDetection?: DriftDetectionInput;
  /**
   * Target pull-mode SveltosClusters only (the live management cluster manages the others itself); a
   * `clusters` entry that is not in pull mode is a problem. Default: every cluster, a warning for the others.
   */
  pullModeOnly?: boolean;
  /** Told of every object the plan looked for and did not find (a reader of a live cluster fetches them). */
  onMissing?: (ref: ObjectRef) => void;
}

/** ObjectRef names an object the plan looks up: its apiVersion (the group is what counts), kind, namespace and name. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/** planExport computes the plan; it never throws on bad input, it reports problems. */
export function planExport(input: PlanInput): ExportPlan {
  const planner = planClusters(input);
  const clusters = [...planner.clusters()];
  return { clusters, problems: planner.problems, warnings: planner.warnings };
}

/**
 * ClusterPlanner plans a fleet one cluster at a time, so a caller that is done with a cluster's plan can
 * drop it before the next is made: memory stays that of one cluster, whatever the size of the fleet.
 * The fleet-wide problems and warnings are known when planClusters returns; each cluster's are appended
 * as it is planned.
 */
export interface ClusterPlanner {
  problems: PlanProblem[];
  warnings: PlanProblem[];
  /** How many clusters clusters() yields (the targets that are not paused). */
  count: number;
  /** Whether a profile has helmCharts entries (the Helm stage then needs every cluster's plan first). */
  helm: boolean;
  /** Whether a profile has kustomizationRefs (the Kustomize stage then needs every cluster's plan first). */
  kustomize: boolean;
  /** Whether a profile has remoteURL policyRefs or kustomizationRefs (the exporter then fetches them first). */
  remote: boolean;
  /** The remoteURL requests the plan could not answer from `PlanInput.remote`, by key (filled as clusters are planned). */
  remoteRequests: Map<string, RemoteRequest>;
  /** Whether a profile has policyRefs to Flux sources (the exporter then fetches them first). */
  flux: boolean;
  /** The Flux sources the plan could not answer from `PlanInput.flux`, by key. */
  fluxRequests: Map<string, FluxRequest>;
  /** Whether a profile has syncMode ContinuousWithDriftDetection (the exporter then reads the drift-detection manifests first). */
  driftDetection: boolean;
  /** clusters plans each target in plan order (namespace, then name); iterate it once. */
  clusters(): Generator<ClusterPlan>;
}

/** planClusters does the fleet-wide part of planExport (validation, matching) and plans clusters lazily. */
export function planClusters(input: PlanInput): ClusterPlanner {
  const problems: PlanProblem[] = [];
  const warnings: PlanProblem[] = [];
  const valid = input.objects.filter((o) => validate(o, problems));
  const profiles = valid.filter(isAnyProfile).map(withDefaults);
  const clusters = valid.filter(isSveltosCluster);
  const index = indexFleet(clusters, valid.filter(isClusterSet), valid.filter(isSet));
  const lookup = new ObjectLookup(valid, input.onMissing);

  const matches = matchProfiles(profiles, index, { autoDeployDependencies: input.autoDeployDependencies ?? true }, problems, warnings);
  const order = profileOrder(profiles);

  // Clusters a profile reaches, grouped per cluster.
  const perCluster = new Map<string, { profile: AnyProfile; reasons: MatchReason[] }[]>();
  for (const p of order) {
    for (const [key, reasons] of matches.get(profileId(p)) ?? []) {
      let list = perCluster.get(key);
      if (!list) perCluster.set(key, (list = []));
      list.push({ profile: p, reasons: [...reasons].sort() });
    }
  }

  let targets = index.clusters.map(clusterKey);
  if (input.clusters && input.clusters.length > 0) {
    for (const k of input.clusters) {
      if (!index.clusterByKey.has(k)) problems.push({ code: 'CLUSTER_NOT_FOUND', message: `--cluster ${k}: no SveltosCluster ${k} in the input` });
    }
    const want = new Set(input.clusters);
    targets = targets.filter((k) => want.has(k));
  }
  if (input.pullModeOnly) {
    const pull = (k: string) => index.clusterByKey.get(k)!.spec?.pullMode === true;
    for (const k of targets.filter((t) => !pull(t) && input.clusters?.includes(t))) {
      problems.push({ code: 'CLUSTER_NOT_PULL_MODE', message: `--cluster ${k}: SveltosCluster ${k} is not in pull mode: the management cluster deploys to it itself; only pull-mode clusters are exported` });
    }
    targets = targets.filter(pull);
  }
  for (const key of perCluster.keys()) {
    if (!index.clusterByKey.has(key)) {
      const who = perCluster.get(key)!.map((m) => describeObject(m.profile)).join(', ');
      warnings.push({ code: 'CLUSTER_REF_NOT_FOUND', message: `${who} reference${who.includes(',') ? '' : 's'} cluster ${key}, which is not in the input` });
    }
  }

  const memo = new PlanMemo(input.remote, input.flux, input.driftDetection);
  function* each(): Generator<ClusterPlan> {
    for (const key of targets) {
      const cluster = index.clusterByKey.get(key)!;
      if (cluster.spec?.paused === true) {
        warnings.push({ code: 'CLUSTER_PAUSED', object: describeObject(cluster), message: `${describeObject(cluster)} is paused (spec.paused): Sveltos deploys nothing to it` });
        continue;
      }
      if (cluster.spec?.pullMode !== true) {
        warnings.push({
          code: 'CLUSTER_NOT_PULL_MODE',
          object: describeObject(cluster),
          message: `${describeObject(cluster)} does not set spec.pullMode: true; its configuration is planned as for a pull-mode cluster`,
        });
      }
      yield planCluster(cluster, perCluster.get(key) ?? [], lookup, memo, problems, warnings);
    }
  }
  return {
    problems,
    warnings,
    count: targets.filter((k) => index.clusterByKey.get(k)!.spec?.paused !== true).length,
    helm: profiles.some((p) => (p.spec.helmCharts ?? []).length > 0),
    kustomize: profiles.some((p) => (p.spec.kustomizationRefs ?? []).length > 0),
    remote: profiles.some((p) => [...(p.spec.policyRefs ?? []), ...(p.spec.kustomizationRefs ?? [])].some((r) => isPlainObject(r) && r.remoteURL !== undefined && r.deploymentType !== 'Local')),
    remoteRequests: memo.remoteRequests,
    flux: profiles.some(
      (p) =>
        [...(p.spec.policyRefs ?? []), ...(p.spec.kustomizationRefs ?? [])].some((r) => isPlainObject(r) && isFluxKind(r.kind) && r.deploymentType !== 'Local') ||
        (p.spec.helmCharts ?? []).some((c) => isPlainObject(c) && isFluxChartURL(c.repositoryURL)),
    ),
    fluxRequests: memo.fluxRequests,
    driftDetection: profiles.some((p) => p.spec.syncMode === 'ContinuousWithDriftDetection'),
    clusters: each,
  };
}

function validate(o: KubeObject, problems: PlanProblem[]): boolean {
  if (!isKnownKind(o)) return true;
  const bad = checkObject(o);
  const loc = sourceOf(o);
  for (const p of bad) {
    problems.push({
      code: 'INVALID_OBJECT',
      object: describeObject(o),
      field: formatPath(p.path),
      message: `${describeObject(o)}: ${formatPath(p.path)}: ${p.message}`,
      ...(loc ? { file: loc.file, line: loc.line } : {}),
    });
  }
  return bad.length === 0;
}

// withDefaults applies the CRD defaults the API server would (tier 100, syncMode Continuous,
// policyRefs tier 100 and deploymentType Remote) and, for a Profile, forces references to its
// namespace (addon-controller `limitReferencesToNamespace`).
function withDefaults(p: AnyProfile): AnyProfile {
  const spec = { ...p.spec };
  spec.tier ??= DEFAULT_TIER;
  spec.syncMode ??= 'Continuous';
  spec.stopMatchingBehavior ??= 'WithdrawPolicies';
  if (spec.policyRefs) {
    spec.policyRefs = spec.policyRefs.map((r) => {
      const ref: PolicyRef = { ...r, tier: r.tier ?? DEFAULT_TIER, deploymentType: r.deploymentType ?? 'Remote' };
      if (p.kind === 'Profile') ref.namespace = p.metadata.namespace;
      return ref;
    });
  }
  const out = { ...p, spec } as AnyProfile;
  const loc = sourceOf(p);
  return loc ? withSource(out, loc) : out;
}

// profileOrder: ClusterProfiles then Profiles, each by namespace/name (the order `kubectl get` lists them).
function profileOrder(profiles: AnyProfile[]): AnyProfile[] {
  return [...profiles].sort((a, b) => {
    if (a.kind !== b.kind) return a.kind === 'ClusterProfile' ? -1 : 1;
    return clusterKey(a) < clusterKey(b) ? -1 : clusterKey(a) > clusterKey(b) ? 1 : 0;
  });
}

/** ObjectLookup finds loaded objects by group, kind, namespace and name. */
class ObjectLookup {
  #byKey = new Map<string, KubeObject>();
  constructor(
    objects: KubeObject[],
    readonly onMissing?: (ref: ObjectRef) => void,
  ) {
    for (const o of objects) this.#byKey.set(this.#key(apiGroup(o.apiVersion), o.kind, o.metadata.namespace ?? '', o.metadata.name), o);
  }
  #key(group: string, kind: string, ns: string, name: string): string {
    return `${group}\0${kind}\0${ns}\0${name}`;
  }
  get(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined {
    const g = apiGroup(apiVersion);
    const found = this.#byKey.get(this.#key(g, kind, namespace, name)) ?? this.#byKey.get(this.#key(g, kind, '', name));
    if (!found && kind && name) this.onMissing?.({ apiVersion, kind, namespace, name });
    return found;
  }
}

/**
 * PlanMemo holds what one plan computes once and every cluster shares: parsed templates, the
 * carried content of references that are not templates, and per-profile values.
 */
class PlanMemo {
  readonly templates = new TemplateCache();
  readonly carried = new CarryCache();
  readonly #hashes = new Map<AnyProfile, { specJSON: string; byParts: Map<string, Buffer> }>();
  readonly #settings = new Map<AnyProfile, GroupSettings>();
  readonly remoteRequests = new Map<string, RemoteRequest>();
  readonly fluxRequests = new Map<string, FluxRequest>();
  /** Clusters whose drift-detection bundles could not be made (reported once). */
  readonly driftFailed = new WeakSet<ClusterPlan>();
  constructor(
    readonly remote?: RemoteContents,
    readonly flux?: FluxContents,
    readonly driftDetection?: DriftDetectionInput,
  ) {}

  /**
   * requestorHash: a deterministic digest of what the group was computed from (the feature's
   * inputs), sha256 of goJSONMarshal({feature, spec, parts}). The spec's JSON is computed once per
   * profile, and the digest once per parts for the first few parts a profile has.
   */
  requestorHash(profile: AnyProfile, feature: string, parts: unknown): Buffer {
    let h = this.#hashes.get(profile);
    if (!h) this.#hashes.set(profile, (h = { specJSON: goJSONMarshal(profile.spec), byParts: new Map() }));
    const partsJSON = `${goJSONString(feature)},"parts":${goJSONMarshal(parts)}`;
    let digest = h.byParts.get(partsJSON);
    if (!digest) {
      // goJSONMarshal sorts the keys: feature, parts, spec.
      digest = createHash('sha256').update(`{"feature":${partsJSON},"spec":${h.specJSON}}`).digest();
      if (h.byParts.size < 64) h.byParts.set(partsJSON, digest);
    }
    return digest;
  }

  /** settings returns the profile's group settings, computed once. */
  settings(profile: AnyProfile, compute: () => GroupSettings): GroupSettings {
    let s = this.#settings.get(profile);
    if (!s) this.#settings.set(profile, (s = compute()));
    return s;
  }
}

/** withoutStatus returns the object without `status`, as it is planned and templated. */
function withoutStatus<T extends KubeObject>(o: T): T {
  const copy = { ...o };
  delete (copy as Record<string, unknown>).status;
  return copy;
}

function planCluster(
  cluster: SveltosCluster,
  matched: { profile: AnyProfile; reasons: MatchReason[] }[],
  lookup: ObjectLookup,
  memo: PlanMemo,
  problems: PlanProblem[],
  warnings: PlanProblem[],
): ClusterPlan {
  const object = withoutStatus(cluster);
  const version = (cluster as { status?: { version?: unknown } }).status?.version;
  const plan: ClusterPlan = {
    cluster: clusterKey(cluster),
    object,
    ...(typeof version === 'string' && version.trim() ? { kubeVersion: version.trim() } : {}),
    labels: { ...(cluster.metadata.labels ?? {}) },
    profiles: [],
    groups: [],
    helm: [],
    kustomize: [],
    notCarried: [],
    conflicts: [],
    remoteSources: [],
  };
  const staged: { profile: AnyProfile; group: ConfigurationGroup; bundles: ConfigurationBundle[]; resourceKeys: string[] }[] = [];
  for (const { profile, reasons } of matched) {
    plan.profiles.push({
      kind: profile.kind,
      ...(profile.kind === 'Profile' ? { namespace: profile.metadata.namespace } : {}),
      name: profile.metadata.name,
      tier: profileTier(profile),
      matchedBy: reasons,
      dependsOn: [...(profile.spec.dependsOn ?? [])],
    });
    const ctx = new ProfileContext(cluster, object, profile, lookup, memo, problems, warnings, plan);
    ctx.resolveJobChecks();
    ctx.planDriftDetection();
    if (!ctx.ready) {
      ctx.checkUnsupportedRefs();
      continue;
    }
    const resources = ctx.planResources();
    if (resources) staged.push({ profile, ...resources });
    plan.helm.push(...ctx.planHelm());
    const kustomize = planKustomize(ctx);
    if (kustomize) plan.kustomize.push(kustomize);
  }
  plan.groups = deployOrder(staged).map(({ group, bundles }) => ({ group, bundles }));
  plan.conflicts = findConflicts(staged, plan.helm, warnings, plan.cluster);
  // A Helm release is managed by one ClusterSummary; addon-controller's chart manager does not
  // stage it for the others (canManageChart / determineChartOwnership), so neither do we.
  const helmOwner = new Map(plan.conflicts.filter((c) => c.resource.startsWith('helm release ')).map((c) => [c.resource, c.owner]));
  plan.helm = plan.helm.filter((h) => {
    const res = helmRelease(h);
    const owner = helmOwner.get(res);
    if (owner === undefined || owner === h.profile) return true;
    plan.notCarried.push({ profile: h.profile, ref: res, reason: `the release is managed by ${owner}` });
    return false;
  });
  return plan;
}

// deployOrder: a profile's prerequisites (dependsOn) first, then lower tiers, then profile order.
function deployOrder<T extends { profile: AnyProfile }>(items: T[]): T[] {
  const rest = items.map((it, i) => ({ it, i }));
  const done = new Set<string>();
  const out: T[] = [];
  while (rest.length > 0) {
    const ready = rest.filter(({ it }) =>
      (it.profile.spec.dependsOn ?? []).every((d) => {
        const id = it.profile.kind === 'ClusterProfile' ? `ClusterProfile/${d}` : `Profile/${it.profile.metadata.namespace}/${d}`;
        return done.has(id) || !rest.some((r) => profileId(r.it.profile) === id);
      }),
    );
    const pool = ready.length > 0 ? ready : rest; // a dependency cycle: keep the remaining order
    pool.sort((a, b) => profileTier(a.it.profile) - profileTier(b.it.profile) || a.i - b.i);
    const next = pool[0]!;
    out.push(next.it);
    done.add(profileId(next.it.profile));
    rest.splice(rest.indexOf(next), 1);
  }
  return out;
}

// findConflicts: a resource (or Helm release) has one owner per cluster. Lower tier wins; on equal
// tiers the incumbent keeps it, which offline is the first profile in plan order
// (libsveltos deployer `HasHigherOwnershipPriority`).
function findConflicts(
  staged: { profile: AnyProfile; resourceKeys: string[] }[],
  helm: PlannedHelmChart[],
  warnings: PlanProblem[],
  cluster: string,
): Conflict[] {
  const owners = new Map<string, { id: string; tier: number; pos: number }[]>();
  const note = (res: string, id: string, tier: number, pos: number) => {
    let l = owners.get(res);
    if (!l) owners.set(res, (l = []));
    if (!l.some((x) => x.id === id)) l.push({ id, tier, pos });
  };
  staged.forEach((s, pos) => {
    for (const res of s.resourceKeys) note(res, profileId(s.profile), profileTier(s.profile), pos);
  });
  helm.forEach((h, pos) => note(helmRelease(h), h.profile, h.settings.tier, staged.length + pos));
  const out: Conflict[] = [];
  for (const [res, l] of owners) {
    if (l.length < 2) continue;
    const sorted = [...l].sort((a, b) => a.tier - b.tier || a.pos - b.pos);
    const c = { resource: res, owner: sorted[0]!.id, others: sorted.slice(1).map((x) => x.id) };
    out.push(c);
    warnings.push({
      code: 'CONFLICT',
      message: `cluster ${cluster}: ${res} is deployed by ${[c.owner, ...c.others].join(', ')}; ${c.owner} owns it (lower tier wins, equal tiers: the first), the agent reports a conflict for the others`,
    });
  }
  return out;
}

function helmRelease(h: PlannedHelmChart): string {
  return `helm release ${String(h.chart.releaseNamespace)}/${String(h.chart.releaseName)}`;
}

// ProfileContext plans one (profile, cluster) pair: one ClusterSummary's worth of staging.
class ProfileContext {
  readonly what: string;
  readonly summary: string;
  readonly tctx: TemplateContext;
  settings: GroupSettings;
  ready = true;

  constructor(
    readonly cluster: SveltosCluster,
    clusterObject: SveltosCluster,
    readonly profile: AnyProfile,
    readonly lookup: ObjectLookup,
    readonly memo: PlanMemo,
    readonly problems: PlanProblem[],
    readonly warnings: PlanProblem[],
    readonly plan: ClusterPlan,
  ) {
    this.what = describeObject(profile);
    this.summary = clusterSummaryName(profile.kind, profile.metadata.name, cluster.metadata.name);
    this.tctx = {
      clusterNamespace: cluster.metadata.namespace,
      clusterName: cluster.metadata.name,
      cluster: clusterObject as unknown as Record<string, unknown>,
      mgmtResources: {},
      templates: memo.templates,
    };
    this.settings = memo.settings(profile, () => this.groupSettings());
    this.ready = this.collectTemplateResources();
  }

  problem(code: string, message: string, field?: string): void {
    this.problems.push(this.#entry(code, message, field));
  }
  warn(code: string, message: string, field?: string): void {
    this.warnings.push(this.#entry(code, message, field));
  }
  // #entry names the profile, the cluster, and where the profile was read from.
  #entry(code: string, message: string, field?: string): PlanProblem {
    const loc = sourceOf(this.profile);
    return {
      code,
      object: this.what,
      message: `${this.what} on cluster ${this.plan.cluster}: ${message}`,
      ...(field ? { field } : {}),
      ...(loc ? { file: loc.file, line: loc.line } : {}),
    };
  }

  // requestor identifies this ClusterSummary's group for one feature.
  requestor(feature: Feature): Requestor {
    return { clusterNamespace: this.cluster.metadata.namespace, clusterName: this.cluster.metadata.name, requestorName: this.summary, feature };
  }

  // groupSettings mirrors addon-controller `prepareSetters`.
  groupSettings(): GroupSettings {
    const s = this.profile.spec;
    const saNs = this.profile.metadata.labels?.['projectsveltos.io/serviceaccount-namespace'];
    const saName = this.profile.metadata.labels?.['projectsveltos.io/serviceaccount-name'];
    const settings: GroupSettings = {
      sourceRef: sourceRefFor(this.profile.kind, this.profile.metadata.name, this.profile.metadata.namespace, this.profile.metadata.uid as string | undefined),
      tier: profileTier(this.profile),
      continueOnConflict: s.continueOnConflict ?? false,
      continueOnError: s.continueOnError ?? false,
      dryRun: s.syncMode === 'DryRun',
      driftDetection: s.syncMode === 'ContinuousWithDriftDetection',
      reloader: s.reloader ?? false,
      leavePolicies: s.stopMatchingBehavior === 'LeavePolicies',
    };
    if (settings.driftDetection && s.driftExclusions) settings.driftExclusions = s.driftExclusions;
    if (s.maxConsecutiveFailures !== undefined) settings.maxConsecutiveFailures = s.maxConsecutiveFailures;
    if (s.preDeployChecks) settings.preDeployChecks = s.preDeployChecks;
    if (s.validateHealths) settings.validateHealths = s.validateHealths;
    if (saName) {
      settings.serviceAccountName = saName;
      if (saNs) settings.serviceAccountNamespace = saNs;
    }
    return settings;
  }

  // collectTemplateResources fills MgmtResources from templateResourceRefs (names/namespaces are
  // templates; an empty namespace is the cluster's). A missing object is an error unless optional.
  collectTemplateResources(): boolean {
    let ok = true;
    (this.profile.spec.templateResourceRefs ?? []).forEach((ref, i) => {
      const field = `spec.templateResourceRefs[${i}]`;
      let ns: string;
      let name: string;
      try {
        ns = instantiateReference(ref.resource.namespace ?? '', this.tctx);
        name = instantiateReference(ref.resource.name ?? '', this.tctx);
      } catch (err) {
        this.problem('TEMPLATE', `${field}: ${(err as Error).message}`, field);
        ok = false;
        return;
      }
      const found = this.lookup.get(ref.resource.apiVersion ?? 'v1', ref.resource.kind ?? '', ns, name);
      if (!found) {
        if (ref.optional) return;
        this.problem('TEMPLATE_RESOURCE_NOT_FOUND', `${field}: ${ref.resource.kind} ${ns}/${name} (identifier ${ref.identifier}) is not in the input`, field);
        ok = false;
        return;
      }
      this.tctx.mgmtResources[ref.identifier] = structuredClone(found) as unknown as Record<string, unknown>;
    });
    return ok;
  }

  // patches: spec.patches instantiated, then patchesFrom contents (addon-controller instantiatedPatches).
  patches(): Patch[] | undefined {
    const out: Patch[] = [];
    for (const [i, p] of (this.profile.spec.patches ?? []).entries()) {
      try {
        out.push({ patch: instantiate(p.patch, this.tctx, 'patch'), ...(p.target ? { target: p.target } : {}) });
      } catch (err) {
        this.problem('TEMPLATE', `spec.patches[${i}]: ${(err as Error).message}`, `spec.patches[${i}]`);
        return undefined;
      }
    }
    const from = this.valuesFrom(this.profile.spec.patchesFrom ?? [], 'spec.patchesFrom');
    if (!from) return undefined;
    for (const text of from) {
      const v = parseYAMLValue(text);
      if (!isPlainObject(v) || typeof v.patch !== 'string') {
        this.problem('INVALID_PATCH', `spec.patchesFrom: expected a mapping with a patch field, found ${JSON.stringify(text.slice(0, 60))}`);
        return undefined;
      }
      out.push({ patch: v.patch, ...(isPlainObject(v.target) ? { target: v.target } : {}) });
    }
    return out;
  }

  // valuesFrom reads referenced ConfigMaps/Secrets (sorted keys, templated when annotated), as
  // addon-controller's getValuesFrom: non-templated contents first, then instantiated ones.
  valuesFrom(refs: Record<string, unknown>[], field: string): string[] | undefined {
    const plain: string[] = [];
    const templated: string[] = [];
    for (const [i, r] of refs.entries()) {
      const f = `${field}[${i}]`;
      const kind = String(r.kind ?? '');
      let ns: string;
      let name: string;
      try {
        // addon-controller does not force valuesFrom/patchesFrom to a Profile's namespace; an
        // empty namespace is the cluster's, which for a Profile is its own.
        ns = instantiateReference(String(r.namespace ?? ''), this.tctx);
        name = instantiateReference(String(r.name ?? ''), this.tctx);
      } catch (err) {
        this.problem('TEMPLATE', `${f}: ${(err as Error).message}`, f);
        return undefined;
      }
      const obj = this.lookup.get('v1', kind, ns, name);
      if (!obj || (kind !== 'ConfigMap' && kind !== 'Secret')) {
        if (r.optional === true) continue;
        this.problem('REFERENCE_NOT_FOUND', `${f}: ${kind} ${ns}/${name} is not in the input`, f);
        return undefined;
      }
      if (isSecret(obj) && obj.type !== SECRET_TYPE_CLUSTER_PROFILE) {
        this.problem('SECRET_TYPE', `${f}: Secret ${ns}/${name} has type ${JSON.stringify(obj.type ?? '')}, Sveltos reads only type ${SECRET_TYPE_CLUSTER_PROFILE}`, f);
        return undefined;
      }
      const data = referencedData(obj);
      const isTemplate = obj.metadata.annotations?.[ANNOTATION_TEMPLATE] !== undefined;
      for (const k of Object.keys(data).sort()) {
        if (!isTemplate) plain.push(data[k]!);
        else {
          try {
            templated.push(instantiate(data[k]!, this.tctx, this.summary));
          } catch (err) {
            this.problem('TEMPLATE', `${f}: ${kind} ${ns}/${name} key ${k}: ${(err as Error).message}`, f);
            return undefined;
          }
        }
      }
    }
    return [...plain, ...templated];
  }

  // planResources stages the policyRefs (feature Resources): one bundle per referenced object.
  planResources(): { group: ConfigurationGroup; bundles: ConfigurationBundle[]; resourceKeys: string[] } | undefined {
    const refs = this.profile.spec.policyRefs;
    if (refs === undefined) return undefined;
    const r = this.requestor('Resources');
    const patches = this.patches();
    if (!patches) return undefined;
    if (this.profile.spec.extraLabels || this.profile.spec.extraAnnotations) {
      this.warn(
        'EXTRA_METADATA_IGNORED',
        'spec.extraLabels/extraAnnotations are not applied to policyRefs objects in pull mode (addon-controller stages them before adding extra metadata)',
      );
    }
    const bundles: ConfigurationBundle[] = [];
    const resourceKeys: string[] = [];
    const gvks = new Set<string>();
    const seen = new Set<string>();
    let failed = false;
    for (const [i, ref] of refs.entries()) {
      const field = `spec.policyRefs[${i}]`;
      if (ref.deploymentType === 'Local') {
        const label = ref.remoteURL ? `remoteURL ${String(ref.remoteURL.url ?? '')}` : `${ref.kind} ${ref.namespace ?? ''}/${ref.name}`;
        this.plan.notCarried.push({ profile: profileId(this.profile), ref: label, reason: 'deploymentType Local: deployed to the management cluster, not by the agent' });
        continue;
      }
      if (ref.remoteURL || isFluxKind(ref.kind)) {
        // Fetched before planning: a remoteURL or a Flux source.
        const staged = ref.remoteURL ? this.remotePolicyRef(ref.remoteURL, ref.optional === true, field, patches) : this.fluxPolicyRef(ref, field, patches);
        if (staged === 'failed') failed = true;
        else if (staged === 'skipped') continue;
        else if (seen.has(staged.index)) this.warn('DUPLICATE_REFERENCE', `${field}: ${staged.label} is referenced more than once; carried once`, field);
        else {
          seen.add(staged.index);
          bundles.push(assembleBundle(r, staged.index, staged.content, { ...staged.info, referenceTier: ref.tier ?? DEFAULT_TIER, skipNamespaceCreation: ref.skipNamespaceCreation ?? false, force: ref.force ?? false }));
          resourceKeys.push(...staged.resourceKeys);
          for (const g of staged.gvks) gvks.add(g);
        }
        continue;
      }
      if (!isReadableRef(ref)) {
        this.problem('UNSUPPORTED', `${field}: ${unsupportedSource(ref)}`, field);
        failed = true;
        continue;
      }
      let ns: string;
      let name: string;
      try {
        ({ ns, name } = refNames(ref, this.tctx));
      } catch (err) {
        this.problem('TEMPLATE', `${field}: ${(err as Error).message}`, field);
        failed = true;
        continue;
      }
      const obj = this.lookup.get('v1', ref.kind, ns, name);
      if (!obj) {
        if (ref.optional) {
          this.warn('OPTIONAL_REFERENCE_MISSING', `${field}: optional ${ref.kind} ${ns}/${name} is not in the input, skipped`, field);
          continue;
        }
        this.problem('REFERENCE_NOT_FOUND', `${field}: ${ref.kind} ${ns}/${name} is not in the input`, field);
        failed = true;
        continue;
      }
      if (isSecret(obj) && obj.type !== SECRET_TYPE_CLUSTER_PROFILE) {
        this.problem('SECRET_TYPE', `${field}: Secret ${ns}/${name} has type ${JSON.stringify(obj.type ?? '')}, Sveltos reads only type ${SECRET_TYPE_CLUSTER_PROFILE}`, field);
        failed = true;
        continue;
      }
      const annotations = obj.metadata.annotations ?? {};
      if (isLua(obj)) {
        this.problem('UNSUPPORTED', `${field}: ${luaMessage(ref.kind, ns, name)}`, field);
        failed = true;
        continue;
      }
      const dataOf = (): Record<string, string> => referencedData(obj);
      let carried: Carried;
      if (annotations[ANNOTATION_TEMPLATE] !== undefined) {
        const data = dataOf();
        const rendered: Record<string, string> = {};
        for (const k of Object.keys(data).sort()) {
          try {
            rendered[k] = instantiate(data[k]!, this.tctx, this.summary);
          } catch (err) {
            this.problem('TEMPLATE', `${field}: ${ref.kind} ${ns}/${name} key ${k}: ${(err as Error).message}`, field);
            failed = true;
          }
        }
        if (failed) continue;
        carried = this.memo.carried.rendered(rendered, patches);
      } else {
        // Not a template: the same for every cluster that references it with these patches.
        carried = this.memo.carried.get(obj, dataOf, patches);
      }
      if (!carried.ok && carried.stage === 'content') {
        for (const p of carried.problems) this.problem('INVALID_CONTENT', `${field}: ${ref.kind} ${ns}/${name} key ${p.key}: ${p.message}`, field);
        failed = true;
        continue;
      }
      if (!carried.ok && carried.stage === 'patch') {
        this.problem('PATCH', `${field}: ${ref.kind} ${ns}/${name}: ${carried.message}`, field);
        failed = true;
        continue;
      }
      const index = resourceIndex(ref.kind, ns, name);
      if (seen.has(index)) {
        this.warn('DUPLICATE_REFERENCE', `${field}: ${ref.kind} ${ns}/${name} is referenced more than once; carried once`, field);
        continue;
      }
      seen.add(index);
      if (!carried.ok) {
        this.problem('INVALID_CONTENT', `${field}: ${ref.kind} ${ns}/${name}: ${carried.message}`, field);
        failed = true;
        continue;
      }
      bundles.push(
        assembleBundle(r, index, carried.content, {
          referencedObjectKind: ref.kind,
          referencedObjectNamespace: ns,
          referencedObjectName: name,
          referenceTier: ref.tier ?? DEFAULT_TIER,
          skipNamespaceCreation: ref.skipNamespaceCreation ?? false,
          force: ref.force ?? false,
        }),
      );
      resourceKeys.push(...carried.resourceKeys);
      for (const g of carried.gvks) gvks.add(g);
    }
    if (failed) return undefined;
    bundles.unshift(...driftDetectionBundles(r, this.settings, this.plan.driftDetection));
    const parts = bundles.map((b) => [b.metadata.annotations['pullmode.projectsveltos.io/index'], b.status.hash]);
    const hash = this.memo.requestorHash(this.profile, 'Resources', parts);
    const group = buildGroup(r, this.settings, bundles, [...gvks], hash);
    return { group, bundles, resourceKeys };
  }

  // fluxFetched is what the Flux source `kind ns/name` holds (the exporter fetched it before planning), recorded
  // with its revision among the cluster's sources; otherwise the problem is reported. A missing source is an
  // error here, where addon-controller skips it silently (policyRefs) or panics (helm charts): `upstream` says which.
  fluxFetched(kind: string, ns: string, name: string, field: string, upstream = ''): { source: KubeObject; revision: string; tree: FluxTree } | 'failed' {
    const what = `${kind} ${ns}/${name}`;
    const source = this.lookup.get(`${FLUX_SOURCE_GROUP}/v1`, kind, ns, name);
    if (!source) {
      this.problem('REFERENCE_NOT_FOUND', `${field}: ${what} is not in the input (${upstream}add the source object to --from)`, field);
      return 'failed';
    }
    const req = fluxRequest(
      source,
      (sns, sname) => this.lookup.get('v1', 'Secret', sns, sname),
      (sns, sname) => this.lookup.get(`${FLUX_SOURCE_GROUP}/v1`, 'GitRepository', sns, sname),
    );
    if ('problem' in req) {
      this.problem('FLUX_SOURCE', `${field}: ${req.problem}`, field);
      return 'failed';
    }
    const fetched = this.memo.flux?.(req);
    if (!fetched) {
      this.memo.fluxRequests.set(req.key, req);
      this.problem('FLUX_SOURCE', `${field}: ${what} was not fetched`, field);
      return 'failed';
    }
    if (!fetched.ok) {
      this.problem(fetched.unsupported ? 'UNSUPPORTED' : 'FLUX_SOURCE', `${field}: ${fetched.message}`, field);
      return 'failed';
    }
    const display = displayURL(req.url);
    for (const { url, revision } of [{ url: display, revision: fetched.revision }, ...(fetched.included ?? [])]) {
      if (!this.plan.remoteSources.some((s) => s.url === url)) this.plan.remoteSources.push({ url, digest: revision });
    }
    return { source, revision: fetched.revision, tree: fetched.tree };
  }

  // fluxPolicyRef stages a policyRef to a Flux source as addon-controller's deployContentOfSource: every file
  // under the templated `path` of the fetched artifact, keyed by its relative path, rendered as a template
  // when the source object carries the template annotation, then patched; one bundle keyed by the source.
  fluxPolicyRef(
    ref: { kind?: string; namespace?: string; name?: string; path?: string },
    field: string,
    patches: Patch[],
  ): StagedRef | 'failed' {
    const kind = String(ref.kind);
    let ns: string;
    let name: string;
    let path: string;
    try {
      ({ ns, name } = refNames(ref, this.tctx));
      path = ref.path ? instantiateReference(ref.path, this.tctx) : '';
    } catch (err) {
      this.problem('TEMPLATE', `${field}: ${(err as Error).message}`, field);
      return 'failed';
    }
    const what = `${kind} ${ns}/${name}`;
    const object = this.lookup.get(`${FLUX_SOURCE_GROUP}/v1`, kind, ns, name);
    if (object && isLua(object)) {
      this.problem('UNSUPPORTED', `${field}: ${luaMessage(kind, ns, name)}`, field);
      return 'failed';
    }
    const fetched = this.fluxFetched(kind, ns, name, field, 'addon-controller skips a missing Flux source silently, so the profile would deploy without it; ');
    if (fetched === 'failed') return 'failed';
    const { source } = fetched;
    const files = filesUnder(fetched.tree, path);
    if (!files) {
      this.problem('FLUX_SOURCE', `${field}: ${what} revision ${fetched.revision}: path ${JSON.stringify(path)} holds no file`, field);
      return 'failed';
    }
    const template = source.metadata.annotations?.[ANNOTATION_TEMPLATE] !== undefined;
    const data: Record<string, string> = {};
    for (const [rel, bytes] of files) {
      try {
        data[rel] = template ? instantiate(bytes.toString('utf8'), this.tctx, this.summary) : bytes.toString('utf8');
      } catch (err) {
        this.problem('TEMPLATE', `${field}: ${what} file ${rel}: ${(err as Error).message}`, field);
        return 'failed';
      }
    }
    const carried = this.memo.carried.rendered(data, patches);
    if (!carried.ok) {
      if (carried.stage === 'content') for (const p of carried.problems) this.problem('INVALID_CONTENT', `${field}: ${what} revision ${fetched.revision} file ${path ? `${path}/` : ''}${p.key}: ${p.message}`, field);
      else this.problem(carried.stage === 'patch' ? 'PATCH' : 'INVALID_CONTENT', `${field}: ${what}: ${carried.message}`, field);
      return 'failed';
    }
    return { index: resourceIndex(kind, ns, name), label: what, info: { referencedObjectKind: kind, referencedObjectNamespace: ns, referencedObjectName: name }, content: carried.content, resourceKeys: carried.resourceKeys, gvks: [...carried.gvks] };
  }

  // remoteFetched is what a ref's remoteURL served (the exporter fetched it before planning), recorded with its
  // digest among the cluster's remote sources; otherwise the problem is reported (a warning when optional).
  remoteFetched(remoteURL: Record<string, unknown>, optional: boolean, field: string): { url: string; digest: string; parts: Buffer[]; text: () => string } | 'failed' | 'skipped' {
    const req = remoteRequest(remoteURL, this.tctx, (ns, name) => this.lookup.get('v1', 'Secret', ns, name));
    if ('problem' in req) {
      this.problem('REMOTE_URL', `${field}.${req.problem}`, `${field}.remoteURL`);
      return 'failed';
    }
    const fetched = this.memo.remote?.(req);
    if (!fetched) {
      this.memo.remoteRequests.set(req.key, req);
      this.problem('REMOTE_URL', `${field}: remoteURL ${displayURL(req.url)} was not fetched`, `${field}.remoteURL`);
      return 'failed';
    }
    if (!fetched.ok) {
      if (optional) {
        this.warn('OPTIONAL_REFERENCE_MISSING', `${field}: optional ${fetched.message}; skipped`, field);
        return 'skipped';
      }
      this.problem('REMOTE_URL', `${field}: ${fetched.message}`, `${field}.remoteURL`);
      return 'failed';
    }
    if (!this.plan.remoteSources.some((s) => s.url === req.url)) this.plan.remoteSources.push({ url: req.url, digest: fetched.digest });
    return { url: req.url, digest: fetched.digest, parts: fetched.parts, text: fetched.text };
  }

  // remotePolicyRef stages a remoteURL policyRef: its fetched text as the one key `content.yaml` of a
  // synthetic ConfigMap named by the URL, rendered as one template with `template: true`, then patched.
  remotePolicyRef(
    remoteURL: Record<string, unknown>,
    optional: boolean,
    field: string,
    patches: Patch[],
  ): StagedRef | 'failed' | 'skipped' {
    const fetched = this.remoteFetched(remoteURL, optional, field);
    if (typeof fetched === 'string') return fetched;
    const shown = displayURL(fetched.url);
    let text: string;
    try {
      text = fetched.text();
    } catch (err) {
      this.problem('REMOTE_URL', `${field}: ${(err as Error).message}`, `${field}.remoteURL`);
      return 'failed';
    }
    if (remoteURL.template === true) {
      try {
        text = instantiate(text, this.tctx, this.summary);
      } catch (err) {
        this.problem('TEMPLATE', `${field}: remoteURL ${shown}: ${(err as Error).message}`, field);
        return 'failed';
      }
    }
    const carried = this.memo.carried.rendered({ 'content.yaml': text }, patches);
    if (!carried.ok) {
      const what = carried.stage === 'content' ? carried.problems.map((p) => p.message).join('; ') : carried.message;
      this.problem(carried.stage === 'patch' ? 'PATCH' : 'INVALID_CONTENT', `${field}: remoteURL ${shown}: ${what}`, field);
      return 'failed';
    }
    return { index: resourceIndex('', '', fetched.url), label: `remoteURL ${shown}`, info: { referencedObjectName: fetched.url }, content: carried.content, resourceKeys: carried.resourceKeys, gvks: [...carried.gvks] };
  }

  // planHelm instantiates each helmCharts entry for the Helm stage (rendering needs the helm binary).
  planHelm(): PlannedHelmChart[] {
    const charts = this.profile.spec.helmCharts ?? [];
    if (charts.length === 0) return [];
    const r = this.requestor('Helm');
    const patches = this.patches();
    if (!patches) return [];
    const out: PlannedHelmChart[] = [];
    for (const [i, raw] of charts.entries()) {
      const field = `spec.helmCharts[${i}]`;
      let chart: Record<string, unknown>;
      try {
        chart = instantiateFields(raw, this.tctx);
      } catch (err) {
        // A values template that breaks the chart's YAML once rendered: say why, where and how to fix it.
        const why = err instanceof YAMLParseError && typeof raw.values === 'string' ? this.explainValues(raw.values, String(raw.chartName ?? '')) : undefined;
        if (why) this.problem('HELM_VALUES', `${field}.values (chart ${String(raw.chartName ?? '?')}): the rendered values are not valid YAML: ${why}`, `${field}.values`);
        else this.problem('TEMPLATE', `${field}: ${(err as Error).message}`, field);
        continue;
      }
      const fluxChart = isFluxChartURL(chart.repositoryURL) ? this.fluxChart(String(chart.repositoryURL), `${field}.repositoryURL`) : undefined;
      if (fluxChart === 'failed') continue;
      if (!fluxChart && !this.chartAccess(chart, field)) continue;
      const values = this.helmValues(chart, field, typeof raw.values === 'string' ? raw.values : '');
      if (!values) continue;
      out.push({
        ...(fluxChart ? { fluxChart } : {}),
        profile: profileId(this.profile),
        requestor: r,
        settings: this.settings,
        index: i,
        chart,
        values,
        patches,
        ...(this.profile.spec.extraLabels ? { extraLabels: this.profile.spec.extraLabels } : {}),
        ...(this.profile.spec.extraAnnotations ? { extraAnnotations: this.profile.spec.extraAnnotations } : {}),
      });
    }
    return out;
  }

  // chartAccess looks up the Secrets a chart's registryCredentialsConfig and signatureVerification name (so a
  // live read fetches them), and refuses the verification this exporter cannot do rather than skip it:
  // Keyless cosign (it needs Sigstore's Fulcio and Rekor) and Helm GPG provenance. addon-controller applies
  // signatureVerification to OCI charts only and provenanceVerification to HTTP ones (source_integrity.go).
  chartAccess(chart: Record<string, unknown>, field: string): boolean {
    const oci = String(chart.repositoryURL ?? '').startsWith('oci://');
    const cns = this.cluster.metadata.namespace;
    const ref = (v: unknown) => (isPlainObject(v) && typeof v.name === 'string' && v.name ? { ns: typeof v.namespace === 'string' && v.namespace ? v.namespace : cns, name: v.name } : undefined);
    const creds = isPlainObject(chart.registryCredentialsConfig) ? chart.registryCredentialsConfig : {};
    const sv = oci && isPlainObject(chart.signatureVerification) ? chart.signatureVerification : undefined;
    for (const r of [ref(creds.credentials), ref(creds.ca), ref(sv?.secretRef)]) if (r) this.lookup.get('v1', 'Secret', r.ns, r.name);
    if (sv?.provider === 'Keyless') {
      this.problem('UNSUPPORTED', `${field}.signatureVerification: provider Keyless is UNSUPPORTED by this exporter (it needs Sigstore's Fulcio and Rekor); sign the chart with a key and use provider PublicKey with a Secret holding cosign.pub`, `${field}.signatureVerification`);
      return false;
    }
    if (!oci && isPlainObject(chart.provenanceVerification)) {
      this.problem('UNSUPPORTED', `${field}.provenanceVerification: Helm GPG provenance (.prov) is UNSUPPORTED by this exporter; check the chart's provenance before export (helm verify) and remove the field, or serve the chart from an OCI registry with a cosign signature`, `${field}.provenanceVerification`);
      return false;
    }
    return true;
  }

  // fluxChart reads a chart from a Flux source as addon-controller's getHelmChartAndRepoName: the directory
  // PATH of the source's artifact (a local chart for helm). A missing source is an error (upstream panics).
  fluxChart(url: string, field: string): FluxChart | 'failed' {
    const at = fluxChartSource(url);
    if ('problem' in at) {
      this.problem('FLUX_SOURCE', `${field}: ${at.problem}`, field);
      return 'failed';
    }
    let ns: string;
    let name: string;
    try {
      ({ ns, name } = refNames({ namespace: at.namespace, name: at.name }, this.tctx));
    } catch (err) {
      this.problem('TEMPLATE', `${field}: ${(err as Error).message}`, field);
      return 'failed';
    }
    const fetched = this.fluxFetched(at.kind, ns, name, field, 'addon-controller panics on a helm chart whose Flux source is missing; ');
    if (fetched === 'failed') return 'failed';
    const source = `${at.kind} ${ns}/${name} revision ${fetched.revision}${at.path ? ` path ${at.path}` : ''}`;
    const files = filesUnder(fetched.tree, at.path);
    if (!files?.some(([p]) => p === 'Chart.yaml')) {
      this.problem('FLUX_SOURCE', `${field}: ${source}: no Chart.yaml there (the path must name a chart's directory)`, field);
      return 'failed';
    }
    return { source, key: `${at.kind}\0${ns}\0${name}\0${fetched.revision}\0${at.path}`, tree: fetched.tree, path: at.path.split('/').filter((p) => p !== '' && p !== '.').join('/') };
  }

  // helmValues is getHelmChartInstantiatedValues: values instantiated (a second time, as
  // addon-controller does after instantiateStructFields), then valuesFrom merged over them.
  // `source` is the values template as written, to explain values that no longer parse once rendered.
  helmValues(chart: Record<string, unknown>, field: string, source: string): Record<string, unknown> | undefined {
    let result: Record<string, unknown> = {};
    const requestor = String(chart.chartName ?? '');
    let text: string;
    try {
      text = instantiate(typeof chart.values === 'string' ? chart.values : '', this.tctx, requestor);
    } catch (err) {
      this.problem('HELM_VALUES', `${field}.values: ${(err as Error).message}`, `${field}.values`);
      return undefined;
    }
    if (text !== '') {
      let v: unknown;
      let broken: string | undefined;
      try {
        v = parseYAMLValue(text);
        if (v !== null && !isPlainObject(v)) broken = 'the rendered values are not a YAML mapping';
      } catch (err) {
        const e = err as Error & { linePos?: { line: number }[] };
        const line = e.linePos?.[0]?.line;
        broken = `the rendered values are not valid YAML (${line !== undefined ? `rendered line ${line}: ` : ''}${e.message.split('\n')[0]})`;
      }
      if (broken !== undefined) {
        const why = this.explainValues(source, requestor);
        this.problem('HELM_VALUES', `${field}.values (chart ${requestor || '?'}): ${broken}${why ? `: ${why}` : ''}`, `${field}.values`);
        return undefined;
      }
      result = (v as Record<string, unknown> | null) ?? {};
    }
    const from = this.valuesFrom(Array.isArray(chart.valuesFrom) ? chart.valuesFrom.filter(isPlainObject) : [], `${field}.valuesFrom`);
    if (!from) return undefined;
    for (const text of from) {
      const v = parseYAMLValue(text);
      if (v === null) continue;
      if (!isPlainObject(v)) {
        this.problem('HELM_VALUES', `${field}.valuesFrom: content is not a YAML mapping`, `${field}.valuesFrom`);
        return undefined;
      }
      result = mergeOverride(result, v);
    }
    return result;
  }

  // explainValues tells which expression of a values template broke the rendered values, and a fix
  // checked by rendering the fixed template the same way (both instantiations, then parsing).
  explainValues(source: string, requestor: string): string | undefined {
    const attempt = <T>(f: () => T): T | undefined => {
      try {
        return f();
      } catch {
        return undefined;
      }
    };
    return explainValuesLayout(
      source,
      (expr) => attempt(() => instantiate(expr, this.tctx, requestor)),
      (fixed) =>
        attempt(() => {
          const once = instantiateFields({ values: fixed }, this.tctx).values;
          return isPlainObject(parseYAMLValue(instantiate(typeof once === 'string' ? once : '', this.tctx, requestor)));
        }) === true,
    );
  }

  // checkUnsupportedRefs reports the policyRefs that cannot be carried offline when planResources does
  // not run (a templateResourceRef is missing), so that a missing reference hides no unsupported feature.
  // References whose name needs the missing resources are left out.
  checkUnsupportedRefs(): void {
    for (const [i, ref] of (this.profile.spec.policyRefs ?? []).entries()) {
      const field = `spec.policyRefs[${i}]`;
      if (ref.deploymentType === 'Local' || ref.remoteURL || isFluxKind(ref.kind)) continue;
      if (!isReadableRef(ref)) {
        this.problem('UNSUPPORTED', `${field}: ${unsupportedSource(ref)}`, field);
        continue;
      }
      let at: { ns: string; name: string };
      try {
        at = refNames(ref, this.tctx);
      } catch {
        continue;
      }
      const obj = this.lookup.get('v1', ref.kind, at.ns, at.name);
      if (obj && isLua(obj)) this.problem('UNSUPPORTED', `${field}: ${luaMessage(ref.kind, at.ns, at.name)}`, field);
    }
  }

  // planDriftDetection makes the cluster's drift-detection-manager bundles once, for the first profile with
  // syncMode ContinuousWithDriftDetection (addon-controller stages them into each of its groups): patched by
  // the ConfigMap the SveltosCluster's override annotation names, else by the global one. Without manifests,
  // the profile is warned about.
  planDriftDetection(): void {
    if (!this.settings.driftDetection || this.memo.driftFailed.has(this.plan)) return;
    if (this.plan.driftDetection) {
      this.plan.driftDetection.profiles.push(profileId(this.profile));
      return;
    }
    const input = this.memo.driftDetection;
    if (!input) {
      this.warn('DRIFT_DETECTION_MANAGER', 'syncMode ContinuousWithDriftDetection: the drift-detection-manager bundles addon-controller adds to its groups are not carried (give --sveltos-version or --drift-detection-manifest)');
      return;
    }
    const cns = this.cluster.metadata.namespace;
    let patches: Patch[] = [];
    const ref = this.cluster.metadata.annotations?.[DRIFT_DETECTION_OVERRIDE_ANNOTATION];
    const at = ref ? overrideRef(ref, cns) : input.configMap ? { namespace: SVELTOS_NAMESPACE, name: input.configMap } : undefined;
    const why = ref ? `annotation ${DRIFT_DETECTION_OVERRIDE_ANNOTATION} on ${describeObject(this.cluster)}` : '--drift-detection-config';
    if (ref && !at) {
      this.problem('DRIFT_DETECTION', `${why}: ${JSON.stringify(ref)} is not <namespace>/<name> or <name>`);
      this.memo.driftFailed.add(this.plan);
      return;
    }
    if (at) {
      const cm = this.lookup.get('v1', 'ConfigMap', at.namespace, at.name);
      if (!cm || !isConfigMap(cm) || cm.metadata.namespace !== at.namespace) {
        this.problem('DRIFT_DETECTION', `${why}: ConfigMap ${at.namespace}/${at.name} of drift-detection-manager patches is not in the input`);
        this.memo.driftFailed.add(this.plan);
        return;
      }
      patches = overridePatches(cm);
    }
    try {
      this.plan.driftDetection = driftDetectionContent(input.manifests, cns, this.cluster.metadata.name, { ...(input.registry ? { registry: input.registry } : {}), patches });
      this.plan.driftDetection.profiles.push(profileId(this.profile));
    } catch (err) {
      if (!(err instanceof DriftDetectionManifestError)) throw err;
      this.problem('DRIFT_DETECTION', err.message);
      this.memo.driftFailed.add(this.plan);
    }
  }

  // resolveJobChecks resolves the jobCheck Jobs of the deploy checks into this cluster's group settings,
  // as prepareSetters does for a deploying ClusterSummary (the delete checks' Jobs are staged only when
  // the profile is being removed, which an export never carries).
  resolveJobChecks(): void {
    const deps = { instantiate: (t: string) => instantiateReference(t, this.tctx), lookup: (kind: string, ns: string, name: string) => this.lookup.get('v1', kind, ns, name) };
    const resolved: Partial<GroupSettings> = {};
    for (const [f, jobsField] of [['preDeployChecks', 'preDeployCheckJobs'], ['validateHealths', 'validateHealthJobs']] as const) {
      const { jobs, problems } = resolveJobChecks(this.profile.spec[f], `spec.${f}`, deps);
      for (const p of problems) this.problem(p.code, p.message, p.field);
      if (Object.keys(jobs).length > 0) resolved[jobsField] = jobs;
    }
    if (Object.keys(resolved).length > 0) this.settings = { ...this.settings, ...resolved };
  }
}

// refNames instantiates a policyRef's namespace and name (throws on a template error).
function refNames(ref: { namespace?: string; name?: string }, tctx: TemplateContext): { ns: string; name: string } {
  return { ns: instantiateReference(ref.namespace ?? '', tctx), name: instantiateReference(ref.name ?? '', tctx) };
}

// isReadableRef tells whether a policyRef names a ConfigMap or Secret read from the input.
function isReadableRef<R extends { remoteURL?: unknown; kind?: string }>(ref: R): ref is R & { kind: 'ConfigMap' | 'Secret' } {
  return !ref.remoteURL && (ref.kind === 'ConfigMap' || ref.kind === 'Secret');
}

// unsupportedSource tells why a policyRef's kind cannot be read: Flux sources and remoteURLs are handled
// before this is asked, so it is a kind Sveltos does not read either.
function unsupportedSource(ref: { kind?: string }): string {
  return `kind ${JSON.stringify(ref.kind ?? '')}: expected ConfigMap, Secret, GitRepository, OCIRepository or Bucket (or a remoteURL)`;
}

// isLua tells whether a referenced object is a Lua program (and not a template).
function isLua(obj: KubeObject): boolean {
  const annotations = obj.metadata.annotations ?? {};
  return annotations[ANNOTATION_TEMPLATE] === undefined && annotations[ANNOTATION_LUA] !== undefined;
}

function luaMessage(kind: string, ns: string, name: string): string {
  return `${kind} ${ns}/${name} is a Lua program (annotation ${ANNOTATION_LUA}); not supported offline`;
}

function parseYAMLValue(text: string): unknown {
  return parseYAML(text, { version: '1.1', customTags: goYAMLTags, maxAliasCount: 1000 }) ?? null;
}

// mergeOverride is mergo.Merge(dst, src, WithOverride): maps merge recursively, other values are
// replaced, and empty source values (null, "", 0, false, empty map or list) do not override.
function mergeOverride(dst: Record<string, unknown>, src: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...dst };
  for (const [k, v] of Object.entries(src)) {
    const cur = out[k];
    if (isPlainObject(cur) && isPlainObject(v)) out[k] = mergeOverride(cur, v);
    else if (!(k in out) || !isEmptyValue(v)) out[k] = v;
  }
  return out;
}

function isEmptyValue(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.keys(v).length === 0;
  return false;
}
