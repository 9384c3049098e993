// The CLI contract (DESIGN.md §7): exit codes, JSON on stdout only, errors naming what failed.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobEntry, DAY, makeBundle, T0, tamper, testKeys } from './bundles.js';
import { cli } from './cli.js';
import { tempDir, treeDigest } from './helpers.js';
import { ARTIFACT_TYPE_CLUSTER } from '../src/model/bundle.js';

const NOW = ['--now', new Date(T0.getTime() + DAY).toISOString()];

describe('version', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });
});

describe('serve flags', () => {
  it('refuses a --blob-memory that is not a size, before opening the store', async () => {
    const dir = await tempDir();
    const r = await cli(['serve', '--store', join(dir, 'missing'), '--listen', '127.0.0.1:0', '--blob-memory', 'lots']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--blob-memory: expected a size like 4G .* got "lots"/);
  });
});

describe('keygen', () => {
  it('writes a 0600 private key and a public key, and never overwrites them', async () => {
    const dir = await tempDir();
    const prefix = join(dir, 'site');
    const r = await cli(['keygen', '--out', prefix, '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ privatePath: `${prefix}.key`, publicPath: `${prefix}.pub`, encrypted: false });
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${prefix}.key`, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const again = await cli(['keygen', '--out', prefix]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/site\.key: file exists; refusing to overwrite/);
  });

  it('encrypts the key with a passphrase from the environment', async () => {
    const prefix = join(await tempDir(), 'site');
    const r = await cli(['keygen', '--out', prefix, '--passphrase-env', 'PASS'], { PASS: 'correct horse' });
    expect(r.code).toBe(0);
    expect(await readFile(`${prefix}.key`, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect((await cli(['keygen', '--out', `${prefix}2`, '--passphrase-env', 'UNSET'])).code).toBe(1);
  });
});

describe('verify, inspect and import', () => {
  it('verifies a good bundle (exit 0, JSON only on stdout)', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const r = await cli(['verify', b.path, '--key', keys.pubPath, '--output', 'json', ...NOW]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: true, sequence: 1, clusters: [{ cluster: 'edge/c2' }, { cluster: 'prod/c1' }] });
  });

  it('exits 2 on a trust failure, naming the digest, with a JSON error when asked', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const layer = b.index.manifests.find((d) => d.artifactType === ARTIFACT_TYPE_CLUSTER)!;
    const bad = await tamper(b.path, (e) => {
      const data = Buffer.from(e.get(blobEntry(layer.digest))!);
      data[10] = data[10]! ^ 0xff;
      e.set(blobEntry(layer.digest), data);
    });
    const r = await cli(['verify', bad, '--key', keys.pubPath, '--output', 'json', ...NOW]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`verification failed: ${layer.digest}`);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'DIGEST_MISMATCH', exitCode: 2, details: { digest: layer.digest } });
    const expired = await cli(['verify', b.path, '--key', keys.pubPath, '--now', new Date(T0.getTime() + 400 * DAY).toISOString()]);
    expect(expired.code).toBe(2);
    expect(expired.stderr).toMatch(/bundle expired at 2026-01-31T00:00:00.000Z/);
  });

  it('exits 1 on usage and input errors', async () => {
    const keys = await testKeys();
    const notTar = join(await tempDir(), 'x.tar');
    await writeFile(notTar, 'hello');
    expect((await cli(['verify'])).code).toBe(1);
    expect((await cli(['verify', '/nonexistent.tar', '--key', keys.pubPath])).stderr).toMatch(/nonexistent\.tar: cannot open the bundle \(ENOENT\)/);
    expect((await cli(['verify', notTar, '--key', keys.keyPath])).stderr).toMatch(/expected a public key \(SPKI PEM\), found a private key/);
    expect((await cli(['frobnicate'])).code).toBe(1);
    expect((await cli(['verify', notTar, '--key', keys.pubPath, '--now', 'yesterday'])).code).toBe(1);
    // A file that is not a tar is damaged input: a trust failure.
    expect((await cli(['verify', notTar, '--key', keys.pubPath])).code).toBe(2);
  });

  it('inspects clusters, groups and signature facts', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const r = await cli(['inspect', b.path, '--output', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.clusters.map((c: { cluster: string }) => c.cluster)).toEqual(['edge/c2', 'prod/c1']);
    expect(j.clusters[1]).toMatchObject({ labels: { env: 'prod' }, profiles: ['ClusterProfile p1'], groups: [{ feature: 'Resources' }] });
    expect(j.signature).toMatchObject({ keyHint: keys.signer.hint, sequence: 1, verified: false });
    const text = await cli(['inspect', b.path]);
    expect(text.stdout).toMatch(/prod\/c1\s+env=prod\s+ClusterProfile p1\s+1/);
  });

  it('imports, takes the same bundle again as already imported, refuses a replay with exit 2, and serves each cluster its own configuration artifact only', async () => {
    const keys = await testKeys();
    const b = await makeBundle(keys);
    const store = join(await tempDir(), 'store');
    const first = await cli(['import', b.path, '--store', store, '--key', keys.pubPath, ...NOW]);
    expect(first.code, first.stderr).toBe(0);
    const before = await treeDigest(store);
    const same = await cli(['import', b.path, '--store', store, '--key', keys.pubPath, ...NOW]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^already imported: sequence 1 into .* at .*; nothing was written/);
    expect(same.stderr).toMatch(/already imported: sequence 1 \(root sha256:[a-f0-9]{64}\) was imported into .*its signature checks out and nothing was written/);
    const json = await cli(['import', b.path, '--store', store, '--key', keys.pubPath, ...NOW, '--output', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ imported: false, alreadyImported: { sequence: 1, current: true }, sequence: 1, root: b.root.digest });
    expect(await treeDigest(store)).toBe(before);
    const replay = await cli(['import', (await makeBundle(keys, { createdAt: new Date(T0.getTime() + 1000) })).path, '--store', store, '--key', keys.pubPath, ...NOW]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/sequence 1 is not newer than the highest imported sequence 1/);
    expect(await treeDigest(store)).toBe(before);

    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const { serve } = await import('../src/cli/commands/serve.js');
    const started = new Promise<string>((resolve) => {
      const io = { stdout: { write: (s: string) => resolve(/on (http:\/\/\S+)/.exec(s)![1]!) }, stderr: { write: () => true }, env: {}, isTTY: false };
      void serve({ store, listen: '127.0.0.1:0', output: 'text', quiet: true, until }, io as never);
    });
    const url = new URL(await started);
    const kubeconfig = async (cluster: string) => {
      const k = await cli(['agent-kubeconfig', '--store', store, '--cluster', cluster, '--server', `https://${url.host}`]);
      expect(k.code, k.stderr).toBe(0);
      return /token: (\S+)/.exec(k.stdout)![1]!;
    };
    const token = await kubeconfig('prod/c1');
    const other = await kubeconfig('edge/c2');
    try {
      const served = b.index.manifests.find((d) => d.annotations?.['io.projectsveltos.airgap.cluster'] === 'prod/c1')!;
      const get = (path: string, tok?: string) => fetch(`${url.origin}${path}`, tok ? { headers: { Authorization: `Bearer ${tok}` } } : {});
      const res = await get('/v2/sveltos-airgap/clusters/prod/c1/manifests/latest', token);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(served.digest);
      // A cluster's configuration is its agent's alone; the bundle root (which lists every cluster) is not served.
      expect((await get('/v2/sveltos-airgap/clusters/prod/c1/manifests/latest')).status).toBe(401);
      expect((await get('/v2/sveltos-airgap/clusters/prod/c1/manifests/latest', other)).status).toBe(403);
      expect((await get('/v2/sveltos-airgap/clusters/prod/c1/manifests/latest', 'sva_forged')).status).toBe(401);
      expect((await get('/v2/sveltos-airgap/bundle/manifests/1', token)).status).toBe(403);
    } finally {
      stop();
    }
  });
});
