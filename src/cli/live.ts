// Where export and resolve read their input: `--from` directories, and the live management cluster with
// `--from-cluster`.
import type { PlanSource } from '../export/plan.js';
import { LiveCluster } from '../kube/live.js';
import { liveOptions, type LiveClusterOptions } from './options.js';

/** planSource opens the management cluster when --from-cluster is given; otherwise the directories alone. */
export async function planSource(o: LiveClusterOptions & { from?: string[] }, env: NodeJS.ProcessEnv): Promise<PlanSource> {
  const live = liveOptions(o, env);
  return { from: o.from ?? [], ...(live ? { cluster: await LiveCluster.open(live) } : {}) };
}
