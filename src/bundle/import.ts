// Import (DESIGN.md §5): verify first, stage verified blobs, then publish by link and commit state.json.
// The staging area (DIR/staging/blobs/sha256/) is content-addressed and survives a crash: a rerun, or the
// next parts of a split bundle, find the verified blobs there and do not read them again. Nothing staged is
// served; replacing state.json is the single switch. A failed import removes what it staged and leaves
// the store as it was.
import type { KeyObject } from 'node:crypto';
import { createReadStream, renameSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { faultMark, faultPoint } from '../content/fault.js';
import { blobPath, fsyncDir, ingest, INGEST_DIR, ingestRange, isFile, readSmallBlob, StagedBatch, writeFileAtomic, type IngestResult } from '../content/oci-layout/ingest.js';
import { JOIN_DIR, joinChunks, joinedCount, removeStaleJoins } from '../content/oci-layout/join.js';
import type { OciLayoutStore } from '../content/oci-layout/store.js';
import type { Descriptor } from '../content/storage.js';
import { ContentError, VerificationError } from '../errors.js';
import { ARTIFACT_TYPE_BUNDLE, type BundlePredicate } from '../model/bundle.js';
import { ANNOTATION_REF_NAME } from '../model/oci.js';
import { applyImport, type ImportRecord, type SiteState } from './state.js';
import { openSiteLayout, readState, withImportLock, writeState } from './site.js';
import { findMissingBlobs } from './delta.js';
import { writeNameIndexes } from './name-index.js';
import { assertNoCollisions, readServedNames } from './served-names.js';
import { orHeld, verifyBundle, verifyBundleHeader, type BundleSink, type LayoutSource, type MissingBlob, type VerifiedBundle, type VerifyLimits, type VerifyOptions } from './verify.js';

export interface ImportOptions extends VerifyLimits {
  /** How many distinct trusted keys must have signed (co-signatures). Default 1. */
  threshold?: number;
  storeDir: string;
  trusted: KeyObject[];
  now: Date;
  /** Accept a sequence lower than or equal to the highest imported. Default false (anti-rollback). */
  allowDowngrade?: boolean;
  /** Clusters this site serves: the bundle must name each of them. */
  requireClusters?: string[];
  /** The site's private keys: encrypted objects layers must open with one of them. Unset: they are not opened. */
  siteKeys?: KeyObject[];
  /** Refuse to start when the store's file system has less free space than the blobs to write. Default true. */
  checkFreeSpace?: boolean;
  warn?: VerifyOptions['warn'];
  onProgress?: VerifyOptions['onProgress'];
}

export interface ImportResult {
  verified: VerifiedBundle;
  state: SiteState;
  /** True when the bundle was committed and is served; false when parts of a split bundle are still missing. */
  complete: boolean;
  /** What is still missing (an incomplete split bundle). */
  missing: MissingBlob[];
  /** Blobs newly added to the store. */
  added: number;
  /** Blobs the store already held. */
  reused: number;
  /** Blobs found staged by an earlier interrupted or partial import. */
  resumed: number;
  /** Verified blobs staged by this run (kept for the next run when incomplete). */
  staged: number;
  /**
   * Set when the store had already imported this very bundle (the same signed root): its signature was
   * verified, nothing was read beyond the signed manifests, nothing was written, and `verified` lists no blobs.
   * `current` tells whether the store still serves it (false: a newer bundle came since).
   */
  alreadyImported?: { sequence: number; importedAt: string; current: boolean };
}

/** STAGING_DIR is where verified blobs wait, under the store, until their bundle is complete and committed. */
export const STAGING_DIR = 'staging';
// The pending commit: written before state.json is replaced, removed when the import is finished.
const JOURNAL_FILE = 'commit.json';
// Staged small blobs are made durable and visible every this many bytes or files (and when every blob was read).
// Large batches: the first one of an import moves into staging by one rename (StagedBatch), and the files each
// later one renames cost more than a flush; the batch flushes in the background as it grows anyway.
const STAGED_BATCH_BYTES = 1024 * 1024 * 1024;
const STAGED_BATCH_FILES = 65_536;
const HEX_DIGEST = /^sha256:[a-f0-9]{64}$/;

interface Journal {
  sequence: number;
  root: string;
  signature: string;
}

/** rollbackPolicy refuses replays and downgrades (DESIGN.md §3 `sequence`). */
export function rollbackPolicy(state: SiteState, opts: Pick<ImportOptions, 'allowDowngrade' | 'requireClusters'>) {
  return (p: BundlePredicate): void => {
    if (!opts.allowDowngrade && p.sequence <= state.highestSequence) {
      throw new VerificationError('ROLLBACK', `bundle sequence ${p.sequence} is not newer than the highest imported sequence ${state.highestSequence}: refusing a replayed or older bundle (use --allow-downgrade to force)`, {
        details: { expected: `> ${state.highestSequence}`, found: p.sequence },
      });
    }
    for (const c of opts.requireClusters ?? []) {
      if (!p.clusters.includes(c)) {
        throw new VerificationError('POLICY', `bundle does not name cluster ${c} (it names ${p.clusters.join(', ') || 'none'})`, { details: { expected: c, found: p.clusters } });
      }
    }
  };
}

const isPartSet = (s: object): boolean => typeof (s as { parts?: unknown }).parts === 'function';

// missingBlobsError names every blob that neither the bundle nor the store has.
async function missingBlobsError(bundle: LayoutSource, layout: OciLayoutStore, storeDir: string, cause: unknown): Promise<unknown> {
  const missing = await findMissingBlobs(orHeld(bundle, layout), bundle.index().manifests).catch(() => []);
  if (!missing.length) return cause;
  const shown = missing.slice(0, 20).map((d) => d.digest);
  return new VerificationError(
    'BLOB_MISSING',
    `${missing.length} blob(s) the signed manifests reference are neither in the bundle nor in the store ${storeDir}: ${shown.join(', ')}${missing.length > shown.length ? ', …' : ''} (a delta export imports only into the store whose receipt it was made from)`,
    { cause, details: { missing: missing.map((d) => d.digest) } },
  );
}

async function readJournal(path: string): Promise<Journal | undefined> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8')) as Partial<Journal>;
    return typeof j.root === 'string' && typeof j.signature === 'string' && typeof j.sequence === 'number' ? (j as Journal) : undefined;
  } catch {
    // Missing, or torn by a crash before its rename (then it was never the commit point).
    return undefined;
  }
}

