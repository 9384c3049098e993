// agent-kubeconfig: a bearer token for one cluster's pull agent, as a kubeconfig and as the Secret
// `<name>-sveltos-kubeconfig` in `projectsveltos` that the agent's Deployment mounts (sveltos-pullmode.md §3.1);
// with --list, the tokens issued (never a token or its hash); with --revoke, tokens withdrawn.
import { writeFile } from 'node:fs/promises';
import { openSiteLayout, readState } from '../../bundle/site.js';
import { issueToken, listTokens, revokeTokens, type TokenInfo, type TokenSelector } from '../../agent-api/tokens.js';
import { ValidationError } from '../../errors.js';
import { agentKubeconfig, kubeconfigSecret, toYaml } from '../../kube/kubeconfig.js';
import { readSiteCA } from '../../serve/tls.js';
import { printResult, Reporter, table, type CommandIO, type GlobalOptions } from '../io.js';
import { isClusterName, parseClusterName } from '../options.js';
import { readArgText } from '../files.js';

export interface AgentKubeconfigOptions extends GlobalOptions {
  store: string;
  /** The cluster to issue a token for (required to issue); with `list`, only its tokens. */
  cluster?: string;
  /** URL the agent reaches serve at (required to issue). */
  server?: string;
  /** CA certificate of the server (default: the store's self-signed CA when `serve --tls-self-signed` made one). */
  caFile?: string;
  /** Print the Secret instead of the kubeconfig. */
  secret?: boolean;
  /** Also write the Secret YAML here. */
  secretOut?: string;
  /** Also write the kubeconfig here (mode 0600). */
  kubeconfigOut?: string;
  /** List the issued tokens instead of issuing one. */
  list?: boolean;
  /** Revoke tokens, each by id or NAMESPACE/NAME, instead of issuing one. */
  revoke?: string[];
}

export interface AgentKubeconfigResult {
  cluster: string;
  server: string;
  tokenId: string;
  kubeconfig: string;
  secret: string;
}

export interface TokenListResult {
  tokens: TokenInfo[];
}

export interface TokenRevokeResult {
  revoked: TokenInfo[];
}

// The flags that only issuing takes, by option name.
const ISSUE_FLAGS = { server: '--server', caFile: '--ca-file', secret: '--secret', secretOut: '--secret-out', kubeconfigOut: '--kubeconfig-out' } as const;

/** agentKubeconfigCommand issues a token and prints its kubeconfig, or with --list / --revoke lists or revokes tokens. */
export async function agentKubeconfigCommand(opts: AgentKubeconfigOptions, io: CommandIO): Promise<AgentKubeconfigResult | TokenListResult | TokenRevokeResult> {
  const revoke = opts.revoke ?? [];
  if (!opts.list && !revoke.length) return issueCommand(opts, io);
  if (opts.list && revoke.length) throw new ValidationError('USAGE', '--list and --revoke exclude each other: list first, then revoke');
  const mode = opts.list ? '--list' : '--revoke';
  const issuing = (Object.keys(ISSUE_FLAGS) as (keyof typeof ISSUE_FLAGS)[]).filter((k) => opts[k] !== undefined && opts[k] !== false);
  if (issuing.length) throw new ValidationError('USAGE', `${mode} issues no token: drop ${issuing.map((k) => ISSUE_FLAGS[k]).join(', ')} (they are for issuing one)`);
  if (revoke.length && opts.cluster !== undefined) throw new ValidationError('USAGE', `--revoke names the cluster itself (--revoke ${opts.cluster}); --cluster goes with issuing and --list`);
  if (opts.list) {
    const cluster = opts.cluster === undefined ? undefined : parseClusterName(opts.cluster);
    await openSiteLayout(opts.store, false);
    return listCommand(opts, cluster, io);
  }
  const selectors = parseSelectors(revoke);
  await openSiteLayout(opts.store, false);
  return revokeCommand(opts, selectors, io);
}

async function listCommand(opts: AgentKubeconfigOptions, cluster: string | undefined, io: CommandIO): Promise<TokenListResult> {
  const tokens = await listTokens(opts.store, cluster ? { cluster } : {});
  const result: TokenListResult = { tokens };
  printResult(io, opts, result, () =>
    tokens.length ? table(['ID', 'CLUSTER', 'CREATED'], tokens.map((t) => [t.id, t.cluster, t.createdAt])) : `no agent tokens issued${cluster ? ` for ${cluster}` : ''} in ${opts.store}`,
  );
  return result;
}

// parseSelectors reads --revoke values: a token id or NAMESPACE/NAME; every malformed one is named.
function parseSelectors(args: string[]): TokenSelector[] {
  const bad = args.filter((a) => !/^[0-9a-f]{12}$/i.test(a) && !isClusterName(a));
  if (bad.length) {
    throw new ValidationError('USAGE', `--revoke: expected a token id (12 hex digits, as --list shows) or NAMESPACE/NAME, got ${bad.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return args.map((a) => (a.includes('/') ? { cluster: a } : { id: a.toLowerCase() }));
}

async function revokeCommand(opts: AgentKubeconfigOptions, selectors: TokenSelector[], io: CommandIO): Promise<TokenRevokeResult> {
  const revoked = await revokeTokens(opts.store, selectors);
  const result: TokenRevokeResult = { revoked };
  printResult(io, opts, result, () => revoked.map((t) => `revoked ${t.id} (${t.cluster}, issued ${t.createdAt})`).join('\n'));
  new Reporter(io, opts).info('a running serve refuses revoked tokens within a second and ends their watches');
  return result;
}

async function issueCommand(opts: AgentKubeconfigOptions, io: CommandIO): Promise<AgentKubeconfigResult> {
  const reporter = new Reporter(io, opts);
  const { cluster: clusterArg, server: serverArg } = opts;
  if (clusterArg === undefined || serverArg === undefined) {
    const missing = [clusterArg === undefined ? '--cluster NS/NAME' : '', serverArg === undefined ? '--server URL' : ''].filter(Boolean);
    throw new ValidationError('USAGE', `issuing a token needs ${missing.join(' and ')} (or use --list or --revoke)`);
  }
  const cluster = parseClusterName(clusterArg);
  let server: URL;
  try {
    server = new URL(serverArg);
  } catch {
    throw new ValidationError('USAGE', `--server: expected a URL like https://airgap.example:5000, got ${JSON.stringify(serverArg)}`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new ValidationError('USAGE', `--server: expected an https:// URL, got ${serverArg}`);
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
  const kubeconfig = toYaml(agentKubeconfig({ server: serverArg, token, namespace: cluster.split('/')[0]!, ...(caPem ? { caPem } : {}) }));
  const secret = toYaml(kubeconfigSecret(cluster.split('/')[1]!, kubeconfig));
  if (opts.kubeconfigOut) await writeFile(opts.kubeconfigOut, kubeconfig, { mode: 0o600 });
  if (opts.secretOut) await writeFile(opts.secretOut, secret, { mode: 0o600 });
  const result: AgentKubeconfigResult = { cluster, server: serverArg, tokenId: record.id, kubeconfig, secret };
  printResult(io, opts, result, () => (opts.secret ? `---\n${secret}` : kubeconfig));
  reporter.info(`issued token ${record.id} for ${cluster}${opts.secretOut ? `; Secret written to ${opts.secretOut}` : ''}`);
  return result;
}
