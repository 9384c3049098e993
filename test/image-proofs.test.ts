// What proves an image travels with it: images built with umoci and pushed to Debian's docker-registry, signed
// here in cosign's format (a simple-signing payload layer with its signature in the
// dev.cosignproject.cosign/signature annotation, tagged sha256-<digest>.sig; cosign's specs/SIGNATURE_SPEC.md)
// and given an attestation as an OCI 1.1 referrer through the tag-schema fallback (an index tagged
// sha256-<digest>). After export, import and serve, skopeo and a plain HTTP client find them by tag, digests unchanged.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBundle } from '../src/bundle/import.js';
import { loadPublicKey } from '../src/bundle/keys.js';
import { sha256 } from '../src/content/digest.js';
import { TarLayoutStore } from '../src/content/tarfs.js';
import { RegistryClient } from '../src/registry/client.js';
import { startServer } from '../src/registry/server/http.js';
import { createSiteHandler } from '../src/serve/site-handler.js';
import { cli } from './cli.js';
import { cosignSign, pem, pushAttestation } from './helm/cosign.js';
import { exec } from './helm/helm-env.js';
import { buildImage, pushImage } from './helm/images.js';
import { freePort, startRegistry, type RunningRegistry } from './helm/servers.js';
import { spdxErrors } from './spdx.js';
import { keyPair } from './helpers.js';

let work: string;
let registry: RunningRegistry;
const digests: Record<string, string> = {};
let attestation = '';
const [good, other] = [keyPair('ec', { namedCurve: 'P-256' }), keyPair('ed25519')];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'image-proofs-'));
  await mkdir(join(work, 'registry'));
  registry = await startRegistry(join(work, 'registry'));
  const layout = join(work, 'layout');
  for (const name of ['signed', 'unsigned', 'other']) {
    await buildImage(layout, name, { work, size: 2048 });
    await pushImage(layout, name, `${registry.host}/apps/${name}:1`);
    const client = new RegistryClient({ registry: registry.host, repository: `apps/${name}`, plainHTTP: true });
    digests[name] = (await client.resolve('1')).digest;
    await client.close();
  }
  await cosignSign(registry, 'apps/signed', digests.signed!, good.privateKey);
  await cosignSign(registry, 'apps/other', digests.other!, other.privateKey);
  attestation = await pushAttestation(registry, 'apps/signed', '1');
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function fleet(images: string[]): Promise<string> {
  const dir = await mkdtemp(join(work, 'fleet-'));
  const deployment = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: default\nspec:\n  template:\n    spec:\n      containers:\n${images.map((im, i) => `      - name: c${i}\n        image: ${registry.host}/apps/${im}:1\n`).join('')}`;
  await writeFile(
    join(dir, 'in.yaml'),
    [
      'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: c1, namespace: edge, labels: {env: prod}}\nspec: {pullMode: true}\n',
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\ndata:\n  app.yaml: |\n${deployment.split('\n').map((l) => `    ${l}`).join('\n')}\n`,
      'apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: app}\nspec:\n  clusterSelector: {matchLabels: {env: prod}}\n  policyRefs:\n  - {kind: ConfigMap, namespace: default, name: app}\n',
    ].join('---\n'),
  );
  return dir;
}