async function removeFile(path: string): Promise<void> {
  faultPoint();
  await rm(path, { force: true });
}

// tidyStore removes what a killed import can leave behind: temp files (of blobs, state.json, index.json), and
// staged blobs the store already holds (the import was killed after publishing them). Staged blobs of an
// unfinished bundle stay.
async function tidyStore(storeDir: string, staging: string): Promise<void> {
  for (const name of await readdir(storeDir)) {
    if (/^\..+\.tmp$/.test(name)) await rm(join(storeDir, name), { force: true });
  }
  await rm(join(staging, INGEST_DIR), { recursive: true, force: true });
  for (const name of await readdir(staging)) {
    if (name !== 'blobs' && name !== INGEST_DIR && name !== JOURNAL_FILE && name !== JOIN_DIR) await rm(join(staging, name), { recursive: true, force: true });
  }
  await removeStaleJoins(staging, (digest) => isFile(blobPath(storeDir, digest)));
  const dir = join(staging, 'blobs', 'sha256');
  const stored = await blobNames(storeDir);
  for (const hex of await readdir(dir)) {
    if (stored.has(hex)) await removeFile(join(dir, hex));
  }
  await mkdir(join(staging, INGEST_DIR), { recursive: true });
  await mkdir(join(staging, JOIN_DIR), { recursive: true });
}

// checkFreeSpace fails early, before anything is written, when the blobs cannot fit.
async function checkFreeSpace(dir: string, bytes: number): Promise<void> {
  const st = await statfs(dir).catch(() => undefined);
  if (!st) return;
  const free = st.bavail * st.bsize;
  // Room for the blobs, their file system blocks, and state.json / index.json rewrites.
  const need = bytes + 1024 * 1024;
  if (free < need) {
    throw new ContentError('NO_SPACE', `not enough free space in ${dir}: the import needs ${need} bytes, ${free} are free: free space or choose another --store (nothing was written)`, {
      details: { path: dir, expected: need, found: free },
    });
  }
}

/**
 * importBundle verifies `bundle` and ingests it into the store at `opts.storeDir`. Blobs the bundle leaves
 * out (a delta export) are taken from the store; when the store lacks some, the import fails naming them.
 * A split bundle given without all its parts keeps its verified blobs staged and returns `complete: false`
 * with what is missing; the bundle is committed by the run that completes it.
 */
