// Bundle verification (DESIGN.md §4). Pure with respect to the network: nothing here can reach it.
// Order: signature referrer -> DSSE signature -> subjects vs index.json -> expiry/sequence policy -> every blob.
import type { KeyObject } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { copyGraph } from '../content/copy.js';
import { digestHex } from '../content/digest.js';
import { indexFromJSON, manifestFromJSON } from '../content/descriptor.js';
import type { ReadOnlyStorage, Storage } from '../content/storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll, verifier } from '../content/verify.js';
import { BaseError, ContentError, CopyError, VerificationError } from '../errors.js';
import {
  ANNOTATION_CLUSTER,
  ARTIFACT_TYPE_BUNDLE,
  ARTIFACT_TYPE_CLUSTER,
  MEDIA_TYPE_SIGSTORE_BUNDLE,
  type BundlePredicate,
  type Statement,
} from '../model/bundle.js';
import { isManifestMediaType, type Descriptor, type Index } from '../model/oci.js';
import { subjectName } from './manifest.js';
import { parseStatement, verifySignedStatement } from './signature.js';

/** LayoutSource is a read-only OCI layout whose index.json is already parsed (a bundle tar, a layout dir). */
export interface LayoutSource extends ReadOnlyStorage {
  index(): Index;
}

export interface VerifyOptions {
  /** Trusted public keys. */
  trusted: KeyObject[];
  /** The clock, passed in. */
  now: Date;
  /** Tolerated clock skew for `createdAt` in the future. Default 300 s. */
  clockSkewSeconds?: number;
  /** Largest JSON document read into memory. Default 4 MiB. */
  maxMetadataBytes?: number;
  /** Concurrent blob verifications. Default 3. */
  concurrency?: number;
  /** When given, verified blobs are pushed here (import) instead of being drained (verify). */
  sink?: Storage;
  /** Checked after the signature and before any blob is read (anti-rollback, site policy). */
  policy?: (predicate: BundlePredicate) => void | Promise<void>;
  /** Fail on soft problems instead of warning. Default false. */
  strict?: boolean;
  /** Soft problems (unreferenced blobs). */
  warn?: (code: string, message: string) => void;
  onProgress?: (event: { bytes: number; totalBytes: number; blobs: number; totalBlobs: number }) => void;
  signal?: AbortSignal;
}

export interface VerifiedBundle {
  statement: Statement;
  predicate: BundlePredicate;
  keyHint: string;
  root: Descriptor;
  signature: Descriptor;
  /** Signed index.json entries except the root: cluster artifacts, charts, images. */
  manifests: Descriptor[];
  clusters: { cluster: string; manifest: Descriptor }[];
  /** Every descriptor reachable from the signed root and the signature referrer. */
  blobs: Descriptor[];
  totalBytes: number;
}

// asMissing reports the typed cause of a copy failure (it names the digest): "not found in the bundle"
// becomes the trust failure it is, a signed manifest naming a blob the bundle lacks.
function asMissing(err: unknown): unknown {
  if (!(err instanceof CopyError) || !(err.cause instanceof BaseError)) return err;
  if (err.origin === 'source' && err.cause instanceof ContentError && err.cause.code === 'NOT_FOUND') {
    return new VerificationError('BLOB_MISSING', `${err.cause.message}: the bundle lacks a blob its signed manifests reference (incomplete or altered bundle)`, { cause: err, details: err.cause.details });
  }
  return err.cause;
}

const hasBlobList = (s: object): s is { blobs(): { digest: string; size: number }[] } => typeof (s as { blobs?: unknown }).blobs === 'function';

function tampered(message: string, details?: Record<string, unknown>): VerificationError {
  return new VerificationError('TAMPERED', message, details ? { details } : undefined);
}

async function readDoc(src: ReadOnlyStorage, desc: Descriptor, limit: number): Promise<Buffer> {
  return readAll(await src.fetch(desc), desc, { limit });
}

// findSignature locates the single signature referrer listed in index.json.
function findSignature(index: Index): Descriptor {
  const sigs = index.manifests.filter((d) => d.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE);
  if (sigs.length === 0) {
    throw new VerificationError('SIGNATURE_INVALID', `index.json: no signature: expected one manifest with artifactType ${MEDIA_TYPE_SIGSTORE_BUNDLE}, found none (was the bundle exported by sveltos-airgap export?)`);
  }
  if (sigs.length > 1) {
    throw new VerificationError('SIGNATURE_INVALID', `index.json: expected exactly one signature manifest, found ${sigs.length}: ${sigs.map((s) => s.digest).join(', ')}`);
  }
  return sigs[0]!;
}

