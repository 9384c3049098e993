// remoteURL policyRefs in the plan: requests as addon-controller makes them, staging of the fetched text.
import { describe, expect, it } from 'vitest';
import { bundleYAML, FakeFleet } from '../../test/fake-fleet.js';
import { planClusters } from './plan.js';
import { displayURL, type RemoteFetched, type RemoteRequest } from './remote-url.js';

const URL1 = 'https://config.example/app.yaml';
// As sigs.k8s.io/yaml writes it (sorted keys), so the staged text equals the fetched one.
const cm = (name: string) => `apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: apps\n`;
// served is a fetched body whose text is `text` (as policyContent gives it for a plain YAML body).
const served = (digest: string, text: string): RemoteFetched => ({ ok: true, digest, parts: [Buffer.from(text)], text: () => text });
const sel = { clusterSelector: { matchLabels: { env: 'prod' } } };
const fleet = () => new FakeFleet().cluster('edge/c1', { env: 'prod' }).cluster('core/c2', { env: 'prod' });

describe('remoteURL policyRefs', () => {
  it('stage the fetched text as the synthetic ConfigMap addon-controller deploys: index --URL, name only, digest recorded', () => {
    const seen: RemoteRequest[] = [];
    const plan = fleet()
      .clusterProfile('p', { ...sel, policyRefs: [{ remoteURL: { url: URL1 } }] })
      .plan({ remote: (req) => (seen.push(req), served('sha256:aa', cm('from-url'))) });
    expect(plan.problems).toEqual([]);
    expect(bundleYAML(plan, 'edge/c1')).toEqual([cm('from-url')]);
    const c1 = plan.clusters.find((c) => c.cluster === 'edge/c1')!;
    const b = c1.groups[0]!.bundles[0]!;
    expect(b.metadata.annotations['pullmode.projectsveltos.io/index']).toBe(`--${URL1}`);
    expect(b.spec.referencedObjectName).toBe(URL1);
    expect(b.spec).not.toHaveProperty('referencedObjectKind');
    expect(b.spec).not.toHaveProperty('referencedObjectNamespace');
    expect(c1.remoteSources).toEqual([{ url: URL1, digest: 'sha256:aa' }]);
    expect(seen.every((r) => r.url === URL1 && Object.keys(r.access).length === 0)).toBe(true);
  });

  it('template: true renders the whole text against the cluster; without it {{ }} stays', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "{{ .Cluster.metadata.name }}"\n';
    const f = (template: boolean) =>
      fleet()
        .clusterProfile('p', { ...sel, policyRefs: [{ remoteURL: { url: URL1, ...(template ? { template: true } : {}) } }] })
        .plan({ remote: () => served('sha256:bb', text) });
    expect(bundleYAML(f(true), 'core/c2')[0]).toContain('name: c2');
    expect(bundleYAML(f(false), 'core/c2')[0]).toContain("name: '{{ .Cluster.metadata.name }}'");
  });

  it('secretRef: an empty namespace is the cluster namespace, token wins over username/password, caFile is read; the type is checked', () => {
    const reqs = new Map<string, RemoteRequest>();
    const plan = fleet()
      .secret('edge/creds', { token: ' t-edge \n', username: 'u', password: 'p', caFile: 'PEM' })
      .secret('core/creds', { username: 'u2', password: 'p2' })
      .clusterProfile('p', { ...sel, policyRefs: [{ remoteURL: { url: URL1, secretRef: { name: 'creds' }, insecureSkipTLSVerify: true } }] })
      .plan({ remote: (req) => (reqs.set(req.access.username ?? 'token', req), served('sha256:cc', cm('x'))) });
    expect(plan.problems).toEqual([]);
    expect(reqs.get('token')!.access).toEqual({ token: ' t-edge \n', ca: 'PEM', insecureSkipTLSVerify: true });
    expect(reqs.get('u2')!.access).toEqual({ username: 'u2', password: 'p2', insecureSkipTLSVerify: true });
    // The key identifies the request without the credentials in it.
    expect(reqs.get('token')!.key).not.toContain('t-edge');
    expect(reqs.get('token')!.key).not.toBe(reqs.get('u2')!.key);

    const wrong = fleet()
      .secret('edge/creds', { token: 't' }, { type: 'Opaque' })
      .clusterProfile('p', { ...sel, policyRefs: [{ remoteURL: { url: URL1, secretRef: { name: 'creds' } } }] })
      .plan({ clusters: ['edge/c1'], remote: () => served('sha256:cc', '') });
    expect(wrong.problems.map((p) => p.message)).toEqual([expect.stringContaining('Secret edge/creds has type "Opaque"')]);
  });

  it('a URL not fetched is listed for the exporter; a failed fetch is a problem, or a warning when optional', () => {
    const f = fleet().clusterProfile('p', { ...sel, policyRefs: [{ remoteURL: { url: URL1 } }, { remoteURL: { url: 'oci://r.example/a:1' }, optional: true }] });
    const planner = planClusters({ objects: f.objects, now: new Date(0) });
    expect(planner.remote).toBe(true);
    for (const _ of planner.clusters());
    expect([...planner.remoteRequests.values()].map((r) => r.url).sort()).toEqual(['https://config.example/app.yaml', 'oci://r.example/a:1']);
    expect(planner.problems.map((p) => p.code)).toEqual(['REMOTE_URL', 'REMOTE_URL', 'REMOTE_URL', 'REMOTE_URL']);

    const failed: RemoteFetched = { ok: false, message: 'remoteURL x: HTTP 404' };
    const plan = f.plan({ clusters: ['edge/c1'], remote: () => failed });
    expect(plan.problems.map((p) => p.code)).toEqual(['REMOTE_URL']);
    expect(plan.problems[0]!.message).toContain('HTTP 404');
    expect(plan.warnings.map((w) => w.code)).toContain('OPTIONAL_REFERENCE_MISSING');
  });

  it('one URL referenced twice is carried once, with a warning', () => {
    const plan = fleet()
      .clusterProfile('p', { ...sel, policyRefs: [{ remoteURL: { url: URL1 } }, { remoteURL: { url: URL1 }, tier: 5 }] })
      .plan({ clusters: ['edge/c1'], remote: () => served('sha256:dd', cm('x')) });
    expect(plan.problems).toEqual([]);
    expect(plan.clusters[0]!.groups[0]!.bundles).toHaveLength(1);
    expect(plan.warnings.map((w) => w.code)).toContain('DUPLICATE_REFERENCE');
  });

  it('messages show a URL without its user information or query', () => {
    expect(displayURL('https://user:secret@h.example/a.yaml?sig=XYZ')).toBe('https://h.example/a.yaml?…');
    expect(displayURL('oci://h.example:5000/repo:1')).toBe('oci://h.example:5000/repo:1');
  });
});
