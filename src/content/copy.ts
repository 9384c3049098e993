// Copying content graphs between stores (after oras-go copy.go): children before parents, every byte
// verified by the destination's push, shared nodes copied once, bounded concurrency and depth.
import { Readable } from 'node:stream';
import { BaseError, ContentError, CopyError, isAbortError } from '../errors.js';
import type { Descriptor } from '../model/oci.js';
import { isGraphNode, successorsOf } from './graph.js';
import { pushTolerant } from './bytes.js';
import { Limiter } from './limiter.js';
import type { Fetcher, OpOptions, ReadOnlyStorage, ReadOnlyTarget, Storage, Target } from './storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll, verifyDocument } from './verify.js';

export interface CopyGraphOptions extends OpOptions {
  /** Concurrent blob copies. If <= 0 or unset, DEFAULT_COPY_CONCURRENCY is used. */
  concurrency?: number;
  /** Largest manifest/index read into memory. Default 4 MiB; larger ones fail with SIZE_EXCEEDS_LIMIT. */
  maxMetadataBytes?: number;
  /** Deepest chain of manifests/indexes followed. Default 16; deeper graphs fail with SIZE_EXCEEDS_LIMIT. */
  maxDepth?: number;
  /** Most nodes copied in one call. Default 1,000,000. */
  maxNodes?: number;
  /** Lists the children of a node. Default: the config, layers, manifests and subject it names. */
  findSuccessors?: (fetcher: Fetcher, node: Descriptor, content: Buffer) => Promise<Descriptor[]> | Descriptor[];
  /** The root's bytes when the caller already read them (a manifest or index): checked against the root, not fetched again. */
  rootContent?: Buffer;
  /** Called for a node the destination already holds (its subgraph is not walked). */
  onCopySkipped?: (node: Descriptor) => void | Promise<void>;
  /** Called after a node and everything under it were copied. */
  postCopy?: (node: Descriptor) => void | Promise<void>;
}

export const DEFAULT_COPY_CONCURRENCY = 3;
export const DEFAULT_MAX_GRAPH_DEPTH = 16;
export const DEFAULT_MAX_GRAPH_NODES = 1_000_000;

function wrap(op: string, origin: 'source' | 'destination', node: Descriptor, err: unknown): unknown {
  if (err instanceof CopyError || isAbortError(err)) return err;
  const message = err instanceof BaseError ? err.message : `${node.digest}: ${node.mediaType}: ${op} failed: ${(err as Error)?.message ?? String(err)}`;
  return new CopyError(op, origin, message, { cause: err, details: { digest: node.digest, mediaType: node.mediaType } });
}

/**
 * copyGraph copies the graph rooted at `root` from `src` to `dst`. Children are pushed before their
 * parents, so a manifest visible in `dst` always has its content there too. Nodes `dst` already holds
 * are skipped with their subgraph (content addressing: what is stored was verified when it was pushed).
 * Failures are CopyErrors that say whether the source or the destination failed, with the cause chained.
 */
export async function copyGraph(src: ReadOnlyStorage, dst: Storage, root: Descriptor, opts: CopyGraphOptions = {}): Promise<void> {
  const limit = opts.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_GRAPH_DEPTH;
  const maxNodes = opts.maxNodes ?? DEFAULT_MAX_GRAPH_NODES;
  const sem = new Limiter(opts.concurrency && opts.concurrency > 0 ? opts.concurrency : DEFAULT_COPY_CONCURRENCY);
  const started = new Map<string, Promise<void>>();
  const op: OpOptions = opts.signal ? { signal: opts.signal } : {};

  const visit = (node: Descriptor, depth: number): Promise<void> => {
    const known = started.get(node.digest);
    if (known) return known;
    if (started.size >= maxNodes) {
      return Promise.reject(new ContentError('SIZE_EXCEEDS_LIMIT', `${root.digest}: graph has more than ${maxNodes} nodes`, { details: { expected: `<= ${maxNodes}`, digest: root.digest } }));
    }
    const p = copyNode(node, depth);
    started.set(node.digest, p);
    return p;
  };

  const copyNode = async (node: Descriptor, depth: number): Promise<void> => {
    opts.signal?.throwIfAborted();
    let present: boolean;
    try {
      present = await dst.exists(node, op);
    } catch (err) {
      throw wrap('exists', 'destination', node, err);
    }
    if (present) {
      await opts.onCopySkipped?.(node);
      return;
    }
    if (isGraphNode(node)) {
      if (depth >= maxDepth) {
        throw new ContentError('SIZE_EXCEEDS_LIMIT', `${node.digest}: ${node.mediaType}: manifests nested deeper than ${maxDepth} levels`, {
          details: { digest: node.digest, expected: `<= ${maxDepth}`, found: depth + 1 },
        });
      }
      let content: Buffer;
      let children: Descriptor[];
      try {
        content = node.digest === root.digest && opts.rootContent ? verifyDocument(opts.rootContent, node, { limit }) : await sem.run(async () => readAll(await src.fetch(node, op), node, { limit }));
        children = opts.findSuccessors ? await opts.findSuccessors(src, node, content) : successorsOf(node, content);
      } catch (err) {
        throw wrap('fetch', 'source', node, err);
      }
      await Promise.all(children.map((c) => visit(c, depth + 1)));
      try {
        await pushTolerant(dst, node, Readable.from([content]), op);
      } catch (err) {
        throw wrap('push', 'destination', node, err);
      }
    } else {
      await sem.run(async () => {
        let stream: Readable;
        try {
          stream = await src.fetch(node, op);
        } catch (err) {
          throw wrap('fetch', 'source', node, err);
        }
        // A read failure surfaces through the destination's pipeline; attribute it to the source.
        let sourceFailed: unknown;
        stream.once('error', (e) => {
          sourceFailed = e;
        });
        try {
          await pushTolerant(dst, node, stream, op);
        } catch (err) {
          throw sourceFailed && (err === sourceFailed || !(err instanceof BaseError)) ? wrap('fetch', 'source', node, sourceFailed) : wrap('push', 'destination', node, err);
        }
      });
    }
    await opts.postCopy?.(node);
  };

  // Start every branch before awaiting so a failure in one does not leave others unobserved.
  const all = visit(root, 0);
  try {
    await all;
  } finally {
    await Promise.allSettled(started.values());
  }
}

export interface CopyOptions extends CopyGraphOptions {}

/** copy resolves `srcRef` in `src`, copies its graph to `dst` and tags it `dstRef` (default `srcRef`). */
export async function copy(src: ReadOnlyTarget, srcRef: string, dst: Target, dstRef = srcRef, opts: CopyOptions = {}): Promise<Descriptor> {
  let root: Descriptor;
  try {
    root = await src.resolve(srcRef, opts);
  } catch (err) {
    throw new CopyError('resolve', 'source', err instanceof BaseError ? err.message : `${srcRef}: cannot resolve`, { cause: err });
  }
  await copyGraph(src, dst, root, opts);
  try {
    await dst.tag(root, dstRef, opts);
  } catch (err) {
    throw wrap('tag', 'destination', root, err);
  }
  return root;
}
