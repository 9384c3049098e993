// What proves an image travels with it: images built with umoci and pushed to Debian's docker-registry, signed
// here in cosign's format (a simple-signing payload layer with its signature in the
// dev.cosignproject.cosign/signature annotation, tagged sha256-<digest>.sig; cosign's specs/SIGNATURE_SPEC.md)
// and given an attestation as an OCI 1.1 referrer through the tag-schema fallback (an index tagged
// sha256-<digest>). After export, import and serve, skopeo and a plain HTTP client find them by tag, digests unchanged.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBundle } from '../src/bundle/import.js';
import { loadPublicKey } from '../src/bundle/keys.js';
import { sha256 } from '../src/content/digest.js';
import { TarLayoutStore } from '../src/content/tarfs.js';
import { RegistryClient } from '../src/registry/client.js';
import { ANNOTATION_COSIGN_SIGNATURE, cosignSignatureTag, MEDIA_TYPE_SIMPLE_SIGNING } from '../src/registry/cosign-verify.js';
import { startServer } from '../src/registry/server/http.js';
import { createSiteHandler } from '../src/serve/site-handler.js';
import { cli } from './cli.js';
import { exec } from './helm/helm-env.js';
import { buildImage, pushImage } from './helm/images.js';
import { freePort, pushArtifact, startRegistry, type RunningRegistry } from './helm/servers.js';
import { spdxErrors } from './spdx.js';

let work: string;
let registry: RunningRegistry;
const digests: Record<string, string> = {};
let attestation = '';
const [good, other] = [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('ed25519')];

const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

async function cosignSign(repo: string, digest: string, key: KeyObject): Promise<string> {
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': `${registry.host}/${repo}` }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }));
  const signature = sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key).toString('base64');
  return pushArtifact(registry, repo, cosignSignatureTag(digest), { mediaType: 'application/vnd.oci.image.config.v1+json', data: Buffer.from('{}') }, [
    { mediaType: MEDIA_TYPE_SIMPLE_SIGNING, data: payload, annotations: { [ANNOTATION_COSIGN_SIGNATURE]: signature } },
  ]);
}

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
  await cosignSign('apps/signed', digests.signed!, good.privateKey);
  await cosignSign('apps/other', digests.other!, other.privateKey);
  // An in-toto attestation as an OCI 1.1 referrer of `signed`, listed in the fallback index sha256-<digest>.
  const client = new RegistryClient({ registry: registry.host, repository: 'apps/signed', plainHTTP: true });
  const subject = await client.resolve('1');
  const att = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', predicateType: 'https://slsa.dev/provenance/v1' }));
  attestation = await pushArtifact(registry, 'apps/signed', 'att-upload', { mediaType: 'application/vnd.oci.empty.v1+json', data: Buffer.from('{}') }, [{ mediaType: 'application/vnd.in-toto+json', data: att }], {
    artifactType: 'application/vnd.in-toto+json',
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: attestation, size: 0, artifactType: 'application/vnd.in-toto+json' }] }));
  // The size of the listed manifest, as the referrers index must give it.
  const attManifest = await client.resolve(attestation);
  const fixed = Buffer.from(index.toString().replace('"size":0', `"size":${attManifest.size}`));
  const d = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(fixed), size: fixed.length };
  await client.push(d, Readable.from([fixed]));
  await client.tag(d, subject.digest.replace(':', '-'));
  await client.close();
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
    expect(unsigned.stderr).toMatch(/image .*apps\/unsigned:1 .*no cosign signature of sha256:[0-9a-f]{64} verifies with the keys given: no signature: the repository has no tag sha256-[0-9a-f]{64}\.sig/);
    const wrong = await exp(['other'], 'w.tar');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/apps\/other:1 .*the signature does not verify with the key/);
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
