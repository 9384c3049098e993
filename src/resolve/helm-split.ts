// How Sveltos's addon-controller turns one rendered Helm release into ConfigurationBundles in pull mode
// (sveltos-pullmode.md §2.3; addon-controller `collectHelmContent`, `splitResources`,
// `stageHelmResourcesForDeployment`). Pure: rendered objects in, ordered bundle contents out.
import type { KubeObject } from '../model/sveltos.js';

/** HelmAction is what the agent is asked to do with a release; it only changes which hooks are sent. */
export type HelmAction = 'install' | 'upgrade' | 'downgrade' | 'uninstall';

export const ANNOTATION_HOOK = 'helm.sh/hook';
export const ANNOTATION_HOOK_WEIGHT = 'helm.sh/hook-weight';
export const ANNOTATION_HOOK_DELETE_POLICY = 'helm.sh/hook-delete-policy';

/** Most resources Sveltos puts in one ConfigurationBundle of a release. */
export const MAX_RESOURCES_PER_BUNDLE = 15;
/** Helm operation timeout Sveltos writes when the chart's options give none. */
export const DEFAULT_HELM_TIMEOUT = '5m0s';

/** HelmHook is one hook document of a release: its events (lower case, in annotation order) and objects. */
export interface HelmHook {
  events: string[];
  objects: KubeObject[];
}

/** RenderedRelease is a release as Helm renders it: the manifest (CRDs first) and the hooks, each in Helm's order. */
export interface RenderedRelease {
  manifest: KubeObject[];
  hooks: HelmHook[];
  /** The manifest objects that come from the chart's `crds/` directory (Helm installs them apart; no post-renderer sees them). */
  chartCrds?: ReadonlySet<KubeObject>;
}

/** ChartFacts are the rendered chart's metadata the bundles carry. */
export interface ChartFacts {
  name: string;
  version: string;
  icon?: string;
}

/** HelmReleaseSpec is the part of a profile's `helmCharts` entry (already templated) the bundles depend on. */
export interface HelmReleaseSpec {
  repositoryURL: string;
  repositoryName?: string;
  releaseName: string;
  releaseNamespace: string;
  helmChartAction?: 'Install' | 'Uninstall';
  options?: { timeout?: string; runTests?: boolean; [field: string]: unknown };
}

/** HelmBundle is the content and release metadata of one ConfigurationBundle (spec fields as Sveltos names them). */
export interface HelmBundle {
  /** Bundle index key: `<releaseNamespace>-<releaseName>-<repositoryName>-<i>`. */
  index: string;
  resources: KubeObject[];
  spec: {
    timeout: string;
    helmReleaseNamespace: string;
    helmReleaseName: string;
    helmChartVersion: string;
    helmRepoURL: string;
    helmIcon?: string;
    helmReleaseUninstall?: boolean;
    isLastHelmReleaseBundle?: boolean;
  };
}

const PRE_EVENT: Record<Exclude<HelmAction, 'uninstall'>, string> = { install: 'pre-install', upgrade: 'pre-upgrade', downgrade: 'pre-rollback' };
const POST_EVENT: Record<Exclude<HelmAction, 'uninstall'>, string> = { install: 'post-install', upgrade: 'post-upgrade', downgrade: 'post-rollback' };
// Events that decide relevance (Helm's known hook events). Sveltos looks at a hook's events in order and
// decides on the first known one: a hook annotated "post-install,pre-install" is not a pre-install hook.
const KNOWN_EVENTS = new Set(['pre-install', 'post-install', 'pre-delete', 'post-delete', 'pre-upgrade', 'post-upgrade', 'pre-rollback', 'post-rollback', 'test']);

/** isRelevantHook tells whether the first known event of `hook` is `event` (addon-controller `isHookRelevantFor*`). */
export function isRelevantHook(hook: HelmHook, event: string): boolean {
  const first = hook.events.find((e) => KNOWN_EVENTS.has(e));
  return first === event;
}

function annotations(o: KubeObject): Record<string, string> {
  return (o.metadata.annotations ?? {}) as Record<string, string>;
}

const hasDeletePolicy = (o: KubeObject): boolean => ANNOTATION_HOOK_DELETE_POLICY in annotations(o);

