// The agent API: a Kubernetes-API-compatible subset (DESIGN.md §6) mounted next to the registry.
// Discovery, namespaced get/list/watch with selectors, create/update/status/patch/delete as the Role
// grants, Kubernetes `Status` bodies for every refusal, JSON only (a protobuf-only Accept gets 406).
// Reference: https://kubernetes.io/docs/reference/using-api/api-concepts/ (v1.32)
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Identity } from './authz.js';
import { authorize, grantedVerbs } from './authz.js';
import type { Entry, KubeObj, ObjectStore, StoreEvent } from './objects.js';
import { entryKey } from './objects.js';
import { API_GROUPS, API_VERSION, apiVersionOf, findResource, RESOURCES, type ResourceInfo, type Verb } from './resources.js';
import { groupVersionDocument, openapiRoot } from './openapi.js';
import { parseFieldSelector, parseLabelSelector } from './selector.js';
import type { ApiFailure, ApiResult } from './status.js';
import { badRequest, expired, statusBody } from './status.js';
import type { ListFilter, PatchType, VerbContext } from './verbs.js';
import { createObject, deleteObject, getObject, listObjects, patchObject, updateObject, visible } from './verbs.js';
import type { PartialHandler, Reply } from '../registry/server/handler.js';

/** The Kubernetes version the API reports (kubectl warns beyond one minor version of skew). */
export const EMULATED_KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0+sveltos-airgap' };

/** Authentication outcome: an identity, no credentials, or credentials nobody issued. */
export type AuthResult = Identity | 'anonymous' | 'invalid';

export interface AgentApiRoutesOptions {
  store: ObjectStore;
  authenticate: (req: IncomingMessage, route: Route) => Promise<AuthResult>;
  now?: () => Date;
  /** Called with every unexpected error turned into a 500 Status (for logging). */
  onInternalError?: (error: unknown, req: IncomingMessage) => void;
  /** Called after every committed write, with the written entry. */
  afterWrite?: (entry: Entry, who: Identity) => void;
  /** Interval of BOOKMARK events on watches that allow them. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** Largest request body. Default 3 MiB (the API server's limit). */
  maxBodyBytes?: number;
  /** Longest watch before the server ends it (the client re-watches). Default 1800 s. */
  maxWatchSeconds?: number;
  /** A watch whose client reads slower than this many buffered bytes is closed. Default 32 MiB. */
  maxWatchBufferBytes?: number;
}

const JSON_TYPE = 'application/json';
const TABLE_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const DEFAULT_MAX_BODY = 3 * 1024 * 1024;

function jsonReply(status: number, body: unknown, contentType = JSON_TYPE, headers: Record<string, string> = {}): Reply {
  const buf = Buffer.from(JSON.stringify(body));
  return { status, headers: { 'Content-Type': contentType, 'Content-Length': String(buf.length), 'Cache-Control': 'no-cache, private', ...headers }, body: buf };
}

/** failureReply writes a Kubernetes Status body. */
export function failureReply(f: ApiFailure, headers: Record<string, string> = {}): Reply {
  return jsonReply(f.code, statusBody(f), JSON_TYPE, headers);
}

const unauthorized = (): Reply => failureReply({ code: 401, reason: 'Unauthorized', message: 'Unauthorized' });
const methodNotAllowed = (method: string, path: string): Reply =>
  failureReply({ code: 405, reason: 'MethodNotAllowed', message: `the server does not allow this method on the requested resource: ${method} ${path.slice(0, 200)}` });

type Format = 'json' | 'table';

/** negotiate picks JSON or a Table from the Accept header; undefined when the client accepts neither. */
export function negotiate(accept: string | undefined, tableAllowed: boolean): Format | undefined {
  if (!accept || accept.trim() === '') return 'json';
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const p = Object.fromEntries(params.map((x) => x.split('=').map((s) => s.trim()) as [string, string]));
    if (p.q === '0') continue;
    const t = (type ?? '').toLowerCase();
    if (t === '*/*' || t === 'application/*') return 'json';
    if (t !== JSON_TYPE) continue;
    if (p.as === undefined) return 'json';
    if (tableAllowed && p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) return 'table';
  }
  return undefined;
}

function notAcceptable(accept: string): Reply {
  return failureReply({ code: 406, reason: 'NotAcceptable', message: `only the following media types are accepted: application/json (requested ${JSON.stringify(accept.slice(0, 200))})` });
}

