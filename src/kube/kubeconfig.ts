// Kubeconfig files: the one an agent gets (sveltos-pullmode.md §3.1, §7.3: cluster `local`, user
// `sveltos-applier`, context `sveltos-context`), the Secret registration makes of it, and reading one.
import { parse, stringify } from 'yaml';
import { ValidationError } from '../errors.js';
import { isPlainObject } from '../model/json.js';

export const KUBECONFIG_SECRET_NAMESPACE = 'projectsveltos';

export interface AgentKubeconfigInput {
  server: string;
  token: string;
  /** PEM of the CA that signed the server's certificate (https servers). */
  caPem?: string;
  /** Default namespace of the context: the cluster's namespace. */
  namespace?: string;
}

/** agentKubeconfig builds the kubeconfig document of a pull agent. */
export function agentKubeconfig(input: AgentKubeconfigInput): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: input.server, ...(input.caPem ? { 'certificate-authority-data': Buffer.from(input.caPem).toString('base64') } : {}) } }],
    users: [{ name: 'sveltos-applier', user: { token: input.token } }],
    contexts: [{ name: 'sveltos-context', context: { cluster: 'local', user: 'sveltos-applier', ...(input.namespace ? { namespace: input.namespace } : {}) } }],
    'current-context': 'sveltos-context',
  };
}

/** kubeconfigSecret is the Secret `<name>-sveltos-kubeconfig` in `projectsveltos` the agent reads its kubeconfig from. */
export function kubeconfigSecret(clusterName: string, kubeconfigYaml: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${clusterName}-sveltos-kubeconfig`, namespace: KUBECONFIG_SECRET_NAMESPACE },
    data: { kubeconfig: Buffer.from(kubeconfigYaml).toString('base64') },
  };
}

/** toYaml renders a document as YAML. */
export function toYaml(doc: unknown): string {
  return stringify(doc, { lineWidth: 0 });
}

/** KubeTarget is where a kubeconfig's current context points and how to authenticate. */
export interface KubeTarget {
  server: string;
  caPem?: string;
  insecureSkipTLSVerify?: boolean;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  username?: string;
  password?: string;
  namespace?: string;
}


function named(list: unknown, name: string, what: string, source: string): Record<string, unknown> {
  const item = Array.isArray(list) ? list.find((x) => isPlainObject(x) && x.name === name) : undefined;
  if (!isPlainObject(item) || !isPlainObject(item[what])) throw new ValidationError('USAGE', `${source}: no ${what} named ${JSON.stringify(name)}`);
  return item[what] as Record<string, unknown>;
}

const b64 = (v: unknown): string | undefined => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined);

/**
 * readKubeconfig resolves the current context of a kubeconfig. Files named by `*-file` fields are read
 * with `readFile` (relative to the kubeconfig); exec and auth-provider plugins are not supported.
 */
export function readKubeconfig(text: string, source: string, readFile: (path: string) => string): KubeTarget {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ValidationError('USAGE', `${source}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(doc)) throw new ValidationError('USAGE', `${source}: not a kubeconfig`);
  const ctxName = doc['current-context'];
  if (typeof ctxName !== 'string' || ctxName === '') throw new ValidationError('USAGE', `${source}: no current-context`);
  const ctx = named(doc.contexts, ctxName, 'context', source);
  const cluster = named(doc.clusters, String(ctx.cluster), 'cluster', source);
  const user = named(doc.users, String(ctx.user), 'user', source);
  if (typeof cluster.server !== 'string') throw new ValidationError('USAGE', `${source}: cluster ${String(ctx.cluster)} has no server`);
  if (user.exec || user['auth-provider']) throw new ValidationError('USAGE', `${source}: user ${String(ctx.user)}: exec and auth-provider credentials are not supported; use a token or a client certificate`);
  const file = (v: unknown) => (typeof v === 'string' ? readFile(v) : undefined);
  const t: KubeTarget = { server: cluster.server };
  const ca = b64(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']);
  if (ca) t.caPem = ca;
  if (cluster['insecure-skip-tls-verify'] === true) t.insecureSkipTLSVerify = true;
  const token = typeof user.token === 'string' ? user.token : file(user.tokenFile)?.trim();
  if (token) t.token = token;
  const cert = b64(user['client-certificate-data']) ?? file(user['client-certificate']);
  const key = b64(user['client-key-data']) ?? file(user['client-key']);
  if (cert && key) {
    t.clientCertPem = cert;
    t.clientKeyPem = key;
  }
  if (typeof user.username === 'string' && typeof user.password === 'string') {
    t.username = user.username;
    t.password = user.password;
  }
  if (typeof ctx.namespace === 'string') t.namespace = ctx.namespace;
  return t;
}
