// ObjectStore holds the served objects in memory: one resourceVersion counter for all writes, a bounded
// event log for watch resume, and watchers fed synchronously at commit. Writes are serialized and
// persisted (through a hook) before they become visible, so nothing a client saw can be lost.
import type { ResourceInfo } from './resources.js';
import type { ApiFailure, ApiResult } from './status.js';
import { expired, fail } from './status.js';

/** ObjectMeta is the metadata the server reads and manages; other fields pass through. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
  [field: string]: unknown;
}

/** KubeObj is a served object as JSON. */
export interface KubeObj {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Origin says who writes an object's spec: an imported bundle, the agent, or a management client. */
export type Origin = 'bundle' | 'agent' | 'api';

/** Entry is one stored object; entries are immutable values, replaced on every write. */
export interface Entry {
  resource: ResourceInfo;
  object: KubeObj;
  /** `namespace/name` of the cluster whose token may touch the object; unset: management only. */
  owner?: string;
  origin: Origin;
  /** Bundle objects: digest of the imported spec, to notice a changed import. */
  specHash?: string;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** StoreEvent is one committed change; `prev` is the entry before it (MODIFIED, DELETED). */
export interface StoreEvent {
  rv: number;
  type: EventType;
  entry: Entry;
  prev?: Entry;
}

/** entryKey names an object: `group/plural/namespace/name`. */
export function entryKey(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return `${r.group}/${r.plural}/${namespace ?? ''}/${name}`;
}

const resourceKey = (r: ResourceInfo): string => `${r.group}/${r.plural}`;

export const keyOf = (e: Entry): string => entryKey(e.resource, e.object.metadata.namespace, e.object.metadata.name);

/**
 * PersistHook makes a transaction durable: it gets the owners whose objects (or source) changed, their new
 * objects and the source they were derived from.
 */
export type PersistHook = (changed: { owner: string; entries: Entry[]; source?: string }[], resourceVersion: number) => Promise<void>;

export interface ObjectStoreOptions {
  /** resourceVersion of the last persisted write; new writes count on from it. Default 0. */
  resourceVersion?: number;
  /** Events kept for watch resume; older resourceVersions get 410 Expired. Default 10,000. */
  historySize?: number;
  persist?: PersistHook;
}

/** Tx stages writes; nothing is visible until the transaction commits. */
export interface Tx {
  get(key: string): Entry | undefined;
  put(entry: Entry): Entry;
  remove(key: string): void;
  /** Entries of one owner as staged so far. */
  owned(owner: string): Entry[];
  /** setSource records what an owner's entries now derive from (persisted with them, even if none changed). */
  setSource(owner: string, source: string): void;
}

/** Watcher receives committed events; it filters and formats them itself. */
export interface Watcher {
  resource: ResourceInfo;
  send(event: StoreEvent): void;
}

export const DEFAULT_HISTORY_SIZE = 10_000;

/** ObjectStore is the in-memory state of the agent API. */
export class ObjectStore {
  readonly #objects = new Map<string, Entry>();
  readonly #byOwner = new Map<string, Map<string, Entry>>();
  readonly #byResource = new Map<string, Map<string, Entry>>();
  readonly #sources = new Map<string, string>();
  readonly #log: StoreEvent[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #historySize: number;
  readonly #persist: PersistHook | undefined;
  #rv: number;
  /** Lowest resourceVersion from which every later event is still in the log. */
  #logStart: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: ObjectStoreOptions = {}) {
    this.#rv = opts.resourceVersion ?? 0;
    this.#logStart = this.#rv + 1;
    this.#historySize = opts.historySize ?? DEFAULT_HISTORY_SIZE;
    this.#persist = opts.persist;
  }

