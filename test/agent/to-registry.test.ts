// import --to-registry against Debian's docker-registry: plain, htpasswd (basic auth) and token auth.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import { demoCluster, makeSite, NOW, run } from './fixtures.js';
import { captureIO } from './io.js';
import { fakeChart, startRegistry, startTokenFront } from './registry.js';

async function siteWithChart() {
  const site = await makeSite();
  const chart = await fakeChart('podinfo', '6.5.0');
  const tar = await site.pack(1, [demoCluster('rke2', 'cluster01')], { extras: [{ source: chart.source, root: chart.root, ref: 'charts/podinfo:6.5.0' }] });
  return { site, chart, tar };
}

async function skopeoDigest(ref: string, creds?: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), `docker://${ref}`], { maxBuffer: 1 << 20 });
  return `sha256:${createHash('sha256').update(stdout).digest('hex')}`;
}

const importArgs = (site: { store: string; publicKeyPath: string }, tar: string) => ['import', tar, '--store', site.store, '--key', site.publicKeyPath, '--now', NOW.toISOString()];

describe('import --to-registry', () => {
  it('pushes charts into a plain registry with their digests', async () => {
    const { site, chart, tar } = await siteWithChart();
    const reg = await startRegistry();
    const io = captureIO();
    const res = await main([...importArgs(site, tar), '--to-registry', `oci://${reg.host}/site/mirror`, '--plain-http', '--output', 'json'], io);
    expect(res.code, io.err()).toBe(0);
    const out = JSON.parse(io.out()) as { pushed: { source: string; target: string; digest: string }[] };
    expect(out.pushed).toEqual([{ source: 'charts/podinfo:6.5.0', target: `${reg.host}/site/mirror/charts/podinfo:6.5.0`, digest: chart.root.digest }]);
    expect(await skopeoDigest(`${reg.host}/site/mirror/charts/podinfo:6.5.0`)).toBe(chart.root.digest);
    const tags = (await (await fetch(`http://${reg.host}/v2/site/mirror/charts/podinfo/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['6.5.0']);
  });

  it('authenticates with htpasswd basic auth and refuses without credentials', async () => {
    const { site, chart, tar } = await siteWithChart();
    const reg = await startRegistry({ name: 'site', password: 's3cret' });
    const denied = captureIO();
    expect((await main([...importArgs(site, tar), '--to-registry', `oci://${reg.host}/site`, '--plain-http'], denied)).code).toBe(1);
    expect(denied.err()).toMatch(/asks for basic credentials and none were given/);
    const creds = join(site.dir, 'creds');
    await writeFile(creds, 'site:s3cret\n');
    const second = await site.pack(2, [demoCluster('rke2', 'cluster01')], { extras: [{ source: chart.source, root: chart.root, ref: 'charts/podinfo:6.5.0' }] });
    const io = captureIO();
    expect((await main([...importArgs(site, second), '--to-registry', `oci://${reg.host}/site`, '--plain-http', '--registry-credentials', creds], io)).code, io.err()).toBe(0);
    expect(await skopeoDigest(`${reg.host}/site/charts/podinfo:6.5.0`, 'site:s3cret')).toBe(chart.root.digest);
  });

  it('gets Bearer tokens from the realm a registry names, with a Docker auth file', async () => {
    const { site, chart, tar } = await siteWithChart();
    const reg = await startRegistry();
    const front = await startTokenFront(reg.host, { name: 'robot', password: 'pw' });
    const auth = join(site.dir, 'auth.json');
    await writeFile(auth, JSON.stringify({ auths: { [front.host]: { auth: Buffer.from('robot:pw').toString('base64') } } }));
    const io = captureIO();
    expect((await main([...importArgs(site, tar), '--to-registry', `oci://${front.host}/tok`, '--plain-http', '--registry-credentials', auth], io)).code, io.err()).toBe(0);
    expect(front.scopes).toContain('repository:tok/charts/podinfo:pull,push');
    expect(await skopeoDigest(`${reg.host}/tok/charts/podinfo:6.5.0`)).toBe(chart.root.digest);
  });
});
