// Two objects of one kind cannot share a namespace and name in the agent API: verify and import refuse a bundle
// (or a bundle beside the clusters a store keeps serving) that would serve one name twice, with exit 2, naming
// the kind, namespace/name and both clusters, and the store is left as it was.
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { kubeconfigFor, makeSite, NOW, serveSite, type ClusterSpec, type Site } from './agent/fixtures.js';
import { customApi, LIB, type Obj } from './agent/kube-client.js';
import { keyPair, treeDigest } from './helpers.js';

const configMap = (cluster: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  cluster: ${cluster}\n`;
const secret = (cluster: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: pull-secret\n  namespace: default\nstringData:\n  password: ${cluster}-only\n`;

/** cluster is shared/NAME with one profile whose group and bundle names the test picks. */
function cluster(name: string, group: string | undefined, bundle: string, yaml = configMap(name), namespace = 'shared'): ClusterSpec {
  return { namespace, name, labels: { site: name }, profiles: [{ profile: 'settings', ...(group ? { group } : {}), bundles: { [bundle]: [yaml] } }] };
}

const at = ['--now', NOW.toISOString()];

async function importCli(site: Site, tar: string, extra: string[] = []) {
  return cli(['import', tar, '--store', site.store, '--key', site.publicKeyPath, ...at, '--output', 'json', ...extra]);
}

describe('names served twice', () => {
  it('a group name two clusters of one namespace would both serve: verify and import exit 2 naming both, the store unchanged', async () => {
    const site = await makeSite();
    expect((await importCli(site, await site.pack(1, [cluster('a', undefined, 'config-a-1')]))).code).toBe(0);
    const before = await treeDigest(site.store);

    const bad = await site.pack(2, [cluster('a', 'config-shared', 'config-a-1'), cluster('b', 'config-shared', 'config-b-1'), cluster('c', 'config-shared', 'config-c-1', configMap('c'), 'other')]);
    const v = await cli(['verify', bad, '--key', site.publicKeyPath, ...at]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/ConfigurationGroup shared\/config-shared is served for clusters shared\/a \(layer sha256:[a-f0-9]{64}\) and shared\/b \(layer sha256:[a-f0-9]{64}\)/);
    // other/c has the same name in another namespace: that is no collision.
    expect(v.stderr).not.toMatch(/other\/c/);

    const imp = await importCli(site, bad);
    expect(imp.code).toBe(2);
    const err = JSON.parse(imp.stdout).error;
    expect(err.code).toBe('NAME_COLLISION');
    expect(err.details.collisions).toEqual([
      { kind: 'ConfigurationGroup', namespace: 'shared', name: 'config-shared', holders: [expect.objectContaining({ cluster: 'shared/a' }), expect.objectContaining({ cluster: 'shared/b' })] },
    ]);
    expect(await treeDigest(site.store)).toBe(before);
  });

  it('reports every collision at once: bundle names too, and a name served twice for one cluster', async () => {
    const site = await makeSite();
    const two = { ...cluster('a', undefined, 'config-bundle'), profiles: [...cluster('a', 'config-twice', 'config-one').profiles, { profile: 'more', group: 'config-twice', bundles: { 'config-two': [configMap('a2')] } }] };
    const bad = await site.pack(1, [two, cluster('b', undefined, 'config-one')]);
    const v = await cli(['verify', bad, '--key', site.publicKeyPath, ...at, '--output', 'json']);
    expect(v.code).toBe(2);
    const collisions = JSON.parse(v.stdout).error.details.collisions as { kind: string; name: string; holders: { cluster: string }[] }[];
    expect(collisions.map((c) => [c.kind, c.name, c.holders.map((h) => h.cluster)])).toEqual([
      ['ConfigurationBundle', 'config-one', ['shared/a', 'shared/b']],
      ['ConfigurationGroup', 'config-twice', ['shared/a', 'shared/a']],
    ]);
    expect(v.stderr).toMatch(/ConfigurationGroup shared\/config-twice is served twice for cluster shared\/a \(layers sha256:[a-f0-9]{64} and sha256:[a-f0-9]{64}\)/);
  });

  it('import refuses a name that a cluster the store keeps serving already serves; carrying both clusters again resolves it', async () => {
    const site = await makeSite();
    expect((await importCli(site, await site.pack(1, [cluster('b', 'config-shared', 'config-b-1')]))).code).toBe(0);
    const before = await treeDigest(site.store);
    // The bundle alone is fine (verify passes), but the store keeps serving shared/b, which holds the name.
    const alone = await site.pack(2, [cluster('a', 'config-shared', 'config-a-1')]);
    expect((await cli(['verify', alone, '--key', site.publicKeyPath, ...at])).code).toBe(0);
    const imp = await importCli(site, alone);
    expect(imp.code).toBe(2);
    expect(imp.stderr).toMatch(/bundle sequence 2 with the clusters .* keeps serving: .*ConfigurationGroup shared\/config-shared is served for clusters shared\/a \(layer sha256:[a-f0-9]{64}\) and shared\/b/);
    expect(await treeDigest(site.store)).toBe(before);

    const both = await site.pack(3, [cluster('a', 'config-shared', 'config-a-1'), cluster('b', 'config-b', 'config-b-1')]);
    const ok = await importCli(site, both);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('an encrypted layer the importer cannot open is known by its signed group name', async () => {
    const site = await makeSite();
    const siteKey = keyPair('x25519');
    const bad = await site.pack(1, [cluster('a', 'config-secret', 'config-a-1', secret('a')), cluster('b', 'config-secret', 'config-b-1', secret('b'))], { encryptTo: [siteKey.publicKey] });
    const blind = await importCli(site, bad);
    expect(blind.code).toBe(2);
    expect(blind.stderr).toMatch(/ConfigurationGroup shared\/config-secret is served for clusters shared\/a .* and shared\/b/);
    expect(blind.stderr + blind.stdout).not.toMatch(/-only/);

    // With the site key the bundles are opened too: a bundle name two clusters share is found inside the envelopes.
    const keyFile = join(site.dir, 'site.key');
    await writeFile(keyFile, siteKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    const inner = await site.pack(2, [cluster('a', 'config-a', 'config-pull', secret('a')), cluster('b', 'config-b', 'config-pull', secret('b'))], { encryptTo: [siteKey.publicKey] });
    const opened = await cli(['verify', inner, '--key', site.publicKeyPath, ...at, '--site-key', keyFile]);
    expect(opened.code).toBe(2);
    expect(opened.stderr).toMatch(/ConfigurationBundle shared\/config-pull is served for clusters shared\/a .* and shared\/b/);
    const before = await treeDigest(site.store);
    expect((await importCli(site, inner, ['--site-key', keyFile])).code).toBe(2);
    expect(await treeDigest(site.store)).toBe(before);
  });

  it('serve gives a name two stored clusters claim to the first cluster by name, on every start, and says so', async () => {
    // Such a store can only come from an import that could not open the layers (no site key) or an older release.
    const site = await makeSite();
    const siteKey = keyPair('x25519');
    await site.importTar(await site.pack(1, [cluster('b', 'config-b', 'config-pull', secret('b')), cluster('a', 'config-a', 'config-pull', secret('a'))], { encryptTo: [siteKey.publicKey] }));
    for (let start = 0; start < 5; start++) {
      const copy = join(site.dir, `copy-${start}`);
      await cp(site.store, copy, { recursive: true });
      const warnings: string[] = [];
      const served = await serveSite(copy, { siteKeys: [siteKey.privateKey], warn: (m) => warnings.push(m) });
      const names = async (c: string) => {
        const api = customApi((await kubeconfigFor({ ...site, store: copy }, c, served)).path).api;
        return ((await api.listNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'configurationbundles' })) as { items: Obj[] }).items.map((i) => i.metadata!.name);
      };
      expect(await names('shared/a')).toEqual(['config-pull']);
      expect(await names('shared/b')).toEqual([]);
      expect(warnings.join('\n')).toMatch(/ConfigurationBundle shared\/config-pull of cluster shared\/b is not served: the name is taken by cluster shared\/a/);
      await served.stop();
    }
  });
});
