// The package compiled from src with the build config into a private directory, for tests that run it in
// other processes: the CLI as shipped (bin.mjs) or its modules (dist/…).
import { spawn } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface NodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** runNode runs `node args…` (in `cwd`, with `env`; default this process's) and collects its output. */
export function runNode(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<NodeExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.env ? { env: opts.env } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/**
 * buildPackage compiles the package into `.tmp/<name>-<pid>` of the checkout (so node_modules resolves):
 * dist/, package.json and bin.mjs running the CLI. It returns that directory; the caller removes it.
 */
export async function buildPackage(name: string): Promise<string> {
  const dir = join(ROOT, '.tmp', `${name}-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await runNode([tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist'), '--sourceMap', 'false', '--declaration', 'false']);
  if (r.code !== 0) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
  // As in the package: package.json beside dist/ (the CLI reads its version there).
  await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await writeFile(join(dir, 'bin.mjs'), "import { main } from './dist/cli/index.js';\nconst { code } = await main(process.argv.slice(2));\nprocess.exitCode = code;\n");
  return dir;
}
