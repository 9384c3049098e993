// Export -> import -> serve with real parts: charts from an HTTP chart repository (basic auth) and from
// docker-registry (plain, htpasswd and token auth; charts pushed with `helm push`), images built with umoci
// and pushed with skopeo (one multi-platform index); afterwards `helm pull` and `skopeo copy` from `serve`.
import { chmod, mkdtemp, mkdir, readFile, rm, copyFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateKeyPair, loadPrivateKey, loadPublicKey } from '../../src/bundle/keys.js';
import { packBundle } from '../../src/bundle/pack.js';
import { importBundle } from '../../src/bundle/import.js';
import { inspectBundle } from '../../src/bundle/inspect.js';
import { KeySigner } from '../../src/bundle/sign.js';
import { copy } from '../../src/content/copy.js';
import { TarLayoutStore } from '../../src/content/tarfs.js';
import { sha256 } from '../../src/content/digest.js';
import { RegistryClient } from '../../src/registry/client.js';
import { startServer, type RunningServer } from '../../src/registry/server/http.js';
import { createSiteHandler } from '../../src/serve/site-handler.js';
import { mirrorConfig } from '../../src/serve/mirror.js';
import { ChartCache, fetchChart } from '../../src/source/helm.js';
import { ImageCache, ImageResolver } from '../../src/source/images.js';
import { chartExtras, renderHelmForPlan, type HelmChartInput } from '../../src/export/helm-stage.js';
import { ImageStage, type ImageStageEvent } from '../../src/export/image-stage.js';
import { imageReport } from '../../src/resolve/images.js';
import type { KubeObject } from '../../src/model/sveltos.js';
import type { ClusterArtifactInput } from '../../src/bundle/manifest.js';
import { clusterSummaryName, objectName } from '../../src/resolve/pullmode.js';
import { exec, helm, helmPath, packageChart } from './helm-env.js';
import { testKeys } from '../bundles.js';
import { tempDir, testdir } from '../helpers.js';
import { readAll } from '../../src/content/verify.js';
import { startRegistry, startStaticServer, freePort, type RunningRegistry } from './servers.js';
import { addIndex, buildImage, pushImage } from './images.js';

let work: string;
let plain: RunningRegistry;
let basic: RunningRegistry;
let token: RunningRegistry;
let repo: Awaited<ReturnType<typeof startStaticServer>>;
let chartTgz: string;
let multiDigest: string;

const b64 = (s: string) => Buffer.from(s).toString('base64');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'helm-e2e-'));
  [plain, basic, token] = await Promise.all([
    startRegistry(join(work, 'reg-plain')),
    startRegistry(join(work, 'reg-basic'), 'htpasswd'),
    startRegistry(join(work, 'reg-token'), 'token'),
  ]);
  chartTgz = await packageChart('demo', join(work, 'pkg'));
  // The plain registry gets the chart from `helm push`; the others get a copy made by our client.
  await helm(['push', chartTgz, `oci://${plain.host}/charts`, '--plain-http']);
  const from = new RegistryClient({ registry: plain.host, repository: 'charts/demo', plainHTTP: true });
  for (const r of [basic, token]) {
    const to = new RegistryClient({ registry: r.host, repository: 'private/charts/demo', plainHTTP: true, credentials: { username: r.username!, password: r.password! } });
    await copy(from, '1.2.3', to);
    await to.close();
  }
  await from.close();
  // An HTTP chart repository: the archive under pkgs/, index.yaml with relative URLs, basic auth.
  const site = join(work, 'http-repo');
  await mkdir(join(site, 'pkgs'), { recursive: true });
  await copyFile(chartTgz, join(site, 'pkgs', 'demo-1.2.3.tgz'));
  await helm(['repo', 'index', site]);
  repo = await startStaticServer(site, { username: 'reader', password: 'chart-pass' });
  // Images: app (amd64) and multi (index of amd64 + arm64), built with umoci, pushed with skopeo.
  const layout = join(work, 'layout');
  await buildImage(layout, 'app', { work, size: 8192 });
  await buildImage(layout, 'multi-amd', { work, arch: 'amd64' });
  await buildImage(layout, 'multi-arm', { work, arch: 'arm64' });
  multiDigest = await addIndex(layout, 'multi', [{ tag: 'multi-amd', arch: 'amd64' }, { tag: 'multi-arm', arch: 'arm64' }]);
  await pushImage(layout, 'app', `${plain.host}/test/app:1`);
  await pushImage(layout, 'multi', `${plain.host}/test/multi:2`);
  await pushImage(layout, 'app', `${token.host}/secure/app:1`, { username: token.username!, password: token.password! });
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([plain?.stop(), basic?.stop(), token?.stop(), repo?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

function fleet(): { objects: KubeObject[]; clusters: KubeObject[] } {
  const cluster = (name: string, region: string, version?: string): KubeObject => ({
    apiVersion: 'lib.projectsveltos.io/v1beta1',
    kind: 'SveltosCluster',
    metadata: { name, namespace: 'fleet', labels: { region } },
    spec: { pullMode: true },
    ...(version ? { status: { version } } : {}),
  });
  const dockerconfig = (r: RunningRegistry) => b64(JSON.stringify({ auths: { [r.host]: { auth: b64(`${r.username}:${r.password}`) } } }));
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'repo-creds', namespace: 'fleet' }, data: { username: b64('reader'), password: b64('chart-pass') } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'basic-creds', namespace: 'fleet' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerconfig(basic) } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token-creds', namespace: 'infra' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerconfig(token) } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'replicas', namespace: 'fleet' }, data: { 'values.yaml': 'replicas: 3\n' } },
  ];
  return { objects, clusters: [cluster('edge-a', 'eu-west', 'v1.29.4'), cluster('edge-b', 'us-east'), cluster('edge-c', 'eu-west', 'v1.29.4')] };
}

