// Test builders for signed bundles: keys, cluster inputs and packed tars in temp dirs.
import { createHash, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, loadPrivateKey, loadPublicKey } from '../src/bundle/keys.js';
import type { ClusterArtifactInput } from '../src/bundle/manifest.js';
import { packBundle, type ExtraArtifact, type PackResult } from '../src/bundle/pack.js';
import { KeySigner } from '../src/bundle/sign.js';
import { tempDir } from './helpers.js';

export interface TestKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  signer: KeySigner;
  keyPath: string;
  pubPath: string;
}

/** testKeys makes a fresh signing key pair, also written as PREFIX.key / PREFIX.pub in a temp dir. */
export async function testKeys(): Promise<TestKeys> {
  const pair = generateKeyPair();
  const dir = await tempDir('sveltos-airgap-keys-');
  const keyPath = join(dir, 'signing.key');
  const pubPath = join(dir, 'signing.pub');
  await writeFile(keyPath, pair.privateKeyPem, { mode: 0o600 });
  await writeFile(pubPath, pair.publicKeyPem);
  const privateKey = loadPrivateKey(pair.privateKeyPem);
  return { privateKey, publicKey: loadPublicKey(pair.publicKeyPem), signer: new KeySigner(privateKey), keyPath, pubPath };
}

/** clusterInput builds one cluster's artifact input with `groups` YAML streams. */
export function clusterInput(ns: string, name: string, labels: Record<string, string> = {}, groups: string[] = ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n']): ClusterArtifactInput {
  return {
    namespace: ns,
    name,
    config: { namespace: ns, name, labels, profiles: [{ kind: 'ClusterProfile', name: 'p1', tier: 100 }] },
    groups: groups.map((yaml, i) => ({ name: `config-${name}-${i}`, feature: 'Resources', requestor: `p1-sveltos-${name}`, yaml })),
  };
}

export const T0 = new Date('2026-01-01T00:00:00Z');
export const DAY = 86_400_000;

export interface MakeBundleOptions {
  clusters?: ClusterArtifactInput[];
  extras?: ExtraArtifact[];
  sequence?: number;
  createdAt?: Date;
  expiresAt?: Date;
  out?: string;
  splitSize?: number;
  encryptTo?: KeyObject[];
}

/** makeBundle packs a signed bundle into a temp dir (or `out`). */
export async function makeBundle(keys: TestKeys, opts: MakeBundleOptions = {}): Promise<PackResult & { path: string }> {
  const out = opts.out ?? join(await tempDir('sveltos-airgap-bundle-'), 'bundle.tar');
  const createdAt = opts.createdAt ?? T0;
  const result = await packBundle({
    clusters: opts.clusters ?? [clusterInput('prod', 'c1', { env: 'prod' }), clusterInput('edge', 'c2', { env: 'edge' })],
    extras: opts.extras ?? [],
    signer: keys.signer,
    sequence: opts.sequence ?? 1,
    createdAt,
    expiresAt: opts.expiresAt ?? new Date(createdAt.getTime() + 30 * DAY),
    source: 'test',
    out,
    ...(opts.splitSize ? { splitSize: opts.splitSize } : {}),
    ...(opts.encryptTo ? { encryptTo: opts.encryptTo } : {}),
  });
  return { ...result, path: out };
}

/** configMapYAML is one ConfigMap of about `bytes` bytes, its data derived from `seed` (distinct seeds, distinct blobs). */
export function configMapYAML(name: string, bytes: number, seed = name): string {
  let data = '';
  for (let i = 0; data.length < bytes; i++) data += createHash('sha256').update(`${seed}/${i}`).digest('hex');
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  blob: ${data.slice(0, bytes)}\n`;
}

/**
 * chartExtra is a Helm chart artifact of about `bytes` bytes (pseudo-random, so it does not compress), carried
 * as an extra; with `fill`, the chart is that byte repeated instead (equal chunks when split).
 */
export async function chartExtra(ref: string, bytes: number, fill?: number): Promise<ExtraArtifact> {
  const { MemoryTarget } = await import('../src/content/memory.js');
  const { pushBytes } = await import('../src/content/bytes.js');
  const { MEDIA_TYPE_HELM_CHART, MEDIA_TYPE_HELM_CONFIG } = await import('../src/model/bundle.js');
  const { MEDIA_TYPE_IMAGE_MANIFEST } = await import('../src/model/oci.js');
  const source = new MemoryTarget();
  const chunks: Buffer[] = [];
  for (let i = 0; chunks.length * 32 < bytes; i++) chunks.push(createHash('sha256').update(`${ref}/${i}`).digest());
  const layer = await pushBytes(source, MEDIA_TYPE_HELM_CHART, fill === undefined ? Buffer.concat(chunks).subarray(0, bytes) : Buffer.alloc(bytes, fill));
  const config = await pushBytes(source, MEDIA_TYPE_HELM_CONFIG, Buffer.from(JSON.stringify({ name: ref, version: '1.0.0' })));
  const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config, layers: [layer] };
  const root = await pushBytes(source, MEDIA_TYPE_IMAGE_MANIFEST, Buffer.from(JSON.stringify(manifest)));
  return { source, root, ref };
}


/** readTarEntries reads every file of a (small) layout tar into memory, in archive order. */
export async function readTarEntries(path: string): Promise<Map<string, Buffer>> {
  const { readFile } = await import('node:fs/promises');
  const { scanTarFile } = await import('../src/content/tar-scan.js');
  const buf = await readFile(path);
  const scan = await scanTarFile(path);
  const out = new Map<string, Buffer>();
  const entries = [...scan.blobs.values(), ...scan.files.values()].sort((a, b) => a.offset - b.offset);
  for (const e of entries) out.set(e.name, buf.subarray(e.offset, e.offset + e.size));
  return out;
}

/** writeTarEntries writes entries as a plain layout tar (no directories), for tampering tests. */
export async function writeTarEntries(path: string, entries: Map<string, Buffer>): Promise<void> {
  const { rawTar } = await import('./tar.js');
  await writeFile(path, rawTar([...entries].map(([name, data]) => ({ name, data }))));
}

/** tamper rewrites a bundle tar through `mutate` and returns the path of the copy. */
export async function tamper(path: string, mutate: (entries: Map<string, Buffer>) => void | Promise<void>): Promise<string> {
  const entries = await readTarEntries(path);
  await mutate(entries);
  const out = join(await tempDir('sveltos-airgap-tampered-'), 'bundle.tar');
  await writeTarEntries(out, entries);
  return out;
}

/** blobEntry names the tar entry of a digest. */
export const blobEntry = (digest: string): string => `blobs/sha256/${digest.slice('sha256:'.length)}`;
