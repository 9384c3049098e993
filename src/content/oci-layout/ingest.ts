// Crash-safe writes into an OCI layout: ingest -> verify -> fsync -> chmod 0o444 -> rename (DESIGN.md §5).
// A crash at any point leaves either no blob or the whole verified blob under its digest; temp files
// live under `<root>/ingest/` and are never visible as content.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ContentError } from '../../errors.js';
import type { Descriptor } from '../../model/oci.js';
import { parseDigest } from '../digest.js';
import type { OpOptions } from '../storage.js';
import { FILE_CHUNK } from '../file-chunks.js';
import { checkDigest, isVerifying, verifier } from '../verify.js';
import { faultBudget, faultPoint, faultTrip } from '../fault.js';
import { prepareSyncfs, syncfs } from './syncfs.js';

/** INGEST_DIR is the folder under a layout root that holds blobs being written. */
export const INGEST_DIR = 'ingest';

// blobDir is `<root>/blobs/sha256/`, normalized once per root: an import names tens of thousands of blob
// paths, and path.join builds each one character by character.
const blobDirs = new Map<string, string>();
function blobDir(root: string): string {
  let dir = blobDirs.get(root);
  if (dir === undefined) {
    if (blobDirs.size >= 64) blobDirs.clear();
    dir = join(root, 'blobs', 'sha256') + sep;
    blobDirs.set(root, dir);
  }
  return dir;
}

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
  return blobDir(root) + d.slice('sha256:'.length);
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
  return ingestWith(root, expected, async (fh) => {
    // Content that is already a verifier of `expected` (a registry download) is not hashed twice.
    const checked = isVerifying(content, expected) ? [content] : [content, verifier(expected)];
    await pipeline([...checked, fileSink(fh)], opts?.signal ? { signal: opts.signal } : {});
  }, () => content.destroy());
}

/** ByteRange is where a blob's bytes lie in a file (a bundle tar). */
export interface ByteRange {
  file: string;
  offset: number;
  size: number;
}

/**
 * ingestRange stores `expected` from the bytes at `range`, as ingest does, in one pass over them: they are read
 * into a few reused buffers and hashed here while the thread pool reads the next chunk and writes the previous
 * ones. A blob that does not match is never renamed into place.
 */
export async function ingestRange(root: string, expected: Descriptor, range: ByteRange): Promise<IngestResult> {
  return ingestWith(root, expected, (fh) => copyVerified(range, fh, expected));
}

// ingestWith writes a temp file with `fill` (which verifies what it writes), then publishes it as ingest does.
async function ingestWith(root: string, expected: Descriptor, fill: (fh: FileHandle) => Promise<void>, abandon?: () => void): Promise<IngestResult> {
  let target: string;
  try {
    target = blobPath(root, expected.digest);
  } catch (err) {
    abandon?.();
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
      await fill(fh);
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
    abandon?.();
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw mapFsError(err, expected.digest, root);
  }
}

// Buffers in flight while copying: one being hashed, the next being read, the previous ones being written.
const COPY_BUFFERS = 4;
// While copying, written data is flushed every this many bytes (in the background), so the disk writes while
// the copy goes on and the final fsync has little left to wait for.
const FLUSH_EVERY = 64 * 1024 * 1024;

