// Encrypted objects layers (docs/format.md "Encrypted objects"): only the site's private key reads them, the
// signature covers the ciphertext, and inspect says to whom they are encrypted.
import { execFile } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { blobEntry, clusterInput, configMapYAML, DAY, makeBundle, T0, tamper, testKeys } from '../../test/bundles.js';
import { cli } from '../../test/cli.js';
import { keyPair, tempDir } from '../../test/helpers.js';
import { TarLayoutStore } from '../content/tarfs.js';
import { ANNOTATION_RECIPIENTS, MEDIA_TYPE_OBJECTS, MEDIA_TYPE_OBJECTS_ENCRYPTED } from '../model/bundle.js';
import { manifestFromJSON } from '../content/descriptor.js';
import { readObjectsLayer } from './objects.js';
import { carriesSecret, decryptObjects, encryptObjects, loadSitePrivateKey, loadSitePublicKeys, recipientId, sealSeed } from './secrets.js';

const run = promisify(execFile);
const NOW = ['--now', new Date(T0.getTime() + DAY).toISOString()];

const secretYAML = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: default\ndata:\n  password: aHVudGVyMg==\n';
const bundleWithSecret = `apiVersion: lib.projectsveltos.io/v1beta1
kind: ConfigurationBundle
metadata:
  name: config-1
  namespace: prod
spec:
  resources:
  - |
    apiVersion: v1
    kind: Secret
    metadata:
      name: pull
    type: kubernetes.io/dockerconfigjson
`;

const x25519 = () => keyPair('x25519');
const p256 = () => keyPair('ec', { namedCurve: 'P-256' });

async function failure(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error('expected a failure');
}

async function writeSiteKeys(dir: string, name: string, pair: { privateKey: KeyObject; publicKey: KeyObject }) {
  const key = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  await writeFile(key, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return { key, pub };
}

describe('encryptObjects / decryptObjects', () => {
  it.each([
    ['X25519', x25519],
    ['P-256', p256],
  ])('opens with any recipient key (%s), and with no other', async (_name, make) => {
    const [a, b, other] = [make(), x25519(), p256()];
    const plain = Buffer.from(secretYAML);
    const { envelope, recipients } = encryptObjects(plain, [a.publicKey, b.publicKey]);
    expect(recipients).toEqual([recipientId(a.publicKey), recipientId(b.publicKey)]);
    expect(envelope.includes(Buffer.from('aHVudGVyMg=='))).toBe(false);
    expect(decryptObjects(envelope, [a.privateKey], 'layer').equals(plain)).toBe(true);
    expect(decryptObjects(envelope, [other.privateKey, b.privateKey], 'layer').equals(plain)).toBe(true);
    const f = await failure(() => decryptObjects(envelope, [other.privateKey], 'layer sha256:x'));
    expect(f.code).toBe('POLICY');
    expect(f.message).toContain(`layer sha256:x: encrypted to key(s) ${recipients.join(', ')}; this site's key is ${recipientId(other.privateKey)}`);
  });

  it('seals the same plaintext to the same recipients identically under one seed, and differently under another', async () => {
    const [x, p] = [x25519(), p256()];
    const keys = await testKeys();
    const plain = Buffer.from(secretYAML);
    const seed = await sealSeed(keys.signer, plain, [x.publicKey, p.publicKey]);
    expect(seed.equals(await sealSeed(keys.signer, plain, [x.publicKey, p.publicKey]))).toBe(true);
    const one = encryptObjects(plain, [x.publicKey, p.publicKey], seed).envelope;
    expect(one.equals(encryptObjects(plain, [x.publicKey, p.publicKey], seed).envelope)).toBe(true);
    expect(decryptObjects(one, [x.privateKey], 'layer').equals(plain)).toBe(true);
    expect(decryptObjects(one, [p.privateKey], 'layer').equals(plain)).toBe(true);
    // Another signing key, other content or other recipients give another seed; nothing is shared between them.
    const seeds = [seed, await sealSeed((await testKeys()).signer, plain, [x.publicKey, p.publicKey]), await sealSeed(keys.signer, Buffer.from(`${secretYAML}#`), [x.publicKey, p.publicKey]), await sealSeed(keys.signer, plain, [x.publicKey])];
    expect(new Set(seeds.map((s) => s.toString('hex'))).size).toBe(4);
    const other = JSON.parse(encryptObjects(plain, [x.publicKey, p.publicKey], seeds[1]).envelope.toString());
    const first = JSON.parse(one.toString());
    expect(other.iv).not.toBe(first.iv);
    expect(other.recipients.map((r: { epk: string }) => r.epk)).not.toContain(first.recipients[0].epk);
    // Without a seed every envelope is fresh.
    expect(encryptObjects(plain, [x.publicKey]).envelope.equals(encryptObjects(plain, [x.publicKey]).envelope)).toBe(false);
  });

  it('refuses altered ciphertext and wrapped keys as TAMPERED', async () => {
    const site = x25519();
    const env = JSON.parse(encryptObjects(Buffer.from(secretYAML), [site.publicKey]).envelope.toString());
    const flip = (b64: string) => {
      const b = Buffer.from(b64, 'base64');
      b[0] = b[0]! ^ 1;
      return b.toString('base64');
    };
    for (const mutate of [(e: typeof env) => void (e.ciphertext = flip(e.ciphertext)), (e: typeof env) => void (e.recipients[0].wrappedKey = flip(e.recipients[0].wrappedKey))]) {
      const copy = structuredClone(env);
      mutate(copy);
      expect((await failure(() => decryptObjects(Buffer.from(JSON.stringify(copy)), [site.privateKey], 'layer'))).code).toBe('TAMPERED');
    }
    expect((await failure(() => decryptObjects(Buffer.from('{"version":2}'), [site.privateKey], 'layer'))).message).toMatch(/layer: encrypted objects: version: expected 1/);
  });

  it('finds Secrets directly and inside ConfigurationBundle resources', () => {
    expect(carriesSecret(secretYAML)).toBe(true);
    expect(carriesSecret(`${configMapYAML('a', 100)}---\n${bundleWithSecret}`)).toBe(true);
    expect(carriesSecret(configMapYAML('a', 100))).toBe(false);
  });

  it('loads X25519 keys made by openssl and P-256 keys, and refuses other kinds', async () => {
    const dir = await tempDir();
    await run('openssl', ['genpkey', '-algorithm', 'X25519', '-out', join(dir, 'site.key')]);
    await run('openssl', ['pkey', '-in', join(dir, 'site.key'), '-pubout', '-out', join(dir, 'site.pub')]);
    const key = loadSitePrivateKey(await readFile(join(dir, 'site.key'), 'utf8'), 'site.key');
    const [pub] = loadSitePublicKeys(await readFile(join(dir, 'site.pub'), 'utf8'), 'site.pub');
    expect(recipientId(key)).toBe(recipientId(pub!));
    const rsa = keyPair('rsa', { modulusLength: 1024 });
    expect(() => loadSitePublicKeys(String(rsa.publicKey.export({ type: 'spki', format: 'pem' })), 'rsa.pub')).toThrow(/rsa.pub: expected an X25519 or P-256 site key, found a rsa key/);
    expect(() => loadSitePublicKeys(String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })), 'x.pub')).toThrow(/found a private key/);
  });
});

