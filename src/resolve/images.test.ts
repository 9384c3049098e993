import { describe, expect, it } from 'vitest';
import { chartAnnotationImages, parseImageReference, podSpecImages } from './images.js';

describe('parseImageReference', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['index.docker.io/library/alpine:3', 'docker.io/library/alpine:3'],
    ['quay.io/prometheus/node-exporter:v1.8.0', 'quay.io/prometheus/node-exporter:v1.8.0'],
    ['localhost/app', 'localhost/app:latest'],
    ['127.0.0.1:5000/team/app:1', '127.0.0.1:5000/team/app:1'],
    [`registry.k8s.io/pause@sha256:${'a'.repeat(64)}`, `registry.k8s.io/pause@sha256:${'a'.repeat(64)}`],
    [`nginx:1.25@sha256:${'b'.repeat(64)}`, `docker.io/library/nginx:1.25@sha256:${'b'.repeat(64)}`],
  ])('%s -> %s', (input, want) => expect(parseImageReference(input)?.reference).toBe(want));

  it.each([['Nginx'], [''], ['nginx:'], ['nginx@sha256:xyz'], ['{{ .Values.image }}'], ['a//b']])('rejects %j', (input) => expect(parseImageReference(input)).toBeUndefined());
});

describe('podSpecImages', () => {
  it('finds containers, init and ephemeral containers in every workload kind', () => {
    const spec = { initContainers: [{ image: 'a' }], containers: [{ image: 'b' }, { name: 'noimage' }], ephemeralContainers: [{ image: 'c' }] };
    const kinds = { Pod: { spec }, Deployment: { spec: { template: { spec } } }, CronJob: { spec: { jobTemplate: { spec: { template: { spec } } } } } };
    for (const [kind, body] of Object.entries(kinds)) {
      const found = podSpecImages({ apiVersion: 'v1', kind, metadata: { name: 'x' }, ...body });
      expect(found.map((f) => f.image)).toEqual(['a', 'b', 'c']);
    }
    expect(podSpecImages({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })).toEqual([]);
    expect(podSpecImages({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x' }, ...kinds.CronJob })[1]!.path).toBe('spec.jobTemplate.spec.template.spec.containers[0].image');
  });

  it('reads chart image annotations (helm.sh/images and artifacthub.io/images)', () => {
    expect(chartAnnotationImages({ 'helm.sh/images': '- name: a\n  image: x:1\n- y:2\n', 'artifacthub.io/images': '- image: z:3\n', other: '- image: no' }).map((m) => m.image)).toEqual(['x:1', 'y:2', 'z:3']);
    expect(chartAnnotationImages({ 'helm.sh/images': 'not: a list' })).toEqual([]);
  });
});
