// The CLI over split bundles and resource limits: verify and import take any parts in any order; an import
// that lacks parts says which (exit 1, "incomplete") and keeps its progress; limits are raised by flag.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartExtra, clusterInput, configMapYAML, DAY, makeBundle, T0, testKeys } from './bundles.js';
import { cli } from './cli.js';
import { tempDir } from './helpers.js';

const NOW = ['--now', new Date(T0.getTime() + DAY).toISOString()];

async function split() {
  const keys = await testKeys();
  const clusters = [clusterInput('prod', 'c1', { env: 'prod' }, [configMapYAML('a', 30_000), configMapYAML('b', 30_000)])];
  const b = await makeBundle(keys, { clusters, extras: [await chartExtra('charts/x:1.0.0', 90_000)], splitSize: 64 * 1024 });
  return { keys, b, parts: b.parts!.map((p) => p.file) };
}

describe('split bundles on the command line', () => {
  it('verifies one part on its own (exit 0) and names the parts still needed', async () => {
    const { keys, parts } = await split();
    const r = await cli(['verify', parts[1]!, '--key', keys.pubPath, '--output', 'json', ...NOW]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ verified: true, complete: false, parts: parts.length, partsGiven: [2] });
    expect(j.missingParts.map((p: { part: number }) => p.part)).toEqual(parts.map((_, i) => i + 1).filter((k) => k !== 2));
    expect(r.stderr).toMatch(/warning: INCOMPLETE: the bundle is not complete without part 1 \(\d+ blobs?, /);
    const all = await cli(['verify', ...[...parts].reverse(), '--key', keys.pubPath, ...NOW]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`parts:     complete \\(${parts.length} of ${parts.length} given\\)`));
  });

  it('imports part by part: "incomplete" (exit 1) until the last part, then serves the bundle', async () => {
    const { keys, parts } = await split();
    const store = join(await tempDir(), 'store');
    const first = await cli(['import', parts[0]!, '--store', store, '--key', keys.pubPath, '--output', 'json', ...NOW]);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(new RegExp(`sveltos-airgap: incomplete: bundle sequence 1 is incomplete: verified and kept \\d+ blob\\(s\\) \\(\\d+ new\\) from part\\(s\\) 1 of ${parts.length}; still missing part 2 \\(`));
    expect(first.stderr).toMatch(/import those parts \(in any order\) to finish; nothing new is served until then/);
    expect(JSON.parse(first.stdout).error).toMatchObject({ type: 'IncompleteError', code: 'INCOMPLETE', exitCode: 1, details: { given: [1], parts: parts.length } });
    const rest = await cli(['import', ...parts.slice(1).reverse(), '--store', store, '--key', keys.pubPath, '--output', 'json', ...NOW]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(JSON.parse(rest.stdout)).toMatchObject({ imported: true, complete: true, sequence: 1 });
    expect(JSON.parse(rest.stdout).resumed).toBeGreaterThan(0);
  });

  it('inspects parts: which are given and which are missing', async () => {
    const { parts } = await split();
    const r = await cli(['inspect', parts[0]!, parts[2]!]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`parts:     1, 3 of ${parts.length} given \\(missing 2`));
  });
});

describe('resource limits', () => {
  it.each([
    { flags: ['--max-blobs', '3'], msg: /more than 3 blobs \(raise the limit with --max-blobs/ },
    { flags: ['--max-json-bytes', '200'], msg: /exceeds the limit of 200 bytes|more than the limit of 200/ },
    { flags: ['--max-total-size', '1k'], msg: /declare more than 1024 bytes of blobs \(raise the limit with --max-total-size/ },
    { flags: ['--max-entries', '4'], msg: /more than 4 tar entries \(raise the limit with --max-entries/ },
    { flags: ['--max-objects-bytes', '100'], msg: /objects layer sha256:[a-f0-9]{64}: \d+ bytes, more than the limit of 100 \(--max-objects-bytes\)/ },
  ])('refuses a bundle over $flags.0 (exit 2), and accepts it with the limit raised', async ({ flags, msg }) => {
    const keys = await testKeys();
    const b = await makeBundle(keys, { clusters: [clusterInput('prod', 'c1', {}, [configMapYAML('a', 2000)])] });
    const r = await cli(['verify', b.path, '--key', keys.pubPath, ...flags, ...NOW]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(msg);
    const raised = await cli(['verify', b.path, '--key', keys.pubPath, flags[0]!, flags[0] === '--max-blobs' || flags[0] === '--max-entries' ? '1000' : '64M', ...NOW]);
    expect(raised.code, raised.stderr).toBe(0);
  });
});
