// Bundle verification (DESIGN.md §4). Pure with respect to the network: nothing here can reach it.
// Order: signature referrer -> DSSE signature -> subjects vs index.json -> expiry/sequence policy -> the signed
// graph (every manifest, under limits, before any other blob is read) -> every blob -> the carried objects (parsed,
// and no name served twice).
// A split bundle (docs/format.md "Volumes") is checked part by part: each part's signature and metadata and
// every blob the signed volume table puts in it; blobs of parts not given are reported missing, not failed.
import { hash, type KeyObject } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestHex } from '../content/digest.js';
import { indexFromJSON, manifestFromJSON } from '../content/descriptor.js';
import { DEFAULT_MAX_GRAPH_DEPTH } from '../content/copy.js';
import { isGraphNode, successorsOf } from '../content/graph.js';
import { canReadBlob, type BlobReading, type ReadOnlyStorage } from '../content/storage.js';
import { HashPool } from '../content/hash-pool.js';
import { TarBlobReader, type BlobLocation } from '../content/tarfs.js';
import { checkDigest, DEFAULT_MAX_METADATA_BYTES, readDocument, verifier, verifyBuffer } from '../content/verify.js';
import { ContentError, ValidationError, VerificationError, type BaseError } from '../errors.js';
import {
  ANNOTATION_CLUSTER,
  ARTIFACT_TYPE_BUNDLE,
  ARTIFACT_TYPE_CLUSTER,
  ARTIFACT_TYPE_VOLUMES,
  MEDIA_TYPE_OBJECTS,
  MEDIA_TYPE_SIGSTORE_BUNDLE,
  MEDIA_TYPE_VOLUME_TABLE,
  type BundlePredicate,
  type Statement,
} from '../model/bundle.js';
import { isManifestMediaType, type Descriptor, type Digest, type Index, type Manifest } from '../model/oci.js';
import { subjectName } from './manifest.js';
import { isObjectsLayer, namesOfLayer, readLayerNames, type ObjectsLimits } from './objects.js';
import { ObjectsPool, type LayerRead } from './objects-pool.js';
import { envelopeRecipients, isEncryptedObjects } from './secrets.js';
import { assertNoCollisions, NameIndex, servedNames, type ServedName } from './served-names.js';
import { isTrustedHint, parseStatement, readSignedEnvelope, verifySignedStatement } from './signature.js';
import { MEDIA_TYPE_SPDX } from './sbom.js';
import { chunkDescriptor, partOf, volumeTableFromJSON, type VolumeTable } from './volumes.js';
import type { JoinChunk } from '../content/oci-layout/join.js';

/** LayoutSource is a read-only OCI layout whose index.json is already parsed (a bundle tar, a layout dir). */
export interface LayoutSource extends ReadOnlyStorage {
  index(): Index;
}

/** PartSource is one tar of a bundle as verification sees it (see BundleParts in volumes.ts). */
interface PartSource {
  file?: string;
  part?: number;
  parts?: number;
  store: LayoutSource & { blobs?(): { digest: string; size: number }[] };
}

/** BlobHolder is where a blob is read from: a part of the bundle, or the site's store (`held`). */
type BlobHolder = Pick<PartSource, 'file' | 'part'> & { store: ReadOnlyStorage };

const isPartSet = (s: object): s is LayoutSource & { parts(): PartSource[] } => typeof (s as { parts?: unknown }).parts === 'function';

/** VerifyLimits bound what a bundle may make the verifier read or hold; each has a documented default. */
export interface VerifyLimits extends ObjectsLimits {
  /** Largest JSON document (index.json, manifest, index, signature, volume table) read into memory. Default 4 MiB. */
  maxMetadataBytes?: number;
  /** Most blobs (manifests, configs, layers, chunks) in one bundle. Default 100,000. */
  maxBlobs?: number;
  /** Largest sum of the blob sizes the signed manifests declare. Default 256 GiB. */
  maxTotalBytes?: number;
  /** Deepest nesting of indexes and manifests. Default 16. */
  maxDepth?: number;
}

export const DEFAULT_MAX_BLOBS = 100_000;
export const DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 ** 3;

/**
 * BundleSink receives the verified blobs (import stages them; verify drains them). `push` gets an unverified
 * stream and must verify it against the descriptor, as every Pusher does.
 */
export interface BundleSink {
  /** exists: blobs the sink already holds are not read again (a sink that knows at once may answer at once). */
  exists(d: Descriptor): Promise<boolean> | boolean;
  push(d: Descriptor, content: Readable): Promise<void>;
  /**
   * write stores a blob whose bytes were verified against `d` (small blobs, read in archive order). What it
   * stores need not be durable or visible before `flush`. `data` is reused once the returned promise settles:
   * copy what must live longer. Unset: those blobs are pushed as streams.
   */
  write?(d: Descriptor, data: Buffer): Promise<void>;
  /** flush makes what `write` stored durable and visible; called once, when every blob was read. */
  flush?(): Promise<void>;
  /**
   * copy stores blob `d` from the bytes at `loc` (a large blob of a tar), verifying them as it copies them.
   * Unset: the blob is pushed as a stream.
   */
  copy?(d: Descriptor, loc: BlobLocation): Promise<void>;
  /** fetch reads a blob the sink holds (staged chunks being joined, layers being checked). */
  fetch(d: Descriptor): Promise<Readable>;
  /** readBlob, where given, reads a small blob the sink holds at once (BlobReading). */
  readBlob?(d: Descriptor, limit: number): Promise<Buffer | undefined>;
  /** discard drops a blob the sink holds and no longer needs (chunks once joined). */
  discard?(d: Descriptor): Promise<void>;
  /**
   * join stores blob `d` from its chunks, in order, verifying each and the whole, calling each chunk's
   * `appended` once it no longer needs the chunk (so a staged chunk can go before the next is read). Unset:
   * the chunks are pushed as one stream and discarded when it is stored.
   */
  join?(d: Descriptor, chunks: JoinChunk[]): Promise<void>;
  /** joinedCount: how many leading chunks of `d` an interrupted join kept (they need not be at hand). */
  joinedCount?(d: Descriptor, chunks: Descriptor[]): Promise<number>;
}

export interface VerifyOptions extends VerifyLimits {
  /** Trusted public keys. */
  trusted: KeyObject[];
  /** How many distinct trusted keys must have signed (co-signatures, `sign`). Default 1. */
  threshold?: number;
  /** The clock, passed in. */
  now: Date;
  /** Tolerated clock skew for `createdAt` in the future. Default 300 s. */
  clockSkewSeconds?: number;
  /** Concurrent blob verifications. Default 3. */
  concurrency?: number;
  /** When given, verified blobs are pushed here (import) instead of being drained (verify). */
  sink?: BundleSink;
  /**
   * The site's store: what the bundle leaves out (a delta export) is read from here, through the same digest
   * verification as the bundle's own blobs. Unset: every blob must be in the bundle (or held by the sink).
   */
  held?: ReadOnlyStorage;
  /** Checked after the signature and before any blob is read (anti-rollback, site policy). */
  policy?: (predicate: BundlePredicate) => void | Promise<void>;
  /** Called when the blobs to read are known and before any is read (import checks free space here). */
  beforeBlobs?: (pending: { blobs: number; bytes: number }) => void | Promise<void>;
  /** The site's private keys: encrypted objects layers are decrypted and checked too. Unset: they are listed only. */
  siteKeys?: KeyObject[];
  /** Fail on soft problems instead of warning. Default false. */
  strict?: boolean;
  /** Soft problems (unreferenced blobs). */
  warn?: (code: string, message: string) => void;
  onProgress?: (event: { bytes: number; totalBytes: number; blobs: number; totalBlobs: number }) => void;
  signal?: AbortSignal;
  /**
   * With at least this many objects layers in the clear to read, they are parsed in a worker thread
   * (ObjectsPool) while blobs are read and stored. Default 256. Running from sources there is no worker.
   */
  objectsWorkerMin?: number;
}

