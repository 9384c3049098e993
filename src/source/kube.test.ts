// The --from loader: YAML 1.1 as Kubernetes reads it, errors with file, line and field, bounds.
import { describe, expect, it } from 'vitest';
import { sourceOf } from '../model/sveltos.js';
import { testdir } from '../../test/helpers.js';
import { loadObjects } from './kube.js';

describe('loadObjects', () => {
  it('reads *.yaml, *.yml and *.json recursively in sorted order, multi-document, and keeps unknown kinds', async () => {
    const dir = await testdir({
      'b/x.yml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n',
      'a.json': '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"x"}}',
      'notes.txt': 'ignored',
      '.hidden/h.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hidden}\n',
    });
    const { objects, errors } = await loadObjects([dir]);
    expect(errors).toEqual([]);
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual(['ConfigMap/x/a', 'ConfigMap/default/b', 'Widget//w']);
    expect(sourceOf(objects[2]!)).toMatchObject({ line: 5 });
  });

  it('reads YAML 1.1 scalars as go-yaml v2 does: 0644 octal, on/yes booleans, 1:20 and timestamps stay strings, 0o17 octal', async () => {
    const dir = await testdir({
      'a.yaml': 'apiVersion: v1\nkind: Widget\nmetadata: {name: w}\nspec: {mode: 0644, on: yes, flag: on, time: 1:20, date: 2024-01-15, o: 0o17, s: "0644"}\n',
    });
    const { objects } = await loadObjects([dir]);
    expect(objects[0]!.spec).toEqual({ mode: 420, true: true, flag: true, time: '1:20', date: '2024-01-15', o: 15, s: '0644' });
  });

  it('refuses the old v1alpha1 and unknown versions of the Sveltos kinds it reads, naming file, document, kind and the fix', async () => {
    const dir = await testdir({
      'a.yaml': [
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}',
        'apiVersion: config.projectsveltos.io/v1alpha1\nkind: ClusterProfile\nmetadata: {name: old}\nspec: {}',
        'apiVersion: lib.projectsveltos.io/v1alpha1\nkind: SveltosCluster\nmetadata: {name: c1, namespace: ns}',
        'apiVersion: config.projectsveltos.io/v9\nkind: Profile\nmetadata: {name: p, namespace: ns}',
        'apiVersion: lib.projectsveltos.io/v1beta1\nkind: ClusterSet\nmetadata: {name: ok}\nspec: {}',
        'apiVersion: example.com/v9\nkind: Profile\nmetadata: {name: other}',
      ].join('\n---\n'),
    });
    const { objects, errors } = await loadObjects([dir]);
    expect(objects.map((o) => o.metadata.name)).toEqual(['c', 'ok', 'other']);
    expect(errors.map((e) => ({ ...e, file: e.file.slice(dir.length + 1) }))).toEqual([
      {
        file: 'a.yaml', line: 5, path: 'apiVersion',
        message: 'ClusterProfile old (document 2): config.projectsveltos.io/v1alpha1 is the old version of ClusterProfile (Sveltos serves only v1beta1, whose fields differ); change apiVersion to config.projectsveltos.io/v1beta1',
      },
      {
        file: 'a.yaml', line: 10, path: 'apiVersion',
        message: 'SveltosCluster ns/c1 (document 3): lib.projectsveltos.io/v1alpha1 is the old version of SveltosCluster (Sveltos serves only v1beta1, whose fields differ); change apiVersion to lib.projectsveltos.io/v1beta1',
      },
      {
        file: 'a.yaml', line: 14, path: 'apiVersion',
        message: 'Profile ns/p (document 4): config.projectsveltos.io/v9 is not a version Sveltos serves for Profile; expected config.projectsveltos.io/v1beta1',
      },
    ]);
  });

  it('merges Secret stringData into base64 data, as the API server stores it', async () => {
    const dir = await testdir({ 's.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: eA==}\nstringData: {b: "y"}\n' });
    const { objects } = await loadObjects([dir]);
    expect(objects[0]!.data).toEqual({ a: 'eA==', b: 'eQ==' });
    expect(objects[0]).not.toHaveProperty('stringData');
  });

  it('reports every error of a run with file, line and field path', async () => {
    const dir = await testdir({
      'a.yaml': 'apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: p}\nspec:\n  tier: 0\n  policyRefs:\n  - kind: ConfigMap\n',
      'b.yaml': 'key: [unclosed\n',
      'c.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\n',
    });
    const { errors } = await loadObjects([dir]);
    const brief = errors.map((e) => `${e.file.slice(dir.length + 1)}:${e.line}:${e.path ?? ''}`);
    expect(brief).toEqual(['a.yaml:5:spec.tier', 'a.yaml:7:spec.policyRefs[0].name', expect.stringMatching(/^b\.yaml:\d+:$/), 'c.yaml:5:']);
    expect(errors[3]!.message).toContain('defined twice');
  });

  it('bounds hostile input: alias bombs, deep nesting, huge files', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`);
    const dir = await testdir({
      'bomb.yaml': `apiVersion: v1\nkind: Widget\nmetadata: {name: b}\nspec:\n${bomb.map((l) => `  ${l}`).join('\n')}\n`,
      'deep.yaml': `apiVersion: v1\nkind: Widget\nmetadata: {name: d}\nspec: ${'['.repeat(300)}${']'.repeat(300)}\n`,
      'big.yaml': 'x'.repeat(2048),
    });
    const { objects, errors } = await loadObjects([dir], { maxFileBytes: 1024 });
    expect(objects).toEqual([]);
    expect(errors.map((e) => e.file.slice(dir.length + 1))).toEqual(['big.yaml', 'bomb.yaml', 'deep.yaml']);
    expect(errors[0]!.message).toMatch(/expected at most 1024/);
    expect(errors[1]!.message).toMatch(/alias/i);
    expect(errors[2]!.message).toMatch(/nesting/);
  });
});
