// Real public charts (test/fixtures/public-charts, see SOURCES.md) pushed with `helm push` to docker-registry on
// 127.0.0.1 and exported by the CLI: the objects each release carries in the bundle must be the objects
// `helm template` prints for the same chart, release, namespace, values and Kubernetes version.
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { TarLayoutStore } from '../../src/content/tarfs.js';
import { manifestFromJSON } from '../../src/content/descriptor.js';
import { ARTIFACT_TYPE_CLUSTER } from '../../src/model/bundle.js';
import { KUBERNETES_YAML, readKubernetesYAML } from '../../src/model/yaml-block.js';
import { testKeys } from '../bundles.js';
import { cli } from '../cli.js';
import { helm, helmEnv, helmOtherPath, helmPath } from './helm-env.js';
import { startRegistry, type RunningRegistry } from './servers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/public-charts/', import.meta.url));
const KUBE = 'v1.30.0';

interface PublicChart {
  chart: string;
  version: string;
  release: string;
  namespace: string;
  values: string;
}
type Obj = Record<string, unknown>;

let work: string;
let registry: RunningRegistry;
let charts: PublicChart[];

/** key names an object as Kubernetes does: apiVersion, kind, namespace and name. */
const key = (o: Obj) => {
  const m = (o.metadata ?? {}) as { name?: string; namespace?: string };
  return `${String(o.apiVersion)} ${String(o.kind)} ${m.namespace ?? ''}/${m.name ?? ''}`;
};
const byKey = (objs: Obj[]) => new Map(objs.map((o) => [key(o), o]));

/** bundleObjects returns, per Helm release, the objects its ConfigurationBundles carry for the cluster. */
async function bundleObjects(path: string, cluster: string): Promise<Map<string, Obj[]>> {
  const store = await TarLayoutStore.open(path);
  const d = store.index().manifests.find((m) => m.artifactType === ARTIFACT_TYPE_CLUSTER && m.annotations?.['io.projectsveltos.airgap.cluster'] === cluster)!;
  const read = async (x: typeof d) => Buffer.concat(await (await store.fetch(x)).toArray());
  const out = new Map<string, Obj[]>();
  for (const l of manifestFromJSON(await read(d)).layers) {
    for (const doc of parseAllDocuments((await read(l)).toString()).map((x) => x.toJS() as Obj)) {
      const spec = doc.spec as { helmReleaseName?: string; resources?: string[] } | undefined;
      if (doc.kind !== 'ConfigurationBundle' || !spec?.helmReleaseName) continue;
      const list = out.get(spec.helmReleaseName) ?? [];
      list.push(...(spec.resources ?? []).flatMap((s) => parseAllDocuments(s).map((x) => x.toJS() as Obj)));
      out.set(spec.helmReleaseName, list);
    }
  }
  return out;
}

const KNOWN_HOOKS = new Set(['pre-install', 'post-install', 'pre-delete', 'post-delete', 'pre-upgrade', 'post-upgrade', 'pre-rollback', 'post-rollback', 'test']);

/**
 * installed is what an install of the release applies, by the rules of sveltos-pullmode.md §2.3 written out
 * here apart from src/: objects without a hook (minus those with a hook delete policy), hooks whose first
 * known event is pre-install or post-install; the release namespace on every object without one but CRDs.
 */
function installed(objs: Obj[], namespace: string): Obj[] {
  return objs.flatMap((o) => {
    const meta = (o.metadata ?? {}) as { namespace?: string; annotations?: Record<string, string> };
    const hook = meta.annotations?.['helm.sh/hook'];
    if (hook === undefined && meta.annotations?.['helm.sh/hook-delete-policy'] !== undefined) return [];
    const first = hook?.split(',').map((e) => e.trim().toLowerCase()).find((e) => KNOWN_HOOKS.has(e));
    if (hook !== undefined && first !== 'pre-install' && first !== 'post-install') return [];
    return [meta.namespace || o.kind === 'CustomResourceDefinition' ? o : { ...o, metadata: { ...meta, namespace } }];
  });
}

