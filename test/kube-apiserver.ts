// An API server fixture for `--from-cluster` (no kube-apiserver can be installed here). It follows the API
// conventions the readers rely on, and the tests that use it check it with kubectl and @kubernetes/client-node:
// HTTPS with its own CA; bearer tokens and client certificates (CN = user); legacy discovery (/api, /apis, the
// APIResourceLists); get and list, namespaced and across namespaces, paged with limit/continue, the list's
// metadata.resourceVersion, 410 Gone (reason Expired) for an expired continue token; Status bodies for 401,
// 403 and 404.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { exec } from './helm/helm-env.js';

interface Resource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** The kinds the fixture serves. */
export const RESOURCES: Resource[] = [
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { group: 'lib.projectsveltos.io', version: 'v1beta1', kind: 'SveltosCluster', plural: 'sveltosclusters', namespaced: true },
  { group: 'lib.projectsveltos.io', version: 'v1beta1', kind: 'ClusterSet', plural: 'clustersets', namespaced: false },
  { group: 'lib.projectsveltos.io', version: 'v1beta1', kind: 'Set', plural: 'sets', namespaced: true },
  { group: 'config.projectsveltos.io', version: 'v1beta1', kind: 'ClusterProfile', plural: 'clusterprofiles', namespaced: false },
  { group: 'config.projectsveltos.io', version: 'v1beta1', kind: 'Profile', plural: 'profiles', namespaced: true },
  { group: 'source.toolkit.fluxcd.io', version: 'v1', kind: 'GitRepository', plural: 'gitrepositories', namespaced: true },
  { group: 'source.toolkit.fluxcd.io', version: 'v1', kind: 'OCIRepository', plural: 'ocirepositories', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false },
];

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

export interface ApiServerOptions {
  objects: Obj[];
  /** Bearer tokens and the user each authenticates. */
  tokens?: Record<string, string>;
  /** `VERB PLURAL` pairs (`list secrets`, `get configmaps`, `get services/proxy`) every user is refused. */
  forbidden?: string[];
  /** What the service proxy answers: `NAMESPACE/SCHEME:SERVICE:PORT/PATH` to the body. */
  proxied?: Record<string, Buffer>;
}

export interface RunningApiServer {
  url: string;
  caPem: string;
  /** A client certificate (CN=cert-user) and key the server accepts. */
  clientCertPem: string;
  clientKeyPem: string;
  /** Every request: `METHOD PATH?QUERY user`. */
  requests: string[];
  /** The objects as the server holds them (with the uid and resourceVersion it gave each). */
  objects: Obj[];
  /** The next continue token the server hands out expires before it is used (the list then gets 410). */
  expireNextContinue(): void;
  /** writeKubeconfig writes a kubeconfig for this server with the given user entry (token, client-certificate-data, exec…). */
  writeKubeconfig(path: string, user: Record<string, unknown>, context?: string): Promise<string>;
  stop(): Promise<void>;
}

