// Co-signing with the CLI: `sign` adds an officer's signature in place; verify and import take --threshold.
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { tempDir } from './helpers.js';

const SAMPLES = join(import.meta.dirname, '..', 'samples', 'fleet');
const sha = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');

async function exported(dir: string, extra: string[] = []): Promise<{ exporter: Awaited<ReturnType<typeof testKeys>>; files: string[] }> {
  const exporter = await testKeys();
  const r = await cli(['export', '--from', SAMPLES, '--key', exporter.keyPath, '--out', join(dir, 'b.tar'), '--sequence', '5', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.tar')).sort().map((f) => join(dir, f));
  return { exporter, files };
}

describe('sign and --threshold', () => {
  it('one signature with --threshold 2 exits 2 naming the signer; after sign with a second key it verifies and imports; a key counts once', async () => {
    const dir = await tempDir();
    const { exporter, files } = await exported(dir);
    const officer = await testKeys();
    const both = ['--key', exporter.pubPath, '--key', officer.pubPath, '--threshold', '2'];
    const before = await cli(['verify', ...files, ...both]);
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/--threshold 2: 1 trusted key signed \([0-9a-f]{64}\): 1 more co-signature \(sveltos-airgap sign\) by trusted keys needed/);

    const signed = await cli(['sign', ...files, '--key', officer.keyPath, '--note', 'CHG-42 approved by security']);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/co-signed .*b\.tar with key [0-9a-f]{64} .*it carries 2 signatures/);
    expect((await cli(['verify', ...files, ...both])).code).toBe(0);
    const store = join(dir, 'store');
    const imported = await cli(['import', ...files, '--store', store, ...both]);
    expect(imported.code, imported.stderr).toBe(0);

    // The same key twice is one key; signing again with it is refused and changes nothing.
    expect((await cli(['verify', ...files, '--key', officer.pubPath, '--key', officer.pubPath, '--threshold', '2'])).code).toBe(2);
    const digest = await sha(files[0]!);
    const again = await cli(['sign', ...files, '--key', officer.keyPath]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already signed by key [0-9a-f]{64}; a key counts once/);
    expect(await sha(files[0]!)).toBe(digest);
    // An untrusted co-signer does not count, and is named.
    const stranger = await testKeys();
    expect((await cli(['sign', ...files, '--key', stranger.keyPath])).code).toBe(0);
    const partial = await cli(['verify', ...files, '--key', exporter.pubPath, '--threshold', '2']);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toMatch(/also signed by untrusted [0-9a-f]{64}, [0-9a-f]{64}/);
    // Default threshold 1: nothing changes for existing users.
    expect((await cli(['verify', ...files, '--key', exporter.pubPath])).code).toBe(0);

    const listed = await cli(['inspect', ...files, '--signatures', '--key', exporter.pubPath, '--output', 'json']);
    const sigs = (JSON.parse(listed.stdout) as { signatures: { keyHint: string; checked?: boolean; note?: string; signedAt?: string }[] }).signatures;
    expect(sigs).toHaveLength(3);
    expect(sigs[0]!.checked).toBe(true);
    expect(sigs[1]).toMatchObject({ note: 'CHG-42 approved by security' });
    expect(sigs[1]!.signedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(sigs[1]!.checked).toBeUndefined();
  });

  it('co-signs every part of a split bundle; the parts still import in any order with --threshold 2', async () => {
    const dir = await tempDir();
    const { exporter, files } = await exported(dir, ['--split-size', '40KB']);
    expect(files.length).toBeGreaterThan(1);
    const officer = await testKeys();
    expect((await cli(['sign', ...files, '--key', officer.keyPath])).code).toBe(0);
    const both = ['--key', exporter.pubPath, '--key', officer.pubPath, '--threshold', '2'];
    for (const f of files) expect((await cli(['verify', f, ...both])).code, f).toBe(0);
    const store = join(dir, 'store');
    const codes: number[] = [];
    for (const f of [...files].reverse()) codes.push((await cli(['import', f, '--store', store, ...both])).code);
    // Each part but the last leaves the import incomplete (exit 1, progress kept); the last completes it.
    expect(codes).toEqual([...files.slice(1).map(() => 1), 0]);
  });

  it('a file that is not a signed bundle is refused and left as it was', async () => {
    const dir = await tempDir();
    const officer = await testKeys();
    const junk = join(dir, 'junk.tar');
    await copyFile(officer.pubPath, junk);
    const before = await sha(junk);
    const r = await cli(['sign', junk, '--key', officer.keyPath]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/junk\.tar/);
    expect(await sha(junk)).toBe(before);
    expect((await readdir(dir)).filter((f) => f.includes('cosign'))).toEqual([]);
  });
});
