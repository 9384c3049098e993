// Golden output of the pull-mode objects: names, labels, annotations, spec and hashes.
// Fixture: test/fixtures/golden/cluster01-deploy-nginx.yaml (the group and bundle for one ClusterProfile).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FakeFleet } from '../../test/fake-fleet.js';
import { clusterGroupsToYAML } from './plan.js';
import { buildBundle, clusterSummaryName, helmIndex, objectName, resourceIndex } from './pullmode.js';

const fleet = () =>
  new FakeFleet()
    .cluster('rke2/cluster01', { env: 'prod' })
    .configMap('default/nginx', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: web\ndata:\n  k: "<v&>"\n' })
    .clusterProfile('deploy-nginx', { clusterSelector: { matchLabels: { env: 'prod' } }, policyRefs: [{ kind: 'ConfigMap', namespace: 'default', name: 'nginx' }] }, { uid: '5c1d' });

describe('pull-mode objects', () => {
  it('the group and its bundle, as a YAML stream, are byte-identical to the golden file', () => {
    const plan = fleet().plan();
    const g = plan.clusters[0]!.groups[0]!;
    const want = readFileSync(new URL('../../test/fixtures/golden/cluster01-deploy-nginx.yaml', import.meta.url), 'utf8');
    expect(clusterGroupsToYAML(g.group, g.bundles)).toBe(want);
  });

  it('status.hash is base64(sha256(json.Marshal(obj))) with Go key order and HTML escaping (libsveltos getHash)', () => {
    const b = fleet().plan().clusters[0]!.groups[0]!.bundles[0]!;
    // Written by hand the way Go's encoding/json writes the object.
    const goJSON = '{"apiVersion":"v1","data":{"k":"\\u003cv\\u0026\\u003e"},"kind":"ConfigMap","metadata":{"name":"c","namespace":"web"}}';
    expect(b.status.hash).toBe(createHash('sha256').update(goJSON).digest('base64'));
  });

  it('the hash of several objects is over their JSON concatenated, in order', () => {
    const r = { clusterNamespace: 'n', clusterName: 'c', requestorName: 'p-sveltos-c', feature: 'Resources' as const };
    const a = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } };
    const b = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } };
    const want = createHash('sha256').update('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}').digest('base64');
    expect(buildBundle(r, 'i', [a, b]).status.hash).toBe(want);
    expect(buildBundle(r, 'i', [b, a]).status.hash).not.toBe(want);
  });

  it('names are config- + 20 characters of [0-9a-z], stable across runs and distinct per (cluster, requestor, feature, index)', () => {
    const n = objectName('ns', 'c', 'p-sveltos-c', 'Resources', 'ConfigMap-default-x');
    expect(n).toMatch(/^config-[0-9a-z]{20}$/);
    expect(objectName('ns', 'c', 'p-sveltos-c', 'Resources', 'ConfigMap-default-x')).toBe(n);
    const others = [
      objectName('ns2', 'c', 'p-sveltos-c', 'Resources', 'ConfigMap-default-x'),
      objectName('ns', 'c2', 'p-sveltos-c', 'Resources', 'ConfigMap-default-x'),
      objectName('ns', 'c', 'q-sveltos-c', 'Resources', 'ConfigMap-default-x'),
      objectName('ns', 'c', 'p-sveltos-c', 'Helm', 'ConfigMap-default-x'),
      objectName('ns', 'c', 'p-sveltos-c', 'Resources', 'ConfigMap-default-y'),
      objectName('ns', 'c', 'p-sveltos-c', 'Resources', ''),
    ];
    expect(new Set([n, ...others]).size).toBe(7);
    expect(JSON.stringify(fleet().plan())).toBe(JSON.stringify(fleet().plan()));
  });

  it('ClusterSummary names: <profile>-sveltos-<cluster>, p--<profile>-sveltos-<cluster> for a Profile (clusterops)', () => {
    expect(clusterSummaryName('ClusterProfile', 'kyverno', 'cluster01')).toBe('kyverno-sveltos-cluster01');
    expect(clusterSummaryName('Profile', 'kyverno', 'cluster01')).toBe('p--kyverno-sveltos-cluster01');
  });

  it('bundle indexes: <Kind>-<Namespace>-<Name> for policyRefs, <ns>-<release>-<repo>-<i> for Helm chunks', () => {
    expect(resourceIndex('ConfigMap', 'default', 'nginx')).toBe('ConfigMap-default-nginx');
    expect(helmIndex('kyverno', 'kyverno-latest', 'kyverno', 4)).toBe('kyverno-kyverno-latest-kyverno-4');
  });
});
