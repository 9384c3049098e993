// TarLayoutStore: a read-only view of an OCI layout tar that serves blobs straight from the archive by
// offset, with no extraction (after oras tarfs). Opening it scans and checks every header (tar-scan.ts)
// and reads `oci-layout` and `index.json` under size limits; blob bytes are verified by their readers.
import { createReadStream, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ContentError } from '../errors.js';
import { ANNOTATION_REF_NAME, type Descriptor, type Digest, type Index } from '../model/oci.js';
import { indexFromJSON } from './descriptor.js';
import { checkLayoutFile } from './oci-layout/store.js';
import { parseDigest } from './digest.js';
import { isDigestReference, notFound, referenceNotFound } from './memory.js';
import type { OpOptions, RangeFetcher, ReadOnlyTarget, TagLister } from './storage.js';
import { fileSource, scanTar, type ByteSource, type TarEntry, type TarScanOptions } from './tar-scan.js';
import { BLOB_READ_CHUNK, DEFAULT_MAX_METADATA_BYTES } from './verify.js';

export interface TarLayoutOpenOptions extends TarScanOptions {
  /** Largest `index.json` read into memory. Default 4 MiB. */
  maxMetadataBytes?: number;
}

/** TarLayoutStore implements ReadOnlyTarget and TagLister over a layout tar on disk. */
export class TarLayoutStore implements ReadOnlyTarget, TagLister, RangeFetcher {
  readonly file: string;
  readonly #blobs: Map<Digest, TarEntry>;
  readonly #index: Index;
  /** Archive size in bytes. */
  readonly size: number;

  private constructor(file: string, blobs: Map<Digest, TarEntry>, index: Index, size: number) {
    this.file = file;
    this.#blobs = blobs;
    this.#index = index;
    this.size = size;
  }

  /** open scans `file` and parses its `oci-layout` and `index.json`. */
  static async open(file: string, opts: TarLayoutOpenOptions = {}): Promise<TarLayoutStore> {
    let fh;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ContentError('NOT_FOUND', `${file}: cannot open the bundle (${code ?? (err as Error).message})`, { cause: err, details: { file } });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new ContentError('INVALID_TAR', `${file}: expected a bundle file (tar), found a directory or special file`, { details: { file } });
      // The scan and the two documents use each read before making the next.
      const src = fileSource(fh, undefined, { reuse: true });
      const scan = await scanTar(src, { source: file, size: st.size, ...opts });
      const limit = opts.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES;
      const layout = scan.files.get('oci-layout');
      if (!layout) throw new ContentError('INVALID_LAYOUT', `${file}: no oci-layout entry: not an OCI image layout tar`, { details: { file, entry: 'oci-layout' } });
      checkLayoutFile(`${file}: oci-layout`, await readEntry(src, layout, 4096, file));
      const indexEntry = scan.files.get('index.json');
      if (!indexEntry) throw new ContentError('INVALID_LAYOUT', `${file}: no index.json entry: not an OCI image layout tar`, { details: { file, entry: 'index.json' } });
      const index = indexFromJSON(await readEntry(src, indexEntry, limit, file), `${file}: index.json`);
      return new TarLayoutStore(file, scan.blobs, index, scan.size);
    } finally {
      await fh.close();
    }
  }

  // entry finds a blob's entry; a digest the archive holds was checked when its name was scanned, any other is
  // parsed (and refused when malformed).
  #entry(target: Descriptor): TarEntry | undefined {
    const entry = this.#blobs.get(target.digest as Digest);
    if (!entry) parseDigest(target.digest, 'descriptor.digest');
    return entry;
  }

  /** index returns the parsed `index.json`. */
  index(): Index {
    return this.#index;
  }

  /** blobs lists every blob in the archive with its stored size. */
  blobs(): { digest: Digest; size: number }[] {
    return [...this.#blobs].map(([digest, e]) => ({ digest, size: e.size }));
  }

  /** fetch streams a blob's bytes from the archive; the stream is unverified. */
  async fetch(target: Descriptor, opts?: OpOptions): Promise<Readable> {
    opts?.signal?.throwIfAborted();
    const entry = this.#entry(target);
    if (!entry) throw notFound(target, this.file);
    // A hostile descriptor may claim another size; read the stored bytes and let the verifier judge.
    if (entry.size === 0) return Readable.from([]);
    return createReadStream(this.file, { start: entry.offset, end: entry.offset + entry.size - 1, highWaterMark: BLOB_READ_CHUNK });
  }

  /** fetchRange streams bytes `start`..`end` (inclusive) of a blob; the stream is unverified. */
  async fetchRange(target: Descriptor, start: number, end: number): Promise<Readable> {
    const entry = this.#entry(target);
    if (!entry) throw notFound(target, this.file);
    if (start < 0 || end >= entry.size || start > end) throw new ContentError('SIZE_MISMATCH', `${target.digest}: range ${start}-${end} is outside the blob's ${entry.size} bytes`, { details: { digest: target.digest, found: `${start}-${end}` } });
    return createReadStream(this.file, { start: entry.offset + start, end: entry.offset + end, highWaterMark: BLOB_READ_CHUNK });
  }

  /** locate says where a blob's bytes are in the archive (for readers that hash by position), or undefined. */
  locate(target: Descriptor): BlobLocation | undefined {
    const entry = this.#entry(target);
    return entry ? { file: this.file, offset: entry.offset, size: entry.size } : undefined;
  }

  /** exists tells whether the archive holds the blob. */
  async exists(target: Descriptor): Promise<boolean> {
    return this.#entry(target) !== undefined;
  }

  /** resolve finds an `index.json` entry by ref name or digest. */
  async resolve(reference: string): Promise<Descriptor> {
    const entry = isDigestReference(reference)
      ? this.#index.manifests.find((m) => m.digest === reference)
      : this.#index.manifests.find((m) => m.annotations?.[ANNOTATION_REF_NAME] === reference);
    if (!entry) throw referenceNotFound(reference, this.file);
    return entry;
  }

  /** tags lists the ref names of `index.json`, sorted. */
  async tags(): Promise<string[]> {
    return this.#index.manifests.flatMap((m) => m.annotations?.[ANNOTATION_REF_NAME] ?? []).sort();
  }
}

