// The first step of export and `resolve`: read the input objects and plan, with every problem of the
// input reported together.
import { ValidationError } from '../errors.js';
import type { KubeObject } from '../model/sveltos.js';
import { planClusters, type ClusterPlan, type ClusterPlanner, type ExportPlan, type PlanInput, type PlanProblem } from '../resolve/plan.js';
import { loadDriftDetectionManifests, type DriftDetectionFlags } from '../source/drift-detection.js';
import { formatLoadError, loadObjects, type LoadError } from '../source/kube.js';
import type { LiveCluster } from '../kube/live.js';
import { FluxSourceError, type ArtifactProxy } from '../source/flux-artifact.js';
import { readLiveInput, sveltosVersionOf } from './live-input.js';
import type { ExportLog } from './log.js';
import { fetchFluxSources } from './flux-stage.js';
import { fetchRemoteURLs, type RemoteFlags } from './remote-stage.js';
import { defaultCacheDir } from '../source/helm.js';

/** loadPlan reads `from` and plans; every input problem of the run is reported together in one ValidationError. */
export async function loadPlan(from: string[] | PlanSource, clusters: string[], now: Date, log: ExportLog, remote?: RemoteFlags, drift?: DriftDetectionFlags & { env: NodeJS.ProcessEnv }): Promise<{ plan: ExportPlan; objects: KubeObject[] }> {
  const input = await openPlan(from, clusters, now, log, remote, drift);
  const planned = [...input.clusters()];
  return { plan: { clusters: planned, problems: input.planner.problems, warnings: input.planner.warnings }, objects: input.objects };
}

/** PlanSource is where the input objects come from: `--from` directories, and the live management cluster with `--from-cluster`. */
export interface PlanSource {
  from: string[];
  cluster?: LiveCluster;
}

/** OpenPlan is the input read and planned fleet-wide, its clusters planned as they are iterated. */
export interface OpenPlan {
  planner: ClusterPlanner;
  objects: KubeObject[];
  /** failed tells whether the input has a problem (so far). */
  failed(): boolean;
  /**
   * clusters plans each cluster in turn, logging the warnings found so far before it. After a problem it
   * stops yielding but plans the rest, so that the error it throws at the end reports every problem.
   */
  clusters(): Generator<ClusterPlan>;
}

/**
 * openPlan reads `from` and does the fleet-wide part of the plan; the clusters are planned when iterated.
 * When refs name remoteURLs or Flux sources, a first pass over every cluster lists them, they are fetched (`remote` says
 * where they are cached and whether the network may be used; default: the default cache, online), and the
 * plan is made again with them. When a profile asks for drift detection and `drift` names the
 * drift-detection-manager manifests (a Sveltos version, fetched into the same cache, or files), they are read
 * and the plan carries them.
 */
