// RegistryClient: one repository of a remote OCI distribution registry as a Target (fetch, exists, push,
// resolve, tag) plus TagLister, on Node's fetch. Authentication follows the distribution spec: a 401
// challenge names Basic or Bearer; Bearer tokens come from the realm with the credentials, per scope.
// Reference: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
// Reference: https://distribution.github.io/distribution/spec/auth/token/ (token authentication)
import { Readable } from 'node:stream';
import { ContentError, RemoteError, ValidationError } from '../errors.js';
import { isGraphNode } from '../content/graph.js';
import type { OpOptions, TagLister, Target } from '../content/storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll, verifier } from '../content/verify.js';
import { MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST_LIST, MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor } from '../model/oci.js';
import { parseDigest } from '../content/digest.js';

/** RegistryCredentials are what `--registry-credentials` gives: a user and password, or a bearer/identity token. */
export type RegistryCredentials = { username: string; password: string } | { token: string };

export interface RegistryClientOptions {
  /** Talk http:// instead of https:// (local test registries). Default false. */
  plainHTTP?: boolean;
  credentials?: RegistryCredentials;
  /** Largest manifest read into memory. Default 4 MiB. */
  maxMetadataBytes?: number;
}

const MANIFEST_ACCEPT = [MEDIA_TYPE_IMAGE_MANIFEST, MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST_LIST].join(', ');

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** parseChallenge reads a `WWW-Authenticate` header (one challenge). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme, params };
}

/** AuthCache is shared by the clients of one registry: Authorization headers by scope. */
class AuthCache {
  readonly byScope = new Map<string, string>();
  basic?: string;
}

/** RegistryClient is one remote repository. */
export class RegistryClient implements Target, TagLister {
  readonly #base: string;
  readonly #auth: AuthCache;
  readonly #opts: RegistryClientOptions;
  readonly #limit: number;
  readonly #pushedManifests = new Map<string, Buffer>();

  constructor(
    /** Registry host, with port: `registry.example:5000`. */
    readonly registry: string,
    /** Repository path: `site/charts/podinfo`. */
    readonly repository: string,
    opts: RegistryClientOptions = {},
    auth = new AuthCache(),
  ) {
    this.#base = `${opts.plainHTTP ? 'http' : 'https'}://${registry}`;
    this.#opts = opts;
    this.#auth = auth;
    this.#limit = opts.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES;
  }

  /** withRepository is a client for another repository of the same registry, sharing credentials and tokens. */
  withRepository(repository: string): RegistryClient {
    return new RegistryClient(this.registry, repository, this.#opts, this.#auth);
  }

  async fetch(desc: Descriptor, opts?: OpOptions): Promise<Readable> {
    const kind = isGraphNode(desc) ? 'manifests' : 'blobs';
    const res = await this.#request('GET', `/v2/${this.repository}/${kind}/${parseDigest(desc.digest)}`, 'pull', { headers: kind === 'manifests' ? { Accept: desc.mediaType } : {}, ...(opts?.signal ? { signal: opts.signal } : {}) });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new ContentError('NOT_FOUND', `${desc.digest}: ${desc.mediaType}: not found in ${this.registry}/${this.repository}`, { details: { digest: desc.digest } });
    }
    await this.#expect(res, [200], `GET ${kind} ${desc.digest}`);
    return Readable.fromWeb(res.body as never);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const kind = isGraphNode(desc) ? 'manifests' : 'blobs';
    const res = await this.#request('HEAD', `/v2/${this.repository}/${kind}/${parseDigest(desc.digest)}`, 'pull', { headers: kind === 'manifests' ? { Accept: MANIFEST_ACCEPT } : {} });
    if (res.status === 404) return false;
    await this.#expect(res, [200], `HEAD ${kind} ${desc.digest}`);
    return true;
  }

