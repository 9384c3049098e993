// Crash safety of import (DESIGN.md §5), proven on the real CLI: `import` of a multi-blob split bundle (with a
// chunked blob) is killed with SIGKILL at 50 random points, chosen by the count of bytes written and file
// operations (the SVELTOS_AIRGAP_TEST_FAULT seam, src/content/fault.ts). After each kill: every visible blob
// matches its digest, state.json parses and references only complete content, the previous bundle is still
// served, and a rerun completes (reusing what the killed run verified).
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../src/agent-api/tokens.js';
import { importBundle } from '../src/bundle/import.js';
import { readState } from '../src/bundle/site.js';
import { BundleParts } from '../src/bundle/volumes.js';
import { TarLayoutStore } from '../src/content/tarfs.js';
import { chartExtra, clusterInput, configMapYAML, DAY, makeBundle, T0, testKeys } from './bundles.js';
import { buildPackage, runNode, type NodeExit } from './built-package.js';
import { cli } from './cli.js';
import { prng, tempDir } from './helpers.js';
import { badBlobs, served, storeProblems } from './store-check.js';

let BUILD = '';
let BIN = '';
const NOW = new Date(T0.getTime() + DAY).toISOString();
const POINTS = 50;

// runCli runs the built CLI with the fault seam set to `fault` (or unset).
function runCli(args: string[], fault?: string): Promise<NodeExit> {
  const env = { ...process.env };
  delete env.SVELTOS_AIRGAP_TEST_FAULT;
  if (fault) env.SVELTOS_AIRGAP_TEST_FAULT = fault;
  return runNode([BIN, ...args], { env });
}

beforeAll(async () => {
  // The CLI as shipped: compiled from src with the build config, into a private directory.
  BUILD = await buildPackage('crash-build');
  BIN = join(BUILD, 'bin.mjs');
});

afterAll(async () => {
  await rm(BUILD, { recursive: true, force: true });
});