export async function openPlan(source: string[] | PlanSource, clusters: string[], now: Date, log: ExportLog, remote: RemoteFlags = { cacheDir: defaultCacheDir() }, drift?: DriftDetectionFlags & { env: NodeJS.ProcessEnv }): Promise<OpenPlan> {
  const { from, cluster } = Array.isArray(source) ? { from: source, cluster: undefined } : source;
  if (from.length === 0 && !cluster) throw new ValidationError('USAGE', '--from: at least one directory is required (or --from-cluster)');
  if (drift?.sveltosVersion !== undefined && drift.manifests?.length) throw new ValidationError('USAGE', '--sveltos-version and --drift-detection-manifest: give one of them');
  if (remote.fluxArtifactHost !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(remote.fluxArtifactHost)) {
    throw new ValidationError('USAGE', `--flux-artifact-host ${JSON.stringify(remote.fluxArtifactHost)}: expected HOST:PORT (source-controller's artifact server, e.g. 127.0.0.1:9090 through kubectl port-forward)`);
  }
  const loaded = from.length ? await loadObjects(from) : { objects: [], errors: [] };
  if (from.length) log.info(`read ${loaded.objects.length} object(s) from ${from.join(', ')}`);
  const { errors } = loaded;
  if (cluster) remote = { ...remote, fluxArtifactProxy: artifactProxy(cluster) };
  const objects = cluster ? await readLiveInput(cluster, { clusters, now, overrides: loaded.objects, ...(drift?.configMap ? { driftDetectionConfig: drift.configMap } : {}), log }) : loaded.objects;
  if (cluster) log.info(`read ${objects.length - loaded.objects.length} object(s) from ${cluster.server} (context ${cluster.context})`);
  const input: PlanInput = { objects, clusters, now, ...(cluster ? { pullModeOnly: true } : {}) };
  let planner = planClusters(input);
  let again = false;
  if (planner.remote || planner.flux) {
    for (const _ of planner.clusters());
    const [urls, sources] = await Promise.all([fetchRemoteURLs(planner.remoteRequests.values(), remote, log), fetchFluxSources(planner.fluxRequests.values(), remote, log)]);
    input.remote = (req) => urls.get(req.key);
    input.flux = (req) => sources.get(req.key);
    again = true;
  }
  if (planner.driftDetection && drift && cluster && drift.sveltosVersion === undefined && !drift.manifests?.length) {
    const version = await sveltosVersionOf(cluster, log);
    if (version) drift = { ...drift, sveltosVersion: version };
  }
  if (planner.driftDetection && drift) {
    const manifests = await loadDriftDetectionManifests(drift, { cacheDir: remote.cacheDir, ...(remote.offline ? { offline: true } : {}), env: drift.env, onEvent: (m) => log.info(m) });
    if (manifests) {
      input.driftDetection = { manifests, ...(drift.registry ? { registry: drift.registry } : {}), ...(drift.configMap ? { configMap: drift.configMap } : {}) };
      again = true;
    }
  }
  if (again) planner = planClusters(input);
  let logged = 0;
  const failed = () => errors.length > 0 || planner.problems.length > 0;
  // check throws the problems found so far (with every load error) and logs the warnings not logged yet.
  const check = () => {
    if (failed()) throw inputError(errors, planner.problems);
    for (const w of planner.warnings.slice(logged)) log.warn(w.code, w.message);
    logged = planner.warnings.length;
  };
  function* each(): Generator<ClusterPlan> {
    for (const c of planner.clusters()) {
      if (failed()) continue;
      check();
      yield c;
    }
    check();
  }
  return { planner, objects, failed, clusters: each };
}

// artifactProxy reads Flux artifacts through the cluster's service proxy; what it cannot give is the source's problem.
function artifactProxy(cluster: LiveCluster): ArtifactProxy {
  return (url, where, signal) =>
    cluster.proxyGet(url, where, signal).catch((err: unknown) => {
      throw err instanceof ValidationError ? new FluxSourceError('INVALID', err.message, { cause: err }) : err;
    });
}

// inputError is every input problem of a run in one error: load errors first, then the plan's problems
// with their codes (UNSUPPORTED, REFERENCE_NOT_FOUND, TEMPLATE, ...) in the order found. All of them are
// input errors (exit 1, DESIGN.md §7), so several classes together still exit 1; a trust failure (2) or
// an internal error (70) cannot come out of planning. Helm rendering runs only after a clean plan, so
// render-time problems (HELM_VALUES from a rendered template) are reported on a run without plan problems.
function inputError(load: LoadError[], problems: PlanProblem[]): ValidationError {
  const lines = [...load.map(formatLoadError), ...problems.map(formatProblem)];
  return new ValidationError('INVALID', `${lines.length} problem(s) in the input:\n${lines.join('\n')}`, {
    details: { loadErrors: load, problems },
    fields: [...load.map((e) => e.path ?? ''), ...problems.map((p) => p.field ?? '')],
  });
}

/** formatProblem renders `file:line: CODE: message` (location when known). */
export function formatProblem(p: PlanProblem): string {
  return `${p.file ? `${p.file}:${p.line ?? 0}: ` : ''}${p.code}: ${p.message}`;
}
