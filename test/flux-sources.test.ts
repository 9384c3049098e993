// Flux OCIRepository sources pulled from Debian's docker-registry (htpasswd) as Flux-format artifacts (config
// application/vnd.cncf.flux.config.v1+json, layer application/vnd.cncf.flux.content.v1.tar+gzip) made here
// with tar; published artifacts (status.artifact) read from an artifact server given by --flux-artifact-host
// and checked against their digest; kustomizationRefs built with the real kustomize from a fetched
// OCIRepository and a GitRepository (file://).
import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { sha256 as sha256Digest } from '../src/content/digest.js';
import { renderKustomizeForPlan } from '../src/export/kustomize-stage.js';
import type { ExportLog } from '../src/export/log.js';
import { loadPlan } from '../src/export/plan.js';
import type { KubeObject } from '../src/model/sveltos.js';
import { fluxRequest, type OCIRequest } from '../src/resolve/flux.js';
import { fetchOCIRepository, MEDIA_TYPE_FLUX_CONFIG, MEDIA_TYPE_FLUX_CONTENT } from '../src/source/flux-oci.js';
import { cosignSignatureTag } from '../src/registry/cosign-verify.js';
import { VerificationError } from '../src/errors.js';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { cosignSign as signWithCosign, pem } from './helm/cosign.js';
import { exec, helmEnv, helmPath } from './helm/helm-env.js';
import { helmInputsFromPlan, renderHelmForPlan } from '../src/export/helm-stage.js';
import { ChartCache } from '../src/source/helm.js';
import { pushArtifact, startRegistry, type RunningRegistry } from './helm/servers.js';
import { keyPair, tempDir } from './helpers.js';

const cm = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: web\ndata:\n  value: "${value}"\n`;

// The tree every artifact holds (a.yaml's value differs per version).
const tree = (value: string): Record<string, string> => ({
  'apps/prod/a.yaml': cm('a', value),
  'apps/prod/sub/b.yaml': cm('b', 'fixed'),
  'apps/prod/README.md': 'Notes: {[ not YAML, left out by .sourceignore when extracted\n',
  '.sourceignore': '*.md\n',
  'kustomize/base/kustomization.yaml': 'resources:\n- web.yaml\n- db.yaml\n',
  'kustomize/base/web.yaml': cm('web', value),
  'kustomize/base/db.yaml': cm('db', 'db'),
  'kustomize/prod/kustomization.yaml': 'resources:\n- ../base\nnamePrefix: prod-\ncommonLabels: {env: prod}\n',
});

let root: string;
let registry: RunningRegistry;
let artifacts: { url: string; paths: string[]; stop: () => void };
const digests: Record<string, string> = {};
const tarballs: Record<string, Buffer> = {};

/** targz writes `files` into a fresh directory and archives it as `tar -czf - -C DIR .` does. */
async function targz(files: Record<string, string>): Promise<{ dir: string; bytes: Buffer }> {
  const dir = await mkdtemp(join(root, 'tree-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(dir, dirname(p)), { recursive: true });
    await writeFile(join(dir, p), text);
  }
  const out = join(root, `${createHash('sha256').update(dir).digest('hex').slice(0, 8)}.tar.gz`);
  await exec('tar', ['-czf', out, '-C', dir, '.']);
  return { dir, bytes: await readFile(out) };
}

/** pushFlux pushes a Flux-format OCI artifact with `layers`, tagged `tag`; returns the manifest digest. */
function pushFlux(repository: string, tag: string, layers: { mediaType: string; data: Buffer }[]): Promise<string> {
  return pushArtifact(registry, repository, tag, { mediaType: MEDIA_TYPE_FLUX_CONFIG, data: Buffer.from('{}') }, layers);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flux-sources-'));
  await mkdir(join(root, 'registry'));
  registry = await startRegistry(join(root, 'registry'), 'htpasswd');
  for (const [tag, value] of [['v1.0.0', 'one'], ['v1.1.0', 'two'], ['v2.0.0', 'three'], ['latest', 'latest']] as const) {
    tarballs[tag] = (await targz(tree(value))).bytes;
    digests[tag] = await pushFlux('fleet/config', tag, [{ mediaType: MEDIA_TYPE_FLUX_CONTENT, data: tarballs[tag] }]);
  }
  // Two layers: docs first, the content second.
  const docs = (await targz({ 'docs/a.yaml': cm('docs', 'docs') })).bytes;
  digests.layered = await pushFlux('fleet/layered', 'v1', [{ mediaType: 'application/vnd.example.docs.tar+gzip', data: docs }, { mediaType: MEDIA_TYPE_FLUX_CONTENT, data: tarballs['v1.0.0']! }]);
  // The artifact server: source-controller's paths, the v1.1.0 tarball as the GitRepository's artifact.
  const paths: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    paths.push(req.url ?? '');
    if (req.url === '/gitrepository/flux-system/apps/0123abcd.tar.gz' || req.url === '/bucket/flux-system/fleet/4567.tar.gz') res.writeHead(200, { 'content-type': 'application/gzip' }).end(tarballs['v1.1.0']);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  artifacts = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, stop: () => server.close() };
}, 60_000);

afterAll(async () => {
  artifacts?.stop();
  await registry?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const silent: ExportLog = { info: () => undefined, warn: () => undefined, progress: () => undefined };

const dockerconfig = (password: string) =>
  Buffer.from(JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.username}:${password}`).toString('base64') } } })).toString('base64');
