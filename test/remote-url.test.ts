// remoteURL sources against real servers on 127.0.0.1: an https server with a CA of its own (caFile,
// insecureSkipTLSVerify) asking for a bearer token or basic auth, an oversize body, a redirect to another
// host, tar.gz bodies, the cache and --offline; an OCI artifact in Debian's docker-registry (htpasswd); and
// the CLI, whose resolve and export must agree and whose output never shows a credential.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { renderKustomizeForPlan } from '../src/export/kustomize-stage.js';
import type { ExportLog } from '../src/export/log.js';
import { loadPlan } from '../src/export/plan.js';
import { sha256 as sha256Digest } from '../src/content/digest.js';
import { fetchRemote, policyContent } from '../src/source/remote-url.js';
import { readTarEntries, testKeys } from './bundles.js';
import { cli } from './cli.js';
import { exec } from './helm/helm-env.js';
import { pushArtifact as pushArtifactTo, startRegistry, type RunningRegistry } from './helm/servers.js';
import { tempDir } from './helpers.js';

const TOKEN = 'tok-Zq8s3cr3t';
const USER = 'reader';
const PASSWORD = 'pw-Xk2s3cr3t';
const silent: ExportLog = { info: () => undefined, warn: () => undefined, progress: () => undefined };

const APP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: apps\ndata:\n  cluster: "{{ .Cluster.metadata.name }}"\n';

interface Site {
  url: string;
  stop(): Promise<void>;
}

