// Profile patches on Helm output, against the real thing: Sveltos's Helm post-renderer runs one kustomize
// build over the rendered manifest with the profile's patches. The oracle is `kubectl kustomize` (kustomize
// v5 built into kubectl) over the same rendered objects and patches; our patchManifest must give the same
// objects in the same order, and fail where kustomize fails.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { Patch } from '../../src/model/sveltos.js';
import { patchManifest, PatchFailure } from '../../src/resolve/patch.js';
import { renderChart } from '../../src/source/helm-render.js';
import { CHARTS, helmPath } from './helm-env.js';

const run = promisify(execFile);
let work: string;
let templated: Record<string, unknown>[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'post-render-'));
  const release = await renderChart({ helm: helmPath(), chart: join(CHARTS, 'demo'), releaseName: 'web', releaseNamespace: 'web', values: '{"configMapCount": 3}', kubeVersion: 'v1.30.0' });
  // What Helm hands its post-renderer: the templates' output (not crds/, not hooks).
  templated = release.manifest.filter((o) => !release.chartCrds?.has(o)) as unknown as Record<string, unknown>[];
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

// kustomize runs the oracle: the objects as a resource file, the patches as the Kustomization's patches.
async function kustomize(objects: Record<string, unknown>[], patches: Patch[]): Promise<{ objects?: unknown[]; error?: string }> {
  const dir = await mkdtemp(join(work, 'k-'));
  await writeFile(join(dir, 'helm-output.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  await writeFile(join(dir, 'kustomization.yaml'), stringify({ resources: ['helm-output.yaml'], patches }));
  try {
    const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 });
    return { objects: parseAllDocuments(stdout).map((d) => d.toJS()) };
  } catch (err) {
    return { error: String((err as { stderr?: string }).stderr ?? err) };
  }
}

const cases: { name: string; patches: Patch[] }[] = [
  {
    name: 'a targeted strategic merge patch on every Deployment and a label selector target',
    patches: [
      { patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\n  labels: {team: payments}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        resources: {limits: {memory: 256Mi}}\n', target: { kind: 'Deployment' } },
      { patch: '- op: add\n  path: /metadata/annotations\n  value: {patched: "yes"}\n', target: { kind: 'Service|ConfigMap', labelSelector: '' } },
    ],
  },
  {
    name: 'JSON6902 operations on objects selected by a name regex',
    patches: [{ patch: '- op: replace\n  path: /data/index\n  value: "42"\n- op: add\n  path: /data/extra\n  value: x\n', target: { kind: 'ConfigMap', name: 'web-cm-[0-1]' } }],
  },
  {
    name: 'a strategic merge patch without a target, found by its own kind and name',
    patches: [{ patch: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web-web\n  namespace: web\nspec:\n  type: NodePort\n' }],
  },
  {
    name: '$patch: delete removes the selected objects',
    patches: [{ patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n$patch: delete\n', target: { kind: 'ConfigMap', name: 'web-cm-2' } }],
  },
  {
    name: 'patches apply in order, the second seeing the first',
    patches: [
      { patch: '- op: add\n  path: /metadata/labels/stage\n  value: one\n', target: { kind: 'Deployment' } },
      { patch: '- op: replace\n  path: /metadata/labels/stage\n  value: two\n', target: { kind: 'Deployment', name: 'web-web' } },
    ],
  },
];

describe('Helm post-render patches (kubectl kustomize as the oracle)', () => {
  it.each(cases)('$name', async ({ patches }) => {
    const want = await kustomize(templated, patches);
    expect(want.error).toBeUndefined();
    const got = patchManifest(templated, patches);
    expect(got).toEqual(want.objects);
  });

  it.each([
    { name: 'a JSON6902 remove of a path that does not exist', patches: [{ patch: '- op: remove\n  path: /metadata/labels/absent\n', target: { kind: 'Deployment' } }] },
    { name: 'a strategic merge patch without a target naming an object the chart does not render', patches: [{ patch: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: nowhere\nspec:\n  type: NodePort\n' }] },
  ])('fails where kustomize fails: $name', async ({ patches }) => {
    const want = await kustomize(templated, patches);
    expect(want.error).toBeDefined();
    expect(() => patchManifest(templated, patches)).toThrow(PatchFailure);
  });

  it('leaves the input objects untouched (renders are shared between clusters)', () => {
    const before = JSON.stringify(templated);
    patchManifest(templated, cases[0]!.patches);
    expect(JSON.stringify(templated)).toBe(before);
  });
});

