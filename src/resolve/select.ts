// Cluster selection as Sveltos's addon-controller does it (sveltos-pullmode.md §4.2): which
// SveltosClusters each ClusterProfile/Profile matches through clusterSelector, clusterRefs,
// setRefs (ClusterSet/Set with maxReplicas) and, for prerequisites, the clusters of the profiles
// that depend on them. Pure: the caller passes every loaded object.

import { matchesLabels, requirementsOf, type Requirement } from '../model/labels.js';
import {
  isProfilePaused,
  type AnyProfile,
  type ClusterSet,
  type KubeObject,
  type LabelSelector,
  type Labels,
  type ObjectReference,
  type SveltosCluster,
  type SveltosSet,
} from '../model/sveltos.js';

/** PlanProblem is one error or warning of a plan; `object` is `Kind ns/name`. */
export interface PlanProblem {
  code: string;
  message: string;
  object?: string;
  file?: string;
  line?: number;
  field?: string;
}

/** clusterKey is `namespace/name`, the form `--cluster` takes. */
export function clusterKey(c: { metadata: { namespace?: string; name: string } }): string {
  return `${c.metadata.namespace ?? ''}/${c.metadata.name}`;
}

/** profileId names a profile uniquely: `ClusterProfile/name` or `Profile/namespace/name`. */
export function profileId(p: AnyProfile): string {
  return p.kind === 'ClusterProfile' ? `ClusterProfile/${p.metadata.name}` : `Profile/${p.metadata.namespace}/${p.metadata.name}`;
}

