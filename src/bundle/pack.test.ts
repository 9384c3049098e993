import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { keyPair, tempDir } from '../../test/helpers.js';
import { sha256 } from '../content/digest.js';
import { MemoryTarget } from '../content/memory.js';
import type { ReadOnlyStorage } from '../content/storage.js';
import { TarLayoutStore } from '../content/tarfs.js';
import { ContentError } from '../errors.js';
import { MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor } from '../model/oci.js';
import { pushBlob, pushJSON } from './manifest.js';
import { packBundle, type PackOptions } from './pack.js';
import { KeySigner } from './sign.js';

const LAYER = 'application/vnd.oci.image.layer.v1.tar';

async function image(store: MemoryTarget, layers: Buffer[]): Promise<Descriptor> {
  const config = await pushJSON(store, 'application/vnd.oci.image.config.v1+json', {});
  const descs = [];
  for (const l of layers) descs.push(await pushBlob(store, LAYER, l));
  return pushJSON(store, MEDIA_TYPE_IMAGE_MANIFEST, { schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config, layers: descs });
}

function options(out: string, extras: PackOptions['extras']): PackOptions {
  const { privateKey } = keyPair('ec', { namedCurve: 'P-256' });
  return {
    clusters: [],
    extras,
    signer: new KeySigner(privateKey),
    sequence: 1,
    createdAt: new Date('2025-01-01T00:00:00Z'),
    expiresAt: new Date('2100-01-01T00:00:00Z'),
    source: 'test',
    out,
  };
}

describe('packBundle with carried artifacts', () => {
  it('reads each carried blob once, while writing the tar', async () => {
    const src = new MemoryTarget();
    const layers = [Buffer.alloc(300_000, 1), Buffer.alloc(5, 2)];
    const root = await image(src, layers);
    const fetched: string[] = [];
    const counting: ReadOnlyStorage = {
      exists: (d) => src.exists(d),
      fetch: (d) => {
        fetched.push(d.digest);
        return src.fetch(d);
      },
    };
    const out = join(await tempDir(), 'b.tar');
    await packBundle(options(out, [{ source: counting, root, ref: 'img:1' }]));
    for (const l of layers) expect(fetched.filter((d) => d === sha256(l))).toHaveLength(1);
    const tar = await TarLayoutStore.open(out);
    expect(await tar.exists({ mediaType: LAYER, digest: sha256(layers[0]!), size: layers[0]!.length })).toBe(true);
  });

  it('fails on a source blob that does not match its digest and leaves no file', async () => {
    const src = new MemoryTarget();
    const good = Buffer.from('layer bytes');
    const root = await image(src, [good]);
    const lying: ReadOnlyStorage = {
      exists: (d) => src.exists(d),
      fetch: async (d) => (d.digest === sha256(good) ? Readable.from([Buffer.from('LAYER BYTES')]) : src.fetch(d)),
    };
    const dir = await tempDir();
    const out = join(dir, 'b.tar');
    const err = await packBundle(options(out, [{ source: lying, root, ref: 'img:1' }])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentError);
    expect((err as ContentError).code).toBe('DIGEST_MISMATCH');
    await expect(stat(out)).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });
});
