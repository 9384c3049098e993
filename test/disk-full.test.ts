// Disk full during import: a clear message, exit 1, temp files removed, the store as it was, and a rerun
// that works once there is room. On a real small tmpfs where this machine allows mounting one (root, and
// mount(8) permitted); everywhere, with ENOSPC injected through the SVELTOS_AIRGAP_TEST_FAULT seam.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { configureFaults } from '../src/content/fault.js';
import { chartExtra, clusterInput, configMapYAML, DAY, makeBundle, T0, testKeys, type TestKeys } from './bundles.js';
import { cli } from './cli.js';
import { tempDir, treeDigest } from './helpers.js';
import { storeProblems } from './store-check.js';

const run = promisify(execFile);
const NOW = ['--now', new Date(T0.getTime() + DAY).toISOString()];

// tmpfs mounts a tmpfs of `size` with at most `inodes` files at `dir`; false when this machine does not allow it.
async function tmpfs(dir: string, size: string, inodes: number): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},nr_inodes=${inodes},mode=0755`, 'tmpfs', dir]);
    return true;
  } catch {
    return false;
  }
}

let canMount = false;

beforeAll(async () => {
  if (process.getuid?.() !== 0) return;
  const probe = await mkdtemp(join(tmpdir(), 'sveltos-airgap-mount-'));
  canMount = await tmpfs(probe, '64k', 16);
  if (canMount) await run('umount', [probe]);
  await rm(probe, { recursive: true, force: true });
});

interface Bundles {
  keys: TestKeys;
  previous: string;
  next: string;
}

// bundles: a small previous bundle and a next one of about 2.6 MB (more than the small tmpfs holds).
async function bundles(): Promise<Bundles> {
  const keys = await testKeys();
  const previous = (await makeBundle(keys, { sequence: 1 })).path;
  const clusters = [clusterInput('prod', 'c1', { env: 'prod' }, [configMapYAML('big-a', 600_000), configMapYAML('big-b', 500_000)])];
  const next = (await makeBundle(keys, { sequence: 2, clusters, extras: [await chartExtra('charts/big:2.0.0', 1_500_000)] })).path;
  return { keys, previous, next };
}

async function importInto(b: Bundles, store: string, bundle: string) {
  return cli(['import', bundle, '--store', store, '--key', b.keys.pubPath, ...NOW]);
}

// withTmpfs mounts a tmpfs for the duration of `fn`.
async function withTmpfs(size: string, inodes: number, fn: (mnt: string) => Promise<void>): Promise<void> {
  const mnt = join(await tempDir(), 'mnt');
  expect(await tmpfs(mnt, size, inodes)).toBe(true);
  try {
    await fn(mnt);
  } finally {
    await run('umount', [mnt]);
  }
}

// storeOn makes a store on `mnt` that serves the previous bundle, and returns it with its tree digest.
async function storeOn(mnt: string, b: Bundles): Promise<{ store: string; before: string }> {
  const store = join(mnt, 'store');
  expect((await importInto(b, store, b.previous)).code).toBe(0);
  return { store, before: await treeDigest(store) };
}

// leftovers lists temp files an import could leave: in staging/ingest and dot-temps in the store root.
async function leftovers(store: string): Promise<string[]> {
  const ingest = await readdir(join(store, 'staging', 'ingest')).catch(() => []);
  const root = (await readdir(store)).filter((n) => n.startsWith('.'));
  return [...ingest, ...root];
}

describe('import on a full disk', () => {
  it('fails with ENOSPC injected mid-write: clear message, temp files removed, store unchanged, rerun works', async () => {
    const b = await bundles();
    const { store, before } = await storeOn(await tempDir(), b);
    configureFaults('enospc-after:700000');
    try {
      const r = await importInto(b, store, b.next);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no space left on device while writing sha256:[a-f0-9]{64} to .*: free space or choose another --store/);
      expect(r.stderr).toMatch(/hint: free space on the target file system, then run the command again/);
    } finally {
      configureFaults(undefined);
    }
    expect(await leftovers(store)).toEqual([]);
    expect(await treeDigest(store)).toBe(before);
    expect(await storeProblems(store)).toEqual([]);
    const again = await importInto(b, store, b.next);
    expect(again.code, again.stderr).toBe(0);
  });

  it('on a small tmpfs: refuses up front when the blobs cannot fit, and nothing is written', async (ctx) => {
    if (!canMount) return ctx.skip();
    const b = await bundles();
    await withTmpfs('2m', 1000, async (mnt) => {
      const { store, before } = await storeOn(mnt, b);
      const r = await importInto(b, store, b.next);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not enough free space in .*store: the import needs \d+ bytes, \d+ are free: free space or choose another --store \(nothing was written\)/);
      expect(await leftovers(store)).toEqual([]);
      expect(await treeDigest(store)).toBe(before);
    });
  });

  it('on a small tmpfs: fails cleanly when the file system fills up mid-import (out of inodes)', async (ctx) => {
    if (!canMount) return ctx.skip();
    const b = await bundles();
    await withTmpfs('16m', 64, async (mnt) => {
      const { store } = await storeOn(mnt, b);
      // Use up the inodes, then free two: the lock file and one staged blob fit, the next blob does not.
      const fill = join(mnt, 'fill');
      await mkdir(fill);
      for (let n = 0; ; n++) {
        try {
          await (await open(join(fill, String(n)), 'wx')).close();
        } catch {
          break;
        }
      }
      await rm(join(fill, '0'));
      await rm(join(fill, '1'));
      const before = await treeDigest(store);
      const r = await importInto(b, store, b.next);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/no space left on device while writing .*: free space or choose another --store/);
      expect(await leftovers(store)).toEqual([]);
      expect(await treeDigest(store)).toBe(before);
      expect(await storeProblems(store)).toEqual([]);
      await rm(fill, { recursive: true });
      const again = await importInto(b, store, b.next);
      expect(again.code, again.stderr).toBe(0);
    });
  });
});