/** describeObject renders `Kind ns/name` (or `Kind name` when cluster-scoped) for messages. */
export function describeObject(o: KubeObject): string {
  return o.metadata.namespace ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`;
}

/** isSelectorEmpty tells whether a selector has neither matchLabels nor matchExpressions. */
export function isSelectorEmpty(sel: LabelSelector | undefined): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
}

// Selectors are matched against many clusters: their requirements are built once per selector object.
const requirementCache = new WeakMap<LabelSelector, Requirement[]>();

/**
 * selectorMatches applies a Kubernetes label selector (matchLabels AND every matchExpression).
 * An empty selector matches nothing, as in Sveltos (`clusterproxy.GetMatchingClusters`), unlike
 * Kubernetes where it matches everything.
 */
export function selectorMatches(sel: LabelSelector | undefined, labels: Labels | undefined): boolean {
  if (!sel || isSelectorEmpty(sel)) return false;
  let reqs = requirementCache.get(sel);
  if (!reqs) requirementCache.set(sel, (reqs = requirementsOf(sel)));
  return matchesLabels(reqs, labels);
}

/** FleetIndex holds the loaded clusters and sets, in the order the Kubernetes API lists them. */
export interface FleetIndex {
  /** All SveltosClusters sorted by namespace then name (API list order). */
  clusters: SveltosCluster[];
  clusterByKey: Map<string, SveltosCluster>;
  clusterSets: Map<string, ClusterSet>;
  /** Sets by `namespace/name`. */
  sets: Map<string, SveltosSet>;
  /** Clusters by label (`key=value` as labelKey gives it), in API order. */
  byLabel: Map<string, SveltosCluster[]>;
}

// labelKey is the byLabel key of one label.
function labelKey(k: string, v: string): string {
  return `${k}\0${v}`;
}

/** indexFleet builds a FleetIndex. */
export function indexFleet(clusters: SveltosCluster[], clusterSets: ClusterSet[], sets: SveltosSet[]): FleetIndex {
  const sorted = [...clusters].sort((a, b) => byteCompare(clusterKey(a), clusterKey(b)));
  const byLabel = new Map<string, SveltosCluster[]>();
  for (const c of sorted) {
    for (const [k, v] of Object.entries(c.metadata.labels ?? {})) {
      if (typeof v !== 'string') continue;
      let l = byLabel.get(labelKey(k, v));
      if (!l) byLabel.set(labelKey(k, v), (l = []));
      l.push(c);
    }
  }
  return {
    clusters: sorted,
    byLabel,
    clusterByKey: new Map(sorted.map((c) => [clusterKey(c), c])),
    clusterSets: new Map(clusterSets.map((s) => [s.metadata.name, s])),
    sets: new Map(sets.map((s) => [clusterKey(s), s])),
  };
}

// Kubernetes lists objects in etcd key order: namespace, then name, compared as bytes.
function byteCompare(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

// A SveltosCluster that is being deleted never matches (`getMatchingSveltosClusters`). Readiness
// (`status.ready`) is NOT required here: an air-gapped agent never reports it.
function isEligible(c: SveltosCluster): boolean {
  return !c.metadata.deletionTimestamp;
}

// matchBySelector lists, in API order, the clusters (of `namespace`, or all when undefined) whose
// labels the selector matches.
function matchBySelector(index: FleetIndex, sel: LabelSelector | undefined, namespace: string | undefined): string[] {
  if (!sel) return [];
  // A match has every matchLabels pair: only the clusters of its rarest pair can match.
  let candidates = index.clusters;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (typeof v !== 'string') continue;
    const l = index.byLabel.get(labelKey(k, v)) ?? [];
    if (l.length < candidates.length) candidates = l;
  }
  return candidates
    .filter((c) => (namespace === undefined || c.metadata.namespace === namespace) && isEligible(c) && selectorMatches(sel, c.metadata.labels))
    .map(clusterKey);
}

// clusterRefs are taken verbatim (`getMatchingClusters` appends them after the selector matches).
function refKeys(
  refs: ObjectReference[] | undefined,
  forcedNamespace: string | undefined,
  owner: string,
  field: string,
  warnings: PlanProblem[],
): string[] {
  const out: string[] = [];
  (refs ?? []).forEach((r, i) => {
    if (r.kind && r.kind !== 'SveltosCluster') {
      warnings.push({
        code: 'CLUSTER_KIND_UNSUPPORTED',
        object: owner,
        field: `${field}[${i}]`,
        message: `${owner}: ${field}[${i}] names a ${r.kind}; only SveltosClusters can be in pull mode, ignored`,
      });
      return;
    }
    out.push(`${forcedNamespace ?? r.namespace ?? ''}/${r.name}`);
  });
  return out;
}

/**
 * selectSetClusters returns the clusters a ClusterSet/Set selects: its matching clusters
 * (selector, then clusterRefs), keeping the ones already in `status.selectedClusterRefs` and
 * filling up to `maxReplicas` in matching order (addon-controller `selectClusters`).
 */
export function selectSetClusters(set: ClusterSet | SveltosSet, index: FleetIndex, warnings: PlanProblem[]): string[] {
  const owner = `${set.kind} ${clusterKey(set).replace(/^\//, '')}`;
  const ns = set.kind === 'Set' ? set.metadata.namespace : undefined;
  const matching = dedupe([
    ...matchBySelector(index, set.spec?.clusterSelector, ns),
    // A Set's clusterRefs are forced to its namespace (SetReconciler limitReferencesToNamespace).
    ...refKeys(set.spec?.clusterRefs, ns, owner, 'spec.clusterRefs', warnings),
  ]);
  const max = set.spec?.maxReplicas ?? 0;
  const matchingSet = new Set(matching);
  let selected = (set.status?.selectedClusterRefs ?? [])
    .map((r) => `${r.namespace ?? ''}/${r.name}`)
    .filter((k) => matchingSet.has(k));
  // Sveltos converges over reconciles: too many → keep the first max-1, then fill up in matching order.
  for (let round = 0; round < 3 && selected.length !== max; round++) {
    if (max === 0) selected = [];
    else if (selected.length > max) selected = selected.slice(0, max - 1);
    else {
      const have = new Set(selected);
      for (const k of matching) {
        if (selected.length >= max) break;
        if (!have.has(k)) selected.push(k);
      }
    }
  }
  return selected;
}

function dedupe(keys: string[]): string[] {
  return [...new Set(keys)];
}

/** ProfileMatch is why a profile reaches a cluster. */
export type MatchReason = 'clusterSelector' | 'clusterRefs' | 'setRefs' | 'dependsOn';

/** ProfileMatches maps profileId → cluster key → the reasons it matched. */
export type ProfileMatches = Map<string, Map<string, Set<MatchReason>>>;

/** MatchOptions tunes matching. */
export interface MatchOptions {
  /** Deploy prerequisites (dependsOn) to the clusters of their dependents. Default true, as addon-controller's `--auto-deploy-dependencies`. */
  autoDeployDependencies?: boolean;
}

/**
 * matchProfiles computes, for each profile that is not paused, the clusters it reaches. A
 * Profile only sees clusters of its namespace (selector, Sets, and clusterRefs, whose namespace
 * Sveltos forces to the Profile's). Paused profiles match nothing (warning).
 */
export function matchProfiles(
  profiles: AnyProfile[],
  index: FleetIndex,
  opts: MatchOptions,
  problems: PlanProblem[],
  warnings: PlanProblem[],
): ProfileMatches {
  const out: ProfileMatches = new Map();
  const byId = new Map(profiles.map((p) => [profileId(p), p]));
  const add = (id: string, key: string, why: MatchReason): boolean => {
    let m = out.get(id);
    if (!m) out.set(id, (m = new Map()));
    let r = m.get(key);
    const isNew = !r;
    if (!r) m.set(key, (r = new Set()));
    r.add(why);
    return isNew;
  };
  for (const p of profiles) {
    const id = profileId(p);
    out.set(id, new Map());
    const what = describeObject(p);
    if (isProfilePaused(p)) {
      warnings.push({ code: 'PROFILE_PAUSED', object: what, message: `${what} is paused (annotation profile.projectsveltos.io/paused): not deployed` });
      continue;
    }
    const ns = p.kind === 'Profile' ? p.metadata.namespace : undefined;
    for (const k of matchBySelector(index, p.spec.clusterSelector, ns)) add(id, k, 'clusterSelector');
    for (const k of refKeys(p.spec.clusterRefs, ns, what, 'spec.clusterRefs', warnings)) add(id, k, 'clusterRefs');
    (p.spec.setRefs ?? []).forEach((name, i) => {
      const set = p.kind === 'ClusterProfile' ? index.clusterSets.get(name) : index.sets.get(`${ns}/${name}`);
      if (!set) {
        // addon-controller skips a (Cluster)Set that does not exist.
        warnings.push({
          code: 'SET_NOT_FOUND',
          object: what,
          field: `spec.setRefs[${i}]`,
          message: `${what}: ${p.kind === 'ClusterProfile' ? 'ClusterSet' : `Set ${ns}/`}${name} is not in the input; it selects no cluster`,
        });
        return;
      }
      for (const k of selectSetClusters(set, index, warnings)) add(id, k, 'setRefs');
    });
  }
  if (opts.autoDeployDependencies ?? true) expandDependencies(profiles, byId, out, add, problems, warnings);
  return out;
}

// expandDependencies deploys each prerequisite to every cluster its dependents reach, to a fixed
// point (addon-controller dependencymanager). dependsOn names profiles of the same kind (and, for
// a Profile, of the same namespace).
function expandDependencies(
  profiles: AnyProfile[],
  byId: Map<string, AnyProfile>,
  out: ProfileMatches,
  add: (id: string, key: string, why: MatchReason) => boolean,
  problems: PlanProblem[],
  warnings: PlanProblem[],
): void {
  const prereqs = new Map<string, string[]>();
  for (const p of profiles) {
    const ids: string[] = [];
    (p.spec.dependsOn ?? []).forEach((name, i) => {
      const id = p.kind === 'ClusterProfile' ? `ClusterProfile/${name}` : `Profile/${p.metadata.namespace}/${name}`;
      const what = describeObject(p);
      if (!byId.has(id)) {
        problems.push({
          code: 'DEPENDENCY_NOT_FOUND',
          object: what,
          field: `spec.dependsOn[${i}]`,
          message: `${what} depends on ${id.replace('/', ' ')}, which is not in the input; Sveltos would never deploy ${what}`,
        });
        return;
      }
      if (isProfilePaused(byId.get(id)!)) {
        warnings.push({
          code: 'DEPENDENCY_PAUSED',
          object: what,
          field: `spec.dependsOn[${i}]`,
          message: `${what} depends on ${id.replace('/', ' ')}, which is paused; Sveltos waits for it before deploying ${what}`,
        });
      }
      ids.push(id);
    });
    prereqs.set(profileId(p), ids);
  }
  let changed = true;
  for (let round = 0; changed && round <= profiles.length; round++) {
    changed = false;
    for (const [dependent, ids] of prereqs) {
      const clusters = [...(out.get(dependent)?.keys() ?? [])];
      for (const id of ids) {
        if (isProfilePaused(byId.get(id)!)) continue;
        for (const k of clusters) if (add(id, k, 'dependsOn')) changed = true;
      }
    }
  }
}
