// A small Kubernetes REST client on node:http/https (a kubeconfig's CA and client certificates need
// per-request TLS options, which Node's fetch does not take). JSON in, JSON out; the caller branches on
// the HTTP status, as the API's optimistic concurrency requires.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { RemoteError } from '../errors.js';
import type { KubeTarget } from './kubeconfig.js';

export interface KubeResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** KubeClient sends requests to the API server a kubeconfig names. */
export class KubeClient {
  readonly #target: KubeTarget;
  readonly #base: URL;

  constructor(target: KubeTarget) {
    this.#target = target;
    this.#base = new URL(target.server.endsWith('/') ? target.server : `${target.server}/`);
  }

  get server(): string {
    return this.#target.server;
  }

  /** request sends one request; `path` is relative to the server URL (it may carry a query). */
  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse<T>> {
    const res = await this.requestBytes(method, path, { ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)), contentType }) });
    const text = res.body.toString('utf8');
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { message: text.slice(0, 500) };
    }
    return { status: res.status, body: parsed as T };
  }

  /** requestBytes sends one request and returns the body as it came; a body over `limit` bytes fails the request. */
  requestBytes(method: string, path: string, opts: { body?: Buffer; contentType?: string; accept?: string; limit?: number; signal?: AbortSignal } = {}): Promise<KubeResponse<Buffer>> {
    const url = new URL(path.replace(/^\//, ''), this.#base);
    const t = this.#target;
    const payload = opts.body;
    const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json', 'User-Agent': 'sveltos-airgap' };
    if (payload) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    if (t.token) headers.Authorization = `Bearer ${t.token}`;
    else if (t.username !== undefined) headers.Authorization = `Basic ${Buffer.from(`${t.username}:${t.password ?? ''}`).toString('base64')}`;
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const limit = opts.limit ?? Infinity;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers,
          ...(https
            ? {
                ...(t.caPem ? { ca: t.caPem } : {}),
                ...(t.clientCertPem ? { cert: t.clientCertPem, key: t.clientKeyPem } : {}),
                rejectUnauthorized: !t.insecureSkipTLSVerify,
              }
            : {}),
          timeout: 60_000,
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let n = 0;
          res.on('data', (c: Buffer) => {
            n += c.length;
            if (n > limit) req.destroy(new RemoteError('PROTOCOL', `${t.server}: ${method} ${url.pathname}: the response is larger than ${limit} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out after 60 s')));
      req.on('error', (err) => reject(err instanceof RemoteError ? err : new RemoteError('UNREACHABLE', `${t.server}: ${method} ${url.pathname}: ${err.message}`, { cause: err })));
      req.end(payload);
    });
  }
}

/** failure turns an unexpected response into a RemoteError naming the request and the server's message. */
export function failure(res: KubeResponse, what: string): RemoteError {
  const msg = typeof res.body.message === 'string' ? res.body.message : JSON.stringify(res.body).slice(0, 300);
  const code = res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'DENIED' : res.status === 409 ? 'CONFLICT' : 'PROTOCOL';
  return new RemoteError(code, `${what}: ${res.status}: ${msg}`, { details: { status: res.status } });
}
