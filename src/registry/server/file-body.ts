// A reply body read straight from a file (a stored blob). It is written to the connection's socket in
// large reads through buffers reused from a small pool: no stream objects per chunk and no fresh buffer
// per read, so a download costs the read and the socket write and little else. On loopback with 4 and
// 16 curl clients this served a blob in 0.8–0.9x the time a file ReadStream piped to the response took.
// A MemoryBody is the same for a blob held in memory (hot-blobs.ts): one socket write, no read at all.
import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { ContentError } from '../../errors.js';

/** Bytes per read and per socket write; two are in flight per download (one read while one is written). */
export const FILE_BODY_CHUNK = 1024 * 1024;
/** Buffers kept for reuse between downloads (at most this many MiB held while idle). */
const POOL_MAX = 32;
const pool: Buffer[] = [];

const take = (): Buffer => pool.pop() ?? Buffer.allocUnsafeSlow(FILE_BODY_CHUNK);
const give = (b: Buffer): void => {
  if (pool.length < POOL_MAX) pool.push(b);
};

/** FileBody is `length` bytes of an open file from `start`; it owns the handle until close(). */
export class FileBody {
  readonly #fh: FileHandle;
  readonly #path: string;
  readonly start: number;
  readonly length: number;
  readonly #onClose: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  private constructor(fh: FileHandle, path: string, start: number, length: number, onClose?: () => void) {
    this.#fh = fh;
    this.#path = path;
    this.start = start;
    this.length = length;
    this.#onClose = onClose;
  }

  /**
   * open opens `path` for the body; a missing file is `missing()` (for the caller's NOT_FOUND). `onClose` is
   * called once, when the body is closed or could not be opened.
   */
  static async open(path: string, start: number, length: number, missing: () => Error, onClose?: () => void): Promise<FileBody> {
    try {
      return new FileBody(await open(path, 'r'), path, start, length, onClose);
    } catch (err) {
      onClose?.();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing();
      throw err;
    }
  }

  /**
   * writeTo writes the bytes to `out`, reading the next chunk while the previous one is written. It fails
   * when the file ends early (the caller cuts the connection: the client sees a short read) or `out` fails.
   */
  async writeTo(out: Writable): Promise<void> {
    const bufs = [take(), take()];
    const written: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
    const { gone, detach } = clientGone(out);
    try {
      let pos = 0;
      for (let i = 0; pos < this.length; i ^= 1) {
        const buf = bufs[i]!;
        await Promise.race([written[i], gone]);
        const want = Math.min(buf.length, this.length - pos);
        const { bytesRead } = await this.#fh.read(buf, 0, want, this.start + pos);
        if (bytesRead === 0) {
          throw new ContentError('SIZE_MISMATCH', `${this.#path}: the file ended after ${pos} of ${this.length} bytes`, { details: { path: this.#path } });
        }
        pos += bytesRead;
        const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        written[i] = new Promise<void>((resolve, reject) => out.write(chunk, (e) => (e ? reject(e) : resolve())));
        written[i]!.catch(() => undefined);
      }
      await Promise.race([Promise.all(written), gone]);
      // Only buffers whose writes finished go back: a write still queued on a dead socket may hold one.
      for (const b of bufs) give(b);
    } finally {
      detach();
    }
  }

  /** close releases the file (idempotent). */
  close(): Promise<void> {
    if (this.#closed === undefined) this.#onClose?.();
    return (this.#closed ??= this.#fh.close().catch(() => undefined));
  }

  /** destroy is close for callers that drop a body unwritten (HEAD replies). */
  destroy(): void {
    void this.close();
  }
}

/** MemoryBody is a blob's bytes held in memory (hot-blobs.ts), written to the socket at once. */
export class MemoryBody {
  readonly #data: Buffer;
  readonly #onClose: () => void;
  #closed = false;

  /** `onClose` is called once, when the body is closed (written, failed, or dropped unwritten). */
  constructor(data: Buffer, onClose: () => void) {
    this.#data = data;
    this.#onClose = onClose;
  }

  /** writeTo writes the bytes to `out`; it settles once they are handed to the system or the client left. */
  async writeTo(out: Writable): Promise<void> {
    const { gone, detach } = clientGone(out);
    try {
      await Promise.race([new Promise<void>((resolve, reject) => out.write(this.#data, (e) => (e ? reject(e) : resolve()))), gone]);
    } finally {
      detach();
    }
  }

  /** close releases the bytes to their holder (idempotent). */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#onClose();
    }
    return Promise.resolve();
  }

  /** destroy is close for callers that drop a body unwritten (HEAD replies). */
  destroy(): void {
    void this.close();
  }
}

/** DirectBody is a reply body written straight to the connection's socket (http.ts), then closed. */
export type DirectBody = FileBody | MemoryBody;

// clientGone rejects once `out` closes (the client left); `detach` stops listening.
function clientGone(out: Writable): { gone: Promise<never>; detach: () => void } {
  let detach = (): void => undefined;
  const gone = new Promise<never>((_, reject) => {
    const onClose = (): void => reject(new Error('the client closed the connection'));
    out.once('close', onClose);
    detach = () => out.off('close', onClose);
  });
  gone.catch(() => undefined);
  return { gone, detach };
}