export async function importBundle(bundle: LayoutSource, opts: ImportOptions): Promise<ImportResult> {
  const layout = await openSiteLayout(opts.storeDir, true);
  return withImportLock(opts.storeDir, async () => {
    const staging = join(opts.storeDir, STAGING_DIR);
    await mkdir(join(staging, 'blobs', 'sha256'), { recursive: true });
    await tidyStore(opts.storeDir, staging);
    let state = await readState(opts.storeDir);

    // An import killed after its commit left its journal: finish it. Importing that same bundle again is then
    // the rerun of the interrupted import, not a replay, and completes without a new commit.
    const journalPath = join(staging, JOURNAL_FILE);
    const journal = await readJournal(journalPath);
    const last = state.history.at(-1);
    const committed = journal !== undefined && last?.root.digest === journal.root && last.signature.digest === journal.signature;
    if (journal && committed) await finishCommit(layout, state, staging, journalPath, []);
    else if (journal) await removeFile(journalPath);

    // The very bundle this store imported before (a rerun, or the same media again) is no replay: once its
    // signature checks out, there is nothing to do. With --allow-downgrade, one the store has moved on from is
    // imported again, to serve it once more.
    const claimed = bundle.index().manifests.find((d) => d.artifactType === ARTIFACT_TYPE_BUNDLE)?.digest;
    const earlier = claimed === undefined ? undefined : state.history.findLast((r) => r.root.digest === claimed);
    const current = earlier !== undefined && earlier.clusters.every((c) => state.clusters[c]?.root === earlier.root.digest);
    if (earlier && (current || !opts.allowDowngrade)) {
      const header = await verifyBundleHeader(bundle, { ...opts, policy: rollbackPolicy(state, { ...opts, allowDowngrade: true }) });
      return {
        verified: { ...header, blobs: [], totalBytes: 0, complete: true, missing: [], read: 0, reused: 0, fromStore: 0, encrypted: [], served: [] },
        state,
        complete: true,
        missing: [],
        added: 0,
        reused: 0,
        resumed: 0,
        staged: 0,
        alreadyImported: { sequence: earlier.sequence, importedAt: earlier.importedAt, current },
      };
    }

    const stagedNow: Descriptor[] = [];
    let joinedNow = 0;
    let resumed = 0;
    let inStore = 0;
    // What the store and staging hold, listed once (this import holds the lock: only it adds blobs).
    const stored = await blobNames(opts.storeDir);
    const staged = await blobNames(staging);
    const hexOf = (d: Descriptor) => (HEX_DIGEST.test(d.digest) ? d.digest.slice(7) : basename(blobPath(staging, d.digest)));
    // Small blobs are staged in batches made durable with one flush each (StagedBatch). A full batch is
    // committed in the background while the next one is written; the last one when every blob was read, after
    // those.
    const batch = new StagedBatch(staging);
    const commits: Promise<void>[] = [];
    // Blobs this run staged: after a crash the rerun reads them from the bundle again. The batch may take them
    // along when it moves its folder into staging whole (a large blob staged before it, such as the SBOM).
    const ownStaged = new Set<string>();
    const stagedByThisRun = (d: Descriptor) => {
      const hex = hexOf(d);
      stagedNow.push(d);
      staged.add(hex);
      ownStaged.add(hex);
    };
    const commitBatch = () => {
      const commit = batch.commit((hex) => ownStaged.has(hex)).then((created) => {
        for (const d of created) stagedByThisRun(d);
      });
      commit.catch(() => undefined);
      commits.push(commit);
    };
    const ingested = (d: Descriptor, result: IngestResult) => {
      if (result === 'created') stagedByThisRun(d);
    };
    const sink: BundleSink = {
      exists: (d) => {
        const hex = hexOf(d);
        if (stored.has(hex)) {
          inStore++;
          return true;
        }
        if (staged.has(hex)) {
          resumed++;
          return true;
        }
        return false;
      },
      push: async (d, content) => ingested(d, await ingest(staging, d, content)),
      copy: async (d, loc) => ingested(d, await ingestRange(staging, d, loc)),
      write: async (d, data) => {
        batch.add(d, data);
        if (batch.bytes >= STAGED_BATCH_BYTES || batch.files >= STAGED_BATCH_FILES) commitBatch();
      },
      flush: async () => {
        commitBatch();
        await Promise.all(commits);
      },
      // What exists() reports is read from staging, or from the store for blobs an earlier run published.
      fetch: async (d) => {
        const staged = blobPath(staging, d.digest);
        return createReadStream((await isFile(staged)) ? staged : blobPath(opts.storeDir, d.digest), { highWaterMark: 1 << 20 });
      },
      // The same, at once for a small blob: a delta's unchanged clusters are thousands of small layers to check.
      readBlob: async (d, limit) => {
        const staged = readSmallBlob(blobPath(staging, d.digest), d, limit);
        return (staged === null ? readSmallBlob(blobPath(opts.storeDir, d.digest), d, limit) : staged) ?? undefined;
      },
      discard: (d) => removeFile(blobPath(staging, d.digest)),
      // A blob joined from chunks that earlier runs staged is kept if this import fails later (those chunks are
      // gone by then); one joined from the parts of this run only goes, like any blob this run staged.
      join: async (d, chunks) => {
        const { result, kept } = await joinChunks(staging, d, chunks);
        if (result !== 'created') return;
        staged.add(hexOf(d));
        if (kept) joinedNow++;
        else stagedNow.push(d);
      },
      joinedCount: (d, chunks) => joinedCount(staging, d, chunks),
    };
    const policy = rollbackPolicy(state, opts);
    faultMark('stage');
    try {
      let verified: VerifiedBundle;
      try {
        verified = await verifyBundle(bundle, {
          ...opts,
          sink,
          // What a delta leaves out is read from the store, verified against the signed manifests.
          held: layout,
          policy,
          ...(opts.checkFreeSpace === false ? {} : { beforeBlobs: (pending) => checkFreeSpace(opts.storeDir, pending.bytes) }),
        });
      } catch (err) {
        throw err instanceof VerificationError && err.code === 'BLOB_MISSING' && !isPartSet(bundle) ? await missingBlobsError(bundle, layout, opts.storeDir, err) : err;
      }
      const result = { verified, missing: verified.missing, reused: inStore, resumed, staged: stagedNow.length + joinedNow };
      if (!verified.complete) return { ...result, state, complete: false, added: 0 };
      await checkKeptNames(layout, state, verified, opts);

      // Publish: move every staged blob into blobs/ (atomic, no copy; a blob published by a killed run is found
      // there by the rerun), make the moves durable, then commit. Synchronous renames: one system call each,
      // where a round trip through the thread pool would cost more for thousands of small blobs.
      faultMark('publish');
      let added = 0;
      const blobsDir = join(opts.storeDir, 'blobs', 'sha256');
      await mkdir(blobsDir, { recursive: true });
      if (stored.size === 0 && (await publishWhole(staging, opts.storeDir, verified.blobs))) {
        added = verified.blobs.length;
      } else {
        for (const d of verified.blobs) {
          const hex = hexOf(d);
          if (stored.has(hex)) continue;
          faultPoint();
          renameSync(blobPath(staging, d.digest), blobPath(opts.storeDir, d.digest));
          stored.add(hex);
          added++;
        }
      }
      faultMark('published');
      await fsyncDir(blobsDir);
      await fsyncDir(join(staging, 'blobs', 'sha256'));
      const record: ImportRecord = {
        sequence: verified.predicate.sequence,
        root: verified.root,
        signature: verified.signature,
        createdAt: verified.predicate.createdAt,
        expiresAt: verified.predicate.expiresAt,
        source: verified.predicate.source,
        keyHint: verified.keyHint,
        importedAt: opts.now.toISOString(),
        clusters: verified.predicate.clusters,
        manifests: verified.manifests,
        bytes: verified.totalBytes,
      };
      state = applyImport(state, record, verified.clusters);
      const pending: Journal = { sequence: record.sequence, root: record.root.digest, signature: record.signature.digest };
      await writeFileAtomic(journalPath, `${JSON.stringify(pending)}\n`);
      await writeState(opts.storeDir, state);
      await indexServedNames(verified, opts);
      await finishCommit(layout, state, staging, journalPath, verified.blobs);
      return { ...result, state, complete: true, added };
    } catch (err) {
      // Nothing of a failed import stays: what this run staged is removed (what earlier runs staged is kept).
      await Promise.allSettled(commits);
      batch.discard();
      for (const d of stagedNow) await rm(blobPath(staging, d.digest), { force: true }).catch(() => undefined);
      throw err;
    }
  });
}