// verifySignature reads the referrer and its Sigstore bundle (size-bounded, digest-verified) and checks the DSSE signature.
async function verifySignature(src: ReadOnlyStorage, sigDesc: Descriptor, opts: VerifyOptions, limit: number) {
  if (!isManifestMediaType(sigDesc.mediaType)) throw tampered(`index.json: signature ${sigDesc.digest}: expected an image manifest, found media type ${sigDesc.mediaType}`);
  const manifest = manifestFromJSON(await readDoc(src, sigDesc, limit), `signature manifest ${sigDesc.digest}`);
  const layer = manifest.layers[0];
  if (manifest.layers.length !== 1 || !layer || layer.mediaType !== MEDIA_TYPE_SIGSTORE_BUNDLE) {
    throw tampered(`signature manifest ${sigDesc.digest}: layers: expected one layer of ${MEDIA_TYPE_SIGSTORE_BUNDLE}, found ${manifest.layers.map((l) => l.mediaType).join(', ') || 'none'}`);
  }
  if (!manifest.subject) throw tampered(`signature manifest ${sigDesc.digest}: subject: expected the bundle root, found none`);
  const bundleJSON = await readDoc(src, layer, limit);
  const { payload, keyHint } = await verifySignedStatement(bundleJSON, opts.trusted, { source: `signature ${layer.digest}` });
  return { statement: parseStatement(payload), keyHint, subject: manifest.subject, sigManifest: manifest };
}

// verifySubjects checks index.json against the signed statement, both ways, by name and digest.
function verifySubjects(index: Index, sigDesc: Descriptor, statement: Statement): Descriptor[] {
  const signedEntries = index.manifests.filter((d) => d !== sigDesc);
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

// drain is the sink used by `verify`: it reads every blob through a verifier and keeps nothing.
function drain(onBytes: (n: number) => void): Storage {
  return {
    exists: async () => false,
    fetch: async (d) => {
      throw new ContentError('NOT_FOUND', `${d.digest}: ${d.mediaType}: not found`);
    },
    push: async (d, content: Readable) => {
      await pipeline(
        content,
        verifier(d),
        new Writable({
          highWaterMark: 1 << 20,
          write(chunk: Buffer, _e, done) {
            onBytes(chunk.length);
            done();
          },
        }),
      );
    },
  };
}

/** verifyBundle performs the full offline verification of DESIGN.md §4 and returns what was verified. */
export async function verifyBundle(src: LayoutSource, opts: VerifyOptions): Promise<VerifiedBundle> {
  const limit = opts.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES;
  const index = src.index();
  const sigDesc = findSignature(index);
  const { statement, keyHint, subject } = await verifySignature(src, sigDesc, opts, limit);
  const signedEntries = verifySubjects(index, sigDesc, statement);
  await verifyPolicy(statement.predicate, opts);

  const root = signedEntries.find((d) => d.artifactType === ARTIFACT_TYPE_BUNDLE);
  if (!root) throw tampered(`index.json: no bundle root (artifactType ${ARTIFACT_TYPE_BUNDLE})`);
  if (subject.digest !== root.digest) {
    throw tampered(`signature manifest ${sigDesc.digest}: subject: expected the bundle root ${root.digest}, found ${subject.digest}`);
  }
  const manifests = signedEntries.filter((d) => d !== root);
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

  // Walk and verify every reachable blob: copyGraph verifies each push against its descriptor.
  const reachable = new Map<string, Descriptor>();
  let bytes = 0;
  const inner = opts.sink ?? drain((n) => {
    bytes += n;
  });
  // The signature referrer's subject is the root: nodes already verified are not read twice.
  const sink: Storage = {
    exists: async (d) => reachable.has(d.digest) || (await inner.exists(d)),
    fetch: (d) => inner.fetch(d),
    push: (d, content) => inner.push(d, content),
  };
  const record = (d: Descriptor) => {
    reachable.set(d.digest, d);
  };
  const graphOpts = {
    concurrency: opts.concurrency ?? 3,
    maxMetadataBytes: limit,
    onCopySkipped: record,
    postCopy: (d: Descriptor) => {
      record(d);
      if (opts.sink) bytes += d.size;
      opts.onProgress?.({ bytes, totalBytes: 0, blobs: reachable.size, totalBlobs: 0 });
    },
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  try {
    await copyGraph(src, sink, root, graphOpts);
    await copyGraph(src, sink, sigDesc, graphOpts);
  } catch (err) {
    throw asMissing(err);
  }

  const blobs = [...reachable.values()];
  if (hasBlobList(src)) {
    for (const b of src.blobs()) {
      if (reachable.has(b.digest)) continue;
      const message = `${b.digest}: ${b.size} bytes in the bundle are not referenced by any signed manifest; they are ignored`;
      if (opts.strict) throw tampered(message, { digest: b.digest });
      opts.warn?.('UNREFERENCED_BLOB', message);
    }
  }
  return {
    statement,
    predicate: statement.predicate,
    keyHint,
    root,
    signature: sigDesc,
    manifests,
    clusters,
    blobs,
    totalBytes: blobs.reduce((n, d) => n + d.size, 0),
  };
}
