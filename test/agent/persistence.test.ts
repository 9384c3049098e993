// What the agent writes survives a restart of serve and a new import, and resourceVersions never go back.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoCluster, groupNameOf, kubeconfigFor, makeSite, serveSite } from './fixtures.js';
import { customApi, LIB, type Obj } from './kube-client.js';

const groupOf = (profile: string) => groupNameOf('rke2/cluster01', profile);

describe('persistence of agent writes', () => {
  it('keeps status, finalizers, heartbeats and reports across restarts and imports', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01')]));
    let served = await serveSite(site.store);
    const { path } = await kubeconfigFor(site, 'rke2/cluster01', served);
    let { api } = customApi(path);
    const cgArgs = { ...LIB, namespace: 'rke2', plural: 'configurationgroups', name: groupOf('nginx') };
    const cg = (await api.getNamespacedCustomObject(cgArgs)) as Obj;
    const withFinalizer = (await api.replaceNamespacedCustomObject({ ...cgArgs, body: { ...cg, metadata: { ...cg.metadata, finalizers: ['agent/f'] } } })) as Obj;
    const status = { status: 'Provisioned', observedGeneration: 1, lastAppliedTime: '2026-09-01T12:00:00Z' };
    await api.replaceNamespacedCustomObjectStatus({ ...cgArgs, body: { ...withFinalizer, status } });
    const scArgs = { ...LIB, namespace: 'rke2', plural: 'sveltosclusters', name: 'cluster01' };
    const sc = (await api.getNamespacedCustomObject(scArgs)) as Obj;
    const heartbeat = { ready: true, version: 'v1.30.5', agentLastReportTime: '2026-09-01T12:01:00Z' };
    await api.replaceNamespacedCustomObjectStatus({ ...scArgs, body: { ...sc, status: heartbeat } });
    const rs = {
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'ResourceSummary',
      metadata: { name: 'drift-nginx', namespace: 'rke2', labels: { 'version.projectsveltos.io/clustername': 'cluster01' } },
      spec: {},
    };
    const createdRs = (await api.createNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'resourcesummaries', body: rs })) as Obj;
    const written = (await api.replaceNamespacedCustomObjectStatus({ ...LIB, namespace: 'rke2', plural: 'resourcesummaries', name: 'drift-nginx', body: { ...createdRs, status: { resourcesChanged: true } } })) as Obj;
    const lastRV = Number(written.metadata!.resourceVersion);
    const file = JSON.parse(await readFile(join(site.store, 'agent', 'clusters', 'rke2', 'cluster01.json'), 'utf8')) as { resourceVersion: number };
    expect(file.resourceVersion).toBe(lastRV);

    // Restart serve, then import a new bundle that changes nginx's group.
    await served.stop();
    served = await serveSite(site.store);
    api = customApi((await kubeconfigFor(site, 'rke2/cluster01', served)).path).api;
    const again = (await api.getNamespacedCustomObject(cgArgs)) as Obj;
    expect(again.status).toEqual(status);
    expect(again.metadata!.finalizers).toEqual(['agent/f']);
    expect(again.metadata!.uid).toBe(cg.metadata!.uid);
    expect(((await api.getNamespacedCustomObject(scArgs)) as Obj).status).toEqual(heartbeat);
    expect(((await api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'resourcesummaries', name: 'drift-nginx' })) as Obj).status).toEqual({ resourcesChanged: true });
    const bundle = (await api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationbundles', name: 'config-nginx-b1' })) as Obj;
    expect(bundle.spec!.resources[0]).toContain('name: nginx');

    const changed = demoCluster('rke2', 'cluster01');
    changed.profiles[0]!.bundles['config-nginx-b1'] = ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nginx\n  namespace: default\ndata:\n  v: "2"\n'];
    await site.importTar(await site.pack(2, [changed]));
    await served.handler.reload();
    const updated = (await api.getNamespacedCustomObject(cgArgs)) as Obj;
    expect(updated.metadata!.generation).toBe(2);
    expect(updated.status).toEqual(status);
    expect(updated.metadata!.finalizers).toEqual(['agent/f']);
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(lastRV);
    const list = (await api.listNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups' })) as { metadata: { resourceVersion: string } };
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(lastRV);

    // After another restart, a watch from a version before it cannot be resumed: 410, and the client relists.
    await served.stop();
    served = await serveSite(site.store);
    api = customApi((await kubeconfigFor(site, 'rke2/cluster01', served)).path).api;
    await expect(api.listNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', watch: true, resourceVersion: String(lastRV) })).rejects.toMatchObject({ code: 410 });
    expect(((await api.getNamespacedCustomObject(cgArgs)) as Obj).metadata!.generation).toBe(2);
  });
});
