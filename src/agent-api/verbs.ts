// Kubernetes verb semantics over the ObjectStore: get, list, create, update, status update, patch,
// delete. resourceVersion and generation follow the API server: spec changes bump `generation`, status
// and metadata changes do not; a stale resourceVersion is a 409; finalizers hold a deletion.
import { randomUUID } from 'node:crypto';
import { canonicalJSON } from '../bundle/sign.js';
import type { Identity } from './authz.js';
import { canSee, foreignClusterLabel, notYours, CLUSTER_LABELS } from './authz.js';
import { entryKey, type Entry, type KubeObj, type ObjectMeta, type ObjectStore, type Tx } from './objects.js';
import { jsonPatch, mergePatch } from './patch.js';
import { apiVersionOf, CONFIGURATION_GROUPS, SVELTOS_CLUSTERS, type ResourceInfo } from './resources.js';
import type { FieldSelector, Selector } from './selector.js';
import { matchesFields, matchesLabels } from './selector.js';
import type { ApiFailure, ApiResult } from './status.js';
import { alreadyExists, badRequest, conflict, fail, invalid, notFound, ok } from './status.js';
import { isPlainObject } from '../model/json.js';

/** VerbContext is who is calling and the clock. */
export interface VerbContext {
  store: ObjectStore;
  who: Identity;
  now: () => Date;
}

/** Server-managed metadata: never taken from a request body. */
const SYSTEM_META = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'] as const;

/** FEATURE_STATUSES are the values of ConfigurationGroup status.status (sveltos-pullmode.md §2.1). */
export const FEATURE_STATUSES = ['Provisioning', 'Provisioned', 'Failed', 'FailedNonRetriable', 'Removing', 'AgentRemoving', 'Removed'];

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** specOf is everything but apiVersion, kind, metadata and status: what `generation` counts. */
export function specOf(obj: KubeObj): string {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = obj;
  return canonicalJSON(rest);
}

