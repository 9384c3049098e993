// import --to-registry against Debian's docker-registry: plain, htpasswd (basic auth) and token auth.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import { treeDigest } from '../helpers.js';
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
    expect(out.pushed).toEqual([{ source: 'charts/podinfo:6.5.0', target: `${reg.host}/site/mirror/charts/podinfo:6.5.0`, digest: chart.root.digest, copied: 3, present: 0 }]);
    expect(await skopeoDigest(`${reg.host}/site/mirror/charts/podinfo:6.5.0`)).toBe(chart.root.digest);
    const tags = (await (await fetch(`http://${reg.host}/v2/site/mirror/charts/podinfo/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['6.5.0']);
  });

  it('authenticates with htpasswd basic auth and refuses without credentials; the same import with them pushes', async () => {
    const { site, chart, tar } = await siteWithChart();
    const reg = await startRegistry({ name: 'site', password: 's3cret' });
    const denied = captureIO();
    expect((await main([...importArgs(site, tar), '--to-registry', `oci://${reg.host}/site`, '--plain-http'], denied)).code).toBe(1);
    expect(denied.err()).toMatch(/asks for basic credentials and none were given/);
    expect(denied.err()).toMatch(/PUSH_FAILED: sequence 1 is imported into .*, but pushing to .* failed: run the same import again to push what is missing/);
    const creds = join(site.dir, 'creds');
    await writeFile(creds, 'site:s3cret\n');
    const io = captureIO();
    expect((await main([...importArgs(site, tar), '--to-registry', `oci://${reg.host}/site`, '--plain-http', '--registry-credentials', creds], io)).code, io.err()).toBe(0);
    expect(io.err()).toMatch(/already imported: sequence 1/);
    expect(await skopeoDigest(`${reg.host}/site/charts/podinfo:6.5.0`, 'site:s3cret')).toBe(chart.root.digest);
  });

  it('a push that failed half-way is finished by the same import again: only what is missing is sent, the store is not changed', async () => {
    const site = await makeSite();
    const [alpha, beta] = [await fakeChart('alpha', '1.0.0'), await fakeChart('beta', '2.0.0')];
    const tar = await site.pack(1, [demoCluster('rke2', 'cluster01')], {
      extras: [
        { source: alpha.source, root: alpha.root, ref: 'charts/alpha:1.0.0' },
        { source: beta.source, root: beta.root, ref: 'charts/beta:2.0.0' },
      ],
    });
    const reg = await startRegistry();
    const front = await startTokenFront(reg.host, { name: 'robot', password: 'pw' });
    const auth = join(site.dir, 'auth.json');
    await writeFile(auth, JSON.stringify({ auths: { [front.host]: { auth: Buffer.from('robot:pw').toString('base64') } } }));
    const push = ['--to-registry', `oci://${front.host}/mirror`, '--plain-http', '--registry-credentials', auth, '--output', 'json'];

    // The registry refuses beta: alpha is pushed, then the import fails, committed but not fully pushed.
    front.readOnly.add('mirror/charts/beta');
    const first = captureIO();
    expect((await main([...importArgs(site, tar), ...push], first)).code).toBe(1);
    expect(first.err()).toMatch(/PUSH_FAILED/);
    expect(await skopeoDigest(`${reg.host}/mirror/charts/alpha:1.0.0`)).toBe(alpha.root.digest);
    const before = await treeDigest(site.store);

    front.readOnly.clear();
    const again = captureIO();
    expect((await main([...importArgs(site, tar), ...push], again)).code, again.err()).toBe(0);
    const out = JSON.parse(again.out()) as { imported: boolean; alreadyImported: { sequence: number; current: boolean }; pushed: { source: string; copied: number; present: number }[] };
    expect(out).toMatchObject({ imported: false, alreadyImported: { sequence: 1, current: true } });
    expect(out.pushed.map((p) => [p.source, p.copied, p.present])).toEqual([
      ['charts/alpha:1.0.0', 0, 1],
      ['charts/beta:2.0.0', 3, 0],
    ]);
    expect(await skopeoDigest(`${reg.host}/mirror/charts/beta:2.0.0`)).toBe(beta.root.digest);
    expect(await treeDigest(site.store)).toBe(before);
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
