// Split bundles (docs/format.md "Volumes"): parts that are each a valid OCI layout, verified on their own,
// imported in any order over several runs, committed only when complete.
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { chartExtra, clusterInput, configMapYAML, DAY, makeBundle, T0, testKeys, type TestKeys } from '../../test/bundles.js';
import { tempDir, treeDigest } from '../../test/helpers.js';
import { TarLayoutStore } from '../content/tarfs.js';
import { verifyBuffer } from '../content/verify.js';
import { ANNOTATION_PART, ANNOTATION_PARTS, ARTIFACT_TYPE_VOLUMES } from '../model/bundle.js';
import { importBundle } from './import.js';
import { readState, SiteView } from './site.js';
import { verifyBundle } from './verify.js';
import { BundleParts, partFileName, planVolumes, volumeTableFromJSON } from './volumes.js';

const run = promisify(execFile);
const NOW = new Date(T0.getTime() + DAY);
const SPLIT = 96 * 1024;

// splitBundle: two clusters with layers of 10-60 KiB, and a 250 KiB chart that must be chunked.
async function splitBundle(keys: TestKeys, sequence = 2, out?: string, createdAt?: Date) {
  const clusters = [
    clusterInput('prod', 'c1', { env: 'prod' }, [configMapYAML('a', 60_000), configMapYAML('b', 10_000)]),
    clusterInput('edge', 'c2', { env: 'edge' }, [configMapYAML('c', 40_000), configMapYAML('d', 30_000), configMapYAML('e', 20_000)]),
  ];
  return makeBundle(keys, { clusters, extras: [await chartExtra('charts/big:1.0.0', 250_000)], splitSize: SPLIT, sequence, ...(out ? { out } : {}), ...(createdAt ? { createdAt } : {}) });
}

const open = (files: string[]) => BundleParts.open(files);

describe('planVolumes', () => {
  const d = (n: number, size: number) => ({ mediaType: 'x/y', digest: `sha256:${String(n).padStart(64, '0')}` as const, size });

  it('chunks a blob larger than a part into chunks that each fill one', () => {
    const plan = planVolumes({ data: [d(1, 9000)], splitSize: 5120, overhead: 1024 });
    expect(plan.chunked[0]!.chunks.map((c) => [c.chunk.offset, c.chunk.size, c.part])).toEqual([
      [0, 3584, 1],
      [3584, 3584, 2],
      [7168, 1832, 3],
    ]);
  });

  it('fills media: large blobs are cut to fill free space, small ones stay whole', () => {
    const MiB = 1024 * 1024;
    const data = [...Array.from({ length: 6 }, (_, i) => d(i, MiB / 2)), ...Array.from({ length: 20 }, (_, i) => d(100 + i, 10 * 1024))];
    const plan = planVolumes({ data, splitSize: MiB + 8192, overhead: 8192 });
    expect(plan.parts.length).toBe(4);
    for (const p of plan.parts) expect(p.used).toBeLessThanOrEqual(MiB);
    expect(plan.parts.slice(0, 3).every((p) => p.used > MiB - MiB / 64)).toBe(true);
    const chunkedDigests = new Set(plan.chunked.map((c) => c.blob.digest));
    expect(data.filter((b) => b.size < MiB / 16).some((b) => chunkedDigests.has(b.digest))).toBe(false);
    // Every blob is placed exactly once, whole or as chunks adding up to it.
    for (const b of data) {
      const whole = plan.parts.filter((p) => p.blobs.includes(b)).length;
      const pieces = plan.chunked.find((c) => c.blob === b)?.chunks.reduce((n, c) => n + c.chunk.size, 0) ?? 0;
      expect(whole === 1 ? pieces : pieces === b.size ? 1 : 0).toBe(whole === 1 ? 0 : 1);
    }
  });

  it('keeps a large blob whole in a new part when no part has room worth filling', () => {
    const MiB = 1024 * 1024;
    const plan = planVolumes({ data: [d(1, MiB - 4096), d(2, MiB - 4096), d(3, MiB - 4096)], splitSize: MiB + 8192, overhead: 8192 });
    expect(plan.chunked).toEqual([]);
    expect(plan.parts.map((p) => p.blobs.length)).toEqual([1, 1, 1]);
  });

  it('refuses a split size that cannot hold the metadata', () => {
    expect(() => planVolumes({ data: [], splitSize: 2048, overhead: 2000 })).toThrow(/too small: every part carries 2000 bytes of signed metadata/);
  });
});

