// import --apply --kubeconfig: there is no kube-apiserver on these machines, so the API server written
// to is this project's own agent API (a real HTTP server on 127.0.0.1) with a management identity that
// holds every verb, as an admin kubeconfig would on a management cluster; the agent uses its own token.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { clusterIdentity, MANAGEMENT } from '../../src/agent-api/authz.js';
import { MANAGED_BY } from '../../src/agent-api/apply.js';
import { ObjectStore } from '../../src/agent-api/objects.js';
import { bearerToken } from '../../src/agent-api/service.js';
import { main } from '../../src/cli/index.js';
import { agentKubeconfig, toYaml } from '../../src/kube/kubeconfig.js';
import { createAgentApiRoutes } from '../../src/agent-api/routes.js';
import { composeHandlers } from '../../src/registry/server/handler.js';
import { startServer } from '../../src/registry/server/http.js';
import { ensureSelfSignedTLS } from '../../src/serve/tls.js';
import { demoCluster, groupNameOf, makeSite, NOW } from './fixtures.js';
import { captureIO } from './io.js';
import { customApi, LIB, type Obj } from './kube-client.js';

const groupOf = (profile: string) => groupNameOf('rke2/cluster01', profile);

async function managementServer(dir: string) {
  const store = new ObjectStore();
  const authenticate = async (req: IncomingMessage) => {
    const t = bearerToken(req);
    return t === 'admin' ? MANAGEMENT : t === 'agent' ? clusterIdentity('rke2/cluster01') : t === undefined ? ('anonymous' as const) : ('invalid' as const);
  };
  const tls = await ensureSelfSignedTLS(join(dir, 'management'), ['127.0.0.1']);
  const server = await startServer(composeHandlers([createAgentApiRoutes({ store, authenticate })]), { host: '127.0.0.1', port: 0, tls: { cert: tls.certPem, key: tls.keyPem } });
  onTestFinished(() => server.close());
  const write = async (name: string, token: string) => {
    const path = join(dir, name);
    await writeFile(path, toYaml(agentKubeconfig({ server: server.url, token, caPem: tls.caPem })));
    return path;
  };
  return { admin: await write('admin.kubeconfig', 'admin'), agent: await write('agent.kubeconfig', 'agent') };
}

describe('import --apply --kubeconfig', () => {
  it('writes the served objects, keeps agent status, and runs the removal protocol', async () => {
    const site = await makeSite();
    const kc = await managementServer(site.dir);
    const base = ['--store', site.store, '--key', site.publicKeyPath, '--now', NOW.toISOString()];
    const io = captureIO();
    expect((await main(['import', await site.pack(1, [demoCluster('rke2', 'cluster01')]), ...base, '--apply', '--kubeconfig', kc.admin, '--output', 'json'], io)).code, io.err()).toBe(0);
    const applied = (JSON.parse(io.out()) as { applied: { created: string[] }[] }).applied[0]!;
    expect(applied.created).toEqual([
      'sveltoscluster/cluster01',
      'configurationbundle/config-nginx-b1',
      `configurationgroup/${groupOf('nginx')}`,
      'configurationbundle/config-kyverno-b1',
      `configurationgroup/${groupOf('kyverno')}`,
    ]);

    // The agent, with its own token, sees what serve would serve, and reports.
    const { api } = customApi(kc.agent);
    const groups = (await api.listNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', labelSelector: 'pullmode.projectsveltos.io/clustername=cluster01' })) as { items: Obj[] };
    expect(groups.items.map((g) => g.metadata!.name)).toEqual([groupOf('kyverno'), groupOf('nginx')].sort());
    expect(groups.items[0]!.metadata!.labels![MANAGED_BY.key]).toBe(MANAGED_BY.value);
    const bundle = (await api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationbundles', name: 'config-nginx-b1' })) as Obj;
    expect(bundle.status!.hash).toBeTruthy();
    const nginx = groups.items[1]!;
    await api.replaceNamespacedCustomObjectStatus({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', name: groupOf('nginx'), body: { ...nginx, status: { status: 'Provisioned', observedGeneration: 1 } } });

    // Re-applying the same import changes nothing.
    const again = captureIO();
    expect((await main(['apply', '--store', site.store, '--kubeconfig', kc.admin, '--output', 'json'], again)).code, again.err()).toBe(0);
    expect((JSON.parse(again.out()) as { results: { created: string[]; updated: string[] }[] }).results[0]).toMatchObject({ created: [], updated: [] });

    // A new import drops kyverno: Remove first; deleted by the next apply after the agent reports Removed.
    const io2 = captureIO();
    expect((await main(['import', await site.pack(2, [demoCluster('rke2', 'cluster01', ['nginx'])]), ...base, '--apply', '--kubeconfig', kc.admin, '--output', 'json'], io2)).code, io2.err()).toBe(0);
    expect((JSON.parse(io2.out()) as { applied: { removing: string[]; deleted: string[] }[] }).applied[0]).toMatchObject({ removing: [`configurationgroup/${groupOf('kyverno')}`], deleted: ['configurationbundle/config-kyverno-b1'] });
    const removing = (await api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', name: groupOf('kyverno') })) as Obj;
    expect(removing.spec).toMatchObject({ action: 'Remove' });
    expect(removing.spec!.configurationItem).toBeUndefined();
    expect(((await api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', name: groupOf('nginx') })) as Obj).status).toEqual({ status: 'Provisioned', observedGeneration: 1 });

    const pending = captureIO();
    expect((await main(['apply', '--store', site.store, '--kubeconfig', kc.admin, '--output', 'json'], pending)).code).toBe(0);
    expect((JSON.parse(pending.out()) as { results: { removing: string[]; deleted: string[] }[] }).results[0]).toMatchObject({ removing: [`configurationgroup/${groupOf('kyverno')}`], deleted: [] });
    await api.replaceNamespacedCustomObjectStatus({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', name: groupOf('kyverno'), body: { ...removing, status: { status: 'Removed', observedGeneration: removing.metadata!.generation } } });
    const done = captureIO();
    expect((await main(['apply', '--store', site.store, '--kubeconfig', kc.admin, '--output', 'json'], done)).code).toBe(0);
    expect((JSON.parse(done.out()) as { results: { deleted: string[] }[] }).results[0]!.deleted).toEqual([`configurationgroup/${groupOf('kyverno')}`]);
    await expect(api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationgroups', name: groupOf('kyverno') })).rejects.toMatchObject({ code: 404 });
  });

  it('needs --kubeconfig with --apply and reports an API server that refuses', async () => {
    const site = await makeSite();
    const kc = await managementServer(site.dir);
    const tar = await site.pack(1, [demoCluster('rke2', 'cluster01')]);
    const usage = captureIO();
    expect((await main(['import', tar, '--store', site.store, '--key', site.publicKeyPath, '--apply'], usage)).code).toBe(1);
    expect(usage.err()).toContain('--apply needs --kubeconfig');
    // The agent's token may not create groups: the Role does not grant it.
    const io = captureIO();
    expect((await main(['import', tar, '--store', site.store, '--key', site.publicKeyPath, '--now', NOW.toISOString(), '--apply', '--kubeconfig', kc.agent], io)).code).toBe(1);
    expect(io.err()).toMatch(/create sveltoscluster\/cluster01: 403/);
  });
});
