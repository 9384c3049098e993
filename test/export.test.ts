// export through the CLI: the resolver, the Helm stage and the packer together, on the bundled samples and
// on a fleet with a chart served by an HTTP chart repository (real helm binary).
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { TarLayoutStore } from '../src/content/tarfs.js';
import { manifestFromJSON } from '../src/content/descriptor.js';
import { ARTIFACT_TYPE_CLUSTER, MEDIA_TYPE_OBJECTS } from '../src/model/bundle.js';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { helm, helmEnv, helmPath, packageChart } from './helm/helm-env.js';
import { startStaticServer } from './helm/servers.js';
import { tempDir, treeDigest } from './helpers.js';

const SAMPLES = fileURLToPath(new URL('../samples/fleet/', import.meta.url));
const FIXED = ['--created-at', '2026-11-01T00:00:00Z', '--source-date-epoch', '0', '--source', 'test'];

async function layers(path: string, cluster: string): Promise<Record<string, unknown>[]> {
  const store = await TarLayoutStore.open(path);
  const d = store.index().manifests.find((m) => m.artifactType === ARTIFACT_TYPE_CLUSTER && m.annotations?.['io.projectsveltos.airgap.cluster'] === cluster)!;
  const read = async (x: typeof d) => Buffer.concat(await (await store.fetch(x)).toArray());
  const m = manifestFromJSON(await read(d));
  const docs: Record<string, unknown>[] = [];
  for (const l of m.layers) docs.push(...parseAllDocuments((await read(l)).toString()).map((x) => x.toJS() as Record<string, unknown>));
  return docs;
}