const pullSecret = (password = registry.password!) =>
  `apiVersion: v1\nkind: Secret\nmetadata: {name: pull, namespace: flux-system}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${dockerconfig(password)}\n`;
const ociRepository = (spec: string, name = 'config') =>
  `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: ${name}, namespace: flux-system}\nspec:\n  interval: 5m\n  url: oci://${registry.host}/fleet/${name === 'layered' ? 'layered' : 'config'}\n  insecure: true\n  secretRef: {name: pull}\n${spec}`;

function fleet(objects: string[], refs: string): string {
  return [
    'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: edge-1, namespace: fleet, labels: {env: prod}}\nspec: {pullMode: true}\n',
    ...objects,
    `apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: apps}\nspec:\n  clusterSelector: {matchLabels: {env: prod}}\n${refs}`,
  ].join('---\n');
}

async function planOf(text: string, opts: { cacheDir?: string; offline?: boolean; host?: string } = {}) {
  const dir = await tempDir();
  await writeFile(join(dir, 'in.yaml'), text);
  const cacheDir = opts.cacheDir ?? (await tempDir());
  try {
    const { plan } = await loadPlan([dir], [], new Date(0), silent, { cacheDir, ...(opts.offline ? { offline: true } : {}), ...(opts.host ? { fluxArtifactHost: opts.host } : {}) });
    return { plan, cacheDir, dir };
  } catch (err) {
    return { error: err as Error, cacheDir, dir };
  }
}

type Plan = NonNullable<Awaited<ReturnType<typeof planOf>>['plan']>;

function carried(plan: Plan, kind: string): { index: string; values: [string, string][] } {
  const bundle = plan.clusters[0]!.groups.flatMap((g) => g.bundles).find((b) => b.spec.referencedObjectKind === kind)!;
  const objects = (bundle.spec.resources ?? []).map((r) => parse(r) as { metadata: { name: string }; data: { value: string } });
  return { index: bundle.metadata.annotations['pullmode.projectsveltos.io/index'] ?? '', values: objects.map((o) => [o.metadata.name, o.data.value]) };
}

const policyRef = (kind: string, name: string, path = 'apps/prod') => `  policyRefs:\n  - {kind: ${kind}, namespace: flux-system, name: ${name}, path: ${path}}\n`;

