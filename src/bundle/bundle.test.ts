// Bundle v1 end to end at library level: deterministic pack, offline verify, and every trust failure
// named precisely (DESIGN.md §3, §4).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { blobEntry, clusterInput, DAY, makeBundle, T0, tamper, testKeys } from '../../test/bundles.js';
import { sha256 } from '../content/digest.js';
import { indexFromJSON, manifestFromJSON } from '../content/descriptor.js';
import { TarLayoutStore } from '../content/tarfs.js';
import { isTrustFailure } from '../errors.js';
import { ARTIFACT_TYPE_CLUSTER, MEDIA_TYPE_OBJECTS, MEDIA_TYPE_SIGSTORE_BUNDLE } from '../model/bundle.js';
import { verifyBundle, type VerifyOptions } from './verify.js';

const run = promisify(execFile);

async function verifyFile(path: string, opts: Partial<VerifyOptions> & Pick<VerifyOptions, 'trusted'>) {
  return verifyBundle(await TarLayoutStore.open(path), { now: new Date(T0.getTime() + DAY), ...opts });
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; trust: boolean }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message, trust: isTrustFailure(e) };
  }
  throw new Error('expected a failure');
}

describe('pack', () => {
  it('is deterministic: the same inputs, key and times give a byte-identical tar', async () => {
    const keys = await testKeys();
    const a = await makeBundle(keys);
    const b = await makeBundle(keys, { clusters: [clusterInput('edge', 'c2', { env: 'edge' }), clusterInput('prod', 'c1', { env: 'prod' })] });
    expect((await readFile(a.path)).equals(await readFile(b.path))).toBe(true);
    const c = await makeBundle(keys, { sequence: 2 });
    expect((await readFile(a.path)).equals(await readFile(c.path))).toBe(false);
  });

  it('writes a standard OCI layout: one manifest per cluster with one layer per group, a signed root and a referrer', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys, { clusters: [clusterInput('prod', 'c1', { env: 'prod' }, ['a: 1\n', 'b: 2\n'])] });
    const store = await TarLayoutStore.open(b.path);
    const index = store.index();
    const cluster = index.manifests.find((d) => d.artifactType === ARTIFACT_TYPE_CLUSTER)!;
    expect(cluster.annotations).toMatchObject({ 'io.projectsveltos.airgap.cluster': 'prod/c1', 'org.opencontainers.image.ref.name': 'sveltos-airgap/clusters/prod/c1:latest' });
    const manifest = manifestFromJSON(await readFile(b.path).then(() => store.fetch(cluster)).then(async (s) => Buffer.concat(await s.toArray())));
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPE_OBJECTS, MEDIA_TYPE_OBJECTS]);
    const sig = index.manifests.find((d) => d.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE)!;
    const sigManifest = manifestFromJSON(Buffer.concat(await (await store.fetch(sig)).toArray()));
    expect(sigManifest.subject?.digest).toBe(b.root.digest);
    expect(b.statement.predicate).toMatchObject({ sequence: 1, clusters: ['prod/c1'] });
    expect(b.statement.subject.map((s) => s.name).sort()).toEqual(['sveltos-airgap/bundle:1', 'sveltos-airgap/clusters/prod/c1:latest', 'sveltos-airgap/sbom:1']);
    // The SBOM refers to the root, and is signed through the statement.
    const sbom = index.manifests.find((d) => d.artifactType === 'application/spdx+json')!;
    expect(manifestFromJSON(Buffer.concat(await (await store.fetch(sbom)).toArray())).subject?.digest).toBe(b.root.digest);
  });

  it('is readable by skopeo as an oci-archive', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci-archive:${b.path}:sveltos-airgap/clusters/prod/c1:latest`]);
    const m = manifestFromJSON(Buffer.from(stdout));
    expect(m.artifactType).toBe(ARTIFACT_TYPE_CLUSTER);
    expect(sha256(Buffer.from(stdout))).toBe(indexFromJSON(Buffer.from(JSON.stringify(b.index))).manifests.find((d) => d.annotations?.['io.projectsveltos.airgap.cluster'] === 'prod/c1')!.digest);
  });
});

describe('verifyBundle', () => {
  it('accepts a good bundle and reports what it verified', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const v = await verifyFile(b.path, { trusted: [keys.publicKey] });
    expect(v.predicate.sequence).toBe(1);
    expect(v.clusters.map((c) => c.cluster).sort()).toEqual(['edge/c2', 'prod/c1']);
    expect(v.blobs.length).toBe(b.blobs);
  });

  it('accepts a bundle signed by any one of several trusted keys', async () => {
    const [k1, k2] = [await testKeys(), await testKeys()];
    const b = await makeBundle(k2);
    await expect(verifyFile(b.path, { trusted: [k1.publicKey, k2.publicKey] })).resolves.toBeDefined();
  });

  it.each([
    {
      name: 'a flipped byte in a layer',
      mutate: async (e: Map<string, Buffer>, layer: string) => {
        const data = Buffer.from(e.get(layer)!);
        data[0] = data[0]! ^ 1;
        e.set(layer, data);
      },
      code: 'DIGEST_MISMATCH',
      msg: /digest mismatch: expected sha256:[a-f0-9]{64}, got sha256:/,
    },
    {
      name: 'a flipped byte in a cluster config blob',
      mutate: async (e: Map<string, Buffer>, _layer: string, config: string) => {
        const data = Buffer.from(e.get(config)!);
        data[1] = data[1]! ^ 1;
        e.set(config, data);
      },
      code: 'DIGEST_MISMATCH',
      msg: /application\/vnd\.projectsveltos\.airgap\.cluster\.v1\+json: digest mismatch/,
    },
    {
      name: 'a truncated layer',
      mutate: async (e: Map<string, Buffer>, layer: string) => void e.set(layer, e.get(layer)!.subarray(1)),
      code: 'SIZE_MISMATCH',
      msg: /size mismatch: expected \d+ bytes, got \d+/,
    },
    {
      name: 'a missing layer',
      mutate: async (e: Map<string, Buffer>, layer: string) => void e.delete(layer),
      code: 'BLOB_MISSING',
      msg: /not found.*lacks a blob/,
    },
    {
      name: 'an extra manifest in index.json',
      mutate: async (e: Map<string, Buffer>) => {
        const idx = JSON.parse(e.get('index.json')!.toString());
        idx.manifests.push({ ...idx.manifests[0], annotations: { 'org.opencontainers.image.ref.name': 'evil:1' } });
        e.set('index.json', Buffer.from(JSON.stringify(idx)));
      },
      code: 'TAMPERED',
      msg: /evil:1 .* is not a subject of the signed statement/,
    },
    {
      name: 'a cluster manifest swapped in index.json',
      mutate: async (e: Map<string, Buffer>) => {
        const idx = JSON.parse(e.get('index.json')!.toString());
        const c = idx.manifests.filter((d: { artifactType?: string }) => d.artifactType === ARTIFACT_TYPE_CLUSTER);
        [c[0].digest, c[1].digest] = [c[1].digest, c[0].digest];
        e.set('index.json', Buffer.from(JSON.stringify(idx)));
      },
      code: 'TAMPERED',
      msg: /digest mismatch with the signed statement: expected sha256:[a-f0-9]{64}, found sha256:/,
    },
    {
      name: 'index.json without its signature',
      mutate: async (e: Map<string, Buffer>) => {
        const idx = JSON.parse(e.get('index.json')!.toString());
        idx.manifests = idx.manifests.filter((d: { artifactType?: string }) => d.artifactType !== MEDIA_TYPE_SIGSTORE_BUNDLE);
        e.set('index.json', Buffer.from(JSON.stringify(idx)));
      },
      code: 'SIGNATURE_INVALID',
      msg: /no signature/,
    },
  ])('refuses $name with $code', async ({ mutate, code, msg }) => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const store = await TarLayoutStore.open(b.path);
    const cluster = store.index().manifests.find((d) => d.artifactType === ARTIFACT_TYPE_CLUSTER)!;
    const m = manifestFromJSON(Buffer.concat(await (await store.fetch(cluster)).toArray()));
    const bad = await tamper(b.path, (e) => mutate(e, blobEntry(m.layers[0]!.digest), blobEntry(m.config.digest)));
    const f = await failure(verifyFile(bad, { trusted: [keys.publicKey] }));
    expect(f.code).toBe(code);
    expect(f.message).toMatch(msg);
    expect(f.trust).toBe(true);
  });

  it('refuses a statement changed after signing (the signature no longer matches)', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const sig = b.index.manifests.find((d) => d.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE)!;
    const store = await TarLayoutStore.open(b.path);
    const layer = manifestFromJSON(Buffer.concat(await (await store.fetch(sig)).toArray())).layers[0]!;
    // Re-pointing the signature layer would change digests, so forge a whole new signature chain instead:
    // same bundle, statement with a higher sequence, signature bytes kept.
    const sigBundle = JSON.parse(Buffer.concat(await (await store.fetch(layer)).toArray()).toString());
    const stmt = JSON.parse(Buffer.from(sigBundle.dsseEnvelope.payload, 'base64').toString());
    stmt.predicate.sequence = 99;
    sigBundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
    const { verifySignedStatement } = await import('./signature.js');
    const f = await failure(Promise.resolve().then(() => verifySignedStatement(Buffer.from(JSON.stringify(sigBundle)), [keys.publicKey])));
    expect(f.code).toBe('SIGNATURE_INVALID');
    expect(f.message).toMatch(/does not match the payload/);
  });

  it('refuses an untrusted signer, naming both key hints', async () => {
    const [signer, other] = [await testKeys(), await testKeys()];
    const b = await makeBundle(signer);
    const f = await failure(verifyFile(b.path, { trusted: [other.publicKey] }));
    expect(f.code).toBe('UNTRUSTED_SIGNER');
    expect(f.message).toMatch(/signed by key [a-f0-9]{64}, expected one of [a-f0-9]{64}/);
  });

  it('refuses expired and not-yet-valid bundles', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    expect((await failure(verifyFile(b.path, { trusted: [keys.publicKey], now: new Date(T0.getTime() + 31 * DAY) }))).code).toBe('EXPIRED');
    expect((await failure(verifyFile(b.path, { trusted: [keys.publicKey], now: new Date(T0.getTime() - DAY) }))).code).toBe('NOT_YET_VALID');
  });

  it('warns about blobs nobody references, and fails on them with strict', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const extra = Buffer.from('smuggled');
    const bad = await tamper(b.path, (e) => void e.set(blobEntry(sha256(extra)), extra));
    const warnings: string[] = [];
    await verifyFile(bad, { trusted: [keys.publicKey], warn: (code, m) => warnings.push(`${code}: ${m}`) });
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^UNREFERENCED_BLOB: ${sha256(extra)}`))]);
    expect((await failure(verifyFile(bad, { trusted: [keys.publicKey], strict: true }))).code).toBe('TAMPERED');
  });
});

