// Inspecting a bundle: what it holds, read under size limits but with no trust decision.
// Everything here is informational; `verify` is what decides whether the content may be used.
import { manifestFromJSON } from '../content/descriptor.js';
import type { ReadOnlyStorage } from '../content/storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll } from '../content/verify.js';
import {
  ANNOTATION_CLUSTER,
  ANNOTATION_CLUSTERS,
  ANNOTATION_PLATFORMS,
  ANNOTATION_SOURCE,
  ARTIFACT_TYPE_BUNDLE,
  ARTIFACT_TYPE_CLUSTER,
  ARTIFACT_TYPE_VOLUMES,
  MEDIA_TYPE_HELM_CONFIG,
  MEDIA_TYPE_SIGSTORE_BUNDLE,
} from '../model/bundle.js';
import { ANNOTATION_REF_NAME, isManifestMediaType, type Descriptor } from '../model/oci.js';
import { isPlainObject, type KubeObject } from '../model/sveltos.js';
import { chartAnnotationImages, objectLabel, parseImageReference, podSpecImages, profileLabel } from '../resolve/images.js';
import { isObjectsLayer, parseObjects } from './objects.js';
import { envelopeRecipients, isEncryptedObjects } from './secrets.js';
import { signatureLabels, type LayoutSource } from './verify.js';
import { isTrustedHint, readSignedEnvelope, verifySignedStatement } from './signature.js';
import { proofsBySubject } from '../model/proofs.js';
import { MEDIA_TYPE_SPDX } from './sbom.js';
import type { KeyObject } from 'node:crypto';
import { volumeTableFromJSON } from './volumes.js';
import { asRecord } from '../model/json.js';
import { ANNOTATION_LICENSE_PAYLOAD, licenseFacts, type LicenseFacts } from '../resolve/license.js';

export interface InspectedCluster {
  cluster: string;
  manifest: string;
  labels: Record<string, string>;
  profiles: string[];
  groups: { name: string; feature: string; requestor: string; size: number; encrypted: boolean; recipients: string[] }[];
  bytes: number;
  /** The Sveltos license payload (base64) relayed on the cluster's SveltosCluster, if any. */
  licensePayload?: string;
}

export interface InspectedArtifact {
  ref: string;
  kind: 'chart' | 'image' | 'other';
  digest: string;
  mediaType: string;
  bytes: number;
  /** Chart version (charts). */
  version?: string;
  /** Clusters whose configuration uses the chart or image. */
  clusters?: string[];
  /** Where it was copied from. */
  source?: string;
  /** Platforms carried, when an image index was filtered by platform. */
  platforms?: string[];
  /** What proves it, carried beside it: signature, attestation, sbom, referrers (src/model/proofs.ts). */
  proofs?: string[];
  /** For a proof: the artifact it proves, and what kind of proof it is. */
  proofOf?: { ref: string; kind: string };
}

/** InspectedImage is one image the bundle's configuration names, with its users and whether it is carried. */
export interface InspectedImage {
  image: string;
  carried: boolean;
  /** Reference it is served under, when carried. */
  ref?: string;
  platforms?: string[];
  /** When carried: the kinds of proof carried beside it (signature, attestation, sbom, referrers). */
  proofs?: string[];
  clusters: string[];
  profiles: string[];
  releases: string[];
  objects: string[];
}

/** InspectedSignature is one signature of a bundle, as inspect reads it. */
export interface InspectedSignature {
  digest: string;
  keyHint: string;
  note?: string;
  signedAt?: string;
  /** true: a trusted key verified it; false: it does not verify with the trusted key of its hint; undefined: no trusted key has its hint. */
  checked?: boolean;
}

export interface InspectOptions {
  /** Keys to check the signatures with (the others are listed unchecked). */
  trusted?: KeyObject[];
  /** Also list every image the configuration names (reads every configuration layer). */
  images?: boolean;
}