describe('policyRefs to a Flux OCIRepository (docker-registry, htpasswd)', () => {
  it('semver: the highest matching tag; every file under the path, sorted, less what .sourceignore leaves out; the revision tag@digest', async () => {
    const { plan, error } = await planOf(fleet([pullSecret(), ociRepository('  ref: {semver: ">=1.0.0 <2.0.0"}\n')], policyRef('OCIRepository', 'config')));
    expect(error).toBeUndefined();
    expect(plan!.problems).toEqual([]);
    expect(carried(plan!, 'OCIRepository')).toEqual({ index: 'OCIRepository-flux-system-config', values: [['a', 'two'], ['b', 'fixed']] });
    expect(plan!.clusters[0]!.remoteSources).toEqual([{ url: `oci://${registry.host}/fleet/config`, digest: `v1.1.0@${digests['v1.1.0']}` }]);
  });

  it('tag, digest, the default latest; semverFilter; offline from the cache; a wrong password fails without showing it', async () => {
    const values = async (spec: string) => {
      const r = await planOf(fleet([pullSecret(), ociRepository(spec)], policyRef('OCIRepository', 'config')));
      expect(r.error).toBeUndefined();
      return { value: carried(r.plan!, 'OCIRepository').values[0]![1], revision: r.plan!.clusters[0]!.remoteSources[0]!.digest, cacheDir: r.cacheDir };
    };
    expect(await values('  ref: {tag: v1.0.0}\n')).toMatchObject({ value: 'one', revision: `v1.0.0@${digests['v1.0.0']}` });
    expect(await values(`  ref: {digest: "${digests['v2.0.0']}"}\n`)).toMatchObject({ value: 'three', revision: digests['v2.0.0'] });
    const latest = await values('');
    expect(latest).toMatchObject({ value: 'latest', revision: `latest@${digests.latest}` });
    expect(await values('  ref: {semver: ">=1.0.0", semverFilter: "^v1\\\\.0"}\n')).toMatchObject({ value: 'one' });

    const text = fleet([pullSecret(), ociRepository('')], policyRef('OCIRepository', 'config'));
    const offline = await planOf(text, { cacheDir: latest.cacheDir, offline: true });
    expect(offline.error).toBeUndefined();
    expect(carried(offline.plan!, 'OCIRepository').values[0]).toEqual(['a', 'latest']);
    expect((await planOf(text, { offline: true })).error?.message).toMatch(/FLUX_SOURCE: .*OCIRepository flux-system\/config .*not in the cache .* --offline forbids fetching it/);

    const wrong = await planOf(fleet([pullSecret('not-the-password-4410'), ociRepository('  ref: {tag: v1.0.0}\n')], policyRef('OCIRepository', 'config')));
    expect(wrong.error?.message).toMatch(/FLUX_SOURCE: .*OCIRepository flux-system\/config \(oci:\/\/127\.0\.0\.1:\d+\/fleet\/config\): /);
    expect(wrong.error?.message).not.toContain('not-the-password-4410');
    const none = await planOf(fleet([pullSecret(), ociRepository('  ref: {semver: ">=5.0.0"}\n')], policyRef('OCIRepository', 'config')));
    expect(none.error?.message).toMatch(/no tag matches spec\.ref\.semver ">=5\.0\.0"/);
  });

  it('layerSelector: the first layer of the media type; extract filters with sourceignore, copy keeps the layer as it is', async () => {
    const secret = parse(pullSecret()) as KubeObject;
    const request = (spec: string): OCIRequest => {
      const r = fluxRequest(parse(ociRepository(`  ref: {tag: v1}\n${spec}`, 'layered')) as KubeObject, () => secret);
      if ('problem' in r) throw new Error(r.problem);
      return r as OCIRequest;
    };
    const cacheDir = await tempDir();
    const first = await fetchOCIRepository(request(''), { cacheDir });
    expect([...first.tree.keys()]).toEqual(['docs/a.yaml']);
    const extract = await fetchOCIRepository(request(`  layerSelector: {mediaType: ${MEDIA_TYPE_FLUX_CONTENT}}\n`), { cacheDir });
    expect([...extract.tree.keys()]).not.toContain('apps/prod/README.md');
    expect(extract.tree.get('apps/prod/a.yaml')!.toString()).toBe(cm('a', 'one'));
    const copy = await fetchOCIRepository(request(`  layerSelector: {mediaType: ${MEDIA_TYPE_FLUX_CONTENT}, operation: copy}\n`), { cacheDir });
    expect([...copy.tree.keys()].sort()).toEqual(Object.keys(tree('one')).sort());
    expect(copy.revision).toBe(`v1@${digests.layered}`);
    await expect(fetchOCIRepository(request('  layerSelector: {mediaType: application/x-none}\n'), { cacheDir })).rejects.toThrow(/has no layer of media type application\/x-none .* it has application\/vnd\.example\.docs\.tar\+gzip, application\/vnd\.cncf\.flux\.content\.v1\.tar\+gzip/);
  });
});

