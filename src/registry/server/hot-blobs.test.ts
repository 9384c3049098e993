// HotBlobs: what it holds and when, on real files (the HTTP side is in oci-routes.test.ts).
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { sha256 } from '../../content/digest.js';
import type { Descriptor } from '../../model/oci.js';
import { HotBlobs } from './hot-blobs.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function blob(data: Buffer): Promise<{ d: Descriptor; file: string }> {
  const dir = await tempDir();
  dirs.push(dir);
  const file = join(dir, 'blob');
  await writeFile(file, data);
  return { d: { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length }, file };
}

describe('HotBlobs', () => {
  it('holds nothing for a blob read one download at a time, and holds it once another download runs', async () => {
    const { d, file } = await blob(Buffer.alloc(1000, 'a'));
    const hot = new HotBlobs(1024 * 1024);
    expect(hot.bytes(d, file)).toBeUndefined();
    const done = hot.track(d);
    expect((await hot.bytes(d, file)!).equals(Buffer.alloc(1000, 'a'))).toBe(true);
    done();
    done(); // once only: the count does not go below zero
    // Held from now on, with no download running.
    await writeFile(file, 'changed');
    expect((await hot.bytes(d, file)!).length).toBe(1000);
  });

  it('counts downloads until each ends', async () => {
    const { d, file } = await blob(Buffer.alloc(10, 'b'));
    const hot = new HotBlobs(0);
    const a = hot.track(d);
    const b = hot.track(d);
    a();
    expect(hot.bytes(d, file)).toBeUndefined(); // no memory at all
    b();
    const some = new HotBlobs(100);
    const c = some.track(d);
    expect(some.bytes(d, file)).toBeDefined();
    c();
  });

  it('holds no blob larger than half its memory', async () => {
    const { d, file } = await blob(Buffer.alloc(600, 'c'));
    const hot = new HotBlobs(1000);
    const done = hot.track(d);
    expect(hot.bytes(d, file)).toBeUndefined();
    done();
  });

  it('refuses a file whose size is not the blob\'s, and holds nothing for it', async () => {
    const { d, file } = await blob(Buffer.alloc(100, 'd'));
    await writeFile(file, Buffer.alloc(50, 'd'));
    const hot = new HotBlobs(1024);
    const done = hot.track(d);
    await expect(hot.bytes(d, file)!).rejects.toThrow(new RegExp(`the stored blob ${d.digest} is 50 bytes, expected 100`));
    done();
    expect(hot.bytes(d, file)).toBeUndefined();
  });
});
