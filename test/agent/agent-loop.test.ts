// The pull agent's whole loop (sveltos-pullmode.md §3.2) played with @kubernetes/client-node against
// `serve`: watch groups, fetch bundles, add a finalizer, report Provisioned for the observed generation,
// heartbeat the SveltosCluster; then an import drops a profile and the agent sees and completes the Remove.
import { describe, expect, it, onTestFinished } from 'vitest';
import { demoCluster, groupNameOf, kubeconfigFor, makeSite, serveSite } from './fixtures.js';
import { customApi, LIB, startInformer, waitFor, type Obj } from './kube-client.js';

const groupOf = (profile: string) => groupNameOf('rke2/cluster01', profile);

const NS = 'rke2';
const FINALIZER = 'configurationgroup.projectsveltos.io/finalizer';

describe('the pull agent loop against serve', () => {
  it('deploys, heartbeats, then removes a dropped profile', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster(NS, 'cluster01')]));
    const served = await serveSite(site.store);
    const { path } = await kubeconfigFor(site, `${NS}/cluster01`, served);
    const { kc, api } = customApi(path);
    const groups = await startInformer(kc, api, NS, 'configurationgroups', 'pullmode.projectsveltos.io/clustername=cluster01');
    onTestFinished(() => groups.stop());
    const cg = (name: string) => ({ ...LIB, namespace: NS, plural: 'configurationgroups', name });

    // The agent: process what the informer shows, one group at a time.
    const applied = new Map<string, string[]>();
    const process = async (g: Obj): Promise<void> => {
      const name = g.metadata!.name!;
      if (g.metadata!.deletionTimestamp) {
        const cur = (await api.getNamespacedCustomObject(cg(name))) as Obj;
        await api.replaceNamespacedCustomObject({ ...cg(name), body: { ...cur, metadata: { ...cur.metadata, finalizers: [] } } });
        return;
      }
      let cur = g;
      if (!cur.metadata!.finalizers?.includes(FINALIZER)) {
        cur = (await api.replaceNamespacedCustomObject({ ...cg(name), body: { ...cur, metadata: { ...cur.metadata, finalizers: [FINALIZER] } } })) as Obj;
      }
      if (cur.status?.observedGeneration === cur.metadata!.generation) return;
      let status: string;
      if (cur.spec!.action === 'Remove') {
        applied.delete(name);
        status = 'Removed';
      } else {
        const objects: string[] = [];
        for (const item of cur.spec!.configurationItem ?? []) {
          const b = (await api.getNamespacedCustomObject({ ...LIB, namespace: NS, plural: 'configurationbundles', name: item.contentRef.name })) as Obj;
          objects.push(...(b.spec!.resources as string[]));
        }
        applied.set(name, objects);
        status = 'Provisioned';
      }
      await api.replaceNamespacedCustomObjectStatus({
        ...cg(name),
        body: { ...cur, status: { status, observedGeneration: cur.metadata!.generation, observedRequestorHash: cur.spec!.requestorHash, lastAppliedTime: new Date().toISOString() } },
      });
    };
    let queue = Promise.resolve();
    const onChange = (g: Obj) => {
      queue = queue.then(() => process(g)).catch((e: unknown) => {
        // A write raced a newer version: the informer brings the newer one.
        if ((e as { code?: number }).code !== 409) throw e;
      });
    };
    // Every version the informer delivered: states may pass faster than a test can look at the cache.
    const seen: Obj[] = [];
    groups.on('add', (g) => seen.push(g));
    groups.on('update', (g) => seen.push(g));
    groups.on('add', onChange);
    groups.on('update', onChange);
    for (const g of groups.list(NS)) onChange(g);

    const provisioned = (name: string) => {
      const g = groups.get(name, NS);
      return g?.status?.status === 'Provisioned' && g.status.observedGeneration === g.metadata!.generation && g.metadata!.finalizers?.includes(FINALIZER);
    };
    await waitFor([groups], () => provisioned(groupOf('nginx')) && provisioned(groupOf('kyverno')), 'both groups Provisioned');
    expect([...applied.keys()].sort()).toEqual([groupOf('kyverno'), groupOf('nginx')].sort());
    expect(applied.get(groupOf('nginx'))![0]).toContain('name: nginx');

    // Heartbeat.
    const scArgs = { ...LIB, namespace: NS, plural: 'sveltosclusters', name: 'cluster01' };
    const sc = (await api.getNamespacedCustomObject(scArgs)) as Obj;
    expect(sc.metadata!.labels).toEqual({ env: 'prod' });
    expect(sc.spec!.pullMode).toBe(true);
    const beat = (await api.replaceNamespacedCustomObjectStatus({ ...scArgs, body: { ...sc, status: { ready: true, version: 'v1.30.5', agentLastReportTime: '2026-09-01T12:00:00Z' } } })) as Obj;
    expect(beat.status).toEqual({ ready: true, version: 'v1.30.5', agentLastReportTime: '2026-09-01T12:00:00Z' });

    // The next import drops kyverno: its group turns into Remove, its bundle goes away; once the agent
    // reports Removed, the group is deleted (after the agent releases its finalizer).
    await site.importTar(await site.pack(2, [demoCluster(NS, 'cluster01', ['nginx'], { env: 'prod', tier: 'edge' })]));
    await served.handler.reload();
    await waitFor([groups], () => seen.some((g) => g.metadata!.name === groupOf('kyverno') && g.spec?.action === 'Remove'), 'the Remove group');
    await waitFor([groups], () => !groups.get(groupOf('kyverno'), NS), 'the removed group to be deleted');
    const removing = seen.find((g) => g.metadata!.name === groupOf('kyverno') && g.spec?.action === 'Remove')!;
    expect(removing.spec!.configurationItem).toBeUndefined();
    expect(seen.some((g) => g.metadata!.name === groupOf('kyverno') && g.status?.status === 'Removed' && g.metadata!.deletionTimestamp)).toBe(true);
    expect(applied.has(groupOf('kyverno'))).toBe(false);
    await expect(api.getNamespacedCustomObject({ ...LIB, namespace: NS, plural: 'configurationbundles', name: 'config-kyverno-b1' })).rejects.toMatchObject({ code: 404 });

    // What the agent wrote survived the import: nginx is still Provisioned, the heartbeat is kept, labels are the bundle's.
    expect(provisioned(groupOf('nginx'))).toBe(true);
    const after = (await api.getNamespacedCustomObject(scArgs)) as Obj;
    expect(after.status).toEqual(beat.status);
    expect(after.metadata!.labels).toEqual({ env: 'prod', tier: 'edge' });
  });
});
