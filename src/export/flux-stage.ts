// The Flux-source stage of export and `resolve`: every source the plan's policyRefs name is fetched once
// (two at a time; cached by commit, or from the cache only when offline). A source that cannot be fetched
// is an input problem of the plan (with every other one), not a crash.
import { Limiter } from '../content/limiter.js';
import { formatBytes } from '../model/size.js';
import type { FluxFetched, FluxRequest } from '../resolve/flux.js';
import { displayURL } from '../resolve/remote-url.js';
import { fetchGitRepository, FluxSourceError } from '../source/git.js';
import type { ExportLog } from './log.js';
import type { RemoteFlags } from './remote-stage.js';

const CONCURRENCY = 2;

/** fetchFluxSources fetches each request, by its key. */
export async function fetchFluxSources(requests: Iterable<FluxRequest>, flags: RemoteFlags, log: ExportLog): Promise<Map<string, FluxFetched>> {
  const limiter = new Limiter(CONCURRENCY);
  const out = new Map<string, FluxFetched>();
  await Promise.all(
    [...requests].map((req) =>
      limiter.run(async () => {
        try {
          const { revision, tree } = await fetchGitRepository(req, { cacheDir: flags.cacheDir, ...(flags.offline ? { offline: true } : {}) });
          const bytes = [...tree.values()].reduce((n, b) => n + b.length, 0);
          log.info(`GitRepository ${req.namespace}/${req.name} (${displayURL(req.url)}): ${revision}, ${tree.size} file(s), ${formatBytes(bytes)}${flags.offline ? ', from cache' : ''}`);
          out.set(req.key, { ok: true, revision, tree });
        } catch (err) {
          if (!(err instanceof FluxSourceError)) throw err;
          out.set(req.key, { ok: false, message: err.message });
        }
      }),
    ),
  );
  return out;
}
