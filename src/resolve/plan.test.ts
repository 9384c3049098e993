// policyRefs resolution and staging rules of addon-controller, on FakeFleet inputs.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bundleYAML, FakeFleet } from '../../test/fake-fleet.js';

const deployment = (name: string, ns?: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}spec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n`;

const base = () => new FakeFleet().cluster('edge/c1', { env: 'prod' }).cluster('core/c2', { env: 'prod' });
const sel = { clusterSelector: { matchLabels: { env: 'prod' } } };

describe('policyRefs', () => {
  it('an empty namespace means the cluster namespace for a ClusterProfile (GetReferenceResourceNamespace)', () => {
    const plan = base()
      .configMap('edge/app', { 'd.yaml': deployment('a') })
      .configMap('core/app', { 'd.yaml': deployment('b') })
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', name: 'app' }] })
      .plan();
    expect(plan.problems).toEqual([]);
    expect(bundleYAML(plan, 'edge/c1').join()).toContain('name: a');
    expect(bundleYAML(plan, 'core/c2').join()).toContain('name: b');
    const b = plan.clusters.find((c) => c.cluster === 'edge/c1')!.groups[0]!.bundles[0]!;
    expect(b.metadata.annotations['pullmode.projectsveltos.io/index']).toBe('ConfigMap-edge-app');
    expect(b.spec).toMatchObject({ referencedObjectKind: 'ConfigMap', referencedObjectNamespace: 'edge', referencedObjectName: 'app', referenceTier: 100 });
  });

  it('a Profile reads references in its own namespace only (limitReferencesToNamespace)', () => {
    const plan = base()
      .configMap('edge/app', { 'd.yaml': deployment('mine') })
      .configMap('core/app', { 'd.yaml': deployment('other') })
      .profile('edge/p', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'core', name: 'app' }] })
      .plan();
    expect(plan.problems).toEqual([]);
    expect(bundleYAML(plan, 'edge/c1').join()).toContain('name: mine');
    expect(plan.clusters.find((c) => c.cluster === 'edge/c1')!.groups[0]!.group.metadata.annotations['pullmode.projectsveltos.io/requestorname']).toBe('p--p-sveltos-c1');
  });

  it('a missing reference is a problem; an optional one is skipped with a warning', () => {
    const f = base().clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'gone' }] });
    expect(f.plan({ clusters: ['edge/c1'] }).problems.map((p) => p.code)).toEqual(['REFERENCE_NOT_FOUND']);
    const g = base().clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'gone', optional: true }] }).plan({ clusters: ['edge/c1'] });
    expect(g.problems).toEqual([]);
    expect(g.warnings.map((w) => w.code)).toEqual(['OPTIONAL_REFERENCE_MISSING']);
    expect(g.clusters[0]!.groups[0]!.bundles).toEqual([]);
  });

  it('a Secret must have type addons.projectsveltos.io/cluster-profile (ErrSecretTypeNotSupported); its data is base64-decoded', () => {
    const bad = base()
      .secret('x/s', { 'd.yaml': deployment('a') }, { type: 'Opaque' })
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'Secret', namespace: 'x', name: 's' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(bad.problems.map((p) => p.code)).toEqual(['SECRET_TYPE']);
    const good = base()
      .secret('x/s', { 'd.yaml': deployment('from-secret') })
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'Secret', namespace: 'x', name: 's' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(good.problems).toEqual([]);
    expect(bundleYAML(good, 'edge/c1')[0]).toContain('name: from-secret');
    expect(good.clusters[0]!.groups[0]!.bundles[0]!.metadata.annotations['pullmode.projectsveltos.io/index']).toBe('Secret-x-s');
  });

  it('deploymentType Local refs are not for the agent: reported in notCarried, not bundled', () => {
    const plan = base()
      .configMap('x/local', { 'd.yaml': deployment('l') })
      .configMap('x/remote', { 'd.yaml': deployment('r') })
      .clusterProfile('p', {
        ...sel,
        policyRefs: [
          { kind: 'ConfigMap', namespace: 'x', name: 'local', deploymentType: 'Local' },
          { kind: 'ConfigMap', namespace: 'x', name: 'remote' },
        ],
      })
      .plan({ clusters: ['edge/c1'] });
    const c = plan.clusters[0]!;
    expect(c.notCarried).toEqual([{ profile: 'ClusterProfile/p', ref: 'ConfigMap x/local', reason: expect.stringContaining('management cluster') }]);
    expect(c.groups[0]!.bundles.map((b) => b.spec.referencedObjectName)).toEqual(['remote']);
  });

  it('per-ref tier, skipNamespaceCreation and force go on the bundle (WithResourceInfo); zero values are omitted', () => {
    const plan = base()
      .configMap('x/a', { 'd.yaml': deployment('a') })
      .configMap('x/b', { 'd.yaml': deployment('b') })
      .clusterProfile('p', {
        ...sel,
        policyRefs: [
          { kind: 'ConfigMap', namespace: 'x', name: 'a', tier: 50, skipNamespaceCreation: true, force: true },
          { kind: 'ConfigMap', namespace: 'x', name: 'b' },
        ],
      })
      .plan({ clusters: ['edge/c1'] });
    const [a, b] = plan.clusters[0]!.groups[0]!.bundles;
    expect(a!.spec).toMatchObject({ referenceTier: 50, skipNamespaceCreation: true, force: true });
    expect(b!.spec).not.toHaveProperty('force');
    expect(b!.spec).not.toHaveProperty('skipNamespaceCreation');
    // configurationItem keeps policyRefs order.
    expect(plan.clusters[0]!.groups[0]!.group.spec.configurationItem!.map((i) => i.contentRef.name)).toEqual([a!.metadata.name, b!.metadata.name]);
  });

  it('every data key is a stream of objects; keys are read in sorted order; a list of strings is a list of manifests (CustomSplit)', () => {
    const plan = base()
      .configMap('x/m', {
        'z.yaml': deployment('z'),
        'a.yaml': `${deployment('a1')}---\n# only a comment\n---\n${deployment('a2')}`,
        'list.yaml': `- |\n  apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: n1\n- |\n  apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: n2\n`,
        'empty.yaml': '# nothing here\n\n',
      })
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'm' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems).toEqual([]);
    const names = bundleYAML(plan, 'edge/c1').map((y) => (parse(y) as { metadata: { name: string } }).metadata.name);
    expect(names).toEqual(['a1', 'a2', 'n1', 'n2', 'z']);
    expect(plan.clusters[0]!.groups[0]!.group.spec.deployedGroupVersionKind).toEqual(['Deployment.v1.apps', 'Namespace.v1.']);
  });

  it('content that is not a Kubernetes object is a problem naming the key', () => {
    const plan = base()
      .configMap('x/m', { 'bad.yaml': 'just: [unclosed', 'scalar.yaml': 'hello' })
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'm' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems.map((p) => p.code)).toEqual(['INVALID_CONTENT', 'INVALID_CONTENT']);
    expect(plan.problems[0]!.message).toContain('key bad.yaml');
    expect(plan.clusters[0]!.groups).toEqual([]);
  });

  it('managedFields, resourceVersion and uid are cleared before staging (prepareConfigurationBundle)', () => {
    const plan = base()
      .configMap('x/m', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  uid: "1"\n  resourceVersion: "9"\n  managedFields: []\ndata:\n  k: v\n' })
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'm' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(bundleYAML(plan, 'edge/c1')).toEqual(['apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  name: c\n']);
  });

  it('Lua policyRefs cannot be reproduced offline; a missing Flux source (policyRef or kustomizationRef) is not skipped', () => {
    const plan = base()
      .configMap('x/lua', { 'a.lua': 'function evaluate() end' }, { annotations: { 'projectsveltos.io/lua': 'ok' } })
      .clusterProfile('p', {
        ...sel,
        policyRefs: [
          { kind: 'ConfigMap', namespace: 'x', name: 'lua' },
          { kind: 'GitRepository', namespace: 'flux-system', name: 'repo' },
          { kind: 'OCIRepository', namespace: 'flux-system', name: 'oci' },
          { kind: 'Deployment', namespace: 'x', name: 'd' },
        ],
        kustomizationRefs: [{ kind: 'GitRepository', namespace: 'x', name: 'k' }],
      })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems.map((p) => `${p.code} ${p.field ?? ''}`)).toEqual(['UNSUPPORTED spec.policyRefs[0]', 'REFERENCE_NOT_FOUND spec.policyRefs[1]', 'REFERENCE_NOT_FOUND spec.policyRefs[2]', 'UNSUPPORTED spec.policyRefs[3]', 'REFERENCE_NOT_FOUND spec.kustomizationRefs[0]']);
    expect(plan.problems[3]!.message).toMatch(/spec\.policyRefs\[3\]: kind "Deployment": expected ConfigMap, Secret, GitRepository, OCIRepository or Bucket \(or a remoteURL\)$/);
  });

  it('reports unsupported features and missing references of a run together, whichever comes first', () => {
    const plan = base()
      .configMap('x/lua', { 'a.lua': 'function evaluate() end' }, { annotations: { 'projectsveltos.io/lua': 'ok' } })
      // A missing templateResourceRef must not hide the profile's Lua policyRef.
      .clusterProfile('a', {
        ...sel,
        templateResourceRefs: [{ identifier: 'Info', resource: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'gone' } }],
        policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'lua' }],
      })
      // A missing policyRef before a Lua one: both reported.
      .clusterProfile('b', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'missing' }, { kind: 'ConfigMap', namespace: 'x', name: 'lua' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems.map((p) => `${p.code} ${p.field ?? ''}`).sort()).toEqual([
      'REFERENCE_NOT_FOUND spec.policyRefs[0]',
      'TEMPLATE_RESOURCE_NOT_FOUND spec.templateResourceRefs[0]',
      'UNSUPPORTED spec.policyRefs[0]',
      'UNSUPPORTED spec.policyRefs[1]',
    ]);
  });

  it('extraLabels are not applied to policyRefs objects in pull mode (staged before deployUnstructured adds them)', () => {
    const plan = base()
      .configMap('x/a', { 'd.yaml': deployment('a') })
      .clusterProfile('p', { ...sel, extraLabels: { team: 'x' }, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'a' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(bundleYAML(plan, 'edge/c1')[0]).not.toContain('team');
    expect(plan.warnings.map((w) => w.code)).toEqual(['EXTRA_METADATA_IGNORED']);
  });
});

