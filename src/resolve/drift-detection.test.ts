import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ConfigMap, KubeObject } from '../model/sveltos.js';
import { driftDetectionBundles, driftDetectionContent, overridePatches, overrideRef, prepareManagerYAML, readDriftDetectionManifests } from './drift-detection.js';
import { helmGroups, stageHelmBundle } from './helm-groups.js';
import type { HelmBundle } from './helm-split.js';
import { kustomizeGroup } from './kustomize-groups.js';
import type { PlannedHelmChart } from './plan.js';
import { sourceRefFor, type GroupSettings, type Requestor } from './pullmode.js';

const FIXTURES = new URL('../../test/fixtures/drift-detection/', import.meta.url);
const read = (p: string) => ({ name: p, text: readFileSync(new URL(p, FIXTURES), 'utf8') });
const FILES = [
  read('addon-controller/v1.14.0/pkg/drift-detection/drift-detection-manager.yaml'),
  read('libsveltos/v1.14.0/manifests/apiextensions.k8s.io_v1_customresourcedefinition_debuggingconfigurations.lib.projectsveltos.io.yaml'),
  read('libsveltos/v1.14.0/manifests/apiextensions.k8s.io_v1_customresourcedefinition_resourcesummaries.lib.projectsveltos.io.yaml'),
];
const KEYS = ['debugging-configuration-crd', 'resource-summary-crd', 'drift-detection-manager'];
const indexOf = (b: { metadata: { annotations: Record<string, string> } }) => b.metadata.annotations['pullmode.projectsveltos.io/index'];

describe('drift-detection manifests', () => {
  it('takes the CRDs out by name and keeps every other document as the manager manifest, in one file or several', () => {
    const m = readDriftDetectionManifests(FILES);
    expect((m.debuggingConfigurationCRD.metadata as { name: string }).name).toBe('debuggingconfigurations.lib.projectsveltos.io');
    expect((m.resourceSummaryCRD.metadata as { name: string }).name).toBe('resourcesummaries.lib.projectsveltos.io');
    expect(m.manager.match(/^kind: \w+$/gm)).toEqual(['kind: Namespace', 'kind: ServiceAccount', 'kind: ClusterRole', 'kind: ClusterRoleBinding', 'kind: Deployment']);
    const one = readDriftDetectionManifests([{ name: 'all.yaml', text: FILES.map((f) => f.text).join('\n---\n') }]);
    expect(driftDetectionContent(one, 'ns', 'c', { patches: [] })).toEqual(driftDetectionContent(m, 'ns', 'c', { patches: [] }));
    expect(() => readDriftDetectionManifests([FILES[1]!, FILES[2]!])).toThrow(/no drift-detection-manager Deployment/);
    expect(() => readDriftDetectionManifests([...FILES, FILES[1]!])).toThrow(/CustomResourceDefinition debuggingconfigurations\.lib\.projectsveltos\.io is given twice/);
  });

  it('prepares the manifest as prepareDriftDetectionManagerYAML (every occurrence; the registry only once)', () => {
    const text = '- --cluster-namespace=\n- --cluster-name=\n- --cluster-type=\n- --v=5\nimage: docker.io/a\nother: docker.io/b\n';
    expect(prepareManagerYAML(text, 'ns', 'c1')).toBe('- --cluster-namespace=ns\n- --cluster-name=c1\n- --cluster-type=Sveltos\n- --v=0\nimage: docker.io/a\nother: docker.io/b\n');
    expect(prepareManagerYAML(text, 'ns', 'c1', 'mirror:5000')).toContain('image: mirror:5000/a\nother: docker.io/b\n');
  });

  it('reads the override reference and the patch ConfigMap as addon-controller does', () => {
    expect(overrideRef('cm', 'edge')).toEqual({ namespace: 'edge', name: 'cm' });
    expect(overrideRef('/cm', 'edge')).toEqual({ namespace: 'edge', name: 'cm' });
    expect(overrideRef('ops/cm', 'edge')).toEqual({ namespace: 'ops', name: 'cm' });
    expect(overrideRef('a/b/c', 'edge')).toBeUndefined();
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p', namespace: 'x' }, data: { z: 'spec:\n  replicas: 2\n', a: 'patch: |\n  - op: remove\n    path: /x\ntarget: {kind: Service}\n', m: '- op: add\n  path: /y\n  value: 1\n' } } as ConfigMap;
    expect(overridePatches(cm)).toEqual([
      { patch: '- op: remove\n  path: /x\n', target: { kind: 'Service' } },
      { patch: '- op: add\n  path: /y\n  value: 1\n', target: { kind: 'Deployment', group: 'apps' } },
      { patch: 'spec:\n  replicas: 2\n', target: { kind: 'Deployment', group: 'apps' } },
    ]);
  });
});

