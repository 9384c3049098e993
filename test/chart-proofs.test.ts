// What proves an OCI chart travels with it, and Sveltos's signatureVerification is honoured at export: the
// fixture chart pushed with `helm push` to Debian's docker-registry, signed here in cosign's format with our
// own keys (test/helm/cosign.ts) and given an attestation referrer; export checks the signature with the
// cosign.pub of the Secret the profile names (as addon-controller's source_integrity.go does), carries the
// .sig tag and the referrers index beside the chart, and after import `serve` and `import --to-registry`
// hand them out by tag, digests unchanged.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../src/registry/client.js';
import { startServer } from '../src/registry/server/http.js';
import { createSiteHandler } from '../src/serve/site-handler.js';
import { sha256 } from '../src/content/digest.js';
import { cli } from './cli.js';
import { cosignSign, pem, pushAttestation } from './helm/cosign.js';
import { exec, helm, helmPath, packageChart } from './helm/helm-env.js';
import { freePort, startRegistry, type RunningRegistry } from './helm/servers.js';
import { spdxErrors } from './spdx.js';
import { keyPair } from './helpers.js';

let work: string;
let registry: RunningRegistry;
let chartDigest = '';
let attestation = '';
const [good, other] = [keyPair('ec', { namedCurve: 'P-256' }), keyPair('rsa', { modulusLength: 2048 })];
const b64 = (s: string) => Buffer.from(s).toString('base64');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'chart-proofs-'));
  await mkdir(join(work, 'registry'));
  registry = await startRegistry(join(work, 'registry'));
  const tgz = await packageChart('demo', join(work, 'pkg'));
  await helm(['push', tgz, `oci://${registry.host}/charts`, '--plain-http']);
  await helm(['push', tgz, `oci://${registry.host}/unsigned`, '--plain-http']);
  const client = new RegistryClient({ registry: registry.host, repository: 'charts/demo', plainHTTP: true });
  chartDigest = (await client.resolve('1.2.3')).digest;
  await client.close();
  await cosignSign(registry, 'charts/demo', chartDigest, good.privateKey);
  attestation = await pushAttestation(registry, 'charts/demo', '1.2.3');
  await cli(['keygen', '--out', join(work, 'signing')]);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

// fleet writes one pull-mode cluster and a profile deploying the chart from `repo` with `verification`
// (YAML of signatureVerification, or none), and the Secret holding `key` as cosign.pub.
async function fleet(repo: string, verification: string | undefined, key = pem(good.publicKey)): Promise<string> {
  const dir = await mkdtemp(join(work, 'fleet-'));
  await writeFile(
    join(dir, 'in.yaml'),
    [
      'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: c1, namespace: edge, labels: {env: prod}}\nspec: {pullMode: true}\n',
      `apiVersion: v1\nkind: Secret\nmetadata: {name: chart-keys, namespace: edge}\ndata:\n  cosign.pub: ${b64(key)}\n`,
      `apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: demo}\nspec:\n  clusterSelector: {matchLabels: {env: prod}}\n  helmCharts:\n  - repositoryURL: oci://${registry.host}/${repo}\n    repositoryName: demo\n    chartName: demo\n    chartVersion: 1.2.3\n    releaseName: demo\n    releaseNamespace: demo\n    registryCredentialsConfig: {plainHTTP: true}\n${verification ? `    signatureVerification: ${verification}\n` : ''}`,
    ].join('---\n'),
  );
  return dir;
}

const exportArgs = (dir: string, out: string, cache: string, ...more: string[]) => ['export', '--from', dir, '--key', join(work, 'signing.key'), '--out', join(work, out), '--cache-dir', join(work, cache), '--helm', helmPath(), ...more];
const PUBLIC_KEY = '{provider: PublicKey, secretRef: {name: chart-keys}}';