describe('--flux-artifact-host: the artifact source-controller published', () => {
  const published = (kind: string, name: string, path: string, digest: string, spec: string) =>
    `apiVersion: source.toolkit.fluxcd.io/v1\nkind: ${kind}\nmetadata: {name: ${name}, namespace: flux-system}\nspec:\n${spec}status:\n  artifact:\n    url: http://source-controller.flux-system.svc.cluster.local./${path}\n    digest: ${digest}\n    revision: main@sha1:1111111111111111111111111111111111111111\n`;
  const gitSpec = '  url: https://git.invalid/fleet.git\n  ref: {branch: main}\n';
  const goodDigest = () => sha256Digest(tarballs['v1.1.0']!);

  it('a GitRepository and a Bucket are read from the artifact path on HOST:PORT, checked, cached by digest; their revision is recorded', async () => {
    const host = new URL(artifacts.url).host;
    const text = fleet(
      [published('GitRepository', 'apps', 'gitrepository/flux-system/apps/0123abcd.tar.gz', goodDigest(), gitSpec), published('Bucket', 'fleet', 'bucket/flux-system/fleet/4567.tar.gz', goodDigest(), '  bucketName: fleet\n  endpoint: minio.example.com\n')],
      '  policyRefs:\n  - {kind: GitRepository, namespace: flux-system, name: apps, path: apps}\n  - {kind: Bucket, namespace: flux-system, name: fleet, path: apps/prod/sub}\n',
    );
    const seen = artifacts.paths.length;
    const r = await planOf(text, { host });
    // The artifact is taken as published (source-controller filtered it already): this one keeps a README.md that is not YAML.
    expect(r.error?.message).toMatch(/INVALID_CONTENT: .*policyRefs\[0\]: GitRepository flux-system\/apps revision main@sha1:1{40} file apps\/prod\/README\.md: /);
    expect(r.error?.message.split('\n')).toHaveLength(2);
    expect(artifacts.paths.slice(seen).sort()).toEqual(['/bucket/flux-system/fleet/4567.tar.gz', '/gitrepository/flux-system/apps/0123abcd.tar.gz']);
    const offline = await planOf(text.replace('path: apps}', 'path: apps/prod/sub}'), { host: '127.0.0.1:1', cacheDir: r.cacheDir, offline: true });
    expect(offline.error).toBeUndefined();
    expect(carried(offline.plan!, 'GitRepository').values).toEqual([['b', 'fixed']]);
    expect(carried(offline.plan!, 'Bucket').values).toEqual([['b', 'fixed']]);
    expect(offline.plan!.clusters[0]!.remoteSources.map((s) => s.digest)).toEqual(['main@sha1:1111111111111111111111111111111111111111', 'main@sha1:1111111111111111111111111111111111111111']);
    // Without the host, the Bucket cannot be read.
    const without = await planOf(text);
    expect(without.error?.message).toMatch(/UNSUPPORTED: .*policyRefs\[1\]: Bucket flux-system\/fleet: Bucket sources need an S3-compatible client/);
  });

  it('an artifact whose digest is not status.artifact.digest stops the export with exit 2; a bad HOST:PORT is a usage error', async () => {
    const other = `sha256:${'ab'.repeat(32)}`;
    const dir = await tempDir();
    await writeFile(join(dir, 'in.yaml'), fleet([published('GitRepository', 'apps', 'gitrepository/flux-system/apps/0123abcd.tar.gz', other, gitSpec)], '  policyRefs:\n  - {kind: GitRepository, namespace: flux-system, name: apps, path: apps/prod/sub}\n'));
    const keys = await testKeys();
    const args = ['export', '--from', dir, '--key', keys.keyPath, '--out', join(dir, 'b.tar'), '--cache-dir', await tempDir()];
    const run = await cli([...args, '--flux-artifact-host', new URL(artifacts.url).host]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/GitRepository flux-system\/apps artifact main@sha1:1{40}: http:\/\/127\.0\.0\.1:\d+\/gitrepository\/flux-system\/apps\/0123abcd\.tar\.gz served sha256:[0-9a-f]{64}, but status\.artifact\.digest is sha256:(ab){32}/);
    const usage = await cli([...args, '--flux-artifact-host', 'http://127.0.0.1:80/']);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toMatch(/--flux-artifact-host "http:\/\/127\.0\.0\.1:80\/": expected HOST:PORT/);
  });
});

