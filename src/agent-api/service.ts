// AgentApi ties the agent API together for one site store: the persisted objects, the tokens, the
// served content of the current imports, and the routes. `sync` is called when an import commits.
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, type SiteView } from '../bundle/site.js';
import { ValidationError } from '../errors.js';
import { createAgentApiRoutes, type AuthResult } from './routes.js';
import type { PartialHandler } from '../registry/server/handler.js';
import { clusterIdentity, type Identity } from './authz.js';
import { AGENT_DIR, loadLedger, saveCluster } from './ledger.js';
import { entryKey, ObjectStore, type Entry } from './objects.js';
import { importedHash, reconcileCluster } from './reconcile.js';
import { CONFIGURATION_BUNDLES, CONFIGURATION_GROUPS } from './resources.js';
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
  readonly #desired = new Map<string, DesiredCluster>();
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
    this.routes = createAgentApiRoutes({
      store,
      now: this.#now,
      authenticate: (req) => this.authenticate(req),
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
        persist: (changed, rv) => inPool(changed, PERSIST_CONCURRENCY, (c) => saveCluster(dir, c.owner, c.entries, rv)),
      });
      const api = new AgentApi(dir, store, release, opts);
      await api.#readDesired(view);
      store.load(api.#rehydrate(ledger.entries));
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
    await this.#readDesired(view);
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

  async #readDesired(view: SiteView): Promise<void> {
    const changed = Object.entries(view.state.clusters).filter(([cluster, st]) => this.#desired.get(cluster)?.manifest.digest !== st.manifest.digest);
    if (!changed.length) return;
    // Parsed layers of the current imports seed the cache: unchanged layers are not parsed again.
    const cache: LayerCache = new Map();
    for (const d of this.#desired.values()) {
      for (const g of d.groups) cache.set(`${d.cluster} ${g.layer}`, { group: g.group, bundles: g.bundles });
    }
    await inPool(changed, READ_CONCURRENCY, async ([cluster, st]) => {
      const desired = await readDesiredCluster(view, cluster, st.manifest, cache, this.#siteKeys);
      for (const w of desired.warnings) this.#warn(w);
      this.#desired.set(cluster, desired);
    });
  }

  // rehydrate puts imported bundle specs back into persisted ConfigurationBundles (not stored twice).
  #rehydrate(entries: Entry[]): Entry[] {
    const byKey = new Map<string, Entry['object']>();
    for (const d of this.#desired.values()) {
      for (const g of d.groups) for (const b of g.bundles) byKey.set(entryKey(CONFIGURATION_BUNDLES, b.metadata.namespace, b.metadata.name), b);
    }
    return entries.map((e) => {
      if (e.resource !== CONFIGURATION_BUNDLES || e.origin !== 'bundle') return e;
      const b = byKey.get(entryKey(e.resource, e.object.metadata.namespace, e.object.metadata.name));
      // A bundle whose import changed since keeps no spec here; the reconcile right after open rewrites it.
      return b && importedHash(b) === e.specHash ? { ...e, object: { ...e.object, spec: b.spec } } : e;
    });
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