async function listen(server: ReturnType<typeof createHttpServer>, scheme: string, host = '127.0.0.1'): Promise<Site> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `${scheme}://${host}:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

let root: string;

/** tarGz packs `files` as `tar -czf x -C dir .` does. */
async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(root, 'tree-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  await exec('tar', ['-czf', `${dir}.tar.gz`, '-C', dir, '.']);
  return readFile(`${dir}.tar.gz`);
}

let ca: string;
let tls: Site;
let other: Site;
let registry: RunningRegistry;
const otherSaw: (string | undefined)[] = [];
let bigWritten = 0;
let bigClosed: Promise<void>;
let bundleTgz: Buffer;
let kustomizeTgz: Buffer;

const KUSTOMIZE: Record<string, string> = {
  'base/kustomization.yaml': 'resources:\n- cm.yaml\n- deploy.yaml\n',
  'base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n',
  'base/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n',
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sveltos-airgap-remote-url-'));
  const dir = root;
  const f = (n: string) => join(dir, n);
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=remote-url-test-ca']);
  await exec('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', '/CN=127.0.0.1']);
  await writeFile(f('ext'), 'subjectAltName=IP:127.0.0.1\n');
  await exec('openssl', ['x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('srv.crt'), '-days', '2', '-extfile', f('ext')]);
  ca = await readFile(f('ca.crt'), 'utf8');
  bundleTgz = await tarGz({ 'a.yaml': 'kind: A', 'sub/b.JSON': '{"kind":"B"}', 'README.md': '# not yaml', 'c.yml': 'kind: C' });
  kustomizeTgz = await tarGz(KUSTOMIZE);

  // The other host: localhost instead of 127.0.0.1 is another origin.
  other = await listen(
    createHttpServer((req, res) => {
      otherSaw.push(req.headers.authorization);
      res.end(APP);
    }),
    'http',
    'localhost',
  );
  let closed!: () => void;
  bigClosed = new Promise((r) => (closed = r));
  const auth = (req: IncomingMessage): string => req.headers.authorization ?? '';
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (path.startsWith('/token/') && auth(req) !== `Bearer ${TOKEN}`) return res.writeHead(401).end();
    if (path.startsWith('/basic/') && auth(req) !== `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`) return res.writeHead(401).end();
    if (path.endsWith('/app.yaml')) return res.end(APP);
    if (path.endsWith('/bundle.tar.gz')) return res.end(bundleTgz);
    if (path.endsWith('/kustomize.tar.gz')) return res.end(kustomizeTgz);
    if (path === '/token/away') return res.writeHead(302, { location: `${other.url}/elsewhere.yaml` }).end();
    if (path === '/token/big') {
      // Up to 64 MiB, no Content-Length, written as fast as the client takes it: the client must stop at its limit.
      const chunk = Buffer.alloc(1 << 20, 0x61);
      let open = true;
      res.on('close', () => ((open = false), closed()));
      void (async () => {
        for (let i = 0; i < 64 && open; i++) {
          bigWritten += chunk.length;
          if (!res.write(chunk)) await new Promise((r) => (res.once('drain', r), res.once('close', r)));
        }
        if (open) res.end();
      })();
      return;
    }
    res.writeHead(404).end();
  };
  const [key, cert] = await Promise.all([readFile(f('srv.key')), readFile(f('srv.crt'))]);
  tls = await listen(createHttpsServer({ key, cert }, handler) as unknown as ReturnType<typeof createHttpServer>, 'https');
  await mkdir(join(root, 'registry'));
  registry = await startRegistry(join(root, 'registry'), 'htpasswd');
}, 60_000);

afterAll(async () => {
  await Promise.all([tls?.stop(), other?.stop(), registry?.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

/** secretsIn lists the credentials found in `text`. */
const secretsIn = (text: string): string[] => [TOKEN, PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')].filter((s) => text.includes(s));

describe('remoteURL over https', () => {
  it('bearer token and basic auth with the caFile as the only root; without it the TLS error says what to set; insecureSkipTLSVerify works', async () => {
    const cacheDir = await tempDir();
    const token = await fetchRemote(`${tls.url}/token/app.yaml`, { token: `${TOKEN}\n`, ca }, { cacheDir });
    expect(token.parts.map(String)).toEqual([APP]);
    expect(token.digest).toBe(sha256Digest(Buffer.from(APP)));
    const basic = await fetchRemote(`${tls.url}/basic/app.yaml`, { username: USER, password: PASSWORD, ca }, { cacheDir });
    expect(basic.parts.map(String)).toEqual([APP]);
    const insecure = await fetchRemote(`${tls.url}/token/app.yaml`, { token: TOKEN, insecureSkipTLSVerify: true }, { cacheDir });
    expect(insecure.digest).toBe(token.digest);

    const untrusted = await fetchRemote(`${tls.url}/token/app.yaml`, { token: TOKEN }, { cacheDir }).catch((e: Error) => e);
    expect(String(untrusted)).toMatch(/caFile in the secretRef Secret.*insecureSkipTLSVerify: true/);
    const wrong = await fetchRemote(`${tls.url}/basic/app.yaml`, { username: USER, password: `${PASSWORD}x`, ca }, { cacheDir }).catch((e: Error) => e);
    expect(String(wrong)).toMatch(/HTTP 401; check the secretRef Secret/);
    for (const e of [untrusted, wrong]) expect(secretsIn(`${String(e)} ${JSON.stringify(e)}`)).toEqual([]);
  });

  it('stops reading at 20 MiB: the error names the URL, the limit and what to do, and the server is cut off long before its 64 MiB', async () => {
    const err = await fetchRemote(`${tls.url}/token/big?sig=${TOKEN}`, { token: TOKEN, ca }, { cacheDir: await tempDir() }).catch((e: Error) => e);
    expect(String(err)).toContain(`remoteURL ${tls.url}/token/big?…: larger than the 20971520 byte (20 MiB) limit`);
    expect(String(err)).toMatch(/split it into several remoteURL references/);
    expect(secretsIn(String(err))).toEqual([]);
    await bigClosed;
    expect(bigWritten).toBeLessThan(40 << 20);
  });

  it('a redirect to another host is followed without the credentials', async () => {
    const got = await fetchRemote(`${tls.url}/token/away`, { token: TOKEN, ca }, { cacheDir: await tempDir() });
    expect(got.parts.map(String)).toEqual([APP]);
    expect(otherSaw).toEqual([undefined]);
  });

  it('a tar.gz body yields its .yaml/.yml/.json files in tar order, each followed by ---', async () => {
    const got = await fetchRemote(`${tls.url}/token/bundle.tar.gz`, { token: TOKEN, ca }, { cacheDir: await tempDir() });
    const text = policyContent(got.parts, 'x');
    expect(text.split('\n---\n').filter(Boolean).sort()).toEqual(['kind: A', 'kind: C', '{"kind":"B"}']);
    expect(text).not.toContain('not yaml');
  });

  it('offline reads the cache filled by an earlier fetch, checked against its digests; a URL never fetched is a clear error', async () => {
    const cacheDir = await tempDir();
    const online = await fetchRemote(`${tls.url}/token/app.yaml`, { token: TOKEN, ca }, { cacheDir });
    const offline = await fetchRemote(`${tls.url}/token/app.yaml`, {}, { cacheDir, offline: true });
    expect(offline).toEqual(online);
    await expect(fetchRemote(`${tls.url}/token/other.yaml`, {}, { cacheDir, offline: true })).rejects.toThrow(/not in the cache .* --offline forbids fetching it; export once without --offline/);
  });
});

/** pushArtifact pushes an OCI artifact whose layers are `layers`, tagged `tag`. */
function pushArtifact(repository: string, tag: string, layers: Buffer[]): Promise<string> {
  const config = { mediaType: 'application/vnd.sveltos.test.config.v1+json', data: Buffer.from('{}') };
  return pushArtifactTo(registry, repository, tag, config, layers.map((data) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', data })));
}

describe('remoteURL from an OCI artifact (docker-registry, htpasswd)', () => {
  it('every layer in manifest order, with username/password; the manifest digest names it', async () => {
    const digest = await pushArtifact('config/app', 'v1', [Buffer.from(APP), bundleTgz]);
    const url = `oci://${registry.host}/config/app:v1`;
    const got = await fetchRemote(url, { username: registry.username!, password: registry.password!, plainHTTP: true }, { cacheDir: await tempDir() });
    expect(got.digest).toBe(digest);
    const text = policyContent(got.parts, url);
    // The raw layer as is, then the archive's YAML files (no separator between layers, as addon-controller).
    expect(text.startsWith(`${APP}`)).toBe(true);
    expect(text.slice(APP.length).split('\n---\n').filter(Boolean).sort()).toEqual(['kind: A', 'kind: C', '{"kind":"B"}']);
    const denied = await fetchRemote(url, { plainHTTP: true }, { cacheDir: await tempDir() }).catch((e: Error) => e);
    expect(String(denied)).toMatch(new RegExp(`remoteURL ${url}: .*`));
  });
});