/**
 * collectHelmContent lists what Sveltos sends the agent for one release, in order: for install, upgrade
 * and downgrade the matching pre hooks, the manifest (minus non-hook resources carrying a hook delete
 * policy), the matching post hooks, then test hooks when `includeTests`; for uninstall only those
 * delete-policy resources, then pre-delete and post-delete hooks.
 */
export function collectHelmContent(release: RenderedRelease, action: HelmAction, includeTests: boolean): KubeObject[] {
  const hooked = (pred: (h: HelmHook) => boolean) => release.hooks.filter(pred).flatMap((h) => h.objects);
  if (action === 'uninstall') {
    return [
      ...release.manifest.filter(hasDeletePolicy),
      ...hooked((h) => isRelevantHook(h, 'pre-delete')),
      ...hooked((h) => isRelevantHook(h, 'post-delete')),
    ];
  }
  const out = [
    ...hooked((h) => isRelevantHook(h, PRE_EVENT[action])),
    ...release.manifest.filter((o) => !hasDeletePolicy(o)),
    ...hooked((h) => isRelevantHook(h, POST_EVENT[action])),
  ];
  // Sveltos takes test hooks as any hook listing the `test` event (Helm reads `test-success` as `test`).
  if (includeTests) out.push(...hooked((h) => h.events.includes('test')));
  return out;
}

// splitResources places objects by the literal annotation (addon-controller `isHookResource`): a
// `test-success` hook is not a `test` hook there, so it goes with the other resources (or the
// delete-policy ones), not last.
function isHook(o: KubeObject, type: string): boolean {
  const v = annotations(o)[ANNOTATION_HOOK];
  return v !== undefined && v.split(',').some((h) => h.trim() === type);
}

/** hookWeight reads `helm.sh/hook-weight` as an integer; 0 when missing or not an integer (Go `strconv.Atoi`). */
export function hookWeight(o: KubeObject): number {
  const v = annotations(o)[ANNOTATION_HOOK_WEIGHT];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : 0;
}

function withNamespace(o: KubeObject, namespace: string): KubeObject {
  if (o.metadata.namespace) return o;
  // Sveltos sets the release namespace on every object without one; the agent unsets it for cluster-scoped kinds.
  return { ...o, metadata: { ...o.metadata, namespace } };
}

const isCRD = (o: KubeObject): boolean => o.apiVersion === 'apiextensions.k8s.io/v1' && o.kind === 'CustomResourceDefinition';

// Groups in bundle order. Each object goes to the first group whose test it passes.
const GROUPS: { name: string; test: (o: KubeObject) => boolean }[] = [
  { name: 'pre', test: (o) => isHook(o, 'pre-install') || isHook(o, 'pre-upgrade') },
  { name: 'post', test: (o) => isHook(o, 'post-install') || isHook(o, 'post-upgrade') },
  { name: 'pre-rollback', test: (o) => isHook(o, 'pre-rollback') },
  { name: 'post-rollback', test: (o) => isHook(o, 'post-rollback') },
  { name: 'pre-delete', test: (o) => isHook(o, 'pre-delete') },
  { name: 'post-delete', test: (o) => isHook(o, 'post-delete') },
  { name: 'test', test: (o) => isHook(o, 'test') },
  { name: 'delete-policy', test: hasDeletePolicy },
];
const ORDER = ['pre', 'pre-rollback', 'delete-policy', 'pre-delete', 'crd', 'other', 'post', 'post-rollback', 'post-delete', 'test'];

/**
 * splitResources groups a release's objects into bundles as Sveltos does: pre-install/upgrade hooks,
 * pre-rollback hooks, resources with a hook delete policy, pre-delete hooks, each CRD alone, the other
 * resources, post-install/upgrade, post-rollback, post-delete and test hooks. Each group is sorted by
 * hook weight and cut into bundles of at most 15. Objects without a namespace get `releaseNamespace`
 * (CRDs are left as they are).
 *
 * Sorting is stable. Sveltos uses Go's `sort.Slice`, which is not: for a group of more than 12 objects
 * that is not already in weight order, objects of equal weight may come out in another order there.
 */