describe('import crash safety', () => {
  it(`survives SIGKILL at ${POINTS} random points and finishes on a rerun`, { timeout: 300_000 }, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const rnd = prng(seed); // a failing run is replayed with CRASH_SEED
    const keys = await testKeys();
    const work = await tempDir('sveltos-airgap-crash-');

    // The previous bundle, imported into a template store.
    const previous = await makeBundle(keys, { sequence: 1 });
    const template = join(work, 'template');
    await importBundle(await TarLayoutStore.open(previous.path), { storeDir: template, trusted: [keys.publicKey], now: new Date(NOW) });
    // The agents' tokens: a cluster's configuration is served to its own agent only.
    const token = {
      prod: (await issueToken(template, 'prod/c1', new Date(NOW))).token,
      edge: (await issueToken(template, 'edge/c2', new Date(NOW))).token,
    };
    const prevDigest = await served(template, 'sveltos-airgap/clusters/prod/c1', '1', token.prod);

    // The next bundle: 12 blobs of 1-60 KB over several parts, and a 200 KB chart split into chunks.
    const clusters = [
      clusterInput('prod', 'c1', { env: 'prod' }, [configMapYAML('a', 60_000), configMapYAML('b', 20_000), configMapYAML('c', 1_000)]),
      clusterInput('edge', 'c2', { env: 'edge' }, [configMapYAML('d', 45_000), configMapYAML('e', 30_000)]),
    ];
    const next = await makeBundle(keys, { sequence: 2, clusters, extras: [await chartExtra('charts/big:1.0.0', 200_000)], splitSize: 80 * 1024, out: join(work, 'next.tar') });
    const parts = next.parts!.map((p) => p.file);
    expect(parts.length).toBeGreaterThanOrEqual(4);
    const args = (store: string) => ['import', ...parts, '--store', store, '--key', keys.pubPath, '--now', NOW, '--output', 'json', '--quiet'];

    // Count the units one import writes, and where publishing starts.
    const { total, marks } = await countUnits(template, work, args);
    const publish = marks.publish!;
    expect(publish).toBeGreaterThan(200_000);
    expect(total).toBeGreaterThan(publish);

    // Most points fall while blobs are written; a share is aimed at the publish-and-commit phase, which
    // writes few bytes but is where a crash could expose a half-finished switch.
    const points = Array.from({ length: POINTS }, (_, i) => (i % 5 < 3 ? Math.floor(rnd() * publish) : publish + Math.floor(rnd() * (total - publish))));
    const outcomes = { killedBeforeCommit: 0, killedAfterCommit: 0, resumedBlobs: 0 };
    const check = async (point: number, i: number) => {
      const where = `seed ${seed}, point ${i} (kill after ${point} of ${total} units)`;
      const store = join(work, `s${i}`);
      await cp(template, store, { recursive: true });
      const killed = await runCli(args(store), `kill-after:${point}`);
      expect(killed.signal, `${where}: ${killed.stderr}`).toBe('SIGKILL');
      expect(await storeProblems(store), where).toEqual([]);
      // The previous bundle is still served, byte for byte.
      expect(await served(store, 'sveltos-airgap/clusters/prod/c1', '1', token.prod), where).toBe(prevDigest);
      const state = await readState(store);
      if (state.highestSequence === 2) {
        outcomes.killedAfterCommit++;
        await served(store, 'sveltos-airgap/clusters/prod/c1', '2', token.prod);
      } else {
        outcomes.killedBeforeCommit++;
        expect(state.highestSequence, where).toBe(1);
      }
      // A rerun completes, and keeps what the killed run had verified.
      const rerun = await cli(args(store));
      expect(rerun.code, `${where}: ${rerun.stderr}`).toBe(0);
      outcomes.resumedBlobs += (JSON.parse(rerun.stdout) as { resumed: number }).resumed;
      expect(await storeProblems(store), where).toEqual([]);
      expect((await readState(store)).highestSequence, where).toBe(2);
      expect(await served(store, 'sveltos-airgap/clusters/edge/c2', '2', token.edge), where).toBe(next.index.manifests.find((m) => m.annotations?.['io.projectsveltos.airgap.cluster'] === 'edge/c2')!.digest);
      expect(await readdir(join(store, 'staging', 'blobs', 'sha256')), where).toEqual([]);
      expect((await readdir(store)).filter((n) => n.startsWith('.')), where).toEqual([]);
      await rm(store, { recursive: true, force: true });
    };
    await twoAtATime(points, check);
    expect(outcomes.killedBeforeCommit + outcomes.killedAfterCommit).toBe(POINTS);
    expect(outcomes.resumedBlobs).toBeGreaterThan(0);
    // The parts verify as they are after all this (the import never writes to them).
    expect((await cli(['verify', ...parts, '--key', keys.pubPath, '--now', NOW])).code).toBe(0);
    await BundleParts.open(parts);
  });

  it('joins chunks that earlier runs staged as it appends them: killed anywhere in the last run, staging holds at most one chunk more than the blobs it keeps, and a rerun finishes', { timeout: 300_000 }, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const rnd = prng(seed);
    const keys = await testKeys();
    const work = await tempDir('sveltos-airgap-join-');
    const previous = await makeBundle(keys, { sequence: 1 });
    const template = join(work, 'template');
    const now = new Date(NOW);
    await importBundle(await TarLayoutStore.open(previous.path), { storeDir: template, trusted: [keys.publicKey], now });
    const token = (await issueToken(template, 'prod/c1', now)).token;

    // A 600 KB chart cut into chunks of about one part each; every part but the one with its last chunk is
    // imported first (each in its own run), so most chunks wait in staging when the last run joins them.
    const next = await makeBundle(keys, { sequence: 2, clusters: [clusterInput('prod', 'c1', { env: 'prod' }, [configMapYAML('a', 2_000)])], extras: [await chartExtra('charts/big:1.0.0', 600_000)], splitSize: 160 * 1024, out: join(work, 'next.tar') });
    const table = next.volumes!.table;
    const chunks = table.chunked[0]!.chunks;
    const lastPart = chunks.at(-1)!.part;
    const files = next.parts!.map((p) => p.file);
    for (const [i, f] of files.entries()) {
      if (i + 1 === lastPart) continue;
      const r = await importBundle(await BundleParts.open([f]), { storeDir: template, trusted: [keys.publicKey], now });
      expect(r.complete).toBe(false);
    }
    const stagedChunks = chunks.filter((k) => k.part !== lastPart);
    expect(stagedChunks.length).toBeGreaterThanOrEqual(3);
    const before = await bytesUnder(join(template, 'staging'));
    const lastTar = files[lastPart - 1]!;
    const lastPartBytes = (await TarLayoutStore.open(lastTar)).blobs().reduce((n, b) => n + b.size, 0);
    const maxChunk = Math.max(...chunks.map((k) => k.size));
    // What a run may add to staging: the blobs of its part, and one chunk joined but not yet let go.
    const bound = before + lastPartBytes + maxChunk;
    const args = (store: string) => ['import', lastTar, '--store', store, '--key', keys.pubPath, '--now', NOW, '--output', 'json', '--quiet'];

    const { total, marks } = await countUnits(template, work, args);
    const [joinStart, joinEnd] = [marks.join!, marks.joined!];
    expect(joinEnd - joinStart).toBeGreaterThan(600_000 - maxChunk);
    // Points at random in the join, around each staged chunk's removal (its bytes appended, then one unit for the
    // unlink), every unit around the join's end (the publish), and a few after.
    let appended = 0;
    const removals = chunks.flatMap((k, j) => {
      appended += k.size;
      return k.part === lastPart ? [] : [-1, 0, 1].map((d) => joinStart + appended + j + d);
    });
    const points = [
      ...Array.from({ length: 10 }, () => joinStart + Math.floor(rnd() * (joinEnd - joinStart))),
      ...removals,
      ...Array.from({ length: 12 }, (_, i) => joinEnd - 8 + i),
      ...Array.from({ length: 4 }, () => joinEnd + Math.floor(rnd() * (total - joinEnd))),
    ];
    let peak = 0;
    const check = async (point: number, i: number) => {
      const where = `seed ${seed}, point ${i} (kill after ${point} of ${total} units; join ${joinStart}-${joinEnd})`;
      const store = join(work, `s${i}`);
      await cp(template, store, { recursive: true });
      const killed = await runCli(args(store), `kill-after:${point}`);
      expect(killed.signal, `${where}: ${killed.stderr}`).toBe('SIGKILL');
      const held = await bytesUnder(join(store, 'staging'));
      peak = Math.max(peak, held);
      expect(held, `${where}: staging holds ${held} bytes, bound ${bound}`).toBeLessThanOrEqual(bound);
      expect(await storeProblems(store), where).toEqual([]);
      expect(await served(store, 'sveltos-airgap/clusters/prod/c1', '1', token), where).toBeDefined();
      const rerun = await cli(args(store));
      expect(rerun.code, `${where}: ${rerun.stderr}`).toBe(0);
      expect(await storeProblems(store), where).toEqual([]);
      expect((await readState(store)).highestSequence, where).toBe(2);
      expect(await readdir(join(store, 'staging', 'blobs', 'sha256')), where).toEqual([]);
      expect(await readdir(join(store, 'staging', 'joins')), where).toEqual([]);
      const chart = (await readState(store)).refs['charts/big:1.0.0']!;
      expect(chart.digest, where).toBe(next.index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'charts/big:1.0.0')!.digest);
      await rm(store, { recursive: true, force: true });
    };
    await twoAtATime(points, check);
    // Without letting chunks go as they are appended, the end of the join would hold the whole blob twice.
    expect(peak).toBeGreaterThan(before);
    expect(before + 600_000).toBeGreaterThan(bound);
  });
});

