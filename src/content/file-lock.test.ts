// withFileLock: read-modify-write edits made at once, in one process and from several, lose nothing;
// a lock a live process holds is waited for, a dead process's lock is taken over.
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { tempDir } from '../../test/helpers.js';
import { withFileLock } from './file-lock.js';

const pause = () => new Promise((r) => setTimeout(r, Math.random() * 3));

async function increment(counter: string): Promise<void> {
  const n = Number(await readFile(counter, 'utf8'));
  await pause(); // widen the window between read and write
  await writeFile(counter, String(n + 1));
}

function runNode(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('withFileLock', () => {
  it('lets concurrent callers in one process take turns', async () => {
    const dir = await tempDir();
    const counter = join(dir, 'counter');
    await writeFile(counter, '0');
    await Promise.all(Array.from({ length: 50 }, () => withFileLock(join(dir, 'counter.lock'), () => increment(counter))));
    expect(await readFile(counter, 'utf8')).toBe('50');
    expect(await readdir(dir)).toEqual(['counter']);
  });

  it('passes the turn on when a holder throws', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'x.lock');
    const failed = withFileLock(lock, async () => {
      throw new Error('boom');
    });
    const next = withFileLock(lock, async () => 'ran');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
  });

  it('lets several processes take turns', async () => {
    const dir = await tempDir();
    // The lock module as plain JavaScript, for child processes (it imports only node: modules and errors).
    const lib = join(dir, 'lib', 'content');
    await mkdir(lib, { recursive: true });
    const src = fileURLToPath(new URL('.', import.meta.url));
    const emit = async (from: string, to: string) => {
      const out = ts.transpileModule(await readFile(from, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
      await writeFile(to, out.outputText);
    };
    await emit(join(src, 'file-lock.ts'), join(lib, 'file-lock.js'));
    await emit(join(src, '..', 'errors.ts'), join(dir, 'lib', 'errors.js'));
    await writeFile(join(dir, 'lib', 'package.json'), '{"type":"module"}');
    const counter = join(dir, 'counter');
    await writeFile(counter, '0');
    const script = `
      import { readFile, writeFile } from 'node:fs/promises';
      import { withFileLock } from ${JSON.stringify(join(lib, 'file-lock.js'))};
      const counter = ${JSON.stringify(counter)};
      for (let i = 0; i < 25; i++) {
        await withFileLock(counter + '.lock', async () => {
          const n = Number(await readFile(counter, 'utf8'));
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          await writeFile(counter, String(n + 1));
        });
      }`;
    const runs = await Promise.all(Array.from({ length: 4 }, () => runNode(['--input-type=module', '-e', script])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(await readFile(counter, 'utf8')).toBe('100');
  });

  it('waits for a lock a live process holds, and fails naming it after the timeout', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'x.lock');
    await writeFile(lock, `${process.ppid} other\n`); // the parent process is alive and is not this one
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 50 })).rejects.toSatisfy(
      (e: unknown) => e instanceof ValidationError && e.code === 'INVALID' && e.message.includes(`held by process ${process.ppid}`),
    );
    let ran = false;
    const waiting = withFileLock(lock, async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(ran).toBe(false);
    expect(await readFile(lock, 'utf8')).toBe(`${process.ppid} other\n`);
    await rm(lock);
    await waiting;
    expect(ran).toBe(true);
  });

  it('takes over a lock left by a process that is gone, and one with no pid', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'x.lock');
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid!;
    await new Promise((r) => child.on('close', r));
    await writeFile(lock, `${pid} gone\n`);
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 50 })).resolves.toBe('ran');
    await writeFile(lock, '');
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 50 })).resolves.toBe('ran');
    expect(await readdir(dir)).toEqual([]);
  });
});
