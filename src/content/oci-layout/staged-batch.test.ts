// StagedBatch: blobs written without an fsync each become visible only at commit, whole, after one flush; a
// failure at any write or rename leaves no partial blob and, once discarded, no temp file.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Descriptor } from '../../model/oci.js';
import { configureFaults, faultUnits } from '../fault.js';
import { INGEST_DIR, StagedBatch } from './ingest.js';

const blobs = [1000, 1, 2500].map((n, i) => {
  const data = Buffer.alloc(n, 97 + i);
  const d: Descriptor = { mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: n };
  return { d, data };
});

const list = (dir: string) => readdir(dir).catch(() => [] as string[]);

// visible returns the blobs in root/blobs/sha256, failing if one does not match its name.
async function visible(root: string): Promise<string[]> {
  const dir = join(root, 'blobs', 'sha256');
  const names = await list(dir);
  for (const n of names) expect(createHash('sha256').update(await readFile(join(dir, n))).digest('hex')).toBe(n);
  return names.sort();
}

afterEach(() => configureFaults(undefined));

describe('StagedBatch', () => {
  it('makes nothing visible before commit, every blob (read-only) after it, and leaves no temp file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'staged-batch-'));
    const batch = new StagedBatch(root);
    for (const { d, data } of blobs) batch.add(d, data);
    expect(batch.bytes).toBe(3501);
    expect(await visible(root)).toEqual([]);
    expect(await list(join(root, INGEST_DIR))).toHaveLength(3);
    const created = await batch.commit();
    expect(created.map((d) => d.digest).sort()).toEqual(blobs.map((b) => b.d.digest).sort());
    expect(await visible(root)).toEqual(blobs.map((b) => b.d.digest.slice(7)).sort());
    expect(await list(join(root, INGEST_DIR))).toEqual([]);
    expect((await stat(join(root, 'blobs', 'sha256', blobs[0]!.d.digest.slice(7)))).mode & 0o777).toBe(0o444);
    // A blob already there is not added twice.
    batch.add(blobs[1]!.d, blobs[1]!.data);
    expect(await batch.commit()).toEqual([]);
    expect(await list(join(root, INGEST_DIR))).toEqual([]);
    await rm(root, { recursive: true, force: true });
  });

  it('fails cleanly at every unit it writes: no blob visible, no temp file after discard', async () => {
    configureFaults('count');
    const counted = await mkdtemp(join(tmpdir(), 'staged-batch-'));
    const probe = new StagedBatch(counted);
    for (const { d, data } of blobs) probe.add(d, data);
    await probe.commit();
    const total = faultUnits();
    // Every byte of the three blobs, and a rename each.
    expect(total).toBe(3501 + 3);
    await rm(counted, { recursive: true, force: true });
    for (let n = 0; n < total; n += n < 3490 ? 97 : 1) {
      configureFaults(`enospc-after:${n}`);
      const root = await mkdtemp(join(tmpdir(), 'staged-batch-'));
      const batch = new StagedBatch(root);
      const run = async () => {
        for (const { d, data } of blobs) batch.add(d, data);
        await batch.commit();
      };
      await expect(run(), `failing after ${n} units`).rejects.toMatchObject({ code: 'NO_SPACE' });
      batch.discard();
      expect(await visible(root), `failing after ${n} units`).toEqual([]);
      expect(await list(join(root, INGEST_DIR)), `failing after ${n} units`).toEqual([]);
      await rm(root, { recursive: true, force: true });
    }
  });
});
