// export as one library call: read and plan the input, render charts and carry images, pack the signed
// bundle. The CLI's `export` parses its flags into ExportOptions, calls exportBundle and prints.
import type { ClusterArtifactInput } from '../bundle/manifest.js';
import { packBundle, type PackOptions, type PackResult } from '../bundle/pack.js';
import { ValidationError } from '../errors.js';
import { ANNOTATION_REQUESTOR_NAME, LABEL_REQUESTOR_FEATURE } from '../model/sveltos.js';
import { clusterGroupsToYAML, type ClusterPlan } from '../resolve/plan.js';
import type { ExportLog } from './log.js';
import { loadPlan } from './plan.js';
import { renderAndCarry, type CarryFlags } from './render.js';

/** ExportOptions are pack's options (signer, sequence, times, output…) plus what to read and render. */
export interface ExportOptions extends Omit<PackOptions, 'clusters' | 'extras' | 'onProgress'> {
  /** Directories (or files) of input objects, read recursively. */
  from: string[];
  /** Only these clusters (`NAMESPACE/NAME`); empty: every eligible cluster. */
  clusters: string[];
  /** How charts are rendered and whether, and how, images are carried. */
  carry: CarryFlags;
  /** Environment for the defaults of the cache directory and the helm binary. */
  env: NodeJS.ProcessEnv;
}

export interface ExportResult extends PackResult {
  /** The exported clusters, `NAMESPACE/NAME`. */
  clusters: string[];
}

/** exportBundle resolves the input for the target clusters and writes the signed bundle. */
export async function exportBundle(opts: ExportOptions, log: ExportLog): Promise<ExportResult> {
  const { from, clusters, env, carry, ...pack } = opts;
  const resolved = await loadPlan(from, clusters, pack.createdAt, log);
  const { plan, extras } = await renderAndCarry(resolved.plan, resolved.objects, carry, env, log);
  if (plan.clusters.length === 0) {
    throw new ValidationError('INVALID', `no cluster to export: the input has no eligible SveltosCluster${clusters.length ? ` named ${clusters.join(', ')}` : ''} (paused clusters are skipped)`);
  }
  for (const c of plan.clusters) {
    log.info(`${c.cluster}: ${c.profiles.length} profile(s), ${c.groups.length} group(s), ${c.groups.reduce((n, g) => n + g.bundles.length, 0)} bundle(s)`);
    for (const n of c.notCarried) log.warn('NOT_CARRIED', `${c.cluster}: ${n.profile}: ${n.ref}: ${n.reason}`);
  }
  const result = await packBundle({
    ...pack,
    clusters: plan.clusters.map(clusterArtifact),
    extras,
    onProgress: (e) => log.progress(e.phase === 'write' ? 'write' : 'build', e.done, e.total, e.phase === 'write' ? 'bytes' : 'items'),
  });
  return { ...result, clusters: plan.clusters.map((c) => c.cluster) };
}

/** clusterArtifact turns one cluster's plan into what the bundle carries for it. */
export function clusterArtifact(c: ClusterPlan): ClusterArtifactInput {
  const [namespace, name] = c.cluster.split('/') as [string, string];
  return {
    namespace,
    name,
    config: { namespace, name, labels: c.labels, profiles: c.profiles, notCarried: c.notCarried },
    groups: c.groups.map(({ group, bundles }) => ({
      name: group.metadata.name,
      feature: group.metadata.labels[LABEL_REQUESTOR_FEATURE] ?? '',
      requestor: group.metadata.annotations[ANNOTATION_REQUESTOR_NAME] ?? '',
      yaml: clusterGroupsToYAML(group, bundles),
    })),
  };
}