function timestamp(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

// checkBody validates the shape every write needs and returns the object.
function checkBody(r: ResourceInfo, body: unknown, namespace: string | undefined, urlName?: string): ApiResult<KubeObj> {
  const name = urlName ?? '';
  if (!isPlainObject(body)) return fail(badRequest(`the request body must be a JSON object (a ${r.kind})`));
  const causes: { field: string; message: string }[] = [];
  if (body.apiVersion !== apiVersionOf(r)) causes.push({ field: 'apiVersion', message: `expected ${apiVersionOf(r)}, found ${JSON.stringify(body.apiVersion)}` });
  if (body.kind !== r.kind) causes.push({ field: 'kind', message: `expected ${r.kind}, found ${JSON.stringify(body.kind)}` });
  if (!isPlainObject(body.metadata)) return fail(invalid(r, name, [...causes, { field: 'metadata', message: 'Required value' }]));
  const meta = body.metadata;
  if (urlName !== undefined && meta.name !== urlName) {
    return fail(badRequest(`the name of the object (${JSON.stringify(meta.name)}) does not match the name on the URL (${JSON.stringify(urlName)})`));
  }
  if (meta.namespace !== undefined && meta.namespace !== (namespace ?? '') && !(namespace === undefined && meta.namespace === '')) {
    return fail(badRequest(`the namespace of the provided object (${JSON.stringify(meta.namespace)}) does not match the namespace sent on the request (${JSON.stringify(namespace ?? '')})`));
  }
  for (const f of ['labels', 'annotations'] as const) {
    const m = meta[f];
    if (m !== undefined && (!isPlainObject(m) || Object.values(m).some((v) => typeof v !== 'string'))) causes.push({ field: `metadata.${f}`, message: 'expected a map of strings' });
  }
  if (meta.finalizers !== undefined && (!Array.isArray(meta.finalizers) || meta.finalizers.some((f) => typeof f !== 'string'))) {
    causes.push({ field: 'metadata.finalizers', message: 'expected a list of strings' });
  }
  if (body.status !== undefined && body.status !== null && !isPlainObject(body.status)) causes.push({ field: 'status', message: 'expected an object' });
  causes.push(...statusProblems(r, body.status));
  if (causes.length) return fail(invalid(r, typeof meta.name === 'string' ? meta.name : name, causes));
  return ok(structuredClone(body) as unknown as KubeObj);
}

// statusProblems checks the status fields the report and the management side read.
function statusProblems(r: ResourceInfo, status: unknown): { field: string; message: string }[] {
  if (r !== CONFIGURATION_GROUPS || !isPlainObject(status)) return [];
  const out: { field: string; message: string }[] = [];
  if (status.status !== undefined && !FEATURE_STATUSES.includes(status.status as string)) {
    out.push({ field: 'status.status', message: `Unsupported value: ${JSON.stringify(status.status)}: supported values: ${FEATURE_STATUSES.map((s) => `"${s}"`).join(', ')}` });
  }
  if (status.observedGeneration !== undefined && !Number.isSafeInteger(status.observedGeneration)) {
    out.push({ field: 'status.observedGeneration', message: 'expected an integer' });
  }
  return out;
}

function lookup(ctx: VerbContext, tx: Pick<Tx, 'get'> | ObjectStore, r: ResourceInfo, ns: string | undefined, name: string, verb: Parameters<typeof notYours>[1]): ApiResult<Entry> {
  const e = tx.get(entryKey(r, ns, name));
  if (!e) return fail(notFound(r, name));
  if (!canSee(ctx.who, e)) return fail(notYours(ctx.who, verb, r, name));
  return ok(e);
}

/** getObject reads one object. */
export function getObject(ctx: VerbContext, r: ResourceInfo, ns: string | undefined, name: string): ApiResult<Entry> {
  return lookup(ctx, ctx.store, r, ns, name, 'get');
}

export interface ListFilter {
  labels: Selector;
  fields: FieldSelector;
}

/** visible tells whether a watcher or lister with `filter` sees the entry. */
export function visible(ctx: Pick<VerbContext, 'who'>, e: Entry, filter: ListFilter): boolean {
  return canSee(ctx.who, e) && matchesLabels(filter.labels, e.object.metadata.labels) && matchesFields(filter.fields, e.object.metadata);
}

/** listObjects returns what the caller may see, filtered by the selectors. */
export function listObjects(ctx: VerbContext, r: ResourceInfo, ns: string | undefined, filter: ListFilter): Entry[] {
  // A cluster sees only its own objects: only those are looked at.
  return ctx.store.list(r, ns, ctx.who.kind === 'cluster' ? ctx.who.cluster : undefined).filter((e) => visible(ctx, e, filter));
}

// ownerFor decides whose token may touch a created object.
function ownerFor(ctx: VerbContext, r: ResourceInfo, obj: KubeObj): string | undefined {
  if (ctx.who.kind === 'cluster') return ctx.who.cluster;
  const ns = obj.metadata.namespace;
  if (!ns) return undefined;
  if (r === SVELTOS_CLUSTERS) return `${ns}/${obj.metadata.name}`;
  const labels = obj.metadata.labels ?? {};
  const label = CLUSTER_LABELS.find((k) => labels[k]);
  return label ? `${ns}/${labels[label]}` : undefined;
}

/** createObject creates an object (201); generateName is honoured. */
export function createObject(ctx: VerbContext, r: ResourceInfo, ns: string | undefined, body: unknown): Promise<ApiResult<Entry>> {
  const checked = checkBody(r, body, ns);
  if (!checked.ok) return Promise.resolve(checked);
  const obj = checked.value;
  const meta = obj.metadata;
  if (typeof meta.name !== 'string' || meta.name === '') {
    if (typeof meta.generateName === 'string' && meta.generateName !== '') meta.name = `${meta.generateName}${randomSuffix()}`;
    else return Promise.resolve(fail(invalid(r, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }])));
  }
  if (!DNS_SUBDOMAIN.test(meta.name)) {
    return Promise.resolve(fail(invalid(r, meta.name, [{ field: 'metadata.name', message: 'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\'' }])));
  }
  const foreign = foreignClusterLabel(ctx.who, meta.labels);
  if (foreign) return Promise.resolve(fail(notYours(ctx.who, 'create', r, meta.name)));
  return ctx.store.transact((tx) => {
    const key = entryKey(r, ns, meta.name);
    if (tx.get(key)) {
      const existing = tx.get(key)!;
      return fail(canSee(ctx.who, existing) ? alreadyExists(r, meta.name) : notYours(ctx.who, 'create', r, meta.name));
    }
    for (const f of SYSTEM_META) delete meta[f];
    const now = timestamp(ctx.now());
    // With a status subresource, create ignores status, as the API server does.
    if (r.statusSubresource) delete obj.status;
    const object: KubeObj = {
      ...obj,
      metadata: { ...meta, ...(ns ? { namespace: ns } : {}), uid: randomUUID(), generation: 1, creationTimestamp: now },
    };
    const owner = ownerFor(ctx, r, object);
    return ok(tx.put({ resource: r, object, origin: ctx.who.kind === 'cluster' ? 'agent' : 'api', ...(owner ? { owner } : {}) }));
  });
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

