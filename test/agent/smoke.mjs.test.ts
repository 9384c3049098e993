import { describe, expect, it } from 'vitest';
import { demoCluster, kubeconfigFor, kubectl, makeSite, serveSite } from './fixtures.js';

describe('smoke', () => {
  it('kubectl gets groups', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01')]));
    const served = await serveSite(site.store);
    const { path } = await kubeconfigFor(site, "rke2/cluster01", served);
    const r = await kubectl(path, ['get', 'configurationgroups', '-n', 'rke2', '-l', 'pullmode.projectsveltos.io/clustername=cluster01', '-o', 'yaml'], { allowFail: true });
    console.log(r.stdout, r.stderr);
    const t = await kubectl(path, ['get', 'configurationgroups', '-n', 'rke2'], { allowFail: true });
    console.log(t.stdout, t.stderr);
    expect(r.code).toBe(0);
  });
});