// inputs is what the profile resolver plans: helmCharts entries with `{{ index .Cluster.metadata.labels "region" }}` already instantiated.
function inputs(clusters: KubeObject[]): HelmChartInput[] {
  const out: HelmChartInput[] = [];
  for (const c of clusters) {
    const region = c.metadata.labels!.region!;
    const id = { namespace: 'fleet', name: c.metadata.name };
    out.push({
      cluster: id,
      clusterObject: c,
      profile: { kind: 'ClusterProfile', name: 'web' },
      chart: {
        repositoryURL: repo.url, repositoryName: 'demo-http', chartName: 'demo-http/demo', chartVersion: '^1.2', releaseName: 'web', releaseNamespace: 'web',
        values: `cluster:\n  region: ${region}\nimage:\n  repository: ${plain.host}/test/app\n  tag: "1"\ninitImage: ${plain.host}/test/multi:2\n`,
        valuesFrom: [{ kind: 'ConfigMap', name: 'replicas' }],
        registryCredentialsConfig: { credentials: { name: 'repo-creds' } },
      },
    });
    out.push({
      cluster: id,
      clusterObject: c,
      profile: { kind: 'Profile', name: 'cache', namespace: 'fleet' },
      chart: {
        repositoryURL: `oci://${basic.host}/private/charts`, repositoryName: 'private', chartName: 'demo', chartVersion: '1.2.3', releaseName: 'cache', releaseNamespace: 'cache',
        values: `sub:\n  image: ${token.host}/secure/app:1\nconfigMapCount: 2\n`,
        registryCredentialsConfig: { credentials: { name: 'basic-creds' }, plainHTTP: true },
      },
    });
  }
  out.push({
    cluster: { namespace: 'fleet', name: 'edge-a' },
    profile: { kind: 'ClusterProfile', name: 'secure' },
    chart: {
      repositoryURL: `oci://${token.host}/private/charts`, repositoryName: 'tok', chartName: 'demo', chartVersion: '>=1.0.0 <2.0.0', releaseName: 'sec', releaseNamespace: 'sec',
      registryCredentialsConfig: { credentials: { name: 'token-creds', namespace: 'infra' }, plainHTTP: true },
    },
  });
  out.push({
    cluster: { namespace: 'fleet', name: 'edge-b' },
    profile: { kind: 'ClusterProfile', name: 'gone' },
    chart: { repositoryURL: `oci://${plain.host}/charts`, repositoryName: 'plain', chartName: 'demo', chartVersion: '1.2.3', releaseName: 'old', releaseNamespace: 'old', helmChartAction: 'Uninstall', registryCredentialsConfig: { plainHTTP: true } },
  });
  return out;
}

