// The Helm stage of export: for every (cluster, profile, helmCharts entry) fetch the chart (cached, bounded
// concurrency), render it once per distinct (chart, release, values, Kubernetes version), split the output
// into ConfigurationBundles like Sveltos, and collect the charts and images the bundle must carry.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExtraArtifact } from '../bundle/pack.js';
import { ANNOTATION_CLUSTERS, ANNOTATION_KIND, ANNOTATION_SOURCE } from '../model/bundle.js';
import { ValidationError } from '../errors.js';
import { isPlainObject, type KubeObject, type Patch } from '../model/sveltos.js';
import { patchManifest, PatchFailure } from '../resolve/patch.js';
import { stageHelmBundle, type StagedHelmBundle } from '../resolve/helm-groups.js';
import { helmActionFor, helmBundles, type HelmAction, type HelmReleaseSpec } from '../resolve/helm-split.js';
import { chartAnnotationImages, objectLabel, podSpecImages, profileLabel, type ImageUse } from '../resolve/images.js';
import { chartVerifyKeys, type ChartProof, type CosignVerification } from '../source/chart-proofs.js';
import { chartAccess, ChartCache, fetchChart, fetchChartProofs, type ChartRequest, type FetchedChart, type RegistryCredentialsConfig } from '../source/helm.js';
import { DEFAULT_KUBE_VERSION, HelmError, helmTemplate, mergeHelmValues, parseTemplateOutput, TEMPLATE_FLAGS } from '../source/helm-render.js';
import type { RenderCache } from '../source/render-cache.js';
import type { FluxChart } from '../resolve/flux.js';
import { packageFluxChart } from '../source/helm-flux.js';
import { RegistrySessions } from '../registry/client.js';
import type { RenderedRelease } from '../resolve/helm-split.js';
import semver from 'semver';
import { FailFast, limiter, renderLimiter } from './stage.js';
import { getStaged, putStaged, stagedKey, type StagedImage, type StagedRelease } from './staged-cache.js';

/** HelmChartSpec is a profile's `helmCharts` entry after Go templating (Sveltos field names). */
export interface HelmChartSpec extends HelmReleaseSpec {
  chartName: string;
  chartVersion?: string;
  values?: string;
  valuesFrom?: { kind?: string; name?: string; namespace?: string; optional?: boolean }[];
  registryCredentialsConfig?: RegistryCredentialsConfig;
  signatureVerification?: CosignVerification;
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
  /** The cluster's Kubernetes version (the resolver reads it from `status.version`); wins over `clusterObject`. */
  kubeVersion?: string;
  profile: ProfileIdentity;
  chart: HelmChartSpec;
  valuesFrom?: { plain: string[]; templated: string[] };
  /** Values already instantiated and merged with valuesFrom (the profile resolver's plan); wins over `values`/`valuesFrom`. */
  mergedValues?: Record<string, unknown>;
  /** Profile patches (instantiated): applied to the rendered manifest as Sveltos's Helm post-renderer does. */
  patches?: Patch[];
  /** Version the cluster last received for this release (from a receipt): decides install/upgrade/downgrade. */
  previousVersion?: string;
  /** A chart in a Flux source (`gitrepository://…`): its directory, read by the plan. */
  fluxChart?: FluxChart;
}

export interface HelmStageOptions {
  helm: string;
  /** Settles once the helm binary is known to be usable (its version asked); renders wait for it, fetches do not. */
  helmReady?: Promise<unknown>;
  cache: ChartCache;
  /** `--from` objects: Secrets for registry credentials and ConfigMaps/Secrets for valuesFrom. */
  objects?: KubeObject[];
  /** `--kube-version`: overrides every cluster's `status.version`. */
  kubeVersion?: string;
  offline?: boolean;
  /** Where renders are kept between exports (a hit runs no helm); unset: every render runs helm. */
  renderCache?: RenderCache;
  /** Concurrent chart fetches. Default 4. Renders run one per core (at least two) at a time. */
  concurrency?: number;
  onEvent?: (message: string) => void;
  /** Called with the images of each result as soon as it is rendered and split (to start copying them early). */
  onImages?: (uses: ImageUse[]) => void;
  signal?: AbortSignal;
  /** Carry what proves each OCI chart (its cosign tags and referrers index). */
  proofs?: boolean;
  /** With `proofs`: keep only proofs of these media types. */
  referrerTypes?: string[];
}

