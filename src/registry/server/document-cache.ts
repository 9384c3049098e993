// Verified manifests and indexes kept in memory, with their reply headers, up to a byte bound: a pull
// asks for the same few documents again and again, and stored content never changes under its digest.
import type { Descriptor } from '../../model/oci.js';

interface Cached {
  body: Promise<Buffer>;
  size: number;
  headers?: Record<string, string>;
}

/** DocumentCache keeps documents by digest, the least recently used dropped first beyond `maxBytes`. */
export class DocumentCache {
  readonly #maxBytes: number;
  readonly #docs = new Map<string, Cached>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** get returns the document of `d`, reading it with `read` (which verifies it) when it is not cached. */
  get(d: Descriptor, read: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.#docs.get(d.digest);
    if (hit) {
      this.#docs.delete(d.digest);
      this.#docs.set(d.digest, hit);
      return hit.body;
    }
    const body = read();
    // Concurrent readers share one read; a failed read is not kept (the next reader tries again).
    const entry: Cached = { body, size: 0 };
    this.#docs.set(d.digest, entry);
    body.then(
      (buf) => {
        if (this.#docs.get(d.digest) !== entry) return;
        entry.size = buf.length;
        this.#bytes += buf.length;
        this.#trim();
      },
      () => {
        if (this.#docs.get(d.digest) === entry) this.#docs.delete(d.digest);
      },
    );
    return body;
  }

  /** headers are the reply headers of a cached document `d` of `length` bytes (built once). */
  headers(d: Descriptor, length: number): Record<string, string> {
    const entry = this.#docs.get(d.digest);
    const make = () => ({ 'Content-Type': d.mediaType, 'Content-Length': String(length), 'Docker-Content-Digest': d.digest, ETag: `"${d.digest}"` });
    if (!entry) return make();
    if (entry.headers?.['Content-Type'] !== d.mediaType) entry.headers = make();
    return entry.headers;
  }

  #trim(): void {
    for (const [digest, e] of this.#docs) {
      if (this.#bytes <= this.#maxBytes) break;
      if (e.size === 0) continue; // still being read
      this.#docs.delete(digest);
      this.#bytes -= e.size;
    }
  }
}
