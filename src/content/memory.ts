// An in-memory Target: for tests, for staging small graphs, and as the reference implementation of the roles.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ContentError } from '../errors.js';
import type { Descriptor, Digest } from '../model/oci.js';
import { parseDigest } from './digest.js';
import { isGraphNode, successorsOf } from './graph.js';
import type { OpOptions, PredecessorFinder, TagLister, Target } from './storage.js';
import { DEFAULT_MAX_METADATA_BYTES, verifier } from './verify.js';

/** MAX_REFERENCE_LENGTH bounds tag names (an image reference with registry, repository and tag fits easily). */
export const MAX_REFERENCE_LENGTH = 1024;

/** assertReference checks a tag name: non-empty, bounded, printable, and not shaped like a digest. */
export function assertReference(reference: unknown, where = 'reference'): asserts reference is string {
  if (typeof reference !== 'string' || reference.length === 0 || reference.length > MAX_REFERENCE_LENGTH) {
    throw new ContentError('INVALID_LAYOUT', `${where}: expected a non-empty string of at most ${MAX_REFERENCE_LENGTH} characters, got ${describe(reference)}`, {
      details: { field: where, found: reference },
    });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(reference)) {
    throw new ContentError('INVALID_LAYOUT', `${where}: ${JSON.stringify(reference)}: control characters are not allowed in a reference`, {
      details: { field: where, found: reference },
    });
  }
  if (isDigestReference(reference)) {
    throw new ContentError('INVALID_LAYOUT', `${where}: ${reference}: a digest cannot be used as a tag`, { details: { field: where, found: reference } });
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return v.length > 64 ? `a string of ${v.length} characters` : JSON.stringify(v);
  return v === undefined ? 'undefined' : JSON.stringify(v) ?? typeof v;
}

/** notFound builds the NOT_FOUND error of a descriptor, worded as `${digest}: ${mediaType}: not found`. */
export function notFound(desc: Descriptor, where?: string): ContentError {
  return new ContentError('NOT_FOUND', `${desc.digest}: ${desc.mediaType}: not found${where ? ` in ${where}` : ''}`, {
    details: { digest: desc.digest, mediaType: desc.mediaType },
  });
}

/** alreadyExists builds the ALREADY_EXISTS error returned when pushing content that is present. */
export function alreadyExists(desc: Descriptor, where?: string): ContentError {
  return new ContentError('ALREADY_EXISTS', `${desc.digest}: ${desc.mediaType}: already exists${where ? ` in ${where}` : ''}`, {
    details: { digest: desc.digest, mediaType: desc.mediaType },
  });
}

/** referenceNotFound builds the NOT_FOUND error of an unknown tag or digest. */
export function referenceNotFound(reference: string, where?: string): ContentError {
  return new ContentError('NOT_FOUND', `${reference}: not found${where ? ` in ${where}` : ''}`, { details: { reference } });
}

/** isDigestReference tells whether a reference is meant as a digest (`<algorithm>:<hex>`), not a tag. */
export function isDigestReference(reference: string): boolean {
  return reference.startsWith('sha256:') || /^sha[0-9]+:/.test(reference);
}

function identity(desc: Descriptor): Descriptor {
  const d: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (desc.artifactType !== undefined) d.artifactType = desc.artifactType;
  if (desc.annotations !== undefined) d.annotations = { ...desc.annotations };
  if (desc.platform !== undefined) d.platform = desc.platform;
  return d;
}

/**
 * MemoryTarget keeps blobs, descriptors and tags in memory.
 * Pushing content that is already present fails with ALREADY_EXISTS (callers such as copyGraph treat that as done);
 * a push racing another push of the same digest succeeds once either has verified its bytes.
 */
export class MemoryTarget implements Target, TagLister, PredecessorFinder {
  readonly #blobs = new Map<Digest, Buffer>();
  readonly #descriptors = new Map<Digest, Descriptor>();
  readonly #tags = new Map<string, Descriptor>();
  readonly #predecessors = new Map<Digest, Map<Digest, Descriptor>>();

  /** fetch streams a stored blob; unknown content fails with NOT_FOUND. */
  async fetch(target: Descriptor, opts?: OpOptions): Promise<Readable> {
    opts?.signal?.throwIfAborted();
    const data = this.#blobs.get(parseDigest(target.digest, 'descriptor.digest'));
    if (!data) throw notFound(target, 'memory store');
    return Readable.from([data], { objectMode: false });
  }

  /** exists tells whether a blob with the descriptor's digest is stored. */
  async exists(target: Descriptor, opts?: OpOptions): Promise<boolean> {
    opts?.signal?.throwIfAborted();
    return this.#blobs.has(parseDigest(target.digest, 'descriptor.digest'));
  }

  /** push verifies `content` against `expected` and stores it; present content fails with ALREADY_EXISTS. */
  async push(expected: Descriptor, content: Readable, opts?: OpOptions): Promise<void> {
    let digest: Digest;
    try {
      digest = parseDigest(expected.digest, 'descriptor.digest');
      checkSize(expected);
      if (this.#blobs.has(digest)) throw alreadyExists(expected, 'memory store');
    } catch (err) {
      content.destroy();
      throw err;
    }
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    await pipeline(content, verifier(expected), sink, opts?.signal ? { signal: opts.signal } : {});
    if (this.#blobs.has(digest)) return; // a concurrent push of the same bytes won the race
    const data = Buffer.concat(chunks);
    this.#blobs.set(digest, data);
    this.#descriptors.set(digest, identity(expected));
    this.#index(expected, data);
  }

  /** resolve returns the descriptor tagged `reference`, or the stored descriptor of a `sha256:` digest. */
  async resolve(reference: string, opts?: OpOptions): Promise<Descriptor> {
    opts?.signal?.throwIfAborted();
    if (isDigestReference(reference)) {
      const desc = this.#descriptors.get(parseDigest(reference, 'reference'));
      if (!desc) throw referenceNotFound(reference, 'memory store');
      return identity(desc);
    }
    const desc = this.#tags.get(reference);
    if (!desc) throw referenceNotFound(reference, 'memory store');
    return identity(desc);
  }

  /** tag points `reference` at `desc`, which must be stored; a reference names one descriptor at a time. */
  async tag(desc: Descriptor, reference: string, opts?: OpOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    assertReference(reference);
    const digest = parseDigest(desc.digest, 'descriptor.digest');
    if (!this.#blobs.has(digest)) throw notFound(desc, 'memory store');
    this.#tags.set(reference, identity(desc));
  }

  /** tags lists the references, sorted. */
  async tags(opts?: OpOptions): Promise<string[]> {
    opts?.signal?.throwIfAborted();
    return [...this.#tags.keys()].sort();
  }

  /** predecessors lists the stored manifests and indexes that point at `node` (including as `subject`). */
  async predecessors(node: Descriptor, opts?: OpOptions): Promise<Descriptor[]> {
    opts?.signal?.throwIfAborted();
    return [...(this.#predecessors.get(node.digest)?.values() ?? [])].map(identity);
  }

  // #index records the edges of a pushed manifest or index. Content that does not parse is stored
  // but has no edges: validating documents is the reader's job, and it is verified byte for byte.
  #index(desc: Descriptor, data: Buffer): void {
    if (!isGraphNode(desc) || data.length > DEFAULT_MAX_METADATA_BYTES) return;
    let children: Descriptor[];
    try {
      children = successorsOf(desc, data);
    } catch {
      return;
    }
    for (const child of children) {
      let preds = this.#predecessors.get(child.digest);
      if (!preds) this.#predecessors.set(child.digest, (preds = new Map()));
      preds.set(desc.digest, identity(desc));
    }
  }
}

/** checkSize rejects a descriptor whose size is not a non-negative safe integer. */
export function checkSize(desc: Descriptor): void {
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new ContentError('SIZE_EXCEEDS_LIMIT', `${desc.digest}: ${desc.mediaType}: size: expected a non-negative safe integer, got ${JSON.stringify(desc.size)}`, {
      details: { digest: desc.digest, expected: 'non-negative safe integer', found: desc.size },
    });
  }
}
