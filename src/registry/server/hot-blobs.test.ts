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

// written is what a body writes to a connection.
async function written(body: MemoryBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await body.writeTo(new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }));
  return Buffer.concat(chunks);
}

// concurrent asks `blobs` for `d` while another download of it runs: what that download is written from.
function concurrent(blobs: HotBlobs, d: Descriptor, file: string): MemoryBody | undefined {
  const done = blobs.track(d);
  try {
    return blobs.body(d, file);
  } finally {
    done();
  }
}

// hot makes `d` hot (a download while another runs), waits for its read and returns a download from memory.
async function hot(blobs: HotBlobs, d: Descriptor, file: string): Promise<MemoryBody | undefined> {
  concurrent(blobs, d, file)?.destroy();
  await blobs.settled();
  return blobs.body(d, file);
}

describe('HotBlobs', () => {
  it('holds nothing for a blob read one download at a time, and reads it in once another download runs, making no download wait', async () => {
    const { d, file } = await blob(Buffer.alloc(1000, 'a'));
    const blobs = new HotBlobs(1024 * 1024);
    expect(blobs.body(d, file)).toBeUndefined();
    await blobs.settled();
    expect(blobs.bytesHeld).toBe(0);
    // The download that finds another running is written from the file; the read into memory has started.
    expect(concurrent(blobs, d, file)).toBeUndefined();
    expect(blobs.bytesHeld).toBe(1000);
    expect(blobs.body(d, file)).toBeUndefined(); // still being read: from the file too
    await blobs.settled();
    // Held from now on, with no download running: the file is not read again.
    await writeFile(file, 'changed');
    const again = blobs.body(d, file)!;
    expect((await written(again)).equals(Buffer.alloc(1000, 'a'))).toBe(true);
    await again.close();
    expect(blobs.bytesHeld).toBe(1000);
  });

  it('never holds more than its memory: a blob being read or written stays, the least recently used idle one goes', async () => {
    const a = await blob(Buffer.alloc(400, 'a'));
    const b = await blob(Buffer.alloc(400, 'b'));
    const c = await blob(Buffer.alloc(400, 'c'));
    const blobs = new HotBlobs(1000);
    // a and b still being read: no room for c.
    concurrent(blobs, a.d, a.file);
    concurrent(blobs, b.d, b.file);
    expect(concurrent(blobs, c.d, c.file)).toBeUndefined();
    expect(blobs.bytesHeld).toBe(800);
    await blobs.settled();
    const bodyA = blobs.body(a.d, a.file)!;
    const bodyB = blobs.body(b.d, b.file)!;
    // Both are being written: no room for a third, which is served from its file.
    expect(await hot(blobs, c.d, c.file)).toBeUndefined();
    expect(blobs.bytesHeld).toBe(800);
    await bodyA.close();
    await bodyA.close(); // once only
    const bodyC = (await hot(blobs, c.d, c.file))!;
    expect(blobs.bytesHeld).toBe(800);
    expect(blobs.body(a.d, a.file)).toBeUndefined(); // a made room for c
    expect((await written(blobs.body(b.d, b.file)!)).equals(Buffer.alloc(400, 'b'))).toBe(true);
    await bodyB.close();
    await bodyC.close();
  });

  it('holds no blob larger than half its memory, and nothing without memory', async () => {
    const { d, file } = await blob(Buffer.alloc(600, 'c'));
    expect(await hot(new HotBlobs(1000), d, file)).toBeUndefined();
    expect(await hot(new HotBlobs(0), d, file)).toBeUndefined();
    expect(await hot(new HotBlobs(1200), d, file)).toBeDefined();
  });

  it('lets a blob go once a client that left mid-write is closed', async () => {
    const [a, b, c] = [await blob(Buffer.alloc(400, 'a')), await blob(Buffer.alloc(400, 'b')), await blob(Buffer.alloc(400, 'c'))];
    const blobs = new HotBlobs(1000);
    const bodyA = (await hot(blobs, a.d, a.file))!;
    const bodyB = (await hot(blobs, b.d, b.file))!;
    // A connection that takes a's bytes but never finishes writing them, then closes.
    const stalled = new Writable({ write: () => undefined });
    const writing = bodyA.writeTo(stalled);
    stalled.destroy();
    await expect(writing).rejects.toThrow(/the client closed the connection/);
    expect(await hot(blobs, c.d, c.file)).toBeUndefined(); // a and b are still being written: no room
    await bodyA.close(); // as http.ts does after every write, failed or not
    const bodyC = (await hot(blobs, c.d, c.file))!;
    expect(blobs.body(a.d, a.file)).toBeUndefined(); // a made room for c
    await bodyB.close();
    await bodyC.close();
  });

  it("holds nothing for a file whose size is not the blob's or that is gone (downloads from the file report it)", async () => {
    const { d, file } = await blob(Buffer.alloc(100, 'd'));
    await writeFile(file, Buffer.alloc(50, 'd'));
    const blobs = new HotBlobs(1024);
    expect(await hot(blobs, d, file)).toBeUndefined();
    expect(blobs.bytesHeld).toBe(0);
    await rm(file);
    expect(await hot(blobs, d, file)).toBeUndefined();
    expect(blobs.bytesHeld).toBe(0);
    // The file back as it should be: the next concurrent download reads it in.
    await writeFile(file, Buffer.alloc(100, 'd'));
    expect((await written((await hot(blobs, d, file))!)).equals(Buffer.alloc(100, 'd'))).toBe(true);
  });
});
