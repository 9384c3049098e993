// RegistryClient: one repository of a remote OCI registry as a Target (distribution-spec v1.1 over
// node:http, see http.ts).
// Reference: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
// Token auth: https://distribution.github.io/distribution/spec/auth/token/ (WWW-Authenticate Bearer challenge).
// Every byte returned by fetch() passes a digest verifier; pushes send only bytes already verified.
import { Readable } from 'node:stream';
import { parseDigest, sha256 } from '../content/digest.js';
import { alreadyExists, assertReference, isDigestReference, notFound, referenceNotFound } from '../content/memory.js';
import { Limiter } from '../content/limiter.js';
import { entryCredentials, findAuthEntry } from './docker-config.js';
import type { ContentResolver, OpOptions, ResolvedContent, TagLister, Target } from '../content/storage.js';
import { readAll, verifier } from '../content/verify.js';
import { BaseError, isAbortError, ValidationError } from '../errors.js';
import {
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_IMAGE_INDEX,
  MEDIA_TYPE_IMAGE_MANIFEST,
  type Descriptor,
} from '../model/oci.js';
import { isGraphNode } from '../content/graph.js';
import { connectionHint, failureText, HttpPool, isPermanentFailure, readBounded, send, sleep, type HttpReply } from './http.js';

/** RegistryError is a registry that answered with an error, could not be reached, or refused credentials. */
export class RegistryError extends BaseError<'UNAUTHORIZED' | 'DENIED' | 'UNREACHABLE' | 'REGISTRY' | 'NOT_FOUND'> {}

/** Credentials for a registry: basic (also used to obtain bearer tokens) or a ready bearer token. */
export type RegistryCredentials = { username: string; password: string } | { token: string };

export interface RegistryClientOptions {
  /** Registry host with optional port, e.g. `ghcr.io` or `127.0.0.1:5000`. `docker.io` means Docker Hub. */
  registry: string;
  /** Repository path, e.g. `library/nginx`. */
  repository: string;
  credentials?: RegistryCredentials;
  /** Use http:// instead of https://. Default false. */
  plainHTTP?: boolean;
  /** Accept any TLS certificate. Default false. */
  insecureSkipTLSVerify?: boolean;
  /** Extra trusted CA certificates (PEM). */
  ca?: string | Buffer;
  /** Attempts after the first for network failures, 429 and 5xx. Default 4. */
  retries?: number;
  /** First backoff delay in ms, doubled per attempt (with jitter); `Retry-After` wins when larger. Default 200. */
  backoffMs?: number;
  /** Requests in flight at once (a blob download holds its slot until its stream ends). Default 6. */
  concurrency?: number;
  /** Share one connection pool / limiter between clients of the same registry. */
  session?: RegistrySession;
  userAgent?: string;
}

/** The Accept header for manifests: every manifest and index type we can copy. */
export const MANIFEST_ACCEPT = [MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST_LIST, MEDIA_TYPE_DOCKER_MANIFEST].join(', ');
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * RegistrySession holds what clients of one registry share: the connection pool (TLS settings), the
 * concurrency limit and cached bearer tokens per scope.
 */
export class RegistrySession {
  readonly pool: HttpPool;
  readonly limiter: Limiter;
  readonly tokens = new Map<string, Promise<string>>();
  constructor(opts: { insecureSkipTLSVerify?: boolean; ca?: string | Buffer; concurrency?: number } = {}) {
    this.pool = new HttpPool({ ...opts, maxSockets: Math.max(2, opts.concurrency ?? 6) });
    this.limiter = new Limiter(opts.concurrency ?? 6);
  }
  /** close ends pooled connections. */
  async close(): Promise<void> {
    this.pool.close();
  }
}

/**
 * RegistrySessions hands out one session per registry and TLS setting, so the clients of many repositories
 * (charts, images) share connections and bearer tokens. close() ends them all.
 */
export class RegistrySessions {
  readonly #by = new Map<string, RegistrySession>();

  get(registry: string, opts: { insecureSkipTLSVerify?: boolean; ca?: string | Buffer; concurrency?: number } = {}): RegistrySession {
    const key = JSON.stringify([registry, Boolean(opts.insecureSkipTLSVerify), opts.ca ? sha256(Buffer.from(opts.ca)) : '', opts.concurrency ?? 6]);
    let s = this.#by.get(key);
    if (!s) {
      s = new RegistrySession(opts);
      this.#by.set(key, s);
    }
    return s;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#by.values()].map((s) => s.close()));
    this.#by.clear();
  }
}

