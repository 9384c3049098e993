// Joining a blob from chunks: in order, each chunk verified and made durable before its staged copy may go,
// resumable after a crash, and nothing half-joined ever visible.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import type { Descriptor } from '../../model/oci.js';
import { isFile } from './ingest.js';
import { JOIN_DIR, joinChunks, joinedCount, type JoinChunk } from './join.js';

const desc = (data: Buffer, mediaType = 'x/chunk'): Descriptor => ({ mediaType, digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length });

function fixture() {
  const pieces = [Buffer.alloc(3000, 1), Buffer.alloc(2000, 2), Buffer.alloc(1000, 3)];
  const whole = Buffer.concat(pieces);
  return { pieces, whole, blob: desc(whole, 'x/blob'), chunks: pieces.map((p) => desc(p)) };
}

const chunk = (d: Descriptor, data: Buffer | undefined, appended?: () => Promise<boolean>): JoinChunk => ({
  desc: d,
  open: async () => {
    if (!data) throw new Error(`chunk ${d.digest} was opened, but its bytes are gone`);
    return Readable.from([data]);
  },
  ...(appended ? { appended } : {}),
});

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a failure');
}

describe('joinChunks', () => {
  it('appends each chunk durably before it lets the staged copy go, then publishes the verified blob', async () => {
    const root = await tempDir();
    const f = fixture();
    const partial = join(root, JOIN_DIR, f.blob.digest.slice(7));
    const seen: number[] = [];
    const chunks = f.chunks.map((d, i) => chunk(d, f.pieces[i], async () => {
      seen.push((await stat(partial)).size);
      return true;
    }));
    expect((await joinChunks(root, f.blob, chunks)).result).toBe('created');
    expect(seen).toEqual([3000, 5000, 6000]);
    expect((await readFile(join(root, 'blobs', 'sha256', f.blob.digest.slice(7)))).equals(f.whole)).toBe(true);
    expect(await isFile(partial)).toBe(false);
    expect((await joinChunks(root, f.blob, chunks)).result).toBe('exists');
  });

  it('continues an interrupted join: a torn append is cut off, joined chunks are not read again', async () => {
    const root = await tempDir();
    const f = fixture();
    const partial = join(root, JOIN_DIR, f.blob.digest.slice(7));
    await mkdir(join(root, JOIN_DIR), { recursive: true });
    await writeFile(partial, Buffer.concat([f.pieces[0]!, f.pieces[1]!.subarray(0, 700)]));
    expect(await joinedCount(root, f.blob, f.chunks)).toBe(1);
    // The first chunk's bytes are gone (its staged copy was removed once joined): it must not be needed. It is
    // still let go, in case the interrupted run was killed before it removed its staged copy.
    const released: number[] = [];
    const chunks = [chunk(f.chunks[0]!, undefined, async () => (released.push(0), true)), chunk(f.chunks[1]!, f.pieces[1]), chunk(f.chunks[2]!, f.pieces[2])];
    expect((await joinChunks(root, f.blob, chunks)).result).toBe('created');
    expect(released).toEqual([0]);
    expect((await readFile(join(root, 'blobs', 'sha256', f.blob.digest.slice(7)))).equals(f.whole)).toBe(true);
  });

  it('cuts off a chunk that does not verify and keeps what was joined when that exists nowhere else', async () => {
    const root = await tempDir();
    const f = fixture();
    const partial = join(root, JOIN_DIR, f.blob.digest.slice(7));
    const bad = [chunk(f.chunks[0]!, f.pieces[0], async () => true), chunk(f.chunks[1]!, Buffer.alloc(2000, 9))];
    expect((await failure(joinChunks(root, f.blob, [...bad, chunk(f.chunks[2]!, f.pieces[2])]))).code).toBe('DIGEST_MISMATCH');
    expect((await stat(partial)).size).toBe(3000);
    expect(await joinedCount(root, f.blob, f.chunks)).toBe(1);
    // Nothing irreplaceable (every chunk can be read again): nothing stays.
    const other = await tempDir();
    expect((await failure(joinChunks(other, f.blob, [chunk(f.chunks[0]!, f.pieces[0], async () => false), chunk(f.chunks[1]!, Buffer.alloc(2000, 9)), chunk(f.chunks[2]!, f.pieces[2])]))).code).toBe('DIGEST_MISMATCH');
    expect(await isFile(join(other, JOIN_DIR, f.blob.digest.slice(7)))).toBe(false);
  });

  it('drops a damaged partial join, naming the chunk to supply again', async () => {
    const root = await tempDir();
    const f = fixture();
    const partial = join(root, JOIN_DIR, f.blob.digest.slice(7));
    await joinChunks(root, f.blob, [chunk(f.chunks[0]!, f.pieces[0], async () => true), chunk(f.chunks[1]!, undefined), chunk(f.chunks[2]!, f.pieces[2])]).catch(() => undefined);
    const data = await readFile(partial);
    data[10] = 0;
    await writeFile(partial, data);
    const err = await failure(joinChunks(root, f.blob, f.chunks.map((d, i) => chunk(d, f.pieces[i]))));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toMatch(/partial join kept from an earlier run is damaged at chunk 1 .*import the parts that hold its chunks again/);
    expect(await isFile(partial)).toBe(false);
  });

  it('refuses chunks that do not add up to the blob, or that join to other content, publishing nothing', async () => {
    const root = await tempDir();
    const f = fixture();
    expect((await failure(joinChunks(root, f.blob, f.chunks.slice(0, 2).map((d, i) => chunk(d, f.pieces[i]))))).code).toBe('SIZE_MISMATCH');
    const swapped = [f.chunks[1]!, f.chunks[0]!, f.chunks[2]!].map((d) => chunk(d, f.pieces[f.chunks.indexOf(d)], async () => true));
    expect((await failure(joinChunks(root, f.blob, swapped))).message).toMatch(/its signed chunks, joined, hash to sha256:/);
    expect(await isFile(join(root, 'blobs', 'sha256', f.blob.digest.slice(7)))).toBe(false);
    expect(await isFile(join(root, JOIN_DIR, f.blob.digest.slice(7)))).toBe(false);
  });
});
