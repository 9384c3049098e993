// StagedBatch: blobs written without an fsync each become visible only at commit, whole, after one flush: into
// an empty blob folder by moving the batch's folder, otherwise by a rename each. A failure at any write or rename
// leaves no partial blob and, once discarded, no temp file.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Descriptor } from '../../model/oci.js';
import { configureFaults, faultUnits } from '../fault.js';
import { INGEST_DIR, StagedBatch } from './ingest.js';
import { syncfs } from './syncfs.js';

// The real syncfs, watched: how often a batch flushes the file system.
vi.mock('./syncfs.js', async (original) => {
  const real = await original<typeof import('./syncfs.js')>();
  return { ...real, syncfs: vi.fn(real.syncfs) };
});

// blobOf is `data` with its descriptor.
function blobOf(data: Buffer): { d: Descriptor; data: Buffer } {
  return { d: { mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length }, data };
}

const blobs = [1000, 1, 2500].map((n, i) => blobOf(Buffer.alloc(n, 97 + i)));

const list = (dir: string) => readdir(dir).catch(() => [] as string[]);

// staged lists the files under root/ingest/ (each batch writes into a folder of its own there).
async function staged(root: string): Promise<string[]> {
  const files: string[] = [];
  for (const f of await list(join(root, INGEST_DIR))) files.push(...(await list(join(root, INGEST_DIR, f))));
  return files.sort();
}

// holding prepares a layout that already holds `held` (unrelated blobs).
const holding = (held: { d: Descriptor; data: Buffer }[]) => async (root: string) => {
  const batch = new StagedBatch(root);
  for (const { d, data } of held) batch.add(d, data);
  await batch.commit();
};
// An unrelated blob already in the layout: the batch then renames each of its files.
const other = blobOf(Buffer.from('already there'));
const holdingOther = holding([other]);
// Three unrelated blobs, as many as the batch's.
const holdingThree = holding(['one', 'two', 'three'].map((text) => blobOf(Buffer.from(text))));

// visible returns the blobs in root/blobs/sha256, failing if one does not match its name.
async function visible(root: string): Promise<string[]> {
  const dir = join(root, 'blobs', 'sha256');
  const names = await list(dir);
  for (const n of names) expect(createHash('sha256').update(await readFile(join(dir, n))).digest('hex')).toBe(n);
  return names.sort();
}

afterEach(() => configureFaults(undefined));

describe('StagedBatch', () => {
  const lets = (hex: string) => hex === other.d.digest.slice(7);
  for (const [name, prepare, renames, adoptable] of [
    ['into an empty layout (the batch folder moved whole)', async () => undefined, 1, undefined],
    ['into a layout holding blobs (a rename each)', holdingOther, 3, undefined],
    ['into a layout holding a blob it may take along (moved into the folder, then the folder moved whole)', holdingOther, 2, lets],
    ['into a layout holding as many blobs as it writes, which it may take along (a rename each: fewer)', holdingThree, 3, () => true],
  ] as const) {
    it(`${name}: makes nothing visible before commit, every blob (read-only) after it, and leaves no temp file`, async () => {
      const root = await mkdtemp(join(tmpdir(), 'staged-batch-'));
      await prepare(root);
      const before = await visible(root);
      const batch = new StagedBatch(root);
      for (const { d, data } of blobs) batch.add(d, data);
      expect(batch.bytes).toBe(3501);
      expect(batch.files).toBe(3);
      expect(await visible(root)).toEqual(before);
      expect(await staged(root)).toEqual(blobs.map((b) => b.d.digest.slice(7)).sort());
      const created = await batch.commit(adoptable);
      expect(created.map((d) => d.digest).sort()).toEqual(blobs.map((b) => b.d.digest).sort());
      expect(await visible(root)).toEqual([...before, ...blobs.map((b) => b.d.digest.slice(7))].sort());
      expect(await list(join(root, INGEST_DIR))).toEqual([]);
      expect((await stat(join(root, 'blobs', 'sha256', blobs[0]!.d.digest.slice(7)))).mode & 0o777).toBe(0o444);
      // A blob already there is not added twice.
      batch.add(blobs[1]!.d, blobs[1]!.data);
      expect(await batch.commit()).toEqual([]);
      expect(await list(join(root, INGEST_DIR))).toEqual([]);
      await rm(root, { recursive: true, force: true });
    });

    it(`${name}: fails cleanly at every unit it writes: no blob visible, no temp file after discard`, async () => {
      const counted = await mkdtemp(join(tmpdir(), 'staged-batch-'));
      await prepare(counted);
      configureFaults('count');
      const probe = new StagedBatch(counted);
      for (const { d, data } of blobs) probe.add(d, data);
      await probe.commit(adoptable);
      const total = faultUnits();
      // Every byte of the three blobs, and the renames.
      expect(total).toBe(3501 + renames);
      await rm(counted, { recursive: true, force: true });
      for (let n = 0; n < total; n += n < 3490 ? 97 : 1) {
        const root = await mkdtemp(join(tmpdir(), 'staged-batch-'));
        configureFaults(undefined);
        await prepare(root);
        const before = await visible(root);
        configureFaults(`enospc-after:${n}`);
        const batch = new StagedBatch(root);
        const run = async () => {
          for (const { d, data } of blobs) batch.add(d, data);
          await batch.commit(adoptable);
        };
        await expect(run(), `failing after ${n} units`).rejects.toMatchObject({ code: 'NO_SPACE' });
        batch.discard();
        // What the batch was let take along may be gone; nothing else changed.
        const after = await visible(root);
        if (adoptable) expect(before, `failing after ${n} units`).toEqual(expect.arrayContaining(after));
        else expect(after, `failing after ${n} units`).toEqual(before);
        expect(await list(join(root, INGEST_DIR)), `failing after ${n} units`).toEqual([]);
        await rm(root, { recursive: true, force: true });
      }
    });
  }

  it('flushes what it wrote in the background as it grows, and commits every blob after that flush', async () => {
    const root = await mkdtemp(join(tmpdir(), 'staged-batch-'));
    const batch = new StagedBatch(root);
    vi.mocked(syncfs).mockClear();
    // 20 blobs of 1 MiB: past the 16 MiB at which a flush starts.
    const big = Array.from({ length: 20 }, (_, i) => blobOf(Buffer.alloc(1 << 20, i)));
    for (const { d, data } of big.slice(0, 16)) batch.add(d, data);
    expect(vi.mocked(syncfs)).toHaveBeenCalledTimes(1);
    for (const { d, data } of big.slice(16)) batch.add(d, data);
    expect((await batch.commit()).length).toBe(20);
    expect(vi.mocked(syncfs)).toHaveBeenCalledTimes(2);
    expect(await visible(root)).toEqual(big.map((b) => b.d.digest.slice(7)).sort());
    await rm(root, { recursive: true, force: true });
  });
});
