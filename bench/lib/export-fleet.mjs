// A seeded pull-mode fleet as a user would export it: SveltosClusters in 20 namespaces and 50
// ClusterProfiles whose policyRef ConfigMaps are templates (`projectsveltos.io/template: ok`) of about
// 2 KB each, so every cluster gets its own rendered objects. Each profile selects on one label (env,
// tier or a set of regions), which puts about 17 profiles on each cluster.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from './data.mjs';
import { templatedConfigMapLines } from './fleet.mjs';

const ENVS = ['prod', 'staging', 'dev'];
const TIERS = ['gold', 'silver', 'bronze'];
const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'ap-east', 'sa-east', 'af-south'];

function pick(r, list) {
  return list[Math.floor(r() * list.length)];
}

// selector matches about a third of the fleet: one env, one tier or three of the eight regions.
function selector(r, i) {
  if (i % 3 === 0) return { matchLabels: { env: pick(r, ENVS) } };
  if (i % 3 === 1) return { matchLabels: { tier: pick(r, TIERS) } };
  const regions = [...REGIONS].sort(() => r() - 0.5).slice(0, 3);
  return { matchExpressions: [{ key: 'region', operator: 'In', values: regions }] };
}

// template is a ConfigMap of about 2 KB whose values depend on the cluster it is rendered for.
function template(i, dataBytes) {
  const lines = templatedConfigMapLines(`addon-${i}-settings`);
  let size = lines.join('\n').length;
  for (let k = 0; size < dataBytes; k++) {
    const line = `  setting-${k}: "profile-${i}/{{ .Cluster.metadata.name }}/${'x'.repeat(40)}"`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

/**
 * generateExportFleet returns the fleet's objects: `clusters` pull-mode SveltosClusters in `namespaces`
 * namespaces, `profiles` ClusterProfiles and one templated ConfigMap per profile. The same arguments always
 * give the same objects.
 */
export function generateExportFleet({ clusters, profiles = 50, namespaces = 20, dataBytes = 2048, seed = 'export-fleet' }) {
  const r = rng(seed, `export-fleet-${clusters}-${profiles}`);
  const objects = [];
  for (let i = 0; i < clusters; i++) {
    objects.push({
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'SveltosCluster',
      metadata: {
        name: `cluster-${i}`,
        namespace: `fleet-${i % namespaces}`,
        labels: { env: pick(r, ENVS), tier: pick(r, TIERS), region: pick(r, REGIONS) },
      },
      spec: { pullMode: true },
    });
  }
  for (let i = 0; i < profiles; i++) {
    const name = `profile-${i}-resources`;
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'fleet-config', annotations: { 'projectsveltos.io/template': 'ok' } },
      data: { 'resource.yaml': template(i, dataBytes) },
    });
    objects.push({
      apiVersion: 'config.projectsveltos.io/v1beta1',
      kind: 'ClusterProfile',
      metadata: { name: `profile-${i}` },
      spec: {
        clusterSelector: selector(r, i),
        syncMode: 'Continuous',
        policyRefs: [{ kind: 'ConfigMap', namespace: 'fleet-config', name }],
      },
    });
  }
  return objects;
}

/** writeExportFleet writes the fleet as JSON files (one per kind) into `dir`, ready for `export --from dir`. */
export function writeExportFleet(dir, options) {
  mkdirSync(dir, { recursive: true });
  const byKind = new Map();
  for (const o of generateExportFleet(options)) {
    if (!byKind.has(o.kind)) byKind.set(o.kind, []);
    byKind.get(o.kind).push(o);
  }
  for (const [kind, items] of byKind) {
    writeFileSync(join(dir, `${kind.toLowerCase()}s.json`), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  }
  return dir;
}