describe('group spec from the profile (prepareSetters)', () => {
  it('tier, continueOnConflict/Error, syncMode, stopMatchingBehavior, maxConsecutiveFailures, checks and sourceRef', () => {
    const plan = base()
      .configMap('x/a', { 'd.yaml': deployment('a') })
      .profile('edge/p', {
        ...sel,
        tier: 20,
        continueOnConflict: true,
        continueOnError: true,
        syncMode: 'DryRun',
        stopMatchingBehavior: 'LeavePolicies',
        reloader: true,
        maxConsecutiveFailures: 3,
        validateHealths: [{ name: 'h', featureID: 'Resources', group: 'apps', version: 'v1', kind: 'Deployment', script: 'x' }],
        policyRefs: [{ kind: 'ConfigMap', namespace: 'edge', name: 'a' }],
      }, { uid: 'u-1' })
      .configMap('edge/a', { 'd.yaml': deployment('a') })
      .plan({ clusters: ['edge/c1'] });
    const spec = plan.clusters[0]!.groups[0]!.group.spec;
    expect(spec).toMatchObject({
      action: 'Deploy',
      updatePhase: 'Ready',
      sourceStatus: 'Active',
      tier: 20,
      continueOnConflict: true,
      continueOnError: true,
      dryRun: true,
      leavePolicies: true,
      reloader: true,
      maxConsecutiveFailures: 3,
      sourceRef: { apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'Profile', name: 'p', namespace: 'edge', uid: 'u-1' },
    });
    expect(spec).not.toHaveProperty('driftDetection');
    expect(spec.validateHealths).toHaveLength(1);
  });

  it('ContinuousWithDriftDetection sets driftDetection and driftExclusions; defaults omit false flags', () => {
    const plan = base()
      .configMap('x/a', { 'd.yaml': deployment('a') })
      .clusterProfile('p', { ...sel, syncMode: 'ContinuousWithDriftDetection', driftExclusions: [{ paths: ['/spec/replicas'] }], policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'a' }] })
      .clusterProfile('q', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'a' }] })
      .plan({ clusters: ['edge/c1'] });
    const [p, q] = plan.clusters[0]!.groups.map((g) => g.group.spec);
    expect(p).toMatchObject({ driftDetection: true, driftExclusions: [{ paths: ['/spec/replicas'] }], tier: 100 });
    expect(Object.keys(q!).sort()).toEqual(['action', 'configurationItem', 'deployedGroupVersionKind', 'requestorHash', 'sourceRef', 'sourceStatus', 'tier', 'updatePhase']);
    expect(plan.warnings.map((w) => w.code)).toContain('DRIFT_DETECTION_MANAGER');
  });
});

