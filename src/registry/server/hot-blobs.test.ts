// HotBlobs: what it holds, when, and within what memory, on real files (the HTTP side is in oci-routes.test.ts).
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { sha256 } from '../../content/digest.js';
import type { Descriptor } from '../../model/oci.js';
import type { MemoryBody } from './file-body.js';
import { HotBlobs } from './hot-blobs.js';

async function blob(data: Buffer): Promise<{ d: Descriptor; file: string }> {
  const file = join(await tempDir(), 'blob');
  await writeFile(file, data);
  return { d: { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length }, file };
}

const missing = () => new Error('missing');

// written is what a body writes to a connection.
async function written(body: MemoryBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await body.writeTo(new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }));
  return Buffer.concat(chunks);
}

// hot asks `hot` for `d` while another download of it runs.
function hot(hot: HotBlobs, d: Descriptor, file: string): Promise<MemoryBody> | undefined {
  const done = hot.track(d);
  try {
    return hot.body(d, file, missing);
  } finally {
    done();
  }
}

describe('HotBlobs', () => {
  it('holds nothing for a blob read one download at a time, and holds it once another download runs', async () => {
    const { d, file } = await blob(Buffer.alloc(1000, 'a'));
    const blobs = new HotBlobs(1024 * 1024);
    expect(blobs.body(d, file, missing)).toBeUndefined();
    const first = await hot(blobs, d, file)!;
    expect((await written(first)).equals(Buffer.alloc(1000, 'a'))).toBe(true);
    await first.close();
    // Held from now on, with no download running: the file is not read again.
    await writeFile(file, 'changed');
    const again = await blobs.body(d, file, missing)!;
    expect((await written(again)).equals(Buffer.alloc(1000, 'a'))).toBe(true);
    await again.close();
    expect(blobs.bytesHeld).toBe(1000);
  });

  it('never holds more than its memory: a blob being written stays, the least recently used idle one goes', async () => {
    const a = await blob(Buffer.alloc(400, 'a'));
    const b = await blob(Buffer.alloc(400, 'b'));
    const c = await blob(Buffer.alloc(400, 'c'));
    const blobs = new HotBlobs(1000);
    const bodyA = await hot(blobs, a.d, a.file)!;
    const bodyB = await hot(blobs, b.d, b.file)!;
    expect(blobs.bytesHeld).toBe(800);
    // Both are being written: no room for a third, which is served from its file.
    expect(hot(blobs, c.d, c.file)).toBeUndefined();
    await bodyA.close();
    await bodyA.close(); // once only
    const bodyC = await hot(blobs, c.d, c.file)!;
    expect(blobs.bytesHeld).toBe(800);
    expect(blobs.body(a.d, a.file, missing)).toBeUndefined(); // a made room for c
    expect((await written(await blobs.body(b.d, b.file, missing)!)).equals(Buffer.alloc(400, 'b'))).toBe(true);
    await bodyB.close();
    await bodyC.close();
  });

  it('holds no blob larger than half its memory, and nothing without memory', async () => {
    const { d, file } = await blob(Buffer.alloc(600, 'c'));
    expect(hot(new HotBlobs(1000), d, file)).toBeUndefined();
    expect(hot(new HotBlobs(0), d, file)).toBeUndefined();
    expect(hot(new HotBlobs(1200), d, file)).toBeDefined();
  });

  it('lets a blob go once a client that left mid-write is closed', async () => {
    const [a, b, c] = [await blob(Buffer.alloc(400, 'a')), await blob(Buffer.alloc(400, 'b')), await blob(Buffer.alloc(400, 'c'))];
    const blobs = new HotBlobs(1000);
    const bodyA = await hot(blobs, a.d, a.file)!;
    const bodyB = await hot(blobs, b.d, b.file)!;
    // A connection that takes a's bytes but never finishes writing them, then closes.
    const stalled = new Writable({ write: () => undefined });
    const writing = bodyA.writeTo(stalled);
    stalled.destroy();
    await expect(writing).rejects.toThrow(/the client closed the connection/);
    expect(hot(blobs, c.d, c.file)).toBeUndefined(); // a and b are still being written: no room
    await bodyA.close(); // as http.ts does after every write, failed or not
    const bodyC = await hot(blobs, c.d, c.file)!;
    expect(blobs.body(a.d, a.file, missing)).toBeUndefined(); // a made room for c
    await bodyB.close();
    await bodyC.close();
  });

  it("refuses a file whose size is not the blob's or that is gone, and holds nothing for it", async () => {
    const { d, file } = await blob(Buffer.alloc(100, 'd'));
    await writeFile(file, Buffer.alloc(50, 'd'));
    const blobs = new HotBlobs(1024);
    await expect(hot(blobs, d, file)!).rejects.toThrow(new RegExp(`the stored blob ${d.digest} is 50 bytes, expected 100`));
    expect(blobs.bytesHeld).toBe(0);
    expect(blobs.body(d, file, missing)).toBeUndefined();
    // A file gone from the store is the caller's `missing()` (NOT_FOUND), as for a download from the file.
    await rm(file);
    await expect(hot(blobs, d, file)!).rejects.toThrow(/^missing$/);
    expect(blobs.bytesHeld).toBe(0);
  });
});
