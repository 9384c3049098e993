// OciLayoutStore: a read/write OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/<hex>`).
// Reference: https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md
import { lstat, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ContentError, isAbortError } from '../../errors.js';
import {
  ANNOTATION_REF_NAME,
  MEDIA_TYPE_IMAGE_INDEX,
  MEDIA_TYPE_IMAGE_MANIFEST,
  type Descriptor,
  type Digest,
  type Index,
} from '../../model/oci.js';
import { indexFromJSON } from '../descriptor.js';
import { parseDigest } from '../digest.js';
import { isGraphNode, successorsOf } from '../graph.js';
import { alreadyExists, assertReference, checkSize, isDigestReference, notFound, referenceNotFound } from '../memory.js';
import type { BlobReading, OpOptions, PredecessorFinder, RangeFetcher, TagLister, Target } from '../storage.js';
import { BLOB_READ_CHUNK, DEFAULT_MAX_METADATA_BYTES, readAll, verifyBuffer } from '../verify.js';
import { blobPath, ingest, isFile, readSmallBlob, writeFileAtomic } from './ingest.js';

/** OCI_LAYOUT_VERSION is the only `imageLayoutVersion` this store reads and writes. */
export const OCI_LAYOUT_VERSION = '1.0.0';
export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';

export interface OciLayoutOpenOptions {
  /** Create the directory, `oci-layout`, an empty `index.json` and `blobs/sha256/` when missing. Default false. */
  create?: boolean;
}

/** BlobInfo is what a directory listing knows about a blob: its digest and its size on disk. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

const HEX64_RE = /^[a-f0-9]{64}$/;
const OCTET_STREAM = 'application/octet-stream';

/**
 * OciLayoutStore implements Target, TagLister and PredecessorFinder on an OCI image layout directory.
 * Blobs are published only by rename after verification (see ingest.ts); `index.json` is replaced
 * atomically on every tag change. Tags are the `org.opencontainers.image.ref.name` annotations of
 * `index.json` entries; one reference names one entry. Writers are serialized within a process; the
 * store does not lock against other processes writing the same directory.
 */
