// Request handlers as plain functions: a handler turns a request into a Reply value, and one adapter
// (http.ts) writes replies to sockets. Errors are values too; the only catch-all lives in composeHandlers.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { BaseError } from '../../errors.js';
import type { PredecessorFinder, ReadOnlyTarget, TagLister } from '../../content/storage.js';
import { err } from './errors.js';
import type { DirectBody } from './file-body.js';
import type { HotBlobs } from './hot-blobs.js';
import { createOciRoutes } from './oci-routes.js';

/**
 * Reply is a complete HTTP response: status, headers and an optional body (a stream is written with
 * `pipeline`, a FileBody straight from its file, a MemoryBody from memory).
 */
export type Reply = { status: number; headers: Record<string, string>; body?: Readable | Buffer | DirectBody };

/** Handler answers every request. */
export type Handler = (req: IncomingMessage) => Promise<Reply>;

/** PartialHandler answers the requests it owns and returns undefined for the others. */
export type PartialHandler = (req: IncomingMessage) => Promise<Reply | undefined>;

/**
 * RegistryStore is what the registry serves: references are full `<repository>:<tag>` strings.
 * Without `tags` only `/v2/` and manifests by tag are served (reachability cannot be computed);
 * with `predecessors`, referrers of served manifests are served too.
 */
export type RegistryStore = ReadOnlyTarget & Partial<TagLister> & Partial<PredecessorFinder>;

export interface RegistryHandlerOptions {
  /** Largest manifest or index read into memory. Default 4 MiB (DEFAULT_MAX_METADATA_BYTES). */
  maxMetadataBytes?: number;
  /** Memory for blobs that several clients download at once (hot-blobs.ts). Default 128 MiB; 0 holds none. */
  hotBlobBytes?: number;
  /** The hot blobs to use (one shared by several handlers, or watched); wins over `hotBlobBytes`. */
  hotBlobs?: HotBlobs;
  /** Called with every unexpected error turned into a 500 reply (for logging). Unset: errors are only replied. */
  onInternalError?: (error: unknown, req: IncomingMessage) => void;
}

/** ComposeOptions configures composeHandlers. */
export interface ComposeOptions {
  /** Called with every error a handler threw (the reply is a 500 UNKNOWN). */
  onInternalError?: (error: unknown, req: IncomingMessage) => void;
}

/** notFound is the reply for a path no handler owns. */
export function notFound(req: IncomingMessage): Reply {
  return err(404, 'UNSUPPORTED', `${req.method ?? '?'} ${pathOf(req)}: no such route`);
}

/** internalError is the reply for an unexpected failure; the message names the request, not internals. */
export function internalError(req: IncomingMessage, error: unknown): Reply {
  // Typed errors name digests and fields; other errors (fs, sockets) may name host paths, so only their code is shown.
  const message =
    error instanceof BaseError ? error.message : `${(error as { code?: unknown } | null)?.code ?? 'unexpected failure'}`;
  return err(500, 'UNKNOWN', `${req.method ?? '?'} ${pathOf(req)}: internal error: ${message}`);
}

/**
 * composeHandlers tries each handler in order and answers with the first reply; 404 when none owns
 * the request, 500 UNKNOWN when one throws. HEAD replies never carry a body.
 */
export function composeHandlers(handlers: PartialHandler[], opts: ComposeOptions = {}): Handler {
  return async (req) => {
    let reply: Reply | undefined;
    try {
      for (const h of handlers) {
        reply = await h(req);
        if (reply) break;
      }
      reply ??= notFound(req);
    } catch (e) {
      opts.onInternalError?.(e, req);
      reply = internalError(req, e);
    }
    if (req.method === 'HEAD' && reply.body !== undefined) {
      if (!Buffer.isBuffer(reply.body)) reply.body.destroy();
      const { body: _ignored, ...rest } = reply;
      reply = rest;
    }
    return reply;
  };
}

/** createRegistryHandler serves the read-only OCI distribution API (GET/HEAD under /v2/) from `store`. */
export function createRegistryHandler(store: RegistryStore, opts: RegistryHandlerOptions = {}): Handler {
  return composeHandlers([createOciRoutes(store, opts)], opts);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  // Bounded so a hostile URL cannot blow up error bodies.
  return JSON.stringify((q >= 0 ? url.slice(0, q) : url).slice(0, 512));
}