// clusterArtifacts stands in for the resolver's ConfigurationGroup/Bundle builders: one layer per release, named
// as the resolver names them (unique per cluster: several clusters share the namespace).
function clusterArtifacts(stage: Awaited<ReturnType<typeof renderHelmForPlan>>): ClusterArtifactInput[] {
  const by = new Map<string, ClusterArtifactInput>();
  for (const r of stage.results) {
    const { namespace, name } = r.input.cluster;
    const key = `${namespace}/${name}`;
    const c = by.get(key) ?? { namespace, name, config: { namespace, name }, groups: [] };
    const requestor = clusterSummaryName(r.input.profile.kind, r.input.profile.name, name);
    const index = (i: string) => `${r.input.chart.releaseName}/${i}`;
    const yaml = r.bundles
      .map((b) => stringify({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationBundle', metadata: { name: objectName(namespace, name, requestor, 'Helm', index(b.index)), namespace, annotations: { 'pullmode.projectsveltos.io/index': b.index } }, spec: { ...b.spec, resources: b.content.resources } }))
      .join('---\n');
    c.groups.push({ name: objectName(namespace, name, requestor, 'Helm', index('')), feature: 'Helm', requestor, yaml });
    by.set(key, c);
  }
  return [...by.values()];
}

describe('helm charts and images end to end', () => {
  it('fetches, renders, packs, imports and serves charts and images', async () => {
    const { objects, clusters } = fleet();
    const cacheDir = join(work, 'cache');
    const cache = await ChartCache.open(cacheDir);
    const events: string[] = [];
    const stage = await renderHelmForPlan(inputs(clusters), { helm: helmPath(), cache, objects, onEvent: (m) => events.push(m) });

    // Renders: web for eu-west@1.29.4 (a and c share it), us-east@default; cache for 1.29.4 and default; sec; old.
    expect(stage.renders).toBe(6);
    const web = (name: string) => stage.results.find((r) => r.input.cluster.name === name && r.input.chart.releaseName === 'web')!;
    // The objects as each bundle carries them.
    const objectsOf = (bundles: { content: { resources?: string[] } }[]) => bundles.map((b) => (b.content.resources ?? []).map((y) => parse(y) as KubeObject));
    const dep = (name: string) => objectsOf(web(name).bundles).flat().find((o) => o.kind === 'Deployment')! as any;
    expect(dep('edge-a').metadata.labels.region).toBe('eu-west');
    expect(dep('edge-b').metadata.labels.region).toBe('us-east');
    expect(dep('edge-a').spec.replicas).toBe(3); // valuesFrom ConfigMap merged over values
    expect(dep('edge-a').spec.template.spec.containers[0].env[1].value).toBe('v1.29.4');
    expect(dep('edge-b').spec.template.spec.containers[0].env[1].value).toBe('v1.32.0');
    expect(web('edge-a').chart.version).toBe('1.2.3');
    expect(web('edge-a').bundles[0]!.spec.helmChartVersion).toBe('1.2.3');
    const old = stage.results.find((r) => r.input.chart.releaseName === 'old')!;
    expect(old.action).toBe('uninstall');
    expect(objectsOf(old.bundles).map((os) => os.map((o) => o.metadata.name))).toEqual([['old-kept'], ['old-pre-delete'], ['old-post-delete']]);
    // The OCI chart keeps its upstream digest; the HTTP one is wrapped from the same archive.
    const pushed = await new RegistryClient({ registry: plain.host, repository: 'charts/demo', plainHTTP: true }).resolve('1.2.3');
    expect(old.chart.manifest.digest).toBe(pushed.digest);
    expect(web('edge-a').chart.layer.digest).toBe(sha256(await readFile(chartTgz)));
    // …with the config blob `helm push` wrote for the same archive.
    expect(web('edge-a').chart.config.digest).toBe(old.chart.config.digest);
    expect(events.some((e) => e.includes('downloaded'))).toBe(true);

    // Images: every pod-spec place and the chart annotation, normalised, with their users.
    const report = imageReport(stage.results.flatMap((r) => r.images));
    const byImage = new Map(report.map((r) => [r.image, r]));
    expect(byImage.get('docker.io/library/busybox:1.36')!.clusters).toEqual(['fleet/edge-a', 'fleet/edge-b', 'fleet/edge-c']);
    expect(byImage.get('quay.io/example/tools:3.1')!.objects[0]).toContain('chart demo');
    expect(byImage.get('registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097')).toBeDefined();
    expect(byImage.get(`${token.host}/secure/app:1`)!.profiles).toEqual(['Profile/fleet/cache']);
    expect(byImage.get(`${plain.host}/test/multi:2`)!.objects.some((o) => o.includes('Deployment web/web-web'))).toBe(true);

    // Second export: everything from the cache, nothing fetched (the HTTP repository is not asked again).
    const seen = repo.requests.length;
    const again = await renderHelmForPlan(inputs(clusters), { helm: helmPath(), cache: await ChartCache.open(cacheDir), objects, offline: true });
    expect(again.results.map((r) => r.chart.manifest.digest)).toEqual(stage.results.map((r) => r.chart.manifest.digest));
    expect(repo.requests.length).toBe(seen);
    await expect(renderHelmForPlan([{ ...inputs(clusters)[1]!, chart: { ...inputs(clusters)[1]!.chart, chartVersion: '9.9.9' } }], { helm: helmPath(), cache, objects, offline: true })).rejects.toThrow(/not in the chart cache and --offline/);

    // Pack: charts plus our registries' images (one filtered to linux/arm64), sign, import, serve.
    const ours = report.filter((r) => r.image.startsWith(plain.host) || r.image.startsWith(token.host));
    const resolver = new ImageResolver({ plainHTTP: [plain.host, token.host], credentials: { [token.host]: { username: token.username!, password: token.password! } } });
    const imageCache = await ImageCache.open(cacheDir);
    const staged = async (offline: boolean) => {
      const seen: ImageStageEvent[] = [];
      const images = new ImageStage({ resolver, cache: imageCache, platforms: ['linux/arm64'], offline, onEvent: (e) => seen.push(e) });
      images.add(ours.slice(0, 1)); // started early, as the Helm stage does; extras() finds it started
      try {
        return { extras: await images.extras(ours), events: seen };
      } finally {
        await images.close();
      }
    };
    const first = await staged(false);
    expect(first.events.map((e) => e.image).sort()).toEqual(ours.map((r) => r.image).sort());
    // Again: every layer is already in the image cache, and offline the cache alone answers.
    const cached = await staged(false);
    expect(cached.events.every((e) => e.copied === 0 && e.held > 0)).toBe(true);
    // The first time each image's blobs were copied, or found held when another image being copied at the
    // same moment shares them (app:1 is pushed to both registries): which of the two wrote a shared blob
    // first is a race, so only the sum is fixed. multi:2 shares nothing and is copied whole.
    const total = new Map(cached.events.map((e) => [e.image, e.held]));
    for (const e of first.events) expect(e.copied + e.held).toBe(total.get(e.image));
    expect(first.events.find((e) => e.image.endsWith('/test/multi:2'))).toMatchObject({ held: 0, copied: total.get(`${plain.host}/test/multi:2`) });
    expect(first.events.reduce((n, e) => n + e.copied, 0)).toBeGreaterThan(0);
    const offline = await staged(true);
    expect(offline.extras.map((x) => [x.ref, x.root.digest])).toEqual(first.extras.map((x) => [x.ref, x.root.digest]));
    const missing = new ImageStage({ resolver, cache: imageCache, offline: true });
    await expect(missing.extras(imageReport([{ image: `${plain.host}/test/absent:1`, cluster: 'fleet/edge-a', profile: 'ClusterProfile/web', object: 'v1 Pod x/y', path: 'spec' }]))).rejects.toThrow(/test\/absent:1: not in the image cache and --offline forbids fetching it/);
    await missing.close();
    // Offline with another platform: the cache holds the index but not the amd64 image.
    const partial = new ImageStage({ resolver, cache: imageCache, offline: true, platforms: ['linux/amd64'] });
    await expect(partial.extras(ours.filter((r) => r.image.endsWith('/test/multi:2')))).rejects.toThrow(/only partly in the image cache/);
    await partial.close();
    const extras = [...chartExtras(stage, cache), ...first.extras];
    const keys = generateKeyPair();
    const out = join(work, 'bundle.tar');
    const now = new Date();
    await packBundle({ clusters: clusterArtifacts(stage), extras, signer: new KeySigner(loadPrivateKey(keys.privateKeyPem)), sequence: 1, createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000), source: 'test', out });
    await resolver.close();

    const inspected = await inspectBundle(await TarLayoutStore.open(out), { images: true });
    const demoArt = inspected.artifacts.filter((a) => a.kind === 'chart');
    expect(demoArt.map((a) => [a.ref, a.version, a.clusters])).toEqual([
      [`127.0.0.1_${repo.url.split(':').at(-1)}/demo:1.2.3`, '1.2.3', ['fleet/edge-a', 'fleet/edge-b', 'fleet/edge-c']],
      [`127.0.0.1_${basic.host.split(':')[1]}/private/charts/demo:1.2.3`, '1.2.3', ['fleet/edge-a', 'fleet/edge-b', 'fleet/edge-c']],
      [`127.0.0.1_${plain.host.split(':')[1]}/charts/demo:1.2.3`, '1.2.3', ['fleet/edge-b']],
      [`127.0.0.1_${token.host.split(':')[1]}/private/charts/demo:1.2.3`, '1.2.3', ['fleet/edge-a']],
    ].sort());
    expect(inspected.images!.find((i) => i.image === `${plain.host}/test/multi:2`)).toMatchObject({ carried: true, platforms: ['linux/arm64'] });
    expect(inspected.images!.find((i) => i.image === 'docker.io/library/busybox:1.36')).toMatchObject({ carried: false });

    // The CLI shows the same through `inspect --images`.
    const cli = await runCli(['inspect', out, '--images']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/ARTIFACT\s+KIND\s+VERSION\s+CLUSTERS/);
    expect(cli.stdout).toMatch(new RegExp(`${plain.host}/test/multi:2\\s+yes \\(linux/arm64\\)`));

    const store = join(work, 'store');
    await importBundle(await TarLayoutStore.open(out), { storeDir: store, trusted: [loadPublicKey(keys.publicKeyPem)], now: new Date() });
    const site: RunningServer = await startServer(await createSiteHandler(store), { host: '127.0.0.1', port: await freePort() });
    try {
      const addr = site.url.replace('http://', '');
      // helm pull from serve: the same archive bytes as published.
      const pulled = join(work, 'pulled');
      await mkdir(pulled);
      await mkdir(join(work, 'pulled2'));
      await helm(['pull', `oci://${addr}/127.0.0.1_${plain.host.split(':')[1]}/charts/demo`, '--version', '1.2.3', '--plain-http', '--destination', pulled]);
      expect(sha256(await readFile(join(pulled, 'demo-1.2.3.tgz')))).toBe(sha256(await readFile(chartTgz)));
      await helm(['pull', `oci://${addr}/127.0.0.1_${repo.url.split(':').at(-1)}/demo`, '--version', '1.2.3', '--plain-http', '--destination', join(work, 'pulled2')]);
      expect((await readdir(join(work, 'pulled2')))).toEqual(['demo-1.2.3.tgz']);
      // skopeo copy from serve: digests unchanged.
      const appRepo = `127.0.0.1_${plain.host.split(':')[1]}/test/app`;
      await exec('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${addr}/${appRepo}:1`, `oci:${join(work, 'copied')}:app`]);
      const upstream = await new RegistryClient({ registry: plain.host, repository: 'test/app', plainHTTP: true }).resolve('1');
      const copied = JSON.parse(await readFile(join(work, 'copied', 'index.json'), 'utf8')).manifests[0];
      expect(copied.digest).toBe(upstream.digest);
      const tokRepo = `127.0.0.1_${token.host.split(':')[1]}/secure/app`;
      await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${addr}/${tokRepo}:1`]);
      // The multi-platform index keeps its digest; arm64 is there, amd64 was left out.
      const multiRepo = `127.0.0.1_${plain.host.split(':')[1]}/test/multi`;
      const raw = await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${addr}/${multiRepo}:2`]);
      expect(sha256(Buffer.from(raw.stdout))).toBe(multiDigest);
      await exec('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--override-arch', 'arm64', `docker://${addr}/${multiRepo}:2`, `oci:${join(work, 'copied')}:arm`]);
      await expect(exec('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--override-arch', 'amd64', `docker://${addr}/${multiRepo}:2`, `oci:${join(work, 'copied')}:amd`])).rejects.toThrow(/manifest unknown|MANIFEST_UNKNOWN/i);
      // The containerd mirror configuration names every upstream registry.
      const { SiteView } = await import('../../src/bundle/site.js');
      const mirror = mirrorConfig(await (await SiteView.open(store)).tags(), 'http://10.0.0.5:5000');
      expect(mirror.map((m) => m.registry)).toEqual([basic.host, plain.host, repo.url.replace('http://', ''), token.host].sort());
      expect(mirror.find((m) => m.registry === plain.host)!.hostsToml).toContain(`[host."http://10.0.0.5:5000/v2/127.0.0.1_${plain.host.split(':')[1]}"]`);
      const printed = await runCli(['serve', '--store', store, '--print-mirror-config', '--advertise', 'http://10.0.0.5:5000', '--output', 'json']);
      expect(JSON.parse(printed.stdout).mirrors).toEqual(mirror);
    } finally {
      await site.close();
    }
  }, 300_000);
});