/** MissingBlob is a blob of a split bundle that is in none of the parts given (and not already held). */
export interface MissingBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  /** The part the volume table puts it in. */
  part: number;
  /** For a chunk: the blob it is a piece of. */
  chunkOf?: Digest;
}

export interface VerifiedBundle {
  statement: Statement;
  predicate: BundlePredicate;
  keyHint: string;
  root: Descriptor;
  signature: Descriptor;
  /** Every signature over the statement: the export's and the co-signatures, and whether a trusted key checked it. */
  signatures: SignatureFact[];
  /** Signed index.json entries except the root and the volume set: cluster artifacts, charts, images. */
  manifests: Descriptor[];
  clusters: { cluster: string; manifest: Descriptor }[];
  /** Every descriptor reachable from the signed root and the signature referrer. */
  blobs: Descriptor[];
  totalBytes: number;
  /** True when every blob was verified or is held by the sink; false only for a split bundle missing parts. */
  complete: boolean;
  /** What the parts given lack (split bundles). */
  missing: MissingBlob[];
  /** Split bundles: the signed volume table and the parts given. */
  volumes?: { manifest: Descriptor; table: VolumeTable; given: number[] };
  /** Blobs read (from the bundle, or from `held`), and blobs the sink already held. */
  read: number;
  reused: number;
  /** Blobs read from `held` (the site's store) because the bundle leaves them out. */
  fromStore: number;
  /** Encrypted objects layers, with the key ids they are encrypted to. */
  encrypted: { cluster: string; layer: Descriptor; recipients: string[] }[];
  /** What the objects layers at hand serve (unique: a bundle that would serve a name twice is refused). */
  served: ServedName[];
}

function tampered(message: string, details?: Record<string, unknown>): VerificationError {
  return new VerificationError('TAMPERED', message, details ? { details } : undefined);
}

function missingBlob(d: Descriptor, file: string | undefined, why: string): VerificationError {
  return new VerificationError('BLOB_MISSING', `${d.digest}: ${d.mediaType}: not found${file ? ` in ${file}` : ''}: ${why}`, {
    details: { digest: d.digest, mediaType: d.mediaType, ...(file ? { file } : {}) },
  });
}

const LACKS = 'the bundle lacks a blob its signed manifests reference (incomplete or altered bundle)';
const LACKS_HELD = `${LACKS}; the store does not hold it either (a delta bundle is verified and imported with the store whose receipt it was made from)`;

async function readDoc(src: ReadOnlyStorage, desc: Descriptor, limit: number, file?: string, why = LACKS): Promise<Buffer> {
  if (!(await src.exists(desc))) throw missingBlob(desc, file, why);
  return readDocument(src, desc, { limit });
}

// readingBy lets a part read its documents through `reader` (one open handle per tar) instead of a stream each.
function readingBy(store: PartSource['store'], reader: TarBlobReader): PartSource['store'] {
  if (!canLocate(store)) return store;
  const blobs = store.blobs?.bind(store);
  const reading: PartSource['store'] & Locatable & BlobReading = {
    index: () => store.index(),
    exists: (d, o) => store.exists(d, o),
    fetch: (d, o) => store.fetch(d, o),
    ...(blobs ? { blobs } : {}),
    locate: (d) => store.locate(d),
    // A stored size other than the declared one, or over the limit, is left to readAll to report.
    readBlob: async (d, limit) => {
      const loc = store.locate(d);
      return loc && loc.size === d.size && d.size <= limit ? reader.read(loc) : undefined;
    },
  };
  return reading;
}

/** orHeld reads what `src` lacks from `held` (the site's store, for a delta export), when given. */
export function orHeld(src: ReadOnlyStorage, held: ReadOnlyStorage | undefined): ReadOnlyStorage {
  if (!held) return src;
  const both: ReadOnlyStorage & Partial<BlobReading> = {
    exists: async (d, o) => (await src.exists(d, o)) || held.exists(d, o),
    fetch: async (d, o) => ((await src.exists(d, o)) ? src : held).fetch(d, o),
  };
  // Read at once where it can be, from the bundle or from the store.
  if (canReadBlob(src) || canReadBlob(held)) {
    both.readBlob = async (d, limit) => {
      const from = (await src.exists(d)) ? src : held;
      return canReadBlob(from) ? from.readBlob(d, limit) : undefined;
    };
  }
  return both;
}

// findSignatures lists the signature referrers in index.json: the export's, and any co-signatures.
function findSignatures(index: Index): Descriptor[] {
  const sigs = index.manifests.filter((d) => d.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE);
  if (sigs.length === 0) {
    throw new VerificationError('SIGNATURE_INVALID', `index.json: no signature: expected one manifest with artifactType ${MEDIA_TYPE_SIGSTORE_BUNDLE}, found none (was the bundle exported by sveltos-airgap export?)`);
  }
  const twice = sigs.find((d, i) => sigs.findIndex((x) => x.digest === d.digest) !== i);
  if (twice) throw new VerificationError('SIGNATURE_INVALID', `index.json: signature manifest ${twice.digest} is listed twice`, { details: { digest: twice.digest } });
  return sigs;
}

/** SignatureFact is one signature over the bundle statement: who made it, the note and time `sign` recorded (unsigned labels), whether a trusted key checked it. */
export interface SignatureFact {
  digest: Digest;
  keyHint: string;
  checked: boolean;
  note?: string;
  signedAt?: string;
}

/** Labels `sign` puts on a co-signature's manifest: not covered by any signature, shown as recorded. */
export const ANNOTATION_SIGNATURE_NOTE = 'io.projectsveltos.airgap.signature.note';
export const ANNOTATION_SIGNATURE_CREATED = 'org.opencontainers.image.created';

/** signatureLabels reads the note and signing time `sign` put on a signature manifest (unsigned labels). */
export function signatureLabels(annotations: Record<string, string> | undefined): Pick<SignatureFact, 'note' | 'signedAt'> {
  const a = annotations ?? {};
  return {
    ...(a[ANNOTATION_SIGNATURE_NOTE] !== undefined ? { note: a[ANNOTATION_SIGNATURE_NOTE] } : {}),
    ...(a[ANNOTATION_SIGNATURE_CREATED] !== undefined ? { signedAt: a[ANNOTATION_SIGNATURE_CREATED] } : {}),
  };
}

