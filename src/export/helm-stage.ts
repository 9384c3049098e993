// The Helm stage of export: for every (cluster, profile, helmCharts entry) fetch the chart (cached, bounded
// concurrency), render it once per distinct (chart, release, values, Kubernetes version), split the output
// into ConfigurationBundles like Sveltos, and collect the charts and images the bundle must carry.
import { createHash } from 'node:crypto';
import type { ExtraArtifact } from '../bundle/pack.js';
import { Limiter } from '../content/limiter.js';
import { ANNOTATION_CLUSTERS, ANNOTATION_KIND, ANNOTATION_SOURCE } from '../model/bundle.js';
import { isPlainObject, type KubeObject } from '../model/sveltos.js';
import { helmActionFor, helmBundles, type HelmAction, type HelmBundle, type HelmReleaseSpec } from '../resolve/helm-split.js';
import { chartAnnotationImages, parseImageReference, podSpecImages, type ImageRef } from '../resolve/images.js';
import { chartAccess, ChartCache, fetchChart, type ChartRequest, type FetchedChart, type RegistryCredentialsConfig } from '../source/helm.js';
import { DEFAULT_KUBE_VERSION, mergeHelmValues, renderChart } from '../source/helm-render.js';
import type { ImageResolver } from '../source/images.js';
import type { RenderedRelease } from '../resolve/helm-split.js';
import semver from 'semver';

/** HelmChartSpec is a profile's `helmCharts` entry after Go templating (Sveltos field names). */
export interface HelmChartSpec extends HelmReleaseSpec {
  chartName: string;
  chartVersion?: string;
  values?: string;
  valuesFrom?: { kind?: string; name?: string; namespace?: string; optional?: boolean }[];
  registryCredentialsConfig?: RegistryCredentialsConfig;
}

/** ProfileIdentity names the profile a chart comes from. */
export interface ProfileIdentity {
  kind: 'ClusterProfile' | 'Profile';
  name: string;
  namespace?: string;
}

/**
 * HelmChartInput is one helmCharts entry for one cluster: what the profile resolver plans. `valuesFrom`
 * holds the referenced ConfigMap/Secret values already read (and templated where Sveltos templates
 * them); leave it out to read them from `objects` untemplated.
 */
export interface HelmChartInput {
  cluster: { namespace: string; name: string };
  /** The SveltosCluster: its `status.version` is the default Kubernetes version. */
  clusterObject?: KubeObject;
  profile: ProfileIdentity;
  chart: HelmChartSpec;
  valuesFrom?: { plain: string[]; templated: string[] };
  /** Values already instantiated and merged with valuesFrom (the profile resolver's plan); wins over `values`/`valuesFrom`. */
  mergedValues?: Record<string, unknown>;
  /** Profile patches Sveltos applies to the Helm output with a post-renderer (not applied here: reported). */
  patches?: unknown[];
  /** Version the cluster last received for this release (from a receipt): decides install/upgrade/downgrade. */
  previousVersion?: string;
}

export interface HelmStageOptions {
  helm: string;
  cache: ChartCache;
  /** `--from` objects: Secrets for registry credentials and ConfigMaps/Secrets for valuesFrom. */
  objects?: KubeObject[];
  /** `--kube-version`: overrides every cluster's `status.version`. */
  kubeVersion?: string;
  offline?: boolean;
  /** Concurrent chart fetches. Default 4. Renders run two at a time. */
  concurrency?: number;
  onEvent?: (message: string) => void;
  signal?: AbortSignal;
}

/** HelmChartResult is one input's outcome: its chart, the bundles for the cluster and the images named. */
export interface HelmChartResult {
  input: HelmChartInput;
  chart: FetchedChart;
  action: HelmAction;
  kubeVersion: string;
  bundles: HelmBundle[];
  /** Images named by the rendered objects and the chart's image annotations. */
  images: ImageUse[];
}

/** ImageUse is one mention of an image: where, for whom. */
export interface ImageUse {
  image: string;
  cluster: string;
  profile: string;
  chart?: string;
  object: string;
  path: string;
}