describe('export --include-images from the command line', () => {
  it('carries the images of policyRefs objects, keeps them in the image cache, heals a damaged cache file and works offline', async () => {
    const appsCM = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'apps', namespace: 'fleet' },
      data: {
        'apps.yaml': stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: 'apps' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'app', image: `${plain.host}/test/app:1` }] } } } }),
        'job.yaml': stringify({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'job', namespace: 'apps' }, spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', initContainers: [{ name: 'i', image: `${plain.host}/test/multi:2` }], containers: [{ name: 'j', image: `${plain.host}/test/app:1` }] } } } } } }),
      },
    };
    const fleetDir = await testdir({
      'cluster.yaml': stringify({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'edge-a', namespace: 'fleet', labels: { tier: 'apps' } }, spec: { pullMode: true } }),
      'profile.yaml': stringify({ apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'ClusterProfile', metadata: { name: 'apps' }, spec: { clusterSelector: { matchLabels: { tier: 'apps' } }, policyRefs: [{ kind: 'ConfigMap', name: 'apps', namespace: 'fleet' }] } }),
      'apps.yaml': stringify(appsCM),
    });
    const keys = await testKeys();
    const dir = await tempDir();
    const cache = join(dir, 'cache');
    const exportTo = (out: string, ...extra: string[]) =>
      runCli(['export', '--from', fleetDir, '--key', keys.keyPath, '--out', join(dir, out), '--include-images', '--plain-http-registry', plain.host, '--platform', 'linux/arm64', '--cache-dir', cache, ...extra]);

    const first = await exportTo('a.tar');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(new RegExp(`image ${plain.host}/test/app:1: sha256:[0-9a-f]{64}: [0-9.]+ \\w+ copied`));
    const listed = await runCli(['inspect', join(dir, 'a.tar'), '--images', '--output', 'json']);
    const images = JSON.parse(listed.stdout).images as { image: string; carried: boolean; platforms?: string[]; profiles: string[] }[];
    expect(images.map((i) => [i.image, i.carried, i.platforms ?? []])).toEqual([
      [`${plain.host}/test/app:1`, true, []],
      [`${plain.host}/test/multi:2`, true, ['linux/arm64']],
    ]);
    expect(images[0]!.profiles).toEqual(['ClusterProfile/apps']);
    // The artifact list names the clusters using each image, as it does for charts.
    const summary = JSON.parse((await runCli(['inspect', join(dir, 'a.tar'), '--output', 'json'])).stdout) as { artifacts: { kind: string; clusters?: string[] }[] };
    expect(summary.artifacts.filter((a) => a.kind === 'image').map((a) => a.clusters)).toEqual([['fleet/edge-a'], ['fleet/edge-a']]);

    // Damage the app layer in the image cache: the next export notices, fetches it again, and the bundle verifies.
    const upstream = new RegistryClient({ registry: plain.host, repository: 'test/app', plainHTTP: true });
    const manifest = JSON.parse((await readAll(await upstream.fetch(await upstream.resolve('1')), await upstream.resolve('1'))).toString());
    await upstream.close();
    const layerFile = join(cache, 'images', 'blobs', 'sha256', manifest.layers[0].digest.slice(7));
    await chmod(layerFile, 0o644);
    const bytes = await readFile(layerFile);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(layerFile, bytes);
    const second = await exportTo('b.tar');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`image ${plain.host}/test/app:1: .*copied, .*already cached`));
    const verified = await runCli(['verify', join(dir, 'b.tar'), '--key', keys.pubPath]);
    expect(verified.code, verified.stderr).toBe(0);

    // Offline: everything from the cache; an image it lacks is named.
    const offline = await exportTo('c.tar', '--offline');
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stderr).toContain(`image ${plain.host}/test/app:1: `);
    expect(offline.stderr).toContain('from cache');
    await rm(join(cache, 'images'), { recursive: true });
    const miss = await exportTo('d.tar', '--offline');
    expect(miss.code).toBe(1);
    expect(miss.stderr).toMatch(/not in the image cache and --offline forbids fetching it/);
  }, 120_000);
});

