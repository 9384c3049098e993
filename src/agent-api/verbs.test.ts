import { describe, expect, it } from 'vitest';
import { clusterIdentity, MANAGEMENT } from './authz.js';
import { entryKey, ObjectStore, type KubeObj, type StoreEvent } from './objects.js';
import { CONFIGURATION_GROUPS, findResource } from './resources.js';
import { createObject, deleteObject, getObject, patchObject, updateObject, type VerbContext } from './verbs.js';

const CLUSTER_REPORT_FOR_TESTS = findResource('config.projectsveltos.io', 'v1beta1', 'clusterreports')!;
const now = () => new Date('2026-09-01T12:00:00Z');

function group(name: string, extra: Partial<KubeObj> = {}): KubeObj {
  return {
    apiVersion: 'lib.projectsveltos.io/v1beta1',
    kind: 'ConfigurationGroup',
    metadata: { name, namespace: 'ns', labels: { 'pullmode.projectsveltos.io/clustername': 'c1' } },
    spec: { action: 'Deploy', tier: 100 },
    ...extra,
  };
}

function setup() {
  const store = new ObjectStore({ historySize: 5 });
  const mgmt: VerbContext = { store, who: MANAGEMENT, now };
  const agent: VerbContext = { store, who: clusterIdentity('ns/c1'), now };
  return { store, mgmt, agent };
}

async function value<T>(p: Promise<{ ok: true; value: T } | { ok: false; failure: unknown }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(JSON.stringify(r.failure));
  return r.value;
}