// ---- Tables (kubectl's default output) ----

const COLUMNS = [
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp of the object.', priority: 0 },
];

/** humanAge renders an age like kubectl does: 45s, 12m, 5h, 3d. */
export function humanAge(since: string | undefined, now: Date): string {
  const t = since ? Date.parse(since) : NaN;
  if (Number.isNaN(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function tableOf(entries: KubeObj[], resourceVersion: string, now: Date, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion, ...extra },
    columnDefinitions: COLUMNS,
    rows: entries.map((o) => ({ cells: [o.metadata.name, humanAge(o.metadata.creationTimestamp, now)], object: o })),
  };
}

// ---- routing ----

/** Route is what a request path asks for. */
export type Route =
  | { kind: 'version' | 'health' | 'api' | 'apiv1' | 'apis' | 'openapi' }
  | { kind: 'group'; group: string }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'resource'; group: string; version: string; plural: string; namespace?: string; name?: string; subresource?: string }
  | { kind: 'unknown' };

/** parseApiPath maps a URL path to an agent API route, or undefined for paths that are not the API's. */
export function parseApiPath(path: string): Route | undefined {
  if (path === '/version' || path === '/version/') return { kind: 'version' };
  if (/^\/(healthz|livez|readyz)(\/.*)?$/.test(path)) return { kind: 'health' };
  if (path === '/openapi' || path.startsWith('/openapi/')) return { kind: 'openapi' };
  if (path === '/api' || path === '/api/') return { kind: 'api' };
  if (path === '/api/v1' || path === '/api/v1/') return { kind: 'apiv1' };
  if (path.startsWith('/api/')) return { kind: 'unknown' };
  if (path === '/apis' || path === '/apis/') return { kind: 'apis' };
  if (!path.startsWith('/apis/')) return undefined;
  const seg = path.slice('/apis/'.length).replace(/\/$/, '').split('/').map((s) => decodeURIComponent(s));
  if (seg.some((s) => s === '')) return { kind: 'unknown' };
  const [group, version, ...rest] = seg as [string, string | undefined, ...string[]];
  if (version === undefined) return { kind: 'group', group };
  if (rest.length === 0) return { kind: 'groupVersion', group, version };
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const [, namespace, plural, name, subresource, ...more] = rest;
    if (more.length) return { kind: 'unknown' };
    return { kind: 'resource', group, version, plural: plural!, namespace: namespace!, ...(name ? { name } : {}), ...(subresource ? { subresource } : {}) };
  }
  const [plural, name, subresource, ...more] = rest;
  if (more.length) return { kind: 'unknown' };
  return { kind: 'resource', group, version, plural: plural!, ...(name ? { name } : {}), ...(subresource ? { subresource } : {}) };
}

function discoveryGroup(group: string) {
  const gv = { groupVersion: `${group}/${API_VERSION}`, version: API_VERSION };
  return { name: group, versions: [gv], preferredVersion: gv };
}

