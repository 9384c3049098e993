// Joining a blob from its chunks (a blob larger than a part of a split bundle), resumable and crash-safe, with
// the least extra disk: chunks are appended in order to `<root>/joins/<hex>`, each one made durable before
// `appended` lets its staged copy go, so the chunks and the blob never take the disk twice (one chunk at most).
// A crash leaves a partial join that the next run continues; the blob becomes visible only whole and verified,
// by rename, like every ingested blob.
import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ContentError } from '../../errors.js';
import type { Descriptor } from '../../model/oci.js';
import { digestHex } from '../digest.js';
import { faultBudget, faultMark, faultPoint, faultTrip } from '../fault.js';
import { verifier } from '../verify.js';
import { blobPath, fsyncDir, isFile, mapFsError, type IngestResult } from './ingest.js';

/** JOIN_DIR is the folder under a layout root that holds partial joins, one file per blob being joined. */
export const JOIN_DIR = 'joins';

/** JoinChunk is one piece of a blob being joined, in order. */
export interface JoinChunk {
  desc: Descriptor;
  /** open reads the chunk (unverified: it is checked against `desc` as it is appended). */
  open(): Promise<Readable>;
  /**
   * appended is called once the chunk is durably part of the join: a staged copy may be removed then. It
   * returns true when it removed the only other copy, so that a join failing later keeps what it joined.
   * Unset (a chunk read from the medium, which stays): the chunk is not synced on its own.
   */
  appended?(): Promise<boolean>;
}

function partialPath(root: string, expected: Descriptor): string {
  blobPath(root, expected.digest); // validates the digest before it names a file
  return join(root, JOIN_DIR, digestHex(expected.digest));
}

// covered is how many leading chunks fit whole in `bytes`, and the offset where they end.
function covered(chunks: Descriptor[], bytes: number): { count: number; end: number } {
  let end = 0;
  let count = 0;
  for (const c of chunks) {
    if (end + c.size > bytes) break;
    end += c.size;
    count++;
  }
  return { count, end };
}

/**
 * joinedCount tells how many leading `chunks` of `expected` a partial join under `root` holds already (by size;
 * their bytes are checked again when the join resumes). 0 when there is none.
 */