// stored is an object as the API server keeps it: a Secret's stringData is written into data (base64).
function stored(o: Obj): Obj {
  if (o.kind !== 'Secret' || !o.stringData) return o;
  const { stringData, ...rest } = o as Obj & { stringData: Record<string, string>; data?: Record<string, string> };
  const data = { ...(rest.data ?? {}), ...Object.fromEntries(Object.entries(stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
  return { ...rest, data };
}

/** startApiServer generates a CA, a serving certificate for 127.0.0.1 and a client certificate, and serves `objects`. */
export async function startApiServer(dir: string, opts: ApiServerOptions): Promise<RunningApiServer> {
  const ssl = (args: string[]) => exec('openssl', args, { cwd: dir });
  await ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=fixture-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subj] of [['server', '/CN=kube-apiserver'], ['client', '/CN=cert-user/O=system:masters']] as const) {
    await ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    await ssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  }
  const read = (f: string) => readFile(join(dir, f), 'utf8');
  const [caPem, certPem, keyPem, clientCertPem, clientKeyPem] = (await Promise.all(['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key'].map(read))) as [string, string, string, string, string];

  let rv = 1000;
  const store = opts.objects.map((o) => stored({ ...o, metadata: { ...o.metadata, resourceVersion: String(++rv), uid: randomBytes(8).toString('hex') } }));
  const tokens = opts.tokens ?? {};
  const forbidden = new Set(opts.forbidden ?? []);
  const requests: string[] = [];
  const issued = new Set<string>();
  let expireNext = false;

  const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  const groupVersion = (r: Resource) => (r.group ? `${r.group}/${r.version}` : r.version);

  const server: Server = createServer({ key: keyPem, cert: certPem, ca: caPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    const send = (code: number, body: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const socket = req.socket as TLSSocket;
    const auth = req.headers.authorization ?? '';
    const user = auth.startsWith('Bearer ') ? tokens[auth.slice(7)] : socket.authorized ? String(socket.getPeerCertificate().subject?.CN ?? '') : undefined;
    requests.push(`${req.method} ${url.pathname}${url.search} ${user ?? '-'}`);
    if (!user) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    if (req.method !== 'GET') return send(405, status(405, 'MethodNotAllowed', 'the fixture serves get and list only'));
    const path = url.pathname.replace(/\/$/, '');
    // The service proxy: /api/v1/namespaces/NS/services/SCHEME:NAME:PORT/proxy/PATH.
    const proxy = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)$/.exec(url.pathname);
    if (proxy) {
      if (forbidden.has('get services/proxy')) return send(403, status(403, 'Forbidden', `services "${decodeURIComponent(proxy[2]!)}" is forbidden: User "${user}" cannot get resource "services/proxy" in API group "" in the namespace "${proxy[1]}"`));
      const body = opts.proxied?.[`${proxy[1]}/${decodeURIComponent(proxy[2]!)}${proxy[3]}`];
      if (!body) return send(404, status(404, 'NotFound', 'the proxied service answered 404'));
      return res.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
    }
    if (path === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' });
    if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: url.host }] });
    if (path === '/apis') {
      const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => `${r.group}/${r.version}`))].map((gv) => {
        const [name, version] = gv.split('/') as [string, string];
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
      return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(path);
    if (!m) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const [group, version] = m[1] ? ['', m[1]] : [m[2]!, m[3]!];
    let [ns, plural, name] = [m[4], m[5], m[6]];
    // /api/v1/namespaces/NAME is the Namespace NAME, not a namespaced path.
    if (ns !== undefined && plural === undefined) [plural, name, ns] = ['namespaces', ns, undefined];
    if (plural === undefined) {
      const list = RESOURCES.filter((r) => r.group === group && r.version === version);
      if (!list.length) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return send(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: list.map((r) => ({ name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'list'] })) });
    }
    const r = RESOURCES.find((x) => x.group === group && x.version === version && x.plural === plural);
    if (!r) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const verb = name === undefined ? 'list' : 'get';
    if (forbidden.has(`${verb} ${plural}`)) {
      const scope = ns ? `in the namespace "${ns}"` : 'at the cluster scope';
      return send(403, status(403, 'Forbidden', `${plural}${group ? `.${group}` : ''} is forbidden: User "${user}" cannot ${verb} resource "${plural}" in API group "${group}" ${scope}`));
    }
    const of = store.filter((o) => o.kind === r.kind && o.apiVersion.split('/')[0] === (group || 'v1') && (ns === undefined || o.metadata.namespace === ns));
    if (name !== undefined) {
      const o = of.find((x) => x.metadata.name === name);
      if (!o) return send(404, status(404, 'NotFound', `${plural}${group ? `.${group}` : ''} "${name}" not found`));
      return send(200, { ...o, apiVersion: groupVersion(r) });
    }
    // Lists are in key order (namespace, then name); pages of `limit`, the continue token names where the next starts.
    const sorted = [...of].sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
    let start = 0;
    const token = url.searchParams.get('continue');
    if (token) {
      if (!issued.has(token)) return send(410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
      start = Number(Buffer.from(token, 'base64').toString().split(':')[1]);
    }
    const limit = Number(url.searchParams.get('limit') ?? 0) || sorted.length;
    const page = sorted.slice(start, start + limit);
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (start + limit < sorted.length) {
      const next = Buffer.from(`${randomBytes(4).toString('hex')}:${start + limit}`).toString('base64');
      if (expireNext) expireNext = false;
      else issued.add(next);
      metadata.continue = next;
      metadata.remainingItemCount = sorted.length - start - limit;
    }
    // Built-in kinds' items carry no apiVersion and kind in a list; custom resources' do.
    const items = page.map((o) => (group ? { ...o, apiVersion: groupVersion(r) } : (({ apiVersion: _a, kind: _k, ...rest }) => rest)(o)));
    return send(200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata, items });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    caPem,
    clientCertPem,
    clientKeyPem,
    requests,
    objects: store,
    expireNextContinue: () => {
      expireNext = true;
    },
    writeKubeconfig: async (path, user, context = 'mgmt') => {
      const doc = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'mgmt', cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
        users: [{ name: 'reader', user }],
        contexts: [{ name: context, context: { cluster: 'mgmt', user: 'reader' } }],
        'current-context': context,
      };
      await writeFile(path, stringify(doc));
      return path;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