function resourceList(who: Identity, group: string): Record<string, unknown> {
  const resources: Record<string, unknown>[] = [];
  for (const r of RESOURCES.filter((x) => x.group === group)) {
    resources.push({ name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: [...grantedVerbs(who, r)], storageVersionHash: '' });
    if (r.statusSubresource) resources.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: [...grantedVerbs(who, r, 'status')] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${API_VERSION}`, resources };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return 'too-large';
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** createAgentApiRoutes serves the agent API from `opts.store`. */
export function createAgentApiRoutes(opts: AgentApiRoutesOptions): PartialHandler {
  const now = opts.now ?? (() => new Date());
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const bookmarkMs = opts.bookmarkIntervalMs ?? 60_000;
  const maxWatchSeconds = opts.maxWatchSeconds ?? 1800;
  const maxWatchBuffer = opts.maxWatchBufferBytes ?? 32 * 1024 * 1024;
  const store = opts.store;

  const parseJSONBody = async (req: IncomingMessage): Promise<ApiResult<unknown> | Reply> => {
    const body = await readBody(req, maxBody);
    if (body === 'too-large') return failureReply({ code: 413, reason: 'RequestEntityTooLarge', message: `the request body is larger than ${maxBody} bytes` });
    try {
      return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
    } catch (e) {
      return { ok: false, failure: badRequest(`the request body is not valid JSON: ${(e as Error).message}`) };
    }
  };

  const objectReply = (res: ApiResult<Entry>, status: number, format: Format): Reply => {
    if (!res.ok) return failureReply(res.failure);
    const o = res.value.object;
    return format === 'table' ? jsonReply(status, tableOf([o], o.metadata.resourceVersion ?? '', now()), TABLE_TYPE) : jsonReply(status, o);
  };

  const list = (ctx: VerbContext, r: ResourceInfo, ns: string | undefined, q: URLSearchParams, filter: ListFilter, format: Format): Reply => {
    const rvMatch = q.get('resourceVersionMatch');
    const rvParam = q.get('resourceVersion');
    if (rvMatch === 'Exact' && rvParam !== String(store.resourceVersion)) {
      return failureReply(expired(`too old resource version: ${rvParam} (${store.resourceVersion}): only the latest version can be listed exactly`));
    }
    let items = listObjects(ctx, r, ns, filter);
    const rv = String(store.resourceVersion);
    const meta: Record<string, unknown> = { resourceVersion: rv };
    const cont = q.get('continue');
    if (cont) {
      let after: string;
      try {
        after = String((JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { k: unknown }).k);
      } catch {
        return failureReply(badRequest('continue: not a token this server issued'));
      }
      items = items.filter((e) => entryKey(e.resource, e.object.metadata.namespace, e.object.metadata.name) > after);
    }
    const limitText = q.get('limit');
    const limit = limitText && /^\d+$/.test(limitText) ? Number(limitText) : 0;
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1]!;
      meta.continue = Buffer.from(JSON.stringify({ k: entryKey(last.resource, last.object.metadata.namespace, last.object.metadata.name) })).toString('base64url');
      meta.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    const objs = items.map((e) => e.object);
    if (format === 'table') return jsonReply(200, tableOf(objs, rv, now(), meta.continue ? { continue: meta.continue } : {}), TABLE_TYPE);
    return jsonReply(200, { apiVersion: apiVersionOf(r), kind: `${r.kind}List`, metadata: meta, items: objs });
  };

  const watch = (ctx: VerbContext, r: ResourceInfo, ns: string | undefined, q: URLSearchParams, filter: ListFilter, format: Format): Reply => {
    const rvParam = q.get('resourceVersion');
    const from = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (from !== undefined && !Number.isSafeInteger(from)) return failureReply(badRequest(`resourceVersion: ${JSON.stringify(rvParam)} is not a version this server issued`));
    // A watch lasts no longer than its token: revoking it ends the stream, and the client's next request gets 401.
    const revoked = ctx.who.kind === 'cluster' ? ctx.who.revoked : undefined;
    if (revoked?.aborted) return unauthorized();
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const initial = q.get('sendInitialEvents') === 'true';
    const timeoutText = q.get('timeoutSeconds');
    const seconds = Math.min(timeoutText && /^\d+$/.test(timeoutText) && Number(timeoutText) > 0 ? Number(timeoutText) : maxWatchSeconds, maxWatchSeconds);
    const out = new PassThrough({ highWaterMark: 64 * 1024 });
    const inNamespace = (e: Entry) => ns === undefined || e.object.metadata.namespace === ns;
    const sees = (e: Entry) => inNamespace(e) && visible(ctx, e, filter);
    const write = (type: string, o: unknown) => {
      if (out.destroyed) return;
      const obj = format === 'table' && type !== 'BOOKMARK' && type !== 'ERROR' ? tableOf([o as KubeObj], (o as KubeObj).metadata.resourceVersion ?? '', now()) : o;
      out.write(`${JSON.stringify({ type, object: obj })}\n`);
      // A client that does not keep up is dropped; it re-watches from its last version or relists.
      if (out.writableLength > maxWatchBuffer) out.destroy();
    };
    const bookmark = (annotations?: Record<string, string>) =>
      write('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(store.resourceVersion), ...(annotations ? { annotations } : {}) } });
    const send = (ev: StoreEvent) => {
      if (from !== undefined && ev.rv <= from) return;
      const now = sees(ev.entry);
      const before = ev.prev ? sees(ev.prev) : false;
      if (ev.type === 'DELETED') {
        if (now) write('DELETED', ev.entry.object);
      } else if (ev.type === 'ADDED') {
        if (now) write('ADDED', ev.entry.object);
      } else if (now) write(before ? 'MODIFIED' : 'ADDED', ev.entry.object);
      else if (before) write('DELETED', { ...ev.prev!.object, metadata: { ...ev.prev!.object.metadata, resourceVersion: String(ev.rv) } });
    };
    if (from === undefined) for (const e of listObjects(ctx, r, ns, filter)) write('ADDED', e.object);
    const sub = store.watch({ resource: r, send }, from);
    if (!sub.ok) {
      out.destroy();
      return failureReply(sub.failure);
    }
    if (initial) bookmark({ 'k8s.io/initial-events-end': 'true' });
    const end = () => out.end();
    const timers = [setTimeout(end, seconds * 1000)];
    if (bookmarks) timers.push(setInterval(() => bookmark(), bookmarkMs));
    revoked?.addEventListener('abort', end, { once: true });
    const stop = () => {
      sub.value();
      for (const t of timers) clearTimeout(t);
      revoked?.removeEventListener('abort', end);
    };
    out.on('close', stop);
    out.on('finish', stop);
    return { status: 200, headers: { 'Content-Type': format === 'table' ? TABLE_TYPE : JSON_TYPE, 'Cache-Control': 'no-cache, private' }, body: out };
  };

  const resource = async (req: IncomingMessage, route: Extract<Route, { kind: 'resource' }>, q: URLSearchParams, who: Identity): Promise<Reply> => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '').split('?')[0]!;
    const r = findResource(route.group, route.version, route.plural);
    if (!r) return failureReply({ code: 404, reason: 'NotFound', message: `the server could not find the requested resource (${route.plural}.${route.group}/${route.version})` });
    if (route.subresource !== undefined && route.subresource !== 'status') {
      return failureReply({ code: 404, reason: 'NotFound', message: `the server could not find the requested resource: subresource ${JSON.stringify(route.subresource)} of ${r.plural}` });
    }
    if (route.subresource === 'status' && !r.statusSubresource) return failureReply({ code: 404, reason: 'NotFound', message: `${r.plural} has no status subresource` });
    if (r.namespaced === false && route.namespace !== undefined) return failureReply({ code: 404, reason: 'NotFound', message: `${r.plural} is cluster-scoped` });
    const ns = route.namespace;
    const sub = route.subresource === 'status' ? ('status' as const) : undefined;
    let verb: Verb;
    if (route.name === undefined) {
      if (method === 'GET') verb = q.get('watch') === 'true' || q.get('watch') === '1' ? 'watch' : 'list';
      else if (method === 'POST') verb = 'create';
      else return methodNotAllowed(method, path);
    } else if (method === 'GET') verb = 'get';
    else if (method === 'PUT') verb = 'update';
    else if (method === 'PATCH') verb = 'patch';
    else if (method === 'DELETE' && !sub) verb = 'delete';
    else return methodNotAllowed(method, path);
    if (sub && (verb === 'list' || verb === 'watch' || verb === 'create')) return methodNotAllowed(method, path);
    const denied = authorize(who, verb, r, ns, sub, route.name);
    if (denied) return failureReply(denied);
    const format = negotiate(req.headers.accept, verb === 'get' || verb === 'list' || verb === 'watch');
    if (!format) return notAcceptable(req.headers.accept ?? '');
    const ctx: VerbContext = { store, who, now };
    if (q.get('dryRun')) return failureReply(badRequest('dryRun is not supported by this server'));

    if (verb === 'list' || verb === 'watch') {
      const labels = parseLabelSelector(q.get('labelSelector'));
      if (!labels.ok) return failureReply(labels.failure);
      const fields = parseFieldSelector(q.get('fieldSelector'));
      if (!fields.ok) return failureReply(fields.failure);
      const filter = { labels: labels.value, fields: fields.value };
      return verb === 'watch' ? watch(ctx, r, ns, q, filter, format) : list(ctx, r, ns, q, filter, format);
    }
    if (verb === 'get') return objectReply(getObject(ctx, r, ns, route.name!), 200, format);

    let result: ApiResult<Entry>;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (verb === 'delete') {
      const body = await readBody(req, maxBody);
      let pre: { resourceVersion?: string; uid?: string } = {};
      if (body !== 'too-large' && body.length) {
        try {
          pre = (JSON.parse(body.toString('utf8')) as { preconditions?: typeof pre }).preconditions ?? {};
        } catch {
          return failureReply(badRequest('the request body is not valid JSON DeleteOptions'));
        }
      }
      result = await deleteObject(ctx, r, ns, route.name!, pre);
    } else if (verb === 'patch') {
      const type: PatchType | undefined = contentType === 'application/merge-patch+json' ? 'merge' : contentType === 'application/json-patch+json' ? 'json' : undefined;
      if (!type) {
        return failureReply({
          code: 415,
          reason: 'UnsupportedMediaType',
          message: `the body of the request was in an unknown format (${contentType || 'none'}) - accepted media types include: application/json-patch+json, application/merge-patch+json`,
        });
      }
      const body = await parseJSONBody(req);
      if ('status' in body) return body;
      if (!body.ok) return failureReply(body.failure);
      result = await patchObject(ctx, r, ns, route.name!, body.value, type, sub ? 'status' : 'main');
    } else {
      if (contentType && contentType !== JSON_TYPE) {
        return failureReply({ code: 415, reason: 'UnsupportedMediaType', message: `the body of the request was in an unknown format (${contentType}) - accepted media types include: application/json` });
      }
      const body = await parseJSONBody(req);
      if ('status' in body) return body;
      if (!body.ok) return failureReply(body.failure);
      result =
        verb === 'create' ? await createObject(ctx, r, ns, body.value) : await updateObject(ctx, r, ns, route.name!, body.value, sub ? 'status' : 'main');
    }
    if (result.ok) opts.afterWrite?.(result.value, who);
    return objectReply(result, verb === 'create' ? 201 : 200, 'json');
  };

  return async (req) => {
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const path = qi >= 0 ? url.slice(0, qi) : url;
    let route: Route | undefined;
    try {
      route = parseApiPath(path);
    } catch {
      return failureReply(badRequest('malformed URL path'));
    }
    if (!route) return undefined;
    const q = new URLSearchParams(qi >= 0 ? url.slice(qi + 1) : '');
    if (route.kind === 'health') return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2' }, body: Buffer.from('ok') };
    if (route.kind === 'version') {
      return jsonReply(200, { ...EMULATED_KUBERNETES_VERSION, gitCommit: '', gitTreeState: 'clean', buildDate: '1970-01-01T00:00:00Z', goVersion: '', compiler: 'sveltos-airgap', platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}` });
    }
    const auth = await opts.authenticate(req, route);
    if (auth === 'anonymous' || auth === 'invalid') return unauthorized();
    const who = auth;
    const method = req.method ?? 'GET';
    if (route.kind !== 'resource') {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(method, path);
      if (!negotiate(req.headers.accept, false)) return notAcceptable(req.headers.accept ?? '');
    }
    switch (route.kind) {
      case 'api':
        // No core (v1) resources are served; listing the version would make discovery clients fail on an empty list.
        return jsonReply(200, { kind: 'APIVersions', versions: [], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.headers.host ?? '' }] });
      case 'apiv1':
        return jsonReply(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [] });
      case 'apis':
        return jsonReply(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: API_GROUPS.map(discoveryGroup) });
      case 'group':
        if (!API_GROUPS.includes(route.group)) break;
        return jsonReply(200, { kind: 'APIGroup', apiVersion: 'v1', ...discoveryGroup(route.group) });
      case 'groupVersion':
        if (!API_GROUPS.includes(route.group) || route.version !== API_VERSION) break;
        return jsonReply(200, resourceList(who, route.group));
      case 'resource':
        try {
          return await resource(req, route, q, who);
        } catch (err) {
          // A failed write (e.g. the disk refused to persist it) changed nothing; say so as a Status.
          opts.onInternalError?.(err, req);
          return failureReply({ code: 500, reason: 'InternalError', message: `${method} ${path.slice(0, 200)}: internal error: ${(err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? 'unexpected failure'}` });
        }
      case 'openapi': {
        if (path === '/openapi/v3' || path === '/openapi/v3/') return jsonReply(200, openapiRoot());
        const m = /^\/openapi\/v3\/apis\/([^/]+)\/([^/]+)$/.exec(path);
        if (m && API_GROUPS.includes(m[1]!) && m[2] === API_VERSION) return jsonReply(200, groupVersionDocument(m[1]!), JSON_TYPE, { 'Cache-Control': 'public, immutable' });
        break;
      }
      case 'unknown':
        break;
    }
    return failureReply({ code: 404, reason: 'NotFound', message: `the server could not find the requested resource (${method} ${path.slice(0, 200)})` });
  };
}