export interface Inspection {
  blobs: number;
  bytes: number;
  clusters: InspectedCluster[];
  artifacts: InspectedArtifact[];
  images?: InspectedImage[];
  signature?: { keyHint?: string; sequence?: unknown; createdAt?: unknown; expiresAt?: unknown; source?: unknown; remoteSources?: unknown; verified: false };
  /**
   * Every signature over the bundle statement (the export's, then co-signatures): key hint, the note and time
   * `sign` recorded (labels, not signed), and whether a trusted key (InspectOptions.trusted) checked it.
   */
  signatures: InspectedSignature[];
  /** The bundle's SPDX 2.3 SBOM (signed with the bundle; not verified here), when it has one. */
  sbom?: Record<string, unknown>;
  /**
   * The Sveltos license the clusters carry: how many clusters carry it and what its payload says (not
   * verified; the agent verifies it). Absent when no cluster carries one.
   */
  license?: { clusters: number; facts?: LicenseFacts; distinct: number };
  /** A split bundle: how many parts, which were given, and how many blobs and chunks each holds (from the volume table, unverified). */
  volumes?: { parts: number; given: number[]; chunked: number; perPart: { part: number; blobs: number; given: boolean }[] };
  problems: string[];
}

async function readJSON(src: ReadOnlyStorage, d: Descriptor): Promise<unknown> {
  return JSON.parse((await readAll(await src.fetch(d), d, { limit: DEFAULT_MAX_METADATA_BYTES })).toString('utf8'));
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** inspectBundle reads the index, cluster configs and signature facts of a layout. Problems are listed, not thrown. */
export async function inspectBundle(src: LayoutSource & { blobs?(): { digest: string; size: number }[]; parts?(): { part?: number }[] }, opts: InspectOptions = {}): Promise<Inspection> {
  const index = src.index();
  const all = src.blobs?.() ?? [];
  const out: Inspection = { blobs: all.length, bytes: all.reduce((n, b) => n + b.size, 0), clusters: [], artifacts: [], signatures: [], problems: [] };
  for (const d of index.manifests) {
    try {
      if (d.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE) {
        const read = await readSignature(src, d);
        out.signature ??= signatureFacts(read.body?.json);
        out.signatures.push(signatureOf(d, read, opts.trusted ?? []));
      } else if (d.artifactType === ARTIFACT_TYPE_VOLUMES) {
        out.volumes = await volumeFacts(src, d);
      } else if (d.artifactType === MEDIA_TYPE_SPDX) {
        out.sbom = await sbomOf(src, d);
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
  const license = licenseSummary(out.clusters);
  if (license) out.license = license;
  out.artifacts.sort((a, b) => a.ref.localeCompare(b.ref));
  linkProofs(out.artifacts);
  if (opts.images) out.images = await imageFacts(src, index.manifests, out);
  return out;
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

// imageFacts finds the images named by pod specs in every configuration layer and by carried charts'
// image annotations, and tells which of them the bundle carries.
async function imageFacts(src: ReadOnlyStorage, entries: Descriptor[], found: Inspection): Promise<InspectedImage[]> {
  type Acc = { clusters: Set<string>; profiles: Set<string>; releases: Set<string>; objects: Set<string> };
  const by = new Map<string, Acc>();
  const add = (image: string, cluster: string, profile: string, release: string | undefined, object: string) => {
    const key = parseImageReference(image)?.reference ?? image;
    const a = by.get(key) ?? { clusters: new Set(), profiles: new Set(), releases: new Set(), objects: new Set() };
    a.clusters.add(cluster);
    if (profile) a.profiles.add(profile);
    if (release) a.releases.add(release);
    a.objects.add(`${cluster}: ${object}`);
    by.set(key, a);
  };
  for (const d of entries) {
    if (d.artifactType !== ARTIFACT_TYPE_CLUSTER) continue;
    const cluster = d.annotations?.[ANNOTATION_CLUSTER] ?? d.digest;
    const m = manifestFromJSON(await readJSON(src, d), d.digest);
    // Encrypted layers cannot be read here, and a part may not hold every layer; objects are parsed under the
    // limits of objects.ts (inspect reads untrusted bundles too).
    for (const layer of m.layers.filter((l) => isObjectsLayer(l) && !isEncryptedObjects(l))) {
      if (!(await src.exists(layer))) continue;
      const docs = parseObjects(await readAll(await src.fetch(layer), layer, { limit: 64 * 1024 * 1024 }), `objects layer ${layer.digest}`, { maxObjectsBytes: 64 * 1024 * 1024 });
      // The layer's ConfigurationGroup names the profile (its sourceRef); the requestor annotation is the fallback.
      const group = docs.find((d) => d.kind === 'ConfigurationGroup');
      const sourceRef = asRecord(asRecord(group?.spec).sourceRef);
      const requestor = typeof sourceRef.kind === 'string' && typeof sourceRef.name === 'string'
        ? profileLabel({ kind: sourceRef.kind, name: sourceRef.name, ...(typeof sourceRef.namespace === 'string' ? { namespace: sourceRef.namespace } : {}) })
        : layer.annotations?.['io.projectsveltos.airgap.requestor'] ?? '';
      for (const b of docs) {
        if (b.kind !== 'ConfigurationBundle') continue;
        const spec = asRecord(b.spec);
        const release = spec.helmReleaseName ? `${str(spec.helmReleaseNamespace)}/${str(spec.helmReleaseName)}` : undefined;
        for (const r of Array.isArray(spec.resources) ? spec.resources : []) {
          for (const obj of parseObjects(Buffer.from(String(r)), `objects layer ${layer.digest}: ${str(asRecord(b.metadata).name)}`)) {
            if (!isPlainObject(obj) || !isPlainObject(obj.metadata)) continue;
            const k = obj as KubeObject;
            const name = objectLabel(k);
            for (const im of podSpecImages(k)) add(im.image, cluster, requestor, release, name);
          }
        }
      }
    }
  }
  // Images a carried chart declares in its Chart.yaml annotations.
  for (const a of found.artifacts.filter((x) => x.kind === 'chart')) {
    const d = entries.find((e) => e.digest === a.digest && e.annotations?.[ANNOTATION_REF_NAME] === a.ref);
    if (!d) continue;
    const cm = manifestFromJSON(await readJSON(src, d), d.digest);
    const meta = asRecord(await readJSON(src, cm.config));
    const ann = Object.fromEntries(Object.entries(asRecord(meta.annotations)).map(([k, v]) => [k, str(v)]));
    for (const im of chartAnnotationImages(ann)) for (const c of a.clusters ?? []) add(im.image, c, '', undefined, `chart ${str(meta.name)}`);
  }
  const carried = new Map(found.artifacts.filter((x) => x.kind === 'image' && x.source && !x.proofOf).map((x) => [parseImageReference(x.source!)?.reference ?? x.source!, x]));
  const keys = new Set([...by.keys(), ...carried.keys()]);
  return [...keys].sort().map((image) => {
    const a = by.get(image);
    const c = carried.get(image);
    const out: InspectedImage = {
      image,
      carried: Boolean(c),
      clusters: [...(a?.clusters ?? [])].sort(),
      profiles: [...(a?.profiles ?? [])].sort(),
      releases: [...(a?.releases ?? [])].sort(),
      objects: [...(a?.objects ?? [])].sort(),
    };
    if (c) out.ref = c.ref;
    if (c?.platforms) out.platforms = c.platforms;
    if (c) out.proofs = c.proofs ?? [];
    return out;
  });
}

// linkProofs marks each carried proof with its subject, and each subject with the kinds of proof it has.
function linkProofs(artifacts: InspectedArtifact[]): void {
  const byRef = new Map(artifacts.map((a) => [a.ref, a]));
  for (const [subject, proofs] of proofsBySubject(artifacts)) {
    byRef.get(subject)!.proofs = proofs.map((p) => p.kind);
    for (const p of proofs) byRef.get(p.ref)!.proofOf = { ref: subject, kind: p.kind };
  }
}

// licenseSummary tells whether the clusters carry a license, how many distinct ones, and what the first says.
function licenseSummary(clusters: InspectedCluster[]): Inspection['license'] {
  const payloads = clusters.flatMap((c) => (c.licensePayload ? [c.licensePayload] : []));
  if (payloads.length === 0) return undefined;
  const facts = licenseFacts(payloads[0]!);
  return { clusters: payloads.length, distinct: new Set(payloads).size, ...(facts ? { facts } : {}) };
}

async function clusterFacts(src: ReadOnlyStorage, d: Descriptor): Promise<InspectedCluster> {
  const m = manifestFromJSON(await readJSON(src, d), d.digest);
  const config = asRecord(await readJSON(src, m.config));
  const licensePayload = str(asRecord(config.annotations)[ANNOTATION_LICENSE_PAYLOAD]);
  const profiles = Array.isArray(config.profiles) ? config.profiles.map((p) => {
    const r = asRecord(p);
    return `${str(r.kind)} ${r.namespace ? `${str(r.namespace)}/` : ''}${str(r.name)}`;
  }) : [];
  return {
    cluster: d.annotations?.[ANNOTATION_CLUSTER] ?? `${str(config.namespace)}/${str(config.name)}`,
    manifest: d.digest,
    labels: Object.fromEntries(Object.entries(asRecord(config.labels)).map(([k, v]) => [k, str(v)])),
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
    ...(licensePayload ? { licensePayload } : {}),
  };
}

/** artifactFacts reads what a carried chart or image is: its kind, reference, digest and size. */
export async function artifactFacts(src: ReadOnlyStorage, d: Descriptor): Promise<InspectedArtifact> {
  let kind: InspectedArtifact['kind'] = 'image';
  let bytes = d.size;
  if (isManifestMediaType(d.mediaType)) {
    const m = manifestFromJSON(await readJSON(src, d), d.digest);
    if (m.config.mediaType === MEDIA_TYPE_HELM_CONFIG) kind = 'chart';
    else if (m.artifactType) kind = 'other';
    bytes += m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
  }
  const out: InspectedArtifact = { ref: d.annotations?.[ANNOTATION_REF_NAME] ?? d.digest, kind, digest: d.digest, mediaType: d.mediaType, bytes };
  const ann = d.annotations ?? {};
  if (kind === 'chart' && ann['org.opencontainers.image.version']) out.version = ann['org.opencontainers.image.version'];
  if (ann[ANNOTATION_CLUSTERS]) out.clusters = ann[ANNOTATION_CLUSTERS].split(',');
  if (ann[ANNOTATION_SOURCE]) out.source = ann[ANNOTATION_SOURCE];
  if (ann[ANNOTATION_PLATFORMS]) out.platforms = ann[ANNOTATION_PLATFORMS].split(',');
  return out;
}

// sbomOf reads the SBOM document the referrer holds (bounded: 64 MiB, a fleet's inventory).
async function sbomOf(src: ReadOnlyStorage, d: Descriptor): Promise<Record<string, unknown>> {
  const m = manifestFromJSON(await readJSON(src, d), d.digest);
  const layer = m.layers.find((l) => l.mediaType === MEDIA_TYPE_SPDX);
  if (!layer) throw new Error(`SBOM manifest ${d.digest}: no ${MEDIA_TYPE_SPDX} layer`);
  return asRecord(JSON.parse((await readAll(await src.fetch(layer), layer, { limit: 64 * 1024 * 1024 })).toString('utf8')));
}

// readSignature reads a signature manifest and its Sigstore bundle (no body when the manifest has no layer), once
// for both the facts of the first signature and the list of signatures.
async function readSignature(src: ReadOnlyStorage, d: Descriptor): Promise<{ annotations?: Record<string, string>; body?: { layer: Descriptor; json: Buffer } }> {
  const m = manifestFromJSON(await readJSON(src, d), d.digest);
  const annotations = m.annotations ? { annotations: m.annotations } : {};
  const layer = m.layers[0];
  if (!layer) return annotations;
  return { ...annotations, body: { layer, json: await readAll(await src.fetch(layer), layer, { limit: DEFAULT_MAX_METADATA_BYTES }) } };
}

// signatureOf tells who signed, the labels `sign` recorded, and checks the signature when a trusted key has its hint.
function signatureOf(d: Descriptor, read: Awaited<ReturnType<typeof readSignature>>, trusted: KeyObject[]): InspectedSignature {
  if (!read.body) throw new Error(`signature manifest ${d.digest}: no layer`);
  const { layer, json } = read.body;
  const source = `signature ${layer.digest}`;
  const { keyHint } = readSignedEnvelope(json, { source });
  const out: InspectedSignature = { digest: d.digest, keyHint, ...signatureLabels(read.annotations) };
  if (isTrustedHint(trusted, keyHint)) {
    try {
      verifySignedStatement(json, trusted, { source });
      out.checked = true;
    } catch {
      out.checked = false;
    }
  }
  return out;
}

// signatureFacts reads what the first signature's statement says, leniently (inspect does not verify).
function signatureFacts(json: Buffer | undefined): Inspection['signature'] {
  if (!json) return { verified: false };
  const bundle = asRecord(JSON.parse(json.toString('utf8')));
  const hint = str(asRecord(asRecord(bundle.verificationMaterial).publicKey).hint);
  const payload = str(asRecord(bundle.dsseEnvelope).payload);
  const predicate = asRecord(asRecord(JSON.parse(Buffer.from(payload, 'base64').toString('utf8') || '{}')).predicate);
  return {
    keyHint: hint,
    sequence: predicate.sequence,
    createdAt: predicate.createdAt,
    expiresAt: predicate.expiresAt,
    source: predicate.source,
    ...(predicate.remoteSources !== undefined ? { remoteSources: predicate.remoteSources } : {}),
    verified: false,
  };
}
