// Bringing the served objects of a cluster in line with its current import, as the management side of
// pull mode would (sveltos-pullmode.md §2.5): new and changed groups and bundles are written; a group
// whose requestor is gone goes through removal (action Remove, no items, deleted once the agent reports
// Removed); a group replaced by another of the same requestor is deleted. Finalizers hold deletions.
import { randomUUID } from 'node:crypto';
import { canonicalJSON } from '../bundle/sign.js';
import { sha256 } from '../content/digest.js';
import { entryKey, type Entry, type KubeObj, type Tx } from './objects.js';
import { CONFIGURATION_BUNDLES, CONFIGURATION_GROUPS, SVELTOS_CLUSTERS, type ResourceInfo } from './resources.js';
import type { DesiredCluster } from './served.js';
import { requestorOf } from './served.js';
import { specOf, stageDelete, timestamp } from './verbs.js';

/** Spec fields a Remove group keeps from the group it replaces: what the agent needs to undeploy. */
const KEPT_ON_REMOVE = [
  'sourceRef',
  'sourceStatus',
  'tier',
  'leavePolicies',
  'preDeleteChecks',
  'preDeleteCheckJobs',
  'postDeleteChecks',
  'postDeleteCheckJobs',
  'serviceAccountName',
  'serviceAccountNamespace',
  'requestorHash',
  'deployedGroupVersionKind',
  'dryRun',
];

const hashes = new WeakMap<KubeObj, string>();

/** importedHash fingerprints what an import says about an object (everything but server metadata). */
export function importedHash(obj: KubeObj): string {
  let h = hashes.get(obj);
  if (h === undefined) {
    const { metadata, ...rest } = obj;
    h = sha256(canonicalJSON({ rest, labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} }));
    hashes.set(obj, h);
  }
  return h;
}

/** removeSpec is the spec of the Remove group that withdraws `spec`'s deployment. */
export function removeSpec(spec: unknown): Record<string, unknown> {
  const old = typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const k of KEPT_ON_REMOVE) if (old[k] !== undefined) out[k] = old[k];
  return { ...out, action: 'Remove', updatePhase: 'Ready' };
}

/** isRemoved tells whether the agent reported a Remove group done for its current generation. */
export function isRemoved(obj: KubeObj): boolean {
  const status = obj.status as { status?: unknown; observedGeneration?: unknown } | undefined;
  if (status?.status !== 'Removed') return false;
  const observed = Number(status.observedGeneration ?? 0);
  return observed === 0 || observed === obj.metadata.generation;
}

// putImported creates or updates one imported object; returns true when something was staged. An object
// of the same name that another cluster (or a client) owns is left alone and reported in `conflicts`.
function putImported(tx: Tx, r: ResourceInfo, owner: string, desired: KubeObj, now: Date, conflicts: string[]): boolean {
  const key = entryKey(r, desired.metadata.namespace, desired.metadata.name);
  const hash = importedHash(desired);
  const cur = tx.get(key);
  if (!cur) {
    const object: KubeObj = {
      ...desired,
      metadata: { ...desired.metadata, uid: randomUUID(), generation: 1, creationTimestamp: timestamp(now) },
    };
    tx.put({ resource: r, object, owner, origin: 'bundle', specHash: hash });
    return true;
  }
  if (cur.origin !== 'bundle' || cur.owner !== owner) {
    conflicts.push(`${r.kind} ${desired.metadata.namespace}/${desired.metadata.name} of cluster ${owner} is not served: the name is taken by ${cur.owner ? `cluster ${cur.owner}` : 'another client'}`);
    return false;
  }
  if (cur.specHash === hash || cur.object.metadata.deletionTimestamp) return false;
  const old = cur.object;
  const next: KubeObj = {
    ...desired,
    metadata: {
      ...old.metadata,
      labels: { ...old.metadata.labels, ...desired.metadata.labels },
      annotations: { ...old.metadata.annotations, ...desired.metadata.annotations },
    },
  };
  if (!Object.keys(next.metadata.annotations!).length) delete next.metadata.annotations;
  // What the agent wrote stays: a group's status; the SveltosCluster's status (heartbeat).
  if (r !== CONFIGURATION_BUNDLES && old.status !== undefined) next.status = old.status;
  if (specOf(next) !== specOf(old)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
  tx.put({ ...cur, object: next, specHash: hash });
  return true;
}

/**
 * reconcileCluster stages the writes that make the served objects of `desired.cluster` match its import.
 * Returns how many objects were written or deleted, and the names that could not be served. Idempotent:
 * a second call stages nothing.
 */
export function reconcileCluster(tx: Tx, desired: DesiredCluster, now: Date): { changes: number; conflicts: string[] } {
  const owner = desired.cluster;
  const conflicts: string[] = [];
  let changes = 0;
  if (putImported(tx, SVELTOS_CLUSTERS, owner, desired.sveltosCluster, now, conflicts)) changes++;
  const wantGroups = new Set<string>();
  const wantBundles = new Set<string>();
  const requestors = new Set<string>();
  for (const g of desired.groups) {
    wantGroups.add(g.group.metadata.name);
    requestors.add(g.requestor);
    if (putImported(tx, CONFIGURATION_GROUPS, owner, g.group, now, conflicts)) changes++;
    for (const b of g.bundles) {
      wantBundles.add(b.metadata.name);
      if (putImported(tx, CONFIGURATION_BUNDLES, owner, b, now, conflicts)) changes++;
    }
  }
  for (const e of tx.owned(owner)) {
    if (e.origin !== 'bundle' || e.object.metadata.deletionTimestamp) continue;
    const name = e.object.metadata.name;
    if (e.resource === CONFIGURATION_BUNDLES && !wantBundles.has(name)) {
      stageDelete(tx, e, now);
      changes++;
    } else if (e.resource === CONFIGURATION_GROUPS && !wantGroups.has(name)) {
      if (withdrawGroup(tx, e, requestors.has(requestorOf(e.object)), now)) changes++;
    }
  }
  return { changes, conflicts };
}

// withdrawGroup moves a group that is no longer imported one step along the removal protocol.
function withdrawGroup(tx: Tx, e: Entry, replaced: boolean, now: Date): boolean {
  const spec = e.object.spec as { action?: unknown } | undefined;
  if (replaced || (spec?.action === 'Remove' && isRemoved(e.object))) {
    stageDelete(tx, e, now);
    return true;
  }
  if (spec?.action === 'Remove') return false;
  const object: KubeObj = {
    ...e.object,
    spec: removeSpec(e.object.spec),
    metadata: { ...e.object.metadata, generation: (e.object.metadata.generation ?? 1) + 1 },
  };
  tx.put({ ...e, object, specHash: importedHash(object) });
  return true;
}
