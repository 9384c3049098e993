import { describe, expect, it } from 'vitest';
import { imageReport } from '../resolve/images.js';
import { helmInputsFromPlan, profileIdentity, valuesFromObjects } from './helm-stage.js';

describe('helm stage inputs', () => {
  it('maps the resolver plan to inputs, keeping its merged values', () => {
    const object = { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'a', namespace: 'ns' } };
    const inputs = helmInputsFromPlan([{ cluster: 'ns/a', object, helm: [{ profile: 'Profile/ns/p', chart: { releaseName: 'r' }, values: { x: 1 } }, { profile: 'ClusterProfile/c', chart: { releaseName: 's' } }] }]);
    expect(inputs).toEqual([
      { cluster: { namespace: 'ns', name: 'a' }, clusterObject: object, profile: { kind: 'Profile', namespace: 'ns', name: 'p' }, chart: { releaseName: 'r' }, mergedValues: { x: 1 } },
      { cluster: { namespace: 'ns', name: 'a' }, clusterObject: object, profile: { kind: 'ClusterProfile', name: 'c' }, chart: { releaseName: 's' } },
    ]);
    expect(profileIdentity('ClusterProfile/x')).toEqual({ kind: 'ClusterProfile', name: 'x' });
  });

  it('reads valuesFrom in Sveltos order: sorted keys, templated sources apart, optional ones skipped', () => {
    const objects = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'c' }, data: { z: 'z: 1', b: 'b: 1' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'other', annotations: { 'projectsveltos.io/template': 'ok' } }, data: { v: Buffer.from('t: {{ .Cluster.metadata.name }}').toString('base64') } },
    ];
    const chart = { repositoryURL: 'x', chartName: 'x', releaseName: 'r', releaseNamespace: 'n', valuesFrom: [{ kind: 'ConfigMap', name: 'a' }, { kind: 'Secret', name: 's', namespace: 'other' }, { kind: 'ConfigMap', name: 'gone', optional: true }] };
    expect(valuesFromObjects(chart, objects, 'c')).toEqual({ plain: ['b: 1', 'z: 1'], templated: ['t: {{ .Cluster.metadata.name }}'] });
    expect(() => valuesFromObjects({ ...chart, valuesFrom: [{ kind: 'ConfigMap', name: 'gone' }] }, objects, 'c')).toThrow(/valuesFrom ConfigMap c\/gone not found/);
  });

  it('groups image mentions by normalised reference', () => {
    const r = imageReport([
      { image: 'nginx:1.25', cluster: 'ns/a', profile: 'ClusterProfile/p', chart: 'c:1', object: 'apps/v1 Deployment x/y', path: 'p' },
      { image: 'docker.io/library/nginx:1.25', cluster: 'ns/b', profile: 'ClusterProfile/p', object: 'v1 Pod x/z', path: 'p' },
      { image: '{{ bad }}', cluster: 'ns/a', profile: 'ClusterProfile/p', object: 'v1 Pod x/w', path: 'p' },
    ]);
    expect(r.map((i) => [i.image, i.valid, i.clusters])).toEqual([
      ['docker.io/library/nginx:1.25', true, ['ns/a', 'ns/b']],
      ['{{ bad }}', false, ['ns/a']],
    ]);
  });
});