/** helmTemplate runs `helm template` (the suite's helm, or `binary`) as a user would and returns what it printed. */
async function helmTemplate(c: PublicChart, binary?: string): Promise<string> {
  const values = join(work, `${c.release}.values.yaml`);
  await writeFile(values, c.values);
  return helm(['template', c.release, join(FIXTURES, `${c.chart}-${c.version}.tgz`), '--namespace', c.namespace, '--include-crds', '--kube-version', KUBE, '--values', values], binary ? { binary } : {});
}

/** helmObjects returns the objects `helm template` printed. */
async function helmObjects(c: PublicChart): Promise<Obj[]> {
  const text = await helmTemplate(c);
  // Read as Kubernetes reads it (YAML 1.1, sigs.k8s.io/yaml): `defaultMode: 0444` is octal there.
  return parseAllDocuments(text, { version: '1.1' }).map((x) => x.toJS() as Obj).filter((o) => o !== null);
}

/** writeFleet writes one pull-mode cluster and a ClusterProfile deploying `list` from the registry. */
async function writeFleet(dir: string, list: PublicChart[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'cluster.yaml'), stringify({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'edge', namespace: 'fleet', labels: { env: 'public' } }, spec: { pullMode: true }, status: { version: KUBE } }));
  const helmCharts = list.map((c) => ({
    repositoryURL: `oci://${registry.host}/charts`, repositoryName: 'public', chartName: c.chart, chartVersion: c.version,
    releaseName: c.release, releaseNamespace: c.namespace, values: c.values, registryCredentialsConfig: { plainHTTP: true },
  }));
  await writeFile(join(dir, 'profile.yaml'), stringify({ apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'ClusterProfile', metadata: { name: 'public' }, spec: { clusterSelector: { matchLabels: { env: 'public' } }, helmCharts } }));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'public-charts-'));
  charts = JSON.parse(await readFile(join(FIXTURES, 'charts.json'), 'utf8')) as PublicChart[];
  registry = await startRegistry(join(work, 'registry'));
  for (const c of charts) await helm(['push', join(FIXTURES, `${c.chart}-${c.version}.tgz`), `oci://${registry.host}/charts`, '--plain-http']);
  await writeFleet(join(work, 'fleet'), charts);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('real public charts', () => {
  it('helm v3.17.3 and v4.1.4 print the same manifests for every public chart (addon-controller renders with Helm 4)', async () => {
    const versions = await Promise.all([helmPath(), helmOtherPath()].map(async (b) => (await helm(['version', '--template', '{{.Version}}'], { binary: b })).trim()));
    expect(versions.sort()).toEqual(['v3.17.3', 'v4.1.4']);
    for (const c of charts) {
      const [a, b] = await Promise.all([helmTemplate(c), helmTemplate(c, helmOtherPath())]);
      expect(a.length, `${c.chart} ${c.version}`).toBeGreaterThan(1000);
      expect(a, `${c.chart} ${c.version}: helm template differs between v3 and v4`).toBe(b);
    }
  });

  it('reads what helm template prints with the fast block reader exactly as the yaml library reads it', async () => {
    let read = 0;
    let chunks = 0;
    for (const c of charts) {
      for (const chunk of (await helmTemplate(c)).split(/^---[ \t]*$/m)) {
        chunks++;
        const fast = readKubernetesYAML(chunk);
        if (fast === undefined) continue;
        read++;
        const library = parseAllDocuments(chunk, KUBERNETES_YAML);
        expect(library.flatMap((d) => d.errors), `${c.chart}: ${chunk.slice(0, 120)}`).toEqual([]);
        expect(fast, `${c.chart}: ${chunk.slice(0, 120)}`).toEqual(library.map((d) => d.toJS() as unknown));
      }
    }
    // All but one of the documents these charts print are in the reader's subset (kyverno's ConfigMap has a
    // folded scalar, `>-`, which the library reads): comment lines, lines of spaces, spaces after keys, one-line
    // flow sequences of words and `{}` below a key are in it.
    expect(chunks - read, `${read} of ${chunks} documents`).toBeLessThanOrEqual(1);
  });

  it('carries, per release, exactly the objects helm template prints', async () => {
    const keys = await testKeys();
    const out = join(work, 'bundle.tar');
    const env = { ...(await helmEnv()), SVELTOS_AIRGAP_HELM: helmPath() };
    const r = await cli(['export', '--from', join(work, 'fleet'), '--key', keys.keyPath, '--out', out, '--cache-dir', join(work, 'cache'), '--plain-http-registry', registry.host, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const carried = await bundleObjects(out, 'fleet/edge');
    expect([...carried.keys()].sort()).toEqual(charts.map((c) => c.release).sort());
    for (const c of charts) {
      const want = byKey(installed(await helmObjects(c), c.namespace));
      const got = byKey(carried.get(c.release)!);
      expect(want.size, c.chart).toBeGreaterThan(0);
      expect([...got.keys()].sort(), c.chart).toEqual([...want.keys()].sort());
      for (const [k, o] of want) expect(got.get(k), `${c.chart}: ${k}`).toEqual(o);
    }
  }, 300_000);

  it('exports the same bundle from a warm cache as from a cold one, without helm; other values render anew', async () => {
    const keys = await testKeys();
    // helm behind a wrapper that counts its `helm template` runs.
    const dir = await mkdtemp(join(work, 'warm-'));
    const wrapper = join(dir, 'helm');
    await writeFile(wrapper, `#!/bin/sh\n[ "$1" = template ] && echo "$2" >> ${join(dir, 'runs')}\nexec ${helmPath()} "$@"\n`);
    await chmod(wrapper, 0o755);
    const runs = async () => (await readFile(join(dir, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    const env = { ...(await helmEnv()), SVELTOS_AIRGAP_HELM: wrapper };
    const exportTo = async (fleet: string, out: string) => {
      const r = await cli(['export', '--from', fleet, '--key', keys.keyPath, '--out', out, '--cache-dir', join(dir, 'cache'), '--plain-http-registry', registry.host, '--created-at', '2026-01-01T00:00:00Z', '--sequence', '1'], env);
      expect(r.code, r.stderr).toBe(0);
      return { sha256: createHash('sha256').update(await readFile(out)).digest('hex'), stderr: r.stderr };
    };
    const cold = await exportTo(join(work, 'fleet'), join(dir, 'cold.tar'));
    expect((await runs()).sort()).toEqual(charts.map((c) => c.release).sort());
    const warm = await exportTo(join(work, 'fleet'), join(dir, 'warm.tar'));
    expect(await runs()).toHaveLength(charts.length);
    for (const c of charts) expect(warm.stderr).toContain(`render ${c.namespace}/${c.release} (${c.chart} ${c.version}, kube ${KUBE}): from the render cache`);
    expect(warm.sha256).toBe(cold.sha256);

    // Other values for one release: that release alone is rendered again, and carries what helm prints for them.
    const ksm = charts.find((c) => c.chart === 'kube-state-metrics')!;
    const changed = charts.map((c) => (c === ksm ? { ...c, values: 'replicas: 2\n' } : c));
    await writeFleet(join(dir, 'fleet'), changed);
    const other = await exportTo(join(dir, 'fleet'), join(dir, 'other.tar'));
    expect(other.sha256).not.toBe(cold.sha256);
    expect((await runs()).slice(charts.length)).toEqual([ksm.release]);
    const [before, after] = await Promise.all([bundleObjects(join(dir, 'cold.tar'), 'fleet/edge'), bundleObjects(join(dir, 'other.tar'), 'fleet/edge')]);
    const deployment = (objs: Obj[]) => objs.find((o) => o.kind === 'Deployment') as { spec: { replicas: number } };
    expect(deployment(before.get(ksm.release)!).spec.replicas).toBe(1);
    expect(deployment(after.get(ksm.release)!).spec.replicas).toBe(2);
    for (const c of charts.filter((x) => x !== ksm)) expect(after.get(c.release), c.chart).toEqual(before.get(c.release));
  }, 300_000);
});