describe('split bundles', () => {
  it('writes parts no larger than the split size, each a standard OCI layout that skopeo reads', async () => {
    const keys = await testKeys();
    const b = await splitBundle(keys);
    expect(b.parts!.length).toBeGreaterThanOrEqual(4);
    const n = b.parts!.length;
    expect(b.parts!.map((p) => p.file)).toEqual(Array.from({ length: n }, (_, i) => partFileName(b.path, i + 1, n)));
    expect(await readdir(join(b.path, '..'))).not.toContain('bundle.tar');
    for (const p of b.parts!) {
      expect((await stat(p.file)).size).toBeLessThanOrEqual(SPLIT);
      const store = await TarLayoutStore.open(p.file);
      expect(store.index().annotations).toMatchObject({ [ANNOTATION_PARTS]: String(n) });
      expect(store.index().manifests.some((m) => m.artifactType === ARTIFACT_TYPE_VOLUMES)).toBe(true);
    }
    const chart = b.volumes!.table.chunked.find((c) => c.size === 250_000)!;
    expect(chart.chunks.length).toBeGreaterThanOrEqual(3);
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci-archive:${b.parts![n - 1]!.file}:sveltos-airgap/clusters/prod/c1:latest`]);
    expect(JSON.parse(stdout).artifactType).toBe('application/vnd.projectsveltos.airgap.cluster.v1+json');
  });

  it('is deterministic: the same inputs, key and times give byte-identical parts', async () => {
    const keys = await testKeys();
    const [a, b] = [await splitBundle(keys), await splitBundle(keys)];
    for (const [i, p] of a.parts!.entries()) expect((await readFile(p.file)).equals(await readFile(b.parts![i]!.file))).toBe(true);
  });

  it('verifies each part on its own, naming what the others hold, and the whole set in any order', async () => {
    const keys = await testKeys();
    const b = await splitBundle(keys);
    const files = b.parts!.map((p) => p.file);
    for (const [i, f] of files.entries()) {
      const v = await verifyBundle(await open([f]), { trusted: [keys.publicKey], now: NOW });
      expect(v.complete).toBe(false);
      expect(v.volumes!.given).toEqual([i + 1]);
      expect(new Set(v.missing.map((m) => m.part))).toEqual(new Set(files.map((_, k) => k + 1).filter((k) => k !== i + 1)));
    }
    const all = await verifyBundle(await open([...files].reverse()), { trusted: [keys.publicKey], now: NOW });
    expect(all.complete).toBe(true);
    expect(all.missing).toEqual([]);
    expect(all.volumes!.given).toEqual(files.map((_, k) => k + 1));
  });

  it('imports parts over several runs, in any order, serving nothing new until the bundle is complete', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    const first = await makeBundle(keys, { sequence: 1 });
    await importBundle(await TarLayoutStore.open(first.path), { storeDir: store, trusted: [keys.publicKey], now: NOW });
    const b = await splitBundle(keys, 2);
    const files = b.parts!.map((p) => p.file);
    const order = [files.length - 1, 0, ...files.map((_, i) => i).slice(1, -1)];
    let staged = 0;
    for (const [step, k] of order.entries()) {
      const before = await readFile(join(store, 'state.json'), 'utf8');
      const r = await importBundle(await open([files[k]!]), { storeDir: store, trusted: [keys.publicKey], now: NOW });
      staged += r.staged;
      if (step < order.length - 1) {
        expect(r.complete).toBe(false);
        expect(r.missing.length).toBeGreaterThan(0);
        expect(await readFile(join(store, 'state.json'), 'utf8')).toBe(before);
        expect((await readState(store)).highestSequence).toBe(1);
      } else {
        expect(r.complete).toBe(true);
      }
    }
    const state = await readState(store);
    expect(state.highestSequence).toBe(2);
    // Every blob of the bundle, the chunked chart included, is in the store and verifies; staging is empty.
    const view = await SiteView.open(store);
    const chart = await view.resolve('charts/big:1.0.0');
    expect(chart.digest).toBe(b.index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'charts/big:1.0.0')!.digest);
    const verified = await verifyBundle(await open(files), { trusted: [keys.publicKey], now: NOW });
    for (const d of verified.blobs) verifyBuffer(await readFile(join(store, 'blobs', 'sha256', d.digest.slice(7))), d);
    expect(await readdir(join(store, 'staging', 'blobs', 'sha256'))).toEqual([]);
    expect(staged).toBeGreaterThanOrEqual(verified.blobs.length);
  });

  it('stores equal chunks once and joins every blob that uses them, part by part', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    // Two zero-filled charts: their full chunks have the same bytes, so the same digest.
    const b = await makeBundle(keys, { clusters: [clusterInput('prod', 'c1')], extras: [await chartExtra('charts/zero:1', 300_000, 0), await chartExtra('charts/zero:2', 200_000, 0)], splitSize: SPLIT });
    const digests = b.volumes!.table.chunked.flatMap((c) => c.chunks.map((k) => k.digest));
    expect(new Set(digests).size).toBeLessThan(digests.length);
    const files = b.parts!.map((p) => p.file);
    for (const [i, f] of files.entries()) {
      const r = await importBundle(await open([f]), { storeDir: store, trusted: [keys.publicKey], now: NOW });
      expect(r.complete).toBe(i === files.length - 1);
    }
    const verified = await verifyBundle(await open(files), { trusted: [keys.publicKey], now: NOW });
    for (const d of verified.blobs) verifyBuffer(await readFile(join(store, 'blobs', 'sha256', d.digest.slice(7))), d);
    expect(await readdir(join(store, 'staging', 'blobs', 'sha256'))).toEqual([]);
  });

  it('splits a delta: blobs the site holds are listed as held, in no part, and taken from the store', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    const chart = await chartExtra('charts/big:1.0.0', 150_000);
    const first = await makeBundle(keys, { sequence: 1, extras: [chart] });
    await importBundle(await TarLayoutStore.open(first.path), { storeDir: store, trusted: [keys.publicKey], now: NOW });
    const held = new Set((await readdir(join(store, 'blobs', 'sha256'))).map((h) => `sha256:${h}`));
    const { packBundle } = await import('./pack.js');
    const out = join(await tempDir(), 'delta.tar');
    const r = await packBundle({
      clusters: [clusterInput('prod', 'c1', {}, [configMapYAML('new', 40_000)])],
      extras: [chart],
      signer: keys.signer,
      sequence: 2,
      createdAt: T0,
      expiresAt: new Date(T0.getTime() + 30 * DAY),
      source: 'test',
      out,
      splitSize: SPLIT,
      omit: held,
    });
    const layer = [...held].find((d) => r.omitted.some((o) => o.digest === d && o.size === 150_000))!;
    expect(r.volumes!.table.held).toContain(layer);
    for (const p of r.parts!) expect((await TarLayoutStore.open(p.file)).blobs().some((b) => b.digest === layer)).toBe(false);
    const files = r.parts!.map((p) => p.file);
    await expect(verifyBundle(await open(files), { trusted: [keys.publicKey], now: NOW })).rejects.toThrow(/a delta bundle leaves it out because the site it was made for holds it/);
    const imported = await importBundle(await open(files), { storeDir: store, trusted: [keys.publicKey], now: NOW });
    expect(imported.complete).toBe(true);
    expect((await readState(store)).highestSequence).toBe(2);
  });

  it('imports all parts in one run; a rerun of the finished import is "already imported", and changes nothing', async () => {
    const keys = await testKeys();
    const store = join(await tempDir(), 'store');
    const b = await splitBundle(keys, 3);
    const files = b.parts!.map((p) => p.file);
    const r = await importBundle(await open(files), { storeDir: store, trusted: [keys.publicKey], now: NOW });
    expect(r.complete).toBe(true);
    const before = await treeDigest(store);
    const again = await importBundle(await open(files.slice(1)), { storeDir: store, trusted: [keys.publicKey], now: NOW });
    expect(again).toMatchObject({ complete: true, added: 0, staged: 0, alreadyImported: { sequence: 3, current: true } });
    expect(await treeDigest(store)).toBe(before);
    // Another bundle of the same sequence is a replay.
    const other = await splitBundle(keys, 3, undefined, new Date(T0.getTime() + 1000));
    await expect(importBundle(await open(other.parts!.map((p) => p.file)), { storeDir: store, trusted: [keys.publicKey], now: NOW })).rejects.toMatchObject({ code: 'ROLLBACK' });
    expect(await treeDigest(store)).toBe(before);
  });

  it('refuses parts of different bundles given together, and a whole bundle mixed with parts', async () => {
    const keys = await testKeys();
    const [a, b] = [await splitBundle(keys, 2), await splitBundle(keys, 3)];
    await expect(verifyBundle(await open([a.parts![0]!.file, b.parts![1]!.file]), { trusted: [keys.publicKey], now: NOW })).rejects.toThrow(/belongs to another bundle \(sequence 3/);
    const whole = await makeBundle(keys);
    await expect(open([whole.path, a.parts![0]!.file])).rejects.toThrow(/is a whole bundle, not a part of a split bundle/);
    await expect(open([a.parts![0]!.file, a.parts![0]!.file.replace('part1', 'part1')])).resolves.toBeDefined();
  });

  it('parses the volume table strictly, naming the field', () => {
    const good = { version: 1, parts: 1, splitSize: 10, volumes: [{ part: 1, blobs: [] }], chunked: [] };
    expect(volumeTableFromJSON(Buffer.from(JSON.stringify(good))).parts).toBe(1);
    const d = `sha256:${'a'.repeat(64)}`;
    expect(() => volumeTableFromJSON(Buffer.from(JSON.stringify({ ...good, volumes: [{ part: 1, blobs: [d, d] }] })))).toThrow(/volumes\[0\]\.blobs\[1\]: expected a blob placed only once/);
    expect(() => volumeTableFromJSON(Buffer.from(JSON.stringify({ ...good, chunked: [{ digest: d, size: 5, chunks: [{ digest: `sha256:${'b'.repeat(64)}`, size: 4, part: 1 }] }] })))).toThrow(/chunked\[0\]\.chunks: expected chunk sizes adding up to 5, found 4/);
    expect(() => volumeTableFromJSON(Buffer.from(JSON.stringify({ ...good, parts: 2 })))).toThrow(/volumes: expected an array of 2 parts/);
  });
});
