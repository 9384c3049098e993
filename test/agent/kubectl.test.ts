// Conformance with the real kubectl, using the kubeconfig `agent-kubeconfig` makes, against `serve`.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { serve } from '../../src/cli/commands/serve.js';
import { main } from '../../src/cli/index.js';
import { demoCluster, groupNameOf, kubeconfigFor, kubectl, makeSite, serveSite } from './fixtures.js';
import { captureIO } from './io.js';

const groupOf = (profile: string) => groupNameOf('rke2/cluster01', profile);

const SELECTOR = 'pullmode.projectsveltos.io/clustername=cluster01';

async function servedSite() {
  const site = await makeSite();
  await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01')]));
  const served = await serveSite(site.store);
  const kc = await kubeconfigFor(site, 'rke2/cluster01', served);
  return { site, served, kubeconfig: kc.path };
}

describe('kubectl against the agent API', () => {
  it('gets the cluster\'s groups as YAML with the agent\'s label selector', async () => {
    const { kubeconfig } = await servedSite();
    const { stdout } = await kubectl(kubeconfig, ['get', 'configurationgroups', '-n', 'rke2', '-l', SELECTOR, '-o', 'yaml']);
    const list = parse(stdout) as { items: { metadata: { name: string; labels: Record<string, string>; generation: number; resourceVersion: string }; spec: { action: string } }[] };
    expect(list.items.map((i) => i.metadata.name)).toEqual([groupOf('kyverno'), groupOf('nginx')].sort());
    for (const i of list.items) {
      expect(i.metadata.labels['pullmode.projectsveltos.io/clustername']).toBe('cluster01');
      expect(i.metadata.generation).toBe(1);
      expect(i.spec.action).toBe('Deploy');
      expect(Number(i.metadata.resourceVersion)).toBeGreaterThan(0);
    }
    const none = await kubectl(kubeconfig, ['get', 'configurationgroups', '-n', 'rke2', '-l', 'pullmode.projectsveltos.io/clustername=other', '-o', 'yaml']);
    expect((parse(none.stdout) as { items: unknown[] }).items).toEqual([]);
  });

  it('prints the default table and gets one bundle by name', async () => {
    const { kubeconfig } = await servedSite();
    const table = await kubectl(kubeconfig, ['get', 'configurationbundles', '-n', 'rke2']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+AGE$/);
    expect(table.stdout).toContain('config-nginx-b1');
    const one = await kubectl(kubeconfig, ['get', 'configurationbundle', 'config-nginx-b1', '-n', 'rke2', '-o', 'json']);
    const b = JSON.parse(one.stdout) as { spec: { resources: string[] } };
    expect(b.spec.resources[0]).toContain('kind: ConfigMap');
    const byField = await kubectl(kubeconfig, ['get', 'configurationbundles', '-n', 'rke2', '--field-selector', 'metadata.name=config-kyverno-b1', '-o', 'name']);
    expect(byField.stdout.trim()).toBe('configurationbundle.lib.projectsveltos.io/config-kyverno-b1');
  });

  it('serves discovery to kubectl get --raw', async () => {
    const { kubeconfig } = await servedSite();
    const apis = JSON.parse((await kubectl(kubeconfig, ['get', '--raw', '/apis'])).stdout) as { groups: { name: string }[] };
    expect(apis.groups.map((g) => g.name)).toEqual(['lib.projectsveltos.io', 'config.projectsveltos.io']);
    const lib = JSON.parse((await kubectl(kubeconfig, ['get', '--raw', '/apis/lib.projectsveltos.io/v1beta1'])).stdout) as { resources: { name: string; verbs: string[]; namespaced: boolean }[] };
    const cg = lib.resources.find((r) => r.name === 'configurationgroups');
    expect(cg?.verbs).toEqual(['get', 'list', 'watch', 'update']);
    expect(lib.resources.find((r) => r.name === 'configurationgroups/status')?.verbs).toEqual(['get', 'update']);
    expect(lib.resources.find((r) => r.name === 'configurationbundles')?.verbs).toEqual(['get', 'list', 'watch']);
    const api = JSON.parse((await kubectl(kubeconfig, ['get', '--raw', '/api'])).stdout) as { kind: string; versions: string[] };
    expect(api).toMatchObject({ kind: 'APIVersions', versions: [] });
    const version = JSON.parse((await kubectl(kubeconfig, ['get', '--raw', '/version'])).stdout) as { major: string; minor: string };
    expect(version).toMatchObject({ major: '1', minor: '32' });
    const resources = await kubectl(kubeconfig, ['api-resources', '--api-group', 'lib.projectsveltos.io', '-o', 'name']);
    expect(resources.stdout.split('\n')).toContain('configurationgroups.lib.projectsveltos.io');
  });

  it('replaces a group\'s status through the status subresource without bumping generation', async () => {
    const { kubeconfig, site } = await servedSite();
    const got = parse((await kubectl(kubeconfig, ['get', 'configurationgroup', groupOf('nginx'), '-n', 'rke2', '-o', 'yaml'])).stdout) as Record<string, any>;
    got.status = { status: 'Provisioned', observedGeneration: got.metadata.generation, lastAppliedTime: '2026-09-01T12:00:00Z' };
    const file = join(site.dir, 'cg.yaml');
    await writeFile(file, JSON.stringify(got));
    const out = await kubectl(kubeconfig, ['replace', '--subresource=status', '-f', file, '-o', 'json']);
    const after = JSON.parse(out.stdout) as Record<string, any>;
    expect(after.status.status).toBe('Provisioned');
    expect(after.metadata.generation).toBe(got.metadata.generation);
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(got.metadata.resourceVersion));
    // The same stale version again is a conflict.
    const stale = await kubectl(kubeconfig, ['replace', '--subresource=status', '-f', file], { allowFail: true });
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('the object has been modified');
    // Status is not writable through the main resource, and the agent may not patch groups at all.
    const patch = await kubectl(kubeconfig, ['patch', 'configurationgroup', groupOf('nginx'), '-n', 'rke2', '--type', 'merge', '-p', '{"metadata":{"labels":{"x":"y"}}}'], { allowFail: true });
    expect(patch.code).not.toBe(0);
    expect(patch.stderr).toMatch(/forbidden.*cannot patch/);
  });

  it('watches groups and sees a new import arrive', async () => {
    const { kubeconfig, site, served } = await servedSite();
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(site.dir, '.kube-cache'), 'get', 'configurationgroups', '-n', 'rke2', '-l', SELECTOR, '--watch', '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const objects = () => parseAllDocuments(out.replace(/}\s*{/g, '}\n---\n{')).map((d) => d.toJS() as { metadata?: { name: string }; spec?: { action: string } } | null).filter((o) => o?.metadata);
      await waitUntil(() => objects().length >= 2, () => `initial objects; stdout=${out} stderr=${err}`);
      // A new import drops the kyverno profile: its group turns into a Remove group.
      await site.importTar(await site.pack(2, [demoCluster('rke2', 'cluster01', ['nginx'])]));
      await served.handler.reload();
      await waitUntil(() => objects().some((o) => o!.metadata!.name === groupOf('kyverno') && o!.spec?.action === 'Remove'), () => `Remove event; stdout=${out} stderr=${err}`);
    } finally {
      child.kill();
    }
  });

  it('agent-kubeconfig prints a kubeconfig and the Secret registration would make', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01')]));
    const served = await serveSite(site.store);
    const io = captureIO();
    const secretOut = join(site.dir, 'secret.yaml');
    const res = await main(['agent-kubeconfig', '--store', site.store, '--cluster', 'rke2/cluster01', '--server', served.url, '--secret-out', secretOut], io);
    expect(res.code).toBe(0);
    const kc = parse(io.out()) as Record<string, any>;
    expect(kc).toMatchObject({ kind: 'Config', 'current-context': 'sveltos-context', users: [{ name: 'sveltos-applier' }], clusters: [{ name: 'local', cluster: { server: served.url } }] });
    expect(Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(served.caPem);
    const path = join(site.dir, 'printed.kubeconfig');
    await writeFile(path, io.out());
    expect((await kubectl(path, ['get', 'sveltoscluster', 'cluster01', '-n', 'rke2', '-o', 'name'])).stdout.trim()).toBe('sveltoscluster.lib.projectsveltos.io/cluster01');
    const io2 = captureIO();
    expect((await main(['agent-kubeconfig', '--store', site.store, '--cluster', 'rke2/cluster01', '--server', served.url, '--secret'], io2)).code).toBe(0);
    const secret = parse(io2.out()) as Record<string, any>;
    expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cluster01-sveltos-kubeconfig', namespace: 'projectsveltos' } });
    expect(parse(Buffer.from(secret.data.kubeconfig, 'base64').toString())).toMatchObject({ kind: 'Config' });
    const written = parse(await readFile(secretOut, 'utf8')) as Record<string, any>;
    expect(written.metadata.name).toBe('cluster01-sveltos-kubeconfig');
  });
});

