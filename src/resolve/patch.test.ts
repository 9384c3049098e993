// Profile patches on policyRefs objects (addon-controller applyPatches → libsveltos CustomPatchPostRenderer → kustomize).
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bundleYAML, FakeFleet } from '../../test/fake-fleet.js';
import { applyPatches, labelSelectorStringMatches, PatchFailure } from './patch.js';

const deploy = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' } },
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, name: 'http' }] },
          { name: 'side', image: 'side:1' },
        ],
        tolerations: [{ key: 'a', operator: 'Exists' }],
      },
    },
  },
};

describe('strategic merge patches', () => {
  it('with a target: merges maps, merges containers by name and env by name, replaces lists without a merge key', () => {
    const out = applyPatches(structuredClone(deploy), [
      {
        target: { kind: 'Deployment', name: 'w.*' },
        patch: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: anything
  labels:
    team: x
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: app:2
        env:
        - name: B
          value: "2"
      tolerations:
      - key: b
        operator: Exists
`,
      },
    ]);
    const spec = (out.spec as typeof deploy.spec).template.spec;
    expect((out.metadata as { name: string; labels: unknown }).name).toBe('web'); // kustomize keeps the name
    expect((out.metadata as { labels: unknown }).labels).toEqual({ app: 'web', team: 'x' });
    expect((out.spec as { replicas: number }).replicas).toBe(3);
    expect(spec.containers.map((c) => [c.name, c.image])).toEqual([['app', 'app:2'], ['side', 'side:1']]);
    expect(spec.containers[0]!.env).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    expect(spec.tolerations).toEqual([{ key: 'b', operator: 'Exists' }]);
    expect(deploy.spec.replicas).toBe(1); // input untouched
  });

  it('null deletes a field; $patch: delete removes a list element', () => {
    const out = applyPatches(structuredClone(deploy), [
      {
        target: { kind: 'Deployment' },
        patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: null\nspec:\n  template:\n    spec:\n      containers:\n      - name: side\n        $patch: delete\n',
      },
    ]);
    expect((out.metadata as { labels: unknown }).labels).toEqual({});
    expect((out.spec as typeof deploy.spec).template.spec.containers.map((c) => c.name)).toEqual(['app']);
  });

  it('a target that does not match leaves the object as it is (same object)', () => {
    const obj = structuredClone(deploy);
    expect(applyPatches(obj, [{ target: { kind: 'Service' }, patch: 'metadata:\n  labels:\n    x: y\n' }])).toBe(obj);
    // Targets are full matches (kustomize anchors the patterns).
    expect(applyPatches(obj, [{ target: { name: 'we' }, patch: 'metadata:\n  labels:\n    x: y\n' }])).toBe(obj);
  });

  it('target patterns are Go RE2 regular expressions: (?i) flags work, backreferences are invalid', () => {
    const obj = structuredClone(deploy);
    expect(applyPatches(obj, [{ target: { kind: '(?i)deployment' }, patch: '- op: replace\n  path: /spec/replicas\n  value: 2\n' }])).not.toBe(obj);
    expect(() => applyPatches(obj, [{ target: { name: '(w)\\1' }, patch: '- op: remove\n  path: /spec\n' }])).toThrow(/invalid regex/);
  });

  it('label and annotation selectors in the target', () => {
    expect(labelSelectorStringMatches('app=web,tier in (a, b),!gone', { app: 'web', tier: 'b' })).toBe(true);
    expect(labelSelectorStringMatches('app!=web', { app: 'web' })).toBe(false);
    expect(labelSelectorStringMatches('app', {})).toBe(false);
    const obj = structuredClone(deploy);
    expect(applyPatches(obj, [{ target: { labelSelector: 'app=db' }, patch: 'metadata:\n  labels:\n    x: y\n' }])).toBe(obj);
  });

  it('without a target the patch applies to the object it names; another object makes kustomize fail', () => {
    const named = applyPatches(structuredClone(deploy), [{ patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  replicas: 5\n' }]);
    expect((named.spec as { replicas: number }).replicas).toBe(5);
    expect(() => applyPatches(structuredClone(deploy), [{ patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: other\nspec:\n  replicas: 5\n' }])).toThrow(PatchFailure);
  });

  it('a strategic merge patch with a kind but no metadata.name is rejected (libsveltos validatePatch)', () => {
    expect(() => applyPatches(structuredClone(deploy), [{ target: { kind: 'Deployment' }, patch: 'apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n' }])).toThrow(/requires metadata.name/);
  });
});

describe('JSON6902 patches', () => {
  it('applies add/replace/remove; remove of a missing path is dropped (filterPatchOperations)', () => {
    const out = applyPatches(structuredClone(deploy), [
      {
        target: { group: 'apps', version: 'v1', kind: 'Deployment' },
        patch: '- op: replace\n  path: /spec/replicas\n  value: 4\n- op: add\n  path: /metadata/annotations\n  value: {a: b}\n- op: remove\n  path: /spec/nothing\n- op: add\n  path: /spec/template/spec/containers/-\n  value: {name: last, image: l}\n',
      },
    ]);
    expect((out.spec as { replicas: number }).replicas).toBe(4);
    expect((out.metadata as { annotations: unknown }).annotations).toEqual({ a: 'b' });
    expect((out.spec as typeof deploy.spec).template.spec.containers.map((c) => c.name)).toEqual(['app', 'side', 'last']);
  });

  it('a patch whose only operations are no-op removes is not applied at all', () => {
    const obj = structuredClone(deploy);
    expect(applyPatches(obj, [{ target: { kind: 'Deployment' }, patch: '[{"op": "remove", "path": "/spec/gone"}]' }])).toBe(obj);
  });

  it('replace of a missing path fails, as evanphx/json-patch does', () => {
    expect(() => applyPatches(structuredClone(deploy), [{ target: { kind: 'Deployment' }, patch: '- op: replace\n  path: /spec/gone\n  value: 1\n' }])).toThrow(PatchFailure);
  });
});

describe('patches in a plan', () => {
  it('spec.patches apply to every policyRefs object they target, after templating and before staging', () => {
    const plan = new FakeFleet()
      .cluster('a/c1', { env: 'prod' })
      .configMap('a/app', {
        'a.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n',
      })
      .clusterProfile('p', {
        clusterSelector: { matchLabels: { env: 'prod' } },
        policyRefs: [{ kind: 'ConfigMap', name: 'app' }],
        patches: [{ target: { kind: 'Deployment' }, patch: '- op: replace\n  path: /spec/replicas\n  value: 3\n' }],
      })
      .plan();
    expect(plan.problems).toEqual([]);
    const objs = bundleYAML(plan, 'a/c1').map((y) => parse(y) as { kind: string; spec?: { replicas: number } });
    expect(objs.map((o) => [o.kind, o.spec?.replicas])).toEqual([['Deployment', 3], ['Service', undefined]]);
  });

  it('a failing patch is a problem for the profile on that cluster', () => {
    const plan = new FakeFleet()
      .cluster('a/c1', { env: 'prod' })
      .configMap('a/app', { 'a.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n' })
      .clusterProfile('p', {
        clusterSelector: { matchLabels: { env: 'prod' } },
        policyRefs: [{ kind: 'ConfigMap', name: 'app' }],
        patches: [{ patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n' }],
      })
      .plan();
    expect(plan.problems.map((p) => p.code)).toEqual(['PATCH']);
  });
});