export interface HelmStageResult {
  results: HelmChartResult[];
  /** Distinct renders done (the rest reused). */
  renders: number;
  warnings: string[];
}

/** limiter returns a function that runs tasks with at most `n` running at once. */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  const l = new Limiter(n);
  return (task) => l.run(task);
}

/** mapLimit runs `fn` over `items` with at most `limit` running at once, keeping order. */
export function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const run = limiter(limit);
  return Promise.all(items.map((x, i) => run(() => fn(x, i))));
}

const profileName = (p: ProfileIdentity) => `${p.kind}/${p.namespace ? `${p.namespace}/` : ''}${p.name}`;

function request(input: HelmChartInput, objects: KubeObject[]): ChartRequest {
  const c = input.chart;
  return {
    repositoryURL: c.repositoryURL,
    ...(c.repositoryName ? { repositoryName: c.repositoryName } : {}),
    chartName: c.chartName,
    ...(c.chartVersion ? { chartVersion: c.chartVersion } : {}),
    ...chartAccess(c.repositoryURL, c.registryCredentialsConfig, objects, input.cluster.namespace),
  };
}

/**
 * valuesFromObjects reads a chart's valuesFrom as Sveltos does (each referenced ConfigMap/Secret's data
 * keys in sorted order; an empty namespace is the cluster's; missing optional references are skipped).
 * Templated sources (annotation `projectsveltos.io/template`) come back apart, for the template engine.
 */
export function valuesFromObjects(chart: HelmChartSpec, objects: KubeObject[], clusterNamespace: string): { plain: string[]; templated: string[] } {
  const out = { plain: [] as string[], templated: [] as string[] };
  for (const vf of chart.valuesFrom ?? []) {
    const ns = vf.namespace || clusterNamespace;
    const obj = objects.find((o) => o.apiVersion === 'v1' && o.kind === vf.kind && o.metadata.name === vf.name && o.metadata.namespace === ns);
    if (!obj) {
      if (vf.optional) continue;
      throw new Error(`helmCharts ${chart.releaseNamespace}/${chart.releaseName}: valuesFrom ${vf.kind} ${ns}/${vf.name} not found in --from`);
    }
    const data = (isPlainObject(obj.data) ? obj.data : {}) as Record<string, string>;
    const decode = (v: string) => (obj.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v);
    const target = obj.metadata.annotations?.['projectsveltos.io/template'] !== undefined ? out.templated : out.plain;
    for (const k of Object.keys(data).sort()) target.push(decode(data[k]!));
  }
  return out;
}

function compareVersions(a: string, b: string): number {
  const x = semver.coerce(a, { loose: true });
  const y = semver.coerce(b, { loose: true });
  return x && y ? semver.compare(semver.valid(a, { loose: true }) ?? x, semver.valid(b, { loose: true }) ?? y) : 0;
}

/** PlannedHelm is what the profile resolver plans per cluster (`ClusterPlan`): the cluster and its helmCharts entries. */
export interface PlannedHelm {
  /** `namespace/name`. */
  cluster: string;
  object?: KubeObject;
  helm: { profile: string; chart: Record<string, unknown>; values?: Record<string, unknown>; patches?: unknown[] }[];
}

/** profileIdentity parses `ClusterProfile/name` or `Profile/namespace/name`. */
export function profileIdentity(id: string): ProfileIdentity {
  const [kind, a, b] = id.split('/');
  return kind === 'Profile' && b !== undefined ? { kind: 'Profile', namespace: a!, name: b } : { kind: 'ClusterProfile', name: a ?? id };
}

/** helmInputsFromPlan turns the resolver's per-cluster plans into Helm stage inputs, in plan order. */
export function helmInputsFromPlan(plans: PlannedHelm[]): HelmChartInput[] {
  return plans.flatMap((p) => {
    const [namespace, name] = p.cluster.split('/') as [string, string];
    return p.helm.map((h) => ({
      cluster: { namespace, name },
      ...(p.object ? { clusterObject: p.object } : {}),
      profile: profileIdentity(h.profile),
      chart: h.chart as unknown as HelmChartSpec,
      ...(h.values ? { mergedValues: h.values } : {}),
      ...(h.patches?.length ? { patches: h.patches } : {}),
    }));
  });
}

