// AgentApi ties the agent API together for one site store: the persisted objects, the tokens, the
// served content of the current imports, and the routes. `sync` is called when an import commits.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readNameIndex } from '../bundle/name-index.js';
import { acquireLock, type SiteView } from '../bundle/site.js';
import { sha256 } from '../content/digest.js';
import { ValidationError } from '../errors.js';
import type { Descriptor } from '../model/oci.js';
import { createAgentApiRoutes, type AuthResult, type Route } from './routes.js';
import type { PartialHandler } from '../registry/server/handler.js';
import { clusterIdentity, type Identity } from './authz.js';
import { AGENT_DIR, loadLedger, saveCluster } from './ledger.js';
import { entryKey, ObjectStore, type Entry } from './objects.js';
import { importedHash, reconcileCluster } from './reconcile.js';
import { CONFIGURATION_BUNDLES, CONFIGURATION_GROUPS, findResource, SVELTOS_CLUSTERS } from './resources.js';
import { readDesiredCluster, type DesiredCluster, type LayerCache } from './served.js';
import { ok } from './status.js';
import { TokenBook } from './tokens.js';

export interface AgentApiOptions {
  now?: () => Date;
  /** Problems with imported content (objects skipped) and failed background reconciles. */
  warn?: (message: string) => void;
  /** Events kept for watch resume. Default 10,000. */
  historySize?: number;
  /** BOOKMARK interval on watches. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** The site's private keys, to decrypt encrypted objects layers. Unset: those layers are skipped with a warning. */
  siteKeys?: KeyObject[];
  /** The agent tokens, shared with other handlers of the store. Default: a book of its own over `dir`. */
  tokens?: TokenBook;
}

const PERSIST_CONCURRENCY = 64;
const READ_CONCURRENCY = 8;
const INDEX_CONCURRENCY = 32;
/** The kinds a cluster's import serves besides its SveltosCluster, by kind. */
const SERVED_KINDS = new Map([CONFIGURATION_GROUPS, CONFIGURATION_BUNDLES].map((r) => [r.kind, r]));

async function inPool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** bearerToken extracts the token of an `Authorization: Bearer …` header. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : '';
}

/** AgentApi is the agent API of one store; only one process may serve a store at a time. */
export class AgentApi {
  readonly store: ObjectStore;
  readonly routes: PartialHandler;
  readonly #dir: string;
  readonly #tokens: TokenBook;
  readonly #now: () => Date;
  readonly #warn: (message: string) => void;
  readonly #siteKeys: KeyObject[];
  readonly #keysId: string;
  /** Clusters whose import is read; the others' served objects are as their source import left them. */
  readonly #desired = new Map<string, DesiredCluster>();
  readonly #loading = new Map<string, Promise<void>>();
  /** `ns/Kind/name` of each object the new import of an unread cluster serves, and that cluster. */
  #deferredNames = new Map<string, string>();
  #view: SiteView | undefined;
  readonly #release: () => Promise<void>;
  readonly #pending = new Set<string>();
  #scheduled = false;

