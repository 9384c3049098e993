// What every Flux source fetcher shares: the error naming the source, reading a Flux artifact (a gzip tar, as
// fluxcd/pkg tar.Untar reads it: symlinks skipped, parent directories created) through the kustomize archive
// reader's checks, the cache writes, and fetching the artifact source-controller published
// (`status.artifact`) from the host `--flux-artifact-host` names, checked against its digest.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../content/oci-layout/ingest.js';
import { isAbortError, ValidationError, VerificationError } from '../errors.js';
import type { FluxArtifact, FluxRequest, FluxTree } from '../resolve/flux.js';
import { connectionHint, failureText, HttpPool, send } from '../registry/http.js';
import { ArchiveError, readArchive, type ArchiveLimits } from './kustomize-archive.js';
import { SOURCEIGNORE_FILE, sourceIgnoreRules } from './sourceignore.js';

/** FluxSourceError is a source that cannot be fetched or read: an input error naming the source. */
export class FluxSourceError extends ValidationError {}

/** MAX_TREE_BYTES bounds what one artifact may hold once read. */
export const MAX_TREE_BYTES = 256 * 1024 * 1024;

const LIMITS: ArchiveLimits = { maxArchiveBytes: MAX_TREE_BYTES, maxFileBytes: 64 * 1024 * 1024, maxTarBytes: MAX_TREE_BYTES, maxEntries: 100_000 };

/** FetchedSource is a fetched artifact: the revision as source-controller names it, and its files. */
export interface FetchedSource {
  revision: string;
  tree: FluxTree;
  /** The sources `spec.include` copied in (URL without credentials, and revision), includes of includes too. */
  included?: IncludedSource[];
  /** How a published artifact was read (`artifact from HOST`, `artifact through the API server`); unset: from the source. */
  via?: string;
}

/** IncludedSource is a GitRepository whose artifact another one includes. */
export interface IncludedSource {
  url: string;
  revision: string;
}

export interface FluxFetchOptions {
  /** Cache root (the export cache directory); sources go under `flux/`. */
  cacheDir: string;
  /** Read the cache only. */
  offline?: boolean;
  signal?: AbortSignal;
  /** `--flux-artifact-host HOST:PORT`: fetch `status.artifact` from there instead of the source itself. */
  artifactHost?: string;
  /**
   * With `--from-cluster`: fetch `status.artifact` through the API server (its service proxy to
   * source-controller); undefined when the proxy is not allowed (the source itself is fetched then).
   */
  artifactProxy?: ArtifactProxy;
  /** Told of what is done instead when a route is closed. */
  onEvent?: (message: string) => void;
}

/** ArtifactProxy reads an artifact URL through another route: its bytes, or undefined when that route is not allowed. */
export type ArtifactProxy = (url: URL, where: string, signal?: AbortSignal) => Promise<Buffer | undefined>;

export const sha256hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/**
 * treeFromArchive reads a Flux artifact's files. With `ignore`, the artifact is filtered as source-controller
 * archives a tree it extracted (default exclusions, `.sourceignore` files, `spec.ignore`); without, it is
 * taken as it is (an artifact source-controller already filtered, or a layer it copies).
 */
export function treeFromArchive(bytes: Buffer, where: string, ignore?: { spec?: string }): FluxTree {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw new FluxSourceError('INVALID', `${where}: not gzip-compressed (Flux reads an artifact only as tar+gzip)`);
  let files: [string, Buffer][];
  try {
    const read = readArchive(bytes, where, LIMITS, { name: 'artifact', createParents: true });
    files = [...read.tree].flatMap(([p, e]): [string, Buffer][] => (e.type === 'file' ? [[p, e.data]] : []));
  } catch (err) {
    if (err instanceof ArchiveError) throw new FluxSourceError('INVALID', err.message, { cause: err });
    throw err;
  }
  if (ignore) {
    const isIgnoreFile = (p: string) => p === SOURCEIGNORE_FILE || p.endsWith(`/${SOURCEIGNORE_FILE}`);
    const rules = sourceIgnoreRules(files.filter(([p]) => isIgnoreFile(p)).map(([p, b]) => [p, b.toString('utf8')]), ignore.spec);
    files = files.filter(([p]) => !rules.ignored(p));
  }
  return new Map(files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** writeAtomic creates `path`'s directory and writes `data` there atomically (a reader never sees half of it). */
export async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, data);
}

