// helm v4 and v3 are both accepted (detected with `helm version`); another major is refused, naming it.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helmVersion, knownHelmVersion } from '../../src/source/helm-render.js';
import { RenderCache } from '../../src/source/render-cache.js';
import { tempDir } from '../helpers.js';
import { helmOtherPath, helmPath } from './helm-env.js';

describe('helm version', () => {
  it('detects v4.1.4 and v3.17.3 from the real binaries', async () => {
    const found = await Promise.all([helmPath(), helmOtherPath()].map((h) => helmVersion(h)));
    expect(found.sort((a, b) => a.major - b.major)).toEqual([{ version: 'v3.17.3', major: 3 }, { version: 'v4.1.4', major: 4 }]);
  });

  it('refuses helm v2 and a program that is not helm, with what was found and what to do', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'helm2'), '#!/bin/sh\nprintf v2.17.0\n');
    await writeFile(join(dir, 'nothelm'), '#!/bin/sh\necho usage >&2\nexit 3\n');
    await Promise.all(['helm2', 'nothelm'].map((f) => chmod(join(dir, f), 0o755)));
    await expect(helmVersion(join(dir, 'helm2'))).rejects.toThrow(/helm2: expected helm v3 or v4, found "v2\.17\.0"; name another with --helm PATH or \$SVELTOS_AIRGAP_HELM/);
    await expect(helmVersion(join(dir, 'nothelm'))).rejects.toThrow(/nothelm: expected helm v3 or v4, found a program that fails `version` \(exit 3\)/);
    await expect(helmVersion(join(dir, 'missing'))).rejects.toThrow(/missing: cannot run helm \(ENOENT\)/);
  });

  it('asks a binary once: its version is kept under its identity, and a changed binary is asked again', async () => {
    const dir = await tempDir();
    const helm = join(dir, 'helm');
    const fake = async (version: string) => {
      await writeFile(helm, `#!/bin/sh\necho asked >> ${join(dir, 'asked')}\nprintf ${version}\n`);
      await chmod(helm, 0o755);
    };
    const asked = async () => (await readFile(join(dir, 'asked'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    const cache = await RenderCache.open(await tempDir());
    await fake('v4.1.4');
    expect(await knownHelmVersion(helm, cache)).toEqual({ version: 'v4.1.4', major: 4 });
    expect(await knownHelmVersion(helm, cache)).toEqual({ version: 'v4.1.4', major: 4 });
    expect(await asked()).toBe(1);
    await fake('v3.17.3');
    expect(await knownHelmVersion(helm, cache)).toEqual({ version: 'v3.17.3', major: 3 });
    expect(await asked()).toBe(2);
    // A refusal is not kept.
    await fake('v2.17.0');
    await expect(knownHelmVersion(helm, cache)).rejects.toThrow(/expected helm v3 or v4, found "v2\.17\.0"/);
    await expect(knownHelmVersion(helm, cache)).rejects.toThrow(/expected helm v3 or v4/);
    expect(await asked()).toBe(4);
  });
});