describe('real OCI clients', () => {
  it('skopeo copies from the bundle tar into docker-registry, and from our serve into an OCI layout, digests unchanged', async () => {
    const { startRegistry } = await import('../../test/helm/servers.js');
    const { chartExtra } = await import('../../test/bundles.js');
    const { tempDir } = await import('../../test/helpers.js');
    const { importBundle } = await import('./import.js');
    const { startServer } = await import('../registry/server/http.js');
    const { createSiteHandler } = await import('../serve/site-handler.js');
    const { join } = await import('node:path');
    const keys = await testKeys();
    const chart = await chartExtra('charts.example.com/stable/web:1.2.3', 50_000);
    const b = await makeBundle(keys, { extras: [chart] });
    const work = await tempDir();
    const reg = await startRegistry(join(work, 'registry'));
    try {
      // Into a real registry straight from the bundle, skopeo checking every digest on the way.
      await run('skopeo', ['copy', '--dest-tls-verify=false', `oci-archive:${b.path}:charts.example.com/stable/web:1.2.3`, `docker://${reg.host}/mirror/web:1.2.3`]);
      const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/mirror/web:1.2.3`]);
      expect(sha256(Buffer.from(stdout))).toBe(chart.root.digest);
      // Out of our server after an import.
      const store = join(work, 'store');
      await importBundle(await TarLayoutStore.open(b.path), { storeDir: store, trusted: [keys.publicKey], now: new Date(T0.getTime() + DAY) });
      const handler = await createSiteHandler(store, { agentApi: false });
      const served = await startServer(handler, { host: '127.0.0.1', port: 0 });
      try {
        const host = new URL(served.url).host;
        await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/charts.example.com/stable/web:1.2.3`, `oci:${join(work, 'out')}:web`]);
        const idx = JSON.parse(await readFile(join(work, 'out', 'index.json'), 'utf8'));
        expect(idx.manifests[0].digest).toBe(chart.root.digest);
      } finally {
        await served.close();
        await handler.close();
      }
    } finally {
      await reg.stop();
    }
  });
});

