// apply: write the store's served objects into a Kubernetes API server (what `import --apply` does after
// importing); run it again to finish removals once agents have reported Removed.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { applyStore, type ApplyResult } from '../../agent-api/apply.js';
import { SiteView } from '../../bundle/site.js';
import { KubeClient } from '../../kube/client.js';
import { readKubeconfig } from '../../kube/kubeconfig.js';
import { printResult, Reporter, table, type CommandIO, type GlobalOptions } from '../io.js';
import { loadSiteKeys } from '../keys.js';
import { parseClusterName } from '../options.js';
import { readArgText } from '../files.js';

export interface ApplyCommandOptions extends GlobalOptions {
  store: string;
  kubeconfig: string;
  cluster?: string[];
  /** The site's private keys: encrypted objects are decrypted with them. */
  siteKey?: string[];
  siteKeyPassphraseEnv?: string;
}

/** kubeClientFromFile reads a kubeconfig named on the command line. */
export async function kubeClientFromFile(file: string): Promise<KubeClient> {
  const text = await readArgText(file, '--kubeconfig');
  const rel = (p: string) => (isAbsolute(p) ? p : join(dirname(file), p));
  return new KubeClient(readKubeconfig(text, file, (p) => readFileSync(rel(p), 'utf8')));
}

/** applyResults renders apply results for people. */
export function applyResultsText(results: ApplyResult[]): string {
  return table(
    ['CLUSTER', 'CREATED', 'UPDATED', 'REMOVING', 'DELETED'],
    results.map((r) => [r.cluster, String(r.created.length), String(r.updated.length), r.removing.join(' ') || '0', String(r.deleted.length)]),
  );
}

export async function applyCommand(opts: ApplyCommandOptions, io: CommandIO): Promise<ApplyResult[]> {
  const reporter = new Reporter(io, opts);
  const client = await kubeClientFromFile(opts.kubeconfig);
  const clusters = opts.cluster?.length ? opts.cluster.map((c) => parseClusterName(c)) : undefined;
  const siteKeys = await loadSiteKeys(opts.siteKey ?? [], opts.siteKeyPassphraseEnv, io.env);
  const results = await applyStore(await SiteView.open(opts.store), client, clusters, (m) => reporter.warn('SKIPPED', m), siteKeys);
  printResult(io, opts, { server: client.server, results }, () => applyResultsText(results));
  return results;
}
