// Encrypted Secrets end to end: a bundle exported with encryptTo the site's key is served to the agent only
// by a server that holds the site's private key; without it the layer is skipped with a warning.
import { describe, expect, it } from 'vitest';
import { kubeconfigFor, makeSite, serveSite, type ClusterSpec } from './fixtures.js';
import { customApi, LIB, type Obj } from './kube-client.js';
import { keyPair } from '../helpers.js';

const secretYaml = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: pull-secret\n  namespace: default\nstringData:\n  password: only-for-the-site\n';
const cluster: ClusterSpec = { namespace: 'edge', name: 'c1', labels: { site: 'c1' }, profiles: [{ profile: 'secrets', bundles: { 'config-c1-secret': [secretYaml] } }] };

describe('encrypted objects in serve', () => {
  it('serves the Secret-bearing bundle with the site key, and skips it (warning) without', async () => {
    const site = await makeSite();
    const siteKey = keyPair('x25519');
    const tar = await site.pack(1, [cluster], { encryptTo: [siteKey.publicKey] });
    await site.importTar(tar);

    const warnings: string[] = [];
    const blind = await serveSite(site.store, { warn: (m) => warnings.push(m) });
    const a = customApi((await kubeconfigFor(site, 'edge/c1', blind)).path).api;
    const none = (await a.listNamespacedCustomObject({ ...LIB, namespace: 'edge', plural: 'configurationbundles' })) as { items: Obj[] };
    expect(none.items).toEqual([]);
    expect(warnings.join('\n')).toMatch(/cluster edge\/c1: layer sha256:[a-f0-9]{64}: encrypted to key\(s\) [a-f0-9]{64}: serve it with --site-key/);
    await blind.stop();

    const keyed = await serveSite(site.store, { siteKeys: [siteKey.privateKey] });
    const b = customApi((await kubeconfigFor(site, 'edge/c1', keyed)).path).api;
    const list = (await b.listNamespacedCustomObject({ ...LIB, namespace: 'edge', plural: 'configurationbundles' })) as { items: Obj[] };
    expect(list.items.map((i) => i.metadata!.name)).toEqual(['config-c1-secret']);
    expect(JSON.stringify(list)).toContain('only-for-the-site');
  });
});