export async function joinedCount(root: string, expected: Descriptor, chunks: Descriptor[]): Promise<number> {
  let fh: FileHandle;
  try {
    fh = await open(partialPath(root, expected), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    return covered(chunks, (await fh.stat()).size).count;
  } finally {
    await fh.close();
  }
}

/**
 * joinChunks joins `chunks` (in order, adding up to `expected`) into the blob `expected` under `root`. What a
 * partial join of an earlier, interrupted run holds is checked (each chunk's digest) and kept; a torn append is
 * cut off. Each chunk is verified as it is appended, then the partial file is synced and `appended` called.
 * The whole blob is verified before it is published at `blobPath(root, digest)` by rename. A damaged partial
 * join is removed, and the error says which chunk must be supplied again. `kept` tells whether the blob holds
 * bytes that exist nowhere else now (a partial join resumed, or a staged chunk let go for it).
 */
export async function joinChunks(root: string, expected: Descriptor, chunks: JoinChunk[]): Promise<{ result: IngestResult; kept: boolean }> {
  try {
    return await joinAll(root, expected, chunks);
  } catch (err) {
    throw mapFsError(err, expected.digest, root);
  }
}

async function joinAll(root: string, expected: Descriptor, chunks: JoinChunk[]): Promise<{ result: IngestResult; kept: boolean }> {
  const target = blobPath(root, expected.digest);
  const path = partialPath(root, expected);
  if (await isFile(target)) {
    await rm(path, { force: true });
    return { result: 'exists', kept: false };
  }
  const descs = chunks.map((c) => c.desc);
  const total = descs.reduce((n, d) => n + d.size, 0);
  if (total !== expected.size) {
    throw new ContentError('SIZE_MISMATCH', `${expected.digest}: chunks add up to ${total} bytes, expected ${expected.size}`, { details: { digest: expected.digest, expected: expected.size, found: total } });
  }
  faultMark('join');
  await mkdir(dirname(path), { recursive: true });
  // A run killed between making the join read-only and publishing it left it so.
  await chmod(path, 0o644).catch(() => undefined);
  const fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  let closed = false;
  // Whether the partial join holds bytes that exist nowhere else (kept on failure) or only what can be read again.
  let irreplaceable = false;
  try {
    const whole = createHash('sha256');
    const { count: resumeAt, end } = covered(descs, (await fh.stat()).size);
    irreplaceable = resumeAt > 0;
    await fh.truncate(end);
    try {
      await rehash(fh, descs.slice(0, resumeAt), whole, expected);
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    // Chunks an interrupted run joined are let go too: that run may have been killed before it let them go.
    for (const chunk of chunks.slice(0, resumeAt)) await chunk.appended?.();
    let position = end;
    for (const chunk of chunks.slice(resumeAt)) {
      try {
        await pipeline(await chunk.open(), verifier(chunk.desc), appender(fh, position, whole));
      } catch (err) {
        // A chunk that does not verify is cut off again; what was joined before it stays for the next run.
        await fh.truncate(position).catch(() => undefined);
        throw err;
      }
      position += chunk.desc.size;
      // Durable before its staged copy may go; a chunk that stays where it is waits for the final sync.
      if (chunk.appended) {
        await fh.sync();
        if (await chunk.appended()) irreplaceable = true;
      }
    }
    const found = `sha256:${whole.digest('hex')}`;
    if (found !== expected.digest) {
      // Every chunk matched its signed digest, so the signed chunk table itself is wrong: nothing here can become the blob.
      await rm(path, { force: true });
      throw new ContentError('DIGEST_MISMATCH', `${expected.digest}: its signed chunks, joined, hash to ${found}`, { details: { digest: expected.digest, expected: expected.digest, found } });
    }
    await fh.sync();
    closed = true;
    await fh.close();
    await chmod(path, 0o444);
    await mkdir(dirname(target), { recursive: true });
    faultPoint();
    await rename(path, target);
    await fsyncDir(dirname(target));
    faultMark('joined');
    return { result: 'created', kept: irreplaceable };
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    closed = true;
    // A join that failed before it held anything that exists nowhere else leaves nothing behind.
    if (!irreplaceable) await rm(path, { force: true });
    throw err;
  } finally {
    if (!closed) await fh.close().catch(() => undefined);
  }
}

// rehash reads back what an earlier run joined, checking each chunk and feeding the whole blob's hash.
async function rehash(fh: FileHandle, done: Descriptor[], whole: Hash, expected: Descriptor): Promise<void> {
  let position = 0;
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const [i, d] of done.entries()) {
    const h = createHash('sha256');
    for (let left = d.size; left > 0; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, left), position);
      if (bytesRead === 0) break;
      const piece = buf.subarray(0, bytesRead);
      h.update(piece);
      whole.update(piece);
      position += bytesRead;
      left -= bytesRead;
    }
    const found = `sha256:${h.digest('hex')}`;
    if (found !== d.digest) {
      throw new ContentError('DIGEST_MISMATCH', `${expected.digest}: the partial join kept from an earlier run is damaged at chunk ${i + 1} (${d.digest}, found ${found}): it was removed; import the parts that hold its chunks again`, {
        details: { digest: d.digest, expected: d.digest, found, chunk: i + 1 },
      });
    }
  }
}

// appender writes at `start` and on (the partial file is opened for update), hashing what it writes; writes go
// through the fault seam like every other store write (a tripped write is torn, as after a power cut).
function appender(fh: FileHandle, start: number, whole: Hash): Writable {
  let position = start;
  const write = async (data: Buffer[]) => {
    for (const d of data) whole.update(d);
    const total = data.reduce((n, d) => n + d.length, 0);
    const allowed = faultBudget(total);
    if (allowed === total) {
      await fh.writev(data, position);
      position += total;
      return;
    }
    await fh.write(Buffer.concat(data).subarray(0, allowed), 0, allowed, position);
    await fh.sync();
    faultTrip();
  };
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, done) {
      write([chunk]).then(() => done(), done);
    },
    writev(chunks, done) {
      write(chunks.map((c) => c.chunk as Buffer)).then(() => done(), done);
    },
  });
}

/** removeStaleJoins removes partial joins whose blob `isPublished` says is stored already, and anything else in the folder. */
export async function removeStaleJoins(root: string, isPublished: (digest: `sha256:${string}`) => Promise<boolean>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(join(root, JOIN_DIR));
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^[a-f0-9]{64}$/.test(name)) await rm(join(root, JOIN_DIR, name), { force: true, recursive: true });
    else if (await isPublished(`sha256:${name}`)) await rm(join(root, JOIN_DIR, name), { force: true });
  }
}
