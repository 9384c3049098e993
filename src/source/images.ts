// Container images to carry: each resolved in its registry with the OCI client and copied into the local
// image cache (an OCI layout keyed by digest, tagged by reference), from which the bundle writer reads it.
// Indexes are kept as published (same digest); with `platforms` only the matching platform manifests are
// carried.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { copyGraph } from '../content/copy.js';
import { indexFromJSON } from '../content/descriptor.js';
import { isGraphNode, platformMatches, platformString } from '../content/graph.js';
import { blobPath } from '../content/oci-layout/ingest.js';
import { OciLayoutStore } from '../content/oci-layout/store.js';
import { digestFile } from '../content/file-chunks.js';
import { canResolveContent, type OpOptions, type RangeFetcher, type ReadOnlyStorage, type ReadOnlyTarget, type Storage, type VerifiedBlobFiles } from '../content/storage.js';
import { readAll, verifiedStream } from '../content/verify.js';
import { ContentError, CopyError, ValidationError } from '../errors.js';
import { ANNOTATION_KIND, ANNOTATION_PLATFORMS, ANNOTATION_SOURCE } from '../model/bundle.js';
import { isIndexMediaType, type Descriptor } from '../model/oci.js';
import { isPlainObject } from '../model/sveltos.js';
import { RegistryClient, RegistrySessions, type RegistryCredentials } from '../registry/client.js';
import { authHost, entryCredentials } from '../registry/docker-config.js';
import type { ImageRef } from '../resolve/images.js';
import { repositoryFromURL } from './helm.js';

/** RegistryAccess says how to reach registries: credentials per host, plain HTTP, TLS. */
export interface RegistryAccess {
  /** Credentials by registry host (as in a Docker config.json `auths`). */
  credentials?: Record<string, RegistryCredentials>;
  /** Hosts reached over plain http://. */
  plainHTTP?: string[];
  /** Hosts whose TLS certificate is not checked. */
  insecure?: string[];
  /** Extra CA certificates (PEM) for every host. */
  ca?: string | Buffer;
  /** Requests in flight per registry. Default 6. */
  concurrency?: number;
}

/** loadDockerConfig reads the `auths` of a Docker config.json (`auth` base64 or username/password). */
export async function loadDockerConfig(path: string): Promise<Record<string, RegistryCredentials>> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ValidationError('USAGE', `${path}: cannot read a Docker config.json (${(err as Error).message})`, { cause: err });
  }
  const out: Record<string, RegistryCredentials> = {};
  const auths = isPlainObject(doc) && isPlainObject(doc.auths) ? doc.auths : {};
  for (const [key, v] of Object.entries(auths)) {
    const host = authHost(key);
    const creds = entryCredentials(v);
    if (creds) out[host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host] = creds;
  }
  return out;
}

/** CarriedImage is an image ready for packBundle's `extras`. */
export interface CarriedImage {
  image: ImageRef;
  source: ReadOnlyStorage;
  /** The root (index or manifest) as published, annotated for the bundle. */
  root: Descriptor;
  /** Reference under which the bundle names it and `serve` serves it: `<repository>:<tag>`. */
  ref: string;
  /** Platforms carried when the root is an index filtered by platform. */
  platforms?: string[];
  /** The root document's bytes when resolving read them (a registry answers both in one request). */
  rootContent?: Buffer;
}

/**
 * describeImage resolves `image` in `source` (by digest when it has one, else by `reference`) and returns
 * what the bundle carries. With `platforms`, an index keeps its digest and is annotated with the platforms
 * kept; an image offering none of them is an error.
 */
export async function describeImage(image: ImageRef, source: ReadOnlyTarget, reference: string, platforms?: string[], signal?: AbortSignal): Promise<CarriedImage> {
  const op = signal ? { signal } : {};
  const resolved = canResolveContent(source) ? await source.resolveContent(image.digest ?? reference, op) : { descriptor: await source.resolve(image.digest ?? reference, op) };
  const root = resolved.descriptor;
  const annotations: Record<string, string> = { [ANNOTATION_KIND]: 'image', [ANNOTATION_SOURCE]: image.reference };
  const out: CarriedImage = { image, source, root: { mediaType: root.mediaType, digest: root.digest, size: root.size, annotations }, ref: servedReference(image) };
  if ('content' in resolved) out.rootContent = resolved.content;
  if (platforms?.length && isIndexMediaType(root.mediaType)) {
    const index = indexFromJSON(out.rootContent ?? (await readAll(await source.fetch(root, op), root)), `${image.reference}@${root.digest}`);
    const kept = index.manifests.filter((m) => platformMatches(m.platform, platforms));
    if (kept.length === 0) {
      const offered = index.manifests.map((m) => (m.platform ? platformString(m.platform) : '?')).join(', ');
      throw new ValidationError('INVALID', `${image.reference}: no manifest for --platform ${platforms.join(',')} (the image offers ${offered || 'none'})`);
    }
    const keptNames = [...new Set(kept.map((m) => platformString(m.platform!)))].sort();
    annotations[ANNOTATION_PLATFORMS] = keptNames.join(',');
    out.platforms = keptNames;
  }
  return out;
}

/** servedRepository maps an image to its repository at the site: `docker.io/library/nginx`, `127.0.0.1_5000/x`. */
export function servedRepository(image: Pick<ImageRef, 'registry' | 'repository'>): string {
  return repositoryFromURL(`${image.registry}/${image.repository}`);
}

/** servedReference is `<served repository>:<tag>`, or `:sha256-<hex>` for an image named by digest only. */
export function servedReference(image: ImageRef): string {
  return `${servedRepository(image)}:${image.tag ?? image.digest!.replace(':', '-')}`;
}

