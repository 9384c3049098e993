// vitest globalSetup: extract the test helm and kubectl binaries and hand their paths to the tests.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureHelm, ensureKubectl } from '../../scripts/helm-binary.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    helmPath: string;
    kubectlPath: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const helm = await ensureHelm(root);
  project.provide('helmPath', helm);
  project.provide('kubectlPath', await ensureKubectl(root));
}