// readSignature reads a referrer and its Sigstore bundle (size-bounded, digest-verified) and checks the DSSE
// signature when a trusted key has its hint; a signature by another key is read for its statement only.
async function readSignature(src: ReadOnlyStorage, sigDesc: Descriptor, opts: VerifyOptions, limit: number) {
  if (!isManifestMediaType(sigDesc.mediaType)) throw tampered(`index.json: signature ${sigDesc.digest}: expected an image manifest, found media type ${sigDesc.mediaType}`);
  const manifest = manifestFromJSON(await readDoc(src, sigDesc, limit), `signature manifest ${sigDesc.digest}`);
  const layer = manifest.layers[0];
  if (manifest.layers.length !== 1 || !layer || layer.mediaType !== MEDIA_TYPE_SIGSTORE_BUNDLE) {
    throw tampered(`signature manifest ${sigDesc.digest}: layers: expected one layer of ${MEDIA_TYPE_SIGSTORE_BUNDLE}, found ${manifest.layers.map((l) => l.mediaType).join(', ') || 'none'}`);
  }
  if (!manifest.subject) throw tampered(`signature manifest ${sigDesc.digest}: subject: expected the bundle root, found none`);
  const bundleJSON = await readDoc(src, layer, limit);
  const source = `signature ${layer.digest}`;
  const envelope = readSignedEnvelope(bundleJSON, { source, maxBytes: limit });
  const checked = isTrustedHint(opts.trusted, envelope.keyHint);
  const payload = checked ? verifySignedStatement(bundleJSON, opts.trusted, { source, maxBytes: limit }).payload : envelope.payload;
  const fact: SignatureFact = {
    digest: sigDesc.digest,
    keyHint: envelope.keyHint,
    checked,
    ...signatureLabels(manifest.annotations),
  };
  return { payload, fact, subject: manifest.subject, source, bundleJSON };
}

// verifySignatures reads every signature: all must be well formed, name the same subject and sign the same
// statement (byte for byte); at least `threshold` distinct trusted keys must have signed it. The first
// signature a trusted key checked is the bundle's signature (its key hint is the signer reported).
async function verifySignatures(src: ReadOnlyStorage, sigDescs: Descriptor[], opts: VerifyOptions, limit: number) {
  const read = [];
  for (const d of sigDescs) read.push(await readSignature(src, d, opts, limit));
  const first = read[0]!;
  for (const r of read.slice(1)) {
    if (!r.payload.equals(first.payload)) throw tampered(`signature manifest ${r.fact.digest}: signs another statement than signature manifest ${first.fact.digest}: a co-signature must sign the bundle's own statement`, { digest: r.fact.digest });
    if (r.subject.digest !== first.subject.digest) throw tampered(`signature manifest ${r.fact.digest}: subject: expected ${first.subject.digest}, found ${r.subject.digest}`, { digest: r.fact.digest });
  }
  const facts = read.map((r) => r.fact);
  const signers = [...new Set(facts.filter((f) => f.checked).map((f) => f.keyHint))];
  const threshold = opts.threshold ?? 1;
  // No trusted key signed: the first signature's check says by whom it is signed and which keys are trusted.
  if (signers.length === 0) verifySignedStatement(first.bundleJSON, opts.trusted, { source: first.source, maxBytes: limit });
  if (signers.length < threshold) {
    const others = [...new Set(facts.filter((f) => !f.checked).map((f) => f.keyHint))];
    throw new VerificationError('POLICY', `--threshold ${threshold}: ${signers.length} trusted key${signers.length === 1 ? '' : 's'} signed (${signers.join(', ')})${others.length ? `; also signed by untrusted ${others.join(', ')}` : ''}: ${threshold - signers.length} more co-signature${threshold - signers.length === 1 ? '' : 's'} (sveltos-airgap sign) by trusted keys needed`, {
      details: { expected: threshold, found: signers.length, signers, untrusted: others },
    });
  }
  const primary = read.find((r) => r.fact.checked)!;
  return { statement: parseStatement(primary.payload, 'statement', limit), keyHint: primary.fact.keyHint, subject: primary.subject, primary: sigDescs[read.indexOf(primary)]!, facts };
}

// verifySubjects checks index.json against the signed statement, both ways, by name and digest.
function verifySubjects(index: Index, sigDescs: Descriptor[], statement: Statement): Descriptor[] {
  const signedEntries = index.manifests.filter((d) => !sigDescs.includes(d));
  const subjects = new Map(statement.subject.map((s) => [s.name, s.digest.sha256]));
  const seen = new Set<string>();
  for (const d of signedEntries) {
    const name = subjectName(d);
    const want = subjects.get(name);
    if (seen.has(name)) throw tampered(`index.json: ${name}: listed twice`, { name });
    seen.add(name);
    if (want === undefined) {
      throw tampered(`index.json: ${name} (${d.digest}) is not a subject of the signed statement: the index was changed after signing`, { name, found: d.digest });
    }
    if (want !== digestHex(d.digest)) {
      throw tampered(`index.json: ${name}: digest mismatch with the signed statement: expected sha256:${want}, found ${d.digest}`, { name, expected: `sha256:${want}`, found: d.digest });
    }
  }
  for (const name of subjects.keys()) {
    if (!seen.has(name)) throw tampered(`index.json: signed subject ${name} is missing from index.json`, { name });
  }
  return signedEntries;
}

// verifyPolicy checks validity times and any caller policy (sequence, site clusters).
async function verifyPolicy(predicate: BundlePredicate, opts: VerifyOptions): Promise<void> {
  const now = opts.now.getTime();
  const expires = Date.parse(predicate.expiresAt);
  const created = Date.parse(predicate.createdAt);
  if (now >= expires) {
    throw new VerificationError('EXPIRED', `bundle expired at ${predicate.expiresAt} (now ${opts.now.toISOString()}): export a fresh bundle`, {
      details: { expected: `before ${predicate.expiresAt}`, found: opts.now.toISOString() },
    });
  }
  if (created - (opts.clockSkewSeconds ?? 300) * 1000 > now) {
    throw new VerificationError('NOT_YET_VALID', `bundle created at ${predicate.createdAt} is in the future (now ${opts.now.toISOString()}): check this machine's clock`, {
      details: { expected: `not after ${opts.now.toISOString()}`, found: predicate.createdAt },
    });
  }
  await opts.policy?.(predicate);
}

interface Header {
  statement: Statement;
  keyHint: string;
  sigDesc: Descriptor;
  /** Every signature referrer (sigDesc, the one a trusted key checked first, among them). */
  sigDescs: Descriptor[];
  /** The signed SBOM referrer of the root, when the bundle has one. */
  sbom?: Descriptor;
  signatures: SignatureFact[];
  root: Descriptor;
  volumes?: Descriptor;
  manifests: Descriptor[];
  clusters: { cluster: string; manifest: Descriptor }[];
}

