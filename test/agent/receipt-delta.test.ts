// report -> receipt -> delta export -> import, and refusal of altered receipts (exit 2).
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deltaBaseFromReceipt } from '../../src/bundle/delta.js';
import { importBundle } from '../../src/bundle/import.js';
import { loadPublicKey } from '../../src/bundle/keys.js';
import { packBundle } from '../../src/bundle/pack.js';
import { TarLayoutStore } from '../../src/content/tarfs.js';
import { VerificationError } from '../../src/errors.js';
import { main } from '../../src/cli/index.js';
import { tempDir } from '../helpers.js';
import { clusterInput, type ClusterSpec, demoCluster, groupNameOf, kubeconfigFor, makeSite, NOW, serveSite } from './fixtures.js';
import { captureIO } from './io.js';
import { customApi, LIB, type Obj } from './kube-client.js';

const groupOf = (profile: string) => groupNameOf('rke2/cluster01', profile);

const big = (n: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: default\ndata:\n  blob: "${'x'.repeat(n)}"\n`;

function fleet(version: string): ClusterSpec[] {
  const c = demoCluster('rke2', 'cluster01');
  c.profiles.push({ profile: 'monitoring', bundles: { 'config-monitoring-b1': [big(200_000)] } });
  c.profiles[0]!.bundles['config-nginx-b1'] = [`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nginx\n  namespace: default\ndata:\n  version: "${version}"\n`];
  return [c];
}

async function siteWithReceipt() {
  const site = await makeSite();
  await site.importTar(await site.pack(1, fleet('1')));
  // The agent reports through serve, so the receipt has something to carry.
  const served = await serveSite(site.store);
  const { api } = customApi((await kubeconfigFor(site, 'rke2/cluster01', served)).path);
  const args = { ...LIB, namespace: 'rke2', plural: 'configurationgroups', name: groupOf('nginx') };
  const cg = (await api.getNamespacedCustomObject(args)) as Obj;
  await api.replaceNamespacedCustomObjectStatus({ ...args, body: { ...cg, status: { status: 'Provisioned', observedGeneration: 1, lastAppliedTime: '2026-09-01T12:00:00Z' } } });
  const sc = (await api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'sveltosclusters', name: 'cluster01' })) as Obj;
  await api.replaceNamespacedCustomObjectStatus({ ...LIB, namespace: 'rke2', plural: 'sveltosclusters', name: 'cluster01', body: { ...sc, status: { ready: true, agentLastReportTime: '2026-09-01T12:05:00Z' } } });
  await served.stop();

  const keyPrefix = join(site.dir, 'site');
  expect((await main(['keygen', '--out', keyPrefix], captureIO())).code).toBe(0);
  const receipt = join(site.dir, 'receipt.json');
  const io = captureIO();
  expect((await main(['report', '--store', site.store, '--out', receipt, '--key', `${keyPrefix}.key`, '--site', 'ship-7'], io)).code).toBe(0);
  return { site, receipt, sitePub: `${keyPrefix}.pub` };
}

describe('receipts and delta exports', () => {
  it('inspect-receipt shows the agent status, heartbeat and held blobs', async () => {
    const { receipt, sitePub } = await siteWithReceipt();
    const io = captureIO();
    expect((await main(['inspect-receipt', receipt, '--key', sitePub, '--output', 'json'], io)).code).toBe(0);
    const out = JSON.parse(io.out()) as { verified: boolean; predicate: Record<string, any> };
    expect(out.verified).toBe(true);
    expect(out.predicate).toMatchObject({ site: 'ship-7', highestSequence: 1 });
    expect(out.predicate.blobs.length).toBeGreaterThan(5);
    expect(out.predicate.imports).toEqual([expect.objectContaining({ sequence: 1, clusters: expect.arrayContaining(['rke2/cluster01']), bytes: expect.any(Number) })]);
    const c = out.predicate.clusters[0];
    expect(c).toMatchObject({ cluster: 'rke2/cluster01', sequence: 1, heartbeat: { ready: true, agentLastReportTime: '2026-09-01T12:05:00Z' } });
    expect(c.groups.find((g: { name: string }) => g.name === groupOf('nginx'))).toMatchObject({ action: 'Deploy', status: 'Provisioned', observedGeneration: 1, generation: 1, lastAppliedTime: '2026-09-01T12:00:00Z' });
    const text = captureIO();
    expect((await main(['inspect-receipt', receipt, '--key', sitePub], text)).code).toBe(0);
    expect(text.out()).toContain('signature OK');
    expect(text.out()).toMatch(new RegExp(`rke2/cluster01\\s+${groupOf('nginx')}\\s+Deploy\\s+Provisioned\\s+1/1`));
  });

  it('a delta export leaves out what the site holds, imports there, and names what another store lacks', async () => {
    const { site, receipt, sitePub } = await siteWithReceipt();
    const base = deltaBaseFromReceipt(await readFile(receipt), [loadPublicKey(await readFile(sitePub, 'utf8'))]);
    const full = await site.pack(2, fleet('2'));
    const deltaTar = join(site.dir, 'delta.tar');
    const result = await packBundle({
      clusters: fleet('2').map(clusterInput),
      signer: site.signer,
      sequence: 2,
      createdAt: new Date(NOW.getTime() - 3600_000),
      expiresAt: new Date(NOW.getTime() + 86400_000),
      source: 'test',
      out: deltaTar,
      omit: base.omit,
    });
    // The unchanged 200 kB monitoring layer is among what is left out; the changed nginx layer is carried.
    expect(result.omitted.some((d) => d.size > 200_000)).toBe(true);
    const tar = await TarLayoutStore.open(deltaTar);
    expect(tar.size).toBeLessThan((await TarLayoutStore.open(full)).size - 200_000);
    for (const d of result.omitted) expect(tar.blobs().some((b) => b.digest === d.digest)).toBe(false);

    // Into a store that does not hold them: refused, naming the blobs (exit 2).
    const other = join(await tempDir(), 'store');
    const err = await importBundle(tar, { storeDir: other, trusted: [site.publicKey], now: NOW }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).code).toBe('BLOB_MISSING');
    const missing = (err as VerificationError).details!.missing as string[];
    expect(missing.sort()).toEqual(result.omitted.map((d) => d.digest).sort());
    const io = captureIO();
    expect((await main(['import', deltaTar, '--store', other, '--key', site.publicKeyPath, '--now', NOW.toISOString()], io)).code).toBe(2);
    expect(io.err()).toContain(result.omitted[0]!.digest);

    // Into the site's own store: accepted, and served.
    const imported = await site.importTar(deltaTar);
    expect(imported.verified.predicate.sequence).toBe(2);
    const served = await serveSite(site.store);
    const { api } = customApi((await kubeconfigFor(site, 'rke2/cluster01', served)).path);
    const b = (await api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationbundles', name: 'config-nginx-b1' })) as Obj;
    expect(b.spec!.resources[0]).toContain('version: "2"');
    const m = (await api.getNamespacedCustomObject({ ...LIB, namespace: 'rke2', plural: 'configurationbundles', name: 'config-monitoring-b1' })) as Obj;
    expect(m.spec!.resources[0]).toContain('xxxx');
  });

  it('refuses a tampered receipt or one signed by another key (exit 2)', async () => {
    const { site, receipt, sitePub } = await siteWithReceipt();
    const doc = JSON.parse(await readFile(receipt, 'utf8')) as { dsseEnvelope: { payload: string } };
    const statement = JSON.parse(Buffer.from(doc.dsseEnvelope.payload, 'base64').toString()) as { predicate: { blobs: string[] } };
    statement.predicate.blobs.push(`sha256:${'0'.repeat(64)}`);
    doc.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    const tampered = join(site.dir, 'tampered.json');
    await writeFile(tampered, JSON.stringify(doc));
    const io = captureIO();
    expect((await main(['inspect-receipt', tampered, '--key', sitePub], io)).code).toBe(2);
    expect(io.err()).toContain('verification failed');
    expect(() => deltaBaseFromReceipt(Buffer.from(JSON.stringify(doc)), [loadPublicKey(readFileSync(sitePub, 'utf8'))])).toThrow(VerificationError);
    // The bundle signing key is not the site key.
    const wrongKey = captureIO();
    expect((await main(['inspect-receipt', receipt, '--key', site.publicKeyPath], wrongKey)).code).toBe(2);
    expect(wrongKey.err()).toMatch(/signed by key/);
  });
});
