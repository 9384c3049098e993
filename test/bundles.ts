// Test builders for signed bundles: keys, cluster inputs and packed tars in temp dirs.
import type { KeyObject } from 'node:crypto';
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
  });
  return { ...result, path: out };
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
