// A cluster's token reaches its own namespace and its own cluster's objects only (403 otherwise, 401
// without a token), for every verb, including the Secrets that bundles carry inside ConfigurationBundles.
import { describe, expect, it } from 'vitest';
import { groupNameOf, kubeconfigFor, makeSite, serveSite, type ClusterSpec } from './fixtures.js';
import { customApi, LIB, type Obj } from './kube-client.js';

const secretYaml = (cluster: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: pull-secret\n  namespace: default\nstringData:\n  password: ${cluster}-secret-value\n`;

function clusterWithSecret(namespace: string, name: string): ClusterSpec {
  return { namespace, name, labels: { site: name }, profiles: [{ profile: 'secrets', bundles: { [`config-${name}-secret`]: [secretYaml(name)] } }] };
}

async function setup() {
  const site = await makeSite();
  // a and b share a namespace; c is alone in another.
  await site.importTar(await site.pack(1, [clusterWithSecret('shared', 'a'), clusterWithSecret('shared', 'b'), clusterWithSecret('other', 'c')]));
  const served = await serveSite(site.store);
  const a = customApi((await kubeconfigFor(site, 'shared/a', served)).path).api;
  return { site, served, a };
}

// Each cluster's group has its own name, derived from the cluster as the resolver derives it.
const groupName = groupNameOf('shared/a', 'secrets');
const groupOfB = groupNameOf('shared/b', 'secrets');
const groupOfC = groupNameOf('other/c', 'secrets');

describe('isolation between clusters', () => {
  it("cannot read another cluster's objects in a shared namespace", async () => {
    const { a } = await setup();
    const list = (await a.listNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'configurationbundles' })) as { items: Obj[] };
    expect(list.items.map((i) => i.metadata!.name)).toEqual(['config-a-secret']);
    expect(JSON.stringify(list)).not.toContain('b-secret-value');
    const byLabel = (await a.listNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'configurationbundles', labelSelector: 'pullmode.projectsveltos.io/clustername=b' })) as { items: Obj[] };
    expect(byLabel.items).toEqual([]);
    await expect(a.getNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'configurationbundles', name: 'config-b-secret' })).rejects.toMatchObject({ code: 403 });
    await expect(a.getNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'sveltosclusters', name: 'b' })).rejects.toMatchObject({ code: 403 });
    const scs = (await a.listNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'sveltosclusters' })) as { items: Obj[] };
    expect(scs.items.map((i) => i.metadata!.name)).toEqual(['a']);
  });

  it("cannot write another cluster's objects or create objects labelled for it", async () => {
    const { a } = await setup();
    const own = (await a.getNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'sveltosclusters', name: 'a' })) as Obj;
    const asB = { ...own, metadata: { name: 'b', namespace: 'shared' }, status: { ready: true } };
    await expect(a.replaceNamespacedCustomObjectStatus({ ...LIB, namespace: 'shared', plural: 'sveltosclusters', name: 'b', body: asB })).rejects.toMatchObject({ code: 403 });
    const groupStatus = (name: string) => ({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationGroup', metadata: { name, namespace: 'shared' }, status: { status: 'Provisioned' } });
    await expect(a.replaceNamespacedCustomObjectStatus({ ...LIB, namespace: 'shared', plural: 'configurationgroups', name: groupOfB, body: groupStatus(groupOfB) })).rejects.toMatchObject({ code: 403 });
    await expect(a.replaceNamespacedCustomObjectStatus({ ...LIB, namespace: 'shared', plural: 'configurationgroups', name: groupName, body: groupStatus(groupName) })).resolves.toBeDefined();
    const report = (name: string, cluster: string) => ({
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'ClassifierReport',
      metadata: { name, namespace: 'shared', labels: { 'projectsveltos.io/cluster-name': cluster } },
      spec: { match: true },
    });
    await expect(a.createNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'classifierreports', body: report('r-b', 'b') })).rejects.toMatchObject({ code: 403 });
    await expect(a.createNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'classifierreports', body: report('r-a', 'a') })).resolves.toBeDefined();
  });

  it("is refused in another cluster's namespace for every verb", async () => {
    const { a } = await setup();
    const args = { ...LIB, namespace: 'other', plural: 'configurationgroups' };
    await expect(a.listNamespacedCustomObject(args)).rejects.toMatchObject({ code: 403 });
    await expect(a.getNamespacedCustomObject({ ...args, name: groupOfC })).rejects.toMatchObject({ code: 403 });
    await expect(a.listNamespacedCustomObject({ ...args, watch: true })).rejects.toMatchObject({ code: 403 });
    await expect(a.replaceNamespacedCustomObject({ ...args, name: groupOfC, body: { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationGroup', metadata: { name: groupOfC } } })).rejects.toMatchObject({ code: 403 });
    await expect(a.getNamespacedCustomObject({ ...LIB, namespace: 'other', plural: 'configurationbundles', name: 'config-c-secret' })).rejects.toMatchObject({ code: 403 });
    await expect(a.listClusterCustomObject({ ...LIB, plural: 'configurationbundles' })).rejects.toMatchObject({ code: 403 });
  });

  it('watch streams carry only the caller\'s objects', async () => {
    const { site, served } = await setup();
    const { token } = await kubeconfigFor(site, 'shared/a', served);
    const res = await fetchWatch(served.url, served.caPem!, `/apis/lib.projectsveltos.io/v1beta1/namespaces/shared/configurationbundles?watch=1&timeoutSeconds=1`, token);
    expect(res.status).toBe(200);
    const names = res.body.trim().split('\n').map((l) => (JSON.parse(l) as { object: Obj }).object.metadata!.name);
    expect(names).toEqual(['config-a-secret']);
  });

  it('answers 401 without a token or with an unknown one, and 403 for verbs the Role does not grant', async () => {
    const { site, served, a } = await setup();
    const plain = await fetchWatch(served.url, served.caPem!, '/apis/lib.projectsveltos.io/v1beta1/namespaces/shared/configurationgroups');
    expect(plain.status).toBe(401);
    expect(JSON.parse(plain.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await fetchWatch(served.url, served.caPem!, '/apis', 'sva_not-a-token')).status).toBe(401);
    await expect(a.deleteNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'configurationgroups', name: groupName })).rejects.toMatchObject({ code: 403 });
    await expect(a.createNamespacedCustomObject({ ...LIB, namespace: 'shared', plural: 'configurationbundles', body: { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationBundle', metadata: { name: 'x' } } })).rejects.toMatchObject({ code: 403 });
    const { token } = await kubeconfigFor(site, 'shared/a', served);
    const post = await fetchWatch(served.url, served.caPem!, `/apis/lib.projectsveltos.io/v1beta1/namespaces/shared/configurationgroups/${groupName}`, token, 'POST');
    expect(post.status).toBe(405);
    const proto = await fetchWatch(served.url, served.caPem!, '/apis/lib.projectsveltos.io/v1beta1/namespaces/shared/configurationgroups', token, 'GET', 'application/vnd.kubernetes.protobuf');
    expect(proto.status).toBe(406);
    expect(JSON.parse(proto.body)).toMatchObject({ kind: 'Status', reason: 'NotAcceptable' });
  });
});

/** fetchWatch makes one HTTPS request with node:https (trusting the site CA) and reads the whole body. */
async function fetchWatch(base: string, ca: string, path: string, token?: string, method = 'GET', accept = 'application/json'): Promise<{ status: number; body: string }> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, base), { method, ca, headers: { Accept: accept, ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