describe('conflicts and order across profiles', () => {
  it('a resource deployed by two profiles: lower tier owns it; equal tiers: the first (HasHigherOwnershipPriority)', () => {
    const plan = base()
      .configMap('x/a', { 'd.yaml': deployment('same', 'web') })
      .clusterProfile('a-first', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'a' }] })
      .clusterProfile('b-low-tier', { ...sel, tier: 10, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'a' }] })
      .clusterProfile('c-equal', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'a' }] })
      .plan({ clusters: ['edge/c1'] });
    const c = plan.clusters[0]!;
    expect(c.conflicts).toEqual([{ resource: 'apps/Deployment web/same', owner: 'ClusterProfile/b-low-tier', others: ['ClusterProfile/a-first', 'ClusterProfile/c-equal'] }]);
    // Every profile's group is still staged: the agent enforces ownership with the tiers it carries.
    expect(c.groups.map((g) => [g.group.spec.sourceRef.name, g.group.spec.tier])).toEqual([['b-low-tier', 10], ['a-first', 100], ['c-equal', 100]]);
    expect(plan.warnings.map((w) => w.code)).toEqual(['CONFLICT']);
  });
});

describe('content shared between clusters', () => {
  // What is computed once per plan (parsed templates, the bundles of references that are not
  // templates) must give every cluster exactly what planning it alone gives.
  const fleet = () =>
    new FakeFleet()
      .cluster('edge/c1', { env: 'prod', region: 'eu' })
      .cluster('edge/c2', { env: 'prod', region: 'us' })
      .cluster('core/c3', { env: 'prod', region: 'eu' })
      .configMap('x/plain', { 'a.yaml': deployment('web', 'apps'), 'b.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  uid: u\n' })
      .configMap('x/tmpl', { 't.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: info\n  namespace: apps\ndata:\n  region: {{ .Cluster.metadata.labels.region }}\n' }, { annotations: { 'projectsveltos.io/template': 'ok' } })
      .configMap('x/fails', { 't.yaml': '{{ .Cluster.metadata.labels.zone }}' }, { annotations: { 'projectsveltos.io/template': 'ok' } })
      .configMap('x/bad', { 'b.yaml': 'kind: [\n' })
      .configMap('edge/local', { 'l.yaml': deployment('edge-only') })
      .configMap('core/local', { 'l.yaml': deployment('core-only') })
      .clusterProfile('a', { ...sel, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'plain' }, { kind: 'ConfigMap', name: 'local' }, { kind: 'ConfigMap', namespace: 'x', name: 'tmpl' }] })
      .clusterProfile('b', {
        clusterSelector: { matchLabels: { region: 'eu' } },
        patches: [{ target: { kind: 'Deployment' }, patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    cluster: "{{ .Cluster.metadata.name }}"\n' }],
        policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'plain' }],
      })
      .clusterProfile('c', {
        ...sel,
        tier: 50,
        patches: [{ target: { kind: 'Namespace' }, patch: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    patched: "yes"\n' }],
        policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'plain' }, { kind: 'ConfigMap', namespace: 'x', name: 'plain' }],
      })
      .clusterProfile('d', { clusterSelector: { matchLabels: { region: 'us' } }, policyRefs: [{ kind: 'ConfigMap', namespace: 'x', name: 'fails' }, { kind: 'ConfigMap', namespace: 'x', name: 'bad' }] });

  it('gives each cluster what planning it alone gives', () => {
    const whole = fleet().plan();
    expect(whole.problems.map((p) => p.code)).toEqual(['TEMPLATE', 'INVALID_CONTENT']);
    for (const c of whole.clusters) {
      const alone = fleet().plan({ clusters: [c.cluster] });
      expect(JSON.stringify(alone.clusters)).toBe(JSON.stringify([c]));
      const mine = (ps: { message: string }[]) => ps.filter((p) => p.message.includes(` on cluster ${c.cluster}:`));
      expect(mine(alone.problems)).toEqual(mine(whole.problems));
      expect(mine(alone.warnings)).toEqual(mine(whole.warnings));
    }
    const c1 = whole.clusters.find((c) => c.cluster === 'edge/c1')!;
    expect(bundleYAML(whole, 'edge/c1').join()).toContain('cluster: c1');
    expect(bundleYAML(whole, 'core/c3').join()).toContain('cluster: c3');
    expect(c1.conflicts.map((x) => x.owner)).toContain('ClusterProfile/c');
  });

  it('bundles of a reference that is not a template share its encoded objects', () => {
    const plan = fleet().plan();
    const resourcesOf = (cluster: string, profile: string) =>
      plan.clusters.find((c) => c.cluster === cluster)!.groups.find((g) => g.group.spec.sourceRef.name === profile)!.bundles[0]!.spec.resources;
    expect(resourcesOf('edge/c1', 'a')).toBe(resourcesOf('edge/c2', 'a'));
    expect(resourcesOf('edge/c1', 'a')).not.toBe(resourcesOf('edge/c1', 'c'));
    expect(resourcesOf('edge/c1', 'a')).toEqual(resourcesOf('core/c3', 'a'));
  });
});
