// The status page's HTTP side, separate from the agent API and the registry (it may sit on another network):
// the page, and JSON behind every view under /ui/api/. Read-only; a bearer token (or basic auth with the token
// as password) when one is configured. The data is read from the store and the agent state on each request.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { collectClusters, importsOf } from '../agent-api/report.js';
import { clusterView, overview } from './model.js';
import { readState } from '../bundle/site.js';
import { carriedImages, contentView, diskUsage, objectYAML, readClusterContent, storeView } from './content.js';
import { statusPage, type PageData } from './page.js';

export interface StatusPageOptions {
  storeDir: string;
  /** Required credential: `Authorization: Bearer TOKEN`, or basic auth with TOKEN as the password. */
  token?: string;
  now?: () => Date;
}

/**
 * pageData reads the views of a store now: the overview, and the cluster views of `only` (every cluster when
 * unset; a fleet's views are megabytes, and the live page shows one cluster at a time).
 */
export async function pageData(storeDir: string, now: Date, only?: string[]): Promise<PageData> {
  const { state, clusters } = await collectClusters(storeDir);
  const importedAt = new Map(state.history.map((h) => [h.sequence, h.importedAt]));
  const imports = importsOf(state);
  return {
    title: `site store ${storeDir}, sequence ${state.highestSequence}`,
    generatedAt: now.toISOString(),
    live: true,
    overview: overview(clusters, now, importedAt),
    clusters: Object.fromEntries(clusters.filter((c) => !only || only.includes(c.cluster)).map((c) => [c.cluster, clusterView(c, imports)])),
  };
}

/** GZIP_FROM_BYTES: bodies above this size are gzipped when the client accepts it. */
const GZIP_FROM_BYTES = 16 * 1024;

/** DISK_TTL_MS: the store's disk use is walked at most this often (a large store has many files). */
const DISK_TTL_MS = 30_000;

const HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Everything is inline; nothing may load from anywhere else.
  'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** statusPageHandler answers the page and its JSON; anything else is 404. */
export function statusPageHandler(opts: StatusPageOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const now = opts.now ?? (() => new Date());
  const send = (res: ServerResponse, code: number, type: string, body: string, extra: Record<string, string> = {}) => {
    // A fleet's overview is hundreds of kilobytes of JSON every poll: gzip it for clients that take it.
    if (Buffer.byteLength(body) > GZIP_FROM_BYTES && /\bgzip\b/.test(String(res.req.headers['accept-encoding'] ?? ''))) {
      res.writeHead(code, { ...HEADERS, 'Content-Type': type, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding', ...extra }).end(gzipSync(body, { level: 1 }));
    } else res.writeHead(code, { ...HEADERS, 'Content-Type': type, ...extra }).end(body);
  };
  const json = (res: ServerResponse, code: number, v: unknown) => send(res, code, 'application/json', `${JSON.stringify(v)}\n`);
  let disk: { at: number; bytes: Promise<number> } | undefined;
  const diskBytes = () => {
    if (!disk || Date.now() - disk.at > DISK_TTL_MS) disk = { at: Date.now(), bytes: diskUsage(opts.storeDir) };
    return disk.bytes;
  };
  return (req, res) => {
    void (async () => {
      if (opts.token && !authorized(req, opts.token)) return send(res, 401, 'text/plain', 'a token is required\n', { 'WWW-Authenticate': 'Basic realm="sveltos-airgap status", charset="UTF-8"' });
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'read-only\n', { Allow: 'GET, HEAD' });
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      if (path === '/' || path === '/ui' || path === '/ui/') return send(res, 200, 'text/html; charset=utf-8', statusPage());
      if (!path.startsWith('/ui/api/')) return json(res, 404, { error: `${path}: not found (the page is at /, its data under /ui/api/)` });
      if (path === '/ui/api/store') return json(res, 200, storeView(await readState(opts.storeDir), await diskBytes()));
      const served = /^\/ui\/api\/clusters\/([^/]+)\/([^/]+)\/(content|objects\/([^/]+)\/(\d{1,6}))$/.exec(path);
      if (served) {
        const cluster = `${decodeURIComponent(served[1]!)}/${decodeURIComponent(served[2]!)}`;
        const state = await readState(opts.storeDir);
        const read = await readClusterContent(opts.storeDir, state, cluster);
        if (!read) return json(res, 404, { error: `${cluster}: the store serves no such cluster` });
        if (served[3] === 'content') return json(res, 200, contentView(read.desired, read.encrypted, carriedImages(state)));
        const yaml = objectYAML(read.desired, decodeURIComponent(served[4]!), Number(served[5]));
        if (yaml === undefined) return json(res, 404, { error: `${cluster}: group ${decodeURIComponent(served[4]!)} has no object ${served[5]}` });
        return send(res, 200, 'text/plain; charset=utf-8', yaml);
      }
      const m = /^\/ui\/api\/clusters\/([^/]+)\/([^/]+)$/.exec(path);
      const one = m ? `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}` : undefined;
      // /ui/api/status?cluster=NS/NAME (repeatable) holds only those clusters' views; without it, all.
      const wanted = path === '/ui/api/status' ? (url.searchParams.has('cluster') ? url.searchParams.getAll('cluster') : undefined) : one ? [one] : [];
      const data = await pageData(opts.storeDir, now(), wanted);
      if (path === '/ui/api/status') return json(res, 200, data);
      if (path === '/ui/api/overview') return json(res, 200, data.overview);
      const c = one ? data.clusters[one] : undefined;
      if (c) return json(res, 200, c);
      return json(res, 404, { error: `${path}: no such view or cluster` });
    })().catch((err: unknown) => {
      if (res.headersSent) return;
      if (err instanceof URIError) json(res, 400, { error: `${req.url ?? ''}: not a valid percent-encoded path` });
      else json(res, 500, { error: (err as Error)?.message ?? String(err) });
    });
  };
}

// authorized compares in constant time: the bearer token, or the password of basic auth.
function authorized(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization ?? '';
  const given = h.startsWith('Bearer ') ? h.slice(7) : h.startsWith('Basic ') ? Buffer.from(h.slice(6), 'base64').toString().split(':').slice(1).join(':') : '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
