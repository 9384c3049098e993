// `import --apply --kubeconfig`: write what serve would serve into a real Kubernetes API server (with
// the Sveltos CRDs), so a large site's agents watch their own API servers. Writes use the API's
// optimistic concurrency (read, write with resourceVersion, re-read and retry on 409); stale groups go
// through the same removal protocol as in serve: Remove first, deleted once the agent reports Removed
// (re-run apply to finish removals). Only objects this tool manages are ever changed or deleted.
import type { KeyObject } from 'node:crypto';
import { failure, type KubeClient, type KubeResponse } from '../kube/client.js';
import type { KubeObj } from './objects.js';
import { isRemoved, removeSpec } from './reconcile.js';
import { apiVersionOf, CONFIGURATION_BUNDLES, CONFIGURATION_GROUPS, SVELTOS_CLUSTERS, type ResourceInfo } from './resources.js';
import type { SiteView } from '../bundle/site.js';
import { readDesiredCluster, requestorOf, type DesiredCluster } from './served.js';
import { specOf } from './verbs.js';

/** MANAGED_BY marks the objects apply writes; it never touches others. */
export const MANAGED_BY = { key: 'app.kubernetes.io/managed-by', value: 'sveltos-airgap' } as const;
const MAX_CONFLICT_RETRIES = 5;

export interface ApplyResult {
  cluster: string;
  created: string[];
  updated: string[];
  removing: string[];
  deleted: string[];
}

