// syncMode ContinuousWithDriftDetection: the drift-detection-manager objects addon-controller stages into the
// same ConfigurationGroup (DebuggingConfiguration CRD, ResourceSummary CRD, the manager's manifest; notTracked,
// ahead of the feature's bundles), from --drift-detection-manifest files or from a Sveltos version fetched once
// into the cache, patched per cluster, served to the agent. The manifests are the real ones of Sveltos v1.14.0
// (test/fixtures/drift-detection/SOURCES.md).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubeconfigFor, kubectl, serveSite, type Site } from './agent/fixtures.js';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { loopbackServer, tempDir, testdir } from './helpers.js';
import { buildImage, pushImage } from './helm/images.js';
import { startRegistry } from './helm/servers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/drift-detection/', import.meta.url));
const MANAGER = join(FIXTURES, 'addon-controller/v1.14.0/pkg/drift-detection/drift-detection-manager.yaml');
const CRDS = ['debuggingconfigurations', 'resourcesummaries'].map((c) => join(FIXTURES, `libsveltos/v1.14.0/manifests/apiextensions.k8s.io_v1_customresourcedefinition_${c}.lib.projectsveltos.io.yaml`));
const MANIFEST_FLAGS = [MANAGER, ...CRDS].flatMap((f) => ['--drift-detection-manifest', f]);
const KEYS = ['debugging-configuration-crd', 'resource-summary-crd', 'drift-detection-manager'];
const MANAGER_IMAGE = 'docker.io/projectsveltos/drift-detection-manager@sha256:485cb5d78fc701347d06539302eda642694902acebab268cd528eaf59424c0d3';

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: Record<string, unknown> & { resources?: string[]; notTracked?: boolean; configurationItem?: { contentRef: { name: string }; hash: string }[] };
  status?: { hash: string };
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.25}]}
`;

function fleet(extra: Record<string, string> = {}, clusterAnnotations = ''): Promise<string> {
  return testdir({
    'cluster.yaml': `apiVersion: lib.projectsveltos.io/v1beta1
kind: SveltosCluster
metadata:
  name: c1
  namespace: edge
  labels: {env: prod}
${clusterAnnotations}spec: {pullMode: true}
`,
    'config.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: edge}
data:
  web.yaml: |
${deployment.replace(/^/gm, '    ')}`,
    'profiles.yaml': `apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata: {name: drift}
spec:
  clusterSelector: {matchLabels: {env: prod}}
  syncMode: ContinuousWithDriftDetection
  policyRefs: [{kind: ConfigMap, namespace: edge, name: web}]
---
apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata: {name: plain}
spec:
  clusterSelector: {matchLabels: {env: prod}}
  policyRefs: [{kind: ConfigMap, namespace: edge, name: web}]
`,
    ...extra,
  });
}

/** groupsOf returns each group of the resolved cluster with its bundles' index keys, in order. */
function groupsOf(r: { stdout: string }): { requestor: string; group: Obj; bundles: Obj[] }[] {
  const objects = (JSON.parse(r.stdout) as { clusters: { objects: Obj[] }[] }).clusters[0]!.objects;
  const out: { requestor: string; group: Obj; bundles: Obj[] }[] = [];
  for (const o of objects) {
    if (o.kind === 'ConfigurationGroup') out.push({ requestor: o.metadata.annotations!['pullmode.projectsveltos.io/requestorname']!, group: o, bundles: [] });
    else out.at(-1)!.bundles.push(o);
  }
  return out;
}

const indexOf = (b: Obj) => b.metadata.annotations!['pullmode.projectsveltos.io/index'];
const managerObjects = (b: Obj) => b.spec.resources!.map((r) => parse(r) as Record<string, any>);
const managerDeployment = (bundles: Obj[]) => managerObjects(bundles.find((b) => indexOf(b) === 'drift-detection-manager')!).find((o) => o.kind === 'Deployment')!;

async function resolveJSON(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = await cli(['resolve', ...args, '--output', 'json'], env);
  return r;
}