describe('verifying large blobs on every core', () => {
  it('accepts a bundle with multi-MiB blobs and names a flipped byte in one, as the stream verifier does', async () => {
    const { chartExtra } = await import('../../test/bundles.js');
    const keys = await testKeys();
    const chart = await chartExtra('charts.example.com/big/app:2.0.0', 3 * 1024 * 1024);
    const b = await makeBundle(keys, { extras: [chart] });
    await expect(verifyFile(b.path, { trusted: [keys.publicKey] })).resolves.toBeDefined();
    const big = [...(await TarLayoutStore.open(b.path)).blobs()].find((x) => x.size === 3 * 1024 * 1024)!;
    const bad = await tamper(b.path, (e) => {
      const data = Buffer.from(e.get(blobEntry(big.digest))!);
      data[2_000_000] = data[2_000_000]! ^ 1;
      e.set(blobEntry(big.digest), data);
    });
    const f = await failure(verifyFile(bad, { trusted: [keys.publicKey] }));
    expect(f.code).toBe('DIGEST_MISMATCH');
    expect(f.message).toMatch(new RegExp(`^${big.digest}: application/vnd\\.cncf\\.helm\\.chart\\.content\\.v1\\.tar\\+gzip: digest mismatch: expected ${big.digest}, got sha256:`));
  });
});
