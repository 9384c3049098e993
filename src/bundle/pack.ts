// Packing a bundle: build the manifests, sign the statement, write a deterministic OCI layout tar.
import { createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { finished, pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { MemoryTarget } from '../content/memory.js';
import { copyGraph } from '../content/copy.js';
import { digestHex } from '../content/digest.js';
import { isGraphNode } from '../content/graph.js';
import { verifier } from '../content/verify.js';
import type { ReadOnlyStorage, Storage } from '../content/storage.js';
import { TarWriter } from '../content/tar-writer.js';
import { ValidationError } from '../errors.js';
import {
  IN_TOTO_STATEMENT_TYPE,
  PREDICATE_TYPE_BUNDLE,
  type BundlePredicate,
  type Statement,
} from '../model/bundle.js';
import { ANNOTATION_REF_NAME, type Descriptor, type Index } from '../model/oci.js';
import {
  buildClusterArtifact,
  buildRootIndex,
  buildSignatureReferrer,
  canonicalJSON,
  subjectName,
  type ClusterArtifactInput,
} from './manifest.js';
import type { Signer } from './sign.js';
import { signStatement } from './sign.js';

/** ExtraArtifact is a chart or image graph to carry, read from `source` and named by `ref`. */
export interface ExtraArtifact {
  source: ReadOnlyStorage;
  root: Descriptor;
  ref: string;
}

export interface PackOptions {
  clusters: ClusterArtifactInput[];
  extras?: ExtraArtifact[];
  signer: Signer;
  sequence: number;
  createdAt: Date;
  expiresAt: Date;
  /** Free text naming the exporter. */
  source: string;
  /** Output tar path; written to a temp file and renamed, so a failed export leaves nothing behind. */
  out: string;
  /** Tar entry mtime (seconds). Default 0. */
  sourceDateEpoch?: number;
  /** Also write the Sigstore bundle here. */
  signatureOut?: string;
  /**
   * Digests the receiving site already holds (a delta export, see deltaBaseFromReceipt): these blobs are
   * left out of the tar but stay in the signed graph; import reads them from the site's store. Unset: none.
   */
  omit?: ReadonlySet<string>;
  onProgress?: (event: { phase: 'build' | 'write'; done: number; total: number }) => void;
}

export interface PackResult {
  root: Descriptor;
  signature: Descriptor;
  index: Index;
  statement: Statement;
  blobs: number;
  bytes: number;
  /** Blobs of the signed graph left out because the site holds them (`omit`). */
  omitted: Descriptor[];
}

/** RecordingStore remembers every descriptor pushed, so the tar can list exactly the bundle's blobs. */
class RecordingStore implements Storage {
  readonly pushed = new Map<string, Descriptor>();
  constructor(private readonly inner: MemoryTarget) {}
  fetch(d: Descriptor) { return this.inner.fetch(d); }
  exists(d: Descriptor) { return this.inner.exists(d); }
  async push(d: Descriptor, content: Readable) {
    if (!(await this.inner.exists(d))) await this.inner.push(d, content);
    this.pushed.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
  }
}

/** blobSource reads the bundle's own blobs from memory and carried artifacts from their sources. */
function blobSource(memory: MemoryTarget, extraOrigin: Map<string, ReadOnlyStorage>): ReadOnlyStorage {
  return {
    async exists(d) { return (await memory.exists(d)) || extraOrigin.has(d.digest); },
    async fetch(d) { return (extraOrigin.get(d.digest) ?? memory).fetch(d); },
  };
}

/** packBundle builds, signs and writes a bundle (DESIGN.md §3). Same inputs, key and times give the same bytes. */
export async function packBundle(opts: PackOptions): Promise<PackResult> {
  if (!Number.isSafeInteger(opts.sequence) || opts.sequence < 1) {
    throw new ValidationError('USAGE', `--sequence: expected a positive integer, got ${opts.sequence}`);
  }
  if (opts.expiresAt.getTime() <= opts.createdAt.getTime()) {
    throw new ValidationError('USAGE', `--expires: the bundle would expire (${opts.expiresAt.toISOString()}) before it is created (${opts.createdAt.toISOString()})`);
  }
  const createdAt = opts.createdAt.toISOString();
  const memory = new MemoryTarget();
  const store = new RecordingStore(memory);
  const manifests: Descriptor[] = [];
  const clusters = [...opts.clusters].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  for (const [i, c] of clusters.entries()) {
    manifests.push(await buildClusterArtifact(store, c, createdAt));
    opts.onProgress?.({ phase: 'build', done: i + 1, total: clusters.length });
  }
  // Carried charts and images: their graphs are recorded (not buffered) so the tar streams them from the source.
  const extraOrigin = new Map<string, ReadOnlyStorage>();
  for (const extra of opts.extras ?? []) {
    const record = (d: Descriptor) => {
      extraOrigin.set(d.digest, extra.source);
      store.pushed.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
    };
    // Only manifests and indexes are read here (to find their children); layers are recorded without
    // reading them and stream from the source once, into the tar.
    const recorder: Storage = {
      exists: async (d) => extraOrigin.has(d.digest) || !isGraphNode(d),
      fetch: (d) => extra.source.fetch(d),
      push: async (d, content) => {
        content.resume();
        record(d);
      },
    };
    await copyGraph(extra.source, recorder, extra.root, { onCopySkipped: (d) => { if (!isGraphNode(d)) record(d); } });
    manifests.push({ ...extra.root, annotations: { ...extra.root.annotations, [ANNOTATION_REF_NAME]: extra.ref } });
  }
  const root = await buildRootIndex(store, manifests, opts.sequence, createdAt);
  const signed = [...manifests, root];
  const predicate: BundlePredicate = {
    sequence: opts.sequence,
    createdAt,
    expiresAt: opts.expiresAt.toISOString(),
    source: opts.source,
    clusters: clusters.map((c) => `${c.namespace}/${c.name}`),
  };
  const statement: Statement = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: signed.map((d) => ({ name: subjectName(d), digest: { sha256: digestHex(d.digest) } })),
    predicateType: PREDICATE_TYPE_BUNDLE,
    predicate,
  };
  const sigstoreBundle = await signStatement(statement, opts.signer);
  const signature = await buildSignatureReferrer(store, sigstoreBundle, root);
  const index: Index = { schemaVersion: 2, manifests: [...signed, signature] };
  const all = [...store.pushed.values()];
  const omitted = opts.omit ? all.filter((d) => opts.omit!.has(d.digest)) : [];
  const carried = omitted.length ? all.filter((d) => !opts.omit!.has(d.digest)) : all;
  const bytes = await writeLayoutTar(opts.out, blobSource(memory, extraOrigin), carried, index, {
    mtime: opts.sourceDateEpoch ?? 0,
    onProgress: (done, total) => opts.onProgress?.({ phase: 'write', done, total }),
  });
  if (opts.signatureOut) await writeFile(opts.signatureOut, sigstoreBundle);
  return { root, signature, index, statement, blobs: carried.length, bytes, omitted };
}

// verified passes a source stream through a verifier, so a damaged source blob fails the export
// instead of producing a bundle that every site would reject. Errors of either stream surface to the reader.
function verified(content: Readable, expected: Descriptor): Readable {
  const v = verifier(expected);
  pipeline(content, v).catch(() => undefined);
  return v;
}

export const OCI_LAYOUT_FILE = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

/** writeLayoutTar writes an OCI layout tar: entries sorted by name, deterministic headers, blobs streamed. */
export async function writeLayoutTar(
  out: string,
  source: ReadOnlyStorage,
  blobs: Descriptor[],
  index: Index,
  opts: { mtime?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<number> {
  const tmp = `${out}.partial-${process.pid}`;
  const file = createWriteStream(tmp, { flags: 'w', highWaterMark: 1 << 20 });
  const tar = new TarWriter(file, { mtime: opts.mtime ?? 0 });
  const sorted = [...new Map(blobs.map((b) => [b.digest, b])).values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const total = sorted.reduce((n, b) => n + b.size, 0);
  try {
    await tar.addDirectory('blobs/');
    await tar.addDirectory('blobs/sha256/');
    let done = 0;
    for (const b of sorted) {
      await tar.addFile(`blobs/sha256/${digestHex(b.digest)}`, b.size, verified(await source.fetch(b), b));
      done += b.size;
      opts.onProgress?.(done, total);
    }
    await tar.addFile('index.json', Buffer.byteLength(canonicalJSON(index)), Buffer.from(canonicalJSON(index)));
    await tar.addFile('oci-layout', OCI_LAYOUT_FILE.length, OCI_LAYOUT_FILE);
    await tar.finish();
    await finished(file);
    await rename(tmp, out);
  } catch (err) {
    file.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  return total;
}