// checkKeptNames refuses a bundle that would serve a name one of the clusters the store keeps serving (those the
// bundle does not carry) already serves.
async function checkKeptNames(layout: OciLayoutStore, state: SiteState, verified: VerifiedBundle, opts: ImportOptions): Promise<void> {
  const carried = new Set(verified.clusters.map((c) => c.cluster));
  const kept = Object.entries(state.clusters).filter(([cluster]) => !carried.has(cluster));
  if (!kept.length) return;
  const names = [...verified.served];
  for (const [cluster, st] of kept) names.push(...(await readServedNames(layout, cluster, st.manifest, opts)));
  assertNoCollisions(names, `bundle sequence ${verified.predicate.sequence} with the clusters ${opts.storeDir} keeps serving`);
}

// indexServedNames records the names each carried cluster serves, so serve can start without reading them
// (name-index.ts), once committed: a failed import leaves none. A cluster with encrypted layers import did not
// open gets no index.
async function indexServedNames(verified: VerifiedBundle, opts: ImportOptions): Promise<void> {
  const unopened = new Set(opts.siteKeys?.length ? [] : verified.encrypted.map((e) => e.cluster));
  await writeNameIndexes(opts.storeDir, verified.clusters, verified.served, unopened);
}

// finishCommit does what follows the commit: index.json for OCI tools, the staged names of published blobs,
// and the journal. Each step can be repeated, so a rerun after a crash here finishes the job.
async function finishCommit(layout: OciLayoutStore, state: SiteState, staging: string, journalPath: string, published: Descriptor[]): Promise<void> {
  await syncLayoutIndex(layout, state);
  const staged = await blobNames(staging);
  for (const d of published) {
    const path = blobPath(staging, d.digest);
    if (staged.has(basename(path))) await removeFile(path);
  }
  await removeFile(journalPath);
}

