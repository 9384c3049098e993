// vitest globalSetup: extract the test helm and kubectl binaries and hand their paths to the tests.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureHelm, ensureKubectl } from '../../scripts/helm-binary.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    helmPath: string;
    /** helm of the other major (v3 when the default is v4), for the tests that compare both. */
    helmOtherPath: string;
    kubectlPath: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // SVELTOS_AIRGAP_TEST_HELM=3 runs the suite with helm v3; the default is v4, as addon-controller renders.
  const major = process.env.SVELTOS_AIRGAP_TEST_HELM === '3' ? 3 : 4;
  project.provide('helmPath', await ensureHelm(root, major));
  project.provide('helmOtherPath', await ensureHelm(root, major === 3 ? 4 : 3));
  project.provide('kubectlPath', await ensureKubectl(root));
}
