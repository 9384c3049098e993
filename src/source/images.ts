// Container images to carry: each resolved in its registry with the OCI client and handed to the bundle
// writer as a graph read straight from the registry (nothing is staged on disk). Indexes are kept as
// published (same digest); with `platforms` only the matching platform manifests are carried.
import { readFile } from 'node:fs/promises';
import { indexFromJSON } from '../content/descriptor.js';
import { platformMatches, platformString } from '../content/graph.js';
import { readAll } from '../content/verify.js';
import { ValidationError } from '../errors.js';
import { ANNOTATION_KIND, ANNOTATION_PLATFORMS, ANNOTATION_SOURCE } from '../model/bundle.js';
import { isIndexMediaType, type Descriptor } from '../model/oci.js';
import { isPlainObject } from '../model/sveltos.js';
import { RegistryClient, RegistrySession, type RegistryCredentials } from '../registry/client.js';
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
  source: RegistryClient;
  /** The root (index or manifest) as published, annotated for the bundle. */
  root: Descriptor;
  /** Reference under which the bundle names it and `serve` serves it: `<repository>:<tag>`. */
  ref: string;
  /** Platforms carried when the root is an index filtered by platform. */
  platforms?: string[];
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
  readonly #sessions = new Map<string, RegistrySession>();
  readonly #clients: RegistryClient[] = [];
  constructor(private readonly access: RegistryAccess = {}) {}

  client(image: Pick<ImageRef, 'registry' | 'repository'>): RegistryClient {
    const host = image.registry;
    let session = this.#sessions.get(host);
    const insecure = this.access.insecure?.includes(host) ?? false;
    if (!session) {
      session = new RegistrySession({ insecureSkipTLSVerify: insecure, ...(this.access.ca ? { ca: this.access.ca } : {}), concurrency: this.access.concurrency ?? 6 });
      this.#sessions.set(host, session);
    }
    const creds = this.access.credentials?.[host];
    const c = new RegistryClient({
      registry: host,
      repository: image.repository,
      session,
      plainHTTP: this.access.plainHTTP?.includes(host) ?? false,
      ...(creds ? { credentials: creds } : {}),
    });
    this.#clients.push(c);
    return c;
  }

  /**
   * prepare resolves an image and returns what the bundle carries. With `platforms`, an index keeps its
   * digest and is annotated with the platforms kept; an image offering none of them is an error.
   */
  async prepare(image: ImageRef, platforms?: string[], signal?: AbortSignal): Promise<CarriedImage> {
    const source = this.client(image);
    const root = await source.resolve(image.digest ?? image.tag!, signal ? { signal } : {});
    const annotations: Record<string, string> = { [ANNOTATION_KIND]: 'image', [ANNOTATION_SOURCE]: image.reference };
    const out: CarriedImage = { image, source, root: { ...root, annotations }, ref: servedReference(image) };
    if (platforms?.length && isIndexMediaType(root.mediaType)) {
      const index = indexFromJSON(await readAll(await source.fetch(root), root), `${image.reference}@${root.digest}`);
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

  async close(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((s) => s.close()));
  }
}