/** HelmChartResult is one input's outcome: its chart, the bundles for the cluster and the images named. */
export interface HelmChartResult {
  input: HelmChartInput;
  chart: FetchedChart;
  action: HelmAction;
  kubeVersion: string;
  /** The release's bundles, encoded (shared by every input of the same render, entry, patches and action). */
  bundles: StagedHelmBundle[];
  /** Images named by the rendered objects and the chart's image annotations. */
  images: ImageUse[];
}

export interface HelmStageResult {
  results: HelmChartResult[];
  /** Distinct renders done (the rest reused). */
  renders: number;
}

function request(input: HelmChartInput, objects: KubeObject[]): ChartRequest {
  const c = input.chart;
  return {
    repositoryURL: c.repositoryURL,
    ...(c.repositoryName ? { repositoryName: c.repositoryName } : {}),
    chartName: c.chartName,
    ...(c.chartVersion ? { chartVersion: c.chartVersion } : {}),
    ...chartAccess(c.repositoryURL, c.registryCredentialsConfig, objects, input.cluster.namespace),
    ...(c.repositoryURL.startsWith('oci://') && c.signatureVerification
      ? { verifyKeys: chartVerifyKeys(`${profileLabel(input.profile)}: helm chart ${c.repositoryURL} ${c.chartName}`, c.signatureVerification, objects, input.cluster.namespace) }
      : {}),
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
  kubeVersion?: string;
  helm: { profile: string; chart: Record<string, unknown>; values?: Record<string, unknown>; patches?: Patch[]; fluxChart?: FluxChart }[];
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
      ...(p.kubeVersion ? { kubeVersion: p.kubeVersion } : {}),
      profile: profileIdentity(h.profile),
      chart: h.chart as unknown as HelmChartSpec,
      ...(h.values ? { mergedValues: h.values } : {}),
      ...(h.patches?.length ? { patches: h.patches } : {}),
      ...(h.fluxChart ? { fluxChart: h.fluxChart } : {}),
    }));
  });
}

// ReleaseInputs are what one input's render depends on besides the chart: the values (JSON or YAML text) and
// the Kubernetes version; `key` names the distinct render within one stage.
interface ReleaseInputs {
  values: string;
  kubeVersion: string;
  key: string;
}

const sha256hex = (text: string) => createHash('sha256').update(text).digest('hex');

function releaseInputs(input: HelmChartInput, chart: FetchedChart, objects: KubeObject[], kubeVersionFlag: string | undefined): ReleaseInputs {
  const vf = input.mergedValues ? undefined : input.valuesFrom ?? valuesFromObjects(input.chart, objects, input.cluster.namespace);
  const values = input.mergedValues ? JSON.stringify(input.mergedValues) : mergeHelmValues(input.chart.values ?? '', vf!.plain, vf!.templated);
  const status = isPlainObject(input.clusterObject?.status) ? input.clusterObject.status : {};
  const kubeVersion = kubeVersionFlag ?? input.kubeVersion ?? (typeof status.version === 'string' && status.version ? status.version : DEFAULT_KUBE_VERSION);
  const key = sha256hex(JSON.stringify([chart.manifest.digest, input.chart.releaseName, input.chart.releaseNamespace, values, kubeVersion]));
  return { values, kubeVersion, key };
}

function renderEvent(input: HelmChartInput, chart: FetchedChart, kubeVersion: string, cached: boolean): string {
  return `render ${input.chart.releaseNamespace}/${input.chart.releaseName} (${chart.name} ${chart.version}, kube ${kubeVersion})${cached ? ': from the render cache' : ''}`;
}

