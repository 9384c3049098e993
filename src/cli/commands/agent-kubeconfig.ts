// agent-kubeconfig: a bearer token for one cluster's pull agent, as a kubeconfig and as the Secret
// `<name>-sveltos-kubeconfig` in `projectsveltos` that the agent's Deployment mounts (sveltos-pullmode.md §3.1).
import { writeFile } from 'node:fs/promises';
import { openSiteLayout, readState } from '../../bundle/site.js';
import { issueToken } from '../../agent-api/tokens.js';
import { ValidationError } from '../../errors.js';
import { agentKubeconfig, kubeconfigSecret, toYaml } from '../../kube/kubeconfig.js';
import { readSiteCA } from '../../serve/tls.js';
import { printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { parseClusterName } from '../options.js';
import { readArgText } from '../files.js';

export interface AgentKubeconfigOptions extends GlobalOptions {
  store: string;
  cluster: string;
  server: string;
  /** CA certificate of the server (default: the store's self-signed CA when `serve --tls-self-signed` made one). */
  caFile?: string;
  /** Print the Secret instead of the kubeconfig. */
  secret?: boolean;
  /** Also write the Secret YAML here. */
  secretOut?: string;
  /** Also write the kubeconfig here (mode 0600). */
  kubeconfigOut?: string;
}

export interface AgentKubeconfigResult {
  cluster: string;
  server: string;
  tokenId: string;
  kubeconfig: string;
  secret: string;
}

export async function agentKubeconfigCommand(opts: AgentKubeconfigOptions, io: CommandIO): Promise<AgentKubeconfigResult> {
  const reporter = new Reporter(io, opts);
  const cluster = parseClusterName(opts.cluster);
  let server: URL;
  try {
    server = new URL(opts.server);
  } catch {
    throw new ValidationError('USAGE', `--server: expected a URL like https://airgap.example:5000, got ${JSON.stringify(opts.server)}`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new ValidationError('USAGE', `--server: expected an https:// URL, got ${opts.server}`);
  await openSiteLayout(opts.store, false);
  const state = await readState(opts.store);
  if (!state.clusters[cluster]) reporter.warn('UNKNOWN_CLUSTER', `${cluster} is not in any bundle imported into ${opts.store} yet; its agent will see no objects until one is`);
  let caPem: string | undefined;
  if (opts.caFile) {
    caPem = await readArgText(opts.caFile, '--ca-file');
  } else if (server.protocol === 'https:') {
    caPem = await readSiteCA(opts.store);
  }
  if (server.protocol === 'http:') reporter.warn('PLAIN_HTTP', 'kubectl and client-go send bearer tokens only over https: serve with --tls-cert/--tls-key or --tls-self-signed');
  const { token, record } = await issueToken(opts.store, cluster, new Date());
  const kubeconfig = toYaml(agentKubeconfig({ server: opts.server, token, namespace: cluster.split('/')[0]!, ...(caPem ? { caPem } : {}) }));
  const secret = toYaml(kubeconfigSecret(cluster.split('/')[1]!, kubeconfig));
  if (opts.kubeconfigOut) await writeFile(opts.kubeconfigOut, kubeconfig, { mode: 0o600 });
  if (opts.secretOut) await writeFile(opts.secretOut, secret, { mode: 0o600 });
  const result: AgentKubeconfigResult = { cluster, server: opts.server, tokenId: record.id, kubeconfig, secret };
  printResult(io, opts, result, () => (opts.secret ? `---\n${secret}` : kubeconfig));
  reporter.info(`issued token ${record.id} for ${cluster}${opts.secretOut ? `; Secret written to ${opts.secretOut}` : ''}`);
  return result;
}
