// One conformance suite for every content store (STYLE.md §2.8): memory, OCI layout directory, layout tar.
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeLayoutTar } from '../bundle/pack.js';
import { ContentError } from '../errors.js';
import { ANNOTATION_REF_NAME, MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor, type Manifest } from '../model/oci.js';
import { tempDir } from '../../test/helpers.js';
import { sha256 } from './digest.js';
import { MemoryTarget } from './memory.js';
import { OciLayoutStore } from './oci-layout/store.js';
import { canFetchRange, type ReadOnlyTarget, type Target } from './storage.js';
import { TarLayoutStore } from './tarfs.js';
import { readAll } from './verify.js';

function blob(mediaType: string, data: string | Buffer): { desc: Descriptor; data: Buffer } {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return { desc: { mediaType, digest: sha256(buf), size: buf.length }, data: buf };
}

const config = blob('application/vnd.oci.image.config.v1+json', '{"architecture":"amd64","os":"linux"}');
const layer = blob('application/vnd.oci.image.layer.v1.tar', Buffer.alloc(300_000, 7));
const manifestDoc: Manifest = { schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config: config.desc, layers: [layer.desc] };
const manifest = blob(MEDIA_TYPE_IMAGE_MANIFEST, JSON.stringify(manifestDoc));
const referrerDoc: Manifest = { ...manifestDoc, artifactType: 'application/example', layers: [], subject: manifest.desc };
const referrer = blob(MEDIA_TYPE_IMAGE_MANIFEST, JSON.stringify(referrerDoc));
const all = [config, layer, manifest, referrer];
const missing = blob('application/octet-stream', 'not stored');

async function read(store: ReadOnlyTarget, d: Descriptor): Promise<Buffer> {
  return readAll(await store.fetch(d), d, { limit: 1 << 20 });
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as ContentError).code;
  }
  return undefined;
}

/** describeReadOnly checks a store that already holds `all`, with `manifest` tagged `app:v1`. */
function describeReadOnly(name: string, open: () => Promise<ReadOnlyTarget>) {
  describe(`${name}: read-only conformance`, () => {
    it('exists, fetch and resolve stored content', async () => {
      const store = await open();
      for (const b of all) {
        expect(await store.exists(b.desc)).toBe(true);
        expect((await read(store, b.desc)).equals(b.data)).toBe(true);
      }
      const d = await store.resolve('app:v1');
      expect(d.digest).toBe(manifest.desc.digest);
      expect(d.size).toBe(manifest.desc.size);
    });
    it('reports missing content as NOT_FOUND and malformed digests as INVALID_DIGEST', async () => {
      const store = await open();
      expect(await store.exists(missing.desc)).toBe(false);
      expect(await code(store.fetch(missing.desc))).toBe('NOT_FOUND');
      expect(await code(store.resolve('app:nope'))).toBe('NOT_FOUND');
      expect(await code(store.fetch({ ...missing.desc, digest: 'sha256:XYZ' as never }))).toMatch(/INVALID_DIGEST|UNSAFE_PATH/);
      expect(await code(store.fetch({ ...missing.desc, digest: 'sha512:abcd' as never }))).toBe('UNSUPPORTED');
    });
    it('serves byte ranges when it can', async () => {
      const store = await open();
      if (!canFetchRange(store)) return;
      const chunks: Buffer[] = [];
      for await (const c of await store.fetchRange(layer.desc, 10, 19)) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks)).toEqual(layer.data.subarray(10, 20));
    });
  });
}