/** WriteMode says which part of the object a write may change. */
type WriteMode = 'main' | 'status';

/** updateObject replaces an object (PUT) or its status (PUT …/status). */
export function updateObject(ctx: VerbContext, r: ResourceInfo, ns: string | undefined, name: string, body: unknown, mode: WriteMode): Promise<ApiResult<Entry>> {
  const checked = checkBody(r, body, ns, name);
  if (!checked.ok) return Promise.resolve(checked);
  return ctx.store.transact((tx) => {
    const found = lookup(ctx, tx, r, ns, name, 'update');
    if (!found.ok) return found;
    return writeOver(ctx, tx, found.value, checked.value, mode);
  });
}

/** PatchType is the Content-Type of a PATCH request. */
export type PatchType = 'merge' | 'json';

/** patchObject patches an object or its status (merge patch or JSON patch). */
export function patchObject(ctx: VerbContext, r: ResourceInfo, ns: string | undefined, name: string, patch: unknown, type: PatchType, mode: WriteMode): Promise<ApiResult<Entry>> {
  return ctx.store.transact((tx) => {
    const found = lookup(ctx, tx, r, ns, name, 'patch');
    if (!found.ok) return found;
    const current = found.value.object;
    let patched: unknown;
    if (type === 'merge') {
      if (!isPlainObject(patch)) return fail(badRequest('merge patch: expected a JSON object'));
      patched = mergePatch(current, patch);
    } else {
      const res = jsonPatch(current, patch);
      if (!res.ok) return res;
      patched = res.value;
    }
    const checked = checkBody(r, patched, ns, name);
    if (!checked.ok) return checked;
    // A patch applies to the current version unless it names one itself.
    const patchRV = isPlainObject(patch) && isPlainObject(patch.metadata) ? patch.metadata.resourceVersion : undefined;
    if (patchRV === undefined) checked.value.metadata.resourceVersion = current.metadata.resourceVersion;
    return writeOver(ctx, tx, found.value, checked.value, mode);
  });
}

// writeOver computes the new version of `cur` from a request object and stages it.
function writeOver(ctx: VerbContext, tx: Tx, cur: Entry, req: KubeObj, mode: WriteMode): ApiResult<Entry> {
  const r = cur.resource;
  const name = cur.object.metadata.name;
  const rv = req.metadata.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== cur.object.metadata.resourceVersion) return fail(conflict(r, name));
  const old = cur.object;
  let next: KubeObj;
  if (mode === 'status') {
    // PUT …/status takes the status and ignores every other change.
    next = { ...old, status: req.status };
    if (req.status === undefined) delete next.status;
  } else {
    const meta: ObjectMeta = { ...req.metadata };
    for (const f of SYSTEM_META) {
      if (old.metadata[f] === undefined) delete meta[f];
      else meta[f] = old.metadata[f] as never;
    }
    meta.namespace = old.metadata.namespace;
    if (meta.namespace === undefined) delete meta.namespace;
    next = { ...req, metadata: meta };
    // With a status subresource the main resource ignores status changes.
    if (r.statusSubresource) {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
    const refused = refusedChange(ctx, cur, next);
    if (refused) return fail(refused);
    const finalizers = meta.finalizers ?? [];
    if (old.metadata.deletionTimestamp && finalizers.some((f) => !(old.metadata.finalizers ?? []).includes(f))) {
      return fail(invalid(r, name, [{ field: 'metadata.finalizers', message: 'Forbidden: no new finalizers can be added if the object is being deleted' }]));
    }
    if (finalizers.length === 0) delete meta.finalizers;
    if (specOf(next) !== specOf(old)) meta.generation = (old.metadata.generation ?? 1) + 1;
  }
  if (canonicalJSON({ ...next, metadata: { ...next.metadata, resourceVersion: '' } }) === canonicalJSON({ ...old, metadata: { ...old.metadata, resourceVersion: '' } })) {
    // A no-op write keeps the resourceVersion and sends no event, as the API server does.
    return ok(cur);
  }
  if (next.metadata.deletionTimestamp && !(next.metadata.finalizers?.length)) {
    tx.remove(entryKey(r, old.metadata.namespace, name));
    return ok({ ...cur, object: next });
  }
  return ok(tx.put({ ...cur, object: next }));
}

