// Real servers for the Helm and image tests: Debian's docker-registry (plain, htpasswd and token auth,
// the token service written here), a static HTTP chart repository, and free ports on 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSign, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import { sha256 } from '../../src/content/digest.js';
import { RegistryClient } from '../../src/registry/client.js';
import { exec } from './helm-env.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** freePort asks the kernel for a free port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface RunningRegistry {
  host: string;
  url: string;
  username?: string;
  password?: string;
  stop(): Promise<void>;
}

async function waitFor(url: string, ok: (status: number) => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (ok(res.status)) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url}: not up after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** startTokenServer runs a distribution token service: basic credentials in, an RS256 JWT (x5c header) out. */
async function startTokenServer(dir: string, user: string, pass: string): Promise<{ realm: string; cert: string; server: Server }> {
  const key = join(dir, 'token.key');
  const cert = join(dir, 'token.crt');
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=test-token-issuer']);
  const keyPem = await readFile(key, 'utf8');
  const certDer = (await readFile(cert, 'utf8')).replace(/-----[^-]+-----|\s/g, '');
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const [u, p] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':');
    if (u !== user || p !== pass) {
      res.writeHead(401).end();
      return;
    }
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const access = q.getAll('scope').map((s) => {
      const [type, name, actions] = s.split(':');
      return { type, name, actions: (actions ?? '').split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer] };
    const claims = { iss: 'test-issuer', sub: user, aud: q.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${b64(header)}.${b64(claims)}`;
    const sig = createSign('RSA-SHA256').update(input).sign(keyPem).toString('base64url');
    const token = `${input}.${sig}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, cert, server };
}

/** startRegistry runs docker-registry on a free port with a temp config: no auth, htpasswd, or token auth. */
export async function startRegistry(dir: string, auth: 'none' | 'htpasswd' | 'token' = 'none'): Promise<RunningRegistry> {
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const username = 'tester';
  const password = 'secret-pass';
  let authYaml = '';
  let tokenServer: Server | undefined;
  if (auth === 'htpasswd') {
    const { stdout } = await exec('htpasswd', ['-Bbn', username, password]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    authYaml = `auth:\n  htpasswd:\n    realm: test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth === 'token') {
    const t = await startTokenServer(dir, username, password);
    tokenServer = t.server;
    authYaml = `auth:\n  token:\n    realm: ${t.realm}\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: ${t.cert}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${authYaml}`;
  await writeFile(join(dir, 'config.yml'), config);
  const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/v2/`, (s) => s === 200 || s === 401);
  } catch (err) {
    await stopProcess(child);
    throw new Error(`docker-registry did not start: ${(err as Error).message}\n${stderr}`);
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    ...(auth === 'none' ? {} : { username, password }),
    stop: async () => {
      await stopProcess(child);
      if (tokenServer) await new Promise<void>((r) => tokenServer!.close(() => r()));
    },
  };
}

/** startStaticServer serves files under `root` (a chart repository); optional basic auth. */
export async function startStaticServer(root: string, auth?: { username: string; password: string }): Promise<{ url: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (auth && req.headers.authorization !== `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end();
      return;
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (data) => res.writeHead(200, { 'content-length': String(data.length) }).end(data),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

/**
 * pushArtifact pushes an OCI artifact (image manifest with `config` and `layers`) to a running registry,
 * tagged `tag`, and returns the manifest digest.
 */
export async function pushArtifact(
  registry: RunningRegistry,
  repository: string,
  tag: string,
  config: { mediaType: string; data: Buffer },
  layers: { mediaType: string; data: Buffer; annotations?: Record<string, string> }[],
  /** More manifest fields (an OCI 1.1 referrer's artifactType and subject). */
  fields: Record<string, unknown> = {},
): Promise<string> {
  const credentials = registry.username ? { credentials: { username: registry.username, password: registry.password! } } : {};
  const client = new RegistryClient({ registry: registry.host, repository, plainHTTP: true, ...credentials });
  try {
    const desc = (mediaType: string, b: Buffer) => ({ mediaType, digest: sha256(b), size: b.length });
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', ...fields, config: desc(config.mediaType, config.data), layers: layers.map((l) => ({ ...desc(l.mediaType, l.data), ...(l.annotations ? { annotations: l.annotations } : {}) })) }),
    );
    for (const b of [config.data, ...layers.map((l) => l.data)]) {
      await client.push(desc('application/octet-stream', b), Readable.from([b])).catch((e: { code?: string }) => {
        if (e.code !== 'ALREADY_EXISTS') throw e;
      });
    }
    const m = desc('application/vnd.oci.image.manifest.v1+json', manifest);
    await client.push(m, Readable.from([manifest]));
    await client.tag(m, tag);
    return m.digest;
  } finally {
    await client.close();
  }
}
