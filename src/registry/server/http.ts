// The one adapter between Handler values and node:http (or https) sockets.
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { FileBody, MemoryBody, type DirectBody } from './file-body.js';
import type { Handler, Reply } from './handler.js';

/** writeReply writes a Reply; a stream body that fails midway cuts the connection (the client sees a short read). */
export async function writeReply(res: ServerResponse, reply: Reply): Promise<void> {
  res.writeHead(reply.status, reply.headers);
  if (reply.body === undefined) {
    res.end();
  } else if (Buffer.isBuffer(reply.body)) {
    res.end(reply.body);
  } else if (reply.body instanceof FileBody || reply.body instanceof MemoryBody) {
    await writeDirectBody(res, reply.body);
  } else {
    // Send the headers now: a watch may stay silent for a long time, and clients wait for the status line.
    res.flushHeaders();
    try {
      await pipeline(reply.body, res);
    } catch {
      res.destroy();
    }
  }
}

// writeDirectBody writes the body to the connection's socket once the headers are out; while the response
// waits behind a pipelined one (no socket yet), through the response itself.
async function writeDirectBody(res: ServerResponse, body: DirectBody): Promise<void> {
  res.flushHeaders();
  try {
    await body.writeTo(res.socket ?? res);
    res.end();
  } catch {
    res.destroy();
  } finally {
    await body.close();
  }
}

export interface ListenerOptions {
  /** Called once per answered request (access log). */
  onRequest?: (req: IncomingMessage, reply: Reply, ms: number) => void;
}

/** toRequestListener mounts a Handler on node:http. */
export function toRequestListener(handler: Handler, opts: ListenerOptions = {}): RequestListener {
  return (req, res) => {
    const started = Date.now();
    // Request bodies are never read by read-only routes; drain them so the socket can be reused.
    if (req.method === 'GET' || req.method === 'HEAD') req.resume();
    void handler(req).then(async (reply) => {
      opts.onRequest?.(req, reply, Date.now() - started);
      await writeReply(res, reply);
    });
  };
}

export interface ServeOptions extends ListenerOptions {
  host: string;
  port: number;
  /** PEM certificate chain and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface RunningServer {
  server: Server;
  /** Base URL, e.g. `http://127.0.0.1:5000`. */
  url: string;
  close(): Promise<void>;
}

/** startServer listens with `handler` and resolves once the port is bound. */
export function startServer(handler: Handler, opts: ServeOptions): Promise<RunningServer> {
  return listen(toRequestListener(handler, opts), opts);
}

/** listen serves a plain Node request listener (HTTPS with `tls`) and resolves once the port is bound. */
export async function listen(listener: RequestListener, opts: Pick<ServeOptions, 'host' | 'port' | 'tls'>): Promise<RunningServer> {
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : createHttpServer(listener);
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // long blob downloads and watches must not be cut
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
