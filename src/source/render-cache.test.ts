// The render cache: stored output comes back only under its own key and intact; every input is in the key.
import { chmod, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { RenderCache, type RenderInputs } from './render-cache.js';

async function setup() {
  const dir = await tempDir();
  const helm = join(dir, 'helm');
  await writeFile(helm, '#!/bin/sh\n');
  await chmod(helm, 0o755);
  const cache = await RenderCache.open(join(dir, 'cache'));
  const inputs: RenderInputs = { helm, flags: ['--include-crds'], chart: `sha256:${'a'.repeat(64)}`, releaseName: 'web', releaseNamespace: 'apps', kubeVersion: 'v1.30.0', values: '{"a":1}' };
  return { dir, helm, cache, inputs };
}

describe('RenderCache', () => {
  it('gives back what was stored under the same inputs, and nothing under others', async () => {
    const { cache, inputs } = await setup();
    const key = await cache.key(inputs);
    expect(await cache.get(key)).toBeUndefined();
    await cache.put(key, '---\nkind: ConfigMap\n');
    expect(await cache.get(await cache.key({ ...inputs }))).toBe('---\nkind: ConfigMap\n');
    const others: Partial<RenderInputs>[] = [{ flags: [] }, { chart: `sha256:${'b'.repeat(64)}` }, { releaseName: 'api' }, { releaseNamespace: 'web' }, { kubeVersion: 'v1.31.0' }, { values: '{"a":2}' }];
    const keys = await Promise.all(others.map((o) => cache.key({ ...inputs, ...o })));
    expect(new Set([key, ...keys]).size).toBe(others.length + 1);
  });

  it('renders anew when the helm binary changes', async () => {
    const { cache, helm, inputs } = await setup();
    const before = await cache.key(inputs);
    await writeFile(helm, '#!/bin/sh\n# another helm\n');
    expect(await cache.key(inputs)).not.toBe(before);
    const again = await cache.key(inputs);
    // Rewritten in place with the same size and its modification time set back: the change time still tells.
    const st = await stat(helm);
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(helm, '#!/bin/sh\n# another hel!\n');
    await utimes(helm, st.atime, st.mtime);
    expect((await stat(helm)).size).toBe(st.size);
    expect(await cache.key(inputs)).not.toBe(again);
  });

  it('drops a damaged entry or one filed under another key', async () => {
    const { cache, inputs } = await setup();
    const key = await cache.key(inputs);
    await cache.put(key, 'output');
    const file = join(cache.dir, `${key}.json`);
    const doc = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...doc, output: 'changed' }));
    expect(await cache.get(key)).toBeUndefined();
    expect(await readdir(cache.dir)).toEqual([]);
    const other = await cache.key({ ...inputs, values: '{}' });
    await cache.put(other, 'output');
    await writeFile(file, await readFile(join(cache.dir, `${other}.json`)));
    expect(await cache.get(key)).toBeUndefined();
    await writeFile(file, '{ not json');
    expect(await cache.get(key)).toBeUndefined();
    // What a crash may leave of an entry (put does not sync): an empty file, or its first bytes only.
    await cache.put(key, 'output');
    const whole = await readFile(file);
    for (const cut of [Buffer.alloc(0), whole.subarray(0, whole.length - 3)]) {
      await writeFile(file, cut);
      expect(await cache.get(key)).toBeUndefined();
    }
    await cache.put(key, 'output');
    expect(await cache.get(key)).toBe('output');
    await expect(cache.get('../../etc/passwd')).rejects.toThrow(/is not a key/);
  });
});
