// Shared test helpers: temp dirs, loopback servers (cleaned up after each test) and fresh key pairs.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { onTestFinished } from 'vitest';

/** tempDir makes a directory removed when the current test finishes. */
export async function tempDir(prefix = 'sveltos-airgap-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** testdir writes a tree of files ({ 'a/b.yaml': '…' }) into a fresh temp dir. */
export async function testdir(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await tempDir();
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, content);
  }
  return dir;
}

/** treeDigest hashes every path, mode and file content under `dir`: equal digests mean an untouched tree. */
export async function treeDigest(dir: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { lstat, readdir, readFile } = await import('node:fs/promises');
  const h = createHash('sha256');
  const walk = async (p: string, rel: string): Promise<void> => {
    const st = await lstat(p);
    h.update(`${rel}\0${st.mode}\0`);
    if (st.isDirectory()) {
      for (const name of (await readdir(p)).sort()) await walk(join(p, name), `${rel}/${name}`);
    } else if (st.isFile()) {
      h.update(await readFile(p));
    }
  };
  await walk(dir, '.');
  return h.digest('hex');
}

/** prng is mulberry32: a small seeded generator, so a run that fails can be replayed with the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** loopbackServer serves `handler` on 127.0.0.1 until the test finishes and returns its base URL. */
export async function loopbackServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    server.close();
    server.closeAllConnections();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// generateKeyPairSync's overloads, by what this file passes: PEM text out.
const generatePem = generateKeyPairSync as (type: string, options: object) => { privateKey: string; publicKey: string };

/**
 * keyPair makes a fresh key pair as KeyObjects parsed from PEM, not the ones generateKeyPairSync returns:
 * exporting those as JWK can deadlock Node 20 (see KeySigner in src/bundle/sign.ts).
 */
export function keyPair(type: 'ec' | 'x25519' | 'ed25519' | 'rsa', options: { namedCurve?: string; modulusLength?: number } = {}): { privateKey: KeyObject; publicKey: KeyObject } {
  const pem = generatePem(type, { ...options, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { privateKey: createPrivateKey(pem.privateKey), publicKey: createPublicKey(pem.publicKey) };
}
