// The resolve command on files: text, JSON and YAML output; every input problem reported at once.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ValidationError } from '../../errors.js';
import { testdir } from '../../../test/helpers.js';
import { resolve } from './resolve.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = { text: '', err: '' };
  stdout.on('data', (d) => (out.text += String(d)));
  stderr.on('data', (d) => (out.err += String(d)));
  return { io: { stdout, stderr, env: {}, isTTY: false }, out };
}

const files = {
  'clusters.yaml': `apiVersion: lib.projectsveltos.io/v1beta1
kind: SveltosCluster
metadata: {name: c1, namespace: edge, labels: {env: prod}}
spec: {pullMode: true}
---
apiVersion: lib.projectsveltos.io/v1beta1
kind: SveltosCluster
metadata: {name: c2, namespace: edge, labels: {env: dev}}
spec: {pullMode: true}
`,
  'profiles/p.yaml': `apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata: {name: p}
spec:
  clusterSelector: {matchLabels: {env: prod}}
  policyRefs: [{kind: ConfigMap, namespace: default, name: ns}]
`,
  'config/ns.json': JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ns', namespace: 'default' }, data: { 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n' } }),
};

describe('resolve command', () => {
  it('prints matched profiles and groups per cluster (text)', async () => {
    const dir = await testdir(files);
    const { io: cio, out } = io();
    const plan = await resolve({ from: [dir], output: 'text', quiet: true }, cio);
    expect(plan.clusters.map((c) => c.cluster)).toEqual(['edge/c1', 'edge/c2']);
    expect(out.text).toContain('cluster edge/c1 (env=prod)');
    expect(out.text).toContain('ClusterProfile p');
    expect(out.text).toContain('ConfigMap-default-ns (1)');
    expect(out.text).toContain('cluster edge/c2 (env=dev)\n  no profile matches');
  });

  it('--output json prints the plan and nothing else on stdout', async () => {
    const dir = await testdir(files);
    const { io: cio, out } = io();
    await resolve({ from: [dir], output: 'json', quiet: false, cluster: ['edge/c1'] }, cio);
    const json = JSON.parse(out.text) as { clusters: { namespace: string; name: string; profiles: { kind: string; name: string; tier: number }[]; objects: { kind: string }[]; conflicts: unknown[] }[] };
    expect(json.clusters.map((c) => `${c.namespace}/${c.name}`)).toEqual(['edge/c1']);
    expect(json.clusters[0]!.objects.map((o) => o.kind)).toEqual(['ConfigurationGroup', 'ConfigurationBundle']);
    expect(json.clusters[0]!.profiles[0]).toMatchObject({ kind: 'ClusterProfile', tier: 100 });
    expect(json.clusters[0]!.conflicts).toEqual([]);
  });

  it('never prints a carried Secret value: every output shows <redacted> for each key', async () => {
    const value = 'carried-secret-value-7731';
    const dir = await testdir({
      ...files,
      'profiles/p.yaml': files['profiles/p.yaml'].replace('policyRefs: [{kind: ConfigMap, namespace: default, name: ns}]', 'policyRefs: [{kind: ConfigMap, namespace: default, name: ns}, {kind: Secret, namespace: default, name: creds}]'),
      'config/creds.yaml': `apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: default}\ntype: addons.projectsveltos.io/cluster-profile\ndata:\n  creds.yaml: ${Buffer.from(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: ${value}\n`).toString('base64')}\n`,
    });
    for (const output of ['text', 'json', 'yaml'] as const) {
      const { io: cio, out } = io();
      await resolve({ from: [dir], output, quiet: false }, cio);
      for (const v of [value, Buffer.from(value).toString('base64')]) expect(out.text + out.err, output).not.toContain(v);
      if (output !== 'text') expect(out.text, output).toContain('<redacted>');
    }
  });

  it('--output yaml prints the objects as a YAML stream, group then bundles', async () => {
    const dir = await testdir(files);
    const { io: cio, out } = io();
    await resolve({ from: [dir], output: 'yaml', quiet: true }, cio);
    const docs = parseAllDocuments(out.text).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind)).toEqual(['ConfigurationGroup', 'ConfigurationBundle']);
  });

  it('reports every problem of the run together: load errors with file and line, plan problems', async () => {
    const dir = await testdir({
      ...files,
      'profiles/p.yaml': files['profiles/p.yaml'].replace('name: ns', 'name: missing'),
      'broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    a: [1]\n',
    });
    const { io: cio } = io();
    const err = await resolve({ from: [dir], output: 'text', quiet: true }, cio).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.code).toBe('INVALID');
    expect(v.message).toMatch(/broken\.yaml:6: metadata\.labels\.a: ConfigMap: expected a string, found a list/);
    expect(v.message).toMatch(/p\.yaml:1: REFERENCE_NOT_FOUND: ClusterProfile p on cluster edge\/c1: spec\.policyRefs\[0\]: ConfigMap default\/missing is not in the input/);
    expect(v.message).toMatch(/^2 problem\(s\)/);
  });

  it('rejects a malformed --cluster', async () => {
    const dir = await testdir(files);
    await expect(resolve({ from: [dir], output: 'text', quiet: true, cluster: ['c1'] }, io().io)).rejects.toThrow(/NAMESPACE\/NAME/);
  });
});