// verifyHeader runs steps 1-3 of DESIGN.md §4 on one tar: the signature and the signed index.json entries.
async function verifyHeader(src: LayoutSource, opts: VerifyOptions, limit: number): Promise<Header> {
  const index = src.index();
  const sigDescs = findSignatures(index);
  const { statement, keyHint, subject, primary: sigDesc, facts } = await verifySignatures(src, sigDescs, opts, limit);
  const signedEntries = verifySubjects(index, sigDescs, statement);
  const root = signedEntries.find((d) => d.artifactType === ARTIFACT_TYPE_BUNDLE);
  if (!root) throw tampered(`index.json: no bundle root (artifactType ${ARTIFACT_TYPE_BUNDLE})`);
  if (subject.digest !== root.digest) {
    throw tampered(`signature manifest ${sigDesc.digest}: subject: expected the bundle root ${root.digest}, found ${subject.digest}`);
  }
  const volumeSets = signedEntries.filter((d) => d.artifactType === ARTIFACT_TYPE_VOLUMES);
  if (volumeSets.length > 1) throw tampered(`index.json: expected at most one volume set, found ${volumeSets.length}: ${volumeSets.map((d) => d.digest).join(', ')}`);
  // The SBOM refers to the root (it cannot be listed by it): signed through the statement, walked as metadata.
  const sboms = signedEntries.filter((d) => d.artifactType === MEDIA_TYPE_SPDX);
  if (sboms.length > 1) throw tampered(`index.json: expected at most one SBOM, found ${sboms.length}: ${sboms.map((d) => d.digest).join(', ')}`);
  const manifests = signedEntries.filter((d) => d !== root && d !== volumeSets[0] && d !== sboms[0]);
  const rootIndex = indexFromJSON(await readDoc(src, root, limit), `bundle root ${root.digest}`);
  // Entries are matched by name and digest: the same content may be listed under several names.
  const listed = new Set(rootIndex.manifests.map((d) => `${subjectName(d)}@${d.digest}`));
  for (const d of manifests) if (!listed.has(`${subjectName(d)}@${d.digest}`)) throw tampered(`bundle root ${root.digest}: does not list ${subjectName(d)} (${d.digest})`);
  if (rootIndex.manifests.length !== manifests.length) throw tampered(`bundle root ${root.digest}: lists ${rootIndex.manifests.length} manifests, index.json has ${manifests.length}`);

  const clusters: { cluster: string; manifest: Descriptor }[] = [];
  for (const d of manifests) {
    if (d.artifactType !== ARTIFACT_TYPE_CLUSTER) continue;
    const cluster = d.annotations?.[ANNOTATION_CLUSTER];
    if (!cluster || !statement.predicate.clusters.includes(cluster)) {
      throw tampered(`index.json: cluster artifact ${d.digest}: cluster ${JSON.stringify(cluster)} is not named by the signed predicate (${statement.predicate.clusters.join(', ')})`);
    }
    clusters.push({ cluster, manifest: d });
  }
  for (const c of statement.predicate.clusters) {
    if (!clusters.some((x) => x.cluster === c)) throw tampered(`index.json: signed cluster ${c} has no configuration artifact`);
  }
  return { statement, keyHint, sigDesc, sigDescs, signatures: facts, root, ...(volumeSets[0] ? { volumes: volumeSets[0] } : {}), ...(sboms[0] ? { sbom: sboms[0] } : {}), manifests, clusters };
}

// inPart names the part file in errors raised while checking it (a split bundle has several tars).
async function inPart<T>(part: Pick<PartSource, 'file'>, named: boolean, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw partError(part, named, err);
  }
}

// partError is `err` as inPart reports it: named after the part's file when `named` and not named yet.
function partError(part: Pick<PartSource, 'file'>, named: boolean, err: unknown): unknown {
  const rewrap = err instanceof VerificationError || err instanceof ContentError || err instanceof ValidationError;
  if (!named || !part.file || !rewrap || err.message.includes(part.file)) return err;
  const Ctor = err.constructor as new (code: string, message: string, opts?: ErrorOptions & { details?: Record<string, unknown> }) => BaseError;
  return new Ctor(err.code, `${part.file}: ${err.message}`, { cause: err.cause, details: { file: part.file, ...err.details } });
}

interface Graph {
  /** Manifests and indexes, read and parsed. */
  nodes: Map<Digest, Descriptor>;
  /** Everything else. */
  leaves: Map<Digest, Descriptor>;
  /** Blobs every part carries: the nodes and the leaves of the signature referrer and the volume set. */
  metadata: Set<Digest>;
  /** The volume set's own blobs: verified here, never imported. */
  transport: Set<Digest>;
  /** Each manifest's objects layers, kept from the walk's parse for step 5. */
  objectsLayers: Map<Digest, Descriptor[]>;
}

// walkGraph reads every manifest and index reachable from `roots` (verified, bounded) and lists every blob,
// enforcing the blob count, total size and depth limits before any large blob is read. A digest declared
// with two different sizes is refused: a forged size must not decide how much is read.
async function walkGraph(src: ReadOnlyStorage, roots: { desc: Descriptor; metadata: boolean; transport: boolean }[], limits: Required<Pick<VerifyLimits, 'maxMetadataBytes' | 'maxBlobs' | 'maxTotalBytes' | 'maxDepth'>>, file?: string, why = LACKS): Promise<Graph> {
  const g: Graph = { nodes: new Map(), leaves: new Map(), metadata: new Set(), transport: new Set(), objectsLayers: new Map() };
  const sizes = new Map<Digest, { size: number; by: string }>();
  // Roots are walked in order and the transport root (the volume set) last: what the bundle itself
  // references is never transport-only.
  const inBundle = new Set<Digest>();
  let total = 0;
  for (const r of roots) {
    const queue: { desc: Descriptor; depth: number; by: string }[] = [{ desc: r.desc, depth: 0, by: 'index.json' }];
    // Breadth first, read by position: shift() would move the rest of a queue of thousands each time.
    for (let next = 0; next < queue.length; next++) {
      const { desc, depth, by } = queue[next]!;
      const known = sizes.get(desc.digest);
      if (known && known.size !== desc.size) {
        throw tampered(`${desc.digest}: declared as ${known.size} bytes by ${known.by} and as ${desc.size} bytes by ${by}`, { digest: desc.digest, expected: known.size, found: desc.size });
      }
      if (r.metadata && !isGraphNode(desc)) g.metadata.add(desc.digest);
      if (!r.transport) inBundle.add(desc.digest);
      else if (!inBundle.has(desc.digest)) g.transport.add(desc.digest);
      if (known && (g.nodes.has(desc.digest) || !isGraphNode(desc))) continue;
      if (!known) {
        sizes.set(desc.digest, { size: desc.size, by });
        total += desc.size;
        if (sizes.size > limits.maxBlobs) {
          throw new ContentError('SIZE_EXCEEDS_LIMIT', `bundle: more than ${limits.maxBlobs} blobs (raise the limit with --max-blobs if this bundle is genuine)`, { details: { expected: `<= ${limits.maxBlobs}`, found: sizes.size } });
        }
        if (total > limits.maxTotalBytes) {
          throw new ContentError('SIZE_EXCEEDS_LIMIT', `bundle: its manifests declare more than ${limits.maxTotalBytes} bytes of blobs (raise the limit with --max-total-size if this bundle is genuine)`, { details: { expected: `<= ${limits.maxTotalBytes}`, found: total, digest: desc.digest } });
        }
      }
      if (!isGraphNode(desc)) {
        g.leaves.set(desc.digest, desc);
        continue;
      }
      g.leaves.delete(desc.digest);
      g.nodes.set(desc.digest, desc);
      g.metadata.add(desc.digest);
      if (depth >= limits.maxDepth) {
        throw new ContentError('SIZE_EXCEEDS_LIMIT', `${desc.digest}: ${desc.mediaType}: manifests nested deeper than ${limits.maxDepth} levels`, { details: { digest: desc.digest, expected: `<= ${limits.maxDepth}`, found: depth + 1 } });
      }
      const keep = (m: Manifest) => g.objectsLayers.set(desc.digest, m.layers.filter(isObjectsLayer));
      const children = successorsOf(desc, await readDoc(src, desc, limits.maxMetadataBytes, file, why), keep);
      for (const c of children) queue.push({ desc: c, depth: depth + 1, by: desc.digest });
    }
  }
  return g;
}