/** registryHost maps `docker.io` (and its aliases) to the host its API lives on. */
export function registryHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** parseChallenge reads a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

/**
 * RegistryClient is a Target over one remote repository. References are tags or `sha256:` digests.
 * fetch() streams are already verified against the descriptor (size and digest); a mismatch fails the stream.
 */
export class RegistryClient implements Target, TagLister, ContentResolver {
  readonly registry: string;
  readonly repository: string;
  readonly #base: string;
  readonly #opts: RegistryClientOptions;
  readonly #session: RegistrySession;
  readonly #ownSession: boolean;
  #auth: string | undefined;

  constructor(opts: RegistryClientOptions) {
    this.registry = opts.registry;
    this.repository = opts.repository;
    this.#opts = opts;
    this.#base = `${opts.plainHTTP ? 'http' : 'https'}://${registryHost(opts.registry)}/v2/${opts.repository}`;
    this.#ownSession = !opts.session;
    this.#session = opts.session ?? new RegistrySession(opts);
    if (opts.credentials && 'token' in opts.credentials) this.#auth = `Bearer ${opts.credentials.token}`;
  }

  /** close releases the connection pool when this client owns it. */
  async close(): Promise<void> {
    if (this.#ownSession) await this.#session.close();
  }

  /** where names the repository in messages. */
  get where(): string {
    return `${this.registry}/${this.repository}`;
  }

  async fetch(target: Descriptor, opts: OpOptions = {}): Promise<Readable> {
    parseDigest(target.digest, 'descriptor.digest');
    const manifest = isGraphNode(target);
    const url = `${this.#base}/${manifest ? 'manifests' : 'blobs'}/${target.digest}`;
    const release = await this.#session.limiter.acquire();
    try {
      const res = await this.#request('GET', url, { accept: manifest ? target.mediaType : '*/*' }, opts, 'pull');
      if (res.status === 404) {
        await res.discard();
        throw notFound(target, this.where);
      }
      await this.#expectOK(res, `GET ${target.digest}`);
      const body = res.body;
      const out = body.pipe(verifier(target));
      body.on('error', (e) => out.destroy(e));
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        release();
      };
      out.once('close', finish);
      out.once('end', finish);
      out.once('error', () => {
        body.destroy();
        finish();
      });
      return out;
    } catch (err) {
      release();
      throw err;
    }
  }

  async exists(target: Descriptor, opts: OpOptions = {}): Promise<boolean> {
    const manifest = isGraphNode(target);
    const res = await this.#limited(() => this.#request('HEAD', `${this.#base}/${manifest ? 'manifests' : 'blobs'}/${target.digest}`, { accept: manifest ? MANIFEST_ACCEPT : '*/*' }, opts, 'pull'));
    if (res.ok || res.status === 404) await res.discard();
    if (res.status === 404) return false;
    await this.#expectOK(res, `HEAD ${target.digest}`);
    return true;
  }

  /** resolve returns the descriptor of a tag or digest (media type, digest and size from the registry, checked). */
  async resolve(reference: string, opts: OpOptions = {}): Promise<Descriptor> {
    if (!isDigestReference(reference)) assertReference(reference);
    else parseDigest(reference, 'reference');
    const url = `${this.#base}/manifests/${reference}`;
    const head = await this.#limited(() => this.#request('HEAD', url, { accept: MANIFEST_ACCEPT }, opts, 'pull'));
    await head.discard();
    if (head.status === 404) throw referenceNotFound(`${this.where}:${reference}`);
    if (head.ok) {
      const digest = head.header('docker-content-digest');
      const size = Number(head.header('content-length'));
      const mediaType = (head.header('content-type') ?? '').split(';')[0]!.trim();
      if (digest && Number.isSafeInteger(size) && size > 0 && mediaType && (!isDigestReference(reference) || digest === reference)) {
        return { mediaType, digest: parseDigest(digest, `${this.where}: Docker-Content-Digest`), size };
      }
    }
    // No usable HEAD answer: read the manifest and digest it ourselves.
    return (await this.resolveContent(reference, opts)).descriptor;
  }

