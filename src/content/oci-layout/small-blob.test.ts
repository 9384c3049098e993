// Small blobs read at once (readSmallBlob, OciLayoutStore.readBlob): the stored bytes, or a plain answer for a
// blob that is missing or too large to read so; anything but a regular file fails; a damaged file is refused by
// the digest check of whoever reads it (readDocument), with the same error as a stream gives.
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Descriptor } from '../../model/oci.js';
import { readAll, readDocument } from '../verify.js';
import { blobPath, readSmallBlob } from './ingest.js';
import { OciLayoutStore } from './store.js';

const descOf = (data: Buffer): Descriptor => ({ mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length });

async function store(blobs: Buffer[]): Promise<OciLayoutStore> {
  const dir = await mkdtemp(join(tmpdir(), 'sveltos-airgap-small-blob-'));
  const s = await OciLayoutStore.open(dir, { create: true });
  for (const b of blobs) await s.push(descOf(b), Readable.from([b]));
  return s;
}

describe('small blobs read at once', () => {
  it('reads a small blob, says null for a missing file and undefined for a blob too large', async () => {
    const small = Buffer.from('kind: ConfigMap\n');
    const large = Buffer.alloc(200 * 1024, 7);
    const s = await store([small, large]);
    expect(readSmallBlob(s.blobFile(descOf(small)), descOf(small), 1 << 20)).toEqual(small);
    expect(readSmallBlob(s.blobFile(descOf(large)), descOf(large), 1 << 20)).toBeUndefined();
    // Under the caller's limit only.
    expect(readSmallBlob(s.blobFile(descOf(small)), descOf(small), 4)).toBeUndefined();
    const missing = descOf(Buffer.from('never stored'));
    expect(readSmallBlob(s.blobFile(missing), missing, 1 << 20)).toBeNull();
    await expect(s.readBlob(missing, 1 << 20)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The large one is streamed by readDocument, and reads the same.
    expect(await readDocument(s, descOf(large), { limit: 1 << 20 })).toEqual(large);
  });

  it('refuses what is not a regular file, and a changed or longer file with the error a stream gives', async () => {
    const data = Buffer.from('apiVersion: v1\nkind: ConfigMap\n');
    const d = descOf(data);
    const s = await store([data]);
    const path = s.blobFile(d);
    await chmod(path, 0o644);
    await writeFile(path, Buffer.concat([data, Buffer.from('x')]));
    await expect(readDocument(s, d)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expect(readAll(await s.fetch(d), d)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await writeFile(path, Buffer.from(data.toString().replace('v1', 'v2')));
    const changed = await readDocument(s, d).catch((e: Error) => e);
    expect(changed).toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringContaining(d.digest) });
    await expect(readAll(await s.fetch(d), d)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', message: (changed as Error).message });

    const dirBlob = descOf(Buffer.from('a directory'));
    await mkdir(blobPath(s.root, dirBlob.digest));
    expect(() => readSmallBlob(blobPath(s.root, dirBlob.digest), dirBlob, 1 << 20)).toThrow(/expected a regular file/);
  });
});
