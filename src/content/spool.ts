// BlobSpool keeps blobs in one temporary file instead of memory: a writer that makes many small blobs
// (a bundle's per-cluster configuration) appends each as it is made and keeps only its offset, then reads
// them back in whatever order it writes them out. Appends are gathered into large writes.
import { readSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Descriptor } from '../model/oci.js';
import { sha256 } from './digest.js';
import { notFound } from './memory.js';
import type { RangeFetcher, Storage } from './storage.js';
import { readAll } from './verify.js';
import { ContentError } from '../errors.js';

/** Appends are written once this many bytes are pending. */
const WRITE_BATCH = 1 << 20;

/** BlobSpool stores blobs in the file at `path`, which it creates and removes (close). */
export class BlobSpool implements Storage, RangeFetcher {
  readonly #fh: FileHandle;
  readonly #path: string;
  readonly #at = new Map<string, { offset: number; size: number }>();
  #pending: Buffer[] = [];
  /** End of what is handed to a write; pending bytes follow it. */
  #flushed = 0;
  #end = 0;
  /** The writes handed out so far, in order: a read waits for them. */
  #written: Promise<void> = Promise.resolve();

  private constructor(fh: FileHandle, path: string) {
    this.#fh = fh;
    this.#path = path;
  }

  /** create makes the spool file (it must not exist). */
  static async create(path: string): Promise<BlobSpool> {
    return new BlobSpool(await open(path, 'wx+', 0o600), path);
  }

  /** has tells whether a blob of this digest is spooled. */
  has(digest: string): boolean {
    return this.#at.has(digest);
  }

  /** add spools `data`, whose descriptor the caller computed from it (a no-op when already spooled). */
  async add(desc: Descriptor, data: Buffer): Promise<void> {
    if (this.#at.has(desc.digest)) return;
    if (data.length !== desc.size) {
      throw new ContentError('SIZE_MISMATCH', `${desc.digest}: expected ${desc.size} bytes, got ${data.length}`, { details: { expected: desc.size, found: data.length } });
    }
    this.#at.set(desc.digest, { offset: this.#end, size: data.length });
    this.#pending.push(data);
    this.#end += data.length;
    if (this.#end - this.#flushed >= WRITE_BATCH) await this.#flush();
  }

  // flush hands the pending bytes to a write after the ones before it and waits for all of them.
  #flush(): Promise<void> {
    const buffers = this.#pending;
    const position = this.#flushed;
    const length = this.#end - position;
    this.#pending = [];
    this.#flushed = this.#end;
    const write = async () => {
      let done = 0;
      while (done < length) {
        const { bytesWritten } = await this.#fh.writev(done === 0 ? buffers : [Buffer.concat(buffers).subarray(done)], position + done);
        done += bytesWritten;
      }
    };
    this.#written = this.#written.then(write);
    return this.#written;
  }

  /**
   * read returns a spooled blob's bytes (not verified: see fetch). The read is synchronous: the blobs are
   * small and were just written (in the page cache), and one thread-pool round trip each costs more.
   */
  async read(desc: Descriptor): Promise<Buffer> {
    const at = this.#located(desc);
    const buf = Buffer.allocUnsafe(at.size);
    await this.#readInto(at, buf);
    return buf;
  }

  /** readVerified returns a spooled blob's bytes, checked against its digest. */
  async readVerified(desc: Descriptor): Promise<Buffer> {
    const data = await this.read(desc);
    this.#check(desc, data);
    return data;
  }

  /** readVerifiedInto reads a spooled blob into `into` (exactly its size), checked against its digest. */
  async readVerifiedInto(desc: Descriptor, into: Buffer): Promise<void> {
    const at = this.#located(desc);
    if (into.length !== at.size) throw new ContentError('SIZE_MISMATCH', `${desc.digest}: a buffer of ${into.length} bytes cannot hold the spooled ${at.size}`, { details: { expected: at.size, found: into.length } });
    await this.#readInto(at, into);
    this.#check(desc, into);
  }

  #located(desc: Descriptor): { offset: number; size: number } {
    const at = this.#at.get(desc.digest);
    if (!at || at.size !== desc.size) throw notFound(desc, 'spool');
    return at;
  }

  // readInto reads the spooled bytes at `at` into `buf` (of their size), once the writes before them are done.
  async #readInto(at: { offset: number; size: number }, buf: Buffer): Promise<void> {
    await (at.offset + at.size > this.#flushed ? this.#flush() : this.#written);
    let done = 0;
    while (done < at.size) {
      const bytesRead = readSync(this.#fh.fd, buf, done, at.size - done, at.offset + done);
      if (bytesRead === 0) throw new ContentError('SIZE_MISMATCH', `${this.#path}: spool ends early`, { details: { expected: at.offset + at.size } });
      done += bytesRead;
    }
  }

  #check(desc: Descriptor, data: Buffer): void {
    const found = sha256(data);
    if (found !== desc.digest) {
      throw new ContentError('DIGEST_MISMATCH', `${desc.digest}: spooled bytes in ${this.#path} do not match the digest`, { details: { expected: desc.digest, found } });
    }
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return this.#at.has(desc.digest);
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    return Readable.from([await this.read(desc)], { objectMode: false });
  }

  async fetchRange(desc: Descriptor, start: number, end: number): Promise<Readable> {
    return Readable.from([(await this.read(desc)).subarray(start, end + 1)], { objectMode: false });
  }

  /** push reads `content` (a blob of at most `desc.size` bytes, verified) and spools it. */
  async push(desc: Descriptor, content: Readable): Promise<void> {
    const data = await readAll(content, desc, { limit: Math.max(desc.size, 0) });
    await this.add(desc, data);
  }

  /** close removes the spool file. */
  async close(): Promise<void> {
    await this.#written.catch(() => undefined);
    await this.#fh.close().catch(() => undefined);
    await rm(this.#path, { force: true });
  }
}
