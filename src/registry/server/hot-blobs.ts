// Blobs that several clients download at once, kept in memory: when a fleet's nodes pull the same image,
// each download of a layer would read the same file again. The second download of a blob that starts while
// another is still running reads the file once into memory, and it and every later download are written
// from there (a socket write, no file read), until the least recently used blobs make room for others.
// Only blobs whose stored bytes were already checked against their digest (blob-checks.ts) come here, so
// loading one is a plain read; a blob read alone, one client at a time, never takes memory.
import { readFile } from 'node:fs/promises';
import { ContentError } from '../../errors.js';
import type { Descriptor } from '../../model/oci.js';
import { DocumentCache } from './document-cache.js';

/** Default memory for hot blobs (the least recently used go first beyond it). */
export const HOT_BLOB_BYTES = 128 * 1024 * 1024;

/** HotBlobs tracks downloads per blob and holds the bytes of those downloaded concurrently. */
export class HotBlobs {
  readonly #cache: DocumentCache | undefined;
  readonly #maxBlob: number;
  readonly #active = new Map<string, number>();

  /** `maxBytes` bounds the memory held (0: nothing is held); one blob may take at most half of it. */
  constructor(maxBytes = HOT_BLOB_BYTES) {
    this.#cache = maxBytes > 0 ? new DocumentCache(maxBytes) : undefined;
    this.#maxBlob = Math.floor(maxBytes / 2);
  }

  /**
   * bytes returns the blob's bytes from memory when it is held, or when another download of it is running
   * (then it is read from `file` once and held); undefined means: serve it from the file, as `track` counts.
   */
  bytes(desc: Descriptor, file: string): Promise<Buffer> | undefined {
    const cache = this.#cache;
    if (!cache || desc.size > this.#maxBlob) return undefined;
    if (!cache.has(desc) && !this.#active.get(desc.digest)) return undefined;
    return cache.get(desc, async () => {
      const data = await readFile(file);
      if (data.length !== desc.size) {
        throw new ContentError('SIZE_MISMATCH', `${file}: the stored blob ${desc.digest} is ${data.length} bytes, expected ${desc.size}`, { details: { digest: desc.digest, path: file } });
      }
      return data;
    });
  }

  /** track counts a download of `desc` from its file until the returned function is called (once). */
  track(desc: Descriptor): () => void {
    this.#active.set(desc.digest, (this.#active.get(desc.digest) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.#active.get(desc.digest) ?? 1) - 1;
      if (n > 0) this.#active.set(desc.digest, n);
      else this.#active.delete(desc.digest);
    };
  }
}
