// RegistryClient against real in-process servers: our registry handler over a MemoryTarget, wrapped by
// ad-hoc handlers that demand basic or bearer auth, fail transiently, or serve wrong bytes.
import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTarget } from '../content/memory.js';
import { pushBytes } from '../content/bytes.js';
import { readAll } from '../content/verify.js';
import { MEDIA_TYPE_IMAGE_MANIFEST, EMPTY_JSON_DESCRIPTOR } from '../model/oci.js';
import { createRegistryHandler } from './server/handler.js';
import { toRequestListener } from './server/http.js';
import { parseChallenge, RegistryClient } from './client.js';
import { ensureSelfSignedTLS } from '../serve/tls.js';
import { tempDir } from '../../test/helpers.js';

type Wrap = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
const servers: { close(): void }[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

async function setup(wrap: Wrap = (_q, _s, next) => next()) {
  const store = new MemoryTarget();
  const blob = await pushBytes(store, 'application/octet-stream', Buffer.from('layer bytes'));
  await pushBytes(store, EMPTY_JSON_DESCRIPTOR.mediaType, Buffer.from('{}'));
  const manifest = await pushBytes(store, MEDIA_TYPE_IMAGE_MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config: { ...EMPTY_JSON_DESCRIPTOR, data: undefined }, layers: [blob] })));
  await store.tag(manifest, 'team/app:1.0');
  const inner = toRequestListener(createRegistryHandler(store));
  const server = createServer((req, res) => wrap(req, res, () => inner(req, res)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({ close: () => { server.close(); server.closeAllConnections(); } });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, blob, manifest };
}

