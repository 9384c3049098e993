// A small HTTP(S) client on node:http and node:https for registries and chart repositories: keep-alive
// connection pools per TLS setting, bodies as Node streams (large blobs pass with no extra copy), redirects
// followed without sending credentials to another origin, and an idle timeout.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { abortError } from '../errors.js';

/** HttpPoolOptions say how connections are made: TLS trust and how many at once per host. */
export interface HttpPoolOptions {
  /** Extra trusted CA certificates (PEM). */
  ca?: string | Buffer;
  /** Accept any TLS certificate. Default false. */
  insecureSkipTLSVerify?: boolean;
  /** Connections per host. Default 6. */
  maxSockets?: number;
}

/** HttpPool holds the keep-alive connections of one client or registry session. */
export class HttpPool {
  readonly http: http.Agent;
  readonly https: https.Agent;
  constructor(opts: HttpPoolOptions = {}) {
    const maxSockets = Math.max(1, opts.maxSockets ?? 6);
    this.http = new http.Agent({ keepAlive: true, maxSockets });
    this.https = new https.Agent({
      keepAlive: true,
      maxSockets,
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.insecureSkipTLSVerify ? { rejectUnauthorized: false } : {}),
    });
  }

  /** close ends every pooled connection. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/** HttpReply is one answer; its body must be read or discarded (so the connection can be reused). */
export interface HttpReply {
  status: number;
  ok: boolean;
  /** The URL that answered (after redirects). */
  url: string;
  header(name: string): string | undefined;
  body: Readable;
  /** discard drops the rest of the body. */
  discard(): Promise<void>;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A Readable is sent once: such a request is not redirected. */
  body?: Buffer | Readable;
  pool: HttpPool;
  signal?: AbortSignal;
  /** Redirects followed. Default 5. */
  maxRedirects?: number;
  /** Milliseconds without any byte before the request fails. Default 120 000. */
  idleTimeoutMs?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** HttpTimeoutError is a connection that stayed silent longer than the idle timeout. */
export class HttpTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  override name = 'HttpTimeoutError';
}

/**
 * send makes one request and follows redirects: `authorization` and `cookie` are dropped when the
 * redirect leaves the origin (as browsers and Docker do), and a 303 becomes a GET without a body.
 */
export async function send(url: string | URL, opts: SendOptions): Promise<HttpReply> {
  let target = new URL(url);
  let method = (opts.method ?? 'GET').toUpperCase();
  let headers = { ...(opts.headers ?? {}) };
  let body = opts.body;
  const origin = target.origin;
  for (let hops = 0; ; hops++) {
    const res = await once(target, method, headers, body, opts);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location || body instanceof Readable || hops >= (opts.maxRedirects ?? 5)) return reply(res, target);
    res.resume();
    target = new URL(location, target);
    if (res.statusCode === 303 && method !== 'HEAD') {
      method = 'GET';
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
    }
    if (target.origin !== origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(authorization|cookie|proxy-authorization)$/i.test(k)));
  }
}

function once(target: URL, method: string, headers: Record<string, string>, body: Buffer | Readable | undefined, opts: SendOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError(opts.signal));
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') return reject(new Error(`${target.protocol} URLs are not supported`));
    const h: Record<string, string> = { ...headers };
    if (Buffer.isBuffer(body)) h['content-length'] = String(body.length);
    const req = (secure ? https : http).request(target, { method, headers: h, agent: secure ? opts.pool.https : opts.pool.http });
    let response: IncomingMessage | undefined;
    // Once the answer has come, an abort must reach whoever reads its body.
    const onAbort = () => (response ?? req).destroy(abortError(opts.signal!));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const detach = () => opts.signal?.removeEventListener('abort', onAbort);
    req.setTimeout(opts.idleTimeoutMs ?? 120_000, () => req.destroy(new HttpTimeoutError(`no answer from ${target.host} for ${Math.round((opts.idleTimeoutMs ?? 120_000) / 1000)} s`)));
    req.once('error', (err) => {
      detach();
      reject(err);
    });
    req.once('response', (res) => {
      // The body may still be streaming: keep the abort wired until it ends.
      response = res;
      res.once('close', detach);
      resolve(res);
    });
    if (body instanceof Readable) {
      body.once('error', (err) => req.destroy(err));
      body.pipe(req);
    } else req.end(body);
  });
}