/** pushFleetArtifact pushes the fleet's OCI artifact: two layers of Kubernetes objects (a tar.gz, then plain YAML). */
async function pushFleetArtifact(): Promise<void> {
  const cm = (n: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\n  namespace: apps\n`;
  await pushArtifact('config/fleet', 'v1', [await tarGz({ 'one.yaml': cm('one'), 'two.yml': cm('two') }), Buffer.from(cm('three'))]);
}

// A fleet with remoteURL policyRefs (token over https with the caFile, basic auth from OCI) and one
// remoteURL kustomizationRef, beside the same kustomize tree in a ConfigMap.
async function fleet(): Promise<string> {
  const input = await tempDir();
  const docs = [
    `apiVersion: v1\nkind: Secret\nmetadata: {name: web-token, namespace: fleet}\ntype: addons.projectsveltos.io/cluster-profile\nstringData: {}\ndata:\n  token: ${Buffer.from(TOKEN).toString('base64')}\n  caFile: ${Buffer.from(ca).toString('base64')}\n`,
    `apiVersion: v1\nkind: Secret\nmetadata: {name: oci, namespace: default}\ntype: addons.projectsveltos.io/cluster-profile\ndata:\n  username: ${Buffer.from(registry.username!).toString('base64')}\n  password: ${Buffer.from(registry.password!).toString('base64')}\n`,
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k, namespace: default}\nbinaryData:\n  kustomize.tar.gz: ${kustomizeTgz.toString('base64')}\n`,
    ...['c1', 'c2'].map((c) => `apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: ${c}, namespace: fleet, labels: {env: prod}}\nspec: {pullMode: true}\n`),
    `apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata: {name: remote}
spec:
  clusterSelector: {matchLabels: {env: prod}}
  policyRefs:
  - remoteURL: {url: "${tls.url}/token/app.yaml", secretRef: {name: web-token}, template: true}
  - remoteURL: {url: "oci://${registry.host}/config/fleet:v1", secretRef: {name: oci, namespace: default}, plainHTTP: true}
  kustomizationRefs:
  - {kind: ConfigMap, namespace: default, name: k, path: base}
  - remoteURL: {url: "${tls.url}/token/kustomize.tar.gz", secretRef: {name: web-token}}
    path: base
`,
  ];
  await writeFile(join(input, 'fleet.yaml'), docs.join('---\n'));
  return input;
}