  /** resourceVersion is the version of the latest committed write. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** load adds persisted entries and owners' sources without events (at startup, before any client). */
  load(entries: Entry[], sources: ReadonlyMap<string, string> = new Map()): void {
    for (const [owner, source] of sources) this.#sources.set(owner, source);
    for (const e of entries) {
      this.#set(keyOf(e), e);
      const rv = Number(e.object.metadata.resourceVersion);
      if (rv > this.#rv) this.#rv = rv;
    }
    this.#logStart = this.#rv + 1;
  }

  get(key: string): Entry | undefined {
    return this.#objects.get(key);
  }

  /** sourceOf is what an owner's committed entries derive from (see Tx.setSource). */
  sourceOf(owner: string): string | undefined {
    return this.#sources.get(owner);
  }

  /**
   * refill replaces entries of `owner` with `fill`'s value where it gives one, without a new
   * resourceVersion or event: for content kept outside the store (a bundle's spec) that is put back
   * unchanged. Runs between transactions.
   */
  refill(owner: string, fill: (e: Entry) => Entry | undefined): Promise<void> {
    const run = async (): Promise<void> => {
      for (const [k, e] of [...(this.#byOwner.get(owner) ?? [])]) {
        const next = fill(e);
        if (next) this.#set(k, next);
      }
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /**
   * list returns the entries of a resource (in a namespace when given; of one owner when given), sorted
   * by namespace and name. Only the entries of that resource (or that owner) are looked at.
   */
  list(resource: ResourceInfo, namespace?: string, owner?: string): Entry[] {
    const prefix = namespace === undefined ? `${resource.group}/${resource.plural}/` : `${resource.group}/${resource.plural}/${namespace}/`;
    const found: [string, Entry][] = [];
    const from = owner !== undefined ? this.#byOwner.get(owner) : this.#byResource.get(resourceKey(resource));
    for (const [k, e] of from ?? []) if (k.startsWith(prefix)) found.push([k, e]);
    return found.sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, e]) => e);
  }

  /** owned returns every entry of one owner. */
  owned(owner: string): Entry[] {
    return [...(this.#byOwner.get(owner)?.values() ?? [])];
  }

  /** owners lists the owners that have entries. */
  owners(): string[] {
    return [...this.#byOwner.keys()];
  }

  /**
   * transact runs `fn` alone (writes are serialized), then persists and commits what it staged:
   * every put and remove gets the next resourceVersion, in order. A failure result stages nothing.
   */
  transact<T>(fn: (tx: Tx) => ApiResult<T> | Promise<ApiResult<T>>): Promise<ApiResult<T>> {
    const run = async (): Promise<ApiResult<T>> => {
      const staged = new Map<string, Entry | null>();
      const sources = new Map<string, string>();
      const events: StoreEvent[] = [];
      let rv = this.#rv;
      const current = (key: string) => (staged.has(key) ? (staged.get(key) ?? undefined) : this.#objects.get(key));
      const tx: Tx = {
        get: current,
        put: (entry) => {
          const key = keyOf(entry);
          const prev = current(key);
          rv++;
          const object = { ...entry.object, metadata: { ...entry.object.metadata, resourceVersion: String(rv) } };
          const next: Entry = { ...entry, object };
          staged.set(key, next);
          events.push(prev ? { rv, type: 'MODIFIED', entry: next, prev } : { rv, type: 'ADDED', entry: next });
          return next;
        },
        remove: (key) => {
          const prev = current(key);
          if (!prev) return;
          rv++;
          staged.set(key, null);
          const object = { ...prev.object, metadata: { ...prev.object.metadata, resourceVersion: String(rv) } };
          events.push({ rv, type: 'DELETED', entry: { ...prev, object }, prev });
        },
        owned: (owner) => {
          const out = new Map<string, Entry>();
          for (const [k, e] of this.#byOwner.get(owner) ?? []) out.set(k, e);
          for (const [k, e] of staged) {
            const was = this.#objects.get(k);
            if (e === null) {
              if (was?.owner === owner) out.delete(k);
            } else if (e.owner === owner) out.set(k, e);
          }
          return [...out.values()];
        },
        setSource: (owner, source) => {
          if (this.#sources.get(owner) !== source) sources.set(owner, source);
        },
      };
      const result = await fn(tx);
      if (!result.ok || (events.length === 0 && sources.size === 0)) return result;
      if (this.#persist) {
        const owners = new Set<string>(sources.keys());
        for (const ev of events) {
          if (ev.entry.owner) owners.add(ev.entry.owner);
          if (ev.prev?.owner) owners.add(ev.prev.owner);
        }
        const changed = [...owners].map((owner) => {
          const source = sources.get(owner) ?? this.#sources.get(owner);
          return { owner, entries: tx.owned(owner), ...(source !== undefined ? { source } : {}) };
        });
        if (changed.length) await this.#persist(changed, rv);
      }
      for (const [owner, source] of sources) this.#sources.set(owner, source);
      this.#rv = rv;
      for (const [k, e] of staged) {
        if (e === null) this.#delete(k);
        else this.#set(k, e);
      }
      for (const ev of events) this.#publish(ev);
      return result;
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /**
   * watch registers `watcher` for events after `fromRV` (replayed from the log first).
   * A version older than the log is a 410 Expired failure: the client must list again.
   */
  watch(watcher: Watcher, fromRV?: number): ApiResult<() => void> {
    if (fromRV !== undefined && fromRV < this.#logStart - 1) {
      return fail(tooOld(fromRV, this.#logStart - 1));
    }
    if (fromRV !== undefined) {
      for (const ev of this.#log) if (ev.rv > fromRV && ev.entry.resource === watcher.resource) watcher.send(ev);
    }
    this.#watchers.add(watcher);
    return { ok: true, value: () => this.#watchers.delete(watcher) };
  }

  /** watcherCount is the number of open watches. */
  get watcherCount(): number {
    return this.#watchers.size;
  }

  #set(key: string, e: Entry): void {
    const prev = this.#objects.get(key);
    if (prev?.owner && prev.owner !== e.owner) this.#byOwner.get(prev.owner)?.delete(key);
    this.#objects.set(key, e);
    let r = this.#byResource.get(resourceKey(e.resource));
    if (!r) this.#byResource.set(resourceKey(e.resource), (r = new Map()));
    r.set(key, e);
    if (e.owner) {
      let m = this.#byOwner.get(e.owner);
      if (!m) this.#byOwner.set(e.owner, (m = new Map()));
      m.set(key, e);
    }
  }

  #delete(key: string): void {
    const prev = this.#objects.get(key);
    this.#objects.delete(key);
    if (prev) this.#byResource.get(resourceKey(prev.resource))?.delete(key);
    if (prev?.owner) this.#byOwner.get(prev.owner)?.delete(key);
  }

  #publish(ev: StoreEvent): void {
    this.#log.push(ev);
    if (this.#log.length > this.#historySize) {
      const dropped = this.#log.splice(0, this.#log.length - this.#historySize);
      this.#logStart = dropped[dropped.length - 1]!.rv + 1;
    }
    for (const w of this.#watchers) if (w.resource === ev.entry.resource) w.send(ev);
  }
}

function tooOld(requested: number, oldest: number): ApiFailure {
  return expired(`too old resource version: ${requested} (${oldest})`);
}
