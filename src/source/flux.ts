// One interface for every Flux source kind: a source object's request in, its files and revision out.
// With `--flux-artifact-host`, a source carrying `status.artifact` is read from the artifact source-controller
// published (exactly the revision Sveltos sees); otherwise each kind is fetched as source-controller would
// fetch it: GitRepository with git, OCIRepository from its registry. A Bucket can only be read from its
// published artifact: no S3-compatible client is carried here.
import type { FluxRequest } from '../resolve/flux.js';
import { artifactRoute, fetchArtifact, FluxSourceError, type FetchedSource, type FluxFetchOptions } from './flux-artifact.js';
import { fetchOCIRepository } from './flux-oci.js';
import { fetchGitRepository } from './git.js';

export { FluxSourceError, type FetchedSource, type FluxFetchOptions } from './flux-artifact.js';

/** FluxUnsupportedError is a source kind this exporter cannot read (reported as UNSUPPORTED). */
export class FluxUnsupportedError extends FluxSourceError {}

type Fetchers = { [K in FluxRequest['kind']]: (req: Extract<FluxRequest, { kind: K }>, opts: FluxFetchOptions) => Promise<FetchedSource> };

const FETCHERS: Fetchers = {
  GitRepository: fetchGitRepository,
  OCIRepository: fetchOCIRepository,
  Bucket: (req) => {
    throw new FluxUnsupportedError(
      'INVALID',
      `Bucket ${req.namespace}/${req.name}: Bucket sources need an S3-compatible client this exporter does not have; copy the Bucket from the cluster with its status.artifact and pass --flux-artifact-host HOST:PORT (source-controller's artifact server), or use a GitRepository, an OCIRepository, a ConfigMap or a remoteURL`,
    );
  },
};

/**
 * fetchFluxSource returns what `req` holds: its published artifact when the host is given, or through the API
 * server with --from-cluster (while the proxy is allowed), else the source itself.
 */
export async function fetchFluxSource(req: FluxRequest, opts: FluxFetchOptions): Promise<FetchedSource> {
  if (req.artifact) {
    const route = artifactRoute(opts);
    const got = route && (await fetchArtifact(req, req.artifact, route, opts));
    if (got) return got;
    if (route) opts.onEvent?.(`${req.kind} ${req.namespace}/${req.name}: the API server does not let this user proxy to source-controller; fetching the source itself`);
  }
  return (FETCHERS[req.kind] as (r: FluxRequest, o: FluxFetchOptions) => Promise<FetchedSource>)(req, opts);
}
