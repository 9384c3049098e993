// The sample fleet (samples/fleet) plans cleanly and shows each feature it is meant to show.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadObjects } from '../src/source/kube.js';
import { planExport } from '../src/resolve/plan.js';

describe('samples/fleet', () => {
  it('plans without problems: templated, Local, paused and Profile cases as documented', async () => {
    const { objects, errors } = await loadObjects([new URL('../samples/fleet', import.meta.url).pathname]);
    expect(errors).toEqual([]);
    const plan = planExport({ objects, now: new Date(0) });
    expect(plan.problems).toEqual([]);
    const by = Object.fromEntries(plan.clusters.map((c) => [c.cluster, c]));
    expect(Object.keys(by)).toEqual(['retail/store-berlin', 'retail/store-paris', 'ships/vessel-aurora']);
    expect(plan.warnings.map((w) => w.code)).toContain('CLUSTER_PAUSED');
    expect(by['ships/vessel-aurora']!.notCarried.map((n) => n.ref)).toEqual(['ConfigMap default/mgmt-audit']);
    expect(by['retail/store-paris']!.profiles.map((p) => p.name)).toEqual(['base-namespaces', 'store-apps']);
    const region = by['ships/vessel-aurora']!.groups.find((g) => g.group.spec.sourceRef.name === 'region-config')!;
    const cm = parse(region.bundles[0]!.spec.resources![0]!) as { data: Record<string, string>; metadata: { labels: Record<string, string> } };
    expect(cm.data).toEqual({ cluster: 'ships/vessel-aurora', env: 'prod', region: 'north-atlantic' });
    expect(cm.metadata.labels).toEqual({ 'managed-by': 'sveltos', site: 'ship' });
  });
});
