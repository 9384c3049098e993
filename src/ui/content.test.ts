import { describe, expect, it } from 'vitest';
import type { DesiredCluster } from '../agent-api/served.js';
import { emptyState, type SiteState } from '../bundle/state.js';
import type { Descriptor } from '../model/oci.js';
import { contentView, objectYAML, storeView } from './content.js';

const SECRET = 's3cr3t-value';
const group = (name: string, resources: string[], spec: Record<string, unknown> = {}) => ({
  group: { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationGroup', metadata: { name, namespace: 'edge' } },
  bundles: [{ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationBundle', metadata: { name: `${name}-b1`, namespace: 'edge' }, spec: { ...spec, resources } }],
  layer: 'sha256:00',
  requestor: 'ClusterSummary|x|Resources',
});
const desired = {
  cluster: 'edge/c1',
  groups: [
    group('web', ['apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: apps}\nspec:\n  template:\n    spec:\n      containers: [{name: w, image: nginx:1.27}, {name: s, image: "quay.io/x/sidecar:2"}]\n'], { helmReleaseName: 'web', helmReleaseNamespace: 'apps', helmChartVersion: '1.2.3', helmRepoURL: 'oci://reg/charts' }),
    group('creds', [`apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: default}\ndata: {password: ${Buffer.from(SECRET).toString('base64')}}\nstringData: {user: ${SECRET}}\n`]),
  ],
  warnings: [],
} as unknown as DesiredCluster;

describe('status page content', () => {
  it('lists objects per group (Secrets by key), Helm releases, images with whether they are carried, encrypted groups', () => {
    const v = contentView(desired, [{ group: 'sealed', recipients: ['abcd'] }], new Set(['docker.io/library/nginx:1.27']));
    expect(v.groups.map((g) => [g.name, g.encrypted, g.objects])).toEqual([
      ['creds', false, [{ apiVersion: 'v1', kind: 'Secret', namespace: 'default', name: 'db', secretKeys: ['password', 'user'] }]],
      ['sealed', true, []],
      ['web', false, [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'apps', name: 'web' }]],
    ]);
    expect(v.releases).toEqual([{ group: 'web', release: 'apps/web', chart: 'oci://reg/charts', version: '1.2.3', uninstall: false }]);
    expect(v.images).toEqual([
      { image: 'docker.io/library/nginx:1.27', carried: true, objects: ['Deployment apps/web'] },
      { image: 'quay.io/x/sidecar:2', carried: false, objects: ['Deployment apps/web'] },
    ]);
    expect(JSON.stringify(v)).not.toContain(SECRET);
  });

  it('shows an object as YAML, a Secret with every value redacted', () => {
    const yaml = objectYAML(desired, 'creds', 0)!;
    expect(yaml).toContain('password: <redacted>');
    expect(yaml).toContain('user: <redacted>');
    for (const v of [SECRET, Buffer.from(SECRET).toString('base64')]) expect(yaml).not.toContain(v);
    expect(objectYAML(desired, 'web', 0)).toContain('image: nginx:1.27');
    expect(objectYAML(desired, 'web', 1)).toBeUndefined();
    expect(objectYAML(desired, 'nope', 0)).toBeUndefined();
  });

  it('the store page lists imports and carried artifacts with their users and proofs', () => {
    const hex = 'a'.repeat(64);
    const m = (ref: string, digest: string, annotations: Record<string, string> = {}): Descriptor => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest as Descriptor['digest'], size: 1, annotations: { 'org.opencontainers.image.ref.name': ref, ...annotations } });
    const state: SiteState = {
      ...emptyState(),
      highestSequence: 2,
      history: [1, 2].map((sequence) => ({
        sequence,
        root: { mediaType: 'x', digest: `sha256:${String(sequence).repeat(64)}`, size: 1 },
        signature: { mediaType: 'x', digest: `sha256:${'f'.repeat(64)}`, size: 1 },
        createdAt: `2026-12-0${sequence}T00:00:00Z`,
        expiresAt: '2027-01-01T00:00:00Z',
        source: 'test',
        keyHint: 'k1',
        importedAt: `2026-12-0${sequence}T01:00:00Z`,
        clusters: ['edge/c1'],
        ...(sequence === 2 ? { bytes: 2048 } : {}),
        manifests: [
          m('sveltos-airgap/clusters/edge/c1:latest', `sha256:${String(sequence).repeat(64)}`, { 'io.projectsveltos.airgap.cluster': 'edge/c1' }),
          m('reg/charts/web:1.2.3', `sha256:${hex}`, { 'io.projectsveltos.airgap.kind': 'chart', 'io.projectsveltos.airgap.clusters': 'edge/c1', 'org.opencontainers.image.version': '1.2.3' }),
          m(`reg/charts/web:sha256-${hex}.sig`, `sha256:${'b'.repeat(64)}`),
        ],
      })),
    };
    const v = storeView(state, 4096);
    expect(v.imports.map((i) => [i.sequence, i.bytes, i.clusters])).toEqual([[1, undefined, 1], [2, 2048, 1]]);
    expect(v.artifacts).toEqual([{ ref: 'reg/charts/web:1.2.3', kind: 'chart', version: '1.2.3', clusters: ['edge/c1'], proofs: ['signature'] }]);
    expect(v.diskBytes).toBe(4096);
  });
});
