// Reading a live API server (the management cluster) for `--from-cluster`: get and list only. The kubeconfig
// is read by @kubernetes/client-node, so client certificates, bearer tokens, exec credential plugins (cloud
// providers) and custom CAs work as they do for kubectl; the requests themselves go through KubeClient.
// Resources are found by discovery (any kind a templateResourceRef names), lists are paged with
// limit/continue and restarted when the API server expires the continue token (410 Gone).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RemoteError, ValidationError } from '../errors.js';
import type { KubeObject } from '../model/sveltos.js';
import { KubeClient, type KubeResponse } from './client.js';
import type { KubeTarget } from './kubeconfig.js';

export interface LiveOptions {
  /** The kubeconfig file; default $KUBECONFIG (its first file), then ~/.kube/config. */
  kubeconfig?: string;
  /** The context; default the kubeconfig's current context. */
  context?: string;
  env: NodeJS.ProcessEnv;
  /** Objects per list page; default LIST_PAGE. */
  pageSize?: number;
}

/** ResourceInfo is what discovery says of a kind: where it is served and whether it is namespaced. */
export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** The page size of lists (kubectl's default chunk size). */
export const LIST_PAGE = 500;
/** How many times a list whose continue token expired is started again. */
const LIST_RESTARTS = 3;

/** An artifact read through the service proxy over this size is refused (Flux artifacts are carried in memory). */
const MAX_PROXIED_BYTES = 64 * 1024 * 1024;

const RBAC_HINT = 'run `sveltos-airgap rbac` for the read-only ClusterRole --from-cluster needs';

/** kubeconfigPath is the file a run reads: the flag, then the first file of $KUBECONFIG, then ~/.kube/config. */
export function kubeconfigPath(opts: LiveOptions): string {
  const first = opts.env.KUBECONFIG?.split(':').find((p) => p !== '');
  return opts.kubeconfig ?? first ?? join(opts.env.HOME ?? homedir(), '.kube', 'config');
}

/** LiveCluster reads objects from an API server. */
export class LiveCluster {
  readonly #client: KubeClient;
  readonly #groups = new Map<string, Promise<{ preferred: string; versions: string[] } | undefined>>();
  readonly #resources = new Map<string, Promise<ResourceInfo[]>>();

  constructor(
    client: KubeClient,
    readonly context: string,
    readonly pageSize = LIST_PAGE,
  ) {
    this.#client = client;
  }

  /** open reads the kubeconfig (with @kubernetes/client-node) and resolves the context's credentials. */
  static async open(opts: LiveOptions): Promise<LiveCluster> {
    const path = kubeconfigPath(opts);
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new ValidationError('USAGE', `--kubeconfig ${path}: ${(err as Error).message}; give the management cluster's kubeconfig with --kubeconfig or $KUBECONFIG`, { cause: err });
    }
    if (opts.context !== undefined) {
      if (!kc.getContextObject(opts.context)) throw new ValidationError('USAGE', `--context ${JSON.stringify(opts.context)}: ${path} has no such context (it has ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      kc.setCurrentContext(opts.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new ValidationError('USAGE', `${path}: context ${JSON.stringify(kc.getCurrentContext())} names no cluster`);
    // What client-node puts on a request: CA, client certificate and key, and the Authorization header
    // (a token, or what an exec plugin returned).
    const https: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; headers?: Record<string, unknown>; rejectUnauthorized?: boolean } = {};
    try {
      await kc.applyToHTTPSOptions(https as Parameters<typeof kc.applyToHTTPSOptions>[0]);
    } catch (err) {
      throw new RemoteError('UNAUTHORIZED', `${path}: context ${kc.getCurrentContext()}: the credentials could not be obtained: ${(err as Error).message}`, { cause: err });
    }
    const text = (v: string | Buffer | undefined) => (v === undefined ? undefined : v.toString());
    const auth = typeof https.headers?.Authorization === 'string' ? https.headers.Authorization : typeof https.headers?.authorization === 'string' ? https.headers.authorization : undefined;
    const target: KubeTarget = { server: cluster.server };
    const ca = text(https.ca);
    if (ca) target.caPem = ca;
    if (https.rejectUnauthorized === false || cluster.skipTLSVerify) target.insecureSkipTLSVerify = true;
    const cert = text(https.cert);
    const key = text(https.key);
    if (cert && key) {
      target.clientCertPem = cert;
      target.clientKeyPem = key;
    }
    if (auth?.startsWith('Bearer ')) target.token = auth.slice('Bearer '.length);
    else if (auth?.startsWith('Basic ')) {
      const [user, ...pass] = Buffer.from(auth.slice('Basic '.length), 'base64').toString().split(':');
      target.username = user ?? '';
      target.password = pass.join(':');
    }
    return new LiveCluster(new KubeClient(target), kc.getCurrentContext(), opts.pageSize);
  }

  get server(): string {
    return this.#client.server;
  }

  /**
   * resource finds where `kind` of `apiVersion`'s group is served: that version when the server has it, else
   * the group's preferred version. Undefined when the server does not know the kind.
   */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
    const known = await this.#group(group);
    if (!known) return undefined;
    const v = known.versions.includes(version) ? version : known.preferred;
    return (await this.#resourcesOf(group, v)).find((r) => r.kind === kind);
  }

  /** list lists every object of a resource (in every namespace), a page at a time. */
  async list(r: ResourceInfo, onPage?: (n: number) => void): Promise<KubeObject[]> {
    for (let attempt = 0; ; attempt++) {
      const items: KubeObject[] = [];
      let token = '';
      let expired = false;
      do {
        const res = await this.#get<{ items?: KubeObject[]; metadata?: { continue?: string } }>(
          `${base(r)}/${r.plural}?limit=${this.pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
        );
        if (res.status === 410 && token) {
          expired = true;
          break;
        }
        if (res.status !== 200) throw this.#failure(res, 'list', r);
        // A list's items carry no apiVersion and kind: they are the list's.
        for (const item of res.body.items ?? []) items.push({ ...item, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind });
        onPage?.(items.length);
        token = res.body.metadata?.continue ?? '';
      } while (token);
      if (!expired) return items;
      if (attempt + 1 >= LIST_RESTARTS) throw new RemoteError('PROTOCOL', `${this.server}: list ${r.plural}: the continue token expired ${LIST_RESTARTS} times (410 Gone); the list changes faster than it can be read`);
    }
  }

  /** get reads one object; undefined when it does not exist. */
  async get(r: ResourceInfo, namespace: string, name: string): Promise<KubeObject | undefined> {
    const path = `${base(r)}/${r.namespaced ? `namespaces/${encodeURIComponent(namespace)}/` : ''}${r.plural}/${encodeURIComponent(name)}`;
    const res = await this.#get<KubeObject>(path);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.#failure(res, 'get', r);
    return res.body;
  }

  /**
   * proxyGet reads a URL of a cluster Service (`http://NAME.NAMESPACE.svc…/PATH`, as source-controller names its
   * artifacts) through the API server's service proxy; undefined when the user may not use the proxy.
   */
  async proxyGet(url: URL, where: string, signal?: AbortSignal): Promise<Buffer | undefined> {
    const [name, namespace] = url.hostname.replace(/\.$/, '').split('.');
    if (!name || !namespace) throw new ValidationError('INVALID', `${where}: ${url.href}: expected the URL of a Service (NAME.NAMESPACE.svc…), as source-controller publishes artifacts`);
    const scheme = url.protocol.replace(':', '');
    const port = url.port || (scheme === 'https' ? '443' : '80');
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${scheme}:${encodeURIComponent(name)}:${port}/proxy${url.pathname}${url.search}`;
    const res = await this.#client.requestBytes('GET', path, { accept: '*/*', limit: MAX_PROXIED_BYTES, ...(signal ? { signal } : {}) });
    if (res.status === 403) return undefined;
    if (res.status !== 200) {
      throw new ValidationError('INVALID', `${where}: ${url.href} through the API server (${this.server}): HTTP ${res.status}${res.status === 404 ? ' (source-controller keeps only recent revisions: the source has moved on since its status was read)' : ''}`);
    }
    return res.body;
  }

  async #get<T>(path: string): Promise<KubeResponse<T>> {
    return this.#client.request<T>('GET', path);
  }

  #group(group: string): Promise<{ preferred: string; versions: string[] } | undefined> {
    let p = this.#groups.get(group);
    if (!p) {
      p = (async () => {
        if (group === '') {
          const res = await this.#get<{ versions?: string[] }>('/api');
          if (res.status !== 200) throw this.#failure(res, 'discover', undefined);
          return { preferred: 'v1', versions: res.body.versions ?? ['v1'] };
        }
        const res = await this.#get<{ groups?: { name: string; versions?: { version: string }[]; preferredVersion?: { version: string } }[] }>('/apis');
        if (res.status !== 200) throw this.#failure(res, 'discover', undefined);
        const g = (res.body.groups ?? []).find((x) => x.name === group);
        const versions = (g?.versions ?? []).map((v) => v.version);
        return g && versions.length ? { preferred: g.preferredVersion?.version ?? versions[0]!, versions } : undefined;
      })();
      this.#groups.set(group, p);
    }
    return p;
  }

  #resourcesOf(group: string, version: string): Promise<ResourceInfo[]> {
    const key = `${group}/${version}`;
    let p = this.#resources.get(key);
    if (!p) {
      p = (async () => {
        const res = await this.#get<{ resources?: { name: string; kind: string; namespaced?: boolean }[] }>(group ? `/apis/${group}/${version}` : `/api/${version}`);
        if (res.status === 404) return [];
        if (res.status !== 200) throw this.#failure(res, 'discover', undefined);
        return (res.body.resources ?? []).filter((x) => !x.name.includes('/')).map((x) => ({ group, version, plural: x.name, kind: x.kind, namespaced: x.namespaced === true }));
      })();
      this.#resources.set(key, p);
    }
    return p;
  }

  // failure explains a refused request: 401 (the credentials), 403 (the verb and resource, and the ClusterRole
  // that grants them), anything else with the API server's Status message.
  #failure(res: KubeResponse<unknown>, verb: string, r: ResourceInfo | undefined): RemoteError {
    const body = res.body as { message?: unknown };
    const said = typeof body?.message === 'string' ? body.message : '';
    const what = r ? `${verb} ${r.plural}${r.group ? `.${r.group}` : ''}` : 'discovery';
    if (res.status === 401) return new RemoteError('UNAUTHORIZED', `${this.server} (context ${this.context}): ${what}: 401 Unauthorized: the API server did not accept the kubeconfig's credentials${said ? ` (${said})` : ''}`, { details: { status: 401 } });
    if (res.status === 403) {
      return new RemoteError('DENIED', `${this.server} (context ${this.context}): ${what}: 403 Forbidden: the user may not ${verb} ${r ? `${r.plural} in API group ${JSON.stringify(r.group)}` : 'the discovery documents'}${said ? ` (${said})` : ''}; ${RBAC_HINT}`, {
        details: { status: 403, verb, resource: r?.plural, group: r?.group },
      });
    }
    return new RemoteError('PROTOCOL', `${this.server}: ${what}: HTTP ${res.status}${said ? `: ${said}` : ''}`, { details: { status: res.status } });
  }
}

function base(r: ResourceInfo): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}