// Blobs smaller than this are verified as a stream: handing them to a worker costs more than hashing them.
const POOL_MIN_BYTES = 1 << 20;
// Objects layers read after the others (held by the store, staged by an earlier run) are read this many at once.
const HELD_READS = 16;
// Objects layers are parsed in a worker thread from this many on (below, starting it costs more than it saves).
const OBJECTS_WORKER_MIN = 256;

type Locatable = { locate(d: Descriptor): { file: string; offset: number; size: number } | undefined };
const canLocate = (s: object): s is Locatable => typeof (s as Partial<Locatable>).locate === 'function';

// hashInPlace verifies a blob where it lies in the archive, hashed by a worker, failing as a verifier would.
async function hashInPlace(hashes: HashPool, store: Locatable, d: Descriptor): Promise<void> {
  const loc = store.locate(d);
  if (!loc) throw new ContentError('NOT_FOUND', `${d.digest}: ${d.mediaType}: not found`, { details: { digest: d.digest } });
  if (loc.size !== d.size) return checkDigest(d, loc.size, '');
  checkDigest(d, loc.size, await hashes.digestRange(loc.file, loc.offset, loc.size));
}

// drain is the sink used by `verify`: it reads every blob through a verifier and keeps nothing.
function drain(): BundleSink {
  return {
    exists: async () => false,
    fetch: async (d) => {
      throw new ContentError('NOT_FOUND', `${d.digest}: ${d.mediaType}: not found`);
    },
    push: async (d, content) => {
      await pipeline(content, verifier(d), new Writable({ highWaterMark: 1 << 20, write: (_c, _e, done) => done() }));
    },
  };
}