/** readJSONMap reads a cache index (a JSON object), empty when missing or damaged. */
export async function readJSONMap<T>(path: string): Promise<Record<string, T>> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, T>) : {};
  } catch {
    return {};
  }
}

/** readBlob reads a cached blob, undefined when missing or not matching its digest. */
export async function readBlob(path: string, hex: string): Promise<Buffer | undefined> {
  const data = await readFile(path).catch(() => undefined);
  return data && sha256hex(data) === hex ? data : undefined;
}

/** ArtifactRoute is where a published artifact is read: a host given by the user, or the API server's proxy. */
export type ArtifactRoute = { host: string } | { proxy: ArtifactProxy };

/** artifactRoute is the route the options open (the host first), if any. */
export function artifactRoute(opts: FluxFetchOptions): ArtifactRoute | undefined {
  return opts.artifactHost ? { host: opts.artifactHost } : opts.artifactProxy ? { proxy: opts.artifactProxy } : undefined;
}

/**
 * fetchArtifact fetches the artifact source-controller published for `req`, from `route`: its URL's path on
 * the host given (as SOURCE_CONTROLLER_LOCALHOST redirects addon-controller), or through the API server's
 * service proxy. It is checked against `status.artifact.digest` (a mismatch is a trust failure: it is not the
 * revision Sveltos sees) and read. Cached by digest; `offline` reads the cache only. Undefined when the proxy
 * is not allowed.
 */
export async function fetchArtifact(req: FluxRequest, artifact: FluxArtifact, route: ArtifactRoute, opts: FluxFetchOptions): Promise<FetchedSource | undefined> {
  const hex = artifact.digest.slice('sha256:'.length);
  const revision = artifact.revision || artifact.digest;
  const where = `${req.kind} ${req.namespace}/${req.name} artifact ${revision}`;
  const file = join(opts.cacheDir, 'flux', 'artifacts', `${hex}.tar.gz`);
  let body = await readBlob(file, hex);
  if (!body) {
    if (opts.offline) throw new FluxSourceError('INVALID', `${where}: not in the cache (${dirname(file)}) and --offline forbids fetching it; export once without --offline with the same --cache-dir`);
    const u = new URL(artifact.url);
    const target = 'host' in route ? `${u.protocol}//${route.host}${u.pathname}${u.search}` : `${artifact.url} through the API server`;
    body = 'host' in route ? await download(target, where, opts.signal) : await route.proxy(u, where, opts.signal);
    if (!body) return undefined;
    const got = sha256hex(body);
    if (got !== hex) {
      throw new VerificationError('TAMPERED', `${where}: ${target} served sha256:${got}, but status.artifact.digest is ${artifact.digest}: not the artifact Sveltos sees (copy the source object from the cluster again${'host' in route ? ', or check --flux-artifact-host' : ''})`);
    }
    await writeAtomic(file, body);
  }
  return { revision, tree: treeFromArchive(body, where), via: 'host' in route ? `artifact from ${route.host}` : 'artifact through the API server' };
}

async function download(target: string, where: string, signal?: AbortSignal): Promise<Buffer> {
  const pool = new HttpPool({ maxSockets: 1 });
  try {
    const res = await send(target, { pool, headers: { 'user-agent': 'sveltos-airgap' }, ...(signal ? { signal } : {}) });
    if (res.status !== 200) {
      await res.discard();
      throw new FluxSourceError('INVALID', `${where}: ${target}: HTTP ${res.status}${res.status === 404 ? ' (source-controller keeps only recent revisions: copy the source object from the cluster again)' : ''}`);
    }
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_TREE_BYTES) {
        res.body.destroy();
        throw new FluxSourceError('INVALID', `${where}: ${target}: larger than ${MAX_TREE_BYTES >> 20} MiB`);
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof FluxSourceError || isAbortError(err)) throw err;
    throw new FluxSourceError('INVALID', `${where}: ${target}: ${failureText(err)}${connectionHint(err, new URL(target).host, { plainHTTP: 'check the URL scheme', trust: 'the artifact host must be reachable over the URL\'s scheme', address: '--flux-artifact-host' })}`, { cause: err });
  } finally {
    pool.close();
  }
}