/** ImageResolver opens one client per repository over shared sessions (one per registry). */
export class ImageResolver {
  readonly #sessions = new RegistrySessions();
  constructor(private readonly access: RegistryAccess = {}) {}

  client(image: Pick<ImageRef, 'registry' | 'repository'>): RegistryClient {
    const host = image.registry;
    const session = this.#sessions.get(host, { insecureSkipTLSVerify: this.access.insecure?.includes(host) ?? false, ...(this.access.ca ? { ca: this.access.ca } : {}), concurrency: this.access.concurrency ?? 6 });
    const creds = this.access.credentials?.[host];
    return new RegistryClient({
      registry: host,
      repository: image.repository,
      session,
      plainHTTP: this.access.plainHTTP?.includes(host) ?? false,
      ...(creds ? { credentials: creds } : {}),
    });
  }

  /** prepare resolves an image in its registry (see describeImage). */
  prepare(image: ImageRef, platforms?: string[], signal?: AbortSignal): Promise<CarriedImage> {
    return describeImage(image, this.client(image), image.tag ?? image.digest!, platforms, signal);
  }

  async close(): Promise<void> {
    await this.#sessions.close();
  }
}

/**
 * ImageCache is the local image store under the export cache directory (`<cache>/images`, an OCI layout):
 * blobs by digest, each image tagged with its canonical reference. A second export of the same images
 * copies no layer again, and `--offline` exports take images from it alone. Deleting it is always safe.
 *
 * Every blob handed to the bundle writer was verified in this process: copied in through a digest verifier,
 * or, when already cached, hashed again (a damaged file is removed and fetched anew). The writer then
 * copies those files as they are (`source.verifiedBlobFile`).
 */
export class ImageCache {
  /** source reads the cache for the bundle writer. */
  readonly source: ReadOnlyStorage & RangeFetcher & VerifiedBlobFiles;
  readonly #verified = new Set<string>();

  private constructor(readonly store: OciLayoutStore) {
    this.source = {
      exists: (d) => store.exists(d),
      fetch: async (d, o) => verifiedStream(await store.fetch(d, o), d),
      fetchRange: (d, start, end, o) => store.fetchRange(d, start, end, o),
      verifiedBlobFile: (d) => (this.#verified.has(d.digest) ? blobPath(store.root, d.digest) : undefined),
    };
  }

  static async open(dir: string): Promise<ImageCache> {
    return new ImageCache(await OciLayoutStore.open(join(dir, 'images'), { create: true }));
  }

  /**
   * add copies a resolved image's graph (only the platforms it carries) from its registry into the cache,
   * tags it, and returns it read from the cache. Blobs the cache holds (and that still match their digest)
   * are not copied again; manifests and indexes are always read anew, since an index held for other
   * platforms may lack these ones. `onCopy` hears of each node copied or found in the cache.
   */
  async add(image: CarriedImage, opts: OpOptions & { concurrency?: number; onCopy?: (d: Descriptor, skipped: boolean) => void } = {}): Promise<CarriedImage> {
    const writer = this.#walker(async (d, content, o) => {
      await this.store.push(d, content, o);
      this.#verified.add(d.digest);
    });
    await copyGraph(image.source, writer, image.root, {
      ...(image.rootContent ? { rootContent: image.rootContent } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.onCopy ? { postCopy: (d: Descriptor) => opts.onCopy!(d, false), onCopySkipped: (d: Descriptor) => opts.onCopy!(d, true) } : {}),
    });
    await this.store.tag(image.root, image.image.reference);
    return { ...image, source: this.source };
  }

  /** lookup describes an image from the cache alone (for --offline); a miss or a partial graph is an error that says so. */
  async lookup(image: ImageRef, platforms?: string[], signal?: AbortSignal): Promise<CarriedImage> {
    const miss = (why: string, cause?: unknown) =>
      new ValidationError('INVALID', `${image.reference}: ${why} and --offline forbids fetching it; run the export once online (cache: ${this.store.root})`, {
        ...(cause ? { cause } : {}),
        details: { image: image.reference },
      });
    let found: CarriedImage;
    try {
      found = await describeImage(image, this.store, image.reference, platforms, signal);
    } catch (err) {
      if (err instanceof ContentError && err.code === 'NOT_FOUND') throw miss('not in the image cache', err);
      throw err;
    }
    // Every blob of the graph must be here and intact: walk it without copying anything.
    const probe = this.#walker(async (_d, content: Readable) => {
      content.resume();
    });
    try {
      await copyGraph(this.store, probe, found.root, signal ? { signal } : {});
    } catch (err) {
      if (err instanceof CopyError && (err.cause as { code?: string } | undefined)?.code === 'NOT_FOUND') throw miss(`only partly in the image cache (${(err.details as { digest?: string } | undefined)?.digest ?? 'a blob'} is missing)`, err);
      throw err;
    }
    return { ...found, source: this.source };
  }

  // #walker is the cache as a copyGraph destination: a blob counts as present only when intact, and
  // manifests and indexes are always walked (their children are checked one by one).
  #walker(push: Storage['push']): Storage {
    return { exists: async (d) => !isGraphNode(d) && (await this.#holds(d)), fetch: (d) => this.store.fetch(d), push };
  }

  // #holds tells whether the cache holds `d` intact, hashing the file once per process; a damaged file is
  // removed (it is then fetched anew, or reported missing when offline).
  async #holds(d: Descriptor): Promise<boolean> {
    if (this.#verified.has(d.digest)) return true;
    const path = blobPath(this.store.root, d.digest);
    if (!(await this.store.exists(d))) return false;
    const ok = await digestFile(path, d.size).then((found) => found === d.digest, () => false);
    if (!ok) {
      await rm(path, { force: true });
      return false;
    }
    this.#verified.add(d.digest);
    return true;
  }
}
