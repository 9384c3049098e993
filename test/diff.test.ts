// Change review: `diff` in its three forms and `import --dry-run`, on the sample fleet (three clusters, five
// profiles) with a Helm chart from a local chart repository, exported before and after a set of changes.
import { createHash } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleView, storeView } from '../src/bundle/diff-read.js';
import { TarLayoutStore } from '../src/content/tarfs.js';
import type { ClusterView } from '../src/diff/view.js';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { helm, helmEnv, helmPath, packageChart } from './helm/helm-env.js';
import { startStaticServer } from './helm/servers.js';
import { spdxErrors } from './spdx.js';

const SAMPLES = join(import.meta.dirname, '..', 'samples', 'fleet');
const OLD_PASSWORD = 'mirror-s3cret-password';
const NEW_PASSWORD = 'rotated-pass-6631-secret';

interface ClusterJSON {
  cluster: string;
  change: string;
  objects: { apiVersion: string; kind: string; namespace: string; name: string; change: string; diff?: string; keys?: { added: string[]; removed: string[]; changed: string[] } }[];
  helm: { namespace: string; name: string; change: string; what?: string[] }[];
}

let work: string;
let repo: Awaited<ReturnType<typeof startStaticServer>>;
let keys: { keyPath: string; pubPath: string };
let env: NodeJS.ProcessEnv;
const bundle = (v: string) => join(work, `${v}.tar`);

const webProfile = (url: string, count: number) => `apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata:
  name: web
spec:
  clusterSelector:
    matchLabels:
      site: store
  helmCharts:
  - repositoryURL: ${url}
    repositoryName: demo-repo
    chartName: demo-repo/demo
    chartVersion: "^1.2"
    releaseName: web
    releaseNamespace: web
    values: |
      configMapCount: ${count}
`;

async function edit(file: string, from: string | RegExp, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`${file}: ${String(from)} not found`);
  await writeFile(file, next);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sveltos-airgap-diff-'));
  const site = join(work, 'repo');
  await mkdir(site, { recursive: true });
  await copyFile(await packageChart('demo', join(work, 'pkg')), join(site, 'demo-1.2.3.tgz'));
  await helm(['repo', 'index', site]);
  repo = await startStaticServer(site);
  env = { ...(await helmEnv()), SVELTOS_AIRGAP_HELM: helmPath() };
  await cli(['keygen', '--out', join(work, 'signing')]);
  keys = { keyPath: join(work, 'signing.key'), pubPath: join(work, 'signing.pub') };
  for (const v of ['v1', 'v2']) await cp(SAMPLES, join(work, v), { recursive: true });
  await writeFile(join(work, 'v1', 'profiles', 'web.yaml'), webProfile(repo.url, 1));
  // v2: the region-info ConfigMap changes, the mirror password is rotated, a Helm value changes, the store-apps
  // Profile is removed, and a cluster joins.
  const v2 = join(work, 'v2');
  await edit(join(v2, 'config', 'region-info.yaml'), '      env: {{ .Cluster.metadata.labels.env }}\n', '      env: {{ .Cluster.metadata.labels.env }}\n      tier: gold\n');
  await edit(join(v2, 'config', 'registry-mirror.yaml'), OLD_PASSWORD, NEW_PASSWORD);
  await writeFile(join(v2, 'profiles', 'web.yaml'), webProfile(repo.url, 2));
  await rm(join(v2, 'profiles', 'store-apps.yaml'));
  await writeFile(join(v2, 'clusters', 'new.yaml'), 'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata:\n  name: store-rome\n  namespace: retail\n  labels: {env: staging, region: eu-south, site: store}\nspec:\n  pullMode: true\n');
  for (const [v, seq] of [['v1', '1'], ['v2', '2']] as const) {
    const r = await cli(['export', '--from', join(work, v), '--key', keys.keyPath, '--out', bundle(v), '--sequence', seq, '--cache-dir', join(work, 'cache')], env);
    if (r.code !== 0) throw new Error(r.stderr);
  }
}, 180_000);