/** describeStorage checks a writable store from empty: push, verify-on-push, tag, resolve, predecessors. */
function describeStorage(name: string, open: () => Promise<Target & { tags(): Promise<string[]> }>) {
  describe(`${name}: storage conformance`, () => {
    it('push -> exists -> fetch -> tag -> resolve -> tags', async () => {
      const store = await open();
      for (const b of all) await store.push(b.desc, Readable.from([b.data]));
      for (const b of all) expect((await read(store, b.desc)).equals(b.data)).toBe(true);
      await store.tag(manifest.desc, 'app:v1');
      expect((await store.resolve('app:v1')).digest).toBe(manifest.desc.digest);
      expect((await store.resolve(manifest.desc.digest)).digest).toBe(manifest.desc.digest);
      expect(await store.tags()).toEqual(['app:v1']);
    });
    it.each([
      { name: 'wrong digest', desc: { ...layer.desc, digest: sha256('other') }, want: 'DIGEST_MISMATCH' },
      { name: 'short size', desc: { ...layer.desc, size: layer.desc.size + 1 }, want: 'SIZE_MISMATCH' },
      { name: 'long content', desc: { ...layer.desc, size: layer.desc.size - 1 }, want: 'SIZE_MISMATCH' },
      { name: 'negative size', desc: { ...layer.desc, size: -1 }, want: 'SIZE_EXCEEDS_LIMIT' },
      { name: 'path in digest', desc: { ...layer.desc, digest: 'sha256:../../etc/passwd' as never }, want: 'UNSAFE_PATH|INVALID_DIGEST' },
    ])('rejects a push with $name and stores nothing', async ({ desc, want }) => {
      const store = await open();
      expect(await code(store.push(desc, Readable.from([layer.data])))).toMatch(new RegExp(`^(${want})$`));
      if (/^sha256:[a-f0-9]{64}$/.test(desc.digest)) expect(await store.exists(desc)).toBe(false);
    });
    it('refuses to push present content (ALREADY_EXISTS) and to tag absent content (NOT_FOUND)', async () => {
      const store = await open();
      await store.push(config.desc, Readable.from([config.data]));
      expect(await code(store.push(config.desc, Readable.from([config.data])))).toBe('ALREADY_EXISTS');
      expect(await code(store.tag(missing.desc, 'x:1'))).toBe('NOT_FOUND');
      expect(await code(store.tag(config.desc, 'sha256:0000'))).toBe('INVALID_LAYOUT');
    });
    it('finds predecessors, including referrers through subject', async () => {
      const store = await open();
      for (const b of all) await store.push(b.desc, Readable.from([b.data]));
      const preds = await (store as unknown as { predecessors(d: Descriptor): Promise<Descriptor[]> }).predecessors(manifest.desc);
      expect(preds.map((p) => p.digest)).toEqual([referrer.desc.digest]);
      const configPreds = await (store as unknown as { predecessors(d: Descriptor): Promise<Descriptor[]> }).predecessors(config.desc);
      expect(configPreds.map((p) => p.digest).sort()).toEqual([manifest.desc.digest, referrer.desc.digest].sort());
    });
  });
}

async function filled<T extends Target>(store: T): Promise<T> {
  for (const b of all) await store.push(b.desc, Readable.from([b.data]));
  await store.tag(manifest.desc, 'app:v1');
  return store;
}

describe('oci-layout: tagAll', () => {
  it('tags every reference with one index write, or none when one names absent content (the first such named)', async () => {
    const store = await OciLayoutStore.open(join(await tempDir(), 'layout'), { create: true });
    for (const b of all) await store.push(b.desc, Readable.from([b.data]));
    const many = Array.from({ length: 300 }, (_, i) => ({ desc: i % 2 ? manifest.desc : referrer.desc, reference: `app:v${i}` }));
    const err = await store.tagAll([...many, { desc: missing.desc, reference: 'gone:1' }, { desc: { ...missing.desc, digest: sha256('also gone') }, reference: 'gone:2' }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(missing.desc.digest) });
    expect(await store.tags()).toEqual([]);
    await store.tagAll(many);
    expect((await store.tags()).length).toBe(300);
    expect((await store.resolve('app:v1')).digest).toBe(manifest.desc.digest);
  });
});

describeStorage('memory', async () => new MemoryTarget());
describeStorage('oci-layout', async () => OciLayoutStore.open(join(await tempDir(), 'layout'), { create: true }));
describeReadOnly('memory', async () => filled(new MemoryTarget()));
describeReadOnly('oci-layout', async () => filled(await OciLayoutStore.open(join(await tempDir(), 'layout'), { create: true })));
describeReadOnly('oci-layout reopened', async () => {
  const dir = join(await tempDir(), 'layout');
  await filled(await OciLayoutStore.open(dir, { create: true }));
  return OciLayoutStore.open(dir);
});
describeReadOnly('layout tar', async () => {
  const mem = await filled(new MemoryTarget());
  const out = join(await tempDir(), 'layout.tar');
  const tagged = { ...manifest.desc, annotations: { [ANNOTATION_REF_NAME]: 'app:v1' } };
  await writeLayoutTar(out, mem, all.map((b) => b.desc), { schemaVersion: 2, manifests: [tagged] });
  return TarLayoutStore.open(out);
});
