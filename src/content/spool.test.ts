import { randomBytes } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { ContentError } from '../errors.js';
import type { Descriptor } from '../model/oci.js';
import { sha256 } from './digest.js';
import { BlobSpool } from './spool.js';
import { fetchVerified } from './verify.js';

const blob = (data: Buffer): Descriptor => ({ mediaType: 'application/octet-stream', digest: sha256(data), size: data.length });

describe('BlobSpool', () => {
  it('gives back every blob, spooled or still pending, in any order; adding a blob twice keeps one copy', async () => {
    const dir = await tempDir();
    const path = join(dir, 'spool');
    const spool = await BlobSpool.create(path);
    // Enough small and large blobs to cross several 1 MiB write batches, and one left pending.
    const datas = Array.from({ length: 40 }, (_, i) => randomBytes(i % 5 === 0 ? 300_000 : 1 + i * 37));
    for (const d of datas) await spool.add(blob(d), d);
    await spool.add(blob(datas[3]!), datas[3]!);
    for (const d of [...datas].reverse()) {
      expect((await spool.readVerified(blob(d))).equals(d)).toBe(true);
      expect(Buffer.concat(await (await fetchVerified(spool, blob(d))).toArray()).equals(d)).toBe(true);
    }
    const total = datas.reduce((n, d) => n + d.length, 0);
    expect((await (await open(path)).stat()).size).toBe(total);
    const d = datas[7]!;
    expect(Buffer.concat(await (await spool.fetchRange(blob(d), 2, 10)).toArray()).equals(d.subarray(2, 11))).toBe(true);
    await spool.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a read waits for the writes before it, when adds are not awaited', async () => {
    const dir = await tempDir();
    const spool = await BlobSpool.create(join(dir, 'spool'));
    const datas = Array.from({ length: 6 }, () => randomBytes(700_000));
    const adds = datas.map((d) => spool.add(blob(d), d));
    const reads = datas.map((d) => spool.readVerified(blob(d)));
    await Promise.all(adds);
    for (const [i, r] of (await Promise.all(reads)).entries()) expect(r.equals(datas[i]!)).toBe(true);
    await spool.close();
  });

  it('refuses unknown blobs, wrong sizes and bytes changed on disk', async () => {
    const dir = await tempDir();
    const path = join(dir, 'spool');
    const spool = await BlobSpool.create(path);
    const data = randomBytes(4096);
    await expect(spool.read(blob(data))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(spool.add({ ...blob(data), size: 10 }, data)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await spool.add(blob(data), data);
    await expect(spool.read({ ...blob(data), size: 4095 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await spool.readVerified(blob(data))).equals(data)).toBe(true);
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from([data[100]! ^ 1]), 0, 1, 100);
    await fh.close();
    const err = await spool.readVerified(blob(data)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentError);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(spool.readVerifiedInto(blob(data), Buffer.alloc(4096))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(spool.readVerifiedInto(blob(data), Buffer.alloc(4097))).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await spool.close();
  });

  it('will not take over an existing file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'spool');
    await (await open(path, 'w')).close();
    await expect(BlobSpool.create(path)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
