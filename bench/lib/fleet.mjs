// A seeded Sveltos fleet for the resolve scenario: SveltosClusters labelled over five keys, profiles
// whose selectors combine those keys, and one policyRef ConfigMap per profile; a fifth of the profiles
// reference ConfigMaps annotated `projectsveltos.io/template`, so their content is rendered per cluster.
import { rng } from './data.mjs';

export const LABEL_VALUES = {
  env: ['prod', 'staging', 'dev'],
  region: ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'ap-east', 'sa-east', 'af-south'],
  tier: ['gold', 'silver', 'bronze'],
  zone: Array.from({ length: 16 }, (_, i) => `z${i}`),
  team: Array.from({ length: 12 }, (_, i) => `team-${i}`),
};
const KEYS = Object.keys(LABEL_VALUES);
const NAMESPACES = 10;
const CONFIG_API = 'config.projectsveltos.io/v1beta1';
const LIB_API = 'lib.projectsveltos.io/v1beta1';
export const TEMPLATE_ANNOTATION = 'projectsveltos.io/template';

function pick(r, list) {
  return list[Math.floor(r() * list.length)];
}

function pickMany(r, list, n) {
  const copy = [...list];
  const out = [];
  while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(r() * copy.length), 1)[0]);
  return out;
}

// selector draws one of five shapes over the label keys; each matches a few percent of the fleet.
function selector(r) {
  const shape = r();
  const [a, b, c] = pickMany(r, KEYS, 3);
  if (shape < 0.4) return { matchLabels: { [a]: pick(r, LABEL_VALUES[a]), [b]: pick(r, LABEL_VALUES[b]) } };
  if (shape < 0.65) {
    return { matchLabels: { [a]: pick(r, LABEL_VALUES[a]) }, matchExpressions: [{ key: b, operator: 'In', values: pickMany(r, LABEL_VALUES[b], 1) }] };
  }
  if (shape < 0.85) {
    return {
      matchExpressions: [
        { key: a, operator: 'In', values: pickMany(r, LABEL_VALUES[a], 1) },
        { key: b, operator: 'NotIn', values: pickMany(r, LABEL_VALUES[b], 1) },
        { key: c, operator: 'In', values: pickMany(r, LABEL_VALUES[c], 2) },
      ],
    };
  }
  if (shape < 0.95) return { matchLabels: { [a]: pick(r, LABEL_VALUES[a]), [b]: pick(r, LABEL_VALUES[b]), [c]: pick(r, LABEL_VALUES[c]) } };
  return { matchLabels: { [a]: pick(r, LABEL_VALUES[a]) }, matchExpressions: [{ key: b, operator: 'Exists' }, { key: c, operator: 'In', values: pickMany(r, LABEL_VALUES[c], 1) }] };
}

/** templatedConfigMapLines are the lines of a ConfigMap template whose data names the cluster it is rendered for. */
export function templatedConfigMapLines(name) {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}`,
    '  namespace: kube-system',
    'data:',
    '  cluster: "{{ .Cluster.metadata.name }}"',
    '  namespace: "{{ .Cluster.metadata.namespace }}"',
    '  region: "{{ index .Cluster.metadata.labels "region" }}"',
    '  tier: "{{ index .Cluster.metadata.labels "tier" | upper }}"',
  ];
}

function configMap(name, templated, i) {
  const body = templated
    ? templatedConfigMapLines(`settings-${i}`).join('\n')
    : ['apiVersion: v1', 'kind: Namespace', 'metadata:', `  name: addon-${i}`, '  labels:', `    owner: profile-${i}`].join('\n');
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'fleet-config', ...(templated ? { annotations: { [TEMPLATE_ANNOTATION]: 'ok' } } : {}) },
    data: { 'resource.yaml': `${body}\n` },
  };
}

/**
 * generateFleet returns `clusters` SveltosClusters in 10 namespaces, `profiles` ClusterProfiles and one
 * ConfigMap per profile. The same arguments always give the same objects.
 */
export function generateFleet({ clusters, profiles, seed = 'fleet', templatedShare = 0.2 }) {
  const r = rng(seed, `fleet-${clusters}-${profiles}`);
  const objects = [];
  for (let i = 0; i < clusters; i++) {
    const labels = {};
    for (const k of KEYS) labels[k] = pick(r, LABEL_VALUES[k]);
    objects.push({
      apiVersion: LIB_API,
      kind: 'SveltosCluster',
      metadata: { name: `cluster-${i}`, namespace: `fleet-${i % NAMESPACES}`, labels },
      spec: { pullMode: true },
    });
  }
  const templatedEvery = templatedShare > 0 ? Math.round(1 / templatedShare) : Infinity;
  for (let i = 0; i < profiles; i++) {
    const templated = i % templatedEvery === 0;
    const cm = configMap(`profile-${i}-resources`, templated, i);
    objects.push(cm);
    objects.push({
      apiVersion: CONFIG_API,
      kind: 'ClusterProfile',
      metadata: { name: `profile-${i}` },
      spec: {
        clusterSelector: selector(r),
        syncMode: 'Continuous',
        tier: 100 + (i % 5) * 10,
        policyRefs: [{ kind: 'ConfigMap', namespace: cm.metadata.namespace, name: cm.metadata.name }],
      },
    });
  }
  return objects;
}

/** matches evaluates a label selector as Kubernetes does (used to report the fleet's match density). */
export function matches(sel, labels) {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