export class OciLayoutStore implements Target, TagLister, PredecessorFinder, RangeFetcher, BlobReading {
  readonly root: string;
  #manifests: Descriptor[];
  #indexAnnotations: Record<string, string> | undefined;
  readonly #known = new Map<Digest, Descriptor>();
  #predecessors: Map<Digest, Map<Digest, Descriptor>> | undefined;
  #generation = 0;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(root: string, index: Index) {
    this.root = root;
    this.#manifests = index.manifests;
    this.#indexAnnotations = index.annotations;
  }

  /** open reads the layout at `dir`; with `create`, missing parts are written first. */
  static async open(dir: string, opts: OciLayoutOpenOptions = {}): Promise<OciLayoutStore> {
    if (opts.create) await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const st = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        throw new ContentError('NOT_FOUND', `${dir}: OCI layout directory not found`, { cause: err, details: { path: dir } });
      }
      throw err;
    });
    if (!st.isDirectory()) {
      throw new ContentError('INVALID_LAYOUT', `${dir}: expected an OCI layout directory, found a ${st.isFile() ? 'file' : 'non-directory'}`, { details: { path: dir } });
    }

    const layoutPath = join(dir, OCI_LAYOUT_FILE);
    let layoutBuf = await readBounded(layoutPath);
    if (!layoutBuf && opts.create) {
      layoutBuf = Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }));
      await writeFileAtomic(layoutPath, layoutBuf);
    }
    if (!layoutBuf) throw new ContentError('INVALID_LAYOUT', `${layoutPath}: not found (expected an OCI image layout with imageLayoutVersion "${OCI_LAYOUT_VERSION}")`, { details: { path: layoutPath } });
    checkLayoutFile(layoutPath, layoutBuf);

    const indexPath = join(dir, INDEX_FILE);
    let indexBuf = await readBounded(indexPath);
    if (!indexBuf && opts.create) {
      indexBuf = Buffer.from(serializeIndex([], undefined));
      await writeFileAtomic(indexPath, indexBuf);
    }
    if (!indexBuf) throw new ContentError('INVALID_LAYOUT', `${indexPath}: not found (expected an image index)`, { details: { path: indexPath } });
    const index = indexFromJSON(indexBuf, indexPath);
    for (const [i, m] of index.manifests.entries()) {
      const ref = m.annotations?.[ANNOTATION_REF_NAME];
      if (ref !== undefined) assertReference(ref, `${indexPath}: manifests[${i}].annotations["${ANNOTATION_REF_NAME}"]`);
    }
    return new OciLayoutStore(dir, index);
  }

  /** fetch opens a blob for reading; the stream is unverified. Missing blobs fail with NOT_FOUND. */
  async fetch(target: Descriptor, opts?: OpOptions): Promise<Readable> {
    opts?.signal?.throwIfAborted();
    return (await this.#openBlob(target)).createReadStream({ highWaterMark: opts?.readSize ?? BLOB_READ_CHUNK });
  }

  /** readBlob reads a small blob at once (unverified); undefined for a larger one (stream it). Missing blobs fail with NOT_FOUND. */
  async readBlob(target: Descriptor, limit: number): Promise<Buffer | undefined> {
    const data = readSmallBlob(blobPath(this.root, target.digest), target, limit);
    if (data === null) throw notFound(target, this.root);
    return data;
  }

  /** fetchRange streams bytes `start`..`end` (inclusive) of a blob; the stream is unverified. */
  async fetchRange(target: Descriptor, start: number, end: number, opts?: OpOptions): Promise<Readable> {
    opts?.signal?.throwIfAborted();
    return (await this.#openBlob(target)).createReadStream({ start, end, highWaterMark: opts?.readSize ?? BLOB_READ_CHUNK });
  }

  /** blobFile is the path of a blob's file (validated digest; the file may be missing). */
  blobFile(target: Descriptor): string {
    return blobPath(this.root, target.digest);
  }

  async #openBlob(target: Descriptor) {
    const path = blobPath(this.root, target.digest);
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(target, this.root);
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new ContentError('INVALID_LAYOUT', `${path}: expected a regular file for ${target.digest}`, { details: { path, digest: target.digest } });
    } catch (err) {
      await fh.close();
      throw err;
    }
    return fh;
  }

  /** exists tells whether the blob file is present (its content is checked by whoever reads it). */
  async exists(target: Descriptor, opts?: OpOptions): Promise<boolean> {
    opts?.signal?.throwIfAborted();
    return isFile(blobPath(this.root, target.digest));
  }

  /** push verifies and publishes a blob (see ingest); present content fails with ALREADY_EXISTS. */
  async push(expected: Descriptor, content: Readable, opts?: OpOptions): Promise<void> {
    try {
      const path = blobPath(this.root, expected.digest);
      checkSize(expected);
      if (await isFile(path)) throw alreadyExists(expected, this.root);
    } catch (err) {
      content.destroy();
      throw err;
    }
    await ingest(this.root, expected, content, opts);
    this.#known.set(expected.digest, identity(expected));
    if (isGraphNode(expected)) this.#invalidate();
  }

  /** resolve returns the descriptor tagged `reference`, or the descriptor of a stored `sha256:` digest. */
  async resolve(reference: string, opts?: OpOptions): Promise<Descriptor> {
    opts?.signal?.throwIfAborted();
    if (!isDigestReference(reference)) {
      const entry = this.#manifests.find((m) => m.annotations?.[ANNOTATION_REF_NAME] === reference);
      if (!entry) throw referenceNotFound(reference, this.root);
      return identity(entry);
    }
    const digest = parseDigest(reference, 'reference');
    const path = blobPath(this.root, digest);
    if (!(await isFile(path))) throw referenceNotFound(reference, this.root);
    const entry = this.#manifests.find((m) => m.digest === digest) ?? this.#known.get(digest);
    if (entry) return identity(entry);
    return this.#sniff(digest, path);
  }

  /** tag points `reference` at `desc` (which must be stored) in `index.json`, replacing any entry of that name. */
  async tag(desc: Descriptor, reference: string, opts?: OpOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    assertReference(reference);
    parseDigest(desc.digest, 'descriptor.digest');
    checkSize(desc);
    if (!(await this.exists(desc))) throw notFound(desc, this.root);
    await this.#serial(async () => {
      const entry = identity(desc);
      entry.annotations = { ...entry.annotations, [ANNOTATION_REF_NAME]: reference };
      const next = this.#manifests.filter((m) => {
        const ref = m.annotations?.[ANNOTATION_REF_NAME];
        if (ref === reference) return false;
        // An untagged entry of the same content is superseded by the tagged one.
        return !(ref === undefined && m.digest === desc.digest);
      });
      next.push(entry);
      await this.#writeIndex(next);
    });
  }

  /**
   * tagAll points each reference at its descriptor (all stored) with one `index.json` write: tagging
   * hundreds of references one by one would rewrite the index hundreds of times.
   */
  async tagAll(entries: { desc: Descriptor; reference: string }[], opts?: OpOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    for (const { desc, reference } of entries) {
      assertReference(reference);
      parseDigest(desc.digest, 'descriptor.digest');
      checkSize(desc);
    }
    // Looked up together: one after another, a fleet's thousands of references wait for as many round trips.
    const held = await Promise.allSettled(entries.map((e) => this.exists(e.desc)));
    for (const [i, h] of held.entries()) {
      if (h.status === 'rejected') throw h.reason;
      if (!h.value) throw notFound(entries[i]!.desc, this.root);
    }
    if (!entries.length) return;
    await this.#serial(async () => {
      const refs = new Set(entries.map((e) => e.reference));
      const digests = new Set(entries.map((e) => e.desc.digest));
      const next = this.#manifests.filter((m) => {
        const ref = m.annotations?.[ANNOTATION_REF_NAME];
        return ref === undefined ? !digests.has(m.digest) : !refs.has(ref);
      });
      for (const { desc, reference } of entries) {
        const entry = identity(desc);
        entry.annotations = { ...entry.annotations, [ANNOTATION_REF_NAME]: reference };
        next.push(entry);
      }
      await this.#writeIndex(next);
    });
  }

  /** untag removes the `index.json` entry named `reference`; unknown references fail with NOT_FOUND. */
  async untag(reference: string, opts?: OpOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    await this.#serial(async () => {
      const next = this.#manifests.filter((m) => m.annotations?.[ANNOTATION_REF_NAME] !== reference);
      if (next.length === this.#manifests.length) throw referenceNotFound(reference, this.root);
      await this.#writeIndex(next);
    });
  }

  /** tags lists the references named in `index.json`, sorted. */
  async tags(opts?: OpOptions): Promise<string[]> {
    opts?.signal?.throwIfAborted();
    const refs = new Set<string>();
    for (const m of this.#manifests) {
      const ref = m.annotations?.[ANNOTATION_REF_NAME];
      if (ref !== undefined) refs.add(ref);
    }
    return [...refs].sort();
  }

  /** manifests returns the entries of `index.json` as last written or read. */
  manifests(): Descriptor[] {
    return this.#manifests.map(identity);
  }

  /**
   * predecessors lists the manifests and indexes that point at `node`. The edges are computed on
   * first use by walking the graph from `index.json` and from the manifests pushed through this
   * instance; every document read is verified against its digest, and ones that do not verify or
   * parse contribute no edges.
   */
  async predecessors(node: Descriptor, opts?: OpOptions): Promise<Descriptor[]> {
    opts?.signal?.throwIfAborted();
    const graph = this.#predecessors ?? (await this.#buildPredecessors(opts));
    return [...(graph.get(node.digest)?.values() ?? [])].map(identity);
  }

  /** listBlobs yields the blobs in `blobs/sha256/` (names that are not 64 lowercase hex characters are skipped). */
  async *listBlobs(): AsyncIterable<BlobInfo> {
    const dir = join(this.root, 'blobs', 'sha256');
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names.sort()) {
      if (!HEX64_RE.test(name)) continue;
      const st = await lstat(join(dir, name)).catch(() => undefined);
      if (st?.isFile()) yield { digest: `sha256:${name}`, size: st.size };
    }
  }

  /** deleteBlob removes a blob file; a missing blob fails with NOT_FOUND. It does not check references. */
  async deleteBlob(digest: Digest): Promise<void> {
    const path = blobPath(this.root, digest);
    try {
      await rm(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw referenceNotFound(digest, this.root);
      throw err;
    }
    this.#known.delete(digest);
    this.#invalidate();
  }

  #invalidate(): void {
    this.#generation++;
    this.#predecessors = undefined;
  }

  // #serial runs index.json updates one at a time, so concurrent tags in one process never lose an update.
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #writeIndex(next: Descriptor[]): Promise<void> {
    await writeFileAtomic(join(this.root, INDEX_FILE), serializeIndex(next, this.#indexAnnotations));
    this.#manifests = next;
    this.#invalidate();
  }

  async #buildPredecessors(opts?: OpOptions): Promise<Map<Digest, Map<Digest, Descriptor>>> {
    const generation = this.#generation;
    const graph = new Map<Digest, Map<Digest, Descriptor>>();
    const queue: Descriptor[] = [...this.#manifests, ...[...this.#known.values()].filter(isGraphNode)];
    const seen = new Set<Digest>();
    while (queue.length > 0) {
      const node = queue.shift()!;
      if (seen.has(node.digest) || !isGraphNode(node)) continue;
      seen.add(node.digest);
      let children: Descriptor[];
      try {
        const body = await readAll(await this.fetch(node, opts), node, { limit: DEFAULT_MAX_METADATA_BYTES });
        children = successorsOf(node, body);
      } catch (err) {
        if (isAbortError(err)) throw err;
        continue;
      }
      for (const child of children) {
        let preds = graph.get(child.digest);
        if (!preds) graph.set(child.digest, (preds = new Map()));
        preds.set(node.digest, identity(node));
        if (isGraphNode(child) && !seen.has(child.digest)) queue.push(child);
      }
    }
    if (generation === this.#generation) this.#predecessors = graph;
    return graph;
  }

  // #sniff finds the media type of a blob that is neither in index.json nor pushed by this instance:
  // small JSON documents name theirs; anything else is an octet stream.
  async #sniff(digest: Digest, path: string): Promise<Descriptor> {
    const st = await lstat(path);
    const desc: Descriptor = { mediaType: OCTET_STREAM, digest, size: st.size };
    if (st.size > DEFAULT_MAX_METADATA_BYTES) return desc;
    const body = await readAll(await this.fetch(desc), desc);
    verifyBuffer(body, desc);
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      return desc;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return desc;
    const d = doc as Record<string, unknown>;
    if (typeof d.mediaType === 'string') desc.mediaType = d.mediaType;
    else if (Array.isArray(d.manifests)) desc.mediaType = MEDIA_TYPE_IMAGE_INDEX;
    else if (Array.isArray(d.layers) && typeof d.config === 'object') desc.mediaType = MEDIA_TYPE_IMAGE_MANIFEST;
    if (typeof d.artifactType === 'string') desc.artifactType = d.artifactType;
    return desc;
  }
}

