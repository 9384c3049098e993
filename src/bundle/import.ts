// Import (DESIGN.md §5): verify first, stage verified blobs, then publish by rename and commit state.json.
// A failed import leaves the store exactly as it was; a crash leaves the previous state served.
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { link, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isGraphNode } from '../content/graph.js';
import { OciLayoutStore } from '../content/oci-layout/store.js';
import { blobPath } from '../content/oci-layout/ingest.js';
import type { Descriptor, Storage } from '../content/storage.js';
import { VerificationError } from '../errors.js';
import type { BundlePredicate } from '../model/bundle.js';
import { ANNOTATION_REF_NAME } from '../model/oci.js';
import { applyImport, type ImportRecord, type SiteState } from './state.js';
import { openSiteLayout, readState, withImportLock, writeState } from './site.js';
import { findMissingBlobs } from './delta.js';
import { verifyBundle, type LayoutSource, type VerifiedBundle, type VerifyOptions } from './verify.js';

export interface ImportOptions {
  storeDir: string;
  trusted: KeyObject[];
  now: Date;
  /** Accept a sequence lower than or equal to the highest imported. Default false (anti-rollback). */
  allowDowngrade?: boolean;
  /** Clusters this site serves: the bundle must name each of them. */
  requireClusters?: string[];
  warn?: VerifyOptions['warn'];
  onProgress?: VerifyOptions['onProgress'];
}

export interface ImportResult {
  verified: VerifiedBundle;
  state: SiteState;
  /** Blobs newly added to the store. */
  added: number;
  /** Blobs the store already held. */
  reused: number;
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

const hasBlobList = (s: object): s is { blobs(): { digest: string; size: number }[] } => typeof (s as { blobs?: unknown }).blobs === 'function';

/**
 * withStoreFallback reads what a bundle leaves out (a delta export) from the store instead. Everything
 * read still passes the graph walk's digest verification against the signed manifests.
 */
function withStoreFallback(src: LayoutSource, layout: OciLayoutStore): LayoutSource {
  const pick = async (d: Descriptor) => ((await src.exists(d)) ? src : (await layout.exists(d)) ? layout : src);
  return {
    index: () => src.index(),
    exists: async (d) => (await src.exists(d)) || (await layout.exists(d)),
    fetch: async (d, o) => (await pick(d)).fetch(d, o),
    ...(hasBlobList(src) ? { blobs: () => src.blobs() } : {}),
  } as LayoutSource;
}

// missingBlobsError names every blob that neither the bundle nor the store has.
async function missingBlobsError(source: LayoutSource, storeDir: string, cause: unknown): Promise<unknown> {
  const missing = await findMissingBlobs(source, source.index().manifests).catch(() => []);
  if (!missing.length) return cause;
  const shown = missing.slice(0, 20).map((d) => d.digest);
  return new VerificationError(
    'BLOB_MISSING',
    `${missing.length} blob(s) the signed manifests reference are neither in the bundle nor in the store ${storeDir}: ${shown.join(', ')}${missing.length > shown.length ? ', …' : ''} (a delta export imports only into the store whose receipt it was made from)`,
    { cause, details: { missing: missing.map((d) => d.digest) } },
  );
}

/**
 * importBundle verifies `src` and ingests it into the store at `opts.storeDir`. Blobs the bundle leaves
 * out (a delta export) are taken from the store; when the store lacks some, the import fails naming them.
 */
export async function importBundle(bundle: LayoutSource, opts: ImportOptions): Promise<ImportResult> {
  const layout = await openSiteLayout(opts.storeDir, true);
  const src = withStoreFallback(bundle, layout);
  return withImportLock(opts.storeDir, async () => {
    const state = await readState(opts.storeDir);
    const stagingRoot = join(opts.storeDir, 'staging');
    await mkdir(stagingRoot, { recursive: true });
    const stagingDir = join(stagingRoot, randomBytes(8).toString('hex'));
    const staging = await OciLayoutStore.open(stagingDir, { create: true });
    let reused = 0;
    const staged: Descriptor[] = [];
    const sink: Storage = {
      // Manifests are always walked (they are small) so every reachable blob is accounted for;
      // leaf blobs the store already holds are not read again.
      exists: async (d) => {
        if (!isGraphNode(d) && (await layout.exists(d))) {
          reused++;
          return true;
        }
        return staging.exists(d);
      },
      fetch: (d) => staging.fetch(d),
      push: async (d, content) => {
        await staging.push(d, content);
        staged.push(d);
      },
    };
    try {
      let verified: VerifiedBundle;
      try {
        verified = await verifyBundle(src, {
          trusted: opts.trusted,
          now: opts.now,
          sink,
          policy: rollbackPolicy(state, opts),
          ...(opts.warn ? { warn: opts.warn } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        });
      } catch (err) {
        throw err instanceof VerificationError && err.code === 'BLOB_MISSING' ? await missingBlobsError(src, opts.storeDir, err) : err;
      }
      // Publish: every staged blob is verified; hard-link it into blobs/ (atomic, no copy), then commit state.json.
      for (const d of staged) await publishBlob(stagingDir, opts.storeDir, d);
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
      };
      const next = applyImport(state, record, verified.clusters);
      await writeState(opts.storeDir, next);
      await syncLayoutIndex(layout, next);
      return { verified, state: next, added: staged.length, reused };
    } finally {
      await rm(stagingDir, { recursive: true, force: true });
    }
  });
}

async function publishBlob(stagingDir: string, storeDir: string, d: Descriptor): Promise<void> {
  const from = blobPath(stagingDir, d.digest);
  const to = blobPath(storeDir, d.digest);
  await mkdir(join(to, '..'), { recursive: true });
  try {
    await link(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
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

/** stagingLeftovers lists staging directories left by killed imports (removed by the next import or gc). */
export async function stagingLeftovers(storeDir: string): Promise<string[]> {
  try {
    const names = await readdir(join(storeDir, 'staging'));
    const out: string[] = [];
    for (const n of names) if ((await stat(join(storeDir, 'staging', n))).isDirectory()) out.push(n);
    return out;
  } catch {
    return [];
  }
}