describe('export', () => {
  it('packs the sample fleet reproducibly: fixed times give byte-identical bundles', async () => {
    const keys = await testKeys();
    const dir = await tempDir();
    const a = await cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', join(dir, 'a.tar'), '--sequence', '7', ...FIXED, '--output', 'json']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ sequence: 7, clusters: ['retail/store-berlin', 'retail/store-paris', 'ships/vessel-aurora'] });
    const b = await cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', join(dir, 'b.tar'), '--sequence', '7', ...FIXED]);
    expect(b.code).toBe(0);
    expect((await readFile(join(dir, 'a.tar'))).equals(await readFile(join(dir, 'b.tar')))).toBe(true);
    // The paused cluster is not exported, and the Local reference is reported, not carried.
    expect(a.stderr).toMatch(/NOT_CARRIED: ships\/vessel-aurora: .*mgmt-audit: deploymentType Local/);
    const docs = await layers(join(dir, 'a.tar'), 'retail/store-berlin');
    expect(docs.filter((d) => d.kind === 'ConfigurationGroup')).toHaveLength(3);
    const v = await cli(['verify', join(dir, 'a.tar'), '--key', keys.pubPath, '--now', '2026-11-02T00:00:00Z']);
    expect(v.code).toBe(0);
  });

  it('limits the export to --cluster and fails clearly on unknown clusters and bad input', async () => {
    const keys = await testKeys();
    const dir = await tempDir();
    const one = await cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', join(dir, 'one.tar'), '--cluster', 'retail/store-paris', '--output', 'json']);
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout).clusters).toEqual(['retail/store-paris']);
    const none = await cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', join(dir, 'none.tar'), '--cluster', 'retail/nowhere']);
    expect(none.code).toBe(1);
    const bad = join(dir, 'bad');
    await cp(SAMPLES, bad, { recursive: true });
    await writeFile(join(bad, 'broken.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: [oops\n');
    const r = await cli(['export', '--from', bad, '--key', keys.keyPath, '--out', join(dir, 'bad.tar')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:\d+/);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('resolve reports load errors, unsupported features and missing references of one run together (exit 1)', async () => {
    const dir = await tempDir();
    const input = join(dir, 'fleet');
    await cp(SAMPLES, input, { recursive: true });
    await writeFile(
      join(input, 'mixed.yaml'),
      [
        'apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: mixed}\nspec:\n  clusterRefs: [{apiVersion: lib.projectsveltos.io/v1beta1, kind: SveltosCluster, namespace: retail, name: store-paris}]\n  policyRefs: [{kind: ConfigMap, namespace: retail, name: gone}, {kind: ConfigMap, namespace: retail, name: lua}]',
        'apiVersion: config.projectsveltos.io/v1alpha1\nkind: ClusterProfile\nmetadata: {name: old}\nspec: {}',
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lua, namespace: retail, annotations: {projectsveltos.io/lua: ok}}\ndata: {a.lua: "function evaluate() end"}',
      ].join('\n---\n'),
    );
    const r = await cli(['resolve', '--from', input, '--cluster', 'retail/store-paris']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/3 problem\(s\) in the input/);
    expect(r.stderr).toMatch(/mixed\.yaml:\d+: apiVersion: ClusterProfile old \(document 2\): config\.projectsveltos\.io\/v1alpha1 is the old version/);
    expect(r.stderr).toMatch(/UNSUPPORTED: .*policyRefs\[1\]: ConfigMap retail\/lua is a Lua program/);
    expect(r.stderr).toMatch(/REFERENCE_NOT_FOUND: .*ConfigMap retail\/gone/);
  });

  it('clusters are built as they are planned: problems found in later clusters still fail the export together, leaving no file behind', async () => {
    const keys = await testKeys();
    const dir = await tempDir();
    const input = join(dir, 'fleet');
    await cp(SAMPLES, input, { recursive: true });
    const profile = (name: string, labels: Record<string, string>, configMap: string) =>
      `apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata:\n  name: ${name}\nspec:\n  clusterSelector:\n    matchLabels: ${JSON.stringify(labels)}\n  policyRefs:\n  - kind: ConfigMap\n    namespace: default\n    name: ${configMap}\n`;
    // store-berlin (first in plan order) plans cleanly; store-paris and vessel-aurora (later) each have a missing reference.
    await writeFile(join(input, 'profiles', 'late.yaml'), `${profile('paris-extra', { region: 'eu-west' }, 'missing-paris')}---\n${profile('ship-extra', { site: 'ship' }, 'missing-ship')}`);
    const out = join(dir, 'out');
    await mkdir(out);
    const r = await cli(['export', '--from', input, '--key', keys.keyPath, '--out', join(out, 'b.tar'), ...FIXED]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/2 problem\(s\) in the input/);
    expect(r.stderr).toMatch(/REFERENCE_NOT_FOUND: .*missing-paris/);
    expect(r.stderr).toMatch(/REFERENCE_NOT_FOUND: .*missing-ship/);
    expect(await readdir(out)).toEqual([]);
  });
});

describe('reproducible cluster artifacts', () => {
  it('without --created-at, only the bundle root and signature change between exports: every cluster artifact keeps its digest, encrypted ones too', async () => {
    const [keys, site] = [await testKeys(), await testKeys()];
    const dir = await tempDir();
    const exp = (out: string, extra: string[], env: NodeJS.ProcessEnv = {}) => cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', out, '--encrypt-to', site.pubPath, '--source', 'test', ...extra, '--output', 'json'], env);
    const a = await exp(join(dir, 'a.tar'), ['--sequence', '5', '--source-date-epoch', '1700000000']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).encrypted.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 20));
    const b = await exp(join(dir, 'b.tar'), ['--sequence', '5'], { SOURCE_DATE_EPOCH: '1700000000' });
    expect(b.code, b.stderr).toBe(0);
    const entries = async (f: string) => (await TarLayoutStore.open(f)).index().manifests;
    const clusters = async (f: string) => Object.fromEntries((await entries(f)).filter((m) => m.artifactType === ARTIFACT_TYPE_CLUSTER).map((m) => [m.annotations!['io.projectsveltos.airgap.cluster'], m.digest]));
    expect(Object.keys(await clusters(join(dir, 'a.tar')))).toHaveLength(3);
    expect(await clusters(join(dir, 'b.tar'))).toEqual(await clusters(join(dir, 'a.tar')));
    // The export time is in the root (and the signature): the two roots differ.
    const root = async (f: string) => (await entries(f)).find((m) => m.annotations?.['io.projectsveltos.airgap.role'] === 'root')!.digest;
    expect(await root(join(dir, 'b.tar'))).not.toBe(await root(join(dir, 'a.tar')));

    // So the next delta for a site that imported the first carries no cluster artifact again.
    const store = join(dir, 'store');
    expect((await cli(['import', join(dir, 'a.tar'), '--store', store, '--key', keys.pubPath])).code).toBe(0);
    const receipt = join(dir, 'receipt.json');
    expect((await cli(['report', '--store', store, '--out', receipt, '--key', site.keyPath])).code).toBe(0);
    const d = await exp(join(dir, 'delta.tar'), ['--sequence', '6', '--since', receipt, '--site-key', site.pubPath]);
    expect(d.code, d.stderr).toBe(0);
    const carried = (await TarLayoutStore.open(join(dir, 'delta.tar'))).blobs().map((x) => x.digest);
    for (const digest of Object.values(await clusters(join(dir, 'a.tar')))) expect(carried).not.toContain(digest);
    const imp = await cli(['import', join(dir, 'delta.tar'), '--store', store, '--key', keys.pubPath, '--output', 'json']);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout).clusters).toEqual((await entries(join(dir, 'a.tar'))).filter((m) => m.artifactType === ARTIFACT_TYPE_CLUSTER).map((m) => ({ cluster: m.annotations!['io.projectsveltos.airgap.cluster'], manifest: m.digest })));
  });
});