describe('RegistryClient', () => {
  it('resolves tags, lists tags, fetches verified content', async () => {
    const { host, blob, manifest } = await setup();
    const c = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true });
    const d = await c.resolve('1.0');
    expect(d).toMatchObject({ digest: manifest.digest, size: manifest.size, mediaType: MEDIA_TYPE_IMAGE_MANIFEST });
    expect(await c.tags()).toEqual(['1.0']);
    expect((await readAll(await c.fetch(blob), blob)).toString()).toBe('layer bytes');
    expect(await c.exists(blob)).toBe(true);
    expect(await c.exists({ ...blob, digest: `sha256:${'0'.repeat(64)}` })).toBe(false);
    await expect(c.resolve('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await c.close();
  });

  it('answers a basic challenge with the credentials and refuses without them', async () => {
    const { host } = await setup((req, res, next) => {
      if (req.headers.authorization === `Basic ${Buffer.from('u:p').toString('base64')}`) return next();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
    });
    const ok = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true, credentials: { username: 'u', password: 'p' } });
    expect((await ok.resolve('1.0')).size).toBeGreaterThan(0);
    const anon = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true });
    await expect(anon.resolve('1.0')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await Promise.all([ok.close(), anon.close()]);
  });

  it('gets a bearer token for the repository scope once and reuses it', async () => {
    let tokens = 0;
    const scopes: string[] = [];
    const { host } = await setup((req, res, next) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') {
        tokens++;
        scopes.push(`${url.searchParams.get('service')} ${url.searchParams.get('scope')}`);
        if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) return void res.writeHead(401).end();
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'tok-1' }));
      }
      if (req.headers.authorization === 'Bearer tok-1') return next();
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="reg",scope="repository:team/app:pull"` }).end();
    });
    const c = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true, credentials: { username: 'u', password: 'p' } });
    const d = await c.resolve('1.0');
    await readAll(await c.fetch(d), d);
    expect(await c.tags()).toEqual(['1.0']);
    expect(tokens).toBe(1);
    expect(scopes).toEqual(['reg repository:team/app:pull']);
    await c.close();
  });

  it('retries 503 and 429 with backoff, then succeeds', async () => {
    let n = 0;
    const { host } = await setup((_req, res, next) => {
      n++;
      if (n === 1) return void res.writeHead(503).end();
      if (n === 2) return void res.writeHead(429, { 'retry-after': '0' }).end();
      next();
    });
    const c = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true, backoffMs: 5 });
    // A signal shared by a whole export keeps no listener from the waits between attempts.
    const signal = new AbortController().signal;
    expect((await c.resolve('1.0', { signal })).size).toBeGreaterThan(0);
    expect(n).toBeGreaterThanOrEqual(3);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await c.close();
  });

  it('resolves a reference and reads its manifest in one request', async () => {
    const seen: string[] = [];
    const { host, manifest } = await setup((req, _res, next) => {
      seen.push(`${req.method} ${req.url}`);
      next();
    });
    const c = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true });
    const byTag = await c.resolveContent('1.0');
    expect(byTag.descriptor).toEqual({ mediaType: MEDIA_TYPE_IMAGE_MANIFEST, digest: manifest.digest, size: manifest.size });
    expect(JSON.parse(byTag.content.toString('utf8'))).toMatchObject({ schemaVersion: 2 });
    expect(seen).toEqual(['GET /v2/team/app/manifests/1.0']);
    expect((await c.resolveContent(manifest.digest)).descriptor.digest).toBe(manifest.digest);
    await expect(c.resolveContent('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await c.close();
  });

  it('refuses a manifest whose bytes disagree with the digest asked for or announced', async () => {
    const other = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config: EMPTY_JSON_DESCRIPTOR, layers: [] }));
    const { host, manifest } = await setup((req, res, next) => {
      if (!req.url?.includes('/manifests/')) return next();
      // The announced digest is the real manifest's; the body is another document.
      res.writeHead(200, { 'content-type': MEDIA_TYPE_IMAGE_MANIFEST, 'docker-content-digest': manifest.digest, 'content-length': String(other.length) }).end(other);
    });
    const c = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true });
    await expect(c.resolveContent('1.0')).rejects.toMatchObject({ code: 'REGISTRY', message: expect.stringContaining(`announced digest ${manifest.digest} (Docker-Content-Digest) but returned a manifest with digest sha256:`) });
    await expect(c.resolveContent(manifest.digest)).rejects.toMatchObject({ code: 'REGISTRY', details: { expected: manifest.digest } });
    await c.close();
  });

  it('fails a fetch whose bytes do not match the digest', async () => {
    const { host, blob } = await setup((req, res, next) => {
      if (req.url?.includes('/blobs/')) return void res.writeHead(200, { 'content-length': String(blob.size) }).end(Buffer.alloc(blob.size, 0x41));
      next();
    });
    const c = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true });
    await expect(readAll(await c.fetch(blob), blob)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await c.close();
  });

  it('follows a blob redirect to another origin without sending the credentials there', async () => {
    const seen: (string | undefined)[] = [];
    const storage = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-length': '11' }).end('layer bytes');
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    servers.push({ close: () => { storage.close(); storage.closeAllConnections(); } });
    const storageURL = `http://127.0.0.1:${(storage.address() as AddressInfo).port}/data`;
    const auth = `Basic ${Buffer.from('u:p').toString('base64')}`;
    const { host, blob } = await setup((req, res, next) => {
      if (req.headers.authorization !== auth) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
      if (req.url?.includes('/blobs/')) return void res.writeHead(307, { location: storageURL }).end();
      next();
    });
    const c = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true, credentials: { username: 'u', password: 'p' } });
    await c.resolve('1.0');
    expect((await readAll(await c.fetch(blob), blob)).toString()).toBe('layer bytes');
    expect(seen).toEqual([undefined]);
    await c.close();
  });

  it('reads only the head of an endless error body', async () => {
    const { host } = await setup((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => { while (res.write(chunk)); };
      res.on('drain', pump);
      res.on('close', () => res.off('drain', pump));
      pump();
    });
    const c = new RegistryClient({ registry: host, repository: 'team/app', plainHTTP: true, retries: 0 });
    await expect(c.tags()).rejects.toMatchObject({ code: 'REGISTRY', message: expect.stringContaining('HTTP 400') });
    await c.close();
  });

  it('gives up after the retries on an unreachable registry', async () => {
    const c = new RegistryClient({ registry: '127.0.0.1:1', repository: 'x', plainHTTP: true, retries: 1, backoffMs: 1 });
    await expect(c.resolve('1')).rejects.toMatchObject({ code: 'UNREACHABLE' });
    await c.close();
  });

  it('fails at once with what to do when TLS cannot work: a plain-HTTP registry, an untrusted certificate', async () => {
    // https:// to a registry that speaks plain HTTP.
    const { host } = await setup();
    let n = 0;
    const plainAsTLS = new RegistryClient({ registry: host, repository: 'team/app', backoffMs: 5 });
    await expect(plainAsTLS.resolve('1.0')).rejects.toMatchObject({
      code: 'UNREACHABLE',
      message: expect.stringMatching(new RegExp(`\\(after 1 attempt\\); the TLS handshake failed: if ${host} serves plain HTTP, say so \\(export: --plain-http-registry ${host}`)),
    });
    await plainAsTLS.close();

    // A TLS registry whose certificate comes from a CA this client was not given.
    const tls = await ensureSelfSignedTLS(await tempDir(), ['127.0.0.1']);
    const server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => {
      n++;
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push({ close: () => { server.close(); server.closeAllConnections(); } });
    const tlsHost = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const untrusted = new RegistryClient({ registry: tlsHost, repository: 'team/app', backoffMs: 5 });
    await expect(untrusted.resolve('1.0')).rejects.toMatchObject({
      code: 'UNREACHABLE',
      message: expect.stringContaining(`(after 1 attempt); the TLS certificate of ${tlsHost} is not trusted here: give its CA`),
    });
    await untrusted.close();
    // Given the CA, the same registry answers.
    const trusted = new RegistryClient({ registry: tlsHost, repository: 'team/app', ca: tls.caPem });
    await expect(trusted.resolve('1.0')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await trusted.close();
    expect(n).toBeGreaterThan(0);
  });

  it('parses WWW-Authenticate challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' },
    });
    expect(parseChallenge('Basic realm="x"')?.scheme).toBe('basic');
    expect(parseChallenge(null)).toBeUndefined();
  });
});

