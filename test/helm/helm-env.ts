// Test helpers around the real helm binary (extracted by test/setup/global.ts) and the fixture charts.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { tempDir } from '../helpers.js';

export const CHARTS = fileURLToPath(new URL('../fixtures/charts/', import.meta.url));

export function helmPath(): string {
  return inject('helmPath');
}

let shared: string | undefined;

/** helmEnv returns an environment with HELM_*_HOME in a temp dir of this test file (removed at exit). */
export async function helmEnv(): Promise<NodeJS.ProcessEnv> {
  if (!shared) {
    shared = await mkdtemp(join(tmpdir(), 'helm-home-'));
    const dir = shared;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const home = shared;
  for (const d of ['cache', 'config', 'data']) await mkdir(join(home, d), { recursive: true });
  return { PATH: process.env.PATH, HOME: home, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
}

/** exec runs a command and resolves with its output; a non-zero exit rejects with stderr. */
export function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr}`))));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
  });
}

/** helmOtherPath is the helm binary of the other major version (v3 when the suite runs v4). */
export function helmOtherPath(): string {
  return inject('helmOtherPath');
}

/** helm runs the test helm binary (or `opts.binary`) with private homes. */
export async function helm(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; binary?: string } = {}): Promise<string> {
  return (await exec(opts.binary ?? helmPath(), args, { env: opts.env ?? (await helmEnv()), ...(opts.cwd ? { cwd: opts.cwd } : {}) })).stdout;
}

/** packageChart runs `helm package` on a fixture chart and returns the .tgz path. */
export async function packageChart(name: string, dest?: string): Promise<string> {
  const out = dest ?? (await tempDir('chart-pkg-'));
  await mkdir(out, { recursive: true });
  await helm(['package', join(CHARTS, name), '--destination', out]);
  const { readdir } = await import('node:fs/promises');
  const file = (await readdir(out)).find((f) => f.startsWith(`${name}-`) && f.endsWith('.tgz'));
  if (!file) throw new Error(`helm package ${name}: no archive written`);
  return join(out, file);
}
