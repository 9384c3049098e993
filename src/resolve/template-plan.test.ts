// Templates in a plan: what addon-controller instantiates, with which data (template_instantiation.go).
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bundleYAML, FakeFleet } from '../../test/fake-fleet.js';

const sel = { clusterSelector: { matchLabels: { env: 'prod' } } };
const fleet = () => new FakeFleet().cluster('edge/c1', { env: 'prod', region: 'eu-west' }).cluster('edge/c2', { env: 'prod', region: 'us-east' });
const T = { annotations: { 'projectsveltos.io/template': 'ok' } };

describe('templates', () => {
  it('policyRef data is a template when the ConfigMap has projectsveltos.io/template; .Cluster is the SveltosCluster', () => {
    const plan = fleet()
      .configMap('edge/info', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: info\n  namespace: {{ .Cluster.metadata.namespace }}\ndata:\n  region: {{ index .Cluster.metadata.labels "region" }}\n  cluster: {{ .Cluster.metadata.name }}\n' }, T)
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', name: 'info' }] })
      .plan();
    expect(plan.problems).toEqual([]);
    const c1 = parse(bundleYAML(plan, 'edge/c1')[0]!) as { data: Record<string, string> };
    const c2 = parse(bundleYAML(plan, 'edge/c2')[0]!) as { data: Record<string, string> };
    expect(c1.data).toEqual({ region: 'eu-west', cluster: 'c1' });
    expect(c2.data).toEqual({ region: 'us-east', cluster: 'c2' });
  });

  it('Sprig functions are available (sprig.FuncMap in the Sveltos function map)', () => {
    const plan = fleet()
      .configMap('edge/info', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Cluster.metadata.name | upper | printf "%s-info" | lower }}\ndata:\n  region: {{ index .Cluster.metadata.labels "region" | replace "-" "_" | quote }}\n  zone: {{ .Cluster.metadata.labels.zone | default "none" }}\n' }, T)
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', name: 'info' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems.map((p) => p.message)).toEqual([expect.stringContaining('map has no entry for key')]);
    const ok = fleet()
      .configMap('edge/info', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Cluster.metadata.name | upper | printf "%s-info" | lower }}\ndata:\n  region: {{ index .Cluster.metadata.labels "region" | replace "-" "_" | quote }}\n  zone: {{ get .Cluster.metadata.labels "zone" | default "none" }}\n' }, T)
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', name: 'info' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(ok.problems).toEqual([]);
    expect(parse(bundleYAML(ok, 'edge/c1')[0]!)).toMatchObject({ metadata: { name: 'c1-info' }, data: { region: 'eu_west', zone: 'none' } });
  });

  it('without the annotation the data is carried as written', () => {
    const plan = fleet()
      .configMap('edge/info', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: info\ndata:\n  raw: "{{ .Cluster.metadata.name }}"\n' })
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', name: 'info' }] })
      .plan({ clusters: ['edge/c1'] });
    expect((parse(bundleYAML(plan, 'edge/c1')[0]!) as { data: { raw: string } }).data.raw).toBe('{{ .Cluster.metadata.name }}');
  });

  it('a missing key is an error (missingkey=error), reported for that profile and cluster', () => {
    const plan = fleet()
      .configMap('edge/info', { 'cm.yaml': 'v: {{ .Cluster.metadata.labels.nope }}\n' }, T)
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', name: 'info' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems.map((p) => p.code)).toEqual(['TEMPLATE']);
    expect(plan.problems[0]!.message).toContain('on cluster edge/c1');
  });

  it('reference names are templates of the cluster (GetReferenceResourceName)', () => {
    const plan = fleet()
      .configMap('edge/cfg-c1', { 'a.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: for-c1\n' })
      .configMap('edge/cfg-c2', { 'a.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: for-c2\n' })
      .clusterProfile('p', { ...sel, policyRefs: [{ kind: 'ConfigMap', name: 'cfg-{{ .Cluster.metadata.name }}' }] })
      .plan();
    expect(plan.problems).toEqual([]);
    expect(bundleYAML(plan, 'edge/c1')[0]).toContain('for-c1');
    expect(bundleYAML(plan, 'edge/c2')[0]).toContain('for-c2');
    expect(plan.clusters[0]!.groups[0]!.bundles[0]!.metadata.annotations['pullmode.projectsveltos.io/index']).toBe('ConfigMap-edge-cfg-c1');
  });

  it('templateResourceRefs objects are .MgmtResources.<identifier>; a missing one is an error unless optional', () => {
    const f = fleet()
      .secret('edge/creds', { user: 'admin' }, { type: 'Opaque' })
      .configMap('edge/use', { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: copy\ndata:\n  user: {{ .MgmtResources.Creds.data.user }}\n' }, T);
    const plan = f
      .clusterProfile('p', { ...sel, templateResourceRefs: [{ identifier: 'Creds', resource: { apiVersion: 'v1', kind: 'Secret', name: 'creds' } }], policyRefs: [{ kind: 'ConfigMap', name: 'use' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems).toEqual([]);
    expect((parse(bundleYAML(plan, 'edge/c1')[0]!) as { data: { user: string } }).data.user).toBe(Buffer.from('admin').toString('base64'));
    const missing = fleet()
      .clusterProfile('p', { ...sel, templateResourceRefs: [{ identifier: 'X', resource: { apiVersion: 'v1', kind: 'Secret', name: 'none' } }], policyRefs: [] })
      .plan({ clusters: ['edge/c1'] });
    expect(missing.problems.map((p) => p.code)).toEqual(['TEMPLATE_RESOURCE_NOT_FOUND']);
    const optional = fleet()
      .clusterProfile('p', { ...sel, templateResourceRefs: [{ identifier: 'X', optional: true, resource: { apiVersion: 'v1', kind: 'Secret', name: 'none' } }], policyRefs: [] })
      .plan({ clusters: ['edge/c1'] });
    expect(optional.problems).toEqual([]);
  });

  it('copy "<identifier>" writes a templateResourceRefs object as YAML without uid/resourceVersion (sveltos-pullmode.md §7.4)', () => {
    const plan = fleet()
      .object({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'image-pull-secret', namespace: 'default', uid: 'x', resourceVersion: '7' },
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') },
      })
      .configMap('default/info', { 'secret.yaml': '{{ copy "ImagePullSecret" }}' }, T)
      .clusterProfile('deploy-resources', {
        ...sel,
        templateResourceRefs: [{ resource: { apiVersion: 'v1', kind: 'Secret', name: 'image-pull-secret', namespace: 'default' }, identifier: 'ImagePullSecret' }],
        policyRefs: [{ kind: 'ConfigMap', name: 'info', namespace: 'default' }],
      })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems).toEqual([]);
    expect(bundleYAML(plan, 'edge/c1')).toEqual([
      'apiVersion: v1\ndata:\n  .dockerconfigjson: eyJhdXRocyI6e319\nkind: Secret\nmetadata:\n  name: image-pull-secret\n  namespace: default\ntype: kubernetes.io/dockerconfigjson\n',
    ]);
  });

  it('toYaml and getResource: the Sveltos function map', () => {
    const plan = fleet()
      .configMap('edge/src', { a: '1' })
      .configMap('edge/use', { 'x.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: use\ndata:\n  {{- toYaml (getResource "Src").data | nindent 2 }}\n' }, T)
      .clusterProfile('p', { ...sel, templateResourceRefs: [{ identifier: 'Src', resource: { apiVersion: 'v1', kind: 'ConfigMap', name: 'src' } }], policyRefs: [{ kind: 'ConfigMap', name: 'use' }] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems).toEqual([]);
    expect(parse(bundleYAML(plan, 'edge/c1')[0]!)).toMatchObject({ data: { a: '1' } });
  });

  it('templated values broken by a multi-line value at column 0: the problem names the chart, the rendered line, the expression and the fix', () => {
    const chart = (values: string) => ({
      repositoryURL: 'https://charts.example.com/', repositoryName: 'ex', chartName: 'ex/web', chartVersion: '1.0.0', releaseName: 'web', releaseNamespace: 'web', values,
    });
    const refs = [{ identifier: 'Info', resource: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'edge', name: 'info' } }];
    const plan = fleet()
      .configMap('edge/info', { ca: '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n' })
      .clusterProfile('p', { ...sel, templateResourceRefs: refs, helmCharts: [chart('tls:\n  enabled: true\n  ca: {{ .MgmtResources.Info.data.ca }}\n  port: 443\n')] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems.map((p) => p.message), JSON.stringify(plan.problems, null, 1)).toHaveLength(1);
    const m = plan.problems[0]!.message;
    expect(plan.problems[0]!.code).toBe('HELM_VALUES');
    expect(m).toContain('spec.helmCharts[0].values (chart ex/web): the rendered values are not valid YAML: ');
    expect(m).toContain('{{ .MgmtResources.Info.data.ca }} (values template line 3) renders 3 lines, and every line after its first lands at column 0');
    expect(m).toContain('ClusterProfile p');
    // The suggested fix is checked by rendering: applying it gives the values meant.
    const fix = /write (\{\{ .* \}\}) \(/.exec(m)![1]!;
    const fixed = fleet()
      .configMap('edge/info', { ca: '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n' })
      .clusterProfile('p', { ...sel, templateResourceRefs: refs, helmCharts: [chart(`tls:\n  enabled: true\n  ca: ${fix}\n  port: 443\n`)] })
      .plan({ clusters: ['edge/c1'] });
    expect(fixed.problems).toEqual([]);
    expect(fixed.clusters[0]!.helm[0]!.values).toEqual({ tls: { enabled: true, ca: '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n', port: 443 } });
  });

  it('helmCharts fields and values are instantiated for the Helm stage; valuesFrom merges over values', () => {
    const plan = fleet()
      .configMap('edge/extra', { 'v.yaml': 'replicas: 3\nregion: {{ index .Cluster.metadata.labels "region" }}\n' }, T)
      .clusterProfile('p', {
        ...sel,
        helmCharts: [
          {
            repositoryURL: 'https://kyverno.github.io/kyverno/',
            repositoryName: 'kyverno',
            chartName: 'kyverno/kyverno',
            chartVersion: '3.8.2',
            releaseName: 'kyverno-{{ .Cluster.metadata.name }}',
            releaseNamespace: 'kyverno',
            values: 'admissionController:\n  replicas: 1\nreplicas: 1\n',
            valuesFrom: [{ kind: 'ConfigMap', name: 'extra' }],
          },
        ],
      })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems).toEqual([]);
    const h = plan.clusters[0]!.helm[0]!;
    expect(h.chart.releaseName).toBe('kyverno-c1');
    expect(h.chart.chartVersion).toBe('3.8.2');
    expect(h.values).toEqual({ admissionController: { replicas: 1 }, replicas: 3, region: 'eu-west' });
    expect(h.requestor).toEqual({ clusterNamespace: 'edge', clusterName: 'c1', requestorName: 'p-sveltos-c1', feature: 'Helm' });
    // Helm is rendered later: no Helm group is staged here.
    expect(plan.clusters[0]!.groups).toEqual([]);
  });

  it('patches are templates too', () => {
    const plan = fleet()
      .configMap('edge/app', { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n' })
      .clusterProfile('p', {
        ...sel,
        policyRefs: [{ kind: 'ConfigMap', name: 'app' }],
        patches: [{ target: { kind: 'ConfigMap' }, patch: '- op: add\n  path: /metadata/labels\n  value:\n    region: {{ index .Cluster.metadata.labels "region" }}\n' }],
      })
      .plan({ clusters: ['edge/c2'] });
    expect(plan.problems).toEqual([]);
    expect(bundleYAML(plan, 'edge/c2')[0]).toContain('region: us-east');
  });
});

describe('Helm releases across profiles', () => {
  const chart = { repositoryURL: 'https://charts.example.com', repositoryName: 'ex', chartName: 'ex/app', chartVersion: '1.0.0', releaseName: 'app', releaseNamespace: 'apps' };
  it('one profile manages a release: lower tier wins, equal tiers the first; the others are not carried (chart manager)', () => {
    const plan = fleet()
      .clusterProfile('a', { ...sel, helmCharts: [chart] })
      .clusterProfile('b', { ...sel, tier: 5, helmCharts: [{ ...chart, chartVersion: '2.0.0' }] })
      .plan({ clusters: ['edge/c1'] });
    const c = plan.clusters[0]!;
    expect(c.helm.map((h) => [h.profile, h.chart.chartVersion])).toEqual([['ClusterProfile/b', '2.0.0']]);
    expect(c.notCarried).toEqual([{ profile: 'ClusterProfile/a', ref: 'helm release apps/app', reason: 'the release is managed by ClusterProfile/b' }]);
  });

  it('a Profile reads valuesFrom with an empty namespace from its own namespace (the cluster namespace)', () => {
    const plan = fleet()
      .configMap('edge/vals', { 'v.yaml': 'x: 1\n' })
      .profile('edge/p', { ...sel, helmCharts: [{ ...chart, valuesFrom: [{ kind: 'ConfigMap', name: 'vals' }] }] })
      .plan({ clusters: ['edge/c1'] });
    expect(plan.problems).toEqual([]);
    expect(plan.clusters[0]!.helm[0]!.values).toEqual({ x: 1 });
  });
});
