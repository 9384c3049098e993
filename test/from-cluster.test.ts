// `--from-cluster` against the API server fixture (test/kube-apiserver.ts), which kubectl and
// @kubernetes/client-node read here too, in the same tests, to show the fixture behaves as an API server.
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { LiveCluster } from '../src/kube/live.js';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { exec } from './helm/helm-env.js';
import { tempDir } from './helpers.js';
import { startApiServer, type RunningApiServer } from './kube-apiserver.js';

const SAMPLES = join(import.meta.dirname, '..', 'samples', 'fleet');
const TOKEN = 'fixture-token-5f1c';
const SECRET_VALUE = 'never-read-db-password-8812';

type Obj = Parameters<typeof startApiServer>[1]['objects'][number];

async function readSamples(): Promise<Obj[]> {
  const out: Obj[] = [];
  for (const sub of await readdir(SAMPLES)) {
    if (!sub.match(/^[a-z]+$/)) continue;
    for (const f of await readdir(join(SAMPLES, sub))) {
      for (const d of parseAllDocuments(await readFile(join(SAMPLES, sub, f), 'utf8'))) if (d.toJS()) out.push(d.toJS() as Obj);
    }
  }
  return out;
}

// Objects no profile references: --from-cluster must not read them.
const unrelated: Obj[] = [
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, data: { password: Buffer.from(SECRET_VALUE).toString('base64') } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: 'default' }, data: { a: 'b' } },
];

let work: string;
let api: RunningApiServer;
let kubeconfig: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'from-cluster-'));
  api = await startApiServer(work, { objects: [...(await readSamples()), ...unrelated], tokens: { [TOKEN]: 'reader' } });
  kubeconfig = await api.writeKubeconfig(join(work, 'token.kubeconfig'), { token: TOKEN });
}, 60_000);