describe('remoteURL refs through resolve and export', () => {
  it('policyRefs: one bundle per URL (index --URL), the template rendered per cluster; a kustomizationRef builds the remote tree as the same tree from a ConfigMap', async () => {
    await pushFleetArtifact();
    const { plan } = await loadPlan([await fleet()], [], new Date(), silent, { cacheDir: await tempDir() });
    expect(plan.problems).toEqual([]);
    const stage = await renderKustomizeForPlan(plan, { binary: { path: inject('kubectlPath'), kind: 'kubectl' } });
    for (const c of stage.plan.clusters) {
      const byFeature = (f: string) => c.groups.find((g) => g.group.metadata.labels['pullmode.projectsveltos.io/requestorfeature'] === f)!.bundles;
      const resources = byFeature('Resources');
      expect(resources.map((b) => b.metadata.annotations['pullmode.projectsveltos.io/index'])).toEqual([`--${tls.url}/token/app.yaml`, `--oci://${registry.host}/config/fleet:v1`]);
      expect(parse(resources[0]!.spec.resources![0]!)).toMatchObject({ data: { cluster: c.cluster.split('/')[1] } });
      expect(resources[1]!.spec.resources!.map((r) => (parse(r) as { metadata: { name: string } }).metadata.name).sort()).toEqual(['one', 'three', 'two']);
      const k = byFeature('Kustomize');
      expect(k.map((b) => b.metadata.annotations['pullmode.projectsveltos.io/index'])).toEqual(['ConfigMap-default-k', '--']);
      expect(k[1]!.spec.resources).toEqual(k[0]!.spec.resources);
      expect(k[1]!.spec.resources).toHaveLength(2);
      expect(c.remoteSources.map((s) => s.url).sort()).toEqual([`${tls.url}/token/app.yaml`, `${tls.url}/token/kustomize.tar.gz`, `oci://${registry.host}/config/fleet:v1`].sort());
    }
  });

  it('the CLI: resolve and export carry the same objects, offline export reuses the cache, and no output shows a credential', async () => {
    await pushFleetArtifact();
    const input = await fleet();
    const cache = await tempDir();
    const env = { SVELTOS_AIRGAP_CACHE: cache };
    const resolved = await cli(['resolve', '--from', input, '--output', 'json', '--kustomize', inject('kubectlPath')], env);
    expect(resolved.code, resolved.stderr).toBe(0);
    const keys = await testKeys();
    const out = join(await tempDir(), 'b.tar');
    const exp = await cli(['export', '--from', input, '--key', keys.keyPath, '--out', out, '--kustomize', inject('kubectlPath'), '--output', 'json', '--offline'], env);
    expect(exp.code, exp.stderr).toBe(0);
    const shown = await cli(['inspect', out, '--output', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    const objects = (o: { clusters: { objects: { kind: string; spec?: { resources?: string[] } }[] }[] }) => o.clusters.flatMap((c) => c.objects.filter((x) => x.kind === 'ConfigurationBundle').map((x) => x.spec?.resources));
    expect(objects(JSON.parse(resolved.stdout))).toHaveLength(8);
    // Export carries what resolve shows: every resolved bundle's content hash is in the bundle's configuration.
    const blobs = [...(await readTarEntries(out)).values()].map((b) => (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('latin1')).join('\n');
    const hashes = (JSON.parse(resolved.stdout) as { clusters: { objects: { kind: string; metadata: { annotations: Record<string, string> }; status: { hash: string } }[] }[] }).clusters.flatMap((c) =>
      c.objects.filter((o) => o.kind === 'ConfigurationBundle').map((o) => [o.metadata.annotations['pullmode.projectsveltos.io/index'], o.status.hash]),
    );
    expect(hashes.filter(([i]) => i!.startsWith('--'))).toHaveLength(6);
    for (const [index, hash] of hashes) expect(blobs.includes(`hash: ${hash}`), `${index} ${hash}`).toBe(true);
    // Neither the bundle nor the cache holds a credential.
    expect(secretsIn(blobs)).toEqual([]);
    const files = (await readdir(cache, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files.some((e) => e.parentPath.includes('remote-url'))).toBe(true);
    for (const e of files) expect(secretsIn((await readFile(join(e.parentPath, e.name))).toString('latin1')), e.name).toEqual([]);
    // The signed predicate names each URL with the digest of what was fetched; inspect shows them.
    const signed = (JSON.parse(shown.stdout) as { signature: { remoteSources: { url: string; digest: string }[] } }).signature.remoteSources;
    expect(signed.map((r) => r.url)).toEqual([`${tls.url}/token/app.yaml`, `${tls.url}/token/kustomize.tar.gz`, `oci://${registry.host}/config/fleet:v1`].sort());
    expect(signed[0]!.digest).toBe(sha256Digest(Buffer.from(APP)));
    // resolve names the same sources with the same digests.
    const resolvedSources = (JSON.parse(resolved.stdout) as { clusters: { remoteSources: { url: string; digest: string }[] }[] }).clusters.flatMap((c) => c.remoteSources);
    expect(new Set(resolvedSources.map((r) => `${r.url} ${r.digest}`))).toEqual(new Set(signed.map((r) => `${r.url} ${r.digest}`)));
    expect(signed.every((r) => /^sha256:[0-9a-f]{64}$/.test(r.digest))).toBe(true);
    const text = await cli(['inspect', out]);
    expect(text.stdout).toContain(`remoteURL: ${signed[0]!.url} ${signed[0]!.digest}`);
    for (const r of [resolved, exp, shown]) expect(secretsIn(r.stdout + r.stderr)).toEqual([]);
    // A wrong token: the error names the URL and never the token.
    const bad = (await readFile(join(input, 'fleet.yaml'), 'utf8')).replace(Buffer.from(TOKEN).toString('base64'), Buffer.from(`${TOKEN}-old`).toString('base64'));
    await writeFile(join(input, 'fleet.yaml'), bad);
    const failed = await cli(['resolve', '--from', input, '--kustomize', inject('kubectlPath')], { SVELTOS_AIRGAP_CACHE: await tempDir() });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`remoteURL ${tls.url}/token/app.yaml: HTTP 401`);
    expect(secretsIn(failed.stdout + failed.stderr)).toEqual([]);
    expect(failed.stderr).not.toContain(`${TOKEN}-old`);
  });

  it('a kustomizationRef from a two-layer OCI artifact builds the layers extracted one over the other; a path two layers write differently is refused', async () => {
    const overlay = { 'prod/kustomization.yaml': 'resources:\n- ../base\nnamePrefix: prod-\n' };
    const baseLayer = await tarGz(KUSTOMIZE);
    await pushArtifact('config/k', 'layers', [baseLayer, await tarGz(overlay)]);
    await pushArtifact('config/k', 'clash', [baseLayer, await tarGz({ 'base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n' })]);
    const input = await tempDir();
    const plan = async (tag: string) => {
      await writeFile(
        join(input, 'in.yaml'),
        [
          `apiVersion: v1\nkind: Secret\nmetadata: {name: oci, namespace: fleet}\ntype: addons.projectsveltos.io/cluster-profile\ndata:\n  username: ${Buffer.from(registry.username!).toString('base64')}\n  password: ${Buffer.from(registry.password!).toString('base64')}\n`,
          'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: c1, namespace: fleet, labels: {env: prod}}\nspec: {pullMode: true}\n',
          `apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: p}\nspec:\n  clusterSelector: {matchLabels: {env: prod}}\n  kustomizationRefs:\n  - remoteURL: {url: "oci://${registry.host}/config/k:${tag}", secretRef: {name: oci}, plainHTTP: true}\n    path: prod\n`,
        ].join('---\n'),
      );
      return (await loadPlan([input], [], new Date(), silent, { cacheDir: await tempDir() })).plan;
    };
    const built = await renderKustomizeForPlan(await plan('layers'), { binary: { path: inject('kubectlPath'), kind: 'kubectl' } });
    const bundles = built.plan.clusters[0]!.groups.find((g) => g.group.metadata.labels['pullmode.projectsveltos.io/requestorfeature'] === 'Kustomize')!.bundles;
    expect(bundles[0]!.spec.resources!.map((r) => (parse(r) as { metadata: { name: string } }).metadata.name)).toEqual(['prod-cm', 'prod-web']);
    await expect(renderKustomizeForPlan(await plan('clash'), { binary: { path: inject('kubectlPath'), kind: 'kubectl' } })).rejects.toThrow(/layer 2 writes "base\/cm.yaml" over an earlier layer's different file/);
    // A fetched body is no ConfigMap's kustomize.tar.gz: messages call it what it is.
    await pushArtifact('config/k', 'broken', [Buffer.from('not gzip at all')]);
    const broken = renderKustomizeForPlan(await plan('broken'), { binary: { path: inject('kubectlPath'), kind: 'kubectl' } });
    await expect(broken).rejects.toThrow(/remoteURL oci:\/\/127\.0\.0\.1:\d+\/config\/k:broken.*: archive: /);
    await expect(broken).rejects.not.toThrow(/kustomize\.tar\.gz/);
  });
});