  /**
   * resolveContent reads the manifest or index a tag or digest names, in one GET, and returns it with its
   * descriptor (digest computed from the bytes; a digest reference, or a Docker-Content-Digest header, that
   * disagrees is an error). What `resolve` then `fetch` would do in two requests.
   */
  async resolveContent(reference: string, opts: OpOptions = {}): Promise<ResolvedContent> {
    if (!isDigestReference(reference)) assertReference(reference);
    else parseDigest(reference, 'reference');
    const res = await this.#limited(() => this.#request('GET', `${this.#base}/manifests/${reference}`, { accept: MANIFEST_ACCEPT }, opts, 'pull'));
    if (res.status === 404) {
      await res.discard();
      throw referenceNotFound(`${this.where}:${reference}`);
    }
    await this.#expectOK(res, `GET manifest ${reference}`);
    const body = await readBounded(res, MAX_MANIFEST_BYTES + 1);
    if (body.length > MAX_MANIFEST_BYTES) throw new RegistryError('REGISTRY', `${this.where}:${reference}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    const digest = sha256(body);
    const byDigest = isDigestReference(reference);
    // The header is checked when it is a sha256 digest; another algorithm cannot be compared, and the bytes
    // carry their own sha256 anyway.
    const announced = res.header('docker-content-digest')?.trim();
    const claimed = byDigest ? reference : announced?.startsWith('sha256:') ? announced : undefined;
    if (claimed && digest !== claimed) {
      const what = byDigest ? `${this.where}@${reference}: the registry returned` : `${this.where}:${reference}: the registry announced digest ${claimed} (Docker-Content-Digest) but returned`;
      throw new RegistryError('REGISTRY', `${what} a manifest with digest ${digest}`, { details: { expected: claimed, found: digest } });
    }
    let mediaType = (res.header('content-type') ?? '').split(';')[0]!.trim();
    try {
      const doc = JSON.parse(body.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
      if (typeof doc.mediaType === 'string') mediaType = doc.mediaType;
      else if (!mediaType || mediaType === 'application/json') mediaType = Array.isArray(doc.manifests) ? MEDIA_TYPE_IMAGE_INDEX : MEDIA_TYPE_IMAGE_MANIFEST;
    } catch {
      throw new RegistryError('REGISTRY', `${this.where}:${reference}: manifest is not JSON`);
    }
    return { descriptor: { mediaType, digest, size: body.length }, content: body };
  }

  /** tags lists the repository's tags (following `Link` pagination). */
  async tags(opts: OpOptions = {}): Promise<string[]> {
    const out: string[] = [];
    let url: string | undefined = `${this.#base}/tags/list?n=1000`;
    for (let page = 0; url && page < 1000; page++) {
      const res = await this.#limited(() => this.#request('GET', url!, { accept: 'application/json' }, opts, 'pull'));
      if (res.status === 404) {
        await res.discard();
        throw new RegistryError('NOT_FOUND', `${this.where}: repository not found`);
      }
      await this.#expectOK(res, 'GET tags');
      const page = await readBounded(res, MAX_MANIFEST_BYTES + 1);
      if (page.length > MAX_MANIFEST_BYTES) throw new RegistryError('REGISTRY', `${this.where}: tag list page larger than ${MAX_MANIFEST_BYTES} bytes`);
      let doc: { tags?: unknown };
      try {
        doc = JSON.parse(page.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new RegistryError('REGISTRY', `${this.where}: tag list is not JSON`);
      }
      if (Array.isArray(doc.tags)) out.push(...doc.tags.filter((t): t is string => typeof t === 'string'));
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.header('link') ?? '');
      url = link ? new URL(link[1]!, url).toString() : undefined;
    }
    return out;
  }

  /**
   * push uploads a manifest (PUT by digest, bytes verified first) or a blob (monolithic POST+PUT, streamed
   * through a verifier: a blob of any size is never held in memory; the streamed PUT is not retried).
   */
  async push(expected: Descriptor, content: Readable, opts: OpOptions = {}): Promise<void> {
    parseDigest(expected.digest, 'descriptor.digest');
    if (isGraphNode(expected)) {
      const data = await readAll(content, expected, { limit: MAX_MANIFEST_BYTES });
      await this.#putManifest(expected, data, expected.digest, opts);
      return;
    }
    try {
      if (await this.exists(expected, opts)) throw alreadyExists(expected, this.where);
    } catch (err) {
      content.destroy();
      throw err;
    }
    const start = await this.#limited(() => this.#request('POST', `${this.#base}/blobs/uploads/`, { 'content-length': '0' }, opts, 'push'));
    await this.#expectStatus(start, [202], `POST upload ${expected.digest}`);
    const location = start.header('location');
    if (!location) throw new RegistryError('REGISTRY', `${this.where}: upload of ${expected.digest}: no Location header`);
    const put = new URL(location, this.#base);
    put.searchParams.set('digest', expected.digest);
    const verified = content.pipe(verifier(expected));
    content.on('error', (e) => verified.destroy(e));
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(expected.size) };
    const res = await this.#limited(() => this.#request('PUT', put.toString(), headers, opts, 'push', verified));
    await this.#expectStatus(res, [201], `PUT blob ${expected.digest}`);
  }

  /** withRepository is a client for another repository of the same registry, sharing the session and credentials. */
  withRepository(repository: string): RegistryClient {
    return new RegistryClient({ ...this.#opts, repository, session: this.#session });
  }

  /** tag points `reference` at a manifest already in the repository. */
  async tag(desc: Descriptor, reference: string, opts: OpOptions = {}): Promise<void> {
    assertReference(reference);
    const data = await readAll(await this.fetch(desc, opts), desc, { limit: MAX_MANIFEST_BYTES });
    await this.#putManifest(desc, data, reference, opts);
  }

  async #putManifest(desc: Descriptor, data: Buffer, reference: string, opts: OpOptions): Promise<void> {
    const res = await this.#limited(() => this.#request('PUT', `${this.#base}/manifests/${reference}`, { 'content-type': desc.mediaType }, opts, 'push', data));
    await this.#expectStatus(res, [201], `PUT manifest ${reference}`);
  }

  #limited<T>(fn: () => Promise<T>): Promise<T> {
    return this.#session.limiter.run(fn);
  }

  // #request sends one request with auth, answering 401 challenges once and retrying transient failures.
  // Redirects are followed (see send); credentials are not sent to another origin.
  async #request(method: string, url: string, headers: Record<string, string>, opts: OpOptions, action: 'pull' | 'push', body?: Buffer | Readable): Promise<HttpReply> {
    // A streamed body can be sent once only.
    const retries = body instanceof Readable ? 0 : this.#opts.retries ?? 4;
    const backoff = this.#opts.backoffMs ?? 200;
    let challenged = false;
    for (let attempt = 0; ; attempt++) {
      opts.signal?.throwIfAborted();
      const h: Record<string, string> = { 'user-agent': this.#opts.userAgent ?? 'sveltos-airgap', ...headers };
      if (this.#auth) h.authorization = this.#auth;
      let res: HttpReply;
      try {
        res = await send(url, { method, headers: h, pool: this.#session.pool, ...(body ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (err) {
        // A host name that does not resolve, or a TLS handshake that cannot succeed, fails the next attempt too.
        if (isAbortError(err) || attempt >= retries || isPermanentFailure(err)) {
          if (isAbortError(err)) throw err;
          throw new RegistryError('UNREACHABLE', `${this.where}: ${method} ${new URL(url).pathname}: ${failureText(err)} (after ${attempt + 1} attempt${attempt ? 's' : ''})${registryHint(err, this.registry)}`, { cause: err });
        }
        await sleep(delay(backoff, attempt), opts.signal);
        continue;
      }
      if (res.status === 401 && !challenged) {
        challenged = true;
        const challenge = parseChallenge(res.header('www-authenticate') ?? null);
        await res.discard();
        this.#auth = await this.#authorize(challenge, action, opts);
        if (!this.#auth) return res;
        attempt--; // a challenge is not a failure
        continue;
      }
      if ((res.status === 429 || (res.status >= 500 && res.status !== 501)) && attempt < retries) {
        const after = Number(res.header('retry-after'));
        await res.discard();
        await sleep(Math.max(delay(backoff, attempt), Number.isFinite(after) ? Math.min(after, 60) * 1000 : 0), opts.signal);
        continue;
      }
      return res;
    }
  }

  async #authorize(challenge: Challenge | undefined, action: 'pull' | 'push', opts: OpOptions): Promise<string | undefined> {
    const creds = this.#opts.credentials;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      if (!creds || !('username' in creds)) throw this.#unauthorized('the registry asks for basic credentials and none were given');
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) return undefined;
    if (creds && 'token' in creds) throw this.#unauthorized('the registry refused the bearer token');
    const scope = `repository:${this.repository}:${action === 'push' ? 'pull,push' : 'pull'}`;
    const key = `${challenge.params.realm}|${challenge.params.service ?? ''}|${scope}|${creds && 'username' in creds ? creds.username : ''}`;
    let token = this.#session.tokens.get(key);
    if (!token) {
      token = this.#fetchToken(challenge, scope, opts);
      this.#session.tokens.set(key, token);
      token.catch(() => this.#session.tokens.delete(key));
    }
    return `Bearer ${await token}`;
  }

  async #fetchToken(challenge: Challenge, scope: string, opts: OpOptions): Promise<string> {
    const u = new URL(challenge.params.realm!);
    if (challenge.params.service) u.searchParams.set('service', challenge.params.service);
    u.searchParams.set('scope', scope);
    const creds = this.#opts.credentials;
    const headers: Record<string, string> = { 'user-agent': this.#opts.userAgent ?? 'sveltos-airgap' };
    if (creds && 'username' in creds) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    let res: HttpReply;
    try {
      res = await send(u, { headers, pool: this.#session.pool, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      if (isAbortError(err)) throw err;
      throw new RegistryError('UNREACHABLE', `${this.where}: token service ${u.origin}: ${failureText(err)}`, { cause: err });
    }
    if (res.status === 401 || res.status === 403) {
      await res.discard();
      throw this.#unauthorized(`the token service ${u.origin} refused the credentials (HTTP ${res.status})`);
    }
    if (!res.ok) {
      await res.discard();
      throw new RegistryError('REGISTRY', `${this.where}: token service ${u.origin}: HTTP ${res.status}`);
    }
    let doc: { token?: unknown; access_token?: unknown };
    try {
      doc = JSON.parse((await readBounded(res, MAX_MANIFEST_BYTES)).toString('utf8')) as typeof doc;
    } catch {
      throw new RegistryError('REGISTRY', `${this.where}: token service ${u.origin}: the answer is not JSON`);
    }
    const token = typeof doc.token === 'string' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : undefined;
    if (!token) throw new RegistryError('REGISTRY', `${this.where}: token service ${u.origin}: no token in the answer`);
    return token;
  }

  #unauthorized(why: string): RegistryError {
    return new RegistryError('UNAUTHORIZED', `${this.where}: ${why}`);
  }

  async #expectOK(res: HttpReply, what: string): Promise<void> {
    if (res.ok) return;
    await this.#fail(res, what);
  }

  async #expectStatus(res: HttpReply, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.status)) {
      await res.discard();
      return;
    }
    await this.#fail(res, what);
  }

  async #fail(res: HttpReply, what: string): Promise<never> {
    let detail = '';
    try {
      const text = (await readBounded(res, 2048)).toString('utf8');
      const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      detail = doc.errors?.map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ') ?? '';
    } catch {
      // not a distribution error body
    }
    const code = res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'DENIED' : res.status === 404 ? 'NOT_FOUND' : 'REGISTRY';
    throw new RegistryError(code, `${this.where}: ${what}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`, { details: { status: res.status } });
  }
}

function delay(base: number, attempt: number): number {
  return base * 2 ** attempt * (0.75 + Math.random() * 0.5);
}

// registryHint words connectionHint for a registry reached by export, a chart, or import --to-registry.
function registryHint(err: unknown, registry: string): string {
  return connectionHint(err, registry, {
    plainHTTP: `say so (export: --plain-http-registry ${registry}; a chart: registryCredentialsConfig.plainHTTP: true; import --to-registry: --plain-http)`,
    trust: `give its CA (a chart: registryCredentialsConfig.ca; otherwise NODE_EXTRA_CA_CERTS=ca.pem) or, on a trusted network only, skip the check (export: --insecure-registry ${registry}; a chart: registryCredentialsConfig.insecureSkipTLSVerify: true)`,
    address: 'the host and port',
  });
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
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (err) {
      throw new ValidationError('USAGE', `${source}: not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    const found = findAuthEntry(doc, registry);
    if (!found) {
      const auths = (doc as { auths?: unknown } | null)?.auths;
      const keys = typeof auths === 'object' && auths !== null ? Object.keys(auths) : [];
      throw new ValidationError('USAGE', `${source}: no entry for ${registry} under "auths" (found: ${keys.join(', ') || 'none'})`);
    }
    const creds = entryCredentials(found.entry);
    if (creds) return creds;
    throw new ValidationError('USAGE', `${source}: the entry for ${registry} has no auth, username/password or token`);
  }
  const i = trimmed.indexOf(':');
  if (i <= 0 || trimmed.includes('\n')) throw new ValidationError('USAGE', `${source}: expected a Docker auth file or one line USER:PASSWORD`);
  return { username: trimmed.slice(0, i), password: trimmed.slice(i + 1) };
}
