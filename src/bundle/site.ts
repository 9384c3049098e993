// The site store: an OCI layout directory plus state.json. Reading it is safe while an import runs:
// state.json is the single commit point and blobs are only ever added, verified, by rename.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OciLayoutStore } from '../content/oci-layout/store.js';
import { writeFileAtomic } from '../content/oci-layout/ingest.js';
import { isAlive } from '../content/file-lock.js';
import { successors } from '../content/graph.js';
import type { BlobFiles, Descriptor, OpOptions, PredecessorFinder, RangeFetcher, ReadOnlyTarget, TagLister } from '../content/storage.js';
import { indexFromJSON } from '../content/descriptor.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll } from '../content/verify.js';
import { isIndexMediaType } from '../model/oci.js';
import { parseProofTag } from '../model/proofs.js';
import { isDigest } from '../content/digest.js';
import { ContentError, ValidationError } from '../errors.js';
import { STATE_FILE, emptyState, stateFromJSON, stateToJSON, type SiteState } from './state.js';

const LOCK_FILE = '.import.lock';

/** readState loads state.json, or an empty state for a new store. */
export async function readState(dir: string): Promise<SiteState> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw err;
  }
  return stateFromJSON(text);
}

/** writeState replaces state.json atomically (write temp, fsync, rename, fsync dir). */
export async function writeState(dir: string, state: SiteState): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILE), stateToJSON(state));
}

/** openSiteLayout opens (or creates) the store's OCI layout. */
export async function openSiteLayout(dir: string, create: boolean): Promise<OciLayoutStore> {
  if (create) await mkdir(dir, { recursive: true });
  try {
    return await OciLayoutStore.open(dir, { create });
  } catch (err) {
    // The layout store says NOT_FOUND for a missing directory (a ContentError, not an errno).
    if (!create && ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err instanceof ContentError && err.code === 'NOT_FOUND'))) {
      throw new ValidationError('INVALID', `--store ${dir}: not a sveltos-airgap store (no oci-layout); run import first`, { cause: err });
    }
    throw err;
  }
}

/** withImportLock runs `fn` holding the store's import lock; a second import fails clearly. */
export async function withImportLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(join(dir, LOCK_FILE), (pid) => new ValidationError('INVALID', `--store ${dir}: another import (pid ${pid}) is running; wait for it to finish`));
  try {
    return await fn();
  } finally {
    await release();
  }
}

/**
 * acquireLock creates `lockPath` holding this process's pid; `busy` builds the error when a live process
 * holds it. A lock left by a killed process is taken over. Returns the release function.
 */
export async function acquireLock(lockPath: string, busy: (pid: number) => Error): Promise<() => Promise<void>> {
  let handle;
  try {
    handle = await open(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (pid && pid !== process.pid && isAlive(pid)) throw busy(pid);
    // A stale lock from a killed process: take it over.
    await rm(lockPath, { force: true });
    handle = await open(lockPath, 'wx');
  }
  try {
    await handle.writeFile(String(process.pid));
  } finally {
    await handle.close();
  }
  return () => rm(lockPath, { force: true });
}

/**
 * SiteView is what `serve` reads: the layout's blobs, with references from state.json only.
 * It is a snapshot: `serve` opens a new view when state.json changes.
 */
export class SiteView implements ReadOnlyTarget, TagLister, PredecessorFinder, RangeFetcher, BlobFiles {
  #predecessors?: Map<string, Descriptor[]>;
  readonly #fallback = new Map<string, Descriptor>();
  constructor(
    readonly layout: OciLayoutStore,
    readonly state: SiteState,
  ) {}

  static async open(dir: string): Promise<SiteView> {
    const layout = await openSiteLayout(dir, false);
    return new SiteView(layout, await readState(dir));
  }

  fetch(d: Descriptor, opts?: OpOptions) {
    return this.layout.fetch(d, opts);
  }
  fetchRange(d: Descriptor, start: number, end: number, opts?: OpOptions) {
    return this.layout.fetchRange(d, start, end, opts);
  }
  exists(d: Descriptor, opts?: OpOptions) {
    return this.layout.exists(d, opts);
  }
  blobFile(d: Descriptor) {
    return this.layout.blobFile(d);
  }
  async resolve(reference: string): Promise<Descriptor> {
    const byRef = this.state.refs[reference];
    if (byRef) return byRef;
    if (isDigest(reference)) {
      for (const d of this.#known()) if (d.digest === reference) return d;
    }
    throw new ContentError('NOT_FOUND', `${reference}: not found`);
  }
  async tags(): Promise<string[]> {
    return Object.keys(this.state.refs).sort();
  }
  async predecessors(node: Descriptor): Promise<Descriptor[]> {
    if (!this.#predecessors) {
      const map = new Map<string, Descriptor[]>();
      const add = (child: string, parent: Descriptor) => map.set(child, [...(map.get(child) ?? []), parent]);
      for (const rec of this.state.history) {
        add(rec.root.digest, rec.signature);
        for (const m of rec.manifests) add(m.digest, rec.root);
      }
      // Referrers carried with an image come in the referrers index of the tag-schema fallback (`sha256-<hex>`).
      for (const [ref, d] of Object.entries(this.state.refs)) {
        const proof = parseProofTag(ref.slice(ref.lastIndexOf(':') + 1));
        if (proof?.suffix === '' && isIndexMediaType(d.mediaType)) this.#fallback.set(proof.subject, d);
      }
      this.#predecessors = map;
    }
    const listed = this.#fallback.get(node.digest);
    const referrers = listed ? indexFromJSON(await readAll(await this.layout.fetch(listed), listed, { limit: DEFAULT_MAX_METADATA_BYTES }), listed.digest).manifests : [];
    return [...(this.#predecessors.get(node.digest) ?? []), ...referrers];
  }

  #known(): Descriptor[] {
    const out: Descriptor[] = Object.values(this.state.refs);
    for (const rec of this.state.history) out.push(rec.root, rec.signature, ...rec.manifests);
    return out;
  }
}

