// kustomizationRefs planning rules of addon-controller (handlers_kustomize.go), on FakeFleet inputs: bundle
// keys from the raw spec, duplicate keys, Local refs, the values' two templating passes and precedence.
import { describe, expect, it } from 'vitest';
import { FakeFleet } from '../../test/fake-fleet.js';
import { formatFloat32, readStringMap } from './kustomize-plan.js';

const sel = { clusterSelector: { matchLabels: { env: 'prod' } } };
const archive = Buffer.from('not read while planning').toString('base64');
const base = () =>
  new FakeFleet()
    .cluster('edge/c1', { env: 'prod', region: 'eu-west' })
    .object({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'k' }, binaryData: { 'kustomize.tar.gz': archive } })
    .object({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'edge', name: 'k' }, binaryData: { 'kustomize.tar.gz': archive } });

const planned = (f: FakeFleet) => {
  const plan = f.plan({ clusters: ['edge/c1'] });
  return { plan, k: plan.clusters[0]?.kustomize ?? [] };
};

describe('kustomizationRefs planning', () => {
  it('keys each bundle Kind-Namespace-Name from the raw spec, in spec order, with tier and flags; path and components are templated', () => {
    const { plan, k } = planned(
      base().clusterProfile('p', {
        ...sel,
        kustomizationRefs: [
          { kind: 'ConfigMap', name: 'k', path: 'overlays/{{ index .Cluster.metadata.labels "env" }}', components: ['../../c/{{ .Cluster.metadata.name }}'], tier: 7, force: true },
          { kind: 'ConfigMap', namespace: '{{ .Cluster.metadata.namespace }}', name: 'k', skipNamespaceCreation: true, targetNamespace: 'apps' },
          { kind: 'ConfigMap', namespace: 'default', name: 'k', path: 'x' },
        ],
      }),
    );
    expect(plan.problems).toEqual([]);
    expect(k).toHaveLength(1);
    const refs = k[0]!.refs;
    // The namespace as written: empty, or the template itself (addon-controller keys bundles before instantiating).
    expect(refs.map((r) => r.key)).toEqual(['ConfigMap--k', 'ConfigMap-{{ .Cluster.metadata.namespace }}-k', 'ConfigMap-default-k']);
    expect(refs.map((r) => r.build?.source.object)).toEqual(['ConfigMap edge/k', 'ConfigMap edge/k', 'ConfigMap default/k']);
    expect(refs[0]!.build).toMatchObject({ path: 'overlays/prod', components: ['../../c/c1'] });
    expect(refs[0]!.info).toEqual({ referencedObjectKind: 'ConfigMap', referencedObjectNamespace: '', referencedObjectName: 'k', referenceTier: 7, skipNamespaceCreation: false, force: true });
    expect(refs[1]!.info).toMatchObject({ referenceTier: 100, skipNamespaceCreation: true, force: false });
    expect(refs[1]!.targetNamespace).toBe('apps');
    expect(k[0]!.requestor).toMatchObject({ feature: 'Kustomize', requestorName: 'p-sveltos-c1' });
  });

  it('one source used twice is an input error naming both refs (addon-controller would stage both under one index)', () => {
    const { plan, k } = planned(
      base().clusterProfile('p', {
        ...sel,
        kustomizationRefs: [
          { kind: 'ConfigMap', namespace: 'default', name: 'k', path: 'a' },
          { kind: 'ConfigMap', namespace: 'default', name: 'other' },
          { kind: 'ConfigMap', namespace: 'default', name: 'k', path: 'b' },
        ],
      }).object({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'other' }, binaryData: { 'kustomize.tar.gz': archive } }),
    );
    expect(k).toEqual([]);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]).toMatchObject({ code: 'DUPLICATE_KUSTOMIZATION', field: 'spec.kustomizationRefs[2]' });
    expect(plan.problems[0]!.message).toMatch(/spec\.kustomizationRefs\[2\] and spec\.kustomizationRefs\[0\] both reference ConfigMap default\/k: both would be staged as the bundle "ConfigMap-default-k"/);
  });

  it('deploymentType Local is reported as not carried and keeps its empty bundle; a Flux source must be in the input, a remoteURL must be fetched first', () => {
    const { plan, k } = planned(
      base().clusterProfile('p', {
        ...sel,
        kustomizationRefs: [
          { kind: 'ConfigMap', namespace: 'default', name: 'k', deploymentType: 'Local' },
          { kind: 'GitRepository', namespace: 'flux-system', name: 'repo', deploymentType: 'Local' },
        ],
      }),
    );
    expect(plan.problems).toEqual([]);
    expect(k[0]!.refs.map((r) => [r.key, r.build])).toEqual([
      ['ConfigMap-default-k', undefined],
      ['GitRepository-flux-system-repo', undefined],
    ]);
    expect(plan.clusters[0]!.notCarried.map((n) => n.ref)).toEqual(['kustomizationRef ConfigMap default/k', 'kustomizationRef GitRepository flux-system/repo']);
    const bad = planned(
      base().clusterProfile('p', { ...sel, kustomizationRefs: [{ kind: 'OCIRepository', namespace: 'f', name: 'r' }, { remoteURL: { url: 'https://example.com/k.tar.gz' } }] }),
    );
    expect(bad.plan.problems.map((p) => `${p.code} ${p.field}`)).toEqual(['REFERENCE_NOT_FOUND spec.kustomizationRefs[0]', 'REMOTE_URL spec.kustomizationRefs[1].remoteURL']);
    expect(bad.plan.problems[1]!.message).toMatch(/remoteURL https:\/\/example.com\/k.tar.gz was not fetched/);
  });

  it('the archive is read from ConfigMap binaryData or Secret data (type cluster-profile only); optional does not excuse a missing source', () => {
    const f = base()
      .object({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'text' }, data: { 'kustomize.tar.gz': 'x' } })
      .secret('default/s', { 'kustomize.tar.gz': 'bytes' }, { type: 'addons.projectsveltos.io/cluster-profile' })
      .secret('default/opaque', { 'kustomize.tar.gz': 'bytes' }, { type: 'Opaque' })
      .clusterProfile('p', {
        ...sel,
        kustomizationRefs: [
          { kind: 'ConfigMap', namespace: 'default', name: 'text' },
          { kind: 'Secret', namespace: 'default', name: 'opaque' },
          { kind: 'ConfigMap', namespace: 'default', name: 'gone', optional: true },
        ],
      })
      .clusterProfile('q', { ...sel, kustomizationRefs: [{ kind: 'Secret', namespace: 'default', name: 's' }] });
    const { plan, k } = planned(f);
    expect(plan.problems.map((p) => p.code)).toEqual(['INVALID_CONTENT', 'SECRET_TYPE', 'REFERENCE_NOT_FOUND']);
    expect(plan.problems[0]!.message).toMatch(/kustomize\.tar\.gz missing \(addon-controller reads it from binaryData, not data/);
    expect(plan.problems[2]!.message).toMatch(/optional is ignored for kustomizationRefs/);
    expect(k.map((x) => x.profile)).toEqual(['ClusterProfile/q']);
    expect((k[0]!.refs[0]!.build!.source as { archive: Buffer }).archive.toString()).toBe('bytes');
  });

  it('values: templated valuesFrom over values, rendered once against the cluster; static valuesFrom over both', () => {
    const f = base()
      .configMap('default/static', { Tier: 'static-wins', Plain: '{{ not rendered }}' })
      .configMap('edge/templated', { Tier: 'templated', Name: '{{ .Cluster.metadata.name }}', Region: 'over-{{ index .Cluster.metadata.labels "region" }}' }, { annotations: { 'projectsveltos.io/template': 'ok' } })
      .clusterProfile('p', {
        ...sel,
        kustomizationRefs: [
          {
            kind: 'ConfigMap',
            namespace: 'default',
            name: 'k',
            values: { Region: '{{ index .Cluster.metadata.labels "region" }}', Tier: 'values', Kept: 'values' },
            valuesFrom: [
              { kind: 'ConfigMap', namespace: 'default', name: 'static' },
              { kind: 'ConfigMap', name: 'templated' },
              { kind: 'Secret', namespace: 'default', name: 'absent', optional: true },
            ],
          },
        ],
      });
    const { plan, k } = planned(f);
    expect(plan.problems).toEqual([]);
    expect(k[0]!.refs[0]!.values).toEqual({ Kept: 'values', Name: 'c1', Plain: '{{ not rendered }}', Region: 'over-eu-west', Tier: 'static-wins' });
  });

  it('values: a template error or a rendered value that breaks the quoting fails the ref, as it fails upstream', () => {
    const missing = planned(base().clusterProfile('p', { ...sel, kustomizationRefs: [{ kind: 'ConfigMap', namespace: 'default', name: 'k', values: { A: '{{ .Cluster.nope.x }}' } }] }));
    expect(missing.plan.problems.map((p) => `${p.code} ${p.field}`)).toEqual(['TEMPLATE spec.kustomizationRefs[0].values']);
    // '{{ … }}' is quoted as '…' before rendering; a rendered ' ends the quoted scalar early.
    const quote = planned(base().clusterProfile('p', { ...sel, kustomizationRefs: [{ kind: 'ConfigMap', namespace: 'default', name: 'k', values: { A: '{{ "x" | squote }}' } }] }));
    expect(quote.plan.problems[0]!.message).toMatch(/no longer read as YAML/);
  });

  it('a Profile reads its kustomizationRefs and valuesFrom in its own namespace (limitReferencesToNamespace)', () => {
    const f = base()
      .configMap('edge/v', { A: 'mine' })
      .configMap('default/v', { A: 'other' })
      .profile('edge/p', { ...sel, kustomizationRefs: [{ kind: 'ConfigMap', namespace: 'default', name: 'k', valuesFrom: [{ kind: 'ConfigMap', namespace: 'default', name: 'v' }] }] });
    const { plan, k } = planned(f);
    expect(plan.problems).toEqual([]);
    expect(k[0]!.refs[0]).toMatchObject({ key: 'ConfigMap-edge-k', values: { A: 'mine' } });
    expect(k[0]!.refs[0]!.build!.source.object).toBe('ConfigMap edge/k');
  });
});

describe('readStringMap (sigs.k8s.io/yaml into map[string]string)', () => {
  it.each([
    ['a: 1\nb: true\nc: ~\nd: "x"\ne: 0x1F\nf: 1.5\ng: 1e6\nh: yes\n', { a: '1', b: 'true', c: '', d: 'x', e: '31', f: '1.5', g: '1e+06', h: 'true' }],
    ['{}\n', {}],
    ['', {}],
  ])('%j', (text, want) => {
    expect(readStringMap(text)).toEqual(want);
  });
  it('a map or list value cannot be a string', () => {
    expect(() => readStringMap('a: [1]\n')).toThrow(/cannot unmarshal a list into a string/);
    expect(() => readStringMap('a: {b: 1}\n')).toThrow(/cannot unmarshal a map into a string/);
  });
  it.each([
    [0.1, '0.1'],
    [1234567, '1.234567e+06'],
    [123456, '123456'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [-2.5, '-2.5'],
    [3.14159265358979, '3.1415927'],
  ])('formatFloat32(%d) is %s', (f, want) => {
    expect(formatFloat32(f)).toBe(want);
  });
});