export function splitResources(resources: KubeObject[], releaseNamespace: string): KubeObject[][] {
  const groups = new Map<string, KubeObject[]>(ORDER.map((g) => [g, []]));
  for (const r of resources) {
    if (isCRD(r)) {
      groups.get('crd')!.push(r);
      continue;
    }
    const g = GROUPS.find((x) => x.test(r))?.name ?? 'other';
    groups.get(g)!.push(withNamespace(r, releaseNamespace));
  }
  const out: KubeObject[][] = [];
  for (const name of ORDER) {
    const items = groups.get(name)!;
    if (name === 'crd') {
      for (const crd of items) out.push([crd]);
      continue;
    }
    const sorted = items.map((o, i) => ({ o, i, w: hookWeight(o) })).sort((a, b) => a.w - b.w || a.i - b.i).map((x) => x.o);
    for (let i = 0; i < sorted.length; i += MAX_RESOURCES_PER_BUNDLE) out.push(sorted.slice(i, i + MAX_RESOURCES_PER_BUNDLE));
  }
  return out;
}

/** helmActionFor decides the action from the version a cluster last received (addon-controller `getHelmActionInPullMode`). */
export function helmActionFor(spec: Pick<HelmReleaseSpec, 'helmChartAction'>, version: string, previousVersion?: string, compare?: (a: string, b: string) => number): HelmAction {
  if (spec.helmChartAction === 'Uninstall') return 'uninstall';
  if (!previousVersion || !compare) return 'install';
  return compare(version, previousVersion) < 0 ? 'downgrade' : 'upgrade';
}

/** helmBundles builds the ordered bundles of one release, with Sveltos's release metadata on each. */
export function helmBundles(spec: HelmReleaseSpec, release: RenderedRelease, chart: ChartFacts, action: HelmAction): HelmBundle[] {
  const resources = collectHelmContent(release, action, spec.options?.runTests === true);
  const chunks = splitResources(resources, spec.releaseNamespace);
  const base = `${spec.releaseNamespace}-${spec.releaseName}-${spec.repositoryName ?? ''}`;
  const timeout = spec.options?.timeout !== undefined ? formatGoDuration(spec.options.timeout) : DEFAULT_HELM_TIMEOUT;
  return chunks.map((resources, i) => {
    const b: HelmBundle = {
      index: `${base}-${i}`,
      resources,
      spec: {
        timeout,
        helmReleaseNamespace: spec.releaseNamespace,
        helmReleaseName: spec.releaseName,
        helmChartVersion: chart.version,
        helmRepoURL: spec.repositoryURL,
      },
    };
    if (chart.icon) b.spec.helmIcon = chart.icon;
    if (action === 'uninstall') b.spec.helmReleaseUninstall = true;
    if (i === chunks.length - 1) b.spec.isLastHelmReleaseBundle = true;
    return b;
  });
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * formatGoDuration normalises a Kubernetes duration (`10m`, `1h30m`, `90s`, `1.5h`) to Go's
 * `time.Duration.String()` form (`10m0s`, `1h30m0s`, `1m30s`, `1h30m0s`), as metav1.Duration serialises.
 */
export function formatGoDuration(text: string): string {
  const s = text.trim();
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let neg = false;
  let i = 0;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    i = 1;
  }
  if (s.slice(i) === '0') return '0s';
  let total = 0;
  let matched = false;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new Error(`invalid duration ${JSON.stringify(text)}`);
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    i = re.lastIndex;
    matched = true;
  }
  if (!matched) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  let ns = Math.round(total);
  if (ns === 0) return '0s';
  const sign = neg ? '-' : '';
  if (ns < 1e9) {
    if (ns < 1e3) return `${sign}${ns}ns`;
    if (ns < 1e6) return `${sign}${trimFrac(ns / 1e3)}µs`;
    return `${sign}${trimFrac(ns / 1e6)}ms`;
  }
  const h = Math.floor(ns / 3600e9);
  ns -= h * 3600e9;
  const m = Math.floor(ns / 60e9);
  ns -= m * 60e9;
  const sec = `${trimFrac(ns / 1e9)}s`;
  if (h > 0) return `${sign}${h}h${m}m${sec}`;
  if (m > 0) return `${sign}${m}m${sec}`;
  return `${sign}${sec}`;
}

function trimFrac(v: number): string {
  return Number(v.toFixed(9)).toString();
}
