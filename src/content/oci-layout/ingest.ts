// Crash-safe writes into an OCI layout: ingest -> verify -> fsync -> chmod 0o444 -> rename (DESIGN.md §5).
// A crash at any point leaves either no blob or the whole verified blob under its digest; temp files
// live under `<root>/ingest/` and are never visible as content.
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ContentError } from '../../errors.js';
import type { Descriptor } from '../../model/oci.js';
import { parseDigest } from '../digest.js';
import type { OpOptions } from '../storage.js';
import { isVerifying, verifier } from '../verify.js';
import { faultBudget, faultPoint, faultTrip } from '../fault.js';

/** INGEST_DIR is the folder under a layout root that holds blobs being written. */
export const INGEST_DIR = 'ingest';

/**
 * blobPath maps a digest to `<root>/blobs/sha256/<hex>`. The digest is validated before any path
 * join, so nothing outside the blob folder can be named: separators or `..` fail with UNSAFE_PATH,
 * other algorithms with UNSUPPORTED, anything else malformed with INVALID_DIGEST.
 */
export function blobPath(root: string, digest: unknown): string {
  if (typeof digest === 'string' && (digest.includes('/') || digest.includes('\\') || digest.includes('..') || digest.includes('\0'))) {
    throw new ContentError('UNSAFE_PATH', `${JSON.stringify(digest)}: digest would escape ${join(root, 'blobs')} (expected sha256:<64 lowercase hex>)`, {
      details: { found: digest },
    });
  }
  const d = parseDigest(digest);
  return join(root, 'blobs', 'sha256', d.slice('sha256:'.length));
}

function tempName(base: string): string {
  return `${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** mapFsError maps ENOSPC/EDQUOT to NO_SPACE with a message that says what to do; other errors pass through. */
export function mapFsError(err: unknown, what: string, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ContentError('NO_SPACE', `no space left on device while writing ${what} to ${dir}: free space or choose another --store`, {
      cause: err,
      details: { path: dir, what },
    });
  }
  return err;
}

/** fsyncDir makes a rename durable. Some platforms cannot open or sync directories; that is not an error there. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await fh?.close();
  }
}

export type IngestResult = 'created' | 'exists';

/**
 * ingest streams `content` through `verifier(expected)` into a temp file under `<root>/ingest/`,
 * fsyncs it, makes it read-only and renames it to `blobPath(root, digest)`. On any failure the
 * temp file is removed and nothing becomes visible. If the blob appeared meanwhile (a concurrent
 * push of the same digest), the verified temp file is dropped and 'exists' is returned.
 */
export async function ingest(root: string, expected: Descriptor, content: Readable, opts?: OpOptions): Promise<IngestResult> {
  let target: string;
  try {
    target = blobPath(root, expected.digest);
  } catch (err) {
    content.destroy();
    throw err;
  }
  const ingestDir = join(root, INGEST_DIR);
  const tmp = join(ingestDir, tempName(basename(target)));
  let created = false;
  try {
    await mkdir(ingestDir, { recursive: true });
    const fh = await open(tmp, 'wx', 0o644);
    created = true;
    try {
      // Content that is already a verifier of `expected` (a registry download) is not hashed twice.
      const checked = isVerifying(content, expected) ? [content] : [content, verifier(expected)];
      await pipeline([...checked, fileSink(fh)], opts?.signal ? { signal: opts.signal } : {});
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, 0o444);
    if (await isFile(target)) {
      await rm(tmp, { force: true });
      return 'exists';
    }
    await mkdir(dirname(target), { recursive: true });
    faultPoint();
    await rename(tmp, target);
    created = false;
    await fsyncDir(dirname(target));
    return 'created';
  } catch (err) {
    content.destroy();
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw mapFsError(err, expected.digest, root);
  }
}

// fileSink writes to an open handle and leaves closing to the caller, who fsyncs first.
function fileSink(fh: FileHandle): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, done) {
      writeCounted(fh, [chunk]).then(() => done(), done);
    },
    writev(chunks, done) {
      writeCounted(fh, chunks.map((c) => c.chunk as Buffer)).then(() => done(), done);
    },
  });
}

// writeCounted writes buffers through the fault seam (see fault.ts): a tripped write is torn, like a power cut.
async function writeCounted(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const allowed = faultBudget(total);
  if (allowed === total) {
    await fh.writev(chunks);
    return;
  }
  await fh.write(Buffer.concat(chunks).subarray(0, allowed));
  await fh.sync();
  faultTrip();
}

/** isFile tells whether `path` is a regular file (not following links); a missing path is false. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * writeFileAtomic replaces `path` with `data`: a temp file in the same folder is written, fsynced and
 * renamed over `path`, then the folder is fsynced. Readers see the old or the new content, never a mix.
 */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, tempName(`.${basename(path)}`));
  let created = false;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    created = true;
    try {
      await writeCounted(fh, [Buffer.isBuffer(data) ? data : Buffer.from(data)]);
      await fh.sync();
    } finally {
      await fh.close();
    }
    faultPoint();
    await rename(tmp, path);
    created = false;
    await fsyncDir(dir);
  } catch (err) {
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw mapFsError(err, path, dir);
  }
}