/**
 * publishWhole moves staging's blob folder into the store in one rename when the store holds no blob yet and
 * the folder holds exactly the bundle's blobs (a site's first import): one system call where each blob would
 * take one. rename(2) replaces the store's empty folder atomically, so a run killed around it leaves either
 * folder whole, and the rerun finds the blobs where they are. False (nothing moved) otherwise.
 */
async function publishWhole(staging: string, storeDir: string, blobs: Descriptor[]): Promise<boolean> {
  if (blobs.length === 0 || !blobs.every((d) => HEX_DIGEST.test(d.digest))) return false;
  const from = join(staging, 'blobs', 'sha256');
  const want = new Set(blobs.map((d) => d.digest.slice('sha256:'.length)));
  const held = await readdir(from);
  if (held.length !== want.size || !held.every((name) => want.has(name))) return false;
  faultPoint();
  try {
    await rename(from, join(storeDir, 'blobs', 'sha256'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  await fsyncDir(join(storeDir, 'blobs'));
  await mkdir(from);
  await fsyncDir(join(staging, 'blobs'));
  return true;
}

/** blobNames lists the blob files of the layout at `root` by hex name. */
async function blobNames(root: string): Promise<Set<string>> {
  const entries = await readdir(join(root, 'blobs', 'sha256'), { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return new Set(entries.filter((e) => e.isFile() && /^[a-f0-9]{64}$/.test(e.name)).map((e) => e.name));
}

/** syncLayoutIndex keeps the layout's index.json in step with state.json, for OCI tools (derived data). */
async function syncLayoutIndex(layout: OciLayoutStore, state: SiteState): Promise<void> {
  const current = new Map<string, string>();
  for (const ref of await layout.tags()) current.set(ref, (await layout.resolve(ref)).digest);
  const changed = Object.entries(state.refs)
    .filter(([ref, desc]) => current.get(ref) !== desc.digest)
    .map(([reference, desc]) => ({ desc: { ...desc, annotations: { [ANNOTATION_REF_NAME]: reference } }, reference }));
  await layout.tagAll(changed);
}

/** stagingLeftovers lists blobs waiting in staging (an unfinished split bundle, or an interrupted import). */
export async function stagingLeftovers(storeDir: string): Promise<string[]> {
  try {
    return (await readdir(join(storeDir, STAGING_DIR, 'blobs', 'sha256'))).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  } catch {
    return [];
  }
}