/** renderHelmForPlan runs the Helm stage over every planned helmCharts entry. */
export async function renderHelmForPlan(inputs: HelmChartInput[], opts: HelmStageOptions): Promise<HelmStageResult> {
  const objects = opts.objects ?? [];
  const warnings: string[] = [];
  const say = (m: string) => opts.onEvent?.(m);

  // Fetch each distinct chart once and render each distinct (chart, release, values, kube version) once;
  // a chart's renders start as soon as it is fetched (fetches and renders overlap).
  const fetchLimit = limiter(opts.concurrency ?? 4);
  const renderLimit = limiter(2);
  const fetches = new Map<string, Promise<FetchedChart>>();
  const renders = new Map<string, Promise<RenderedRelease>>();
  const fetchKey = (r: ChartRequest) => JSON.stringify([r.repositoryURL, r.repositoryName ?? '', r.chartName, r.chartVersion ?? '']);
  const fetchOnce = (r: ChartRequest): Promise<FetchedChart> => {
    const key = fetchKey(r);
    let p = fetches.get(key);
    if (!p) {
      p = fetchLimit(() =>
        fetchChart(r, opts.cache, {
          ...(opts.offline ? { offline: true } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
          onEvent: (e) => say(`chart ${e.chart}${e.version ? ` ${e.version}` : ''}: ${e.event === 'cached' ? 'from cache' : e.event === 'download' ? `downloaded (${e.bytes ?? 0} bytes)` : 'resolving'}`),
        }),
      );
      fetches.set(key, p);
    }
    return p;
  };
  const planned = await Promise.all(
    inputs.map(async (input) => {
      const chart = await fetchOnce(request(input, objects));
      const vf = input.mergedValues ? undefined : input.valuesFrom ?? valuesFromObjects(input.chart, objects, input.cluster.namespace);
      const values = input.mergedValues ? JSON.stringify(input.mergedValues) : mergeHelmValues(input.chart.values ?? '', vf!.plain, vf!.templated);
      const status = isPlainObject(input.clusterObject?.status) ? input.clusterObject.status : {};
      const kubeVersion = opts.kubeVersion ?? (typeof status.version === 'string' && status.version ? status.version : DEFAULT_KUBE_VERSION);
      const key = createHash('sha256').update(JSON.stringify([chart.manifest.digest, input.chart.releaseName, input.chart.releaseNamespace, values, kubeVersion])).digest('hex');
      let render = renders.get(key);
      if (!render) {
        render = renderLimit(() => {
          say(`render ${input.chart.releaseNamespace}/${input.chart.releaseName} (${chart.name} ${chart.version}, kube ${kubeVersion})`);
          return renderChart({ helm: opts.helm, chart: chart.archive, releaseName: input.chart.releaseName, releaseNamespace: input.chart.releaseNamespace, values, kubeVersion, ...(opts.signal ? { signal: opts.signal } : {}) });
        });
        renders.set(key, render);
      }
      return { input, chart, kubeVersion, release: await render };
    }),
  );

  // 3. Split per input (bundles are cheap and depend on the action per cluster).
  const results: HelmChartResult[] = [];
  for (const p of planned) {
    if (p.input.patches?.length) {
      warnings.push(`${profileName(p.input.profile)}: helm release ${p.input.chart.releaseNamespace}/${p.input.chart.releaseName} on ${p.input.cluster.namespace}/${p.input.cluster.name}: spec.patches are not applied to Helm output (Sveltos applies them with a post-renderer)`);
    }
    const release = p.release;
    const action = helmActionFor(p.input.chart, p.chart.version, p.input.previousVersion, compareVersions);
    const bundles = helmBundles(p.input.chart, release, { name: p.chart.name, version: p.chart.version, ...(p.chart.icon ? { icon: p.chart.icon } : {}) }, action);
    const cluster = `${p.input.cluster.namespace}/${p.input.cluster.name}`;
    const chartLabel = `${p.chart.repository}:${p.chart.tag}`;
    const base = { cluster, profile: profileName(p.input.profile), chart: chartLabel };
    const images: ImageUse[] = [];
    for (const b of bundles) {
      for (const o of b.resources) {
        const object = `${o.apiVersion} ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
        for (const m of podSpecImages(o)) images.push({ ...base, image: m.image, object, path: m.path });
      }
    }
    if (action !== 'uninstall') for (const m of chartAnnotationImages(p.chart.annotations)) images.push({ ...base, image: m.image, object: `chart ${p.chart.name}`, path: m.path });
    results.push({ input: p.input, chart: p.chart, action, kubeVersion: p.kubeVersion, bundles, images });
  }
  return { results, renders: renders.size, warnings };
}

/** chartExtras lists each distinct chart once, for packBundle's `extras`, annotated with the clusters using it. */
export function chartExtras(stage: HelmStageResult, cache: ChartCache): ExtraArtifact[] {
  const byRef = new Map<string, { chart: FetchedChart; clusters: Set<string>; source: string }>();
  for (const r of stage.results) {
    const ref = `${r.chart.repository}:${r.chart.tag}`;
    const e = byRef.get(ref) ?? { chart: r.chart, clusters: new Set<string>(), source: `${r.input.chart.repositoryURL.replace(/\/+$/, '')}/${r.chart.name}:${r.chart.version}` };
    e.clusters.add(`${r.input.cluster.namespace}/${r.input.cluster.name}`);
    byRef.set(ref, e);
  }
  return [...byRef.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([ref, e]) => ({
    source: cache.store,
    ref,
    root: {
      ...e.chart.manifest,
      annotations: {
        [ANNOTATION_KIND]: 'chart',
        [ANNOTATION_SOURCE]: e.source,
        [ANNOTATION_CLUSTERS]: [...e.clusters].sort().join(','),
        'org.opencontainers.image.version': e.chart.version,
      },
    },
  }));
}

/** ImageReport is one image with everything that uses it. */
export interface ImageReport {
  image: string;
  /** Served as `<repository>:<tag>` when carried. */
  valid: boolean;
  clusters: string[];
  profiles: string[];
  charts: string[];
  objects: string[];
}

/** imageReport groups image mentions by normalised reference (invalid references are reported as written). */
export function imageReport(uses: ImageUse[]): ImageReport[] {
  const by = new Map<string, { valid: boolean; clusters: Set<string>; profiles: Set<string>; charts: Set<string>; objects: Set<string> }>();
  for (const u of uses) {
    const ref = parseImageReference(u.image);
    const key = ref?.reference ?? u.image;
    const e = by.get(key) ?? { valid: Boolean(ref), clusters: new Set(), profiles: new Set(), charts: new Set(), objects: new Set() };
    e.clusters.add(u.cluster);
    e.profiles.add(u.profile);
    if (u.chart) e.charts.add(u.chart);
    e.objects.add(`${u.cluster}: ${u.object}`);
    by.set(key, e);
  }
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([image, e]) => ({
    image,
    valid: e.valid,
    clusters: [...e.clusters].sort(),
    profiles: [...e.profiles].sort(),
    charts: [...e.charts].sort(),
    objects: [...e.objects].sort(),
  }));
}

/** imageExtras resolves every valid image of the report and returns them for packBundle's `extras`. */
export async function imageExtras(report: ImageReport[], resolver: ImageResolver, opts: { platforms?: string[]; concurrency?: number; signal?: AbortSignal; onEvent?: (m: string) => void } = {}): Promise<ExtraArtifact[]> {
  const refs = report.filter((r) => r.valid).map((r) => parseImageReference(r.image)!) as ImageRef[];
  const carried = await mapLimit(refs, opts.concurrency ?? 4, async (image) => {
    const c = await resolver.prepare(image, opts.platforms, opts.signal);
    opts.onEvent?.(`image ${image.reference}: ${c.root.digest}${c.platforms ? ` (${c.platforms.join(',')})` : ''}`);
    return c;
  });
  const seen = new Set<string>();
  return carried.filter((c) => (seen.has(c.ref) ? false : (seen.add(c.ref), true))).map((c) => ({ source: c.source, root: c.root, ref: c.ref }));
}