/** renderHelmForPlan runs the Helm stage over every planned helmCharts entry; results come in input order. */
export async function renderHelmForPlan(inputs: HelmChartInput[], opts: HelmStageOptions): Promise<HelmStageResult> {
  const objects = opts.objects ?? [];
  const say = (m: string) => opts.onEvent?.(m);

  // Fetch each distinct chart once and render each distinct (chart, release, values, kube version) once;
  // a chart's renders start as soon as it is fetched, and each input is split (and its images announced)
  // as soon as its render is done, so fetches, renders and whatever follows overlap.
  // The first failure stops the rest (queued fetches and renders, retries waiting to run).
  const stage = new FailFast(opts.signal);
  const signal = stage.signal;
  const fetchLimit = limiter(opts.concurrency ?? 4);
  const renderLimit = renderLimiter();
  const fetches = new Map<string, Promise<FetchedChart>>();
  const sessions = new RegistrySessions();
  const renders = new Map<string, Promise<RenderedRelease>>();
  // One private helm home for every render of the stage (helm template writes nothing there).
  let home: Promise<string> | undefined;
  // Clusters may verify one chart with different keys: each set of keys is its own fetch.
  const fetchKey = (r: ChartRequest) => JSON.stringify([r.repositoryURL, r.repositoryName ?? '', r.chartName, r.chartVersion ?? '', (r.verifyKeys ?? []).map((k) => sha256hex(k.export({ type: 'spki', format: 'der' }).toString('base64')))]);
  const fetchOnce = (r: ChartRequest): Promise<FetchedChart> => {
    const key = fetchKey(r);
    let p = fetches.get(key);
    if (!p) {
      p = fetchLimit(() =>
        fetchChart(r, opts.cache, {
          ...(opts.offline ? { offline: true } : {}),
          signal,
          sessions,
          onEvent: (e) => say(`chart ${e.chart}${e.version ? ` ${e.version}` : ''}: ${e.event === 'cached' ? 'from cache' : e.event === 'download' ? `downloaded (${e.bytes ?? 0} bytes)` : 'resolving'}`),
        }),
      );
      fetches.set(key, p);
    }
    return p;
  };
  // packageOnce packages each distinct chart directory of a Flux source once.
  const packageOnce = (c: FluxChart): Promise<FetchedChart> => {
    let p = fetches.get(c.key);
    if (!p) {
      p = fetchLimit(async () => {
        const chart = await packageFluxChart(c, { helm: opts.helm, cache: opts.cache, ...(opts.offline ? { offline: true } : {}), signal });
        say(`chart ${c.source}: ${chart.name} ${chart.version}${chart.cached ? ', from cache' : ', packaged'}`);
        return chart;
      });
      fetches.set(c.key, p);
    }
    return p;
  };
  // proofsOnce copies (and lists) what proves each distinct OCI chart, apart from its fetch: renders need not
  // wait for it, only the packing does.
  const proofs = new Map<string, Promise<ChartProof[]>>();
  const proofsOf = new Map<HelmChartInput, string>();
  const proofsOnce = (input: HelmChartInput, r: ChartRequest, chart: FetchedChart) => {
    const key = fetchKey(r);
    proofsOf.set(input, key);
    if (!proofs.has(key)) {
      const p = fetchChartProofs(r, chart, opts.cache, { ...(opts.offline ? { offline: true } : {}), signal, sessions, ...(opts.referrerTypes?.length ? { referrerTypes: opts.referrerTypes } : {}) });
      p.catch(() => undefined);
      proofs.set(key, p);
    }
  };
  const staged = new Map<string, Promise<StagedRelease>>();
  // renderOnce renders (or reads from the render cache) and parses each distinct render once. A render slot is
  // held only while helm runs: writing the cache and parsing the output let the next helm start.
  const renderOnce = (input: HelmChartInput, chart: FetchedChart, r: ReleaseInputs, cacheKey: string | undefined): Promise<RenderedRelease> => {
    let release = renders.get(r.key);
    if (!release) {
      const { releaseName, releaseNamespace } = input.chart;
      release = (async () => {
        signal.throwIfAborted();
        const hit = cacheKey ? await opts.renderCache!.get(cacheKey) : undefined;
        if (hit !== undefined) {
          say(renderEvent(input, chart, r.kubeVersion, true));
          return parseTemplateOutput(hit, `helm template ${releaseName}`);
        }
        const text = await renderLimit(async () => {
          signal.throwIfAborted();
          say(renderEvent(input, chart, r.kubeVersion, false));
          await opts.helmReady;
          home ??= mkdtemp(join(tmpdir(), 'sveltos-airgap-helm-'));
          return helmTemplate({ helm: opts.helm, chart: chart.archive, releaseName, releaseNamespace, values: r.values, kubeVersion: r.kubeVersion, home: await home, signal }).catch((err: unknown) =>
            Promise.reject(renderFailure(err, input, chart, r.kubeVersion)),
          );
        });
        if (cacheKey) await opts.renderCache!.put(cacheKey, text);
        return parseTemplateOutput(text, `helm template ${releaseName}`);
      })();
      renders.set(r.key, release);
    }
    return release;
  };
  // stagedOnce splits and encodes each distinct (render, helmCharts entry, patches, action) once, or reads
  // it from the render cache: a hit there needs neither helm nor parsing.
  const stagedOnce = (input: HelmChartInput, chart: FetchedChart, r: ReleaseInputs, action: HelmAction): Promise<StagedRelease> => {
    const key = sha256hex(JSON.stringify([r.key, input.chart, input.patches ?? [], action]));
    let p = staged.get(key);
    if (!p) {
      p = (async () => {
        const cache = opts.renderCache;
        const { releaseName, releaseNamespace } = input.chart;
        const cacheKey = cache ? await cache.key({ helm: opts.helm, flags: TEMPLATE_FLAGS, chart: chart.manifest.digest, releaseName, releaseNamespace, kubeVersion: r.kubeVersion, values: r.values }) : undefined;
        const keptKey = cacheKey ? await stagedKey(cache!, opts.helm, { render: cacheKey, chart: input.chart, patches: input.patches ?? [], action }) : undefined;
        const kept = keptKey ? await getStaged(cache!, keptKey) : undefined;
        if (kept) {
          say(renderEvent(input, chart, r.kubeVersion, true));
          return kept;
        }
        const release = await renderOnce(input, chart, r, cacheKey);
        const out = stageRelease(input, chart, release, action);
        if (keptKey) await putStaged(cache!, keptKey, out);
        return out;
      })();
      staged.set(key, p);
    }
    return p;
  };
  try {
    const results = await stage.all(inputs, async (input): Promise<HelmChartResult> => {
      const req = input.fluxChart ? undefined : request(input, objects);
      const chart = await (req ? fetchOnce(req) : packageOnce(input.fluxChart!));
      if (req && opts.proofs) proofsOnce(input, req, chart);
      const r = releaseInputs(input, chart, objects, opts.kubeVersion);
      const action = helmActionFor(input.chart, chart.version, input.previousVersion, compareVersions);
      const result = chartResult(input, chart, r.kubeVersion, action, await stagedOnce(input, chart, r, action));
      opts.onImages?.(result.images);
      return result;
    });
    if (!opts.proofs) return { results, renders: renders.size };
    const held = new Map<string, ChartProof[]>();
    for (const [key, p] of proofs) held.set(key, await p);
    return {
      results: results.map((r) => {
        const found = held.get(proofsOf.get(r.input) ?? '');
        return found ? { ...r, chart: { ...r.chart, proofs: found } } : r;
      }),
      renders: renders.size,
    };
  } finally {
    await sessions.close();
    if (home) await rm(await home, { recursive: true, force: true });
  }
}