/** BlobLocation is where a blob's bytes lie in an archive. */
export interface BlobLocation {
  file: string;
  offset: number;
  size: number;
}

// SEQUENTIAL_WINDOW is how much TarBlobReader.next reads at once: blobs of a few KB each cost one read per
// window instead of one open, read and close each.
const SEQUENTIAL_WINDOW = 4 * 1024 * 1024;
// SYNC_READ_MAX is the largest read TarBlobReader.read makes without the thread pool.
const SYNC_READ_MAX = 256 * 1024;

/**
 * TarBlobReader reads blobs of archives by position through one open handle per archive: `read` exactly what
 * is asked (documents read in graph order), `next` through a large read-ahead window (blobs read in archive
 * order). Close it when done.
 */
export class TarBlobReader {
  readonly #files = new Map<string, Promise<{ fh: FileHandle; exact: ByteSource; ahead: ByteSource }>>();

  #open(file: string) {
    let f = this.#files.get(file);
    if (!f) {
      f = open(file, 'r').then((fh) => ({ fh, exact: fileSource(fh, 0), ahead: fileSource(fh, SEQUENTIAL_WINDOW, { reuse: true }) }));
      this.#files.set(file, f);
    }
    return f;
  }

  async #read(loc: BlobLocation, how: 'exact' | 'ahead'): Promise<Buffer> {
    if (loc.size === 0) return Buffer.alloc(0);
    return this.#whole(loc, await (await this.#open(loc.file))[how].read(loc.offset, loc.size));
  }

  #whole(loc: BlobLocation, buf: Buffer): Buffer {
    if (buf.length !== loc.size) throw new ContentError('INVALID_TAR', `${loc.file}: ends inside a blob at byte ${loc.offset + buf.length} (the file changed while it was read)`, { details: { file: loc.file, offset: loc.offset } });
    return buf;
  }

  /**
   * read returns the bytes at `loc` (a buffer of its own). Small reads (a manifest) are made at once: a graph
   * walk reads thousands of them one after another, and a thread-pool round trip each costs more than the read.
   */
  async read(loc: BlobLocation): Promise<Buffer> {
    if (loc.size > SYNC_READ_MAX) return this.#read(loc, 'exact');
    const { fh } = await this.#open(loc.file);
    const buf = Buffer.allocUnsafe(loc.size);
    let got = 0;
    for (let n = -1; got < loc.size && n !== 0; got += n) n = readSync(fh.fd, buf, got, loc.size - got, loc.offset + got);
    return this.#whole(loc, buf.subarray(0, got));
  }

  /**
   * next returns the bytes at `loc` from the read-ahead window: cheap when locations come in archive order. The
   * window is reused: what next returns is valid until the next call (copy what must live longer).
   */
  next(loc: BlobLocation): Promise<Buffer> {
    return this.#read(loc, 'ahead');
  }

  async close(): Promise<void> {
    const files = [...this.#files.values()];
    this.#files.clear();
    for (const f of files) await (await f.catch(() => undefined))?.fh.close();
  }
}

async function readEntry(src: ReturnType<typeof fileSource>, entry: TarEntry, limit: number, file: string): Promise<Buffer> {
  if (entry.size > limit) {
    throw new ContentError('SIZE_EXCEEDS_LIMIT', `${file}: ${entry.name} is ${entry.size} bytes, more than the limit of ${limit}`, { details: { file, entry: entry.name, expected: `<= ${limit}`, found: entry.size } });
  }
  return src.read(entry.offset, entry.size);
}