/** countUnits runs the import of `args` once on a copy of `template`, counting the units it writes (fault.ts): the total and the named marks. */
describe('staged batch crash safety', () => {
  it('a first import moves the staged blobs into the empty store in one rename; killed around it, the store holds only whole blobs and a rerun finishes', { timeout: 120_000 }, async () => {
    const keys = await testKeys();
    const work = await tempDir('sveltos-airgap-first-crash-');
    const bundle = await makeBundle(keys, { sequence: 1, out: join(work, 'first.tar') });
    const args = (store: string) => ['import', bundle.path, '--store', store, '--key', keys.pubPath, '--now', NOW, '--output', 'json', '--quiet'];
    const empty = join(work, 'empty');
    await mkdir(empty);
    const { total, marks } = await countUnits(empty, work, args);
    const [publish, published] = [marks.publish!, marks.published!];
    // Every blob of the bundle, moved by one system call (one unit) rather than one each.
    expect(published - publish).toBe(1);
    const blobs = (await readdir(join(work, 'counted', 'blobs', 'sha256'))).length;
    expect(blobs).toBeGreaterThan(5);
    const points = [publish - 2, publish - 1, publish, published, published + 1, published + 2, ...Array.from({ length: 4 }, (_, i) => published + Math.floor(((i + 1) * (total - published)) / 5))];
    await twoAtATime(points, async (point, i) => {
      const where = `first import, kill after ${point} of ${total} units (publish ${publish}-${published})`;
      const store = join(work, `f${i}`);
      await mkdir(store);
      const killed = await runCli(args(store), `kill-after:${point}`);
      expect(killed.signal, `${where}: ${killed.stderr}`).toBe('SIGKILL');
      expect(await storeProblems(store), where).toEqual([]);
      const rerun = await cli(args(store));
      expect(rerun.code, `${where}: ${rerun.stderr}`).toBe(0);
      expect(await storeProblems(store), where).toEqual([]);
      expect((await readState(store)).highestSequence, where).toBe(1);
      expect((await readdir(join(store, 'blobs', 'sha256'))).length, where).toBe(blobs);
      expect(await readdir(join(store, 'staging', 'blobs', 'sha256')), where).toEqual([]);
    });
    await rm(work, { recursive: true, force: true });
  });

  it('a first import whose large blob is staged before the small ones takes it along: the small blobs go into staging in one move, not a rename each', { timeout: 120_000 }, async () => {
    const keys = await testKeys();
    const work = await tempDir('sveltos-airgap-first-large-');
    const clusters = Array.from({ length: 6 }, (_, i) => clusterInput('prod', `c${i}`, { env: 'prod' }, [configMapYAML(`m${i}`, 500), configMapYAML(`n${i}`, 700)]));
    const bundle = await makeBundle(keys, { sequence: 1, clusters, extras: [await chartExtra('charts/big:1.0.0', 2 * 1024 * 1024)], out: join(work, 'first.tar') });
    const empty = join(work, 'empty');
    await mkdir(empty);
    const { marks } = await countUnits(empty, work, (store) => ['import', bundle.path, '--store', store, '--key', keys.pubPath, '--now', NOW, '--output', 'json', '--quiet']);
    const dir = join(work, 'counted', 'blobs', 'sha256');
    const sizes = await Promise.all((await readdir(dir)).map(async (n) => (await stat(join(dir, n))).size));
    const large = sizes.filter((n) => n >= 1024 * 1024).length;
    expect(large).toBe(1);
    expect(sizes.length).toBeGreaterThan(20);
    // From staging to publishing: every byte of every blob, the large blob's rename, then the batch's two (the
    // large blob into its folder, the folder into staging) where there would be a rename per small blob.
    expect(marks.publish! - marks.stage!).toBe(sizes.reduce((a, b) => a + b, 0) + large + 2);
    await rm(work, { recursive: true, force: true });
  });

  it('killed at each step of a batch (while writing each blob, at the move of its folder or before and after each rename), shows only complete blobs', { timeout: 120_000 }, async () => {
    const work = await tempDir('sveltos-airgap-batch-crash-');
    // Three blobs (1000, 1 and 2500 bytes) staged as one batch: 3501 byte units, then one move of the batch's
    // folder into an empty layout, or a rename each into a layout holding a blob already.
    const script = `
      import { createHash } from 'node:crypto';
      import { StagedBatch } from ${JSON.stringify(join(BUILD, 'dist', 'content', 'oci-layout', 'ingest.js'))};
      const batch = new StagedBatch(process.env.ROOT);
      for (const [i, n] of [1000, 1, 2500].entries()) {
        const data = Buffer.alloc(n, 97 + i);
        batch.add({ mediaType: 'application/octet-stream', digest: 'sha256:' + createHash('sha256').update(data).digest('hex'), size: n }, data);
      }
      await batch.commit(process.env.ADOPT ? (hex) => hex === process.env.ADOPT : undefined);
    `;
    const held = Buffer.from('held before');
    const heldHex = createHash('sha256').update(held).digest('hex');
    const prepare = async (root: string, holding: boolean) => {
      await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
      if (holding) await writeFile(join(root, 'blobs', 'sha256', heldHex), held);
    };
    const run = (root: string, fault: string, adopt: boolean) =>
      runNode(['--input-type=module', '-e', script], { env: { ...process.env, ROOT: root, SVELTOS_AIRGAP_TEST_FAULT: fault, ADOPT: adopt ? heldHex : '' } });
    // visible counts the blobs in the layout, each of which must match its name.
    const visible = async (root: string, where: string) => {
      expect(await badBlobs(root), where).toEqual([]);
      return (await readdir(join(root, 'blobs', 'sha256'))).length;
    };
    // Into an empty layout: one move. Into one holding a blob: a rename each, or, when the batch may take that
    // blob along, a rename of it into the batch's folder and one move (killed in between, that blob is under
    // ingest/: visible nowhere, as a blob its import staged and will stage again).
    for (const [label, holding, adopt, renames, visibleAt] of [
      ['empty', false, false, 1, (point: number) => Math.max(0, point - 3501)],
      ['holding a blob', true, false, 3, (point: number) => 1 + Math.max(0, point - 3501)],
      ['holding a blob it may take along', true, true, 2, (point: number) => (point === 3502 ? 0 : 1)],
    ] as const) {
      const counted = join(work, `counted-${label}`);
      await prepare(counted, holding);
      const count = await run(counted, 'count', adopt);
      expect(count.code, count.stderr).toBe(0);
      expect(Number(/fault-count: (\d+)/.exec(count.stderr)![1]), label).toBe(3501 + renames);
      expect(await visible(counted, label)).toBe(holding ? 4 : 3);
      for (const point of [0, 1, 999, 1000, 1001, 2000, 3500, 3501, 3502, 3503].filter((p) => p < 3501 + renames)) {
        const where = `${label}, kill after ${point}`;
        const root = join(work, `p${point}-${label.replaceAll(' ', '-')}`);
        await prepare(root, holding);
        const killed = await run(root, `kill-after:${point}`, adopt);
        expect(killed.signal, `${where}: ${killed.stderr}`).toBe('SIGKILL');
        // Nothing of the batch is visible before the move or the renames; each rename shows one whole blob.
        expect(await visible(root, where), where).toBe(visibleAt(point));
      }
    }
    await rm(work, { recursive: true, force: true });
  });
});

async function countUnits(template: string, work: string, args: (store: string) => string[]): Promise<{ total: number; marks: Record<string, number> }> {
  const counted = join(work, 'counted');
  await cp(template, counted, { recursive: true });
  const count = await runCli(args(counted), 'count');
  expect(count.code, count.stderr).toBe(0);
  const marks = Object.fromEntries([...count.stderr.matchAll(/fault-mark (\S+): (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  return { total: Number(/fault-count: (\d+)/.exec(count.stderr)![1]), marks };
}

/** twoAtATime checks the kill points two at a time: each is a process start, a killed import and an in-process rerun. */
async function twoAtATime(points: number[], check: (point: number, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < points.length) {
        const i = next++;
        await check(points[i]!, i);
      }
    }),
  );
}

/** bytesUnder sums the sizes of the files under `dir`. */
async function bytesUnder(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += (await stat(join(e.parentPath, e.name))).size;
  }
  return n;
}
