// Import (DESIGN.md §5): verify first, ingest atomically, anti-rollback, and a failed import leaves the store as it was.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobEntry, clusterInput, DAY, makeBundle, T0, tamper, testKeys, type TestKeys } from '../../test/bundles.js';
import { tempDir, treeDigest } from '../../test/helpers.js';
import { OciLayoutStore } from '../content/oci-layout/store.js';
import { TarLayoutStore } from '../content/tarfs.js';
import { verifyBuffer } from '../content/verify.js';
import { importBundle, type ImportOptions } from './import.js';
import { verifyBundle as verifyLayout } from './verify.js';
import { readState, SiteView } from './site.js';

const NOW = new Date(T0.getTime() + DAY);

async function importFile(path: string, storeDir: string, keys: TestKeys, extra: Partial<ImportOptions> = {}) {
  return importBundle(await TarLayoutStore.open(path), { storeDir, trusted: [keys.publicKey], now: NOW, ...extra });
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('importBundle', () => {
  it('ingests every blob, commits state.json and serves the clusters by reference', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    const b = await makeBundle(keys);
    const r = await importFile(b.path, store, keys);
    expect(r.added).toBe(b.blobs);
    const state = await readState(store);
    expect(state.highestSequence).toBe(1);
    expect(Object.keys(state.clusters).sort()).toEqual(['edge/c2', 'prod/c1']);
    const layout = await OciLayoutStore.open(store);
    for (const d of r.verified.blobs) verifyBuffer(await readFile(join(store, 'blobs', 'sha256', d.digest.slice(7))), d);
    expect((await layout.tags()).sort()).toContain('sveltos-airgap/clusters/prod/c1:latest');
    const view = await SiteView.open(store);
    expect((await view.resolve('sveltos-airgap/clusters/prod/c1:1')).digest).toBe(state.clusters['prod/c1']!.manifest.digest);
  });

  it('refuses a replayed or older sequence unless allowed, and moves forward on a newer one', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    await importFile((await makeBundle(keys, { sequence: 5 })).path, store, keys);
    const before = await treeDigest(store);
    // The same bundle again (same signed root) is no replay: nothing to do.
    expect((await importFile((await makeBundle(keys, { sequence: 5 })).path, store, keys)).alreadyImported).toEqual({ sequence: 5, importedAt: NOW.toISOString(), current: true });
    expect(await treeDigest(store)).toBe(before);
    expect(await code(importFile((await makeBundle(keys, { sequence: 5, createdAt: new Date(T0.getTime() + 1000) })).path, store, keys))).toBe('ROLLBACK');
    expect(await code(importFile((await makeBundle(keys, { sequence: 4 })).path, store, keys))).toBe('ROLLBACK');
    expect(await treeDigest(store)).toBe(before);
    await importFile((await makeBundle(keys, { sequence: 4 })).path, store, keys, { allowDowngrade: true });
    expect((await readState(store)).highestSequence).toBe(5);
    const newer = await makeBundle(keys, { sequence: 6, clusters: [clusterInput('prod', 'c1', { env: 'prod' }, ['v: 2\n'])] });
    const r = await importFile(newer.path, store, keys);
    expect(r.reused).toBeGreaterThan(0);
    const state = await readState(store);
    expect(state.highestSequence).toBe(6);
    expect(state.clusters['prod/c1']!.sequence).toBe(6);
    expect(state.clusters['edge/c2']!.sequence).toBe(4);
    expect(state.history.map((h) => h.sequence)).toEqual([5, 4, 6]);
  });

  it('takes the very bundle it imported before as "already imported" only once its signature checks out; --allow-downgrade serves an older one again', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    const first = await makeBundle(keys, { sequence: 1 });
    await importFile(first.path, store, keys);
    const second = await makeBundle(keys, { sequence: 2, clusters: [clusterInput('prod', 'c1', { env: 'prod' }, ['v: 2\n']), clusterInput('edge', 'c2', { env: 'edge' })] });
    await importFile(second.path, store, keys);
    const before = await treeDigest(store);
    expect((await importFile(first.path, store, keys)).alreadyImported).toMatchObject({ sequence: 1, current: false });
    expect(await treeDigest(store)).toBe(before);
    // Not from a trusted key: refused like any bundle, although the store holds its root.
    expect(await code(importFile(first.path, store, await testKeys()))).toBe('UNTRUSTED_SIGNER');
    expect(await code(importFile(first.path, store, keys, { requireClusters: ['prod/c9'] }))).toBe('POLICY');
    expect(await treeDigest(store)).toBe(before);
    // With --allow-downgrade the older bundle is imported again, and served.
    const again = await importFile(first.path, store, keys, { allowDowngrade: true });
    expect(again.alreadyImported).toBeUndefined();
    expect((await readState(store)).clusters['prod/c1']!.root).toBe(first.root.digest);
  });

  it('leaves the store exactly as it was when verification fails late (a bad blob)', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    await importFile((await makeBundle(keys, { sequence: 1 })).path, store, keys);
    const before = await treeDigest(store);
    const next = await makeBundle(keys, { sequence: 2, clusters: [clusterInput('prod', 'c1', {}, ['new: content\n'.repeat(100)])] });
    const layer = [...(await TarLayoutStore.open(next.path)).blobs()].find((b) => b.size === 'new: content\n'.length * 100)!;
    const bad = await tamper(next.path, (e) => {
      const data = Buffer.from(e.get(blobEntry(layer.digest))!);
      data[data.length - 1] = 0x21;
      e.set(blobEntry(layer.digest), data);
    });
    expect(await code(importFile(bad, store, keys))).toBe('DIGEST_MISMATCH');
    expect(await treeDigest(store)).toBe(before);
  });

  it('names a corrupted small blob of a bundle of hundreds (read in archive order, staged in a batch), and leaves the store and staging as they were', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    await importFile((await makeBundle(keys, { sequence: 1 })).path, store, keys);
    const before = await treeDigest(store);
    const clusters = Array.from({ length: 60 }, (_, i) => clusterInput(`ns${i % 4}`, `c${i}`, {}, [0, 1, 2].map((g) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: g${g}-c${i}\ndata:\n  k: v${i}-${g}\n`)));
    const next = await makeBundle(keys, { sequence: 2, clusters });
    const blobs = (await TarLayoutStore.open(next.path)).blobs();
    expect(blobs.length).toBeGreaterThan(300);
    // One in the middle of the archive, not the first nor the last read.
    const victim = [...blobs].sort((a, b) => (a.digest < b.digest ? -1 : 1))[Math.floor(blobs.length / 2)]!;
    const bad = await tamper(next.path, (e) => {
      const data = Buffer.from(e.get(blobEntry(victim.digest))!);
      data[data.length >> 1] = data[data.length >> 1]! ^ 1;
      e.set(blobEntry(victim.digest), data);
    });
    for (const run of [async () => verifyLayout(await TarLayoutStore.open(bad), { trusted: [keys.publicKey], now: NOW }), () => importFile(bad, store, keys)]) {
      const err = await run().then(() => undefined, (e: unknown) => e as { code?: string; message: string; details?: { digest?: string } });
      expect(err?.code).toBe('DIGEST_MISMATCH');
      expect(err?.message).toContain(`${victim.digest}: `);
      expect(err?.details?.digest).toBe(victim.digest);
    }
    expect(await treeDigest(store)).toBe(before);
    expect(await readdir(join(store, 'staging', 'ingest'))).toEqual([]);
    expect(await readdir(join(store, 'staging', 'blobs', 'sha256'))).toEqual([]);
  });

  it('refuses bundles that do not carry a required cluster', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    expect(await code(importFile((await makeBundle(keys)).path, store, keys, { requireClusters: ['prod/other'] }))).toBe('POLICY');
  });
});
