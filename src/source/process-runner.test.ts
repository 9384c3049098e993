// ProcessRunner against real programs: output and exit codes come back, stdin is fed, a program that
// cannot start is an error, an abort kills the program, and an idle runner does not keep the process alive.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ProcessRunner } from './process-runner.js';

const env = { PATH: process.env.PATH ?? '' };

describe('ProcessRunner', () => {
  it('runs programs at once and returns their output and exit codes', async () => {
    const runner = new ProcessRunner();
    try {
      const [a, b, c] = await Promise.all([
        runner.run('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3'], { env }),
        runner.run('/bin/cat', [], { env, input: 'from stdin\n' }),
        runner.run('/bin/sh', ['-c', 'printf "%s" "$X"'], { env: { ...env, X: 'only what is passed' } }),
      ]);
      expect(a).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
      expect(b.stdout).toBe('from stdin\n');
      expect(c.stdout).toBe('only what is passed');
    } finally {
      runner.close();
    }
  });

  it('rejects a program that cannot start, with ENOENT', async () => {
    const runner = new ProcessRunner();
    try {
      await expect(runner.run('/nonexistent/helm', ['version'], { env })).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      runner.close();
    }
  });

  it('kills the program on abort and rejects at once', async () => {
    const runner = new ProcessRunner();
    try {
      const ac = new AbortController();
      const started = Date.now();
      const p = runner.run('/bin/sleep', ['30'], { env, signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      await expect(p).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - started).toBeLessThan(5000);
      // The runner still works afterwards.
      expect((await runner.run('/bin/echo', ['again'], { env })).stdout).toBe('again\n');
    } finally {
      runner.close();
    }
  });

  it('lets the process exit while idle, without close()', async () => {
    // The built module (npm test builds first): a plain node process cannot load TypeScript here.
    const script = `import('${new URL('../../dist/source/process-runner.js', import.meta.url).pathname}').then(async ({ ProcessRunner }) => {
      const r = new ProcessRunner();
      const res = await r.run('/bin/echo', ['done'], { env: { PATH: process.env.PATH } });
      process.stdout.write(res.stdout);
    });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => { child.kill(); resolve(-1); }, 15_000);
      child.on('close', (c) => { clearTimeout(t); resolve(c); });
    });
    expect({ code, out }).toEqual({ code: 0, out: 'done\n' });
  });
});
