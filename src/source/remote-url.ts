// remoteURL sources (policyRefs and kustomizationRefs), fetched on the exporting machine as addon-controller
// fetches them: an http(s) body, or every layer of an OCI artifact in manifest order; a bearer token or
// username/password from the referenced Secret, its caFile replacing the system roots, insecureSkipTLSVerify
// (only without a caFile), plainHTTP for OCI, and a 20 MiB limit on what is read. Each body is kept in a
// cache under the digest of its content; `offline` reads the cache only. Credentials never leave the
// request headers: messages name the URL without its user information or query.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../content/oci-layout/ingest.js';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { manifestFromJSON } from '../content/descriptor.js';
import { BLOCK, tarEntries } from '../content/tar-header.js';
import { isAbortError, ValidationError } from '../errors.js';
import { RegistryClient, RegistryError } from '../registry/client.js';
import { connectionHint, failureText, HttpPool, send } from '../registry/http.js';
import { displayURL, type RemoteAccess } from '../resolve/remote-url.js';
import type { KustomizeTree, ReadArchive } from './kustomize-archive.js';

export type { RemoteAccess } from '../resolve/remote-url.js';

/** REMOTE_URL_MAX_BYTES is addon-controller's limit on a remoteURL body (and on all of an artifact's layers). */
export const REMOTE_URL_MAX_BYTES = 20 * 1024 * 1024;

/** RemoteURLError is a remoteURL that cannot be fetched or read: an input error naming the URL. */
export class RemoteURLError extends ValidationError {}

export interface RemoteFetchOptions {
  /** Cache root (the export cache directory); bodies go under `remote-url/`. */
  cacheDir: string;
  /** Read the cache only. */
  offline?: boolean;
  signal?: AbortSignal;
  /** Bytes read at most. Default REMOTE_URL_MAX_BYTES. */
  maxBytes?: number;
  /** Milliseconds without a byte before the request fails. Default 30 000 (addon-controller's client timeout). */
  timeoutMs?: number;
}

