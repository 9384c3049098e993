// Digest-verifying streams. Every byte read from a bundle, a registry or the store passes through one.
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { ContentError } from '../errors.js';
import type { Descriptor } from '../model/oci.js';
import { canReadBlob, type Fetcher, type OpOptions } from './storage.js';

/**
 * BLOB_READ_CHUNK is the read size of blob streams from disk: small enough that a chunk is still in the
 * CPU cache when the verifier hashes it (1 MiB chunks hash about 20% slower), large enough to keep the
 * per-chunk stream overhead low.
 */
export const BLOB_READ_CHUNK = 256 * 1024;

/** DEFAULT_MAX_METADATA_BYTES bounds manifests, indexes and other JSON read into memory (DESIGN.md §4). */
export const DEFAULT_MAX_METADATA_BYTES = 4 * 1024 * 1024;

function mismatch(code: 'SIZE_MISMATCH' | 'DIGEST_MISMATCH', expected: Descriptor, seen: number, found?: string): ContentError {
  if (code === 'SIZE_MISMATCH') {
    return new ContentError(code, `${expected.digest}: ${expected.mediaType}: size mismatch: expected ${expected.size} bytes, got ${seen}${seen > expected.size ? ' or more' : ''}`, {
      details: { digest: expected.digest, expected: expected.size, found: seen },
    });
  }
  return new ContentError(code, `${expected.digest}: ${expected.mediaType}: digest mismatch: expected ${expected.digest}, got ${found}`, {
    details: { digest: expected.digest, expected: expected.digest, found },
  });
}

/** checkDigest fails like a verifier would for content of `size` bytes whose digest is `found`. */
export function checkDigest(expected: Descriptor, size: number, found: string): void {
  if (size !== expected.size) throw mismatch('SIZE_MISMATCH', expected, size);
  if (found !== expected.digest) throw mismatch('DIGEST_MISMATCH', expected, size, found);
}

// Streams that are verifiers, by the digest they check: a consumer handed one needs no second verifier.
const checking = new WeakMap<Readable, string>();

/** isVerifying tells whether `stream` is a verifier of `expected` (it fails instead of ending on a mismatch). */
export function isVerifying(stream: Readable, expected: Descriptor): boolean {
  return checking.get(stream) === `${expected.digest}/${expected.size}`;
}

/** verifier passes bytes through; it fails the pipeline on excess bytes or, at EOF, on size/digest mismatch. */
export function verifier(expected: Descriptor, opts: VerifierOptions = {}): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  let held: Buffer | undefined;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > expected.size) return done(mismatch('SIZE_MISMATCH', expected, seen));
      hash.update(chunk);
      if (!opts.holdLast) return done(null, chunk);
      const out = held;
      held = chunk;
      done(null, out);
    },
    flush(done) {
      if (seen !== expected.size) return done(mismatch('SIZE_MISMATCH', expected, seen));
      const found = `sha256:${hash.digest('hex')}`;
      if (found !== expected.digest) return done(mismatch('DIGEST_MISMATCH', expected, seen, found));
      done(null, held);
    },
  });
  checking.set(t, `${expected.digest}/${expected.size}`);
  return t;
}

export interface VerifierOptions {
  /**
   * Hold the last chunk back until the digest has been checked. Default false. Set it when the bytes go
   * to a consumer that cannot be told later (an HTTP response with a Content-Length): on a mismatch it
   * receives fewer bytes than announced, never the complete wrong content.
   */
  holdLast?: boolean;
}

/**
 * verifiedStream passes `content` through verifier(expected): a reader sees the bytes, and an error instead
 * of the end when they do not match (a damaged source fails an export instead of producing a bad bundle).
 */
export function verifiedStream(content: Readable, expected: Descriptor, opts: VerifierOptions = {}): Readable {
  const v = verifier(expected, opts);
  content.on('error', (err) => v.destroy(err));
  return content.pipe(v);
}

/** fetchVerified fetches `expected` from `source` through exactly one digest verifier. */
export async function fetchVerified(source: Fetcher, expected: Descriptor, opts?: OpOptions): Promise<Readable> {
  const stream = await source.fetch(expected, opts);
  return isVerifying(stream, expected) ? stream : verifiedStream(stream, expected);
}

export interface ReadAllOptions {
  /** Largest accepted size. Default DEFAULT_MAX_METADATA_BYTES. */
  limit?: number;
}

/**
 * readAll reads a small verified document (manifests, indexes, configs) into memory.
 * It refuses `desc.size > limit` before reading and never allocates from `desc.size`:
 * a hostile descriptor may claim any size.
 */
export async function readAll(stream: Readable, desc: Descriptor, opts: ReadAllOptions = {}): Promise<Buffer> {
  try {
    checkDocumentSize(desc, opts);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  const v = verifier(desc);
  const chunks: Buffer[] = [];
  const out = stream.pipe(v);
  stream.on('error', (e) => v.destroy(e));
  for await (const chunk of out) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// checkDocumentSize refuses a document whose descriptor claims more than the limit for documents held in memory.
function checkDocumentSize(desc: Descriptor, opts: ReadAllOptions): void {
  const limit = opts.limit ?? DEFAULT_MAX_METADATA_BYTES;
  if (!Number.isSafeInteger(desc.size) || desc.size < 0 || desc.size > limit) {
    throw new ContentError('SIZE_EXCEEDS_LIMIT', `${desc.digest}: ${desc.mediaType}: size ${desc.size} exceeds the limit of ${limit} bytes for documents read into memory`, {
      details: { digest: desc.digest, expected: `<= ${limit}`, found: desc.size },
    });
  }
}

/** verifyDocument checks a document already in memory as readAll checks one it reads: size limit, then size and digest. */
export function verifyDocument(data: Buffer, desc: Descriptor, opts: ReadAllOptions = {}): Buffer {
  checkDocumentSize(desc, opts);
  verifyBuffer(data, desc);
  return data;
}

/**
 * readDocument reads a blob into memory, verified and bounded as readAll does: at once where the store can hand
 * it over so (BlobReading), else as a stream.
 */
export async function readDocument(src: Fetcher, desc: Descriptor, opts: ReadAllOptions = {}): Promise<Buffer> {
  const held = canReadBlob(src) ? await src.readBlob(desc, opts.limit ?? DEFAULT_MAX_METADATA_BYTES) : undefined;
  return held ? verifyDocument(held, desc, opts) : readAll(await src.fetch(desc), desc, opts);
}

/** verifyBuffer checks an in-memory buffer against a descriptor. */
export function verifyBuffer(data: Buffer, expected: Descriptor): void {
  if (data.length !== expected.size) throw mismatch('SIZE_MISMATCH', expected, data.length);
  const found = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  if (found !== expected.digest) throw mismatch('DIGEST_MISMATCH', expected, data.length, found);
}