// renderFailure names where a failed render comes from: profile, release, chart and cluster (helm names only
// the template); the code stays, and so does the exit code.
function renderFailure(err: unknown, input: HelmChartInput, chart: FetchedChart, kubeVersion: string): unknown {
  if (!(err instanceof HelmError) || err.code !== 'INVALID') return err;
  const where = `${profileLabel(input.profile)}: helm release ${input.chart.releaseNamespace}/${input.chart.releaseName} (chart ${chart.name} ${chart.version} from ${input.chart.repositoryURL}, kube ${kubeVersion}) for ${input.cluster.namespace}/${input.cluster.name}`;
  return new HelmError(err.code, `${where}: ${err.message}`, { cause: err, ...(err.details ? { details: err.details } : {}) });
}

// postRender applies the profile's patches to the release manifest as Helm's post-renderer sees it: the
// templates' output, not the chart's crds/ files (Helm installs those apart) and not the hooks.
function postRender(input: HelmChartInput, release: RenderedRelease): RenderedRelease {
  const crds = release.manifest.filter((o) => release.chartCrds?.has(o));
  const templated = release.manifest.filter((o) => !release.chartCrds?.has(o));
  try {
    const patched = patchManifest(templated as unknown as Record<string, unknown>[], input.patches!) as unknown as KubeObject[];
    return { ...release, manifest: [...crds, ...patched] };
  } catch (err) {
    if (!(err instanceof PatchFailure)) throw err;
    throw new ValidationError('INVALID', `${profileLabel(input.profile)}: helm release ${input.chart.releaseNamespace}/${input.chart.releaseName} on ${input.cluster.namespace}/${input.cluster.name}: spec.${err.message}`, { cause: err });
  }
}

