import { describe, expect, it } from 'vitest';
import { entryKey, ObjectStore, type KubeObj } from './objects.js';
import { reconcileCluster } from './reconcile.js';
import { CONFIGURATION_BUNDLES, CONFIGURATION_GROUPS, SVELTOS_CLUSTERS } from './resources.js';
import type { DesiredCluster, DesiredGroup } from './served.js';
import { ok } from './status.js';

const now = new Date('2026-09-01T12:00:00Z');
const labels = (cluster: string, requestor: string) => ({ 'pullmode.projectsveltos.io/clustername': cluster, 'pullmode.projectsveltos.io/requestorfeature': 'Resources', 'pullmode.projectsveltos.io/requestorkind': 'ClusterSummary', requestor });

function group(cluster: string, name: string, requestor: string, bundle: string): DesiredGroup {
  const meta = (n: string) => ({ name: n, namespace: 'ns', labels: labels(cluster, requestor), annotations: { 'pullmode.projectsveltos.io/requestorname': requestor } });
  return {
    group: { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationGroup', metadata: meta(name), spec: { action: 'Deploy', tier: 100, leavePolicies: true, configurationItem: [{ contentRef: { name: bundle } }] } },
    bundles: [{ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationBundle', metadata: meta(bundle), spec: { resources: [bundle] }, status: { hash: bundle } }],
    requestor: `ClusterSummary|${requestor}|Resources`,
    layer: `sha256:${name}`,
  };
}

function desired(cluster: string, groups: DesiredGroup[]): DesiredCluster {
  const sveltosCluster: KubeObj = { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: cluster, namespace: 'ns', labels: { env: 'prod' } }, spec: { pullMode: true } };
  return { cluster: `ns/${cluster}`, namespace: 'ns', name: cluster, manifest: { mediaType: 'x', digest: `sha256:${'0'.repeat(64)}`, size: 1 }, sveltosCluster, groups, warnings: [] };
}

async function reconcile(store: ObjectStore, d: DesiredCluster) {
  const res = await store.transact((tx) => ok(reconcileCluster(tx, d, now)));
  if (!res.ok) throw new Error('reconcile failed');
  return res.value;
}

const get = (store: ObjectStore, r: typeof CONFIGURATION_GROUPS, name: string) => store.get(entryKey(r, 'ns', name))?.object;

describe('reconcileCluster', () => {
  it('serves an import, is idempotent, and withdraws a dropped requestor through Remove', async () => {
    const store = new ObjectStore();
    const a = group('c1', 'g-a', 'a-sveltos-c1', 'b-a');
    const b = group('c1', 'g-b', 'b-sveltos-c1', 'b-b');
    expect((await reconcile(store, desired('c1', [a, b]))).changes).toBe(5);
    expect((await reconcile(store, desired('c1', [a, b]))).changes).toBe(0);
    expect(get(store, SVELTOS_CLUSTERS, 'c1')?.metadata.labels).toEqual({ env: 'prod' });

    await reconcile(store, desired('c1', [a]));
    const removing = get(store, CONFIGURATION_GROUPS, 'g-b')!;
    expect(removing.spec).toEqual({ action: 'Remove', updatePhase: 'Ready', tier: 100, leavePolicies: true });
    expect(removing.metadata.generation).toBe(2);
    expect(get(store, CONFIGURATION_BUNDLES, 'b-b')).toBeUndefined();
    // Not yet Removed for this generation: nothing happens.
    const key = entryKey(CONFIGURATION_GROUPS, 'ns', 'g-b');
    await store.transact((tx) => ok(tx.put({ ...tx.get(key)!, object: { ...removing, status: { status: 'Removed', observedGeneration: 1 } } })));
    expect((await reconcile(store, desired('c1', [a]))).changes).toBe(0);
    await store.transact((tx) => ok(tx.put({ ...tx.get(key)!, object: { ...removing, status: { status: 'Removed', observedGeneration: 2 } } })));
    expect((await reconcile(store, desired('c1', [a]))).changes).toBe(1);
    expect(get(store, CONFIGURATION_GROUPS, 'g-b')).toBeUndefined();
  });

  it('deletes a group replaced by another of the same requestor, and bumps generation on spec changes only', async () => {
    const store = new ObjectStore();
    await reconcile(store, desired('c1', [group('c1', 'g-old', 'a-sveltos-c1', 'b-1')]));
    const renamed = group('c1', 'g-new', 'a-sveltos-c1', 'b-2');
    await reconcile(store, desired('c1', [renamed]));
    expect(get(store, CONFIGURATION_GROUPS, 'g-old')).toBeUndefined();
    const relabelled = { ...renamed, group: { ...renamed.group, metadata: { ...renamed.group.metadata, labels: { ...renamed.group.metadata.labels, extra: 'x' } } } };
    await reconcile(store, desired('c1', [relabelled]));
    expect(get(store, CONFIGURATION_GROUPS, 'g-new')?.metadata).toMatchObject({ generation: 1, labels: { extra: 'x' } });
    const respecced = { ...relabelled, group: { ...relabelled.group, spec: { action: 'Deploy', tier: 50 } } };
    await reconcile(store, desired('c1', [respecced]));
    expect(get(store, CONFIGURATION_GROUPS, 'g-new')?.metadata.generation).toBe(2);
  });

  it('reports a name another cluster of the namespace already uses', async () => {
    const store = new ObjectStore();
    await reconcile(store, desired('c1', [group('c1', 'g', 'a-sveltos-c1', 'b-1')]));
    const res = await reconcile(store, desired('c2', [group('c2', 'g', 'a-sveltos-c2', 'b-2')]));
    expect(res.conflicts).toEqual(['ConfigurationGroup ns/g of cluster ns/c2 is not served: the name is taken by cluster ns/c1']);
    expect(store.get(entryKey(CONFIGURATION_GROUPS, 'ns', 'g'))?.owner).toBe('ns/c1');
  });
});
