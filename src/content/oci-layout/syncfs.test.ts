// syncfs: `sync -f` run by one long-lived shell; answers come back in order, a failure is false, and an idle
// shell does not keep the process alive.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { syncfs } from './syncfs.js';

describe('syncfs', () => {
  it('syncs the file system of a folder, many calls at once, each answered in turn', async () => {
    const dir = await tempDir();
    const results = await Promise.all([dir, join(dir, 'missing'), dir, dir].map((d) => syncfs(d)));
    // sync -f of a folder that does not exist fails: that call alone is false.
    expect(results).toEqual([true, false, true, true]);
    // A name with a line break cannot go to the shell line by line: it is synced by a process of its own.
    const odd = join(dir, 'two\nlines');
    await mkdir(odd);
    expect(await syncfs(odd)).toBe(true);
    expect(await syncfs(join(dir, 'gone\nagain'))).toBe(false);
  });

  it('does not keep a process alive once its answers are in', async () => {
    // The built module, in a process of its own: it must end by itself after its last answer (a shell holding it
    // open would run into the timeout).
    const built = pathToFileURL(join(fileURLToPath(new URL('../../../dist/content/oci-layout/', import.meta.url)), 'syncfs.js')).href;
    const dir = await tempDir();
    const script = `const { syncfs } = await import(${JSON.stringify(built)}); console.log(await syncfs(${JSON.stringify(dir)}), await syncfs(${JSON.stringify(dir)}));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    expect(stdout.trim()).toBe('true true');
  });
});
