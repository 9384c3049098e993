// The site store's state.json (DESIGN.md §5): what is current per cluster, the highest sequence seen,
// and the history of imports. Replaced atomically; parsed defensively.
import { descriptorFromJSON } from '../content/descriptor.js';
import { ContentError } from '../errors.js';
import { ANNOTATION_PLATFORMS } from '../model/bundle.js';
import type { Descriptor } from '../model/oci.js';
import { isPlainObject } from '../model/json.js';

export const STATE_FILE = 'state.json';

export interface ImportRecord {
  sequence: number;
  root: Descriptor;
  signature: Descriptor;
  createdAt: string;
  expiresAt: string;
  source: string;
  keyHint: string;
  importedAt: string;
  clusters: string[];
  /** Signed manifests with their reference names (cluster artifacts, charts, images). */
  manifests: Descriptor[];
  /** Bytes of the bundle's blobs (absent in records of earlier versions). */
  bytes?: number;
}

export interface ClusterState {
  manifest: Descriptor;
  sequence: number;
  root: string;
  importedAt: string;
}

export interface SiteState {
  version: 1;
  highestSequence: number;
  clusters: Record<string, ClusterState>;
  /** Reference name (`repo:tag`) -> descriptor: what the registry serves. */
  refs: Record<string, Descriptor>;
  history: ImportRecord[];
}

export function emptyState(): SiteState {
  return { version: 1, highestSequence: 0, clusters: {}, refs: {}, history: [] };
}

function fail(field: string, message: string): never {
  throw new ContentError('INVALID_LAYOUT', `${STATE_FILE}: ${field}: ${message}`, { details: { field } });
}


/** stateFromJSON parses state.json; a damaged file is reported with the field, never half-used. */
export function stateFromJSON(text: string): SiteState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ContentError('INVALID_LAYOUT', `${STATE_FILE}: not valid JSON (${(err as Error).message}); the store is damaged: restore it from backup or re-import into a new store`, { cause: err });
  }
  if (!isPlainObject(v)) fail('$', 'expected an object');
  if (v.version !== 1) fail('version', `expected 1, found ${JSON.stringify(v.version)}`);
  if (!Number.isSafeInteger(v.highestSequence) || (v.highestSequence as number) < 0) fail('highestSequence', 'expected a non-negative integer');
  if (!isPlainObject(v.clusters)) fail('clusters', 'expected an object');
  if (!isPlainObject(v.refs)) fail('refs', 'expected an object');
  if (!Array.isArray(v.history)) fail('history', 'expected an array');
  const clusters: Record<string, ClusterState> = {};
  for (const [k, c] of Object.entries(v.clusters)) {
    if (!isPlainObject(c)) fail(`clusters.${k}`, 'expected an object');
    clusters[k] = {
      manifest: descriptorFromJSON(c.manifest, `${STATE_FILE}: clusters.${k}.manifest`),
      sequence: Number(c.sequence),
      root: String(c.root),
      importedAt: String(c.importedAt),
    };
  }
  const refs: Record<string, Descriptor> = {};
  for (const [k, d] of Object.entries(v.refs)) refs[k] = descriptorFromJSON(d, `${STATE_FILE}: refs.${k}`);
  return {
    version: 1,
    highestSequence: v.highestSequence as number,
    clusters,
    refs,
    history: v.history as ImportRecord[],
  };
}

/** stateToJSON serialises deterministically (stable key order from construction). */
export function stateToJSON(state: SiteState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** applyImport returns the state after importing `record` (pure). */
export function applyImport(state: SiteState, record: ImportRecord, clusterManifests: { cluster: string; manifest: Descriptor }[]): SiteState {
  const next: SiteState = structuredClone(state);
  next.highestSequence = Math.max(state.highestSequence, record.sequence);
  for (const { cluster, manifest } of clusterManifests) {
    next.clusters[cluster] = { manifest, sequence: record.sequence, root: record.root.digest, importedAt: record.importedAt };
  }
  for (const m of record.manifests) {
    const ref = m.annotations?.['org.opencontainers.image.ref.name'];
    if (!ref) continue;
    const plain: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.size, ...(m.artifactType ? { artifactType: m.artifactType } : {}) };
    // An image carried for some platforms only: the registry must not look for the others.
    const platforms = m.annotations?.[ANNOTATION_PLATFORMS];
    if (platforms !== undefined) plain.annotations = { [ANNOTATION_PLATFORMS]: platforms };
    next.refs[ref] = plain;
    const cluster = m.annotations?.['io.projectsveltos.airgap.cluster'];
    if (cluster) next.refs[`${ref.slice(0, ref.lastIndexOf(':'))}:${record.sequence}`] = plain;
  }
  next.refs[`sveltos-airgap/bundle:${record.sequence}`] = { mediaType: record.root.mediaType, digest: record.root.digest, size: record.root.size };
  next.history.push(record);
  return next;
}