function reply(res: IncomingMessage, url: URL): HttpReply {
  const status = res.statusCode ?? 0;
  return {
    status,
    ok: status >= 200 && status < 300,
    url: url.toString(),
    header: (name) => {
      const v = res.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    body: res,
    discard: () =>
      new Promise<void>((resolve) => {
        if (res.readableEnded || res.destroyed) return resolve();
        res.once('end', resolve);
        res.once('close', resolve);
        res.once('error', () => resolve());
        res.resume();
      }),
  };
}


/**
 * readBounded reads at most `limit` bytes of a body and drops the rest: a hostile server cannot make us
 * buffer an endless answer.
 */
export async function readBounded(res: HttpReply, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    chunks.push(c);
    n += c.length;
    if (n >= limit) break;
  }
  res.body.destroy();
  return Buffer.concat(chunks).subarray(0, limit);
}

/**
 * sleep waits `ms`, or fails at once with the abort reason; its abort listener goes when the time is up
 * (a signal shared by a whole export must not collect one per retry).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** ConnectionFailure is why a request got no answer, as far as the error tells. */
export type ConnectionFailure = 'tls-protocol' | 'tls-trust' | 'refused' | 'dns' | 'network';

// TLS failures by cause: the peer does not speak TLS (a plain-HTTP server), or its certificate is not trusted.
const TLS_PROTOCOL = new Set(['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);
const TLS_TRUST = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

// errorCode is the code of a failed request: its cause's (a wrapped error), else its own.
function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  return e?.cause?.code ?? e?.code ?? '';
}

/** failureText names why a request failed, shortly: the code of the error or its cause, else the message. */
export function failureText(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.code ?? e?.message ?? String(err);
}

/** connectionFailure classifies a failed request by its error code (undefined: nothing known). */
export function connectionFailure(err: unknown): ConnectionFailure | undefined {
  const code = errorCode(err);
  if (TLS_PROTOCOL.has(code)) return 'tls-protocol';
  if (TLS_TRUST.has(code)) return 'tls-trust';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'network';
  return undefined;
}

/** isPermanentFailure tells the failures no retry can mend: a name that does not resolve, a TLS handshake that cannot succeed. */
export function isPermanentFailure(err: unknown): boolean {
  const kind = connectionFailure(err);
  return kind === 'tls-protocol' || kind === 'tls-trust' || errorCode(err) === 'ENOTFOUND';
}

/** HintWords are what a caller tells its user to change, in the caller's terms (flags, fields). */
export interface HintWords {
  /** How to say that the server speaks plain HTTP. */
  plainHTTP: string;
  /** How to trust the server's certificate (or skip the check). */
  trust: string;
  /** What names the address: "the host and port", "the repositoryURL". */
  address: string;
}

/** connectionHint says what to do about a request that got no answer, by its cause (empty when nothing is known). */
export function connectionHint(err: unknown, host: string, words: HintWords): string {
  switch (connectionFailure(err)) {
    case 'tls-protocol':
      return `; the TLS handshake failed: if ${host} serves plain HTTP, ${words.plainHTTP}`;
    case 'tls-trust':
      return `; the TLS certificate of ${host} is not trusted here: ${words.trust}`;
    case 'refused':
      return `; nothing accepts connections at ${host}: check ${words.address}, and that the server runs`;
    case 'dns':
      return `; the host name does not resolve here: check ${words.address}, or the DNS of this machine`;
    case 'network':
      return `; check the network path to ${host} (proxy, firewall)`;
    default:
      return '';
  }
}
