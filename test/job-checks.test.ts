// JobHealthChecks in pull mode: the Job a check's jobRef names is resolved at export, as addon-controller
// resolves it (exactly one data key, kind Job, a container; activeDeadlineSeconds from the timeout, the
// check-name annotation), and carried on the ConfigurationGroup the agent reads.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadObjects } from '../src/source/kube.js';
import { planExport } from '../src/resolve/plan.js';
import { kubeconfigFor, kubectl, serveSite, type Site } from './agent/fixtures.js';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { tempDir } from './helpers.js';

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: smoke-{{ .Cluster.metadata.name }}
  namespace: checks
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: smoke
        image: registry.example.com/smoke:1.0
        args: [--target, web]
`;

function input(extra: { profile?: string; objects?: string[] } = {}): string {
  return [
    'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: edge-1, namespace: fleet, labels: {env: prod}}\nspec: {pullMode: true}\n',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\ndata:\n  cm.yaml: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: app, namespace: web}\n    data: {a: "1"}\n',
    // Only the reference is templated against the cluster (smoke-edge-1); the manifest is carried as written.
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: smoke-edge-1, namespace: fleet}\ndata:\n  job.yaml: |\n${JOB.replace('smoke-{{ .Cluster.metadata.name }}', 'smoke').split('\n').map((l) => `    ${l}`).join('\n')}\n`,
    `apiVersion: v1\nkind: Secret\nmetadata: {name: deep, namespace: checks}\ntype: Opaque\ndata:\n  job.yaml: ${Buffer.from(JOB.replace('smoke-{{ .Cluster.metadata.name }}', 'deep').replace('spec:\n  template:', 'spec:\n  activeDeadlineSeconds: 42\n  template:')).toString('base64')}\n`,
    ...(extra.objects ?? []),
    extra.profile ??
      `apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata: {name: apps}
spec:
  clusterSelector: {matchLabels: {env: prod}}
  policyRefs:
  - {kind: ConfigMap, namespace: default, name: app}
  preDeployChecks:
  - name: smoke
    jobCheck:
      jobRef: {kind: ConfigMap, name: 'smoke-{{ .Cluster.metadata.name }}'}
      timeout: 90s
  validateHealths:
  - name: deep
    featureID: Resources
    jobCheck:
      jobRef: {kind: Secret, namespace: checks, name: deep}
`,
  ].join('---\n');
}

async function plan(text: string) {
  const dir = await tempDir();
  await writeFile(join(dir, 'in.yaml'), text);
  const { objects, errors } = await loadObjects([dir]);
  expect(errors).toEqual([]);
  return { dir, plan: planExport({ objects, now: new Date(0) }) };
}