describe('serve --tls-self-signed', () => {
  it('makes a site CA once, and agent-kubeconfig trusts it', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01')]));
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const io = captureIO();
    const running = serve({ output: 'json', quiet: true, store: site.store, listen: '127.0.0.1:0', tlsSelfSigned: true, tlsSan: ['airgap.example'], until }, io);
    try {
      await waitUntil(() => io.out().includes('"url"'), () => `serve to start: ${io.err()}`);
      const url = (JSON.parse(io.out()) as { url: string }).url;
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const names = new X509Certificate(await readFile(join(site.store, 'agent', 'tls', 'tls.crt'))).subjectAltName;
      expect(names).toContain('DNS:airgap.example');
      expect(names).toContain('IP Address:127.0.0.1');
      const kcIO = captureIO();
      expect((await main(['agent-kubeconfig', '--store', site.store, '--cluster', 'rke2/cluster01', '--server', url], kcIO)).code).toBe(0);
      const path = join(site.dir, 'self-signed.kubeconfig');
      await writeFile(path, kcIO.out());
      const got = await kubectl(path, ['get', 'configurationgroups', '-n', 'rke2', '-o', 'name']);
      expect(got.stdout.trim().split('\n')).toEqual([groupOf('kyverno'), groupOf('nginx')].sort().map((n) => `configurationgroup.lib.projectsveltos.io/${n}`));
    } finally {
      stop();
      await running;
    }
  });
});

/** waitUntil polls a condition driven by a real client (kubectl output); it fails with `what` after 20 s. */
async function waitUntil(cond: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
