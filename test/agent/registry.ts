// Debian's docker-registry (CNCF distribution) on 127.0.0.1 with a temp config, plain or htpasswd, and a
// token-auth front for it; all stopped when the test finishes.
import { spawn } from 'node:child_process';
import { createServer as createHttpServer, request, type IncomingMessage, type Server } from 'node:http';
import { createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { MemoryTarget } from '../../src/content/memory.js';
import { pushBlob, pushJSON } from '../../src/bundle/manifest.js';
import { MEDIA_TYPE_HELM_CHART, MEDIA_TYPE_HELM_CONFIG } from '../../src/model/bundle.js';
import { MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor } from '../../src/model/oci.js';
import { tempDir } from '../helpers.js';
import { run } from './fixtures.js';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** startRegistry runs docker-registry; with `user` it requires htpasswd basic auth. */
export async function startRegistry(user?: { name: string; password: string }): Promise<{ host: string }> {
  const dir = await tempDir('sveltos-airgap-registry-');
  const port = await freePort();
  let auth = '';
  if (user) {
    const { stdout } = await run('htpasswd', ['-Bbn', user.name, user.password]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    auth = `auth:\n  htpasswd:\n    realm: test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  await writeFile(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`);
  const child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  onTestFinished(() => {
    child.kill();
  });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`http://${host}/v2/`).then((r) => r.status, () => 0);
    if (up === 200 || up === 401) break;
    if (i > 200 || child.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return { host };
}

/** TokenFront is a running token-auth front; `readOnly` names repositories it grants no push to (changeable). */
export interface TokenFront {
  host: string;
  scopes: string[];
  readOnly: Set<string>;
}

/**
 * startTokenFront puts distribution-spec token authentication in front of a plain registry: /v2/ asks for
 * a Bearer token from /token, which is granted for `user` with the requested scope, except push to the
 * repositories in `readOnly`. As in distribution, a token only allows the actions of its scope: writes need a
 * `push` scope.
 */
export async function startTokenFront(upstream: string, user: { name: string; password: string }): Promise<TokenFront> {
  const scopes: string[] = [];
  const readOnly = new Set<string>();
  const tokens = new Map<string, string>();
  let self = '';
  const server: Server = createHttpServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      const basic = `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}`;
      if (req.headers.authorization !== basic) {
        res.writeHead(401).end();
        return;
      }
      let scope = url.searchParams.get('scope') ?? '';
      scopes.push(scope);
      const repo = /^repository:([^:]+):/.exec(scope)?.[1];
      if (repo && readOnly.has(repo)) scope = `repository:${repo}:pull`;
      const token = `tok-${tokens.size}-${Buffer.from(scope).toString('base64url')}`;
      tokens.set(token, scope);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token }));
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    if (!bearer || !tokens.has(bearer) || (write && !/[:,]push(,|$)/.test(tokens.get(bearer)!))) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${self}/token",service="test-registry"`, 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}');
      return;
    }
    const headers = { ...req.headers, host: upstream };
    delete headers.authorization;
    const up = request({ host: upstream.split(':')[0], port: Number(upstream.split(':')[1]), method: req.method, path: req.url, headers }, (ur) => {
      const h = { ...ur.headers };
      if (typeof h.location === 'string') h.location = h.location.replace(`http://${upstream}`, `http://${self}`);
      res.writeHead(ur.statusCode ?? 502, h);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self = `127.0.0.1:${(server.address() as { port: number }).port}`;
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return { host: self, scopes, readOnly };
}

/** fakeChart builds a small Helm chart OCI artifact in memory. */
export async function fakeChart(name: string, version: string): Promise<{ source: MemoryTarget; root: Descriptor }> {
  const source = new MemoryTarget();
  const config = await pushJSON(source, MEDIA_TYPE_HELM_CONFIG, { apiVersion: 'v2', name, version });
  const layer = await pushBlob(source, MEDIA_TYPE_HELM_CHART, Buffer.from(`${name}-${version} chart archive bytes `.repeat(2000)));
  const root = await pushJSON(source, MEDIA_TYPE_IMAGE_MANIFEST, { schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config, layers: [layer] });
  return { source, root };
}
