// The remoteURL stage of export and `resolve`: every URL the plan's policyRefs and kustomizationRefs name is
// fetched once (a few at a time; cached, or from the cache only when offline). A policyRef deploys its text,
// a kustomizationRef extracts its parts.
// A URL that cannot be fetched is an input problem of the plan (with every other one), not a crash.
import { Limiter } from '../content/limiter.js';
import { formatBytes } from '../model/size.js';
import { displayURL, type RemoteFetched, type RemoteRequest } from '../resolve/remote-url.js';
import { fetchRemote, policyContent, RemoteURLError } from '../source/remote-url.js';
import type { ArtifactProxy } from '../source/flux-artifact.js';
import type { ExportLog } from './log.js';

/** RemoteFlags say where fetched URLs and sources are cached, whether the network may be used, and from where. */
export interface RemoteFlags {
  cacheDir: string;
  offline?: boolean;
  signal?: AbortSignal;
  /** `--flux-artifact-host HOST:PORT`: Flux sources carrying status.artifact are read from there. */
  fluxArtifactHost?: string;
  /** With `--from-cluster`: Flux sources carrying status.artifact are read through the API server's service proxy. */
  fluxArtifactProxy?: ArtifactProxy;
}

const CONCURRENCY = 4;

/** fetchRemoteURLs fetches each request, by its key; a fetch that fails for the input's sake is an answer, not a throw. */
export async function fetchRemoteURLs(requests: Iterable<RemoteRequest>, flags: RemoteFlags, log: ExportLog): Promise<Map<string, RemoteFetched>> {
  const limiter = new Limiter(CONCURRENCY);
  const out = new Map<string, RemoteFetched>();
  const ac = new AbortController();
  const signal = flags.signal ? AbortSignal.any([flags.signal, ac.signal]) : ac.signal;
  await Promise.all(
    [...requests].map((req) =>
      limiter
        .run(async () => {
          const shown = displayURL(req.url);
          try {
            const body = await fetchRemote(req.url, req.access, { cacheDir: flags.cacheDir, ...(flags.offline ? { offline: true } : {}), signal });
            let text: string | undefined;
            log.info(`remoteURL ${shown}: ${body.digest} (${formatBytes(body.parts.reduce((n, p) => n + p.length, 0))}${flags.offline ? ', from cache' : ''})`);
            // The text a policyRef deploys is made once, when a policyRef asks (a kustomizationRef reads the parts).
            out.set(req.key, { ok: true, digest: body.digest, parts: body.parts, text: () => (text ??= policyContent(body.parts, shown)) });
          } catch (err) {
            if (!(err instanceof RemoteURLError)) throw err;
            out.set(req.key, { ok: false, message: err.message });
          }
        })
        .catch((err: unknown) => {
          // Anything but an input error (an abort, a bug) stops the others.
          ac.abort(err);
          throw err;
        }),
    ),
  );
  return out;
}