describe('image signatures and attestations', () => {
  it('--verify-images passes a good signature, fails an unsigned image and one signed by another key (exit 2)', async () => {
    const keyFile = join(work, 'cosign.pub');
    await writeFile(keyFile, pem(good.publicKey));
    await cli(['keygen', '--out', join(work, 'signing')]);
    const exp = (images: string[], out: string) =>
      fleet(images).then((dir) => cli(['export', '--from', dir, '--key', join(work, 'signing.key'), '--out', join(work, out), '--include-images', '--plain-http-registry', registry.host, '--verify-images', keyFile, '--cache-dir', join(work, 'cache')]));
    const ok = await exp(['signed'], 'ok.tar');
    expect(ok.code, ok.stderr).toBe(0);
    const unsigned = await exp(['unsigned'], 'u.tar');
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(/image .*apps\/unsigned:1 .*no cosign signature of sha256:[0-9a-f]{64} verifies with the --verify-images keys: no signature: the repository has no tag sha256-[0-9a-f]{64}\.sig/);
    const wrong = await exp(['other'], 'w.tar');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/apps\/other:1 .*the signature does not verify with the key/);
  });

  it('--verify-images-policy: the rule matching an image names its keys; an image no rule matches fails with noMatch deny (exit 2), is carried with a warning with warn', async () => {
    await writeFile(join(work, 'good.pub'), pem(good.publicKey));
    await cli(['keygen', '--out', join(work, 'signing')]);
    const policy = join(work, 'policy.yaml');
    const exp = (images: string[], out: string) =>
      fleet(images).then((dir) => cli(['export', '--from', dir, '--key', join(work, 'signing.key'), '--out', join(work, out), '--include-images', '--plain-http-registry', registry.host, '--verify-images-policy', policy, '--cache-dir', join(work, 'cache')]));
    await writeFile(policy, `rules:\n- images: ["${registry.host}/apps/signed", "${registry.host}/apps/other"]\n  keys: [good.pub]\n`);
    const denied = await exp(['signed', 'unsigned'], 'deny.tar');
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/no rule matches image .*apps\/unsigned:1 and noMatch is deny/);
    const other = await exp(['other'], 'other.tar');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/apps\/other:1 .*verifies with the keys of --verify-images-policy rule 1 .*the signature does not verify with the key/);
    await writeFile(policy, `rules:\n- images: ["${registry.host}/apps/sig*"]\n  keys: [good.pub]\nnoMatch: warn\n`);
    const warned = await exp(['signed', 'unsigned'], 'warn.tar');
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/IMAGE_UNVERIFIED.*apps\/unsigned:1: no --verify-images-policy rule matches it/);
    expect(warned.stderr).not.toMatch(/apps\/signed:1: no --verify-images-policy/);
  });

  it('--referrer-type keeps only the proofs of that media type', async () => {
    const out = join(work, 'att-only.tar');
    const dir = await fleet(['signed']);
    const r = await cli(['export', '--from', dir, '--key', join(work, 'signing.key'), '--out', out, '--include-images', '--plain-http-registry', registry.host, '--cache-dir', join(work, 'cache'), '--referrer-type', 'application/vnd.in-toto+json']);
    expect(r.code, r.stderr).toBe(0);
    const images = JSON.parse((await cli(['inspect', out, '--images', '--output', 'json'])).stdout) as { images: { image: string; proofs?: string[] }[] };
    expect(images.images.find((i) => i.image.endsWith('apps/signed:1'))?.proofs).toEqual(['referrers']);
  });

  it('carries the .sig tag and the referrers index with the image; served after import, skopeo and HTTP find them by tag, digests unchanged; --no-referrers leaves them out', async () => {
    const dir = await fleet(['signed', 'unsigned']);
    const out = join(work, 'proofs.tar');
    const r = await cli(['export', '--from', dir, '--key', join(work, 'signing.key'), '--out', out, '--include-images', '--plain-http-registry', registry.host, '--cache-dir', join(work, 'cache')]);
    expect(r.code, r.stderr).toBe(0);
    const served = `${registry.host.replace(':', '_')}/apps/signed`;
    const hex = digests.signed!.replace(':', '-');
    const inspected = JSON.parse((await cli(['inspect', out, '--output', 'json'])).stdout) as { artifacts: { ref: string; digest: string }[] };
    const refs = inspected.artifacts.map((a) => a.ref);
    expect(refs).toEqual(expect.arrayContaining([`${served}:1`, `${served}:${hex}.sig`, `${served}:${hex}`]));
    expect(refs.some((x) => x.includes('apps/unsigned:sha256-'))).toBe(false);
    const images = JSON.parse((await cli(['inspect', out, '--images', '--output', 'json'])).stdout) as { images: { image: string; proofs?: string[] }[] };
    expect(images.images.map((i) => [i.image.replace(`${registry.host}/`, ''), i.proofs])).toEqual([['apps/signed:1', ['signature', 'referrers']], ['apps/unsigned:1', []]]);
    expect((await cli(['inspect', out, '--images'])).stdout).toMatch(/apps\/signed:1\s+yes\s+signature,referrers\s/);
    // The SBOM lists each carried image (and its proofs) with its digest, and is valid SPDX 2.3.
    const sbom = JSON.parse((await cli(['inspect', out, '--sbom'])).stdout) as { packages: { name: string; primaryPackagePurpose: string; checksums: { checksumValue: string }[] }[] };
    expect(spdxErrors(sbom)).toEqual([]);
    expect(sbom.packages.find((p) => p.name === `${served}:1`)).toMatchObject({ primaryPackagePurpose: 'CONTAINER', checksums: [{ checksumValue: digests.signed!.slice(7) }] });
    expect(sbom.packages.map((p) => p.name)).toEqual(expect.arrayContaining(inspected.artifacts.map((a) => a.ref)));

    const store = join(work, 'store');
    await importBundle(await TarLayoutStore.open(out), { storeDir: store, trusted: [loadPublicKey(await readFile(join(work, 'signing.pub'), 'utf8'))], now: new Date() });
    const site = await startServer(await createSiteHandler(store), { host: '127.0.0.1', port: await freePort() });
    try {
      const host = site.url.replace('http://', '');
      const sig = await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/${served}:${hex}.sig`]);
      expect(sha256(Buffer.from(sig.stdout))).toBe(inspected.artifacts.find((a) => a.ref === `${served}:${hex}.sig`)!.digest);
      const res = await fetch(`${site.url}/v2/${served}/manifests/${hex}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
      expect(res.status).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect((JSON.parse(body.toString()) as { manifests: { digest: string }[] }).manifests[0]!.digest).toBe(attestation);
      const att = await fetch(`${site.url}/v2/${served}/manifests/${attestation}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(att.status).toBe(200);
      // The referrers API finds the same attestation by its subject, filtered by artifact type too.
      const listed = (await (await fetch(`${site.url}/v2/${served}/referrers/${digests.signed}?artifactType=application/vnd.in-toto%2Bjson`)).json()) as { manifests: { digest: string; artifactType: string }[] };
      expect(listed.manifests.map((m) => [m.digest, m.artifactType])).toEqual([[attestation, 'application/vnd.in-toto+json']]);
    } finally {
      await site.close();
    }

    const none = join(work, 'none.tar');
    expect((await cli(['export', '--from', dir, '--key', join(work, 'signing.key'), '--out', none, '--include-images', '--no-referrers', '--plain-http-registry', registry.host, '--cache-dir', join(work, 'cache')])).code).toBe(0);
    const plain = JSON.parse((await cli(['inspect', none, '--output', 'json'])).stdout) as { artifacts: { ref: string }[] };
    expect(plain.artifacts.map((a) => a.ref).filter((x) => x.includes(':sha256-'))).toEqual([]);
  });
});
