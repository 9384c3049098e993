// Inspecting a bundle: what it holds, read under size limits but with no trust decision.
// Everything here is informational; `verify` is what decides whether the content may be used.
import { manifestFromJSON } from '../content/descriptor.js';
import type { ReadOnlyStorage } from '../content/storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll } from '../content/verify.js';
import { ANNOTATION_CLUSTER, ARTIFACT_TYPE_BUNDLE, ARTIFACT_TYPE_CLUSTER, ARTIFACT_TYPE_VOLUMES, MEDIA_TYPE_HELM_CONFIG, MEDIA_TYPE_SIGSTORE_BUNDLE } from '../model/bundle.js';
import { envelopeRecipients, isEncryptedObjects } from './secrets.js';
import { volumeTableFromJSON } from './volumes.js';
import { ANNOTATION_REF_NAME, isManifestMediaType, type Descriptor } from '../model/oci.js';
import type { LayoutSource } from './verify.js';

export interface InspectedCluster {
  cluster: string;
  manifest: string;
  labels: Record<string, string>;
  profiles: string[];
  groups: { name: string; feature: string; requestor: string; size: number; encrypted: boolean; recipients: string[] }[];
  bytes: number;
}

export interface InspectedArtifact {
  ref: string;
  kind: 'chart' | 'image' | 'other';
  digest: string;
  mediaType: string;
  bytes: number;
}

export interface Inspection {
  blobs: number;
  bytes: number;
  clusters: InspectedCluster[];
  artifacts: InspectedArtifact[];
  signature?: { keyHint?: string; sequence?: unknown; createdAt?: unknown; expiresAt?: unknown; source?: unknown; verified: false };
  /** A split bundle: how many parts, which were given, and what each part holds (from the volume table, unverified). */
  volumes?: { parts: number; given: number[]; chunked: number; perPart: { part: number; blobs: number; given: boolean }[] };
  problems: string[];
}

async function readJSON(src: ReadOnlyStorage, d: Descriptor): Promise<unknown> {
  return JSON.parse((await readAll(await src.fetch(d), d, { limit: DEFAULT_MAX_METADATA_BYTES })).toString('utf8'));
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** inspectBundle reads the index, cluster configs and signature facts of a layout. Problems are listed, not thrown. */
export async function inspectBundle(src: LayoutSource & { blobs?(): { digest: string; size: number }[]; parts?(): { part?: number }[] }): Promise<Inspection> {
  const index = src.index();
  const all = src.blobs?.() ?? [];
  const out: Inspection = { blobs: all.length, bytes: all.reduce((n, b) => n + b.size, 0), clusters: [], artifacts: [], problems: [] };
  for (const d of index.manifests) {
    try {
      if (d.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE) {
        out.signature = await signatureFacts(src, d);
      } else if (d.artifactType === ARTIFACT_TYPE_VOLUMES) {
        out.volumes = await volumeFacts(src, d);
      } else if (d.artifactType === ARTIFACT_TYPE_CLUSTER) {
        out.clusters.push(await clusterFacts(src, d));
      } else if (d.artifactType !== ARTIFACT_TYPE_BUNDLE) {
        out.artifacts.push(await artifactFacts(src, d));
      }
    } catch (err) {
      out.problems.push(`${d.digest}: ${(err as Error).message}`);
    }
  }
  out.clusters.sort((a, b) => a.cluster.localeCompare(b.cluster));
  out.artifacts.sort((a, b) => a.ref.localeCompare(b.ref));
  return out;
}

async function clusterFacts(src: ReadOnlyStorage, d: Descriptor): Promise<InspectedCluster> {
  const m = manifestFromJSON(await readJSON(src, d), d.digest);
  const config = rec(await readJSON(src, m.config));
  const profiles = Array.isArray(config.profiles) ? config.profiles.map((p) => {
    const r = rec(p);
    return `${str(r.kind)} ${r.namespace ? `${str(r.namespace)}/` : ''}${str(r.name)}`;
  }) : [];
  return {
    cluster: d.annotations?.[ANNOTATION_CLUSTER] ?? `${str(config.namespace)}/${str(config.name)}`,
    manifest: d.digest,
    labels: Object.fromEntries(Object.entries(rec(config.labels)).map(([k, v]) => [k, str(v)])),
    profiles,
    groups: m.layers.map((l) => ({
      name: l.annotations?.['io.projectsveltos.airgap.group'] ?? l.digest,
      feature: l.annotations?.['io.projectsveltos.airgap.feature'] ?? '',
      requestor: l.annotations?.['io.projectsveltos.airgap.requestor'] ?? '',
      size: l.size,
      encrypted: isEncryptedObjects(l),
      recipients: isEncryptedObjects(l) ? envelopeRecipients(l) : [],
    })),
    bytes: d.size + m.config.size + m.layers.reduce((n, l) => n + l.size, 0),
  };
}

async function artifactFacts(src: ReadOnlyStorage, d: Descriptor): Promise<InspectedArtifact> {
  let kind: InspectedArtifact['kind'] = 'image';
  let bytes = d.size;
  if (isManifestMediaType(d.mediaType)) {
    const m = manifestFromJSON(await readJSON(src, d), d.digest);
    if (m.config.mediaType === MEDIA_TYPE_HELM_CONFIG) kind = 'chart';
    else if (m.artifactType) kind = 'other';
    bytes += m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
  }
  return { ref: d.annotations?.[ANNOTATION_REF_NAME] ?? d.digest, kind, digest: d.digest, mediaType: d.mediaType, bytes };
}

async function signatureFacts(src: ReadOnlyStorage, d: Descriptor): Promise<Inspection['signature']> {
  const m = manifestFromJSON(await readJSON(src, d), d.digest);
  const layer = m.layers[0];
  if (!layer) return { verified: false };
  const bundle = rec(await readJSON(src, layer));
  const hint = str(rec(rec(bundle.verificationMaterial).publicKey).hint);
  const payload = str(rec(bundle.dsseEnvelope).payload);
  const predicate = rec(rec(JSON.parse(Buffer.from(payload, 'base64').toString('utf8') || '{}')).predicate);
  return { keyHint: hint, sequence: predicate.sequence, createdAt: predicate.createdAt, expiresAt: predicate.expiresAt, source: predicate.source, verified: false };
}

async function volumeFacts(src: ReadOnlyStorage & { parts?(): { part?: number }[] }, d: Descriptor): Promise<Inspection['volumes']> {
  const m = manifestFromJSON(await readJSON(src, d), d.digest);
  const layer = m.layers[0];
  if (!layer) return undefined;
  const table = volumeTableFromJSON(await readAll(await src.fetch(layer), layer, { limit: DEFAULT_MAX_METADATA_BYTES }));
  const given = (src.parts?.() ?? []).flatMap((p) => (p.part === undefined ? [] : [p.part]));
  const chunkCount = (k: number) => table.chunked.reduce((n, c) => n + c.chunks.filter((x) => x.part === k).length, 0);
  return {
    parts: table.parts,
    given,
    chunked: table.chunked.length,
    perPart: table.volumes.map((v) => ({ part: v.part, blobs: v.blobs.length + chunkCount(v.part), given: given.includes(v.part) })),
  };
}