/** RemoteBody is what one URL served: one body (http) or each layer (OCI), and the digest that names it. */
export interface RemoteBody {
  url: string;
  /** sha256 of the http body, or the OCI manifest digest. */
  digest: string;
  parts: Buffer[];
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface CacheEntry {
  url: string;
  digest: string;
  parts: string[];
}

/** fetchRemote fetches `url` (or, offline, reads the cache) and stores what it read in the cache. */
export async function fetchRemote(url: string, access: RemoteAccess, opts: RemoteFetchOptions): Promise<RemoteBody> {
  const shown = displayURL(url);
  const dir = join(opts.cacheDir, 'remote-url');
  const entryPath = join(dir, 'urls', `${sha256(url)}.json`);
  if (opts.offline) return readCached(url, shown, dir, entryPath);
  const limit = opts.maxBytes ?? REMOTE_URL_MAX_BYTES;
  let body: { digest: string; parts: Buffer[] };
  if (/^oci:\/\//i.test(url)) body = await fetchOCI(url, shown, access, limit, opts);
  else if (/^https?:\/\//i.test(url)) body = await fetchHTTP(url, shown, access, limit, opts);
  else throw new RemoteURLError('INVALID', `remoteURL ${shown}: only http://, https:// and oci:// URLs are fetched (addon-controller's URL pattern)`);
  await mkdir(join(dir, 'blobs'), { recursive: true });
  await mkdir(join(dir, 'urls'), { recursive: true });
  const parts: string[] = [];
  for (const p of body.parts) {
    const hex = sha256(p);
    await writeFileAtomic(join(dir, 'blobs', hex), p);
    parts.push(hex);
  }
  await writeFileAtomic(entryPath, Buffer.from(JSON.stringify({ url: shown, digest: body.digest, parts } satisfies CacheEntry)));
  return { url, digest: body.digest, parts: body.parts };
}

async function readCached(url: string, shown: string, dir: string, entryPath: string): Promise<RemoteBody> {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(await readFile(entryPath, 'utf8')) as CacheEntry;
  } catch {
    throw new RemoteURLError('INVALID', `remoteURL ${shown}: not in the cache (${dir}) and --offline forbids fetching it; export once without --offline on a machine that can reach it, with the same --cache-dir`);
  }
  const parts: Buffer[] = [];
  for (const hex of entry.parts) {
    let data: Buffer;
    try {
      data = await readFile(join(dir, 'blobs', hex));
    } catch {
      throw new RemoteURLError('INVALID', `remoteURL ${shown}: the cache (${dir}) lacks part sha256:${hex}; export once without --offline to fetch it again`);
    }
    if (sha256(data) !== hex) throw new RemoteURLError('INVALID', `remoteURL ${shown}: cached part sha256:${hex} does not match its digest (the cache ${dir} was changed); export once without --offline`);
    parts.push(data);
  }
  return { url, digest: entry.digest, parts };
}

function tooLarge(shown: string, limit: number): RemoteURLError {
  return new RemoteURLError(
    'INVALID',
    `remoteURL ${shown}: larger than the ${limit} byte (${Math.round(limit / 1048576)} MiB) limit addon-controller applies to remoteURL content; serve less (split it into several remoteURL references) or carry it in ConfigMaps`,
  );
}

const HINTS = {
  plainHTTP: 'use an http:// URL',
  trust: 'give its CA (caFile in the secretRef Secret) or, on a trusted network only, set insecureSkipTLSVerify: true',
  address: 'the URL',
};

async function fetchHTTP(url: string, shown: string, access: RemoteAccess, limit: number, opts: RemoteFetchOptions): Promise<{ digest: string; parts: Buffer[] }> {
  const headers: Record<string, string> = { 'user-agent': 'sveltos-airgap' };
  if (access.token !== undefined) headers.authorization = `Bearer ${access.token.trim()}`;
  else if (access.username !== undefined && access.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${access.username}:${access.password}`).toString('base64')}`;
  const pool = new HttpPool({ ...(access.ca ? { ca: access.ca } : access.insecureSkipTLSVerify ? { insecureSkipTLSVerify: true } : {}), maxSockets: 1 });
  try {
    // send drops the Authorization header when a redirect leaves the URL's origin.
    const res = await send(url, { headers, pool, maxRedirects: 10, idleTimeoutMs: opts.timeoutMs ?? 30_000, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (res.status !== 200) {
      await res.discard();
      const moved = displayURL(res.url) !== shown ? ` (from ${displayURL(res.url)})` : '';
      const auth = res.status === 401 || res.status === 403 ? '; check the secretRef Secret (token, or username and password)' : '';
      throw new RemoteURLError('INVALID', `remoteURL ${shown}: HTTP ${res.status}${moved}${auth}`, { details: { status: res.status } });
    }
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > limit) {
        res.body.destroy();
        throw tooLarge(shown, limit);
      }
      chunks.push(c);
    }
    const body = Buffer.concat(chunks);
    return { digest: `sha256:${sha256(body)}`, parts: [body] };
  } catch (err) {
    if (err instanceof RemoteURLError || isAbortError(err)) throw err;
    throw new RemoteURLError('INVALID', `remoteURL ${shown}: ${failureText(err)}${connectionHint(err, new URL(url).host, HINTS)}`, { cause: err });
  } finally {
    pool.close();
  }
}

// parseOCIURL splits `oci://host[:port]/repo[:tag|@digest]`.
function parseOCIURL(url: string, shown: string): { registry: string; repository: string; reference: string } {
  const rest = url.replace(/^oci:\/\//i, '');
  const slash = rest.indexOf('/');
  if (slash <= 0) throw new RemoteURLError('INVALID', `remoteURL ${shown}: expected oci://HOST/REPOSITORY[:TAG|@DIGEST]`);
  const registry = rest.slice(0, slash);
  let path = rest.slice(slash + 1);
  let reference = 'latest';
  const at = path.indexOf('@');
  if (at >= 0) {
    reference = path.slice(at + 1);
    path = path.slice(0, at);
  } else {
    const colon = path.lastIndexOf(':');
    if (colon > path.lastIndexOf('/')) {
      reference = path.slice(colon + 1);
      path = path.slice(0, colon);
    }
  }
  if (!path) throw new RemoteURLError('INVALID', `remoteURL ${shown}: expected oci://HOST/REPOSITORY[:TAG|@DIGEST]`);
  return { registry, repository: path, reference };
}

async function fetchOCI(url: string, shown: string, access: RemoteAccess, limit: number, opts: RemoteFetchOptions): Promise<{ digest: string; parts: Buffer[] }> {
  const { registry, repository, reference } = parseOCIURL(url, shown);
  const credentials =
    access.token !== undefined ? { token: access.token.trim() } : access.username !== undefined && access.password !== undefined ? { username: access.username, password: access.password } : undefined;
  const client = new RegistryClient({
    registry,
    repository,
    ...(credentials ? { credentials } : {}),
    ...(access.ca ? { ca: access.ca } : access.insecureSkipTLSVerify ? { insecureSkipTLSVerify: true } : {}),
    plainHTTP: Boolean(access.plainHTTP),
    retries: 1,
  });
  const op = opts.signal ? { signal: opts.signal } : {};
  try {
    const { descriptor, content } = await client.resolveContent(reference, op);
    let m;
    try {
      m = manifestFromJSON(content, `${shown}@${descriptor.digest}`);
    } catch (err) {
      // addon-controller reads only `layers`: an image index yields nothing. Say so instead.
      throw new RemoteURLError('INVALID', `remoteURL ${shown}: ${descriptor.mediaType} is not an artifact manifest with layers (${(err as Error).message}); point the URL at one manifest`);
    }
    const total = m.layers.reduce((s, l) => s + l.size, 0);
    if (total > limit) throw tooLarge(shown, limit);
    const parts: Buffer[] = [];
    for (const layer of m.layers) {
      const chunks: Buffer[] = [];
      // fetch checks the layer's size and digest as it streams.
      for await (const c of await client.fetch(layer, op)) chunks.push(c as Buffer);
      parts.push(Buffer.concat(chunks));
    }
    return { digest: descriptor.digest, parts };
  } catch (err) {
    if (err instanceof RemoteURLError || isAbortError(err)) throw err;
    if (err instanceof RegistryError || (err as { code?: string }).code === 'NOT_FOUND') {
      throw new RemoteURLError('INVALID', `remoteURL ${shown}: ${(err as Error).message}`, { cause: err });
    }
    throw new RemoteURLError('INVALID', `remoteURL ${shown}: ${failureText(err)}${connectionHint(err, registry, HINTS)}`, { cause: err });
  } finally {
    await client.close();
  }
}

const YAML_NAME = /\.(ya?ml|json)$/i;

/**
 * policyContent is the text a remoteURL policyRef deploys (addon-controller's extractYAMLFromLayer per part,
 * the parts concatenated): a gzip part is gunzipped (the raw bytes are kept when that fails); a tar yields
 * each regular `.yaml`/`.yml`/`.json` entry, in tar order, each followed by `\n---\n`; anything else is used as is.
 */
export function policyContent(parts: Buffer[], shown: string, limit = REMOTE_URL_MAX_BYTES): string {
  let out = '';
  for (const raw of parts) {
    let data = raw;
    if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
      try {
        data = gunzipSync(raw, { maxOutputLength: limit });
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(shown, limit);
        data = raw;
      }
    }
    out += isTar(data) ? yamlFromTar(data, shown) : data.toString('utf8');
  }
  return out;
}

function isTar(b: Buffer): boolean {
  return b.length >= BLOCK && b.subarray(257, 262).toString('latin1') === 'ustar';
}

function yamlFromTar(tar: Buffer, shown: string): string {
  let out = '';
  try {
    for (const { header: h, data } of tarEntries(tar)) {
      const base = h.name.split('/').at(-1) ?? '';
      if (h.type !== 'file' || base.startsWith('._') || h.name.includes('PaxHeader') || !YAML_NAME.test(h.name)) continue;
      out += `${data.toString('utf8')}\n---\n`;
    }
  } catch (err) {
    throw new RemoteURLError('INVALID', `remoteURL ${shown}: the archive is not a valid tar: ${(err as Error).message}`);
  }
  return out;
}

/**
 * overlayLayers extracts an OCI artifact's layers one over the other, as addon-controller extracts them into one
 * directory. A file two layers write with different bytes is refused: addon-controller rewrites it without
 * truncating, so a shorter second file keeps the tail of the first. A file where another layer has a directory
 * (or the reverse) is refused too.
 */
export function overlayLayers(layers: ReadArchive[], where: string): ReadArchive {
  const tree: KustomizeTree = new Map();
  const skipped: ReadArchive['skipped'] = [];
  layers.forEach((layer, i) => {
    skipped.push(...layer.skipped);
    for (const [path, entry] of layer.tree) {
      const before = tree.get(path);
      if (before && (before.type !== entry.type || (before.type === 'file' && entry.type === 'file' && !before.data.equals(entry.data)))) {
        throw new RemoteURLError(
          'INVALID',
          `${where}: layer ${i + 1} writes ${JSON.stringify(path)} over an earlier layer's different ${before.type}; addon-controller extracts layers into one directory without truncating files, so the result would mix both: give each path to one layer`,
        );
      }
      tree.set(path, entry);
    }
  });
  return { tree, skipped };
}
