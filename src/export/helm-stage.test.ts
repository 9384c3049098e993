import { describe, expect, it } from 'vitest';
import { loopbackServer, tempDir } from '../../test/helpers.js';
import { imageReport } from '../resolve/images.js';
import { ChartCache } from '../source/helm.js';
import { helmInputsFromPlan, profileIdentity, renderHelmForPlan, valuesFromObjects, type HelmChartInput } from './helm-stage.js';

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

describe('helm stage failures', () => {
  it('stops at the first failure: queued charts are not fetched, and the error is the first cause', async () => {
    const asked = new Set<string>();
    const base = await loopbackServer((req, res) => {
      asked.add(/\/v2\/charts\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? req.url ?? '');
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    });
    const registry = new URL(base).host;
    const inputs: HelmChartInput[] = Array.from({ length: 12 }, (_, i) => ({
      cluster: { namespace: 'fleet', name: 'edge' },
      profile: { kind: 'ClusterProfile', name: 'apps' },
      chart: { repositoryURL: `oci://${registry}/charts`, repositoryName: 'apps', chartName: `app-${i}`, chartVersion: '1.0.0', releaseName: `app-${i}`, releaseNamespace: 'apps', registryCredentialsConfig: { plainHTTP: true } },
    }));
    const cache = await ChartCache.open(await tempDir());
    const err = await renderHelmForPlan(inputs, { helm: '/nonexistent/helm', cache, concurrency: 4 }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID', message: expect.stringMatching(/^oci:\/\/127\.0\.0\.1:\d+\/charts\/app-\d+ 1\.0\.0: .*: not found$/) });
    // Four fetches run at once; after the first 404 the rest never reach the registry, not even once the
    // stage has given up (a stage that returned at the first failure left them running behind it).
    await new Promise((r) => setTimeout(r, 300));
    expect(asked.size).toBeGreaterThan(0);
    expect(asked.size).toBeLessThanOrEqual(5);
  });
});
