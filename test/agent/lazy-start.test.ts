// A restart reads a cluster's import only when a request needs it: what it serves is the same as before,
// a changed import is still applied, and a damaged blob read late is reported, not served.
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoCluster, kubeconfigFor, makeSite, serveSite, type ClusterSpec, type ServedSite, type Site } from './fixtures.js';
import { customApi, LIB, type Obj } from './kube-client.js';

const CLUSTERS = ['rke2/cluster01', 'edge/cluster02'];

async function served(site: Site, s: ServedSite, cluster: string): Promise<{ groups: Obj[]; bundles: Obj[] }> {
  const { api } = customApi((await kubeconfigFor(site, cluster, s)).path);
  const list = async (plural: string) => ((await api.listNamespacedCustomObject({ ...LIB, namespace: cluster.split('/')[0]!, plural })) as { items: Obj[] }).items;
  return { groups: await list('configurationgroups'), bundles: await list('configurationbundles') };
}

async function ledgerSource(site: Site, cluster: string): Promise<unknown> {
  const [ns, name] = cluster.split('/') as [string, string];
  return (JSON.parse(await readFile(join(site.store, 'agent', 'clusters', ns, `${name}.json`), 'utf8')) as { source?: unknown }).source;
}

describe('serve reads an unchanged import when a request needs it', () => {
  it('a restart with unchanged imports serves the same objects, specs and resourceVersions', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, CLUSTERS.map((c) => demoCluster(...(c.split('/') as [string, string])))));
    let s = await serveSite(site.store);
    const before = await Promise.all(CLUSTERS.map((c) => served(site, s, c)));
    expect(before[0]!.bundles[0]!.spec).toBeDefined();
    for (const c of CLUSTERS) expect(await ledgerSource(site, c)).toMatch(/^sha256:[a-f0-9]{64} keys:/);
    await s.stop();

    s = await serveSite(site.store);
    // The second cluster first: each request reads only its own cluster.
    const after = await Promise.all([...CLUSTERS].reverse().map((c) => served(site, s, c)));
    expect(after.reverse()).toEqual(before);
  });

  it('an import that changes one cluster while serving is applied; the other keeps its objects', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01'), demoCluster('edge', 'cluster02')]));
    let s = await serveSite(site.store);
    const before = await Promise.all(CLUSTERS.map((c) => served(site, s, c)));
    await s.stop();

    s = await serveSite(site.store);
    const changed = demoCluster('rke2', 'cluster01');
    changed.profiles[0]!.bundles['config-nginx-b1'] = ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nginx\n  namespace: default\ndata:\n  v: "2"\n'];
    await site.importTar(await site.pack(2, [changed, demoCluster('edge', 'cluster02')]));
    await s.handler.reload();
    const one = await served(site, s, 'rke2/cluster01');
    const nginx = one.bundles.find((b) => b.metadata!.name === 'config-nginx-b1')!;
    expect(JSON.stringify(nginx.spec)).toContain('v: \\"2\\"');
    expect(Number(nginx.metadata!.resourceVersion)).toBeGreaterThan(Math.max(...before[0]!.bundles.map((b) => Number(b.metadata!.resourceVersion))));
    const kyverno = (o: { bundles: Obj[] }) => o.bundles.find((b) => b.metadata!.name !== 'config-nginx-b1');
    expect(kyverno(one)).toEqual(kyverno(before[0]!));
    expect(await served(site, s, 'edge/cluster02')).toEqual(before[1]);
  });

  it('a damaged layer blob read after a restart fails the request naming the digest; serve keeps running', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01'), demoCluster('edge', 'cluster02')]));
    let s = await serveSite(site.store);
    const before = await served(site, s, 'rke2/cluster01');
    await served(site, s, 'edge/cluster02');
    await s.stop();

    const index = JSON.parse(await readFile(join(site.store, 'state.json'), 'utf8')) as { clusters: Record<string, { manifest: { digest: string } }> };
    const hex = (d: string) => d.slice('sha256:'.length);
    const manifest = JSON.parse(await readFile(join(site.store, 'blobs', 'sha256', hex(index.clusters['edge/cluster02']!.manifest.digest)), 'utf8')) as { layers: { digest: string }[] };
    const layer = manifest.layers.at(-1)!.digest;
    await writeFile(join(site.store, 'blobs', 'sha256', hex(layer)), 'damaged');

    const warnings: string[] = [];
    s = await serveSite(site.store, { warn: (m) => warnings.push(m) });
    const { api } = customApi((await kubeconfigFor(site, 'edge/cluster02', s)).path);
    const failed = await api.listNamespacedCustomObject({ ...LIB, namespace: 'edge', plural: 'configurationbundles' }).then(
      () => undefined,
      (err: { code?: number; body?: unknown }) => err,
    );
    expect(failed?.code).toBe(500);
    expect(String(failed?.body)).toContain(layer);
    expect(await served(site, s, 'rke2/cluster01')).toEqual(before);
  });

  it('the first start after an import reads a cluster on its first request and serves what a store without name index serves', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, CLUSTERS.map((c) => demoCluster(...(c.split('/') as [string, string])))));
    const exists = (c: string) => access(join(site.store, 'agent', 'clusters', ...c.split('/').map((p, i) => (i ? `${p}.json` : p)))).then(() => true, () => false);
    let s = await serveSite(site.store);
    expect(await Promise.all(CLUSTERS.map(exists))).toEqual([false, false]);
    const lazy = await served(site, s, 'edge/cluster02');
    expect(await Promise.all(CLUSTERS.map(exists))).toEqual([false, true]);
    await s.stop();

    // The same store without the name index and the agent state: every cluster is read at start.
    await rm(join(site.store, 'agent', 'names'), { recursive: true });
    await rm(join(site.store, 'agent', 'clusters'), { recursive: true });
    s = await serveSite(site.store);
    expect(await Promise.all(CLUSTERS.map(exists))).toEqual([true, true]);
    const eager = await served(site, s, 'edge/cluster02');
    const shape = (o: { groups: Obj[]; bundles: Obj[] }) => [...o.groups, ...o.bundles].map((x) => ({ name: x.metadata!.name, labels: x.metadata!.labels, spec: x.spec }));
    expect(shape(lazy)).toEqual(shape(eager));
  });

  it('a name one cluster hands to another in a new import goes to the same cluster whichever asks first', async () => {
    const cm = (v: string) => [`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n  namespace: default\ndata:\n  v: "${v}"\n`];
    const spec = (name: string, profile: string, bundles: Record<string, string[]>): ClusterSpec => ({ namespace: 'shared', name, labels: { site: name }, profiles: [{ profile, bundles }] });
    const site = await makeSite();
    await site.importTar(await site.pack(1, [spec('a', 'pa', { 'config-moved': cm('1') }), spec('b', 'pb', { 'config-b': cm('2') })]));
    let s = await serveSite(site.store);
    expect((await served(site, s, 'shared/a')).bundles.map((b) => b.metadata!.name)).toEqual(['config-moved']);
    await s.stop();

    // a drops the bundle, b now carries it: as at a start that reads both in name order, b serves it.
    await site.importTar(await site.pack(2, [spec('a', 'pa', { 'config-a': cm('1') }), spec('b', 'pb', { 'config-b': cm('2'), 'config-moved': cm('3') })]));
    s = await serveSite(site.store);
    expect((await served(site, s, 'shared/b')).bundles.map((b) => b.metadata!.name)).toEqual(['config-b', 'config-moved']);
    expect((await served(site, s, 'shared/a')).bundles.map((b) => b.metadata!.name)).toEqual(['config-a']);
    await s.stop();
  });
});