  /** push uploads a blob (monolithic upload) or a manifest (by digest); the registry checks the digest too. */
  async push(desc: Descriptor, content: Readable, opts?: OpOptions): Promise<void> {
    if (isGraphNode(desc)) {
      const body = await readAll(content, desc, { limit: this.#limit });
      await this.#putManifest(desc, body, desc.digest);
      this.#pushedManifests.set(desc.digest, body);
      return;
    }
    const start = await this.#request('POST', `/v2/${this.repository}/blobs/uploads/`, 'push', { headers: { 'Content-Length': '0' } });
    await this.#expect(start, [202], `POST blob upload for ${desc.digest}`);
    const location = start.headers.get('location');
    if (!location) throw new RemoteError('PROTOCOL', `${this.registry}/${this.repository}: upload of ${desc.digest}: no Location header`);
    const url = new URL(location, this.#base);
    url.searchParams.set('digest', desc.digest);
    const body = content.pipe(verifier(desc));
    content.on('error', (e) => body.destroy(e));
    const res = await this.#request('PUT', url.toString(), 'push', {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(desc.size) },
      body: Readable.toWeb(body) as never,
      duplex: 'half',
      ...(opts?.signal ? { signal: opts.signal } : {}),
    });
    await this.#expect(res, [201], `PUT blob ${desc.digest}`);
  }

  async resolve(reference: string): Promise<Descriptor> {
    const res = await this.#request('HEAD', `/v2/${this.repository}/manifests/${reference}`, 'pull', { headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status === 404) throw new ContentError('NOT_FOUND', `${this.registry}/${this.repository}:${reference}: not found`, { details: { reference } });
    await this.#expect(res, [200], `HEAD manifest ${reference}`);
    const digest = parseDigest(res.headers.get('docker-content-digest'), `${this.registry}/${this.repository}:${reference}: Docker-Content-Digest`);
    const size = Number(res.headers.get('content-length'));
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (!Number.isSafeInteger(size) || !mediaType) throw new RemoteError('PROTOCOL', `${this.registry}/${this.repository}:${reference}: HEAD gave no Content-Length or Content-Type`);
    return { mediaType, digest, size };
  }

  /** tag names an existing manifest: its bytes are put again under the tag. */
  async tag(desc: Descriptor, reference: string): Promise<void> {
    const body = this.#pushedManifests.get(desc.digest) ?? (await readAll(await this.fetch(desc), desc, { limit: this.#limit }));
    await this.#putManifest(desc, body, reference);
  }

  async tags(): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = `/v2/${this.repository}/tags/list?n=1000`;
    while (next) {
      const res = await this.#request('GET', next, 'pull', {});
      if (res.status === 404) return out;
      await this.#expect(res, [200], 'GET tags/list');
      const page = (await res.json()) as { tags?: string[] | null };
      out.push(...(page.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
      next = link?.[1];
    }
    return out;
  }

  async #putManifest(desc: Descriptor, body: Buffer, reference: string): Promise<void> {
    const res = await this.#request('PUT', `/v2/${this.repository}/manifests/${reference}`, 'push', { headers: { 'Content-Type': desc.mediaType }, body });
    await this.#expect(res, [201], `PUT manifest ${reference}`);
  }

  // #request sends one request, answering an authentication challenge once. Requests with a stream body
  // are never the first of a scope (an upload starts with a POST), so they are not replayed.
  async #request(method: string, pathOrUrl: string, action: 'pull' | 'push', init: RequestInit & { duplex?: 'half' }): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.#base}${pathOrUrl}`;
    const scope = `repository:${this.repository}:${action === 'push' ? 'pull,push' : 'pull'}`;
    const send = async () => {
      const headers = new Headers(init.headers);
      const auth = this.#auth.byScope.get(scope) ?? this.#auth.basic;
      if (auth) headers.set('Authorization', auth);
      try {
        return await fetch(url, { ...init, method, headers, redirect: 'follow' });
      } catch (err) {
        throw new RemoteError('UNREACHABLE', `${this.registry}: ${method} ${new URL(url).pathname}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`, { cause: err });
      }
    };
    let res = await send();
    if (res.status !== 401 || init.body instanceof ReadableStream) return res;
    const challenge = parseChallenge(res.headers.get('www-authenticate'));
    await res.body?.cancel();
    if (!challenge) throw new RemoteError('UNAUTHORIZED', `${this.registry}: ${method} ${new URL(url).pathname}: 401 without a usable WWW-Authenticate challenge`);
    await this.#authenticate(challenge, scope);
    res = await send();
    return res;
  }