// copyVerified copies the bytes at `range` to `out` from position 0, and fails unless they match `expected`.
async function copyVerified(range: ByteRange, out: FileHandle, expected: Descriptor): Promise<void> {
  if (range.size !== expected.size) checkDigest(expected, range.size, '');
  const size = range.size;
  const src = await open(range.file, 'r');
  const bufs = Array.from({ length: COPY_BUFFERS }, () => Buffer.allocUnsafe(Math.min(FILE_CHUNK, Math.max(1, size))));
  const writes: Promise<void>[] = bufs.map(() => Promise.resolve());
  let next: Promise<Buffer> | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let flushed = 0;
  // A buffer is read into once its previous write is done.
  const readInto = async (k: number, pos: number): Promise<Buffer> => {
    await writes[k];
    const len = Math.min(FILE_CHUNK, size - pos);
    const { bytesRead } = await src.read(bufs[k]!, 0, len, range.offset + pos);
    if (bytesRead !== len) throw new ContentError('SIZE_MISMATCH', `${range.file}: ends inside ${expected.digest} at byte ${range.offset + pos + bytesRead} (the file changed while it was read)`, { details: { file: range.file, digest: expected.digest } });
    return bufs[k]!.subarray(0, len);
  };
  try {
    const hash = createHash('sha256');
    next = size > 0 ? readInto(0, 0) : undefined;
    for (let pos = 0, k = 0; pos < size; k = (k + 1) % COPY_BUFFERS) {
      const chunk = await next!;
      const at = pos;
      pos += chunk.length;
      next = pos < size ? readInto((k + 1) % COPY_BUFFERS, pos) : undefined;
      next?.catch(() => undefined);
      hash.update(chunk);
      // One write at a time: writers of one file contend for its lock.
      const previous = writes[(k + COPY_BUFFERS - 1) % COPY_BUFFERS]!;
      writes[k] = previous.then(() => writeCounted(out, [chunk], at));
      writes[k]!.catch(() => undefined);
      if (pos - flushed >= FLUSH_EVERY) {
        flushed = pos;
        // One flush at a time; the previous writes are under way, not necessarily done: this only starts early
        // what the final fsync makes sure of.
        const ahead = writes.slice();
        flushing = flushing.then(async () => {
          await Promise.allSettled(ahead);
          await out.datasync();
        });
        flushing.catch(() => undefined);
      }
    }
    await Promise.all(writes);
    await flushing;
    checkDigest(expected, size, `sha256:${hash.digest('hex')}`);
  } finally {
    // Nothing may still read or write when the handles close.
    await Promise.allSettled([next, ...writes, flushing]);
    await src.close();
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

// writeCounted writes buffers (at `position`, or at the file position) through the fault seam (see fault.ts): a
// tripped write is torn, like a power cut.
async function writeCounted(fh: FileHandle, chunks: Buffer[], position?: number): Promise<void> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const allowed = faultBudget(total);
  if (allowed === total) {
    await fh.writev(chunks, position);
    return;
  }
  await fh.write(Buffer.concat(chunks).subarray(0, allowed), 0, allowed, position);
  await fh.sync();
  faultTrip();
}

// writeFileSyncCounted creates `path` (read-only) holding `data`, through the fault seam like writeCounted.
function writeFileSyncCounted(path: string, data: Buffer): void {
  const fd = openSync(path, 'wx', 0o444);
  try {
    const allowed = faultBudget(data.length);
    for (let at = 0; at < allowed; ) at += writeSync(fd, data, at, allowed - at);
    if (allowed < data.length) {
      fsyncSync(fd);
      faultTrip();
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * syncFileSystem makes every write to the file system holding `dir` durable with one syncfs(2) (syncfs.ts);
 * where that fails (no such command or option), each of `files` is fsynced instead.
 */
async function syncFileSystem(dir: string, files: string[]): Promise<void> {
  const ok = await syncfs(dir);
  if (ok) return;
  for (const f of files) {
    const fh = await open(f, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

// While a batch is written, what it wrote is flushed to disk in the background every this many bytes, so the
// disk writes while blobs are read and the commit's flush has little left to do.
const BATCH_FLUSH_EVERY = 16 * 1024 * 1024;

/**
 * StagedBatch writes verified blobs into a layout with one flush to disk for all of them instead of an fsync
 * each: `add` writes a read-only file in a folder of the batch under `<root>/ingest/`; `commit` makes the file
 * system durable, then moves the files to `<root>/blobs/sha256/` and fsyncs what it changed. Into an empty blob
 * folder (an import's staging, as a rule, or one holding a few blobs the caller lets it take along) the batch's
 * folder is moved whole, by one rename; otherwise each file is renamed. No blob is visible before its bytes are
 * durable: a crash leaves only files under `ingest/` (removed by the next import). A failed commit removes what
 * it moved. Files are written with synchronous calls: for thousands of blobs of a few KB, a round trip through
 * the thread pool costs more than the system calls.
 */
export class StagedBatch {
  readonly #pending: { tmp: string; target: string; d: Descriptor }[] = [];
  #bytes = 0;
  // The folder of the batch being written, under `<root>/ingest/`, named uniquely (a new one after each commit);
  // each file in it is named as its blob.
  readonly #prefix: string;
  #commits = 0;
  #folder: string | undefined;
  // Bytes written since the last background flush, and that flush while it runs.
  #unflushed = 0;
  #flushing: Promise<boolean> | undefined;

  constructor(readonly root: string) {
    this.#prefix = join(root, INGEST_DIR, tempName('batch'));
    prepareSyncfs();
  }

  /** bytes is the size of the blobs written since the last commit. */
  get bytes(): number {
    return this.#bytes;
  }

  /** files is how many blobs were written since the last commit. */
  get files(): number {
    return this.#pending.length;
  }

  /** add writes `data`, which must match `d` (the caller verified it), as a file of the batch. */
  add(d: Descriptor, data: Buffer): void {
    const target = blobPath(this.root, d.digest);
    // The digest is valid once blobPath took it: the path ends with its 64 hex digits.
    let tmp = '';
    try {
      if (this.#folder === undefined) {
        const folder = `${this.#prefix}-${this.#commits}`;
        mkdirSync(folder, { recursive: true });
        this.#folder = folder + sep;
      }
      tmp = this.#folder + target.slice(target.length - 64);
      writeFileSyncCounted(tmp, data);
    } catch (err) {
      if (tmp) rmSync(tmp, { force: true });
      throw mapFsError(err, d.digest, this.root);
    }
    this.#pending.push({ tmp, target, d });
    this.#bytes += data.length;
    this.#unflushed += data.length;
    if (this.#unflushed >= BATCH_FLUSH_EVERY && !this.#flushing) {
      this.#unflushed = 0;
      // Only an early start of what the commit makes sure of: its outcome does not matter.
      this.#flushing = syncfs(this.root).finally(() => (this.#flushing = undefined));
    }
  }

  /**
   * commit makes the batch durable and visible, and returns the blobs it added (not those already there). Blobs
   * the blob folder holds already for which `adoptable` is true move out and back in with the batch's folder; a
   * failed commit may remove them.
   */
  async commit(adoptable?: (hex: string) => boolean): Promise<Descriptor[]> {
    const pending = this.#pending.splice(0);
    const folder = this.#folder;
    this.#folder = undefined;
    this.#commits++;
    this.#bytes = 0;
    this.#unflushed = 0;
    if (!pending.length || folder === undefined) return [];
    const dir = join(this.root, 'blobs', 'sha256');
    const created = new Set<(typeof pending)[number]>();
    try {
      await this.#flushing;
      await syncFileSystem(this.root, pending.map((p) => p.tmp));
      mkdirSync(dir, { recursive: true });
      const present = readdirSync(dir);
      // What the blob folder holds already goes into the batch's folder first, if the caller may lose it for a
      // moment (a crash then leaves it under ingest/) and it is fewer files than the batch's, so that the folder
      // moves whole: fewer renames than one per file of the batch.
      if (present.length + 1 < pending.length && mayTakeAlong(present, pending, adoptable)) {
        for (const name of present) moveFile(join(dir, name), folder + name);
        if (moveFolder(folder, dir)) {
          for (const p of pending) created.add(p);
          await fsyncDir(dirname(dir));
          return pending.map((p) => p.d);
        }
        for (const name of present) moveFile(folder + name, join(dir, name));
      }
      const held = new Set(present);
      for (const p of pending) {
        if (held.has(basename(p.target))) continue;
        moveFile(p.tmp, p.target);
        created.add(p);
      }
      await fsyncDir(dir);
    } catch (err) {
      // The blobs this commit made visible are removed; the rest of the batch goes with its folder.
      for (const p of created) rmSync(p.target, { force: true });
      rmSync(folder, { recursive: true, force: true });
      throw mapFsError(err, 'staged blobs', this.root);
    }
    rmSync(folder, { recursive: true, force: true });
    return [...created].map((p) => p.d);
  }

  /** discard removes the files not committed. */
  discard(): void {
    this.#pending.splice(0);
    if (this.#folder !== undefined) rmSync(this.#folder, { recursive: true, force: true });
    this.#folder = undefined;
    this.#bytes = 0;
    this.#unflushed = 0;
  }
}

// mayTakeAlong tells whether every blob `present` names may go into the batch's folder: one the caller lets go,
// and not one of the batch's own. Nothing to take along (the usual case) is no work.
function mayTakeAlong(present: string[], pending: { target: string }[], adoptable: ((hex: string) => boolean) | undefined): boolean {
  if (present.length === 0) return true;
  if (!adoptable || !present.every((name) => adoptable(name))) return false;
  const ours = new Set(pending.map((p) => basename(p.target)));
  return present.every((name) => !ours.has(name));
}

// moveFile renames one file, as one counted operation.
function moveFile(from: string, to: string): void {
  faultPoint();
  renameSync(from, to);
}

// moveFolder moves the folder `from` onto the empty folder `to` with one rename; false when `to` is not empty
// after all (the caller then renames each file).
function moveFolder(from: string, to: string): boolean {
  faultPoint();
  try {
    renameSync(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw err;
  }
}

// Blobs of up to this many bytes are read at once with synchronous calls (readSmallBlob).
const SMALL_BLOB = 64 * 1024;

/**
 * readSmallBlob reads the blob file `path` of `target` at once when the blob is small: its bytes (unverified),
 * null when there is no such file, undefined for a blob too large (stream it). A file other than a regular one
 * fails; one longer than the blob is read one byte past it, for the caller's size check to refuse. Synchronous:
 * a small file is in the page cache or one read away, and a thread-pool round trip costs more.
 */
export function readSmallBlob(path: string, target: Descriptor, limit: number): Buffer | null | undefined {
  if (target.size > Math.min(limit, SMALL_BLOB)) return undefined;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ContentError('INVALID_LAYOUT', `${path}: expected a regular file for ${target.digest}`, { details: { path, digest: target.digest } });
    const buf = Buffer.allocUnsafe(Math.min(st.size, target.size + 1));
    let got = 0;
    for (let n = -1; got < buf.length && n !== 0; got += n) n = readSync(fd, buf, got, buf.length - got, got);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
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
 * `durable: false` skips both syncs, for caches whose entries prove themselves when read: after a crash such a
 * file may be empty or short, never another file's content, and its reader counts it as missing.
 */
export async function writeFileAtomic(path: string, data: Buffer | string, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = dirname(path);
  const tmp = join(dir, tempName(`.${basename(path)}`));
  let created = false;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    created = true;
    try {
      await writeCounted(fh, [Buffer.isBuffer(data) ? data : Buffer.from(data)]);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    faultPoint();
    await rename(tmp, path);
    created = false;
    if (durable) await fsyncDir(dir);
  } catch (err) {
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw mapFsError(err, path, dir);
  }
}