// identity copies the parts of a descriptor that travel with a reference; the ref name annotation
// is index.json bookkeeping and is removed.
function identity(desc: Descriptor): Descriptor {
  const d: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (desc.artifactType !== undefined) d.artifactType = desc.artifactType;
  if (desc.platform !== undefined) d.platform = desc.platform;
  if (desc.annotations !== undefined) {
    const { [ANNOTATION_REF_NAME]: _ref, ...rest } = desc.annotations;
    if (Object.keys(rest).length > 0) d.annotations = rest;
  }
  return d;
}

function serializeIndex(manifests: Descriptor[], annotations: Record<string, string> | undefined): string {
  const idx: Index = { schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_INDEX, manifests };
  if (annotations) idx.annotations = annotations;
  return `${JSON.stringify(idx, null, 2)}\n`;
}

/** checkLayoutFile checks an `oci-layout` document (`where` names it in errors): JSON with imageLayoutVersion 1.0.0. */
export function checkLayoutFile(where: string, buf: Buffer): void {
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new ContentError('INVALID_LAYOUT', `${where}: not valid JSON: ${(err as Error).message}`, { cause: err, details: { file: where } });
  }
  const found = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).imageLayoutVersion : undefined;
  if (found !== OCI_LAYOUT_VERSION) {
    throw new ContentError('INVALID_LAYOUT', `${where}: imageLayoutVersion: expected "${OCI_LAYOUT_VERSION}", found ${JSON.stringify(found)}`, {
      details: { file: where, field: 'imageLayoutVersion', expected: OCI_LAYOUT_VERSION, found },
    });
  }
}

// readBounded reads a small metadata file, or returns undefined when it does not exist.
async function readBounded(path: string, limit = DEFAULT_MAX_METADATA_BYTES): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ContentError('INVALID_LAYOUT', `${path}: expected a regular file`, { details: { path } });
    if (st.size > limit) {
      throw new ContentError('SIZE_EXCEEDS_LIMIT', `${path}: size ${st.size} exceeds the limit of ${limit} bytes`, { details: { path, expected: `<= ${limit}`, found: st.size } });
    }
    const buf = await fh.readFile();
    if (buf.length > limit) {
      throw new ContentError('SIZE_EXCEEDS_LIMIT', `${path}: size ${buf.length} exceeds the limit of ${limit} bytes`, { details: { path, expected: `<= ${limit}`, found: buf.length } });
    }
    return buf;
  } finally {
    await fh.close();
  }
}
