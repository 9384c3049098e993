// The Flux-source stage of export and `resolve`: every source the plan's refs name is fetched once (two at
// a time; cached by revision, or from the cache only when offline). A source that cannot be fetched is an
// input problem of the plan (with every other one), not a crash; a published artifact whose digest does not
// match is a trust failure and stops the run.
import { formatBytes } from '../model/size.js';
import type { FluxFetched, FluxRequest } from '../resolve/flux.js';
import { displayURL } from '../resolve/remote-url.js';
import { fetchFluxSource, FluxSourceError, FluxUnsupportedError } from '../source/flux.js';
import type { ExportLog } from './log.js';
import type { RemoteFlags } from './remote-stage.js';
import { FailFast, limiter } from './stage.js';

const CONCURRENCY = 2;

/** fetchFluxSources fetches each request, by its key. */
export async function fetchFluxSources(requests: Iterable<FluxRequest>, flags: RemoteFlags, log: ExportLog): Promise<Map<string, FluxFetched>> {
  const limit = limiter(CONCURRENCY);
  const out = new Map<string, FluxFetched>();
  // Anything but an input problem (a digest mismatch, an abort, a bug) stops the other fetches.
  const stage = new FailFast(flags.signal);
  const opts = {
    cacheDir: flags.cacheDir,
    ...(flags.offline ? { offline: true } : {}),
    signal: stage.signal,
    ...(flags.fluxArtifactHost ? { artifactHost: flags.fluxArtifactHost } : {}),
    ...(flags.fluxArtifactProxy ? { artifactProxy: flags.fluxArtifactProxy } : {}),
    onEvent: (m: string) => log.info(m),
  };
  await stage.all([...requests], (req) =>
    limit(async () => {
      stage.signal.throwIfAborted();
      try {
        const { revision, tree, included, via } = await fetchFluxSource(req, opts);
        const bytes = [...tree.values()].reduce((n, b) => n + b.length, 0);
        const from = via ?? displayURL(req.url);
        log.info(`${req.kind} ${req.namespace}/${req.name} (${from}): ${revision}, ${tree.size} file(s), ${formatBytes(bytes)}${flags.offline ? ', from cache' : ''}`);
        out.set(req.key, { ok: true, revision, tree, ...(included?.length ? { included } : {}) });
      } catch (err) {
        if (!(err instanceof FluxSourceError)) throw err;
        out.set(req.key, { ok: false, message: err.message, ...(err instanceof FluxUnsupportedError ? { unsupported: true } : {}) });
      }
    }),
  );
  return out;
}