describe('verb semantics', () => {
  it('bumps generation on spec changes only, and resourceVersion on every change', async () => {
    const { mgmt, agent } = setup();
    const created = await value(createObject(mgmt, CONFIGURATION_GROUPS, 'ns', group('g')));
    expect(created.object.metadata).toMatchObject({ generation: 1, resourceVersion: '1' });
    expect(created.owner).toBe('ns/c1');
    const status = await value(updateObject(agent, CONFIGURATION_GROUPS, 'ns', 'g', { ...created.object, status: { status: 'Provisioned', observedGeneration: 1 } }, 'status'));
    expect(status.object.metadata).toMatchObject({ generation: 1, resourceVersion: '2' });
    const spec = await value(updateObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'g', { ...status.object, spec: { action: 'Deploy', tier: 50 } }, 'main'));
    expect(spec.object.metadata).toMatchObject({ generation: 2, resourceVersion: '3' });
    expect(spec.object.status).toEqual({ status: 'Provisioned', observedGeneration: 1 });
    const labels = await value(updateObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'g', { ...spec.object, metadata: { ...spec.object.metadata, annotations: { a: 'b' } } }, 'main'));
    expect(labels.object.metadata).toMatchObject({ generation: 2, resourceVersion: '4' });
    // A write that changes nothing keeps the version.
    const same = await value(updateObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'g', labels.object, 'main'));
    expect(same.object.metadata.resourceVersion).toBe('4');
  });

  it('answers 409 for a stale resourceVersion and 404/409 for missing and duplicate names', async () => {
    const { mgmt } = setup();
    const created = await value(createObject(mgmt, CONFIGURATION_GROUPS, 'ns', group('g')));
    await value(updateObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'g', { ...created.object, spec: { action: 'Remove' } }, 'main'));
    expect(await updateObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'g', created.object, 'main')).toMatchObject({ ok: false, failure: { code: 409, reason: 'Conflict' } });
    expect(await createObject(mgmt, CONFIGURATION_GROUPS, 'ns', group('g'))).toMatchObject({ ok: false, failure: { code: 409, reason: 'AlreadyExists' } });
    expect(await updateObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'nope', group('nope'), 'main')).toMatchObject({ ok: false, failure: { code: 404, reason: 'NotFound' } });
    expect(getObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'nope')).toMatchObject({ ok: false, failure: { code: 404 } });
  });

  it('holds a deletion until the last finalizer is removed', async () => {
    const { mgmt, agent, store } = setup();
    const events: StoreEvent[] = [];
    store.watch({ resource: CONFIGURATION_GROUPS, send: (e) => events.push(e) });
    const created = await value(createObject(mgmt, CONFIGURATION_GROUPS, 'ns', group('g')));
    const held = await value(updateObject(agent, CONFIGURATION_GROUPS, 'ns', 'g', { ...created.object, metadata: { ...created.object.metadata, finalizers: ['agent/f'] } }, 'main'));
    const deleting = await value(deleteObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'g'));
    expect(deleting.object.metadata.deletionTimestamp).toBe('2026-09-01T12:00:00Z');
    expect(deleting.object.metadata.generation).toBe(2);
    expect(store.get(entryKey(CONFIGURATION_GROUPS, 'ns', 'g'))).toBeDefined();
    const refused = await updateObject(agent, CONFIGURATION_GROUPS, 'ns', 'g', { ...deleting.object, metadata: { ...deleting.object.metadata, finalizers: ['agent/f', 'other'] } }, 'main');
    expect(refused).toMatchObject({ ok: false, failure: { code: 422 } });
    await value(updateObject(agent, CONFIGURATION_GROUPS, 'ns', 'g', { ...deleting.object, metadata: { ...deleting.object.metadata, finalizers: [] } }, 'main'));
    expect(store.get(entryKey(CONFIGURATION_GROUPS, 'ns', 'g'))).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    expect(held.object.metadata.finalizers).toEqual(['agent/f']);
  });

  it('replays events after a resourceVersion and answers 410 Expired once the log has moved past it', async () => {
    const { mgmt, store } = setup();
    const created = await value(createObject(mgmt, CONFIGURATION_GROUPS, 'ns', group('g')));
    let cur = created.object;
    for (let i = 0; i < 3; i++) cur = (await value(updateObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'g', { ...cur, spec: { tier: i } }, 'main'))).object;
    const seen: number[] = [];
    const sub = store.watch({ resource: CONFIGURATION_GROUPS, send: (e) => seen.push(e.rv) }, 2);
    expect(sub.ok).toBe(true);
    expect(seen).toEqual([3, 4]);
    for (let i = 0; i < 6; i++) cur = (await value(updateObject(mgmt, CONFIGURATION_GROUPS, 'ns', 'g', { ...cur, spec: { tier: 10 + i } }, 'main'))).object;
    expect(store.watch({ resource: CONFIGURATION_GROUPS, send: () => undefined }, 2)).toMatchObject({ ok: false, failure: { code: 410, reason: 'Expired' } });
    expect(store.watch({ resource: CONFIGURATION_GROUPS, send: () => undefined }, 5).ok).toBe(true);
  });

  it('patches status with merge and JSON patches', async () => {
    const { mgmt, agent } = setup();
    const created = await value(createObject(agent, CLUSTER_REPORT_FOR_TESTS, 'ns', { apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'ClusterReport', metadata: { name: 'r' }, spec: { a: 1 } }));
    expect(created.owner).toBe('ns/c1');
    const merged = await value(patchObject(agent, CLUSTER_REPORT_FOR_TESTS, 'ns', 'r', { status: { phase: 'x', keep: 1 } }, 'merge', 'status'));
    expect(merged.object.status).toEqual({ phase: 'x', keep: 1 });
    const json = await value(patchObject(agent, CLUSTER_REPORT_FOR_TESTS, 'ns', 'r', [{ op: 'replace', path: '/status/phase', value: 'y' }, { op: 'remove', path: '/status/keep' }], 'json', 'status'));
    expect(json.object.status).toEqual({ phase: 'y' });
    expect(json.object.metadata.generation).toBe(1);
    expect(await patchObject(agent, CLUSTER_REPORT_FOR_TESTS, 'ns', 'r', [{ op: 'test', path: '/status/phase', value: 'z' }], 'json', 'status')).toMatchObject({ ok: false, failure: { code: 400 } });
    expect(getObject(mgmt, CLUSTER_REPORT_FOR_TESTS, 'ns', 'r').ok).toBe(true);
  });

  it('refuses an invalid group status', async () => {
    const { mgmt, agent } = setup();
    const created = await value(createObject(mgmt, CONFIGURATION_GROUPS, 'ns', group('g')));
    expect(await updateObject(agent, CONFIGURATION_GROUPS, 'ns', 'g', { ...created.object, status: { status: 'Done' } }, 'status')).toMatchObject({ ok: false, failure: { code: 422, reason: 'Invalid' } });
  });
});