describe('delta export', () => {
  it('leaves out what a verified site receipt says the site holds; the delta imports only where those blobs are', async () => {
    const [keys, site] = [await testKeys(), await testKeys()];
    const dir = await tempDir();
    const full = join(dir, 'full.tar');
    const exp = (out: string, seq: string, extra: string[] = []) => cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', out, '--sequence', seq, ...extra, '--output', 'json']);
    expect((await exp(full, '1')).code).toBe(0);
    const store = join(dir, 'store');
    expect((await cli(['import', full, '--store', store, '--key', keys.pubPath])).code).toBe(0);
    const receipt = join(dir, 'receipt.json');
    const rep = await cli(['report', '--store', store, '--out', receipt, '--key', site.keyPath]);
    expect(rep.code, rep.stderr).toBe(0);

    const delta = join(dir, 'delta.tar');
    const d = await exp(delta, '2', ['--since', receipt, '--site-key', site.pubPath]);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout).omitted).toBeGreaterThan(0);
    expect((await readFile(delta)).length).toBeLessThan((await readFile(full)).length);
    // verify needs the store for what the delta leaves out: it reads those blobs (verified) and writes nothing.
    const alone = await cli(['verify', delta, '--key', keys.pubPath, '--output', 'json']);
    expect(alone.code).toBe(2);
    expect(JSON.parse(alone.stdout).error.code).toBe('BLOB_MISSING');
    const nowhere = await cli(['verify', delta, '--key', keys.pubPath, '--store', join(dir, 'no-store')]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/--store .*no-store: not a sveltos-airgap store \(no oci-layout\); run import first/);
    const before = await treeDigest(store);
    const withStore = await cli(['verify', delta, '--key', keys.pubPath, '--store', store, '--output', 'json']);
    expect(withStore.code, withStore.stderr).toBe(0);
    expect(JSON.parse(withStore.stdout)).toMatchObject({ verified: true, complete: true, fromStore: JSON.parse(d.stdout).omitted });
    expect(await treeDigest(store)).toBe(before);
    // A damaged blob in the store fails the delta's verification as if it were in the bundle.
    const scratch = join(dir, 'scratch');
    await cp(store, scratch, { recursive: true });
    const held = JSON.parse((await readFile(join(scratch, 'state.json'), 'utf8'))).history[0].manifests[0].digest.slice(7) as string;
    const victim = join(scratch, 'blobs', 'sha256', held);
    await chmod(victim, 0o644);
    const bytes = await readFile(victim);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 1;
    await writeFile(victim, bytes);
    const damaged = await cli(['verify', delta, '--key', keys.pubPath, '--store', scratch, '--output', 'json']);
    expect(damaged.code).toBe(2);
    expect(damaged.stderr).toContain(`sha256:${held}`);
    // So does a damaged objects layer the store holds (read at once, for its names), for verify and for import;
    // the import changes nothing.
    const layers = join(dir, 'layers');
    await cp(store, layers, { recursive: true });
    const manifest = JSON.parse(await readFile(join(layers, 'blobs', 'sha256', held), 'utf8')) as { layers: { mediaType: string; digest: string }[] };
    const objects = manifest.layers.find((l) => l.mediaType === MEDIA_TYPE_OBJECTS)!.digest.slice(7);
    const layer = join(layers, 'blobs', 'sha256', objects);
    await chmod(layer, 0o644);
    await writeFile(layer, (await readFile(layer, 'utf8')).replace('name:', 'name:  '));
    const badLayer = await cli(['verify', delta, '--key', keys.pubPath, '--store', layers, '--output', 'json']);
    expect(badLayer.code).toBe(2);
    expect(badLayer.stderr).toContain(`sha256:${objects}`);
    const untouched = await treeDigest(layers);
    const badImport = await cli(['import', delta, '--key', keys.pubPath, '--store', layers]);
    expect(badImport.code).toBe(2);
    expect(badImport.stderr).toContain(`sha256:${objects}`);
    expect(await treeDigest(layers)).toBe(untouched);
    const imp = await cli(['import', delta, '--store', store, '--key', keys.pubPath]);
    expect(imp.code, imp.stderr).toBe(0);

    const fresh = await cli(['import', delta, '--store', join(dir, 'fresh'), '--key', keys.pubPath, '--output', 'json']);
    expect(fresh.code).toBe(2);
    expect(JSON.parse(fresh.stdout).error.code).toBe('BLOB_MISSING');

    // A receipt signed by another key, or altered, is refused (exit 2).
    const wrong = await exp(join(dir, 'x.tar'), '3', ['--since', receipt, '--site-key', keys.pubPath]);
    expect(wrong.code).toBe(2);
    const altered = join(dir, 'altered.json');
    await writeFile(altered, (await readFile(receipt, 'utf8')).replace(/"payload":"(.)/, (_m, c: string) => `"payload":"${c === 'A' ? 'B' : 'A'}`));
    expect((await exp(join(dir, 'y.tar'), '3', ['--since', altered, '--site-key', site.pubPath])).code).toBe(2);
    expect((await exp(join(dir, 'z.tar'), '3', ['--since', receipt])).code).toBe(1);
  });
});

describe('export to media and sites', () => {
  it('--split-size writes parts that verify and import in any order; --encrypt-to hides carried Secrets from all but the site key', async () => {
    const [keys, site] = [await testKeys(), await testKeys()];
    const dir = await tempDir();
    const out = join(dir, 'b.tar');
    const r = await cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', out, '--split-size', '40KiB', '--encrypt-to', site.pubPath, '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.files.length).toBeGreaterThan(1);
    expect(j.files[0]).toMatch(/b\.part1-of-\d+\.tar$/);
    expect(j.encrypted.length).toBeGreaterThan(0);
    const parts = [...j.files].reverse();
    expect((await cli(['verify', ...parts, '--key', keys.pubPath])).code).toBe(0);
    const store = join(dir, 'store');
    const imp = await cli(['import', ...parts, '--store', store, '--key', keys.pubPath]);
    expect(imp.code, imp.stderr).toBe(0);
    const ins = JSON.parse((await cli(['inspect', ...parts, '--output', 'json'])).stdout);
    const vessel = ins.clusters.find((c: { cluster: string }) => c.cluster === 'ships/vessel-aurora');
    expect(JSON.stringify(vessel)).toMatch(/encrypted/i);
    // The plaintext of the carried Secret is nowhere in the parts.
    for (const f of j.files) expect((await readFile(f)).includes(Buffer.from('mirror-s3cret-password'))).toBe(false);
  });
});

describe('export with Helm charts', () => {
  let repo: Awaited<ReturnType<typeof startStaticServer>>;
  let fleet: string;

  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sveltos-airgap-export-'));
    const site = join(work, 'repo');
    await mkdir(site, { recursive: true });
    await copyFile(await packageChart('demo', join(work, 'pkg')), join(site, 'demo-1.2.3.tgz'));
    await helm(['repo', 'index', site]);
    repo = await startStaticServer(site);
    fleet = join(work, 'fleet');
    await cp(SAMPLES, fleet, { recursive: true });
    // store-paris reports its Kubernetes version: its charts render for it (Helm's .Capabilities.KubeVersion).
    const retail = join(fleet, 'clusters', 'retail.yaml');
    await writeFile(retail, (await readFile(retail, 'utf8')).replace(/(name: store-paris[\s\S]*?spec:\n  pullMode: true\n)/, '$1status:\n  version: v1.29.4\n'));
    await writeFile(
      join(fleet, 'profiles', 'web.yaml'),
      `apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata:
  name: web
spec:
  clusterSelector:
    matchLabels:
      site: store
  policyRefs:
  - kind: ConfigMap
    name: region-info
    namespace: default
  helmCharts:
  - repositoryURL: ${repo.url}
    repositoryName: demo-repo
    chartName: demo-repo/demo
    chartVersion: "^1.2"
    releaseName: web
    releaseNamespace: web
    values: |
      cluster:
        region: {{ index .Cluster.metadata.labels "region" }}
      configMapCount: 2
`,
    );
  });
  afterAll(async () => {
    await repo?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('renders the chart per cluster and carries it: a Helm group before the Resources group, the chart as an OCI artifact', async () => {
    const keys = await testKeys();
    const out = join(await tempDir(), 'b.tar');
    const env = { ...(await helmEnv()), SVELTOS_AIRGAP_HELM: helmPath() };
    const r = await cli(['export', '--from', fleet, '--key', keys.keyPath, '--out', out, '--cache-dir', join(await tempDir(), 'cache'), '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const docs = await layers(out, 'retail/store-paris');
    const groups = docs.filter((d) => d.kind === 'ConfigurationGroup') as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } }[];
    const web = groups.filter((g) => g.metadata.annotations['pullmode.projectsveltos.io/requestorname'] === 'web-sveltos-store-paris').map((g) => g.metadata.labels['pullmode.projectsveltos.io/requestorfeature']);
    expect(web).toEqual(['Helm', 'Resources']);
    const helmBundles = docs.filter((d) => d.kind === 'ConfigurationBundle' && (d.spec as Record<string, unknown>).helmReleaseName === 'web') as { spec: { resources?: string[]; helmChartVersion: string; isLastHelmReleaseBundle?: boolean } }[];
    expect(helmBundles.length).toBeGreaterThan(1);
    expect(helmBundles.every((b) => b.spec.helmChartVersion === '1.2.3')).toBe(true);
    expect(helmBundles.at(-1)!.spec.isLastHelmReleaseBundle).toBe(true);
    // Values were templated per cluster: the region label reached the rendered objects.
    const rendered = helmBundles.flatMap((b) => (b.spec.resources ?? []).map((s) => parse(s) as Record<string, unknown>));
    expect(JSON.stringify(rendered)).toContain('eu-west');
    const berlin = (await layers(out, 'retail/store-berlin')).filter((d) => d.kind === 'ConfigurationBundle');
    expect(JSON.stringify(berlin)).toContain('eu-central');
    const kube = (objects: Record<string, unknown>[]) => JSON.stringify(objects).match(/"name":"KUBE","value":"([^"]+)"/)?.[1];
    expect(kube(rendered)).toBe('v1.29.4');
    expect(kube(berlin.flatMap((b) => ((b.spec as { resources?: string[] }).resources ?? []).map((s) => parse(s) as Record<string, unknown>)))).toBe('v1.32.0');
    const inspect = await cli(['inspect', out, '--output', 'json']);
    const chart = JSON.parse(inspect.stdout).artifacts.find((a: { kind: string }) => a.kind === 'chart');
    expect(chart).toBeDefined();
  });

  it('resolve --images lists the images of policyRefs objects and of rendered charts, with who uses them', async () => {
    const env = { ...(await helmEnv()), SVELTOS_AIRGAP_HELM: helmPath() };
    const cache = join(await tempDir(), 'cache');
    const r = await cli(['resolve', '--from', fleet, '--images', '--cache-dir', cache, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const images = JSON.parse(r.stdout).images as { image: string; valid: boolean; clusters: string[]; profiles: string[]; charts: string[]; objects: string[] }[];
    const by = new Map(images.map((i) => [i.image, i]));
    // From a Deployment in a policyRefs ConfigMap (samples/fleet/config/store-apps.yaml).
    expect(by.get('registry.example.com/retail/pos:4.2.1')).toMatchObject({ valid: true, clusters: ['retail/store-berlin', 'retail/store-paris'], profiles: ['Profile/retail/store-apps'], charts: [] });
    // From the chart: nginx from values (normalised), the init image, and the CronJob's digest-pinned image.
    const nginx = by.get('docker.io/library/nginx:1.25')!;
    expect(nginx.profiles).toEqual(['ClusterProfile/web']);
    expect(nginx.charts).toHaveLength(1);
    expect(nginx.objects).toContain('retail/store-paris: apps/v1 Deployment web/web-web');
    expect(by.has('registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097')).toBe(true);
    // Text output is a table; offline, the chart comes from the cache just filled.
    const text = await cli(['resolve', '--from', fleet, '--images', '--cache-dir', cache, '--offline'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/IMAGE\s+CLUSTERS\s+PROFILES\s+CHARTS\s+OBJECTS/);
    expect(text.stdout).toContain('registry.example.com/retail/pos:4.2.1');
    // Helm rendering flags without --images are a usage error, not silently ignored (--offline and
    // --cache-dir also apply to remoteURLs).
    const misuse = await cli(['resolve', '--from', fleet, '--kube-version', '1.30.0']);
    expect(misuse.code).toBe(1);
    expect(misuse.stderr).toContain('--kube-version is used with --images');
  });
});