describe('OCIRepository spec.verify (cosign public keys)', () => {
  const [ecdsa, rsa, ed] = [keyPair('ec', { namedCurve: 'P-256' }), keyPair('rsa', { modulusLength: 2048 }), keyPair('ed25519')];
  const cosignSign = (repository: string, digest: string, key: KeyObject, claimed = digest) => signWithCosign(registry, repository, digest, key, claimed);
  const keysSecret = (keys: Record<string, string>) =>
    `apiVersion: v1\nkind: Secret\nmetadata: {name: cosign-keys, namespace: flux-system}\ndata:\n${Object.entries(keys).map(([k, v]) => `  ${k}: ${Buffer.from(v).toString('base64')}\n`).join('')}`;
  const verified = (ref: string, verify = '  verify: {provider: cosign, secretRef: {name: cosign-keys}}\n') => ociRepository(`  ref: {${ref}}\n${verify}`);
  const planWith = (ref: string, keys: Record<string, string>, opts: { cacheDir?: string; offline?: boolean; verify?: string } = {}) =>
    planOf(fleet([pullSecret(), keysSecret(keys), verified(ref, opts.verify)], policyRef('OCIRepository', 'config')), opts);

  beforeAll(async () => {
    await cosignSign('fleet/config', digests['v1.0.0']!, ecdsa.privateKey);
    await cosignSign('fleet/config', digests['v1.1.0']!, ed.privateKey);
    // A signature by the right key over a payload naming another artifact.
    await cosignSign('fleet/config', digests.latest!, ecdsa.privateKey, digests['v2.0.0']);
  }, 30_000);

  it('a signature by any *.pub key of the Secret passes (ECDSA, Ed25519), and offline only what one of today\'s keys verified', async () => {
    const one = await planWith('tag: v1.0.0', { 'ecdsa.pub': pem(ecdsa.publicKey), 'notes.txt': 'not a key, not read' });
    expect(one.error).toBeUndefined();
    expect(carried(one.plan!, 'OCIRepository').values[0]).toEqual(['a', 'one']);
    const two = await planWith('tag: v1.1.0', { 'a-rsa.pub': pem(rsa.publicKey), 'b-ed.pub': pem(ed.publicKey) });
    expect(two.error).toBeUndefined();
    expect(carried(two.plan!, 'OCIRepository').values[0]).toEqual(['a', 'two']);
    expect((await planWith('tag: v1.0.0', { 'ecdsa.pub': pem(ecdsa.publicKey) }, { cacheDir: one.cacheDir, offline: true })).error).toBeUndefined();
    const stale = await planWith('tag: v1.0.0', { 'rsa.pub': pem(rsa.publicKey) }, { cacheDir: one.cacheDir, offline: true });
    expect(stale.error?.message).toMatch(/spec\.verify: the cached v1\.0\.0@sha256:[0-9a-f]{64} was not verified with the keys of spec\.verify\.secretRef/);
  });

  it('refuses, as a trust failure (exit 2), a signature by another key, an unsigned artifact and a payload naming another artifact', async () => {
    const other = await planWith('tag: v1.0.0', { 'rsa.pub': pem(rsa.publicKey) });
    expect(other.error).toBeInstanceOf(VerificationError);
    expect(other.error?.message).toMatch(/OCIRepository flux-system\/config .*spec\.verify: no signature of sha256:[0-9a-f]{64} verifies with the keys of spec\.verify\.secretRef \(rsa\.pub\): sha256:[0-9a-f]{64} with key 1: the signature does not verify with the key/);
    const unsigned = await planWith('tag: v2.0.0', { 'ecdsa.pub': pem(ecdsa.publicKey) });
    expect(unsigned.error?.message).toContain(`no signature: the repository has no tag ${cosignSignatureTag(digests['v2.0.0']!)}`);
    const swapped = await planWith('tag: latest', { 'ecdsa.pub': pem(ecdsa.publicKey) });
    expect(swapped.error?.message).toContain(`the signed payload names "${digests['v2.0.0']}", not ${digests.latest}`);
    const keys = await testKeys();
    const cache = await tempDir();
    const args = (dir: string) => ['export', '--from', dir, '--key', keys.keyPath, '--out', join(dir, 'b.tar'), '--cache-dir', cache];
    const run = await cli(args(other.dir));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no signature of sha256:[0-9a-f]{64} verifies/);
    await expect(stat(join(other.dir, 'b.tar'))).rejects.toThrow();
  });

  it('refuses what it cannot check instead of carrying the source unverified: keyless, notation, a Secret without *.pub keys, a key that is not one', async () => {
    const msg = async (keys: Record<string, string>, verify: string) => (await planWith('tag: v1.0.0', keys, { verify })).error?.message ?? 'no error';
    expect(await msg({}, '  verify: {provider: cosign}\n')).toMatch(/spec\.verify: keyless cosign verification \(no secretRef\) needs Sigstore's public services/);
    expect(await msg({}, '  verify: {provider: notation, secretRef: {name: cosign-keys}}\n')).toMatch(/spec\.verify\.provider "notation": only cosign with public keys/);
    expect(await msg({ 'key.pem': pem(ecdsa.publicKey) }, '  verify: {provider: cosign, secretRef: {name: cosign-keys}}\n')).toMatch(/spec\.verify\.secretRef: the Secret has no \*\.pub key/);
    expect(await msg({ 'bad.pub': 'not a key' }, '  verify: {provider: cosign, secretRef: {name: cosign-keys}}\n')).toMatch(/spec\.verify\.secretRef: bad\.pub: expected a PEM public key/);
    expect(await msg({}, '  verify: {provider: cosign, secretRef: {name: gone}}\n')).toMatch(/spec\.verify\.secretRef: Secret flux-system\/gone is not in the input/);
  });
});