describe('chart versions that do not exist', () => {
  it('names the versions the registry has, for an exact version and for a range', async () => {
    const cache = await ChartCache.open(await tempDir());
    const req = { repositoryURL: `oci://${plain.host}/charts`, repositoryName: 'plain', chartName: 'demo', plainHTTP: true };
    await expect(fetchChart({ ...req, chartVersion: '9.9.9' }, cache)).rejects.toThrow(`oci://${plain.host}/charts/demo: no version matches "9.9.9" in its 1 tags; versions there: 1.2.3`);
    await expect(fetchChart({ ...req, chartVersion: '>=2.0.0' }, cache)).rejects.toThrow('no version matches ">=2.0.0" in its 1 tags; versions there: 1.2.3');
    await expect(fetchChart({ ...req, chartVersion: 'v1..x' }, cache)).rejects.toThrow('no version matches "v1..x" (not a version or semver range)');
  });
});

describe('export --include-images failures', () => {
  it('stops rendering at the first image that cannot be carried and reports that image', async () => {
    const releases = 12;
    const fleetDir = await testdir({
      'cluster.yaml': stringify({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'edge-a', namespace: 'fleet', labels: { tier: 'apps' } }, spec: { pullMode: true } }),
      'profile.yaml': stringify({
        apiVersion: 'config.projectsveltos.io/v1beta1',
        kind: 'ClusterProfile',
        metadata: { name: 'apps' },
        spec: {
          clusterSelector: { matchLabels: { tier: 'apps' } },
          policyRefs: [{ kind: 'ConfigMap', name: 'apps', namespace: 'fleet' }],
          helmCharts: Array.from({ length: releases }, (_, i) => ({
            repositoryURL: `oci://${plain.host}/charts`, repositoryName: 'plain', chartName: 'demo', chartVersion: '1.2.3', releaseName: `web-${i}`, releaseNamespace: 'web', registryCredentialsConfig: { plainHTTP: true },
          })),
        },
      }),
      'apps.yaml': stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'apps', namespace: 'fleet' },
        data: { 'pod.yaml': stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gone', namespace: 'apps' }, spec: { containers: [{ name: 'c', image: `${plain.host}/test/missing:1` }] } }) },
      }),
    });
    const keys = await testKeys();
    const dir = await tempDir();
    const r = await runCli(['export', '--from', fleetDir, '--key', keys.keyPath, '--out', join(dir, 'x.tar'), '--include-images', '--plain-http-registry', plain.host, '--cache-dir', join(dir, 'cache'), '--helm', helmPath()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: image ${plain.host}/test/missing:1 (used by fleet/edge-a: v1 Pod apps/gone): cannot be carried: `);
    // The policyRefs image fails at once; the renders queued behind the first ones never start.
    expect((r.stderr.match(/^render /gm) ?? []).length).toBeLessThan(releases);
    await expect(stat(join(dir, 'x.tar'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 120_000);
});

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../../src/cli/index.js');
  const { PassThrough } = await import('node:stream');
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const { code } = await main(argv, { stdout, stderr, env: {}, isTTY: false });
  return { code, stdout: out, stderr: err };
}
