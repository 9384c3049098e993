// Our ConfigurationBundles for the demo fixture chart against `helm template` with the same inputs:
// the same objects, object by object, in Sveltos's bundle order (addon-controller splitResources).
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { join } from 'node:path';
import { helmBundles, splitResources, formatGoDuration, hookWeight, type HelmReleaseSpec } from '../../src/resolve/helm-split.js';
import { renderChart, mergeHelmValues } from '../../src/source/helm-render.js';
import { CHARTS, helm, helmPath } from './helm-env.js';

const spec: HelmReleaseSpec = {
  repositoryURL: 'https://charts.example.com/stable',
  repositoryName: 'example',
  releaseName: 'web',
  releaseNamespace: 'prod',
};
const values = 'cluster:\n  region: eu-west\nconfigMapCount: 17\n';

// reference reads `helm template` output independently: every document, `v1 List` expanded.
async function reference(extra: string[] = []): Promise<Record<string, any>[]> {
  const out = await helm(['template', 'web', join(CHARTS, 'demo'), '--namespace', 'prod', '--include-crds', '--kube-version', 'v1.30.2', '--set', 'cluster.region=eu-west', '--set', 'configMapCount=17', ...extra]);
  return parseAllDocuments(out, { version: '1.1' })
    .map((d) => d.toJS())
    .filter((o) => o)
    .flatMap((o: any) => (o.kind === 'List' ? o.items : [o]));
}

const id = (o: any) => `${o.kind}/${o.metadata.name}`;
const hookOf = (o: any): string | undefined => o.metadata.annotations?.['helm.sh/hook'];