describe('kustomizationRefs from Flux sources, built with the real kustomize', () => {
  it('an OCIRepository and a GitRepository (file://) give exactly what kustomize builds from the same tree', async () => {
    const { dir } = await targz(tree('two'));
    const repo = join(root, 'git-fleet');
    await mkdir(repo);
    const git = (args: string[]) => exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: repo });
    await exec('cp', ['-a', `${dir}/.`, repo]);
    await git(['init', '-q', '-b', 'main']);
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'tree']);
    const gitRepository = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  url: file://${repo}\n  ref: {branch: main}\n`;
    const text = fleet(
      [pullSecret(), ociRepository('  ref: {tag: v1.1.0}\n'), gitRepository],
      '  kustomizationRefs:\n  - {kind: OCIRepository, namespace: flux-system, name: config, path: kustomize/prod}\n  - {kind: GitRepository, namespace: flux-system, name: apps, path: kustomize/prod, targetNamespace: shop}\n',
    );
    const { plan, error } = await planOf(text);
    expect(error).toBeUndefined();
    const stage = await renderKustomizeForPlan(plan!, { binary: { path: inject('kubectlPath'), kind: 'kubectl' } });
    await writeFile(join(dir, 'kustomize/prod/kustomization.yaml'), `${tree('two')['kustomize/prod/kustomization.yaml']}sortOptions:\n  order: fifo\n`);
    const { stdout } = await exec(inject('kubectlPath'), ['kustomize', join(dir, 'kustomize/prod'), '--load-restrictor', 'LoadRestrictionsNone']);
    const want = parseAllDocuments(stdout).map((d) => d.toJS() as { metadata: Record<string, unknown> });
    expect(want.map((o) => o.metadata.name)).toEqual(['prod-web', 'prod-db']);
    const group = stage.plan.clusters[0]!.groups.find((g) => g.group.metadata.labels['pullmode.projectsveltos.io/requestorfeature'] === 'Kustomize')!;
    const objects = group.bundles.map((b) => (b.spec.resources ?? []).map((r) => parse(r) as { metadata: Record<string, unknown> }));
    expect(group.bundles.map((b) => b.metadata.annotations['pullmode.projectsveltos.io/index'])).toEqual(['OCIRepository-flux-system-config', 'GitRepository-flux-system-apps']);
    expect(objects[0]).toEqual(want);
    expect(objects[1]).toEqual(want.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'shop' } })));
    expect(stage.plan.clusters[0]!.remoteSources.map((s) => s.digest)).toEqual([`v1.1.0@${digests['v1.1.0']}`, expect.stringMatching(/^main@sha1:[0-9a-f]{40}$/)]);
  });
});