describe('drift-detection-manager bundles (resolve)', () => {
  it('stages the two CRDs and the manager ahead of the policyRefs, notTracked, patched for the cluster; other profiles get none', async () => {
    const from = await fleet();
    const r = await resolveJSON(['--from', from, ...MANIFEST_FLAGS]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('DRIFT_DETECTION_MANAGER');
    const [drift, plain] = groupsOf(r);
    expect(drift!.requestor).toBe('drift-sveltos-c1');
    expect(drift!.bundles.map(indexOf)).toEqual([...KEYS, 'ConfigMap-edge-web']);
    expect(drift!.bundles.map((b) => b.spec.notTracked ?? false)).toEqual([true, true, true, false]);
    expect(drift!.group.spec.driftDetection).toBe(true);
    // The group commits every bundle in order, each with its content hash (libsveltos getHash over json.Marshal).
    expect(drift!.group.spec.configurationItem!.map((i) => i.contentRef.name)).toEqual(drift!.bundles.map((b) => b.metadata.name));
    expect(drift!.group.spec.configurationItem!.map((i) => i.hash)).toEqual(drift!.bundles.map((b) => b.status!.hash));
    for (const b of drift!.bundles) {
      expect(b.metadata.labels).toMatchObject({ 'pullmode.projectsveltos.io/clustername': 'c1', 'pullmode.projectsveltos.io/requestorfeature': 'Resources' });
    }
    expect(plain!.bundles.map(indexOf)).toEqual(['ConfigMap-edge-web']);

    const [dcrd, rcrd, manager] = drift!.bundles;
    expect(dcrd!.spec.resources!.map((x) => (parse(x) as Obj).metadata.name)).toEqual(['debuggingconfigurations.lib.projectsveltos.io']);
    expect(rcrd!.spec.resources!.map((x) => (parse(x) as Obj).metadata.name)).toEqual(['resourcesummaries.lib.projectsveltos.io']);
    expect(managerObjects(manager!).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/projectsveltos',
      'ServiceAccount/drift-detection-manager',
      'ClusterRole/drift-detection-manager-role',
      'ClusterRoleBinding/drift-detection-manager-rolebinding',
      'Deployment/drift-detection-manager',
    ]);
    const args = managerDeployment(drift!.bundles).spec.template.spec.containers[0].args as string[];
    expect(args).toEqual(['--diagnostics-address=:8443', '--v=0', '--cluster-namespace=edge', '--cluster-name=c1', '--cluster-type=Sveltos', '--current-cluster=managed-cluster', '--run-mode=do-not-send-updates', '--version=v1.14.0']);
    // The hash is libsveltos getHash: sha256 over each object's JSON (keys sorted as Go marshals maps).
    const sorted = (v: unknown): unknown => (Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v);
    const h = createHash('sha256');
    for (const o of managerObjects(manager!)) h.update(JSON.stringify(sorted(o)));
    expect(manager!.status!.hash).toBe(h.digest('base64'));
  });

  it('without manifests the profile is warned about and no bundle is added', async () => {
    const r = await resolveJSON(['--from', await fleet()]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/DRIFT_DETECTION_MANAGER: ClusterProfile drift on cluster edge\/c1: .*--sveltos-version or --drift-detection-manifest/);
    expect(groupsOf(r)[0]!.bundles.map(indexOf)).toEqual(['ConfigMap-edge-web']);
  });

  it('patches from the override annotation win over --drift-detection-config; --drift-detection-registry replaces docker.io; resolve --images lists the image', async () => {
    const patches = (ns: string, name: string, data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: ${ns}}\ndata:\n${data}`;
    const global = patches('projectsveltos', 'ddm-global', '  p: |\n    spec:\n      replicas: 3\n');
    const perCluster = patches(
      'edge',
      'ddm-c1',
      [
        // a structured Patch with its own target, and a bare strategic merge patch (target: Deployments)
        '  a: |\n    patch: |\n      - op: add\n        path: /metadata/labels\n        value: {tier: edge}\n    target: {kind: ServiceAccount}\n',
        '  b: |\n    spec:\n      template:\n        spec:\n          priorityClassName: edge-critical\n',
      ].join(''),
    );
    const globalOnly = await fleet({ 'patches.yaml': global });
    const g = await resolveJSON(['--from', globalOnly, ...MANIFEST_FLAGS, '--drift-detection-config', 'ddm-global', '--drift-detection-registry', 'registry.local:5000']);
    expect(g.code).toBe(0);
    const gd = managerDeployment(groupsOf(g)[0]!.bundles);
    expect(gd.spec.replicas).toBe(3);
    expect(gd.spec.template.spec.containers[0].image).toBe(MANAGER_IMAGE.replace('docker.io', 'registry.local:5000'));

    const both = await fleet({ 'patches.yaml': `${global}---\n${perCluster}` }, '  annotations: {driftdetection.projectsveltos.io/config-override-ref: ddm-c1}\n');
    const b = await resolveJSON(['--from', both, ...MANIFEST_FLAGS, '--drift-detection-config', 'ddm-global']);
    expect(b.code).toBe(0);
    const bundles = groupsOf(b)[0]!.bundles;
    const bd = managerDeployment(bundles);
    expect(bd.spec.replicas).toBe(1);
    expect(bd.spec.template.spec.priorityClassName).toBe('edge-critical');
    const sa = managerObjects(bundles.find((x) => indexOf(x) === 'drift-detection-manager')!).find((o) => o.kind === 'ServiceAccount')!;
    expect(sa.metadata.labels).toEqual({ tier: 'edge' });

    const images = await cli(['resolve', '--from', globalOnly, ...MANIFEST_FLAGS, '--images', '--output', 'json']);
    expect(images.code).toBe(0);
    const report = (JSON.parse(images.stdout) as { images: { image: string; profiles: string[]; objects: string[] }[] }).images;
    expect(report.find((i) => i.image === MANAGER_IMAGE)).toMatchObject({ profiles: ['ClusterProfile/drift'], objects: ['edge/c1: apps/v1 Deployment projectsveltos/drift-detection-manager'] });
  });

  it('a missing patch ConfigMap or a manifest without the CRDs is an input error', async () => {
    const r = await resolveJSON(['--from', await fleet({}, '  annotations: {driftdetection.projectsveltos.io/config-override-ref: other/none}\n'), ...MANIFEST_FLAGS]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DRIFT_DETECTION: ClusterProfile drift on cluster edge\/c1: annotation driftdetection\.projectsveltos\.io\/config-override-ref on SveltosCluster edge\/c1: ConfigMap other\/none of drift-detection-manager patches is not in the input/);
    const noCRD = await resolveJSON(['--from', await fleet(), '--drift-detection-manifest', MANAGER]);
    expect(noCRD.code).toBe(1);
    expect(noCRD.stderr).toMatch(/--drift-detection-manifest: .*drift-detection-manager\.yaml: no CustomResourceDefinition debuggingconfigurations\.lib\.projectsveltos\.io or resourcesummaries\.lib\.projectsveltos\.io/);
    const both = await resolveJSON(['--from', await fleet(), ...MANIFEST_FLAGS, '--sveltos-version', 'v1.14.0']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--sveltos-version and --drift-detection-manifest: give one of them/);
  });
});

describe('--sveltos-version', () => {
  /** sourceServer serves the fixtures as raw.githubusercontent.com serves the repositories, counting requests. */
  async function sourceServer(): Promise<{ base: string; requests: string[]; down: () => void }> {
    const requests: string[] = [];
    let up = true;
    const base = await loopbackServer((req, res) => {
      requests.push(req.url!);
      const path = normalize(join(FIXTURES, decodeURIComponent(req.url!.split('?')[0]!)));
      if (!up || !path.startsWith(FIXTURES)) {
        res.writeHead(up ? 404 : 503).end();
        return;
      }
      readFile(path).then(
        (b) => res.writeHead(200, { 'content-type': 'text/plain' }).end(b),
        () => res.writeHead(404).end('404: Not Found'),
      );
    });
    return { base, requests, down: () => (up = false) };
  }

  it('fetches the release files once (go.mod names the libsveltos version of the CRDs), then answers from the cache, offline too', async () => {
    const src = await sourceServer();
    const cache = await tempDir();
    const env = { SVELTOS_AIRGAP_SVELTOS_SOURCE_BASE: src.base };
    const from = await fleet();
    const first = await resolveJSON(['--from', from, '--sveltos-version', 'v1.14.0', '--cache-dir', cache], env);
    expect(first.code).toBe(0);
    expect(src.requests.sort()).toEqual(
      [
        '/addon-controller/v1.14.0/go.mod',
        '/addon-controller/v1.14.0/pkg/drift-detection/drift-detection-manager.yaml',
        '/libsveltos/v1.14.0/manifests/apiextensions.k8s.io_v1_customresourcedefinition_debuggingconfigurations.lib.projectsveltos.io.yaml',
        '/libsveltos/v1.14.0/manifests/apiextensions.k8s.io_v1_customresourcedefinition_resourcesummaries.lib.projectsveltos.io.yaml',
      ].sort(),
    );
    // The same bundles as from the files.
    const files = await resolveJSON(['--from', from, ...MANIFEST_FLAGS]);
    expect(groupsOf(first)).toEqual(groupsOf(files));

    src.down();
    src.requests.length = 0;
    const again = await resolveJSON(['--from', from, '--sveltos-version', 'v1.14.0', '--cache-dir', cache], env);
    expect(again.code).toBe(0);
    expect(src.requests).toEqual([]);
    const offline = await resolveJSON(['--from', from, '--sveltos-version', 'v1.14.0', '--cache-dir', cache, '--offline'], env);
    expect(offline.code).toBe(0);
    expect(groupsOf(offline)).toEqual(groupsOf(files));

    const cold = await resolveJSON(['--from', from, '--sveltos-version', 'v1.14.0', '--cache-dir', await tempDir(), '--offline'], env);
    expect(cold.code).toBe(1);
    expect(cold.stderr).toMatch(/--sveltos-version v1\.14\.0: http:\/\/127\.0\.0\.1:\d+\/addon-controller\/v1\.14\.0\/(go\.mod|pkg\/drift-detection\/drift-detection-manager\.yaml): not in the cache/);
  });

  it('a version that does not exist names the URL; a malformed one is a usage error', async () => {
    const src = await sourceServer();
    const env = { SVELTOS_AIRGAP_SVELTOS_SOURCE_BASE: src.base };
    const missing = await resolveJSON(['--from', await fleet(), '--sveltos-version', 'v9.9.9', '--cache-dir', await tempDir()], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--sveltos-version v9\.9\.9: http:\/\/127\.0\.0\.1:\d+\/addon-controller\/v9\.9\.9\/\S+: HTTP 404/);
    const bad = await resolveJSON(['--from', await fleet(), '--sveltos-version', 'latest'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--sveltos-version "latest": expected a release tag such as v1\.14\.0/);
  });
});

describe('drift-detection bundles through export, import and serve', () => {
  it('kubectl get configurationbundles through the agent API shows the three bundles, notTracked, in the drift profile\'s group', async () => {
    const dir = await tempDir();
    const keys = await testKeys();
    const out = join(dir, 'b.tar');
    const exp = await cli(['export', '--from', await fleet(), ...MANIFEST_FLAGS, '--key', keys.keyPath, '--out', out, '--created-at', '2026-11-01T00:00:00Z', '--source-date-epoch', '0', '--source', 'test']);
    expect(exp.code).toBe(0);
    expect(exp.stderr).toMatch(/edge\/c1: 2 profile\(s\), 2 group\(s\), 5 bundle\(s\)/);
    const store = join(dir, 'store');
    expect((await cli(['import', out, '--store', store, '--key', keys.pubPath, '--now', '2026-11-02T00:00:00Z'])).code).toBe(0);
    const served = await serveSite(store);
    const kc = await kubeconfigFor({ dir, store } as Site, 'edge/c1', served);
    const groups = parse((await kubectl(kc.path, ['get', 'configurationgroups', '-n', 'edge', '-o', 'yaml'])).stdout) as { items: Obj[] };
    const drift = groups.items.find((g) => g.metadata.annotations!['pullmode.projectsveltos.io/requestorname'] === 'drift-sveltos-c1')!;
    const list = parse((await kubectl(kc.path, ['get', 'configurationbundles', '-n', 'edge', '-o', 'yaml'])).stdout) as { items: Obj[] };
    const byName = new Map(list.items.map((b) => [b.metadata.name, b]));
    const inGroup = drift.spec.configurationItem!.map((i) => byName.get(i.contentRef.name)!);
    expect(inGroup.map(indexOf)).toEqual([...KEYS, 'ConfigMap-edge-web']);
    expect(inGroup.map((b) => b.spec.notTracked ?? false)).toEqual([true, true, true, false]);
    expect(drift.spec.configurationItem!.map((i) => i.hash)).toEqual(inGroup.map((b) => b.status!.hash));
    expect(managerDeployment(inGroup).spec.template.spec.containers[0].args).toContain('--cluster-name=c1');
    expect(list.items.filter((b) => KEYS.includes(indexOf(b)!))).toHaveLength(3);
  });
});

describe('drift-detection-manager image with --include-images', () => {
  it('carries the manager image a drift-detection-config patch points at a site mirror', async () => {
    const dir = await tempDir();
    const registry = await startRegistry(join(dir, 'registry'));
    try {
      const layout = join(dir, 'layout');
      await buildImage(layout, 'v1.14.0', { work: dir });
      const image = `${registry.host}/projectsveltos/drift-detection-manager:v1.14.0`;
      await pushImage(layout, 'v1.14.0', image);
      const from = await fleet({
        // policyRefs content without images: only the manager's image is to be carried.
        'config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: edge}\ndata:\n  cm.yaml: |\n    {apiVersion: v1, kind: ConfigMap, metadata: {name: hello, namespace: shop}}\n',
        'patches.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ddm, namespace: projectsveltos}\ndata:\n  image: |\n    spec:\n      template:\n        spec:\n          containers:\n          - name: manager\n            image: ${image}\n`,
      });
      const keys = await testKeys();
      const out = join(dir, 'b.tar');
      const exp = await cli(['export', '--from', from, ...MANIFEST_FLAGS, '--drift-detection-config', 'ddm', '--include-images', '--plain-http-registry', registry.host, '--cache-dir', join(dir, 'cache'), '--key', keys.keyPath, '--out', out]);
      expect(exp.code, exp.stderr).toBe(0);
      expect(exp.stderr).toMatch(new RegExp(`image ${image.replaceAll('.', '\\.')}: sha256:[0-9a-f]{64}: .* copied`));
      const listed = JSON.parse((await cli(['inspect', out, '--images', '--output', 'json'])).stdout) as { images: { image: string; carried: boolean; profiles: string[] }[] };
      expect(listed.images.map((i) => [i.image, i.carried, i.profiles])).toEqual([[image, true, ['ClusterProfile/drift']]]);
    } finally {
      await registry.stop();
    }
  });
});
