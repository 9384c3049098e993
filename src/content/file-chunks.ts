// Reading large files without streams: positional reads into two reused buffers, so copying or hashing a
// multi-GB blob allocates nothing per chunk (fresh buffers mean page faults and GC work on every chunk).
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ContentError } from '../errors.js';
import type { Digest } from '../model/oci.js';

/** FILE_CHUNK is the read size: large enough for few system calls, small enough to stay in the CPU cache. */
export const FILE_CHUNK = 512 * 1024;

/**
 * forEachChunk reads exactly `size` bytes of `path` front to back and calls `fn` with each chunk. A chunk is
 * valid only until `fn`'s promise settles; the next chunk is read meanwhile (double buffering). A file
 * shorter or longer than `size` fails with SIZE_MISMATCH naming the file.
 */
export async function forEachChunk(path: string, size: number, fn: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size !== size) {
      throw new ContentError('SIZE_MISMATCH', `${path}: expected a file of ${size} bytes, found ${st.isFile() ? `${st.size} bytes` : 'no regular file'}`, { details: { path, expected: size, found: st.size } });
    }
    const buffers = [Buffer.allocUnsafe(Math.min(FILE_CHUNK, Math.max(1, size))), Buffer.allocUnsafe(Math.min(FILE_CHUNK, Math.max(1, size)))];
    const busy: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let pos = 0;
    for (let k = 0; pos < size; k ^= 1) {
      await busy[k];
      const buf = buffers[k]!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) throw new ContentError('SIZE_MISMATCH', `${path}: ends after ${pos} of ${size} bytes`, { details: { path, expected: size, found: pos } });
      pos += bytesRead;
      // A failure is reported by the await of the next round, or by the final wait below.
      busy[k] = Promise.resolve(fn(buf.subarray(0, bytesRead)));
      busy[k]!.catch(() => undefined);
    }
    await Promise.all(busy);
  } finally {
    await fh.close();
  }
}

/** digestFile returns the sha256 digest of the `size` bytes of `path`. */
export async function digestFile(path: string, size: number): Promise<Digest> {
  const hash = createHash('sha256');
  await forEachChunk(path, size, (chunk) => {
    hash.update(chunk);
  });
  return `sha256:${hash.digest('hex')}`;
}
