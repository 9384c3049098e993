// Blobs that several clients download at once, kept in memory: when a fleet's nodes pull the same image,
// each download of a layer would read the same file again. The second download of a blob that starts while
// another is still running reads the file once into memory, and it and every later download are written
// from there (a socket write, no file read). Only blobs whose stored bytes were already checked against
// their digest (blob-checks.ts) come here, so loading one is a plain read; a blob read alone, one client at
// a time, never takes memory.
//
// The memory is a hard bound: a blob is taken in only when the least recently used blobs that no download
// is writing can make room for it; otherwise it is served from its file, as if it were not hot.
import { readFile } from 'node:fs/promises';
import { ContentError } from '../../errors.js';
import type { Descriptor } from '../../model/oci.js';
import { MemoryBody } from './file-body.js';

/** Default memory for hot blobs. */
export const HOT_BLOB_BYTES = 128 * 1024 * 1024;

interface Held {
  size: number;
  data: Promise<Buffer>;
  /** Downloads writing (or waiting for) these bytes: while there are any, the blob stays. */
  readers: number;
}

/** HotBlobs counts the downloads of each blob from its file and holds the bytes of those downloaded at once. */
export class HotBlobs {
  readonly #maxBytes: number;
  readonly #maxBlob: number;
  // Least recently used first.
  readonly #held = new Map<string, Held>();
  readonly #active = new Map<string, number>();
  #bytes = 0;

  /** `maxBytes` bounds the memory held (0: nothing is held); one blob may take at most half of it. */
  constructor(maxBytes = HOT_BLOB_BYTES) {
    this.#maxBytes = Math.max(0, maxBytes);
    this.#maxBlob = Math.floor(this.#maxBytes / 2);
  }

  /** bytesHeld is the memory the held blobs take now (at most `maxBytes`). */
  get bytesHeld(): number {
    return this.#bytes;
  }

  /**
   * body returns the blob as a MemoryBody when it is held, or when another download of it is running and
   * there is room (then it is read from `file` once; a missing file is `missing()`, as FileBody.open has it);
   * undefined means: serve it from the file (see `track`). The body must be closed (http.ts does) so that its
   * blob can make room for others.
   */
  body(desc: Descriptor, file: string, missing: () => Error): Promise<MemoryBody> | undefined {
    const entry = this.#touch(desc.digest) ?? this.#admit(desc, file, missing);
    if (!entry) return undefined;
    entry.readers++;
    return entry.data.then(
      (data) => new MemoryBody(data, () => entry.readers--),
      (err: unknown) => {
        entry.readers--;
        throw err;
      },
    );
  }

  // touch returns the held blob `digest`, made the most recently used; undefined when it is not held.
  #touch(digest: string): Held | undefined {
    const held = this.#held.get(digest);
    if (held) {
      this.#held.delete(digest);
      this.#held.set(digest, held);
    }
    return held;
  }

  // admit starts reading `desc` into memory when another download of it runs and there is room for it.
  #admit(desc: Descriptor, file: string, missing: () => Error): Held | undefined {
    if (!this.#active.get(desc.digest) || desc.size > this.#maxBlob || !this.#makeRoom(desc.size)) return undefined;
    const entry: Held = { size: desc.size, data: load(desc, file, missing), readers: 0 };
    this.#held.set(desc.digest, entry);
    this.#bytes += desc.size;
    // A failed read is not kept: the next download tries again.
    entry.data.catch(() => {
      if (this.#held.get(desc.digest) !== entry) return;
      this.#held.delete(desc.digest);
      this.#bytes -= entry.size;
    });
    return entry;
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

  // makeRoom drops the least recently used blobs no download is writing until `size` more bytes fit; it
  // tells whether they do.
  #makeRoom(size: number): boolean {
    for (const [digest, h] of this.#held) {
      if (this.#bytes + size <= this.#maxBytes) break;
      if (h.readers > 0) continue;
      this.#held.delete(digest);
      this.#bytes -= h.size;
    }
    return this.#bytes + size <= this.#maxBytes;
  }
}

async function load(desc: Descriptor, file: string, missing: () => Error): Promise<Buffer> {
  const data = await readFile(file).catch((err: unknown) => Promise.reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? missing() : err));
  if (data.length !== desc.size) {
    throw new ContentError('SIZE_MISMATCH', `${file}: the stored blob ${desc.digest} is ${data.length} bytes, expected ${desc.size}`, { details: { digest: desc.digest, path: file } });
  }
  return data;
}