describe('helm split', () => {
  it('install: bundles hold the helm template objects in Sveltos order', async () => {
    const release = await renderChart({ helm: helmPath(), chart: join(CHARTS, 'demo'), releaseName: 'web', releaseNamespace: 'prod', values, kubeVersion: 'v1.30.2' });
    const bundles = helmBundles(spec, release, { name: 'demo', version: '1.2.3', icon: 'https://example.com/demo.png' }, 'install');
    const ref = await reference();

    // Expected order built from the reference by Sveltos's rules, written out independently of the implementation.
    const isHook = (o: any, t: string) => (hookOf(o) ?? '').split(',').map((s: string) => s.trim()).includes(t);
    const firstEvent = (o: any) => (hookOf(o) ?? '').split(',')[0]!.trim();
    const byWeight = (xs: any[]) => xs.map((o, i) => ({ o, i })).sort((a, b) => hookWeight(a.o) - hookWeight(b.o) || a.i - b.i).map((x) => x.o);
    const chunk = (xs: any[]) => Array.from({ length: Math.ceil(xs.length / 15) }, (_, i) => xs.slice(i * 15, i * 15 + 15));
    const crds = ref.filter((o) => o.kind === 'CustomResourceDefinition');
    const plain = ref.filter((o) => !hookOf(o) && o.kind !== 'CustomResourceDefinition' && !o.metadata.annotations?.['helm.sh/hook-delete-policy']);
    const pre = ref.filter((o) => hookOf(o) && firstEvent(o) === 'pre-install');
    const post = ref.filter((o) => hookOf(o) && firstEvent(o) === 'post-install' && !isHook(o, 'pre-install'));
    const expected = [...chunk(byWeight(pre)), ...crds.map((c) => [c]), ...chunk(plain), ...chunk(byWeight(post))];

    expect(bundles.map((b) => b.resources.map(id))).toEqual(expected.map((g) => g.map(id)));
    // Object by object: identical to helm's, plus the release namespace where helm left none.
    bundles.forEach((b, i) =>
      b.resources.forEach((o, j) => {
        const want = structuredClone(expected[i]![j]);
        if (want.kind !== 'CustomResourceDefinition' && !want.metadata.namespace) want.metadata.namespace = 'prod';
        expect(o).toEqual(want);
      }),
    );
    // 17 ConfigMaps + Deployment, ClusterRole, Service, StatefulSet, DaemonSet, CronJob = 23 plain resources: 2 chunks.
    expect(plain).toHaveLength(23);
    expect(bundles.map((b) => b.resources.length)).toEqual([3, 1, 1, 1, 15, 8, 2]);
    expect(bundles.map((b) => b.index)).toEqual(bundles.map((_, i) => `prod-web-example-${i}`));
    expect(bundles.every((b) => b.spec.helmChartVersion === '1.2.3' && b.spec.timeout === '5m0s' && b.spec.helmRepoURL === spec.repositoryURL)).toBe(true);
    expect(bundles.map((b) => b.spec.isLastHelmReleaseBundle ?? false)).toEqual([false, false, false, false, false, false, true]);
    expect(bundles[0]!.resources.map((o) => o.metadata.name)).toEqual(['web-hook-sa', 'web-pre-config', 'web-pre-migrate']);
    expect(bundles[6]!.resources.map((o) => o.metadata.name)).toEqual(['web-post-config', 'web-post-notify']);
    // Cluster-scoped objects get the release namespace too (the agent unsets it); CRDs do not.
    expect(bundles.flatMap((b) => b.resources).find((o) => o.kind === 'ClusterRole')!.metadata.namespace).toBe('prod');
    expect(bundles[1]!.resources[0]!.metadata.namespace).toBeUndefined();
  });

  it('runTests adds the test hooks last; Uninstall sends only delete hooks and delete-policy resources', async () => {
    const release = await renderChart({ helm: helmPath(), chart: join(CHARTS, 'demo'), releaseName: 'web', releaseNamespace: 'prod', values, kubeVersion: 'v1.30.2' });
    const tests = helmBundles({ ...spec, options: { runTests: true, timeout: '90s' } }, release, { name: 'demo', version: '1.2.3' }, 'install');
    expect(tests.at(-1)!.resources.map(id)).toEqual(['Pod/web-test']);
    expect(tests[0]!.spec.timeout).toBe('1m30s');
    const un = helmBundles({ ...spec, helmChartAction: 'Uninstall' }, release, { name: 'demo', version: '1.2.3' }, 'uninstall');
    expect(un.map((b) => b.resources.map(id))).toEqual([['Secret/web-kept'], ['Job/web-pre-delete'], ['ConfigMap/web-post-delete']]);
    expect(un.every((b) => b.spec.helmReleaseUninstall === true)).toBe(true);
    const up = helmBundles(spec, release, { name: 'demo', version: '1.2.3' }, 'upgrade');
    // On upgrade the pre-install-only hooks are not sent; "pre-install,pre-upgrade" is relevant to install only (first event).
    expect(up[0]!.resources.map(id)).not.toContain('Job/web-pre-migrate');
  });

  it('runTests sends test-success hooks too (Helm reads them as test), placed by their literal annotation as Sveltos does', async () => {
    const chart = join(CHARTS, 'legacy-tests');
    const release = await renderChart({ helm: helmPath(), chart, releaseName: 'r', releaseNamespace: 'prod', values: '', kubeVersion: 'v1.30.2' });
    // helm template itself prints both hooks (the reference for what the chart holds).
    const out = await helm(['template', 'r', chart, '--namespace', 'prod', '--kube-version', 'v1.30.2']);
    expect(parseAllDocuments(out).map((d) => d.toJS()).filter((o) => o).map(id).sort()).toEqual(['ConfigMap/r-config', 'Pod/r-legacy-test', 'Pod/r-test']);
    const facts = { name: 'legacy-tests', version: '0.1.0' };
    const withTests = helmBundles({ ...spec, options: { runTests: true } }, release, facts, 'install');
    // addon-controller's splitResources matches the literal annotation "test": the test-success Pod is
    // placed with the other resources, the test Pod last.
    expect(withTests.map((b) => b.resources.map(id))).toEqual([['ConfigMap/r-config', 'Pod/r-legacy-test'], ['Pod/r-test']]);
    const without = helmBundles(spec, release, facts, 'install');
    expect(without.map((b) => b.resources.map(id))).toEqual([['ConfigMap/r-config']]);
  });

  it('splitResources chunks, orders by weight and leaves CRDs alone', () => {
    const mk = (name: string, ann: Record<string, string> = {}, kind = 'ConfigMap') => ({ apiVersion: 'v1', kind, metadata: { name, annotations: ann } });
    const objs = [
      mk('b', { 'helm.sh/hook': 'post-install', 'helm.sh/hook-weight': '2' }),
      mk('a', { 'helm.sh/hook': 'post-upgrade', 'helm.sh/hook-weight': '-3' }),
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'x.y' } },
      mk('t', { 'helm.sh/hook': 'test' }),
      mk('d', { 'helm.sh/hook': 'pre-delete' }),
      mk('pr', { 'helm.sh/hook': 'pre-rollback' }),
      mk('w', { 'helm.sh/hook-weight': 'x' }),
    ];
    expect(splitResources(objs as any, 'ns').map((g) => g.map((o) => o.metadata.name))).toEqual([['pr'], ['d'], ['x.y'], ['w'], ['a', 'b'], ['t']]);
  });

  it.each([
    ['10m', '10m0s'], ['90s', '1m30s'], ['1h30m', '1h30m0s'], ['1.5h', '1h30m0s'], ['500ms', '500ms'], ['0', '0s'], ['2h', '2h0m0s'],
  ])('formatGoDuration(%s) = %s', (i, o) => expect(formatGoDuration(i)).toBe(o));

  it('mergeHelmValues: values, then plain valuesFrom, then templated ones; maps merge, others replace; YAML 1.1 as Go reads it', () => {
    const merged = JSON.parse(mergeHelmValues('a: {x: 1, l: [1]}\nb: on\n', ['a: {l: [2], z: null}\n'], ['a: {x: 0}\nc: 0644\ny: 1\n']));
    expect(merged).toEqual({ a: { x: 0, l: [2], z: null }, b: true, c: 420, true: 1 });
  });
});