describe('bundles with encrypted Secrets', () => {
  it('encrypts only the layers that carry Secrets; verify, import and inspect with and without the site key', async () => {
    const keys = await testKeys();
    const dir = await tempDir();
    const site = await writeSiteKeys(dir, 'site', x25519());
    const other = await writeSiteKeys(dir, 'other', p256());
    const [sitePub] = loadSitePublicKeys(await readFile(site.pub, 'utf8'), site.pub);
    const clusters = [clusterInput('prod', 'c1', { env: 'prod' }, [configMapYAML('plain', 200), secretYAML, `${configMapYAML('x', 50)}---\n${bundleWithSecret}`])];
    const b = await makeBundle(keys, { clusters, encryptTo: [sitePub!] });
    expect(b.encrypted).toHaveLength(2);
    const store = await TarLayoutStore.open(b.path);
    const cluster = b.index.manifests.find((m) => m.annotations?.['io.projectsveltos.airgap.cluster'] === 'prod/c1')!;
    const layers = manifestFromJSON(Buffer.concat(await (await store.fetch(cluster)).toArray())).layers;
    expect(layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPE_OBJECTS, MEDIA_TYPE_OBJECTS_ENCRYPTED, MEDIA_TYPE_OBJECTS_ENCRYPTED]);
    expect(layers[1]!.annotations?.[ANNOTATION_RECIPIENTS]).toBe(recipientId(sitePub!));
    expect((await readFile(b.path)).includes(Buffer.from('aHVudGVyMg=='))).toBe(false);
    // The agent API reads them with the site key.
    const objects = await readObjectsLayer(store, layers[1]!, { siteKeys: [loadSitePrivateKey(await readFile(site.key, 'utf8'), site.key)] });
    expect(objects[0]).toMatchObject({ kind: 'Secret', data: { password: 'aHVudGVyMg==' } });

    const verify = await cli(['verify', b.path, '--key', keys.pubPath, '--site-key', site.key, '--output', 'json', ...NOW]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout).encrypted).toEqual([
      { cluster: 'prod/c1', layer: layers[1]!.digest, recipients: [recipientId(sitePub!)] },
      { cluster: 'prod/c1', layer: layers[2]!.digest, recipients: [recipientId(sitePub!)] },
    ]);
    const wrongSite = await cli(['verify', b.path, '--key', keys.pubPath, '--site-key', other.key, ...NOW]);
    expect(wrongSite.code).toBe(2);
    expect(wrongSite.stderr).toMatch(/objects layer sha256:[a-f0-9]{64}: encrypted to key\(s\) [a-f0-9]{64}; this site's key is [a-f0-9]{64}: export again with --encrypt-to/);

    const inspect = await cli(['inspect', b.path]);
    expect(inspect.stdout).toMatch(/prod\/c1 .* 3 \(2 encrypted\)/);
    expect(inspect.stdout).toContain(`prod/c1  config-c1-1      ${recipientId(sitePub!)}`);

    const storeDir = join(dir, 'store');
    const refused = await cli(['import', b.path, '--store', storeDir, '--key', keys.pubPath, '--site-key', other.key, ...NOW]);
    expect(refused.code).toBe(2);
    const imported = await cli(['import', b.path, '--store', storeDir, '--key', keys.pubPath, ...NOW]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/warning: ENCRYPTED: 2 objects layer\(s\) are encrypted to key\(s\) [a-f0-9]{64}: they were not opened/);
  });

  it('the signature covers the ciphertext: an altered encrypted layer fails verification', async () => {
    const keys = await testKeys();
    const site = x25519();
    const b = await makeBundle(keys, { clusters: [clusterInput('prod', 'c1', {}, [secretYAML])], encryptTo: [site.publicKey] });
    const layer = b.encrypted[0]!.layer;
    const bad = await tamper(b.path, (e) => {
      const env = JSON.parse(e.get(blobEntry(layer.digest))!.toString());
      env.recipients = [];
      e.set(blobEntry(layer.digest), Buffer.from(JSON.stringify(env)));
    });
    const r = await cli(['verify', bad, '--key', keys.pubPath, ...NOW]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(layer.digest);
  });
});
