// export as one library call: read and plan the input, render charts and carry images, pack the signed
// bundle. The CLI's `export` parses its flags into ExportOptions, calls exportBundle and prints.
import type { ClusterArtifactInput } from '../bundle/manifest.js';
import { packBundle, type ExtraArtifact, type PackOptions, type PackResult } from '../bundle/pack.js';
import { ValidationError } from '../errors.js';
import { ANNOTATION_REQUESTOR_NAME, LABEL_REQUESTOR_FEATURE } from '../model/sveltos.js';
import type { RemoteSourceRecord } from '../model/bundle.js';
import { clusterGroupsToYAML, type ClusterPlan } from '../resolve/plan.js';
import type { CarriedLicense } from '../resolve/license.js';
import { chooseLicense } from './license.js';
import { displayURL } from '../resolve/remote-url.js';
import type { ExportLog } from './log.js';
import { openPlan, type PlanSource } from './plan.js';
import type { DriftDetectionFlags } from '../source/drift-detection.js';
import { defaultCacheDir } from '../source/helm.js';
import { renderAndCarry, type CarryFlags } from './render.js';

/** ExportOptions are pack's options (signer, sequence, times, output…) plus what to read and render. */
export interface ExportOptions extends Omit<PackOptions, 'clusters' | 'extras' | 'onProgress'> {
  /** Directories (or files) of input objects, read recursively. */
  from: string[] | PlanSource;
  /** Only these clusters (`NAMESPACE/NAME`); empty: every eligible cluster. */
  clusters: string[];
  /** How charts are rendered and whether, and how, images are carried. */
  carry: CarryFlags;
  /** Environment for the defaults of the cache directory and the helm binary. */
  env: NodeJS.ProcessEnv;
  /** A file holding the sveltos-license Secret; default: that Secret among the `from` objects. */
  license?: string;
  /** Where the drift-detection-manager manifests come from (none: ContinuousWithDriftDetection is warned about). */
  driftDetection?: DriftDetectionFlags;
}

export interface ExportResult extends PackResult {
  /** The exported clusters, `NAMESPACE/NAME`. */
  clusters: string[];
  /** The Sveltos license relayed to every cluster, if any. */
  license?: CarriedLicense;
}

/**
 * exportBundle resolves the input for the target clusters and writes the signed bundle. Without charts to
 * render, kustomizations to build or images to carry, each cluster is planned, built and spooled in turn and
 * then dropped, so memory does not grow with the fleet; otherwise the render stages need every cluster's
 * plan first.
 */
export async function exportBundle(opts: ExportOptions, log: ExportLog): Promise<ExportResult> {
  const { from, clusters, env, carry, license: licenseFile, driftDetection, ...pack } = opts;
  const input = await openPlan(from, clusters, pack.createdAt, log, {
    cacheDir: carry.cacheDir ?? defaultCacheDir(env),
    ...(carry.offline ? { offline: true } : {}),
    ...(carry.fluxArtifactHost ? { fluxArtifactHost: carry.fluxArtifactHost } : {}),
  }, { ...driftDetection, env });
  const { license, problems, warnings } = await chooseLicense(input.objects, licenseFile, input.planner.count, pack.createdAt);
  input.planner.problems.push(...problems);
  input.planner.warnings.push(...warnings);
  if (license) log.info(`Sveltos license from ${license.source}: relayed to every cluster`);
  let planned: Iterable<ClusterPlan>;
  let extras: ExtraArtifact[] = [];
  let count = input.planner.count;
  if (input.planner.helm || input.planner.kustomize || carry.includeImages) {
    const all = [...input.clusters()];
    const rendered = await renderAndCarry({ clusters: all, problems: input.planner.problems, warnings: input.planner.warnings }, input.objects, carry, env, log);
    planned = rendered.plan.clusters;
    extras = rendered.extras;
    count = rendered.plan.clusters.length;
  } else {
    // With nothing to export or a problem already, everything is planned first: the error names every problem.
    planned = count === 0 || input.failed() ? [...input.clusters()] : input.clusters();
  }
  if (count === 0) {
    throw new ValidationError('INVALID', `no cluster to export: the input has no eligible SveltosCluster${clusters.length ? ` named ${clusters.join(', ')}` : ''} (paused clusters are skipped)`);
  }
  const exported: string[] = [];
  const remoteSources: RemoteSourceRecord[] = [];
  function* artifacts(): Generator<ClusterArtifactInput> {
    for (const c of planned) {
      for (const r of c.remoteSources) remoteSources.push({ url: displayURL(r.url), digest: r.digest });
      log.info(`${c.cluster}: ${c.profiles.length} profile(s), ${c.groups.length} group(s), ${c.groups.reduce((n, g) => n + g.bundles.length, 0)} bundle(s)`);
      for (const n of c.notCarried) log.warn('NOT_CARRIED', `${c.cluster}: ${n.profile}: ${n.ref}: ${n.reason}`);
      exported.push(c.cluster);
      yield clusterArtifact(c, license);
    }
  }
  const result = await packBundle({
    ...pack,
    clusters: artifacts(),
    clusterCount: count,
    extras,
    remoteSources,
    onProgress: (e) => log.progress(e.phase === 'write' ? 'write' : 'build', e.done, e.total, e.phase === 'write' ? 'bytes' : 'items'),
  });
  return { ...result, clusters: exported, ...(license ? { license } : {}) };
}

/**
 * clusterArtifact turns one cluster's plan into what the bundle carries for it. The config's annotations
 * are served on the cluster's SveltosCluster (the license, as sveltoscluster-manager relays it).
 */
export function clusterArtifact(c: ClusterPlan, license?: CarriedLicense): ClusterArtifactInput {
  const [namespace, name] = c.cluster.split('/') as [string, string];
  return {
    namespace,
    name,
    config: { namespace, name, labels: c.labels, ...(license ? { annotations: license.annotations } : {}), profiles: c.profiles, notCarried: c.notCarried },
    groups: c.groups.map(({ group, bundles }) => ({
      name: group.metadata.name,
      feature: group.metadata.labels[LABEL_REQUESTOR_FEATURE] ?? '',
      requestor: group.metadata.annotations[ANNOTATION_REQUESTOR_NAME] ?? '',
      yaml: clusterGroupsToYAML(group, bundles),
    })),
  };
}