describe('drift-detection bundles in Helm and Kustomize groups', () => {
  const drift = driftDetectionContent(readDriftDetectionManifests(FILES), 'edge', 'c1', { patches: [] });
  const requestor = (feature: 'Helm' | 'Kustomize'): Requestor => ({ clusterNamespace: 'edge', clusterName: 'c1', requestorName: 'p-sveltos-c1', feature });
  const settings = (driftDetection: boolean): GroupSettings => ({ sourceRef: sourceRefFor('ClusterProfile', 'p'), tier: 100, ...(driftDetection ? { driftDetection: true } : {}) });
  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'apps' } };

  it('a Helm group starts with the three bundles, notTracked, then the chart\'s; none without drift detection', () => {
    const chartBundle: HelmBundle = { index: 'apps-web-repo-0', resources: [cm], spec: { timeout: '5m0s', helmReleaseNamespace: 'apps', helmReleaseName: 'web', helmChartVersion: '1.0.0', helmRepoURL: 'https://charts.example' } };
    const planned = (d: boolean) => ({ planned: { profile: 'ClusterProfile/p', requestor: requestor('Helm'), settings: settings(d), index: 0, chart: {}, values: {}, patches: [] } as PlannedHelmChart, bundles: [stageHelmBundle(chartBundle)] });
    const [on] = helmGroups([planned(true)], drift);
    expect(on!.bundles.map(indexOf)).toEqual([...KEYS, 'apps-web-repo-0']);
    expect(on!.bundles.map((b) => b.spec.notTracked ?? false)).toEqual([true, true, true, false]);
    expect(on!.group.spec.configurationItem!.map((i) => i.hash)).toEqual(on!.bundles.map((b) => b.status.hash));
    expect(on!.group.spec.deployedGroupVersionKind).toEqual(['ConfigMap.v1.']);
    const [off] = helmGroups([planned(false)], drift);
    expect(off!.bundles.map(indexOf)).toEqual(['apps-web-repo-0']);
  });

  it('a Kustomize group starts with them too, and their hashes change its requestorHash', () => {
    const planned = (d: boolean) => ({ profile: 'ClusterProfile/p', requestor: requestor('Kustomize'), settings: settings(d), requestorHash: Buffer.alloc(32).toString('base64'), refs: [{ field: 'spec.kustomizationRefs[0]', key: 'ConfigMap-apps-k', info: {}, values: {} }] });
    const on = kustomizeGroup({ planned: planned(true), built: [undefined] }, 'edge/c1', [], drift);
    expect(on.bundles.map(indexOf)).toEqual([...KEYS, 'ConfigMap-apps-k']);
    expect(on.group.spec.configurationItem).toHaveLength(4);
    const off = kustomizeGroup({ planned: planned(false), built: [undefined] }, 'edge/c1', [], drift);
    expect(off.bundles.map(indexOf)).toEqual(['ConfigMap-apps-k']);
    expect(off.group.spec.requestorHash).toBe(Buffer.alloc(32).toString('base64'));
    expect(on.group.spec.requestorHash).not.toBe(off.group.spec.requestorHash);
    expect(driftDetectionBundles(requestor('Kustomize'), settings(true), undefined)).toEqual([]);
  });
});