// refusedChange guards what a cluster's agent may change on objects that come from a signed bundle:
// metadata it manages (finalizers, annotations, its own labels), never the imported spec or scoping.
function refusedChange(ctx: VerbContext, cur: Entry, next: KubeObj): ApiFailure | undefined {
  const r = cur.resource;
  const name = cur.object.metadata.name;
  const foreign = foreignClusterLabel(ctx.who, next.metadata.labels);
  if (foreign) return invalid(r, name, [{ field: `metadata.labels[${foreign}]`, message: 'Forbidden: names another cluster' }]);
  if (ctx.who.kind !== 'cluster' || cur.origin !== 'bundle') return undefined;
  if (specOf(next) !== specOf(cur.object)) {
    return invalid(r, name, [{ field: 'spec', message: 'Forbidden: the spec comes from the imported bundle and cannot be changed through the agent API' }]);
  }
  const oldLabels = cur.object.metadata.labels ?? {};
  const newLabels = next.metadata.labels ?? {};
  for (const k of CLUSTER_LABELS) {
    if (oldLabels[k] !== newLabels[k]) return invalid(r, name, [{ field: `metadata.labels[${k}]`, message: 'Forbidden: the cluster label of an imported object cannot be changed' }]);
  }
  return undefined;
}

export interface DeleteOptions {
  /** Preconditions from DeleteOptions. */
  resourceVersion?: string;
  uid?: string;
}

/** deleteObject deletes an object, or marks it deleted while finalizers remain. */
export function deleteObject(ctx: VerbContext, r: ResourceInfo, ns: string | undefined, name: string, opts: DeleteOptions = {}): Promise<ApiResult<Entry>> {
  return ctx.store.transact((tx) => {
    const found = lookup(ctx, tx, r, ns, name, 'delete');
    if (!found.ok) return found;
    const cur = found.value;
    if (opts.uid !== undefined && opts.uid !== cur.object.metadata.uid) return fail(conflict(r, name, `Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${cur.object.metadata.uid}`));
    if (opts.resourceVersion !== undefined && opts.resourceVersion !== cur.object.metadata.resourceVersion) {
      return fail(conflict(r, name, `Precondition failed: ResourceVersion in precondition: ${opts.resourceVersion}, ResourceVersion in object meta: ${cur.object.metadata.resourceVersion}`));
    }
    return ok(stageDelete(tx, cur, ctx.now()));
  });
}

/** stageDelete removes an entry, or sets deletionTimestamp (and bumps generation) while finalizers hold it. */
export function stageDelete(tx: Tx, cur: Entry, now: Date): Entry {
  const meta = cur.object.metadata;
  if (meta.finalizers?.length) {
    if (meta.deletionTimestamp) return cur;
    return tx.put({ ...cur, object: { ...cur.object, metadata: { ...meta, deletionTimestamp: timestamp(now), deletionGracePeriodSeconds: 0, generation: (meta.generation ?? 1) + 1 } } });
  }
  tx.remove(entryKey(cur.resource, meta.namespace, meta.name));
  return cur;
}

export { timestamp };
