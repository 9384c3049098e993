// Packing a bundle: build the manifests, sign the statement, write a deterministic OCI layout tar.
import { createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { copyGraph } from '../content/copy.js';
import { digestHex, sha256 } from '../content/digest.js';
import { isGraphNode } from '../content/graph.js';
import { hasVerifiedBlobFiles, hasVerifiedBlobReads, type RangeFetcher, type ReadOnlyStorage, type Storage, type VerifiedBlobFiles, type VerifiedBlobReads } from '../content/storage.js';
import { BLOCK } from '../content/tar-header.js';
import { fetchVerified } from '../content/verify.js';
import { BlobSpool } from '../content/spool.js';
import { abandonOutput, TarWriter } from '../content/tar-writer.js';
import { ValidationError } from '../errors.js';
import {
  ANNOTATION_PART,
  ANNOTATION_PARTS,
  ANNOTATION_ROLE,
  ARTIFACT_TYPE_VOLUMES,
  IN_TOTO_STATEMENT_TYPE,
  ANNOTATION_CLUSTERS,
  ANNOTATION_PLATFORMS,
  ANNOTATION_SOURCE,
  MEDIA_TYPE_HELM_CONFIG,
  MEDIA_TYPE_OBJECTS_ENCRYPTED,
  MEDIA_TYPE_VOLUME_TABLE,
  PREDICATE_TYPE_BUNDLE,
  type BundlePredicate,
  type RemoteSourceRecord,
  type Statement,
} from '../model/bundle.js';
import { ANNOTATION_REF_NAME, EMPTY_JSON_DESCRIPTOR, MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor, type Digest, type Index, type Manifest } from '../model/oci.js';
import {
  buildArtifactManifest,
  buildClusterArtifact,
  buildRootIndex,
  buildSignatureReferrer,
  pushBlob,
  pushJSON,
  subjectName,
  type BufferPusher,
  type ClusterArtifactInput,
  type LayerSealer,
} from './manifest.js';
import { buildSBOM, MEDIA_TYPE_SPDX, type SbomArtifact } from './sbom.js';
import { canonicalJSON, signStatement, type Signer } from './sign.js';
import { fetchSlice, hashChunks, planVolumes, tableOf, tarFootprint, writeVolumes, type VolumePlan, type VolumeTable } from './volumes.js';
import { carriesSecret, encryptedLayerAnnotations, encryptObjects, sealSeed, type RecipientKey } from './secrets.js';

/** ExtraArtifact is a chart or image graph to carry, read from `source` and named by `ref`. */
export interface ExtraArtifact {
  source: ReadOnlyStorage;
  root: Descriptor;
  ref: string;
}

export interface PackOptions {
  /**
   * The clusters' artifacts, in any order (the bundle lists them sorted). Each is built and spooled to a
   * temporary file as it comes, so an iterator that makes them one at a time keeps memory flat.
   */
  clusters: Iterable<ClusterArtifactInput> | AsyncIterable<ClusterArtifactInput>;
  /** How many clusters `clusters` gives, for build progress (default: its length when an array). */
  clusterCount?: number;
  extras?: ExtraArtifact[];
  /** remoteURLs the configuration came from, for the signed predicate; read once every cluster is built. */
  remoteSources?: RemoteSourceRecord[];
  signer: Signer;
  sequence: number;
  createdAt: Date;
  expiresAt: Date;
  /** Free text naming the exporter. */
  source: string;
  /** Output tar path; written to a temp file and renamed, so a failed export leaves nothing behind. */
  out: string;
  /** Tar entry mtime (seconds). Default 0. */
  sourceDateEpoch?: number;
  /** Also write the Sigstore bundle here. */
  signatureOut?: string;
  /**
   * Write the bundle as parts of at most this many bytes (docs/format.md "Volumes"): `out` = `b.tar`
   * gives `b.part1-of-N.tar` … instead of `b.tar`. Unset: one tar.
   */
  splitSize?: number;
  /**
   * Site public keys (X25519 or P-256) to encrypt to: every objects layer that carries a Secret (or a
   * ConfigurationBundle carrying one) is encrypted to all of them (docs/format.md "Encrypted objects").
   * Unset or empty: nothing is encrypted.
   */
  encryptTo?: RecipientKey[];
  /**
   * Digests the receiving site already holds (a delta export, see deltaBaseFromReceipt): these blobs are
   * left out of the tar but stay in the signed graph; import reads them from the site's store. Unset: none.
   * A split bundle leaves out only blobs other than manifests (every part carries the manifests), and its
   * volume table lists them as held.
   */
  omit?: ReadonlySet<string>;
  onProgress?: (event: { phase: 'build' | 'write'; done: number; total: number }) => void;
}

export interface PackResult {
  root: Descriptor;
  signature: Descriptor;
  index: Index;
  statement: Statement;
  blobs: number;
  bytes: number;
  /** The part files, with `splitSize`. */
  parts?: { file: string; size: number; blobs: number }[];
  /** The signed volume set manifest and its table, with `splitSize`. */
  volumes?: { manifest: Descriptor; table: VolumeTable };
  /** Objects layers encrypted with `encryptTo`. */
  encrypted: { layer: Descriptor; recipients: string[] }[];
  /** Blobs of the signed graph left out because the site holds them (`omit`). */
  omitted: Descriptor[];
}

/** RecordingStore remembers every descriptor pushed, so the tar can list exactly the bundle's blobs. */
class RecordingStore implements Storage, BufferPusher {
  readonly pushed = new Map<string, Descriptor>();
  constructor(private readonly inner: BlobSpool) {}
  fetch(d: Descriptor) { return this.inner.fetch(d); }
  exists(d: Descriptor) { return this.inner.exists(d); }
  async push(d: Descriptor, content: Readable) {
    if (this.inner.has(d.digest)) content.destroy();
    else await this.inner.push(d, content);
    this.pushed.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
  }
  async pushBuffer(d: Descriptor, data: Buffer) {
    await this.inner.add(d, data);
    this.pushed.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
  }
}

/**
 * blobSource reads the bundle's own blobs from the spool (straight into the tar writer's buffers when it
 * asks) and carried artifacts from their sources (by range when they can); whole blobs come through one
 * digest verifier.
 */
function blobSource(memory: BlobSpool, extraOrigin: Map<string, ReadOnlyStorage>): ReadOnlyStorage & RangeFetcher & VerifiedBlobFiles & VerifiedBlobReads {
  return {
    verifiedReader: (d) => (extraOrigin.has(d.digest) ? undefined : (into) => memory.readVerifiedInto(d, into)),
    verifiedBlobFile(d) {
      const origin = extraOrigin.get(d.digest);
      return origin && hasVerifiedBlobFiles(origin) ? origin.verifiedBlobFile(d) : undefined;
    },
    async exists(d) { return (await memory.exists(d)) || extraOrigin.has(d.digest); },
    fetch: (d) => fetchVerified(extraOrigin.get(d.digest) ?? memory, d),
    async fetchRange(d, start, end) {
      return fetchSlice(extraOrigin.get(d.digest) ?? memory, d, start, end - start + 1);
    },
  };
}

/** packBundle builds, signs and writes a bundle (DESIGN.md §3). Same inputs, key and times give the same bytes. */
export async function packBundle(opts: PackOptions): Promise<PackResult> {
  if (!Number.isSafeInteger(opts.sequence) || opts.sequence < 1) {
    throw new ValidationError('USAGE', `--sequence: expected a positive integer, got ${opts.sequence}`);
  }
  if (opts.expiresAt.getTime() <= opts.createdAt.getTime()) {
    throw new ValidationError('USAGE', `--expires: the bundle would expire (${opts.expiresAt.toISOString()}) before it is created (${opts.createdAt.toISOString()})`);
  }
  // The bundle's own blobs wait in a spool file next to the output until the tar is written in digest order.
  const spool = await BlobSpool.create(`${opts.out}.spool-${process.pid}`);
  try {
    return await packSpooled(opts, spool);
  } finally {
    await spool.close();
  }
}

async function packSpooled(opts: PackOptions, memory: BlobSpool): Promise<PackResult> {
  const createdAt = opts.createdAt.toISOString();
  const store = new RecordingStore(memory);
  const encryptTo = opts.encryptTo ?? [];
  let sealed: PackResult['encrypted'] = [];
  const seal: LayerSealer | undefined = encryptTo.length
    ? async (yaml) => {
        if (!carriesSecret(yaml)) return undefined;
        // Sealed deterministically (sealSeed): an unchanged cluster keeps its artifact's digest.
        const plaintext = Buffer.from(yaml, 'utf8');
        const { envelope, recipients } = encryptObjects(plaintext, encryptTo, await sealSeed(opts.signer, plaintext, encryptTo));
        sealed.push({ layer: { mediaType: MEDIA_TYPE_OBJECTS_ENCRYPTED, digest: sha256(envelope), size: envelope.length }, recipients });
        return { mediaType: MEDIA_TYPE_OBJECTS_ENCRYPTED, data: envelope, annotations: encryptedLayerAnnotations(recipients) };
      }
    : undefined;
  // Each cluster keeps only its manifest's descriptor (and its encrypted layers) once built.
  const built: { key: string; manifest: Descriptor; encrypted: PackResult['encrypted'] }[] = [];
  const total = opts.clusterCount ?? (Array.isArray(opts.clusters) ? opts.clusters.length : 0);
  for await (const c of opts.clusters) {
    sealed = [];
    built.push({ key: `${c.namespace}/${c.name}`, manifest: await buildClusterArtifact(store, c, seal), encrypted: sealed });
    opts.onProgress?.({ phase: 'build', done: built.length, total: Math.max(total, built.length) });
  }
  built.sort((a, b) => a.key.localeCompare(b.key));
  const manifests = built.map((b) => b.manifest);
  const encrypted = built.flatMap((b) => b.encrypted);
  // Carried charts and images: their graphs are recorded (not buffered) so the tar streams them from the source.
  const extraOrigin = new Map<string, ReadOnlyStorage>();
  const inventory: SbomArtifact[] = [];
  for (const extra of opts.extras ?? []) {
    let chart = false;
    const record = (d: Descriptor) => {
      extraOrigin.set(d.digest, extra.source);
      store.pushed.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
      if (d.mediaType === MEDIA_TYPE_HELM_CONFIG) chart = true;
    };
    // Only manifests and indexes are read here (to find their children); layers are recorded without
    // reading them and stream from the source once, into the tar.
    const recorder: Storage = {
      exists: async (d) => extraOrigin.has(d.digest) || !isGraphNode(d),
      fetch: (d) => extra.source.fetch(d),
      push: async (d, content) => {
        content.resume();
        record(d);
      },
    };
    await copyGraph(extra.source, recorder, extra.root, { onCopySkipped: (d) => { if (!isGraphNode(d)) record(d); } });
    manifests.push({ ...extra.root, annotations: { ...extra.root.annotations, [ANNOTATION_REF_NAME]: extra.ref } });
    inventory.push(sbomArtifact(extra, chart));
  }
  const root = await buildRootIndex(store, manifests, opts.sequence, createdAt);
  const sbom = await buildSbomReferrer(store, buildSBOM({ sequence: opts.sequence, createdAt, clusters: built.map((b) => ({ cluster: b.key, manifest: b.manifest })), artifacts: inventory }), root, opts.sequence);
  const signed = [...manifests, root, sbom];
  const predicate: BundlePredicate = {
    sequence: opts.sequence,
    createdAt,
    expiresAt: opts.expiresAt.toISOString(),
    source: opts.source,
    clusters: built.map((b) => b.key),
    ...remoteSourcesField(opts.remoteSources),
  };
  const statementOf = (subjects: Descriptor[]): Statement => ({
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: subjects.map((d) => ({ name: subjectName(d), digest: { sha256: digestHex(d.digest) } })),
    predicateType: PREDICATE_TYPE_BUNDLE,
    predicate,
  });
  const source = blobSource(memory, extraOrigin);
  // What a delta leaves out; a split bundle keeps its manifests, which every part carries.
  const omitted = new Set([...store.pushed.values()].filter((d) => opts.omit?.has(d.digest) && !(opts.splitSize !== undefined && isPartMetadata(d))).map((d) => d.digest));
  const volumes =
    opts.splitSize === undefined
      ? undefined
      : await buildVolumeSet(store, source, {
          splitSize: opts.splitSize,
          blobs: [...store.pushed.values()].filter((d) => !omitted.has(d.digest)),
          held: [...store.pushed.values()].filter((d) => omitted.has(d.digest)),
          signed,
          statementBytes: Buffer.byteLength(canonicalJSON(statementOf(signed))),
        });
  const subjects = volumes ? [...signed, volumes.manifest] : signed;
  const statement = statementOf(subjects);
  const sigstoreBundle = await signStatement(statement, opts.signer);
  const signature = await buildSignatureReferrer(store, sigstoreBundle, root);
  const index: Index = { schemaVersion: 2, manifests: [...subjects, signature] };
  const mtime = opts.sourceDateEpoch ?? 0;
  const onProgress = (done: number, total: number) => opts.onProgress?.({ phase: 'write', done, total });
  const all = [...store.pushed.values()];
  const carried = all.filter((d) => !omitted.has(d.digest));
  const result: PackResult = { root, signature, index, statement, blobs: carried.length, bytes: carried.reduce((n, b) => n + b.size, 0), encrypted, omitted: all.filter((d) => omitted.has(d.digest)) };
  if (volumes) {
    const data = new Set(volumes.data.map((d) => d.digest));
    result.parts = await writeVolumes({ out: opts.out, source, metadata: carried.filter((d) => !data.has(d.digest)), plan: volumes.plan, table: volumes.table, index, layoutFile: OCI_LAYOUT_FILE, mtime, onProgress });
    result.volumes = { manifest: volumes.manifest, table: volumes.table };
  } else {
    await writeLayoutTar(opts.out, source, carried, index, { mtime, onProgress });
  }
  if (opts.signatureOut) await writeFile(opts.signatureOut, sigstoreBundle);
  return result;
}

// isPartMetadata: what every part of a split bundle carries (of the blobs known before signing).
const isPartMetadata = (d: Descriptor) => isGraphNode(d) || d.digest === EMPTY_JSON_DESCRIPTOR.digest;

interface VolumeSetInput {
  splitSize: number;
  /** Every blob of the bundle before the volume set and the signature (those left out excepted). */
  blobs: Descriptor[];
  /** Blobs left out because the site holds them (a delta): listed as held in the table. */
  held: Descriptor[];
  /** The index.json entries so far: the signed manifests and the root. */
  signed: Descriptor[];
  /** Length of the statement's canonical JSON without the volume set's subject. */
  statementBytes: number;
}

/**
 * buildVolumeSet plans the parts and pushes the volume table and the volume set manifest. Every part
 * carries the metadata (manifests, indexes, the empty config, the table, the signature) and a share of
 * the data blobs. The signature and index.json do not exist yet, so their size is estimated generously;
 * writeVolumes checks the real part sizes.
 */
async function buildVolumeSet(store: RecordingStore, source: ReadOnlyStorage, input: VolumeSetInput): Promise<{ manifest: Descriptor; table: VolumeTable; plan: VolumePlan; data: Descriptor[] }> {
  const data = input.blobs.filter((d) => !isPartMetadata(d));
  const known = input.blobs.filter(isPartMetadata).reduce((n, d) => n + tarFootprint(d.size), 0) + tarFootprint(EMPTY_JSON_DESCRIPTOR.size);
  const fixed = 4 * BLOCK + tarFootprint(OCI_LAYOUT_FILE.length);
  // The Sigstore bundle holds the statement in base64 plus the signature and key hint; both manifests are under 1 KiB.
  const signature = tarFootprint(Math.ceil(((input.statementBytes + 400) * 4) / 3) + 2048) + 2 * tarFootprint(1024);
  const indexJSON = canonicalJSON({ annotations: { [ANNOTATION_PART]: '99999', [ANNOTATION_PARTS]: '99999' }, manifests: input.signed, schemaVersion: 2 });
  const index = tarFootprint(Buffer.byteLength(indexJSON) + 2 * 1024);
  const placeholder = `sha256:${'0'.repeat(64)}` as const;
  let reserve = tarFootprint(1024);
  let plan: VolumePlan;
  for (;;) {
    plan = planVolumes({ data, splitSize: input.splitSize, overhead: fixed + known + signature + index + reserve });
    const digests = new Map(plan.chunked.map((c) => [c.blob.digest as string, c.chunks.map(() => placeholder)]));
    const need = tarFootprint(Buffer.byteLength(canonicalJSON(tableOf(plan, digests, input.splitSize, input.held))));
    if (need <= reserve) break;
    reserve = need;
  }
  const chunkDigests = new Map<string, Digest[]>();
  for (const c of plan.chunked) chunkDigests.set(c.blob.digest, await hashChunks(source, c.blob, c.chunks.map((k) => k.chunk)));
  const table = tableOf(plan, chunkDigests, input.splitSize, input.held);
  const layer = await pushJSON(store, MEDIA_TYPE_VOLUME_TABLE, table);
  const desc = await buildArtifactManifest(store, ARTIFACT_TYPE_VOLUMES, layer);
  return { manifest: { ...desc, artifactType: ARTIFACT_TYPE_VOLUMES, annotations: { [ANNOTATION_ROLE]: 'volumes' } }, table, plan, data };
}

export const OCI_LAYOUT_FILE = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

/** writeLayoutTar writes an OCI layout tar: entries sorted by name, deterministic headers, blobs streamed. */
export async function writeLayoutTar(
  out: string,
  source: ReadOnlyStorage,
  blobs: Descriptor[],
  index: Index,
  opts: { mtime?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<number> {
  const tmp = `${out}.partial-${process.pid}`;
  const file = createWriteStream(tmp, { flags: 'w', highWaterMark: 1 << 20 });
  const tar = new TarWriter(file, { mtime: opts.mtime ?? 0 });
  const sorted = [...new Map(blobs.map((b) => [b.digest, b])).values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const total = sorted.reduce((n, b) => n + b.size, 0);
  try {
    await tar.addDirectory('blobs/');
    await tar.addDirectory('blobs/sha256/');
    let done = 0;
    for (const b of sorted) {
      const name = `blobs/sha256/${digestHex(b.digest)}`;
      const file = hasVerifiedBlobFiles(source) ? source.verifiedBlobFile(b) : undefined;
      const reader = file || !hasVerifiedBlobReads(source) ? undefined : source.verifiedReader(b);
      if (file) await tar.addFileFrom(name, b.size, file);
      else if (reader) await tar.addFileInto(name, b.size, reader);
      else await tar.addFile(name, b.size, await fetchVerified(source, b));
      done += b.size;
      opts.onProgress?.(done, total);
    }
    await tar.addFile('index.json', Buffer.byteLength(canonicalJSON(index)), Buffer.from(canonicalJSON(index)));
    await tar.addFile('oci-layout', OCI_LAYOUT_FILE.length, OCI_LAYOUT_FILE);
    await tar.finish();
    await finished(file);
    await rename(tmp, out);
  } catch (err) {
    await abandonOutput(file);
    await rm(tmp, { force: true });
    throw err;
  }
  return total;
}

// remoteSourcesField is the predicate's `remoteSources`: one record per URL, sorted (absent when there is none).
function remoteSourcesField(sources: RemoteSourceRecord[] | undefined): Pick<BundlePredicate, 'remoteSources'> {
  if (!sources?.length) return {};
  const byURL = new Map(sources.map((s) => [s.url, s.digest]));
  return { remoteSources: [...byURL].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([url, digest]) => ({ url, digest })) };
}

// sbomArtifact is what the inventory says of a carried chart or image, from the annotations export put on it.
function sbomArtifact(extra: ExtraArtifact, chart: boolean): SbomArtifact {
  const ann = extra.root.annotations ?? {};
  return {
    kind: chart ? 'chart' : 'image',
    ref: extra.ref,
    root: extra.root,
    ...(ann[ANNOTATION_SOURCE] ? { source: ann[ANNOTATION_SOURCE] } : {}),
    ...(ann['org.opencontainers.image.version'] ? { version: ann['org.opencontainers.image.version'] } : {}),
    ...(ann[ANNOTATION_PLATFORMS] ? { platforms: ann[ANNOTATION_PLATFORMS].split(',') } : {}),
    clusters: ann[ANNOTATION_CLUSTERS] ? ann[ANNOTATION_CLUSTERS].split(',') : [],
  };
}

/** buildSbomReferrer stores the SBOM as a referrer of the root (its subject); the statement then names it. */
async function buildSbomReferrer(store: Storage & Partial<BufferPusher>, doc: object, root: Descriptor, sequence: number): Promise<Descriptor> {
  const layer = await pushBlob(store, MEDIA_TYPE_SPDX, Buffer.from(canonicalJSON(doc)));
  const desc = await buildArtifactManifest(store, MEDIA_TYPE_SPDX, layer, root);
  return { ...desc, artifactType: MEDIA_TYPE_SPDX, annotations: { [ANNOTATION_ROLE]: 'sbom', [ANNOTATION_REF_NAME]: `sveltos-airgap/sbom:${sequence}` } };
}
