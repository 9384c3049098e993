// Content store roles: small verbs composed into bigger roles (after oras-go content/storage.go).
import type { Readable } from 'node:stream';
import type { Descriptor } from '../model/oci.js';

export type { Descriptor };

/** OpOptions carries cancellation and, for stores that read from disk, a read size hint for the stream. */
export type OpOptions = { signal?: AbortSignal; readSize?: number };

/**
 * BlobReading is a store that can hand over a small blob's stored bytes at once (unverified), or undefined: stream
 * it. Thousands of small blobs read one stream each cost far more than the reads.
 */
export interface BlobReading {
  readBlob(target: Descriptor, limit: number): Promise<Buffer | undefined>;
}

export const canReadBlob = (s: object): s is BlobReading => typeof (s as Partial<BlobReading>).readBlob === 'function';

/** Fetcher fetches content. The stream is unverified; pipe it through verifier(target). */
export interface Fetcher {
  fetch(target: Descriptor, opts?: OpOptions): Promise<Readable>;
}

/** Pusher stores content; it becomes visible only after size and digest match `expected`. */
export interface Pusher {
  push(expected: Descriptor, content: Readable, opts?: OpOptions): Promise<void>;
}

export interface ReadOnlyStorage extends Fetcher {
  exists(target: Descriptor, opts?: OpOptions): Promise<boolean>;
}

export interface Storage extends ReadOnlyStorage, Pusher {}

/** Resolver resolves a reference (tag or digest) to a descriptor. */
export interface Resolver {
  resolve(reference: string, opts?: OpOptions): Promise<Descriptor>;
}

/** ResolvedContent is a resolved manifest or index with its bytes (checked against the descriptor). */
export interface ResolvedContent {
  descriptor: Descriptor;
  content: Buffer;
}

/** ContentResolver resolves a reference and reads the document in one step (one request to a registry instead of two). */
export interface ContentResolver {
  resolveContent(reference: string, opts?: OpOptions): Promise<ResolvedContent>;
}

/** Tagger attaches a reference to a descriptor. */
export interface Tagger {
  tag(desc: Descriptor, reference: string, opts?: OpOptions): Promise<void>;
}

/** TagLister lists the references known to a target. */
export interface TagLister {
  tags(opts?: OpOptions): Promise<string[]>;
}

/** PredecessorFinder finds nodes pointing at `node` (manifests whose subject is `node`, indexes listing it). */
export interface PredecessorFinder {
  predecessors(node: Descriptor, opts?: OpOptions): Promise<Descriptor[]>;
}

/** ReadOnlyTarget can be read and resolved. */
export interface ReadOnlyTarget extends ReadOnlyStorage, Resolver {}

/** Target is a full read/write store with references. */
export interface Target extends Storage, Resolver, Tagger {}

/** RangeFetcher reads part of a blob: bytes `start` to `end` inclusive. The stream is unverified. */
export interface RangeFetcher {
  fetchRange(target: Descriptor, start: number, end: number, opts?: OpOptions): Promise<Readable>;
}

/**
 * VerifiedBlobFiles is a source that keeps blobs in files of their own and can vouch for some of them: it
 * verified their content in this process. A writer may copy such a file as is (no stream, no second digest);
 * for any other blob `verifiedBlobFile` returns undefined and the blob is fetched and verified as usual.
 */
export interface VerifiedBlobFiles {
  verifiedBlobFile(target: Descriptor): string | undefined;
}

/**
 * VerifiedBlobReads is a source that can read some whole blobs straight into a buffer the caller owns,
 * checked against their digest: `verifiedReader` gives the reader for such a blob, undefined for any other.
 */
export interface VerifiedBlobReads {
  verifiedReader(target: Descriptor): ((into: Buffer) => Promise<void>) | undefined;
}

/**
 * BlobFiles is a source that keeps each blob in a file of its own: `blobFile` names it (the blob may be
 * missing or damaged; whoever reads the file checks it), so its digest can be taken off the main thread.
 */
export interface BlobFiles {
  blobFile(target: Descriptor): string;
}

export const hasBlobFiles = (s: object): s is BlobFiles => typeof (s as Partial<BlobFiles>).blobFile === 'function';
export const hasVerifiedBlobFiles = (s: object): s is VerifiedBlobFiles => typeof (s as Partial<VerifiedBlobFiles>).verifiedBlobFile === 'function';
export const hasVerifiedBlobReads = (s: object): s is VerifiedBlobReads => typeof (s as Partial<VerifiedBlobReads>).verifiedReader === 'function';
export const canFetchRange = (s: object): s is RangeFetcher => typeof (s as Partial<RangeFetcher>).fetchRange === 'function';
export const canResolveContent = (s: object): s is ContentResolver => typeof (s as Partial<ContentResolver>).resolveContent === 'function';
export const canListTags = (s: object): s is TagLister => typeof (s as Partial<TagLister>).tags === 'function';
export const canFindPredecessors = (s: object): s is PredecessorFinder =>
  typeof (s as Partial<PredecessorFinder>).predecessors === 'function';