afterAll(async () => {
  await repo?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function diffJSON(args: string[]): Promise<{ code: number; out: { verified: boolean; clusters: ClusterJSON[]; charts: { added: unknown[]; removed: unknown[] }; summary: { changes: boolean } }; stdout: string; stderr: string }> {
  const r = await cli(['diff', ...args, '--output', 'json']);
  return { code: r.code, out: JSON.parse(r.stdout || '{}'), stdout: r.stdout, stderr: r.stderr };
}

const byCluster = (clusters: ClusterJSON[]) => new Map(clusters.map((c) => [c.cluster, c]));

describe('diff OLD.tar NEW.tar', () => {
  it('shows each change on exactly the clusters it reaches, a new cluster as added, a Helm values change as a release change', async () => {
    const { code, out } = await diffJSON([bundle('v1'), bundle('v2'), '--key', keys.pubPath]);
    expect(code).toBe(0);
    expect(out.verified).toBe(true);
    const c = byCluster(out.clusters);
    expect([...c.keys()]).toEqual(['retail/store-berlin', 'retail/store-paris', 'retail/store-rome', 'ships/vessel-aurora']);
    expect(c.get('retail/store-rome')!.change).toBe('added');
    // region-config (env: prod) reaches store-berlin and vessel-aurora: the ConfigMap changes there and nowhere else.
    const regionInfo = (x: ClusterJSON) => x.objects.find((o) => o.kind === 'ConfigMap' && o.name === 'region-info' && o.change === 'changed');
    expect(out.clusters.filter((x) => x.change !== 'added' && regionInfo(x)).map((x) => x.cluster)).toEqual(['retail/store-berlin', 'ships/vessel-aurora']);
    expect(regionInfo(c.get('retail/store-berlin')!)!.diff).toMatch(/^\+ {2}tier: gold$/m);
    // store-apps (site: store) is gone: its objects are removed on the two stores it reached.
    for (const s of ['retail/store-berlin', 'retail/store-paris']) {
      expect(c.get(s)!.objects.filter((o) => o.change === 'removed').length, s).toBeGreaterThan(0);
    }
    expect(c.get('ships/vessel-aurora')!.objects.filter((o) => o.change === 'removed')).toEqual([]);
    // configMapCount 1 -> 2: the web release changes where it is installed, with the object it adds.
    for (const s of ['retail/store-berlin', 'retail/store-paris']) {
      expect(c.get(s)!.helm, s).toEqual([expect.objectContaining({ namespace: 'web', name: 'web', change: 'changed', what: ['rendered objects'] })]);
    }
  });

  it('a rotated Secret value shows as its key, never the value, in text or JSON', async () => {
    const { out, stdout } = await diffJSON([bundle('v1'), bundle('v2')]);
    const secret = byCluster(out.clusters).get('ships/vessel-aurora')!.objects.find((o) => o.kind === 'Secret')!;
    expect(secret).toMatchObject({ change: 'changed', keys: { changed: ['password'], added: [], removed: [] } });
    const text = await cli(['diff', bundle('v1'), bundle('v2')]);
    expect(text.stdout).toContain('~ v1 Secret kube-system/registry-mirror-credentials (data keys changed: password; values not shown)');
    expect(text.stdout).toMatch(/^\(unverified: no --key was given/);
    for (const o of [stdout, text.stdout, text.stderr]) {
      for (const v of [OLD_PASSWORD, NEW_PASSWORD, Buffer.from(OLD_PASSWORD).toString('base64'), Buffer.from(NEW_PASSWORD).toString('base64')]) expect(o).not.toContain(v);
    }
  });

  it('--exit-code: 3 with changes, 0 without; --no-diff lists names only; a bundle that fails verification exits 2; bad arguments exit 1', async () => {
    expect((await cli(['diff', bundle('v1'), bundle('v2'), '--exit-code'])).code).toBe(3);
    expect((await cli(['diff', bundle('v1'), bundle('v1'), '--exit-code'])).code).toBe(0);
    const names = await cli(['diff', bundle('v1'), bundle('v2'), '--no-diff']);
    expect(names.stdout).toContain('~ v1 ConfigMap');
    expect(names.stdout).not.toContain('@@');
    const other = await testKeys();
    const untrusted = await cli(['diff', bundle('v1'), bundle('v2'), '--key', other.pubPath]);
    expect(untrusted.code).toBe(2);
    expect((await cli(['diff', bundle('v1')])).code).toBe(1);
  });
});

describe('diff NEW.tar --store DIR and import --dry-run', () => {
  async function treeHash(dir: string): Promise<string> {
    const h = createHash('sha256');
    const walk = async (d: string): Promise<void> => {
      for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = join(d, e.name);
        h.update(`${p.slice(dir.length)}\0`);
        if (e.isDirectory()) await walk(p);
        else h.update(await readFile(p)).update(String((await stat(p)).mode));
      }
    };
    await walk(dir);
    return h.digest('hex');
  }

  it('reads a cluster artifact both sides share once, and sees the same as reading it on each side', async () => {
    const store = join(work, 'shared-store');
    expect((await cli(['import', bundle('v1'), '--store', store, '--key', keys.pubPath])).code).toBe(0);
    const read = new Map<string, Promise<ClusterView>>();
    const before = await storeView(store, { read });
    const after = await bundleView(await TarLayoutStore.open(bundle('v1')), { read });
    // One read per cluster artifact, the same view on both sides.
    expect(read.size).toBe(before.clusters.size);
    for (const [cluster, view] of after.clusters) expect(view, cluster).toBe(before.clusters.get(cluster));
    // What each side reads alone is the same.
    expect(await storeView(store)).toEqual(before);
    expect(await bundleView(await TarLayoutStore.open(bundle('v1')))).toEqual(after);
  });

  it('import --dry-run verifies, prints what the store would change, and leaves the store byte for byte as it was', async () => {
    const store = join(work, 'store');
    expect((await cli(['import', bundle('v1'), '--store', store, '--key', keys.pubPath])).code).toBe(0);
    const before = await treeHash(store);
    const dry = await cli(['import', bundle('v2'), '--store', store, '--key', keys.pubPath, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('cluster retail/store-rome: added');
    expect(dry.stdout).toContain('~ v1 Secret kube-system/registry-mirror-credentials (data keys changed: password; values not shown)');
    expect(dry.stdout + dry.stderr).not.toContain(NEW_PASSWORD);
    expect(await treeHash(store)).toBe(before);
    // The same as diff against the store.
    const viaDiff = await cli(['diff', bundle('v2'), '--store', store, '--key', keys.pubPath]);
    expect(viaDiff.stdout).toBe(dry.stdout);
    // A dry run still refuses what import refuses: an older bundle (exit 2), and it writes nothing then either.
    expect((await cli(['import', bundle('v2'), '--store', store, '--key', keys.pubPath])).code).toBe(0);
    const after = await treeHash(store);
    const older = await cli(['import', bundle('v1'), '--store', store, '--key', keys.pubPath, '--dry-run']);
    expect(older.code).toBe(2);
    expect(older.stderr).toMatch(/not newer than the highest imported sequence 2/);
    expect(await treeHash(store)).toBe(after);
    const none = await cli(['diff', bundle('v2'), '--store', store, '--exit-code']);
    expect(none.code).toBe(0);
  });
});

describe('diff --from DIR --against OLD.tar', () => {
  it('what the next export would change, without packing: the same as diffing the exported bundle', async () => {
    const planned = await cli(['diff', '--from', join(work, 'v2'), '--against', bundle('v1'), '--cache-dir', join(work, 'cache'), '--offline', '--no-diff'], env);
    expect(planned.code, planned.stderr).toBe(0);
    const exported = await cli(['diff', bundle('v1'), bundle('v2'), '--no-diff']);
    expect(planned.stdout).toBe(exported.stdout);
  });
});

describe('the bundle SBOM', () => {
  it('lists the carried chart and every cluster configuration with their digests, and validates against the SPDX 2.3 schema', async () => {
    const r = await cli(['inspect', bundle('v1'), '--sbom']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { spdxVersion: string; packages: { name: string; primaryPackagePurpose: string; checksums: { checksumValue: string }[]; comment?: string }[] };
    expect(spdxErrors(doc)).toEqual([]);
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    const inspected = JSON.parse((await cli(['inspect', bundle('v1'), '--output', 'json'])).stdout) as { clusters: { cluster: string; manifest: string }[]; artifacts: { ref: string; kind: string; digest: string }[] };
    const chart = inspected.artifacts.find((a) => a.kind === 'chart')!;
    const listed = doc.packages.find((p) => p.name === chart.ref)!;
    expect(listed).toMatchObject({ primaryPackagePurpose: 'APPLICATION', checksums: [{ checksumValue: chart.digest.slice(7) }] });
    expect(listed.comment).toMatch(/used by clusters retail\/store-berlin,retail\/store-paris/);
    for (const c of inspected.clusters) expect(doc.packages.find((p) => p.name === `configuration of ${c.cluster}`)?.checksums[0]?.checksumValue).toBe(c.manifest.slice(7));
    // The validator does refuse what is not SPDX.
    expect(spdxErrors({ ...doc, spdxVersion: undefined })).not.toEqual([]);
  });
});
