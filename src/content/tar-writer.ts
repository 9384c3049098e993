// TarWriter writes a deterministic tar stream: fixed headers (see encodeHeader), data streamed with
// backpressure, and the exact declared size enforced so a short or long source can never corrupt the archive.
import type { Readable, Writable } from 'node:stream';
import { ContentError } from '../errors.js';
import { forEachChunk } from './file-chunks.js';
import { BLOCK, encodeHeader, encodeHeaderInto, padding } from './tar-header.js';

/** BATCH is the size of the two buffers small entries are gathered in (addFileInto), each written whole. */
export const BATCH = 1 << 20;

export interface TarWriterOptions {
  /** Modification time of every entry, in seconds (SOURCE_DATE_EPOCH). Default 0. */
  mtime?: number;
}

/** TarWriter appends entries to `out`; call finish() once to write the end-of-archive marker. */
export class TarWriter {
  readonly #out: Writable;
  readonly #mtime: number;
  #written = 0;
  /** Two buffers filled in turn by addFileInto; one may be in a write while the other fills. */
  readonly #batches: Buffer[] = [];
  readonly #busy: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  #current = 0;
  #filled = 0;

  constructor(out: Writable, opts: TarWriterOptions = {}) {
    this.#out = out;
    this.#mtime = opts.mtime ?? 0;
  }

  /** bytesWritten counts the archive bytes written so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  async #write(chunk: Buffer): Promise<void> {
    await this.#flushBatch();
    this.#written += chunk.length;
    if (!this.#out.write(chunk)) await drained(this.#out);
  }

  /** addDirectory writes a directory entry (the name should end with `/`). */
  async addDirectory(name: string): Promise<void> {
    await this.#write(encodeHeader({ name, type: 'directory', size: 0, mtime: this.#mtime }));
  }

  /** addFile writes a regular file of exactly `size` bytes from `content`. */
  async addFile(name: string, size: number, content: Readable | Buffer): Promise<void> {
    await this.#write(encodeHeader({ name, type: 'file', size, mtime: this.#mtime }));
    let seen = 0;
    const tooLong = () => new ContentError('SIZE_MISMATCH', `${name}: expected ${size} bytes, the source gave more`, { details: { expected: size, found: seen } });
    if (Buffer.isBuffer(content)) {
      seen = content.length;
      if (seen > size) throw tooLong();
      await this.#write(content);
    } else {
      try {
        for await (const chunk of content) {
          const buf = chunk as Buffer;
          seen += buf.length;
          if (seen > size) throw tooLong();
          await this.#write(buf);
        }
      } finally {
        content.destroy();
      }
    }
    if (seen !== size) {
      throw new ContentError('SIZE_MISMATCH', `${name}: expected ${size} bytes, the source gave ${seen}`, { details: { expected: size, found: seen } });
    }
    const pad = padding(size);
    if (pad) await this.#write(Buffer.alloc(pad));
  }

  /**
   * addFileFrom writes a regular file entry with the `size` bytes of the file at `path`, read into reused
   * buffers (no stream, no allocation per chunk). A file of another size fails with SIZE_MISMATCH.
   */
  async addFileFrom(name: string, size: number, path: string): Promise<void> {
    await this.#write(encodeHeader({ name, type: 'file', size, mtime: this.#mtime }));
    // Each chunk's buffer is reused once its write has completed, so wait for the write itself, not 'drain'.
    await forEachChunk(path, size, (chunk) => this.#writeThrough(chunk));
    const pad = padding(size);
    if (pad) await this.#write(Buffer.alloc(pad));
  }

  async #writeThrough(chunk: Buffer): Promise<void> {
    await this.#flushBatch();
    this.#written += chunk.length;
    await this.#writeDone(chunk);
  }

  #writeDone(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#out.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * addFileInto writes a regular file of `size` bytes that `read` puts into the buffer it is given (exactly
   * `size` bytes). Small entries are gathered, header, data and padding, into one of two reused buffers that
   * is written whole: a bundle's thousands of small blobs cost neither a write nor an allocation each.
   */
  async addFileInto(name: string, size: number, read: (into: Buffer) => void | Promise<void>): Promise<void> {
    const footprint = BLOCK + size + padding(size);
    if (footprint > BATCH) {
      const data = Buffer.allocUnsafe(size);
      await read(data);
      return this.addFile(name, size, data);
    }
    if (this.#filled + footprint > BATCH) await this.#flushBatch();
    this.#batches[this.#current] ??= Buffer.allocUnsafe(BATCH);
    const batch = this.#batches[this.#current]!;
    const at = this.#filled;
    encodeHeaderInto(batch, at, { name, type: 'file', size, mtime: this.#mtime });
    await read(batch.subarray(at + BLOCK, at + BLOCK + size));
    batch.fill(0, at + BLOCK + size, at + footprint);
    this.#filled += footprint;
    this.#written += footprint;
  }

  // flushBatch hands the filled part of the current buffer to a write and, before the other buffer is filled,
  // waits for that buffer's own write to complete.
  async #flushBatch(): Promise<void> {
    if (this.#filled === 0) return;
    const k = this.#current;
    this.#busy[k] = this.#writeDone(this.#batches[k]!.subarray(0, this.#filled));
    // A failed write is reported when its buffer is next waited for (below, or in finish).
    this.#busy[k]!.catch(() => undefined);
    this.#current = k ^ 1;
    this.#filled = 0;
    await this.#busy[this.#current];
  }

  /** finish writes two zero blocks and ends the output stream. */
  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(BLOCK * 2));
    await Promise.all(this.#busy);
    this.#out.end();
  }
}

/**
 * abandonOutput destroys an output whose archive is being discarded and waits until it is closed. A file
 * stream destroyed while a write is in flight waits for that write and then reports ERR_STREAM_DESTROYED as
 * an 'error' event: expected here, so it is caught instead of crashing the process.
 */
export async function abandonOutput(out: Writable): Promise<void> {
  out.on('error', () => undefined);
  if (out.closed) return;
  const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
  out.destroy();
  await closed;
}

// drained waits for 'drain' and rejects on 'error', removing both listeners either way: racing two
// once() promises would leave one listener behind per wait (thousands on a multi-GB archive).
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      out.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      out.off('drain', onDrain);
      reject(err);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}