describe('JobHealthChecks', () => {
  it('resolves each jobCheck into the group: keyed by the Job, deadline from the timeout (or kept), check name annotated', async () => {
    const { plan: p } = await plan(input());
    expect(p.problems).toEqual([]);
    const spec = p.clusters[0]!.groups[0]!.group.spec as Record<string, Record<string, string>>;
    expect(Object.keys(spec.preDeployCheckJobs!)).toEqual(['checks/smoke']);
    expect(Object.keys(spec.validateHealthJobs!)).toEqual(['checks/deep']);
    const smoke = parse(spec.preDeployCheckJobs!['checks/smoke']!) as Record<string, any>;
    expect(smoke.spec.activeDeadlineSeconds).toBe(90);
    expect(smoke.metadata).toEqual({ name: 'smoke', namespace: 'checks', creationTimestamp: null, annotations: { 'validatehealth.projectsveltos.io/check-name': 'smoke' } });
    expect(smoke.spec.template.spec.containers[0]).toMatchObject({ name: 'smoke', image: 'registry.example.com/smoke:1.0', resources: {} });
    expect(smoke.status).toEqual({});
    // Keys sorted as sigs.k8s.io/yaml writes them.
    expect(spec.preDeployCheckJobs!['checks/smoke']!.split('\n')[0]).toBe('apiVersion: batch/v1');
    const deep = parse(spec.validateHealthJobs!['checks/deep']!) as Record<string, any>;
    expect(deep.spec.activeDeadlineSeconds).toBe(42);
    // The checks themselves travel too, as written.
    expect((spec.preDeployChecks as unknown as unknown[])[0]).toMatchObject({ name: 'smoke', jobCheck: { timeout: '90s' } });
  });

  it('reports every broken jobCheck with the rest of the input: missing, two keys, not a Job, no container, bad timeout', async () => {
    const bad = (name: string, data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: fleet}\ndata:\n${data}`;
    const profile = `apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata: {name: apps}
spec:
  clusterSelector: {matchLabels: {env: prod}}
  policyRefs:
  - {kind: ConfigMap, namespace: default, name: missing-too}
  preDeployChecks:
  - {name: a, jobCheck: {jobRef: {kind: ConfigMap, name: nowhere}}}
  - {name: b, jobCheck: {jobRef: {kind: ConfigMap, name: two}}}
  - {name: c, jobCheck: {jobRef: {kind: ConfigMap, name: pod}}}
  - {name: d, jobCheck: {jobRef: {kind: ConfigMap, name: empty}}}
  - {name: e, jobCheck: {jobRef: {kind: ConfigMap, name: smoke-edge-1}, timeout: soon}}
`;
    const { plan: p } = await plan(input({
      profile,
      objects: [
        bad('two', '  a.yaml: "kind: Job"\n  b.yaml: "kind: Job"\n'),
        bad('pod', '  p.yaml: |\n    kind: Pod\n    spec: {containers: [{name: x}]}\n'),
        bad('empty', '  j.yaml: |\n    kind: Job\n    spec: {template: {spec: {containers: []}}}\n'),
      ],
    }));
    expect(p.problems).toHaveLength(6);
    const msgs = p.problems.map((x) => `${x.code}: ${x.message.replace(/^ClusterProfile apps on cluster fleet\/edge-1: /, '')}`);
    expect(msgs).toEqual(expect.arrayContaining([
      expect.stringMatching(/^REFERENCE_NOT_FOUND: spec\.preDeployChecks\[0\]\.jobCheck \(check "a"\): jobRef: ConfigMap fleet\/nowhere is not in the input$/),
      expect.stringMatching(/^JOB_CHECK: spec\.preDeployChecks\[1\]\.jobCheck \(check "b"\): ConfigMap fleet\/two must contain exactly one Job manifest, found 2 data key\(s\)$/),
      expect.stringMatching(/^JOB_CHECK: spec\.preDeployChecks\[2\]\.jobCheck \(check "c"\): .*does not contain a Job manifest \(kind: "Pod"\)$/),
      expect.stringMatching(/^JOB_CHECK: spec\.preDeployChecks\[3\]\.jobCheck \(check "d"\): .*\(no containers\)$/),
      expect.stringMatching(/^INVALID_OBJECT: spec\.preDeployChecks\[4\]\.jobCheck \(check "e"\): timeout "soon": expected a duration such as 90s or 5m$/),
      expect.stringMatching(/^REFERENCE_NOT_FOUND: .*missing-too/),
    ]));
  });

  it('the agent reads the resolved Jobs on its ConfigurationGroup through the agent API', async () => {
    const { dir } = await plan(input());
    const keys = await testKeys();
    const out = join(dir, 'b.tar');
    const exp = await cli(['export', '--from', dir, '--key', keys.keyPath, '--out', out]);
    expect(exp.stderr).not.toMatch(/UNSUPPORTED/);
    expect(exp.code).toBe(0);
    const store = join(dir, 'store');
    expect((await cli(['import', out, '--store', store, '--key', keys.pubPath])).code).toBe(0);
    const served = await serveSite(store);
    const kc = await kubeconfigFor({ dir, store } as Site, 'fleet/edge-1', served);
    const list = JSON.parse((await kubectl(kc.path, ['get', 'configurationgroups', '-n', 'fleet', '-o', 'json'])).stdout) as { items: { spec: Record<string, Record<string, string>> }[] };
    const group = list.items.find((g) => g.spec.preDeployCheckJobs)!;
    expect(Object.keys(group.spec.preDeployCheckJobs!)).toEqual(['checks/smoke']);
    expect(parse(group.spec.validateHealthJobs!['checks/deep']!)).toMatchObject({ kind: 'Job', metadata: { name: 'deep' } });
  });
});