afterAll(async () => {
  await api?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

// kubectl's exit and output (exec rejects on a non-zero exit with the stderr in its message).
const kubectl = (args: string[], kc = kubeconfig) => exec(inject('kubectlPath'), ['--kubeconfig', kc, ...args]).then(
  (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
  (e: Error) => ({ code: 1, stdout: '', stderr: e.message }),
);

describe('the API server fixture, read by kubectl and @kubernetes/client-node', () => {
  it('kubectl lists across namespaces in pages (limit/continue) with a token, a client certificate and an exec plugin; 401 without', async () => {
    const before = api.requests.length;
    const clusters = await kubectl(['get', 'sveltosclusters.lib.projectsveltos.io', '-A', '-o', 'json', '--chunk-size', '2']);
    expect(clusters.code, clusters.stderr).toBe(0);
    expect((JSON.parse(clusters.stdout) as { items: unknown[] }).items).toHaveLength(4);
    const lists = api.requests.slice(before).filter((r) => r.startsWith('GET /apis/lib.projectsveltos.io/v1beta1/sveltosclusters?'));
    expect(lists.length).toBe(2);
    expect(lists[1]).toMatch(/[?&]continue=[^&]+&limit=2 |[?&]limit=2&continue=/);

    const cert = await api.writeKubeconfig(join(work, 'cert.kubeconfig'), { 'client-certificate-data': Buffer.from(api.clientCertPem).toString('base64'), 'client-key-data': Buffer.from(api.clientKeyPem).toString('base64') });
    const got = await kubectl(['get', 'configmap', 'region-info', '-n', 'default', '-o', 'jsonpath={.metadata.name}'], cert);
    expect(got).toMatchObject({ code: 0, stdout: 'region-info' });
    expect(api.requests.at(-1)).toMatch(/ cert-user$/);

    const plugin = join(work, 'credential.mjs');
    await writeFile(plugin, `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: ${JSON.stringify(TOKEN)} } }));\n`);
    await chmod(plugin, 0o755);
    const execKc = await api.writeKubeconfig(join(work, 'exec.kubeconfig'), { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin], interactiveMode: 'Never' } });
    expect((await kubectl(['get', 'clusterprofiles', '-o', 'name'], execKc)).stdout.trim().split('\n')).toHaveLength(3);
    const live = await LiveCluster.open({ kubeconfig: execKc, env: {} });
    expect((await live.list((await live.resource('config.projectsveltos.io/v1beta1', 'ClusterProfile'))!)).map((p) => p.metadata.name)).toEqual(['base-namespaces', 'region-config', 'registry-mirror']);

    const denied = await kubectl(['get', 'configmaps', '-A'], await api.writeKubeconfig(join(work, 'bad.kubeconfig'), { token: 'wrong' }));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  it('client-node pages a list with limit and continue, and a continue token the server expired gives 410, which LiveCluster restarts from', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const first = await core.listConfigMapForAllNamespaces({ limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.metadata?.resourceVersion).toMatch(/^\d+$/);
    const rest = await core.listConfigMapForAllNamespaces({ limit: 100, _continue: first.metadata!._continue! });
    expect(first.items.length + rest.items.length).toBe(5);
    api.expireNextContinue();
    const stale = await core.listConfigMapForAllNamespaces({ limit: 2 });
    await expect(core.listConfigMapForAllNamespaces({ limit: 2, _continue: stale.metadata!._continue! })).rejects.toMatchObject({ code: 410 });

    const live = await LiveCluster.open({ kubeconfig, env: {}, pageSize: 2 });
    const cm = (await live.resource('v1', 'ConfigMap'))!;
    api.expireNextContinue();
    const before = api.requests.length;
    const all = await live.list(cm);
    expect(all.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toHaveLength(5);
    expect(all.every((o) => o.apiVersion === 'v1' && o.kind === 'ConfigMap')).toBe(true);
    const seen = api.requests.slice(before).map((r) => r.replace(/continue=[^& ]+/, 'continue=T'));
    // The first page, its expired token, then the whole list again.
    expect(seen.slice(0, 3)).toEqual(['GET /api/v1/configmaps?limit=2 reader', 'GET /api/v1/configmaps?limit=2&continue=T reader', 'GET /api/v1/configmaps?limit=2 reader']);
  });
});

describe('--from-cluster', () => {
  it('resolve reads the same objects as --from of the same objects in files: identical output, and only what the profiles reference is read', async () => {
    // The objects as the server holds them (a uid, which Sveltos copies into sourceRef, and a resourceVersion).
    const dumped = join(work, 'dumped');
    await mkdir(dumped, { recursive: true });
    await writeFile(join(dumped, 'all.yaml'), api.objects.map((o) => JSON.stringify(o)).join('\n---\n'));
    const before = api.requests.length;
    for (const output of ['yaml', 'json']) {
      const files = await cli(['resolve', '--from', dumped, '--output', output]);
      const live = await cli(['resolve', '--from-cluster', '--kubeconfig', kubeconfig, '--output', output]);
      expect(files.code, files.stderr).toBe(0);
      expect(live.code, live.stderr).toBe(0);
      // Byte for byte, but for where an input problem was found: a file and line for --from only.
      const located = (text: string) => (output === 'json' ? JSON.stringify(JSON.parse(text, (k, v: unknown) => (k === 'file' || k === 'line' ? undefined : v))) : text);
      expect(located(live.stdout)).toBe(located(files.stdout));
      expect(live.stderr).toMatch(/read \d+ object\(s\) from https:\/\/127\.0\.0\.1:\d+ \(context mgmt\)/);
    }
    const asked = api.requests.slice(before);
    // Lists of the Sveltos kinds only; ConfigMaps and Secrets by name, never the unreferenced ones.
    expect(asked.filter((r) => /\/(configmaps|secrets)\?/.test(r))).toEqual([]);
    expect(asked.some((r) => r.includes('/namespaces/default/configmaps/region-info '))).toBe(true);
    expect(asked.filter((r) => r.includes('/unrelated') || r.includes('/secrets/db '))).toEqual([]);
  });

  it('an object of --from replaces the cluster one and the run says so; export, verify and import the result', async () => {
    const overrides = join(work, 'overrides');
    await mkdir(overrides, { recursive: true });
    const original = parseAllDocuments(await readFile(join(SAMPLES, 'config', 'region-info.yaml'), 'utf8'))[0]!.toJS() as Obj;
    const changed = { ...original, data: Object.fromEntries(Object.entries(original.data as Record<string, string>).map(([k, v]) => [k, v.replace(/region: \S+/g, 'region: override-9')])) };
    await writeFile(join(overrides, 'region-info.yaml'), JSON.stringify(changed));
    const live = await cli(['resolve', '--from-cluster', '--kubeconfig', kubeconfig, '--from', overrides, '--output', 'yaml']);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stderr).toMatch(/ConfigMap default\/region-info: using the object from .*region-info\.yaml:\d+; the cluster's is not read/);
    expect(live.stdout).toContain('override-9');

    const keys = await testKeys();
    const out = join(work, 'live.tar');
    const exported = await cli(['export', '--from-cluster', '--kubeconfig', kubeconfig, '--key', keys.keyPath, '--out', out, '--sequence', '1']);
    expect(exported.code, exported.stderr).toBe(0);
    expect((await cli(['verify', out, '--key', keys.pubPath])).code).toBe(0);
    expect((await cli(['import', out, '--key', keys.pubPath, '--store', join(work, 'store')])).code).toBe(0);
    expect(exported.stdout + exported.stderr).not.toContain(SECRET_VALUE);
  });

  it('a 403 names the verb and resource and points to sveltos-airgap rbac; a wrong token is a clear 401; --context must exist', async () => {
    const dir = await tempDir();
    const forbidding = await startApiServer(dir, { objects: await readSamples(), tokens: { [TOKEN]: 'reader' }, forbidden: ['list sveltosclusters'] });
    try {
      const kc = await forbidding.writeKubeconfig(join(dir, 'kc'), { token: TOKEN });
      const r = await cli(['resolve', '--from-cluster', '--kubeconfig', kc]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/list sveltosclusters\.lib\.projectsveltos\.io: 403 Forbidden: the user may not list sveltosclusters in API group "lib\.projectsveltos\.io" .*run `sveltos-airgap rbac`/);
      const wrong = await cli(['resolve', '--from-cluster', '--kubeconfig', await forbidding.writeKubeconfig(join(dir, 'wrong'), { token: 'wrong-token-0' })]);
      expect(wrong.stderr).toMatch(/401 Unauthorized: the API server did not accept the kubeconfig's credentials/);
      expect(wrong.stderr).not.toContain('wrong-token-0');
      const ctx = await cli(['resolve', '--from-cluster', '--kubeconfig', kc, '--context', 'nope']);
      expect(ctx.stderr).toMatch(/--context "nope": .* has no such context \(it has mgmt\)/);
      expect((await cli(['resolve', '--from', SAMPLES, '--context', 'mgmt'])).stderr).toMatch(/--context is used with --from-cluster/);
    } finally {
      await forbidding.stop();
    }
  });

  it('templateResourceRefs of any kind, namespaced or cluster-scoped, are found through discovery and read by their templated names', async () => {
    const dir = await tempDir();
    const objects: Obj[] = [
      { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'edge-1', namespace: 'fleet', labels: { env: 'prod' } }, spec: { pullMode: true } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ingress-edge-1', namespace: 'fleet' }, spec: { clusterIP: '10.96.0.42' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ingress-edge-2', namespace: 'fleet' }, spec: { clusterIP: '10.96.0.43' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fleet', labels: { region: 'eu-west' } } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'info', namespace: 'fleet', annotations: { 'projectsveltos.io/template': 'ok' } }, data: { 'info.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: info\n  namespace: default\ndata:\n  ip: {{ (getResource "Ingress").spec.clusterIP }}\n  region: {{ index (getResource "Home").metadata.labels "region" }}\n' } },
      {
        apiVersion: 'config.projectsveltos.io/v1beta1',
        kind: 'ClusterProfile',
        metadata: { name: 'info' },
        spec: {
          clusterSelector: { matchLabels: { env: 'prod' } },
          templateResourceRefs: [
            { identifier: 'Ingress', resource: { apiVersion: 'v1', kind: 'Service', name: 'ingress-{{ .Cluster.metadata.name }}', namespace: '{{ .Cluster.metadata.namespace }}' } },
            { identifier: 'Home', resource: { apiVersion: 'v1', kind: 'Namespace', name: '{{ .Cluster.metadata.namespace }}' } },
          ],
          policyRefs: [{ kind: 'ConfigMap', namespace: 'fleet', name: 'info' }],
        },
      },
    ];
    const server = await startApiServer(dir, { objects, tokens: { [TOKEN]: 'reader' } });
    try {
      const r = await cli(['resolve', '--from-cluster', '--kubeconfig', await server.writeKubeconfig(join(dir, 'kc'), { token: TOKEN }), '--output', 'yaml']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('ip: 10.96.0.42');
      expect(r.stdout).toContain('region: eu-west');
      const byName = server.requests.map((q) => q.split(' ')[1]!).filter((p) => p.includes('/services/') || /^\/api\/v1\/namespaces\/[^/]+$/.test(p));
      expect(byName).toEqual(['/api/v1/namespaces/fleet/services/ingress-edge-1', '/api/v1/namespaces/fleet']);
    } finally {
      await server.stop();
    }
  });

  it("a Flux source's status.artifact is read through the API server's service proxy and checked against its digest; without the proxy, the source itself", async () => {
    const dir = await tempDir();
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'apps'), { recursive: true });
    await writeFile(join(tree, 'apps', 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-artifact\n  namespace: default\ndata:\n  k: v\n');
    await exec('tar', ['-czf', join(dir, 'a.tar.gz'), '-C', tree, '.']);
    const tarball = await readFile(join(dir, 'a.tar.gz'));
    const digest = `sha256:${createHash('sha256').update(tarball).digest('hex')}`;
    const objects = (artifactDigest: string): Obj[] => [
      { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'edge-1', namespace: 'fleet', labels: { env: 'prod' } }, spec: { pullMode: true } },
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        metadata: { name: 'apps', namespace: 'flux-system' },
        spec: { url: 'https://git.invalid/fleet.git', ref: { branch: 'main' } },
        status: { artifact: { url: 'http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/apps/9f3a.tar.gz', digest: artifactDigest, revision: `main@sha1:${'2'.repeat(40)}` } },
      },
      { apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'ClusterProfile', metadata: { name: 'apps' }, spec: { clusterSelector: { matchLabels: { env: 'prod' } }, policyRefs: [{ kind: 'GitRepository', namespace: 'flux-system', name: 'apps', path: 'apps' }] } },
    ];
    const proxied = { 'flux-system/http:source-controller:80/gitrepository/flux-system/apps/9f3a.tar.gz': tarball };
    const run = async (artifactDigest: string, forbidden: string[] = []) => {
      const server = await startApiServer(await tempDir(), { objects: objects(artifactDigest), tokens: { [TOKEN]: 'reader' }, proxied, forbidden });
      try {
        const kc = await server.writeKubeconfig(join(dir, 'kc'), { token: TOKEN });
        return await cli(['resolve', '--from-cluster', '--kubeconfig', kc, '--output', 'yaml', '--cache-dir', await tempDir()]);
      } finally {
        await server.stop();
      }
    };
    const ok = await run(digest);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('name: from-artifact');
    expect(ok.stderr).toContain(`GitRepository flux-system/apps (artifact through the API server): main@sha1:${'2'.repeat(40)}`);
    const tampered = await run(`sha256:${'ab'.repeat(32)}`);
    expect(tampered.code).toBe(2);
    expect(tampered.stderr).toMatch(/through the API server served sha256:[0-9a-f]{64}, but status\.artifact\.digest is sha256:(ab){32}/);
    const closed = await run(digest, ['get services/proxy']);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('GitRepository flux-system/apps: the API server does not let this user proxy to source-controller; fetching the source itself');
    expect(closed.stderr).toMatch(/GitRepository flux-system\/apps \(https:\/\/git\.invalid\/fleet\.git\): git ls-remote/);
  });

  it('with drift detection and no --sveltos-version, the version is the tag of the addon-controller image, and its manifests are carried', async () => {
    const fixtures = join(import.meta.dirname, 'fixtures', 'drift-detection');
    const source = createServer((req, res) => {
      const path = normalize(join(fixtures, decodeURIComponent((req.url ?? '').split('?')[0]!)));
      if (!path.startsWith(fixtures)) return void res.writeHead(404).end();
      readFile(path).then((b) => res.writeHead(200).end(b), () => res.writeHead(404).end());
    });
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
    const dir = await tempDir();
    const deployment: Obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'addon-controller', namespace: 'projectsveltos' }, spec: { template: { spec: { containers: [{ name: 'controller', image: 'docker.io/projectsveltos/addon-controller:v1.14.0' }] } } } };
    const server = await startApiServer(dir, { objects: [...(await readSamples()), deployment], tokens: { [TOKEN]: 'reader' } });
    try {
      const env = { SVELTOS_AIRGAP_SVELTOS_SOURCE_BASE: `http://127.0.0.1:${(source.address() as AddressInfo).port}` };
      const r = await cli(['resolve', '--from-cluster', '--kubeconfig', await server.writeKubeconfig(join(dir, 'kc'), { token: TOKEN }), '--output', 'yaml', '--cache-dir', await tempDir()], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('Sveltos v1.14.0: the image of Deployment projectsveltos/addon-controller (docker.io/projectsveltos/addon-controller:v1.14.0)');
      expect(r.stderr).not.toContain('DRIFT_DETECTION_MANAGER');
      expect(r.stdout).toContain('name: drift-detection-manager');
    } finally {
      await server.stop();
      source.close();
    }
  });

  it('only pull-mode SveltosClusters are targets: the management cluster deploys to the others itself', async () => {
    const dir = await tempDir();
    const cluster = (name: string, pullMode: boolean): Obj => ({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name, namespace: 'fleet', labels: { env: 'prod' } }, spec: { pullMode } });
    const profile: Obj = { apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'ClusterProfile', metadata: { name: 'p' }, spec: { clusterSelector: { matchLabels: { env: 'prod' } } } };
    const server = await startApiServer(dir, { objects: [cluster('edge-pull', true), cluster('dc-push', false), profile], tokens: { [TOKEN]: 'reader' } });
    try {
      const kc = await server.writeKubeconfig(join(dir, 'kc'), { token: TOKEN });
      const r = await cli(['resolve', '--from-cluster', '--kubeconfig', kc, '--output', 'json']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { clusters: { name: string }[] }).clusters.map((c) => c.name)).toEqual(['edge-pull']);
      const push = await cli(['resolve', '--from-cluster', '--kubeconfig', kc, '--cluster', 'fleet/dc-push']);
      expect(push.code).toBe(1);
      expect(push.stderr).toMatch(/CLUSTER_NOT_PULL_MODE: --cluster fleet\/dc-push: SveltosCluster fleet\/dc-push is not in pull mode/);
    } finally {
      await server.stop();
    }
  });

  it('rbac prints the ClusterRole the reads above need, kubectl-valid YAML', async () => {
    const r = await cli(['rbac', '--service-account', 'tools/exporter', '--resource', 'services']);
    expect(r.code, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] });
    expect(docs.map((d) => d.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding']);
    const rules = docs[0]!.rules!;
    expect(rules.find((x) => x.resources.includes('sveltosclusters'))!.verbs).toEqual(['get', 'list']);
    expect(rules.find((x) => x.apiGroups[0] === '')!.resources).toEqual(['configmaps', 'secrets', 'services']);
    expect(rules.find((x) => x.resources.includes('secrets'))!.verbs).toEqual(['get']);
    const file = join(work, 'rbac.yaml');
    await writeFile(file, r.stdout);
    const dry = await exec(inject('kubectlPath'), ['--kubeconfig', kubeconfig, 'create', '--dry-run=client', '-o', 'name', '-f', file, '--validate=false']).then((x) => x.stdout, (e: Error) => `failed: ${e.message}`);
    expect(dry.trim().split('\n')).toEqual(['clusterrole.rbac.authorization.k8s.io/sveltos-airgap-reader', 'clusterrolebinding.rbac.authorization.k8s.io/sveltos-airgap-reader']);
  });
});