  private constructor(dir: string, store: ObjectStore, release: () => Promise<void>, opts: AgentApiOptions) {
    this.#dir = dir;
    this.store = store;
    this.#release = release;
    this.#tokens = opts.tokens ?? new TokenBook(dir);
    this.#now = opts.now ?? (() => new Date());
    this.#warn = opts.warn ?? (() => undefined);
    this.#siteKeys = opts.siteKeys ?? [];
    // Imports read with other keys may serve other objects (encrypted layers opened or skipped).
    this.#keysId = sha256(Buffer.concat(this.#siteKeys.map((k) => createPublicKey(k).export({ type: 'spki', format: 'der' }))).toString('hex')).slice(-24);
    this.routes = createAgentApiRoutes({
      store,
      now: this.#now,
      authenticate: async (req, route) => {
        const who = await this.authenticate(req);
        if (typeof who !== 'string') await this.#loadFor(who, route);
        return who;
      },
      onInternalError: (err) => this.#warn(`agent API request failed: ${(err as Error)?.message ?? String(err)}`),
      afterWrite: (e, who) => {
        // A status write may finish a removal or release a finalizer: reconcile that cluster.
        if (who.kind === 'cluster' && e.resource === CONFIGURATION_GROUPS && e.owner) this.#schedule(e.owner);
      },
      ...(opts.bookmarkIntervalMs ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
    });
  }

  /** open loads the persisted agent state of `dir` and serves the imports in `view`. */
  static async open(dir: string, view: SiteView, opts: AgentApiOptions = {}): Promise<AgentApi> {
    await mkdir(join(dir, AGENT_DIR), { recursive: true });
    const release = await acquireLock(join(dir, AGENT_DIR, 'serve.lock'), (pid) => new ValidationError('INVALID', `--store ${dir}: another serve (pid ${pid}) is serving this store; stop it first`));
    try {
      const ledger = await loadLedger(dir);
      const store = new ObjectStore({
        resourceVersion: ledger.resourceVersion,
        ...(opts.historySize ? { historySize: opts.historySize } : {}),
        persist: (changed, rv) => inPool(changed, PERSIST_CONCURRENCY, (c) => saveCluster(dir, c.owner, c.entries, rv, c.source)),
      });
      const api = new AgentApi(dir, store, release, opts);
      // A cluster whose import is the one its objects were reconciled with is read when a request needs it.
      store.load(ledger.entries, ledger.sources);
      await api.sync(view);
      await api.#tokens.refresh();
      return api;
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** authenticate maps a bearer token to its cluster's identity, which says when the token is revoked. */
  async authenticate(req: IncomingMessage): Promise<AuthResult> {
    const token = bearerToken(req);
    if (token === undefined) return 'anonymous';
    if (token === '') return 'invalid';
    const holder = await this.#tokens.holderOf(token);
    return holder ? { ...clusterIdentity(holder.cluster), revoked: holder.revoked } : 'invalid';
  }

  /** sync reconciles every cluster with the imports in `view` (after an import committed). */
  async sync(view: SiteView): Promise<number> {
    this.#view = view;
    // A cluster not read yet whose objects derive from its import stays unread until a request needs it.
    const stale = Object.keys(view.state.clusters).filter((c) => this.#desired.has(c) || this.store.sourceOf(c) !== this.#sourceOf(view.state.clusters[c]!.manifest));
    // So does one with a new import whose names no other cluster can claim (its objects are reconciled then).
    const indexed = await this.#indexedNames(view, stale);
    await this.#readDesired(view, stale.filter((c) => !indexed.has(c)));
    const deferred = this.#uncontended(stale, indexed);
    this.#deferredNames = new Map([...deferred].flatMap((c) => indexed.get(c)!.map((n) => [`${c.slice(0, c.indexOf('/'))}/${n}`, c] as const)));
    await this.#readDesired(view, stale.filter((c) => !deferred.has(c)));
    // In name order: where a store holds clusters that claim one name (imported before names were checked,
    // or inside layers import could not open), the same cluster keeps it on every start.
    return this.#reconcile([...this.#desired.keys()].sort());
  }

  /** close releases the store's serve lock. */
  async close(): Promise<void> {
    await this.#release();
  }

  /** identityOf returns the identity a cluster's token has (for callers that authenticate otherwise). */
  static identityOf(cluster: string): Identity {
    return clusterIdentity(cluster);
  }

  // sourceOf names what a cluster's objects are reconciled from: its imported manifest, read with these site keys.
  #sourceOf(manifest: Descriptor): string {
    return `${manifest.digest} keys:${this.#keysId}`;
  }

  // readDesired reads the import of those `clusters` not read yet or changed since, and puts the specs of
  // unchanged bundles back into their entries (persisted without them).
  async #readDesired(view: SiteView, clusters: string[]): Promise<void> {
    const changed = clusters.flatMap((cluster) => {
      const st = view.state.clusters[cluster];
      return st && this.#desired.get(cluster)?.manifest.digest !== st.manifest.digest ? [[cluster, st] as const] : [];
    });
    if (!changed.length) return;
    // Parsed layers of the current imports seed the cache: unchanged layers are not parsed again.
    const cache: LayerCache = new Map();
    for (const d of this.#desired.values()) {
      for (const g of d.groups) cache.set(`${d.cluster} ${g.layer}`, { group: g.group, bundles: g.bundles });
    }
    await inPool(changed, READ_CONCURRENCY, async ([cluster, st]) => {
      const desired = await readDesiredCluster(view, cluster, st.manifest, cache, this.#siteKeys);
      // A newer import read meanwhile wins.
      if (this.#view?.state.clusters[cluster]?.manifest.digest !== st.manifest.digest) return;
      for (const w of desired.warnings) this.#warn(w);
      const first = !this.#desired.has(cluster);
      this.#desired.set(cluster, desired);
      if (first) await this.store.refill(cluster, rehydrate(desired));
    });
  }

  // indexedNames reads the name index of each of `clusters` not read yet (those that have one).
  async #indexedNames(view: SiteView, clusters: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    await inPool(
      clusters.filter((c) => !this.#desired.has(c)),
      INDEX_CONCURRENCY,
      async (c) => {
        const names = await readNameIndex(this.#dir, view.state.clusters[c]!.manifest.digest);
        if (names) out.set(c, names);
      },
    );
    return out;
  }

  // uncontended picks the indexed clusters none of whose names another cluster imports or holds in the agent
  // state (nor holds one of theirs): reconciling them later, one by one, gives every name the same holder as
  // reconciling every cluster at once in name order.
  #uncontended(stale: string[], indexed: Map<string, string[]>): Set<string> {
    const claims = new Map<string, number>();
    const nsOf = (c: string) => c.slice(0, c.indexOf('/'));
    const claim = (c: string, names: Iterable<string>) => {
      for (const n of new Set(names)) claims.set(`${nsOf(c)}/${n}`, (claims.get(`${nsOf(c)}/${n}`) ?? 0) + 1);
    };
    for (const c of stale) {
      const d = this.#desired.get(c);
      if (d) claim(c, d.groups.flatMap((g) => [g.group, ...g.bundles].map((o) => `${o.kind}/${o.metadata.name}`)));
      else claim(c, indexed.get(c) ?? []);
    }
    const contended = new Set<string>();
    for (const [c, names] of indexed) {
      for (const n of names) {
        const slash = n.indexOf('/');
        const resource = SERVED_KINDS.get(n.slice(0, slash));
        const held = resource && this.store.get(entryKey(resource, nsOf(c), n.slice(slash + 1)));
        if (!resource || claims.get(`${nsOf(c)}/${n}`) !== 1 || (held && held.owner !== c)) contended.add(c);
        // The holder is reconciled with it, first when first by name, as if every cluster were.
        if (held?.owner !== undefined && held.owner !== c) contended.add(held.owner);
      }
    }
    return new Set([...indexed.keys()].filter((c) => !contended.has(c)));
  }

  // loadFor reads what a request of `who` may see and has not been read: its cluster's import (and that of
  // the cluster holding the object it names, so that the answer is the same as with every cluster read), or all.
  async #loadFor(who: Identity, route: Route): Promise<void> {
    const view = this.#view;
    if (!view) return;
    const clusters = who.kind === 'cluster' ? [who.cluster, ...this.#holderOf(route)] : Object.keys(view.state.clusters).sort();
    const missing = clusters.filter((c) => !this.#desired.has(c) && view.state.clusters[c]);
    if (!missing.length) return;
    const waiting = missing.flatMap((c) => this.#loading.get(c) ?? []);
    const fresh = missing.filter((c) => !this.#loading.has(c));
    if (fresh.length) {
      const p = (async () => {
        await this.#readDesired(view, fresh);
        // Reconciled as at start: a removal the agent finished before a restart completes now.
        await this.#reconcile(fresh.sort());
      })().finally(() => {
        for (const c of fresh) this.#loading.delete(c);
      });
      for (const c of fresh) this.#loading.set(c, p);
      waiting.push(p);
    }
    await Promise.all(waiting);
  }

  // holderOf names the unread cluster whose new import serves the object a request path names, if any.
  #holderOf(route: Route): string[] {
    if (route.kind !== 'resource' || route.namespace === undefined || route.name === undefined) return [];
    const r = findResource(route.group, route.version, route.plural);
    if (r === SVELTOS_CLUSTERS) return [`${route.namespace}/${route.name}`];
    const holder = r && this.#deferredNames.get(`${route.namespace}/${r.kind}/${route.name}`);
    return holder ? [holder] : [];
  }

  async #reconcile(clusters: string[]): Promise<number> {
    const conflicts: string[] = [];
    const res = await this.store.transact((tx) => {
      let n = 0;
      conflicts.length = 0;
      for (const c of clusters) {
        const d = this.#desired.get(c);
        if (!d) continue;
        const r = reconcileCluster(tx, d, this.#now());
        tx.setSource(c, this.#sourceOf(d.manifest));
        n += r.changes;
        conflicts.push(...r.conflicts);
      }
      return ok(n);
    });
    for (const c of new Set(conflicts)) this.#warn(c);
    return res.ok ? res.value : 0;
  }

  #schedule(cluster: string): void {
    this.#pending.add(cluster);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const clusters = [...this.#pending];
      this.#pending.clear();
      this.#reconcile(clusters).catch((err: unknown) => this.#warn(`reconcile ${clusters.join(', ')}: ${(err as Error).message}`));
    });
  }
}

// rehydrate puts the imported spec back into a persisted ConfigurationBundle (not stored twice) when the
// import still says what the bundle was written from; a changed one is rewritten by the reconcile.
function rehydrate(desired: DesiredCluster): (e: Entry) => Entry | undefined {
  const byKey = new Map<string, Entry['object']>();
  for (const g of desired.groups) for (const b of g.bundles) byKey.set(entryKey(CONFIGURATION_BUNDLES, b.metadata.namespace, b.metadata.name), b);
  return (e) => {
    if (e.resource !== CONFIGURATION_BUNDLES || e.origin !== 'bundle' || e.object.spec !== undefined) return undefined;
    const b = byKey.get(entryKey(e.resource, e.object.metadata.namespace, e.object.metadata.name));
    return b && importedHash(b) === e.specHash ? { ...e, object: { ...e.object, spec: b.spec } } : undefined;
  };
}
