// Blobs that several clients download at once, kept in memory: when a fleet's nodes pull the same image,
// each download of a layer would read the same file again. A download of a blob that starts while another
// is still running starts reading the file once into memory, in the background; it is itself written from
// the file, as are the others until the read is done, and every later download is written from memory (a
// socket write, no file read). No download waits for the read: fresh memory costs a page fault per page, and
// on some machines filling a large buffer takes longer than sending the blob from its file. Only blobs whose
// stored bytes were already checked against their digest (blob-checks.ts) come here, so loading one is a
// plain read; a blob read alone, one client at a time, never takes memory.
//
// The memory is a hard bound: a blob is taken in only when the least recently used blobs that no download
// is writing can make room for it; otherwise it is served from its file, as if it were not hot.
import { readFile } from 'node:fs/promises';
import type { Descriptor } from '../../model/oci.js';
import { MemoryBody } from './file-body.js';

/** Default memory for hot blobs. */
export const HOT_BLOB_BYTES = 128 * 1024 * 1024;

interface Held {
  size: number;
  /** The bytes, once read (a blob still being read is not evicted, so the bound holds). */
  data?: Buffer;
  /** Downloads writing these bytes: while there are any, the blob stays. */
  readers: number;
}

/** HotBlobs counts the downloads of each blob from its file and holds the bytes of those downloaded at once. */
export class HotBlobs {
  readonly #maxBytes: number;
  readonly #maxBlob: number;
  // Least recently used first.
  readonly #held = new Map<string, Held>();
  readonly #active = new Map<string, number>();
  readonly #loads = new Set<Promise<void>>();
  #bytes = 0;

  /** `maxBytes` bounds the memory held (0: nothing is held); one blob may take at most half of it. */
  constructor(maxBytes = HOT_BLOB_BYTES) {
    this.#maxBytes = Math.max(0, maxBytes);
    this.#maxBlob = Math.floor(this.#maxBytes / 2);
  }

  /** bytesHeld is the memory the held blobs take now, those still being read included (at most `maxBytes`). */
  get bytesHeld(): number {
    return this.#bytes;
  }

  /**
   * body returns the blob as a MemoryBody when its bytes are held; undefined means: serve it from `file` (see
   * `track`). When another download of it runs and there is room, the file starts being read into memory for
   * the downloads that come after. The body must be closed (http.ts does) so that its blob can make room for
   * others.
   */
  body(desc: Descriptor, file: string): MemoryBody | undefined {
    const held = this.#touch(desc.digest);
    if (!held) this.#admit(desc, file);
    if (!held?.data) return undefined;
    held.readers++;
    return new MemoryBody(held.data, () => held.readers--);
  }

  /** settled resolves once every read into memory started so far has ended (its blob held, or dropped). */
  async settled(): Promise<void> {
    while (this.#loads.size > 0) await Promise.all(this.#loads);
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

  // admit starts reading `desc` into memory when another download of it runs and there is room for it. A read
  // that fails (the file gone, or not of the blob's size) is dropped: the downloads from the file report it.
  #admit(desc: Descriptor, file: string): void {
    if (!this.#active.get(desc.digest) || desc.size > this.#maxBlob || !this.#makeRoom(desc.size)) return;
    const entry: Held = { size: desc.size, readers: 0 };
    this.#held.set(desc.digest, entry);
    this.#bytes += desc.size;
    const load = readFile(file).then(
      (data) => {
        if (data.length === desc.size) entry.data = data;
        else this.#drop(desc.digest, entry);
      },
      () => this.#drop(desc.digest, entry),
    );
    this.#loads.add(load);
    void load.finally(() => this.#loads.delete(load));
  }

  // drop lets `entry` go and its memory with it, unless another entry has taken its place since.
  #drop(digest: string, entry: Held): void {
    if (this.#held.get(digest) !== entry) return;
    this.#held.delete(digest);
    this.#bytes -= entry.size;
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

  // makeRoom drops the least recently used blobs that are read and that no download is writing until `size`
  // more bytes fit; it tells whether they do.
  #makeRoom(size: number): boolean {
    for (const [digest, h] of this.#held) {
      if (this.#bytes + size <= this.#maxBytes) break;
      if (h.readers > 0 || !h.data) continue;
      this.#drop(digest, h);
    }
    return this.#bytes + size <= this.#maxBytes;
  }
}
