// Graph walking: the successors of a node are what it points at (layers, config, manifests, subject).
import { ANNOTATION_PLATFORMS } from '../model/bundle.js';
import { isIndexMediaType, isManifestMediaType, type Descriptor, type Manifest, type Platform } from '../model/oci.js';
import { indexFromJSON, manifestFromJSON } from './descriptor.js';
import type { Fetcher, OpOptions } from './storage.js';
import { readAll, DEFAULT_MAX_METADATA_BYTES } from './verify.js';

export interface SuccessorOptions extends OpOptions {
  /** Largest manifest/index read into memory. Default 4 MiB. */
  maxMetadataBytes?: number;
}

/** isGraphNode tells whether a descriptor's content lists successors. */
export function isGraphNode(desc: Descriptor): boolean {
  return isManifestMediaType(desc.mediaType) || isIndexMediaType(desc.mediaType);
}

/** platformString renders a platform as `os/arch[/variant]`. */
export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** platformMatches tells whether `p` is one of `wanted` (`os/arch` matches any variant, `os/arch/variant` only that one). */
export function platformMatches(p: Platform | undefined, wanted: string[]): boolean {
  if (!p) return false;
  return wanted.some((w) => w === platformString(p) || w === `${p.os}/${p.architecture}`);
}

/**
 * successorsOf parses already-verified manifest/index bytes and lists the children. An index annotated
 * with ANNOTATION_PLATFORMS (carried for some platforms only) lists only the manifests of those platforms.
 * `onManifest` is given a manifest once parsed, for a caller that needs more of it than its children.
 */
export function successorsOf(desc: Descriptor, content: Buffer, onManifest?: (m: Manifest) => void): Descriptor[] {
  if (isManifestMediaType(desc.mediaType)) {
    const m = manifestFromJSON(content, desc.digest);
    onManifest?.(m);
    return [...(m.subject ? [m.subject] : []), m.config, ...m.layers];
  }
  if (isIndexMediaType(desc.mediaType)) {
    const idx = indexFromJSON(content, desc.digest);
    const only = desc.annotations?.[ANNOTATION_PLATFORMS];
    const manifests = only === undefined ? idx.manifests : idx.manifests.filter((m) => platformMatches(m.platform, only.split(',')));
    return [...(idx.subject ? [idx.subject] : []), ...manifests];
  }
  return [];
}

/** successors fetches (verified, size-bounded) a node and lists its children; leaves have none. */
export async function successors(fetcher: Fetcher, desc: Descriptor, opts: SuccessorOptions = {}): Promise<Descriptor[]> {
  if (!isGraphNode(desc)) return [];
  const body = await readAll(await fetcher.fetch(desc, opts), desc, { limit: opts.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES });
  return successorsOf(desc, body);
}
