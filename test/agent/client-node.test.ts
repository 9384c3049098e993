// Conformance with @kubernetes/client-node: list, informer watch, replaceNamespacedCustomObjectStatus.
import { describe, expect, it, onTestFinished } from 'vitest';
import { demoCluster, groupNameOf, kubeconfigFor, makeSite, serveSite } from './fixtures.js';
import { customApi, LIB, startInformer, waitFor, type Obj } from './kube-client.js';

const groupOf = (profile: string) => groupNameOf('rke2/cluster01', profile);

const SELECTOR = 'pullmode.projectsveltos.io/clustername=cluster01';

async function setup() {
  const site = await makeSite();
  await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01')]));
  const served = await serveSite(site.store);
  const { path } = await kubeconfigFor(site, 'rke2/cluster01', served);
  return { site, served, ...customApi(path) };
}

describe('@kubernetes/client-node against the agent API', () => {
  it('lists groups with a label selector and pages with limit/continue', async () => {
    const { api } = await setup();
    const list = (await api.listNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', labelSelector: SELECTOR })) as { kind: string; items: Obj[]; metadata: { resourceVersion: string } };
    expect(list.kind).toBe('ConfigurationGroupList');
    expect(list.items.map((i) => i.metadata!.name)).toEqual([groupOf('kyverno'), groupOf('nginx')].sort());
    const page1 = (await api.listNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', limit: 1 })) as { items: Obj[]; metadata: { continue?: string; remainingItemCount?: number } };
    expect(page1.items).toHaveLength(1);
    expect(page1.metadata.remainingItemCount).toBe(1);
    const page2 = (await api.listNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', limit: 1, _continue: page1.metadata.continue! })) as { items: Obj[]; metadata: { continue?: string } };
    expect(page2.items.map((i) => i.metadata!.name)).toEqual([groupOf('nginx')]);
    expect(page2.metadata.continue).toBeUndefined();
  });

  it('keeps an informer in step with imports', async () => {
    const { site, served, kc, api } = await setup();
    const informer = await startInformer(kc, api, 'rke2', 'configurationgroups', SELECTOR);
    onTestFinished(() => informer.stop());
    await waitFor([informer], () => informer.list('rke2').length === 2, 'two groups in the informer');
    await site.importTar(await site.pack(2, [demoCluster('rke2', 'cluster01', ['nginx', 'cilium'])]));
    await served.handler.reload();
    const cilium = await waitFor([informer], () => informer.get(groupOf('cilium'), 'rke2'), 'the new group');
    expect(cilium.spec!.action).toBe('Deploy');
    const kyverno = await waitFor([informer], () => informer.get(groupOf('kyverno'), 'rke2')?.spec?.action === 'Remove' && informer.get(groupOf('kyverno'), 'rke2'), 'the Remove group');
    expect(kyverno.spec!.configurationItem).toBeUndefined();
    expect(kyverno.metadata!.generation).toBe(2);
  });

  it('replaces status with replaceNamespacedCustomObjectStatus; generation stays, resourceVersion moves, stale versions conflict', async () => {
    const { api } = await setup();
    const args = { ...LIB, namespace: 'rke2', plural: 'configurationgroups', name: groupOf('nginx') };
    const cg = (await api.getNamespacedCustomObject(args)) as Obj;
    const body = { ...cg, status: { status: 'Provisioned', observedGeneration: cg.metadata!.generation, lastAppliedTime: '2026-09-01T12:00:00Z' } };
    const written = (await api.replaceNamespacedCustomObjectStatus({ ...args, body })) as Obj;
    expect(written.status).toEqual(body.status);
    expect(written.metadata!.generation).toBe(cg.metadata!.generation);
    expect(written.metadata!.resourceVersion).not.toBe(cg.metadata!.resourceVersion);
    await expect(api.replaceNamespacedCustomObjectStatus({ ...args, body })).rejects.toMatchObject({ code: 409 });
    // Spec sent to /status is ignored; status sent to the main resource is ignored.
    const sneaky = { ...written, spec: { ...written.spec, action: 'Remove' }, status: { status: 'Failed' } };
    const viaStatus = (await api.replaceNamespacedCustomObjectStatus({ ...args, body: sneaky })) as Obj;
    expect(viaStatus.spec!.action).toBe('Deploy');
    expect(viaStatus.status!.status).toBe('Failed');
    const withFinalizer = { ...viaStatus, metadata: { ...viaStatus.metadata, finalizers: ['example.io/f'] }, status: { status: 'Provisioned' } };
    const viaMain = (await api.replaceNamespacedCustomObject({ ...args, body: withFinalizer })) as Obj;
    expect(viaMain.metadata!.finalizers).toEqual(['example.io/f']);
    expect(viaMain.status!.status).toBe('Failed');
    expect(viaMain.metadata!.generation).toBe(cg.metadata!.generation);
    // The imported spec cannot be changed by the agent.
    await expect(api.replaceNamespacedCustomObject({ ...args, body: { ...viaMain, spec: { ...viaMain.spec, tier: 1 } } })).rejects.toMatchObject({ code: 422 });
  });
});
