// Vitest global setup: builds the Go template oracle once (cached by the hash of its source) and
// provides its path to the tests. A missing Go toolchain is reported to the tests that need the
// oracle, which then fail; tests that do not need it are unaffected.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    templateOracle: { path?: string; error?: string };
    yamlScalarOracle: { path?: string; error?: string };
  }
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * buildOracle builds a Go oracle (test/oracle/main.go, or `source` under test/oracle) into a cache
 * directory keyed by its content; returns the binary path.
 */
export async function buildOracle(source = 'main.go'): Promise<string> {
  const text = await readFile(join(here, source));
  const hash = createHash('sha256').update(source).update('\0').update(text).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'sveltos-airgap-oracle');
  const bin = join(dir, `oracle-${hash}`);
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  await promisify(execFile)(join(here, 'build.sh'), [tmp, source], {
    env: { ...process.env, GOCACHE: join(dir, 'gocache') },
    timeout: 300_000,
  });
  await rename(tmp, bin);
  return bin;
}

async function provideOracle(project: TestProject, key: 'templateOracle' | 'yamlScalarOracle', source: string, what: string): Promise<void> {
  try {
    project.provide(key, { path: await buildOracle(source) });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    project.provide(key, {
      error: `cannot build the Go ${what} oracle (needs golang-go, golang-github-masterminds-sprig-dev, golang-k8s-sigs-yaml-dev, golang-github-burntsushi-toml-dev): ${err.message}${err.stderr ? `\n${err.stderr}` : ''}`,
    });
  }
}

export default async function setup(project: TestProject): Promise<void> {
  await provideOracle(project, 'templateOracle', 'main.go', 'template');
  await provideOracle(project, 'yamlScalarOracle', 'yamlscalar/main.go', 'YAML scalar');
}