  async #authenticate(c: Challenge, scope: string): Promise<void> {
    const creds = this.#opts.credentials;
    if (c.scheme === 'basic') {
      if (!creds || !('username' in creds)) throw new RemoteError('UNAUTHORIZED', `${this.registry}: the registry asks for a user name and password: give --registry-credentials`);
      this.#auth.basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return;
    }
    const realm = c.params.realm;
    if (!realm) throw new RemoteError('PROTOCOL', `${this.registry}: Bearer challenge without a realm`);
    const url = new URL(realm);
    if (c.params.service) url.searchParams.set('service', c.params.service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (creds && 'username' in creds) headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    else if (creds && 'token' in creds) headers.Authorization = `Bearer ${creds.token}`;
    let res: Response;
    try {
      res = await fetch(url, { headers });
    } catch (err) {
      throw new RemoteError('UNREACHABLE', `${this.registry}: token service ${url.origin}${url.pathname}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status === 401 || res.status === 403) throw new RemoteError('UNAUTHORIZED', `${this.registry}: the token service refused the credentials for ${scope} (${res.status})`);
    if (!res.ok) throw new RemoteError('PROTOCOL', `${this.registry}: token service answered ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RemoteError('PROTOCOL', `${this.registry}: token service answered without a token`);
    this.#auth.byScope.set(scope, `Bearer ${token}`);
  }

  async #expect(res: Response, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.status)) return;
    let detail = '';
    try {
      const body = (await res.json()) as { errors?: { code?: string; message?: string }[] };
      detail = body.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') ?? '';
    } catch {
      detail = '';
    }
    const message = `${this.registry}/${this.repository}: ${what}: ${res.status}${detail ? ` (${detail})` : ''}`;
    if (res.status === 401) throw new RemoteError('UNAUTHORIZED', `${message}: check --registry-credentials`);
    if (res.status === 403) throw new RemoteError('DENIED', message);
    throw new RemoteError('PROTOCOL', message);
  }
}

/** parseRegistryTarget splits `oci://host[:port]/prefix` (the scheme is optional). */
export function parseRegistryTarget(value: string): { registry: string; prefix: string } {
  const rest = value.replace(/^oci:\/\//, '');
  const slash = rest.indexOf('/');
  const registry = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(registry) || (prefix !== '' && !/^[a-z0-9]+([._/-][a-z0-9]+)*$/.test(prefix))) {
    throw new ValidationError('USAGE', `--to-registry: expected oci://HOST[:PORT]/PREFIX (lowercase repository path), got ${JSON.stringify(value)}`);
  }
  return { registry, prefix };
}

/**
 * credentialsFromFile reads `--registry-credentials`: a Docker/Podman auth file (`{"auths": {host: {auth |
 * username+password | identitytoken}}}`) or one line `USER:PASSWORD`.
 */
export function credentialsFromFile(text: string, registry: string, source: string): RegistryCredentials {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }> };
    try {
      doc = JSON.parse(trimmed) as typeof doc;
    } catch (err) {
      throw new ValidationError('USAGE', `${source}: not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    const auths = doc.auths ?? {};
    const entry = auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`];
    if (!entry) throw new ValidationError('USAGE', `${source}: no entry for ${registry} under "auths" (found: ${Object.keys(auths).join(', ') || 'none'})`);
    if (entry.registrytoken) return { token: entry.registrytoken };
    if (entry.identitytoken) return { token: entry.identitytoken };
    if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
    }
    throw new ValidationError('USAGE', `${source}: the entry for ${registry} has no auth, username/password or token`);
  }
  const i = trimmed.indexOf(':');
  if (i <= 0 || trimmed.includes('\n')) throw new ValidationError('USAGE', `${source}: expected a Docker auth file or one line USER:PASSWORD`);
  return { username: trimmed.slice(0, i), password: trimmed.slice(i + 1) };
}
