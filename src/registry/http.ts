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