describe('helm charts from Flux sources (gitrepository://NS/NAME/PATH)', () => {
  const chartFiles = {
    'charts/app/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 0.3.0\ndependencies:\n- name: common\n  version: 0.1.0\n  repository: file://../common\n',
    'charts/app/values.yaml': 'greeting: hello\n',
    'charts/app/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-app\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
    'charts/common/Chart.yaml': 'apiVersion: v2\nname: common\nversion: 0.1.0\n',
    'charts/common/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-common\n',
  };
  const profile = (url: string) =>
    `  helmCharts:\n  - {repositoryURL: "${url}", repositoryName: flux, chartName: flux/app, chartVersion: 0.3.0, releaseName: shop, releaseNamespace: web, values: "greeting: {{ .Cluster.metadata.name }}"}\n`;

  it('the chart directory of the fetched artifact, its file:// dependency built, rendered as helm renders it and carried as a Helm OCI artifact; resolve reports what export reports', async () => {
    const repo = join(root, 'git-charts');
    await mkdir(repo);
    for (const [p, text] of Object.entries(chartFiles)) {
      await mkdir(join(repo, dirname(p)), { recursive: true });
      await writeFile(join(repo, p), text);
    }
    const git = (args: string[]) => exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: repo });
    await git(['init', '-q', '-b', 'main']);
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'charts']);
    const source = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: charts, namespace: flux-system}\nspec:\n  url: file://${repo}\n  ref: {branch: main}\n`;
    const { plan, error, cacheDir } = await planOf(fleet([source], profile('gitrepository://flux-system/charts/charts/app')));
    expect(error).toBeUndefined();
    const events: string[] = [];
    const stage = await renderHelmForPlan(helmInputsFromPlan(plan!.clusters), { helm: helmPath(), cache: await ChartCache.open(cacheDir), onEvent: (m) => events.push(m) });
    const result = stage.results[0]!;
    expect(result.chart).toMatchObject({ name: 'app', version: '0.3.0', origin: 'flux', cached: false });
    expect(events.some((e) => /^chart GitRepository flux-system\/charts revision main@sha1:[0-9a-f]{40} path charts\/app: app 0\.3\.0, packaged$/.test(e))).toBe(true);
    // What helm itself renders from the same directory once its dependency is built.
    const env = await helmEnv();
    await exec(helmPath(), ['dependency', 'build', join(repo, 'charts/app')], { env });
    const { stdout } = await exec(helmPath(), ['template', 'shop', join(repo, 'charts/app'), '--namespace', 'web', '--set', 'greeting=edge-1'], { env });
    const want = parseAllDocuments(stdout).map((d) => d.toJS() as { metadata: { name: string } }).filter(Boolean);
    expect(want.map((o) => o.metadata.name).sort()).toEqual(['shop-app', 'shop-common']);
    const got = result.bundles.flatMap((b) => (b.content.resources ?? []).map((y) => parse(y) as { metadata: { name: string } }));
    // Sveltos's split sets the release namespace on namespaced objects, as for any chart.
    const inRelease = want.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'web' } }));
    expect([...got].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))).toEqual(inRelease.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)));
    // The packaged chart is kept: a second stage reuses it, offline too.
    const again = await renderHelmForPlan(helmInputsFromPlan(plan!.clusters), { helm: helmPath(), cache: await ChartCache.open(cacheDir), offline: true });
    expect(again.results[0]!.chart).toMatchObject({ manifest: result.chart.manifest, cached: true });

    // resolve and export refuse the same inputs with the same problems.
    for (const [url, problem] of [
      ['gitrepository://flux-system/gone/charts/app', /REFERENCE_NOT_FOUND: .*spec\.helmCharts\[0\]\.repositoryURL: GitRepository flux-system\/gone is not in the input/],
      ['gitrepository://flux-system/charts/charts', /FLUX_SOURCE: .*spec\.helmCharts\[0\]\.repositoryURL: GitRepository flux-system\/charts revision main@sha1:[0-9a-f]{40} path charts: no Chart\.yaml there/],
      ['gitrepository://flux-system/charts', /FLUX_SOURCE: .*expected gitrepository:\/\/NAMESPACE\/NAME\/PATH/],
    ] as const) {
      const dir = await tempDir();
      await writeFile(join(dir, 'in.yaml'), fleet([source], profile(url)));
      const keys = await testKeys();
      const resolved = await cli(['resolve', '--from', dir, '--cache-dir', cacheDir]);
      const exported = await cli(['export', '--from', dir, '--key', keys.keyPath, '--out', join(dir, 'b.tar'), '--cache-dir', cacheDir]);
      expect([resolved.code, exported.code]).toEqual([1, 1]);
      expect(resolved.stderr).toMatch(problem);
      expect(exported.stderr).toMatch(problem);
    }
  });
});