describe('OCI chart signatures (signatureVerification) and proofs', () => {
  it('passes a chart signed with the Secret\'s cosign.pub, also --offline from the cache; fails (exit 2) on another key and on an unsigned chart', async () => {
    const ok = await cli(exportArgs(await fleet('charts', PUBLIC_KEY), 'ok.tar', 'cache-a'));
    expect(ok.code, ok.stderr).toBe(0);
    const offline = await cli(exportArgs(await fleet('charts', PUBLIC_KEY), 'offline.tar', 'cache-a', '--offline'));
    expect(offline.code, offline.stderr).toBe(0);
    // The same cache, another key: the cached signature is checked again and does not verify.
    const wrong = await cli(exportArgs(await fleet('charts', PUBLIC_KEY, pem(other.publicKey)), 'wrong.tar', 'cache-a', '--offline'));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(new RegExp(`oci://${registry.host}/charts/demo@${chartDigest}: signatureVerification: no cosign signature verifies with the Secret's cosign\\.pub: .*the signature does not verify with the key`));
    const unsigned = await cli(exportArgs(await fleet('unsigned', PUBLIC_KEY), 'unsigned.tar', 'cache-b'));
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(/unsigned\/demo@sha256:[0-9a-f]{64}: signatureVerification: .*no signature: the repository has no tag sha256-[0-9a-f]{64}\.sig/);
    // A chart that fails its check is never copied into the cache.
    const again = await cli(exportArgs(await fleet('unsigned', undefined), 'u2.tar', 'cache-b', '--offline'));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not in the chart cache and --offline forbids fetching it/);
  });

  it('refuses Keyless and provenanceVerification as UNSUPPORTED, naming the field, instead of skipping the check', async () => {
    const keyless = await cli(exportArgs(await fleet('charts', '{provider: Keyless, matchOIDCIdentity: [{issuer: "https://token.actions.githubusercontent.com", subject: ".*"}]}'), 'k.tar', 'cache-c'));
    expect(keyless.code).not.toBe(0);
    expect(keyless.stderr).toMatch(/spec\.helmCharts\[0\]\.signatureVerification: provider Keyless is UNSUPPORTED/);
    const dir = await fleet('charts', undefined);
    const file = join(dir, 'in.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace(`oci://${registry.host}/charts`, 'https://charts.example.com').concat('    provenanceVerification: {keyringSecretRef: {name: keyring}}\n'));
    const prov = await cli(exportArgs(dir, 'p.tar', 'cache-c'));
    expect(prov.code).not.toBe(0);
    expect(prov.stderr).toMatch(/spec\.helmCharts\[0\]\.provenanceVerification: Helm GPG provenance \(\.prov\) is UNSUPPORTED/);
  });

  it('asks helm its version while charts are fetched, and renders nothing with a helm it refuses', async () => {
    const helm2 = join(work, 'helm2');
    await writeFile(helm2, `#!/bin/sh\necho "$1" >> ${join(work, 'helm2.log')}\nprintf v2.17.0\n`);
    await chmod(helm2, 0o755);
    const r = await cli([...exportArgs(await fleet('charts', undefined), 'h2.tar', 'cache-f'), '--helm', helm2]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/helm2: expected helm v3 or v4, found "v2\.17\.0"/);
    expect((await readFile(join(work, 'helm2.log'), 'utf8')).trim().split('\n')).toEqual(['version']);
  });

  it('carries the .sig tag and the referrers index beside the chart; served and pushed by import --to-registry with digests unchanged; --referrer-type and --no-referrers narrow them', async () => {
    const out = join(work, 'proofs.tar');
    const r = await cli(exportArgs(await fleet('charts', PUBLIC_KEY), 'proofs.tar', 'cache-d'));
    expect(r.code, r.stderr).toBe(0);
    const served = `${registry.host.replace(':', '_')}/charts/demo`;
    const hex = chartDigest.replace(':', '-');
    const inspected = JSON.parse((await cli(['inspect', out, '--output', 'json'])).stdout) as { artifacts: { ref: string; digest: string; kind: string; proofs?: string[]; proofOf?: { ref: string; kind: string } }[] };
    const chart = inspected.artifacts.find((a) => a.ref === `${served}:1.2.3`)!;
    expect(chart).toMatchObject({ kind: 'chart', digest: chartDigest, proofs: ['signature', 'referrers'] });
    expect(inspected.artifacts.find((a) => a.ref === `${served}:${hex}.sig`)?.proofOf).toEqual({ ref: `${served}:1.2.3`, kind: 'signature' });
    const text = (await cli(['inspect', out])).stdout;
    expect(text).toMatch(new RegExp(`${served}:${hex}\\.sig\\s+signature of 1\\.2\\.3`));
    // The inventory names each proof as what it is, beside its subject, and stays valid SPDX 2.3.
    const sbom = JSON.parse((await cli(['inspect', out, '--sbom'])).stdout) as { packages: { name: string; primaryPackagePurpose: string; comment: string }[] };
    expect(spdxErrors(sbom)).toEqual([]);
    expect(sbom.packages.find((p) => p.name === `${served}:${hex}.sig`)).toMatchObject({ primaryPackagePurpose: 'OTHER', comment: expect.stringContaining(`signature of ${served}:1.2.3`) });

    // The next export of the same inputs changes nothing, its proofs included (a chart's signature is no chart).
    const dir = await fleet('charts', PUBLIC_KEY);
    const same = await cli(['diff', '--from', dir, '--against', out, '--exit-code', '--cache-dir', join(work, 'cache-d'), '--helm', helmPath()]);
    expect(same.code, same.stdout + same.stderr).toBe(0);

    const store = join(work, 'store');
    const imported = await cli(['import', out, '--store', store, '--key', join(work, 'signing.pub')]);
    expect(imported.code, imported.stderr).toBe(0);
    const site = await startServer(await createSiteHandler(store), { host: '127.0.0.1', port: await freePort() });
    try {
      const host = site.url.replace('http://', '');
      const sig = await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/${served}:${hex}.sig`]);
      expect(sha256(Buffer.from(sig.stdout))).toBe(inspected.artifacts.find((a) => a.ref === `${served}:${hex}.sig`)!.digest);
      const listed = (await (await fetch(`${site.url}/v2/${served}/referrers/${chartDigest}`)).json()) as { manifests: { digest: string }[] };
      expect(listed.manifests.map((m) => m.digest)).toEqual([attestation]);
    } finally {
      await site.close();
    }
    // import --to-registry pushes the proofs along, under the same tags.
    const pushed = await cli(['import', out, '--store', store, '--key', join(work, 'signing.pub'), '--to-registry', `oci://${registry.host}/mirror`, '--plain-http']);
    expect(pushed.code, pushed.stderr).toBe(0);
    const mirror = new RegistryClient({ registry: registry.host, repository: `mirror/${served}`, plainHTTP: true });
    try {
      expect((await mirror.resolve(`${hex}.sig`)).digest).toBe(inspected.artifacts.find((a) => a.ref === `${served}:${hex}.sig`)!.digest);
      expect((await mirror.resolve(hex)).digest).toBe(inspected.artifacts.find((a) => a.ref === `${served}:${hex}`)!.digest);
    } finally {
      await mirror.close();
    }

    // Only signatures: the referrers index stays behind.
    const sigOnly = join(work, 'sig-only.tar');
    expect((await cli(exportArgs(await fleet('charts', undefined), 'sig-only.tar', 'cache-d', '--offline', '--referrer-type', 'application/vnd.dev.cosign.simplesigning.v1+json'))).code).toBe(0);
    const narrowed = JSON.parse((await cli(['inspect', sigOnly, '--output', 'json'])).stdout) as { artifacts: { ref: string; proofs?: string[] }[] };
    expect(narrowed.artifacts.find((a) => a.ref === `${served}:1.2.3`)?.proofs).toEqual(['signature']);
    const none = join(work, 'none.tar');
    expect((await cli(exportArgs(await fleet('charts', undefined), 'none.tar', 'cache-d', '--offline', '--no-referrers'))).code).toBe(0);
    const plain = JSON.parse((await cli(['inspect', none, '--output', 'json'])).stdout) as { artifacts: { ref: string }[] };
    expect(plain.artifacts.map((a) => a.ref)).toEqual([`${served}:1.2.3`]);
    // A chart cached without its proofs gets them on the next export online.
    expect((await cli(exportArgs(await fleet('charts', undefined), 'bare.tar', 'cache-e', '--no-referrers'))).code).toBe(0);
    expect((await cli(exportArgs(await fleet('charts', undefined), 'later.tar', 'cache-e'))).code).toBe(0);
    const later = JSON.parse((await cli(['inspect', join(work, 'later.tar'), '--output', 'json'])).stdout) as { artifacts: { ref: string; proofs?: string[] }[] };
    expect(later.artifacts.find((a) => a.ref === `${served}:1.2.3`)?.proofs).toEqual(['signature', 'referrers']);
  });
});