// stageRelease splits one input's render into its bundles (they depend on the action for that cluster),
// encodes them and lists the images their objects name.
function stageRelease(input: HelmChartInput, chart: FetchedChart, rendered: RenderedRelease, action: HelmAction): StagedRelease {
  const release = input.patches?.length ? postRender(input, rendered) : rendered;
  const bundles = helmBundles(input.chart, release, { name: chart.name, version: chart.version, ...(chart.icon ? { icon: chart.icon } : {}) }, action);
  const images: StagedImage[] = [];
  for (const b of bundles) {
    for (const o of b.resources) for (const m of podSpecImages(o)) images.push({ image: m.image, object: objectLabel(o), path: m.path });
  }
  return { bundles: bundles.map(stageHelmBundle), images };
}

// chartResult is one input's outcome: its staged release and the images named, with their users.
function chartResult(input: HelmChartInput, chart: FetchedChart, kubeVersion: string, action: HelmAction, staged: StagedRelease): HelmChartResult {
  const base = { cluster: `${input.cluster.namespace}/${input.cluster.name}`, profile: profileLabel(input.profile), chart: `${chart.repository}:${chart.tag}` };
  const images: ImageUse[] = staged.images.map((m) => ({ ...base, ...m }));
  if (action !== 'uninstall') for (const m of chartAnnotationImages(chart.annotations)) images.push({ ...base, image: m.image, object: `chart ${chart.name}`, path: m.path });
  return { input, chart, action, kubeVersion, bundles: staged.bundles, images };
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
  return [...byRef.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([ref, e]) => {
    const clusters = [...e.clusters].sort().join(',');
    const chart = {
      source: cache.store,
      ref,
      root: { ...e.chart.manifest, annotations: { [ANNOTATION_KIND]: 'chart', [ANNOTATION_SOURCE]: e.source, [ANNOTATION_CLUSTERS]: clusters, 'org.opencontainers.image.version': e.chart.version } },
    };
    // Its proofs, under their own tags in the chart's repository (as cosign and the referrers fallback name them).
    const proofs = (e.chart.proofs ?? []).map((p) => ({
      source: cache.store,
      ref: `${e.chart.repository}:${p.tag}`,
      root: { ...p.root, annotations: { [ANNOTATION_SOURCE]: `${e.source.slice(0, e.source.lastIndexOf(':'))}:${p.tag}`, [ANNOTATION_CLUSTERS]: clusters } },
    }));
    return [chart, ...proofs];
  });
}