const path = (r: ResourceInfo, ns: string, name?: string, sub?: string) => `/apis/${r.group}/${r.version}/namespaces/${ns}/${r.plural}${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
const label = (r: ResourceInfo, name: string) => `${r.singular}/${name}`;

function managed(obj: KubeObj): KubeObj {
  return { ...obj, metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, [MANAGED_BY.key]: MANAGED_BY.value } } };
}

const same = (a: KubeObj, b: KubeObj) =>
  specOf(a) === specOf(b) && JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {}) && JSON.stringify(a.metadata.annotations ?? {}) === JSON.stringify(b.metadata.annotations ?? {});

// upsert creates `want` or updates the live object's spec, labels and annotations to it (status is left alone).
async function upsert(client: KubeClient, r: ResourceInfo, want: KubeObj, res: ApplyResult): Promise<void> {
  const ns = want.metadata.namespace!;
  const name = want.metadata.name;
  for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
    const cur = await client.request<KubeObj>('GET', path(r, ns, name));
    if (cur.status === 404) {
      const { status, ...body } = want;
      const created = await client.request<KubeObj>('POST', path(r, ns), { ...body, apiVersion: apiVersionOf(r), kind: r.kind });
      if (created.status === 409) continue;
      if (created.status !== 201 && created.status !== 200) throw failure(created as KubeResponse, `create ${label(r, name)}`);
      // With a status subresource, create ignores status: a bundle's content hash is written after.
      if (status !== undefined && r === CONFIGURATION_BUNDLES) await writeStatus(client, r, created.body, status);
      res.created.push(label(r, name));
      return;
    }
    if (cur.status !== 200) throw failure(cur as KubeResponse, `get ${label(r, name)}`);
    const live = cur.body;
    if (live.metadata.labels?.[MANAGED_BY.key] !== MANAGED_BY.value && r !== SVELTOS_CLUSTERS) {
      throw failure({ status: 409, body: { message: `exists and is not managed by sveltos-airgap (label ${MANAGED_BY.key})` } }, `update ${label(r, name)}`);
    }
    const next: KubeObj = {
      ...live,
      ...Object.fromEntries(Object.entries(want).filter(([k]) => k !== 'metadata' && k !== 'status')),
      metadata: { ...live.metadata, labels: { ...live.metadata.labels, ...want.metadata.labels }, annotations: { ...live.metadata.annotations, ...want.metadata.annotations } },
    };
    if (!Object.keys(next.metadata.annotations!).length) delete next.metadata.annotations;
    if (!same(next, live)) {
      const put = await client.request<KubeObj>('PUT', path(r, ns, name), next);
      if (put.status === 409) continue;
      if (put.status !== 200) throw failure(put as KubeResponse, `update ${label(r, name)}`);
      res.updated.push(label(r, name));
    }
    if (r === CONFIGURATION_BUNDLES && want.status !== undefined && JSON.stringify(live.status) !== JSON.stringify(want.status)) await writeStatus(client, r, live, want.status);
    return;
  }
  throw failure({ status: 409, body: { message: `still conflicting after ${MAX_CONFLICT_RETRIES} retries` } }, `update ${label(r, name)}`);
}

async function writeStatus(client: KubeClient, r: ResourceInfo, live: KubeObj, status: unknown): Promise<void> {
  for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
    const cur = attempt === 0 ? live : (await client.request<KubeObj>('GET', path(r, live.metadata.namespace!, live.metadata.name))).body;
    const put = await client.request('PUT', path(r, cur.metadata.namespace!, cur.metadata.name, 'status'), { ...cur, status });
    if (put.status === 200) return;
    if (put.status !== 409) throw failure(put, `update ${label(r, cur.metadata.name)} status`);
  }
}

async function remove(client: KubeClient, r: ResourceInfo, obj: KubeObj, res: ApplyResult): Promise<void> {
  const del = await client.request('DELETE', path(r, obj.metadata.namespace!, obj.metadata.name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: obj.metadata.uid } });
  if (del.status !== 200 && del.status !== 202 && del.status !== 404) throw failure(del, `delete ${label(r, obj.metadata.name)}`);
  res.deleted.push(label(r, obj.metadata.name));
}

async function listManaged(client: KubeClient, r: ResourceInfo, d: DesiredCluster): Promise<KubeObj[]> {
  const selector = encodeURIComponent(`pullmode.projectsveltos.io/clustername=${d.name},${MANAGED_BY.key}=${MANAGED_BY.value}`);
  const res = await client.request<{ items: KubeObj[] }>('GET', `${path(r, d.namespace)}?labelSelector=${selector}`);
  if (res.status !== 200) throw failure(res as KubeResponse, `list ${r.plural} in ${d.namespace}`);
  return res.body.items ?? [];
}

/** applyCluster makes the API server hold `d`'s objects; one step of removal per stale group per run. */
export async function applyCluster(client: KubeClient, d: DesiredCluster): Promise<ApplyResult> {
  const res: ApplyResult = { cluster: d.cluster, created: [], updated: [], removing: [], deleted: [] };
  await upsert(client, SVELTOS_CLUSTERS, managed(d.sveltosCluster), res);
  const wantGroups = new Set<string>();
  const wantBundles = new Set<string>();
  const requestors = new Set<string>();
  for (const g of d.groups) {
    // Bundles first: a group the agent sees has its content in place.
    for (const b of g.bundles) {
      wantBundles.add(b.metadata.name);
      await upsert(client, CONFIGURATION_BUNDLES, managed(b), res);
    }
    wantGroups.add(g.group.metadata.name);
    requestors.add(g.requestor);
    await upsert(client, CONFIGURATION_GROUPS, managed(g.group), res);
  }
  for (const g of await listManaged(client, CONFIGURATION_GROUPS, d)) {
    if (wantGroups.has(g.metadata.name) || g.metadata.deletionTimestamp) continue;
    const action = (g.spec as { action?: string } | undefined)?.action;
    if (requestors.has(requestorOf(g)) || (action === 'Remove' && isRemoved(g))) {
      await remove(client, CONFIGURATION_GROUPS, g, res);
    } else if (action !== 'Remove') {
      const put = await client.request('PUT', path(CONFIGURATION_GROUPS, d.namespace, g.metadata.name), { ...g, spec: removeSpec(g.spec) });
      if (put.status === 409) continue; // changed meanwhile: the next run looks again
      if (put.status !== 200) throw failure(put, `update ${label(CONFIGURATION_GROUPS, g.metadata.name)} to Remove`);
      res.removing.push(label(CONFIGURATION_GROUPS, g.metadata.name));
    } else res.removing.push(label(CONFIGURATION_GROUPS, g.metadata.name));
  }
  for (const b of await listManaged(client, CONFIGURATION_BUNDLES, d)) {
    if (!wantBundles.has(b.metadata.name) && !b.metadata.deletionTimestamp) await remove(client, CONFIGURATION_BUNDLES, b, res);
  }
  return res;
}

/** applyStore applies the current import of each cluster of the store (or of `clusters` only). */
export async function applyStore(view: SiteView, client: KubeClient, clusters?: string[], warn?: (message: string) => void, siteKeys: KeyObject[] = []): Promise<ApplyResult[]> {
  const out: ApplyResult[] = [];
  for (const [cluster, st] of Object.entries(view.state.clusters).sort(([a], [b]) => a.localeCompare(b))) {
    if (clusters && !clusters.includes(cluster)) continue;
    const d = await readDesiredCluster(view, cluster, st.manifest, new Map(), siteKeys);
    for (const w of d.warnings) warn?.(w);
    out.push(await applyCluster(client, d));
  }
  return out;
}