// joined streams the chunks of a blob in order, each through its own verifier: the caller's verifier of the
// whole blob then checks the assembly.
function joined(open: (() => Promise<Readable>)[], chunks: Descriptor[]): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  void (async () => {
    for (const [i, o] of open.entries()) await pipeline(await o(), verifier(chunks[i]!), out, { end: false });
    out.end();
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}

// pool runs `fn` over `items` with at most `n` at once; the first failure stops new work and is thrown.
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      signal?.throwIfAborted();
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

// verifyHeaders runs steps 1-3 on every tar given (signature, subjects, root), then the policy once.
// With a `reader`, the parts read their documents through it.
async function verifyHeaders(src: LayoutSource, opts: VerifyOptions, limit: number, reader?: TarBlobReader): Promise<{ parts: PartSource[]; split: boolean; first: PartSource; header: Header }> {
  const single = (src as { file?: unknown }).file;
  const given: PartSource[] = isPartSet(src) ? src.parts() : [{ store: src, ...(typeof single === 'string' ? { file: single } : {}) }];
  const parts = reader ? given.map((p) => ({ ...p, store: readingBy(p.store, reader) })) : given;
  const split = parts.some((p) => p.part !== undefined);
  const first = parts[0]!;
  const header = await inPart(first, split, () => verifyHeader(first.store, opts, limit));
  for (const p of parts.slice(1)) {
    const h = await inPart(p, true, () => verifyHeader(p.store, opts, limit));
    // Parts of one bundle share its root; each may carry co-signatures of its own.
    if (h.root.digest !== header.root.digest) {
      throw new ValidationError('USAGE', `${p.file} belongs to another bundle (sequence ${h.statement.predicate.sequence}, root ${h.root.digest}) than ${first.file} (sequence ${header.statement.predicate.sequence}, root ${header.root.digest}): give the parts of one bundle`, {
        details: { files: [first.file, p.file], expected: header.root.digest, found: h.root.digest },
      });
    }
  }
  await verifyPolicy(header.statement.predicate, opts);
  return { parts, split, first, header };
}

/** SignedHeader is what steps 1-3 establish: who signed what, and the signed manifests. */
export type SignedHeader = Pick<VerifiedBundle, 'statement' | 'predicate' | 'keyHint' | 'root' | 'signature' | 'signatures' | 'manifests' | 'clusters'>;

/**
 * verifyBundleHeader runs steps 1-3 of DESIGN.md §4 and the policy on every tar given, and reads no other blob:
 * enough to know that a bundle is the signed one a store already imported (its root digest).
 */
export async function verifyBundleHeader(src: LayoutSource, opts: VerifyOptions): Promise<SignedHeader> {
  const { header } = await verifyHeaders(src, opts, opts.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES);
  const { statement, keyHint, root, sigDesc, signatures, manifests, clusters } = header;
  return { statement, predicate: statement.predicate, keyHint, root, signature: sigDesc, signatures, manifests, clusters };
}

/** verifyBundle performs the full offline verification of DESIGN.md §4 and returns what was verified. */
export async function verifyBundle(src: LayoutSource, opts: VerifyOptions): Promise<VerifiedBundle> {
  const reader = new TarBlobReader();
  // A bundle of many small blobs (a fleet's objects layers) starts the objects reader now: the worker loads
  // while the signature and the graph are checked, and is closed unused if few layers turn out to be objects.
  const objects = smallBlobs(src) >= (opts.objectsWorkerMin ?? OBJECTS_WORKER_MIN) ? ObjectsPool.start(objectsLimitsOf(opts)) : undefined;
  try {
    return await verifyReading(src, opts, reader, objects);
  } finally {
    await reader.close();
    await objects?.close();
  }
}

// smallBlobs counts the blobs of the tars given under POOL_MIN_BYTES (0 when the source cannot list them).
function smallBlobs(src: LayoutSource): number {
  const stores = isPartSet(src) ? src.parts().map((p) => p.store) : [src as PartSource['store']];
  let n = 0;
  for (const s of stores) for (const b of s.blobs?.() ?? []) if (b.size < POOL_MIN_BYTES) n++;
  return n;
}

// objectsLimitsOf is what the objects reader needs of the options (copied to its worker: only the numbers).
function objectsLimitsOf(opts: VerifyOptions): ObjectsLimits {
  return { maxObjectsBytes: opts.maxObjectsBytes, maxAliasCount: opts.maxAliasCount, maxDocuments: opts.maxDocuments };
}

async function verifyReading(src: LayoutSource, opts: VerifyOptions, reader: TarBlobReader, objects: ObjectsPool | undefined): Promise<VerifiedBundle> {
  const limits = {
    maxMetadataBytes: opts.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES,
    maxBlobs: opts.maxBlobs ?? DEFAULT_MAX_BLOBS,
    maxTotalBytes: opts.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    maxDepth: opts.maxDepth ?? DEFAULT_MAX_GRAPH_DEPTH,
  };
  const limit = limits.maxMetadataBytes;
  // 1-3: every tar on its own: signature, subjects, root; then the (shared) policy once.
  const { parts, split, first, header } = await verifyHeaders(src, opts, limit, reader);

  // The volume table of a split bundle, and which part each given tar is.
  let table: VolumeTable | undefined;
  if (header.volumes) {
    const vm = await inPart(first, split, async () => manifestFromJSON(await readDoc(first.store, header.volumes!, limit, first.file), `volume set ${header.volumes!.digest}`));
    const layer = vm.layers[0];
    if (vm.layers.length !== 1 || !layer || layer.mediaType !== MEDIA_TYPE_VOLUME_TABLE) {
      throw tampered(`volume set ${header.volumes.digest}: layers: expected one layer of ${MEDIA_TYPE_VOLUME_TABLE}, found ${vm.layers.map((l) => l.mediaType).join(', ') || 'none'}`);
    }
    table = volumeTableFromJSON(await inPart(first, split, () => readDoc(first.store, layer, limit, first.file)), `volume table ${layer.digest}`);
    for (const p of parts) {
      if (p.part === undefined) {
        throw new ContentError('INVALID_LAYOUT', `${p.file ?? 'bundle'}: index.json: a part of a split bundle must name its part number (annotation io.projectsveltos.airgap.part)`, { details: { file: p.file } });
      }
      if (p.parts !== table.parts || p.part > table.parts) {
        throw tampered(`${p.file}: index.json says part ${p.part} of ${p.parts}, the signed volume table has ${table.parts} parts`, { file: p.file, expected: table.parts, found: p.parts });
      }
    }
  } else if (split) {
    throw tampered(`${first.file}: index.json names a part number, but the signed manifests have no volume set: not a part of a split bundle`, { file: first.file });
  }

  // 4a: the signed graph, from the first tar (every part carries every manifest).
  const roots = [
    { desc: header.root, metadata: false, transport: false },
    ...header.sigDescs.map((desc) => ({ desc, metadata: true, transport: false })),
    ...(header.sbom ? [{ desc: header.sbom, metadata: false, transport: false }] : []),
    ...(header.volumes ? [{ desc: header.volumes, metadata: true, transport: true }] : []),
  ];
  // A delta leaves out what the site holds, manifests included: those are read from the store (`held`).
  const meta = orHeld(first.store, opts.held);
  const lacks = opts.held ? LACKS_HELD : LACKS;
  const graph = await inPart(first, split, () => walkGraph(meta, roots, limits, first.file, lacks));
  const chunksOf = new Map((table?.chunked ?? []).map((c) => [c.digest as string, c]));
  if (table) {
    const chunkCount = table.chunked.reduce((n, c) => n + c.chunks.length, 0);
    if (graph.nodes.size + graph.leaves.size + chunkCount > limits.maxBlobs) {
      throw new ContentError('SIZE_EXCEEDS_LIMIT', `bundle: more than ${limits.maxBlobs} blobs and chunks (raise the limit with --max-blobs if this bundle is genuine)`, { details: { expected: `<= ${limits.maxBlobs}`, found: graph.nodes.size + graph.leaves.size + chunkCount } });
    }
    checkTable(table, graph);
    // Every part must hold the metadata and what the table puts in it; checked before any data is read.
    for (const p of parts) {
      await inPart(p, true, async () => {
        for (const d of [...graph.nodes.values(), ...[...graph.metadata].flatMap((m) => graph.leaves.get(m) ?? [])]) {
          if (!(await p.store.exists(d))) throw missingBlob(d, p.file, 'every part carries the signed metadata (the part is damaged: copy it again)');
          await readDoc(p.store, d, limit, p.file);
        }
        const here = [
          ...table!.volumes[p.part! - 1]!.blobs.map((d) => graph.leaves.get(d)!),
          ...table!.chunked.flatMap((c) => c.chunks.filter((k) => k.part === p.part).map(chunkDescriptor)),
        ];
        for (const d of here) {
          if (!(await p.store.exists(d))) throw missingBlob(d, p.file, `the signed volume table puts it in part ${p.part} of ${table!.parts} (the part is damaged: copy it again)`);
        }
      });
    }
  }

  // Step 5 needs the objects layers each cluster carries (the graph walk has verified every manifest).
  const carried: { cluster: string; layers: Descriptor[] }[] = [];
  for (const c of header.clusters) {
    const layers = graph.objectsLayers.get(c.manifest.digest) ?? manifestFromJSON(await readDoc(meta, c.manifest, limit, first.file, lacks), c.manifest.digest).layers.filter(isObjectsLayer);
    carried.push({ cluster: c.cluster, layers });
  }

  // 4b: every blob, through the sink.
  const sink = opts.sink ?? drain();
  // Plain verification of a bundle on disk hashes large blobs where they lie, on every core.
  // A sink that copies takes large blobs of a tar by position: read once, hashed while written.
  const verifyOne = async (s: Extract<Step, { kind: 'read' }>, hashes: HashPool | undefined) => {
    const store = s.from.store;
    const loc = canLocate(store) && s.d.size >= POOL_MIN_BYTES ? store.locate(s.d) : undefined;
    if (loc && hashes && canLocate(store)) return hashInPlace(hashes, store, s.d);
    if (loc && sink.copy) return sink.copy(s.d, loc);
    // A small blob a store other than a tar hands over at once (a delta's blobs held by the store): checked and
    // parsed as the tar's are, with no stream. A tar's are read in order above, or streamed (a size it stores
    // otherwise than declared is reported by the stream verifier).
    const small = !canLocate(store) && canReadBlob(store) ? await store.readBlob(s.d, s.d.size) : undefined;
    if (!small) return sink.push(s.d, await store.fetch(s.d));
    verifyBuffer(small, s.d);
    await parseCarried(s.d, small);
    if (sink.write) await sink.write(s.d, small);
    else if (opts.sink) await sink.push(s.d, Readable.from([small]));
  };
  // A tar says at once whether it holds a blob (by position): no promise per blob and part.
  const holder = async (d: Descriptor): Promise<PartSource | undefined> => {
    for (const p of parts) if (canLocate(p.store) ? p.store.locate(d) !== undefined : await p.store.exists(d)) return p;
    return undefined;
  };
  // When every part is such a tar, the part and the position are found here with no promise at all.
  const tars = parts.flatMap((p) => (canLocate(p.store) ? [{ part: p, store: p.store }] : []));
  const tarsOnly = tars.length === parts.length;
  const locateIn = (d: Descriptor): { from: PartSource; at: BlobLocation } | undefined => {
    for (const t of tars) {
      const at = t.store.locate(d);
      if (at) return { from: t.part, at };
    }
    return undefined;
  };
  const store: BlobHolder | undefined = opts.held ? { store: opts.held, file: 'the store' } : undefined;
  const missing: MissingBlob[] = [];
  // A read from a tar keeps where the tar holds the blob (`at`), found when the step was made.
  type Step = { kind: 'held' } | { kind: 'read'; d: Descriptor; from: BlobHolder; at?: BlobLocation } | { kind: 'join'; d: Descriptor; chunks: { c: Descriptor; from?: PartSource; held: boolean }[] };
  const steps: Step[] = [];
  const users = new Map<string, number>();
  const staging = new Set<string>();
  let pendingBytes = 0;
  const bundleBlobs = [...graph.nodes.values(), ...graph.leaves.values()].filter((d) => !graph.transport.has(d.digest));
  for (const d of bundleBlobs) {
    // verify's own sink holds nothing: it is not asked; a sink that answers at once costs no promise.
    const held = opts.sink ? sink.exists(d) : false;
    if (held === true || (held !== false && (await held))) {
      steps.push({ kind: 'held' });
      continue;
    }
    const entry = chunksOf.get(d.digest);
    if (!entry) {
      // The bundle's own copy first; what a delta leaves out, from the store (a sink that holds it reads nothing).
      const inTar = tarsOnly ? locateIn(d) : undefined;
      const from = (tarsOnly ? inTar?.from : await holder(d)) ?? (store && (await store.store.exists(d)) ? store : undefined);
      if (from) {
        steps.push(inTar ? { kind: 'read', d, from, at: inTar.at } : { kind: 'read', d, from });
        pendingBytes += d.size;
      } else if (table && !table.held?.includes(d.digest)) {
        missing.push({ digest: d.digest, size: d.size, mediaType: d.mediaType, part: partOf(table, d.digest) ?? 0 });
      } else if (table) {
        throw missingBlob(d, undefined, 'a delta bundle leaves it out because the site it was made for holds it; this store does not (import into the store whose receipt it was made from)');
      } else {
        throw missingBlob(d, first.file, lacks);
      }
      continue;
    }
    // A chunked blob: join it when every chunk is at hand (given, staged, or joined by an interrupted run), else
    // stage the chunks given.
    const joinedBefore = (await sink.joinedCount?.(d, entry.chunks.map(chunkDescriptor))) ?? 0;
    const chunks: { c: Descriptor; from?: PartSource; held: boolean }[] = [];
    for (const [i, k] of entry.chunks.entries()) {
      const c = chunkDescriptor(k);
      const held = i < joinedBefore || (await sink.exists(c));
      const from = held ? undefined : await holder(c);
      chunks.push({ c, ...(from ? { from } : {}), held });
      if (!held && !from && !missing.some((m) => m.digest === c.digest && m.part === k.part)) {
        missing.push({ digest: c.digest, size: c.size, mediaType: c.mediaType, part: k.part, chunkOf: d.digest });
      }
    }
    if (chunks.every((k) => k.held || k.from)) {
      steps.push({ kind: 'join', d, chunks });
      pendingBytes += d.size;
      for (const k of chunks) if (k.held) users.set(k.c.digest, (users.get(k.c.digest) ?? 0) + 1);
    } else {
      for (const k of chunks) {
        // Chunks are content: one may serve several places, and is staged once and kept for the join to come.
        users.set(k.c.digest, Infinity);
        if (!k.from || staging.has(k.c.digest)) continue;
        staging.add(k.c.digest);
        steps.push({ kind: 'read', d: k.c, from: k.from });
        pendingBytes += k.c.size;
      }
    }
  }
  // A staged chunk may also be a whole blob of the bundle (equal content): that one is never dropped.
  for (const d of bundleBlobs) users.set(d.digest, Infinity);
  const toRead = steps.filter((s) => s.kind !== 'held');
  await opts.beforeBlobs?.({ blobs: toRead.length, bytes: pendingBytes });
  let bytes = 0;
  let done = 0;
  const progress = (n: number) => {
    bytes += n;
    done++;
    opts.onProgress?.({ bytes, totalBytes: pendingBytes, blobs: done, totalBlobs: toRead.length });
  };
  const join = async (s: Extract<Step, { kind: 'join' }>) => {
    // A staged chunk goes once the last join that reads it no longer needs it.
    const release = async (k: (typeof s.chunks)[number]): Promise<boolean> => {
      if (!k.held) return false;
      const left = (users.get(k.c.digest) ?? 1) - 1;
      users.set(k.c.digest, left);
      if (left !== 0 || !sink.discard) return false;
      await sink.discard(k.c);
      return true;
    };
    const open = (k: (typeof s.chunks)[number]) => (k.from ? k.from.store.fetch(k.c) : sink.fetch(k.c));
    if (sink.join) {
      await sink.join(s.d, s.chunks.map((k) => ({ desc: k.c, open: () => open(k), ...(k.held ? { appended: () => release(k) } : {}) })));
      return;
    }
    await sink.push(s.d, joined(s.chunks.map((k) => () => open(k)), s.chunks.map((k) => k.c)));
    for (const k of s.chunks) await release(k);
  };
  // Joins from staged chunks run one at a time, last: a sink without `join` holds a joined blob and its chunks
  // until the join ends (one blob held twice at most); one with it, one chunk. Everything else runs concurrently.
  const fromStaging = (s: Step) => s.kind === 'join' && s.chunks.some((k) => k.held);
  // Small blobs of the tars are read in archive order through one handle and hashed here as they go by (a
  // worker or a stream per blob costs more than hashing a few KB); the rest run concurrently meanwhile.
  const located = new Map<Extract<Step, { kind: 'read' }>, BlobLocation>();
  for (const s of toRead) {
    if (s.kind !== 'read' || s.d.size >= POOL_MIN_BYTES || !canLocate(s.from.store)) continue;
    const loc = s.at ?? s.from.store.locate(s.d);
    // A stored size other than the declared one is left to the stream verifier to report.
    if (loc && loc.size === s.d.size) located.set(s, loc);
  }
  const inOrder = [...located].sort((x, y) => (x[1].file === y[1].file ? x[1].offset - y[1].offset : x[1].file < y[1].file ? -1 : 1));
  const rest = toRead.filter((s) => !fromStaging(s) && !(s.kind === 'read' && located.has(s)));
  // The objects layers are parsed as they are read: in the worker thread when there are many.
  const clearLayers = new Set(carried.flatMap((c) => c.layers.filter((l) => l.mediaType === MEDIA_TYPE_OBJECTS).map((l) => l.digest))).size;
  const objectsPool = clearLayers >= (opts.objectsWorkerMin ?? OBJECTS_WORKER_MIN) && inOrder.length > 0 ? objects : undefined;
  const parseCarried = carriedParser(carried, objectsLimitsOf(opts), objectsPool);
  const readInOrder = async (signal: AbortSignal) => {
    for (const [s, loc] of inOrder) {
      signal.throwIfAborted();
      const data = await reader.next(loc);
      // Checked in line (no closure or promise per blob: there may be tens of thousands).
      try {
        checkDigest(s.d, data.length, `sha256:${hash('sha256', data, 'hex')}`);
      } catch (err) {
        throw partError(s.from, split, err);
      }
      await parseCarried(s.d, data);
      if (sink.write) await sink.write(s.d, data);
      // A copy: the stream is read after the next blob overwrote the reader's window.
      else if (opts.sink) await sink.push(s.d, Readable.from([Buffer.from(data)]));
      progress(s.d.size);
    }
  };
  const bigInPlace = rest.some((s) => s.kind === 'read' && s.d.size >= POOL_MIN_BYTES && canLocate(s.from.store));
  const hashes = opts.sink || !bigInPlace ? undefined : new HashPool();
  // The first failure stops both.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  let failed: unknown;
  const fail = (err: unknown) => {
    failed ??= err;
    stop.abort(err);
  };
  try {
    await Promise.all([
      readInOrder(signal).catch(fail),
      pool(rest, opts.concurrency ?? 3, async (s) => {
        if (s.kind === 'read') await inPart(s.from, split, () => verifyOne(s, hashes));
        else if (s.kind === 'join') await join(s);
        progress(s.d.size);
      }, signal).catch(fail),
    ]);
    if (failed === undefined) await parseCarried.settle();
  } finally {
    await hashes?.close();
  }
  if (failed !== undefined) throw failed;
  await sink.flush?.();
  for (const s of toRead) {
    if (s.kind !== 'join' || !fromStaging(s)) continue;
    opts.signal?.throwIfAborted();
    await join(s);
    progress(s.d.size);
  }

  // Blobs in a tar that nothing signed references are ignored, with a warning (an error with strict).
  const known = new Set<string>([...graph.nodes.keys(), ...graph.leaves.keys(), ...(table?.chunked.flatMap((c) => c.chunks.map((k) => k.digest)) ?? [])]);
  for (const p of parts) {
    for (const b of p.store.blobs?.() ?? []) {
      if (known.has(b.digest)) continue;
      const message = `${split ? `${p.file}: ` : ''}${b.digest}: ${b.size} bytes in the bundle are not referenced by any signed manifest; they are ignored`;
      if (opts.strict) throw tampered(message, { digest: b.digest });
      opts.warn?.('UNREFERENCED_BLOB', message);
    }
  }

  // 5: the carried objects, where their bytes are at hand (a layer of a missing part is checked when it arrives).
  // Every name they serve must be unique (served-names.ts).
  const encrypted: VerifiedBundle['encrypted'] = [];
  // The names of each carried layer, in order: parsed as it was read (indexed already, parseCarried.index), known
  // by its group annotation alone, or read below.
  const named: ServedName[][] = [];
  const unread: { at: number; cluster: string; layer: Descriptor }[] = [];
  for (const { cluster, layers } of carried) {
    for (const layer of layers) {
      if (isEncryptedObjects(layer)) encrypted.push({ cluster, layer, recipients: envelopeRecipients(layer) });
      // An encrypted layer no site key opens here serves its group, by its annotation.
      const sealed = isEncryptedObjects(layer) && !opts.siteKeys?.length;
      const names = sealed ? servedNames(cluster, layer, undefined) : parseCarried.names(cluster, layer);
      if (sealed) parseCarried.index.add(names!);
      if (!names) unread.push({ at: named.length, cluster, layer });
      named.push(names ?? []);
    }
  }
  // The rest are read now, a few at once: staged by an earlier run, or held by the store (a delta leaves out
  // the layers of every cluster that did not change: thousands of small files).
  await pool(unread, HELD_READS, async ({ at, cluster, layer }) => {
    const from = (await holder(layer))?.store ?? ((await sink.exists(layer)) ? sink : (await opts.held?.exists(layer)) ? opts.held : undefined);
    if (!from) return;
    named[at] = servedNames(cluster, layer, await readLayerNames(from, layer, opts));
  }, opts.signal);
  for (const { at } of unread) parseCarried.index.add(named[at]!);
  const served = named.flat();
  // Only names that collide are worth listing (the index saw every one of them).
  if (!parseCarried.index.clean) assertNoCollisions(served, 'bundle');

  const blobs = bundleBlobs;
  return {
    statement: header.statement,
    predicate: header.statement.predicate,
    keyHint: header.keyHint,
    root: header.root,
    signature: header.sigDesc,
    signatures: header.signatures,
    manifests: header.manifests,
    clusters: header.clusters,
    blobs,
    totalBytes: blobs.reduce((n, d) => n + d.size, 0),
    complete: missing.length === 0,
    missing,
    ...(table && header.volumes ? { volumes: { manifest: header.volumes, table, given: parts.map((p) => p.part!) } } : {}),
    read: toRead.length,
    reused: steps.length - toRead.length,
    fromStore: toRead.filter((s) => s.kind === 'read' && s.from === store).length,
    encrypted,
    served,
  };
}

/**
 * carriedParser parses objects layers in the clear from their verified bytes as they are read, and keeps only
 * what step 5 needs: the names each serves for each cluster carrying it, or the error that reading it raised
 * (thrown when step 5 comes to it, so every blob is verified first). `names` gives undefined for layers not
 * parsed that way.
 */
function carriedParser(carried: { cluster: string; layers: Descriptor[] }[], limits: ObjectsLimits, pool?: ObjectsPool) {
  const clear = new Map<string, { layer: Descriptor; clusters: Set<string> } | undefined>();
  for (const { cluster, layers } of carried) {
    for (const layer of layers) {
      const known = clear.get(layer.digest);
      // A digest carried under two media types is read by step 5 itself.
      if (layer.mediaType !== MEDIA_TYPE_OBJECTS || (clear.has(layer.digest) && !known)) clear.set(layer.digest, undefined);
      else if (known) known.clusters.add(cluster);
      else clear.set(layer.digest, { layer, clusters: new Set([cluster]) });
    }
  }
  const parsed = new Map<string, { names: Map<string, ServedName[]> } | { error: unknown }>();
  const index = new NameIndex();
  const reading: Promise<void>[] = [];
  const record = (c: { layer: Descriptor; clusters: Set<string> }, read: LayerRead): void => {
    if ('error' in read) {
      parsed.set(c.layer.digest, { error: read.error });
      return;
    }
    // Names parsed here are copied out of the layer's text: a slice of it would keep all of it in memory. The
    // worker's came over as strings of their own.
    const own = (n: ServedName): ServedName => ({ ...n, kind: Buffer.from(n.kind).toString(), name: Buffer.from(n.name).toString() });
    const namesOf = (cluster: string) => {
      const list = servedNames(cluster, c.layer, read.docs);
      return pool ? list : list.map(own);
    };
    const names = new Map([...c.clusters].map((cluster) => [cluster, namesOf(cluster)]));
    for (const list of names.values()) index.add(list);
    parsed.set(c.layer.digest, { names });
  };
  const parse = async (d: Descriptor, data: Buffer): Promise<void> => {
    const c = clear.get(d.digest);
    if (!c) return;
    if (pool) {
      reading.push(pool.read(c.layer, data).then((read) => record(c, read)));
      await pool.room();
      return;
    }
    let read: LayerRead;
    try {
      read = { docs: namesOfLayer(c.layer, data, limits) };
    } catch (error) {
      read = { error };
    }
    record(c, read);
  };
  return Object.assign(parse, {
    /** The names of every layer parsed so far, indexed as they came. */
    index,
    names(cluster: string, layer: Descriptor): ServedName[] | undefined {
      const p = parsed.get(layer.digest);
      if (p && 'error' in p) throw p.error;
      return p?.names.get(cluster);
    },
    /** settle waits for the layers handed to the worker. */
    async settle(): Promise<void> {
      pool?.flush();
      await Promise.all(reading);
    },
  });
}

// checkTable holds the signed volume table to the signed graph: it places every data blob exactly once and
// nothing else, and chunked blobs add up to their declared size.
function checkTable(table: VolumeTable, graph: Graph): void {
  const where = 'volume table';
  const data = [...graph.leaves.values()].filter((d) => !graph.metadata.has(d.digest));
  const placed = new Set<string>([...table.volumes.flatMap((p) => p.blobs), ...table.chunked.map((c) => c.digest), ...(table.held ?? [])]);
  for (const d of data) {
    if (!placed.has(d.digest)) throw tampered(`${where}: ${d.digest} (${d.mediaType}) is referenced by a signed manifest but placed in no part`, { digest: d.digest });
  }
  for (const digest of placed) {
    const d = graph.leaves.get(digest as Digest);
    if (!d || graph.metadata.has(d.digest)) throw tampered(`${where}: places ${digest}, which is not a data blob of the signed manifests`, { digest });
  }
  for (const c of table.chunked) {
    const d = graph.leaves.get(c.digest)!;
    if (d.size !== c.size) throw tampered(`${where}: chunked ${c.digest}: ${c.size} bytes, the signed manifests say ${d.size}`, { digest: c.digest, expected: d.size, found: c.size });
  }
}
