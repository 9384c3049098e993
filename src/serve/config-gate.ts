// The registry serves charts and images to anyone on the site network, but a cluster's configuration
// artifact (its ConfigurationGroups and Bundles, Secrets included) only to that cluster's agent token,
// as the agent API does. The bundle root lists every cluster's configuration, so it is not served at all.
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../agent-api/service.js';
import type { TokenBook } from '../agent-api/tokens.js';
import { BUNDLE_REPOSITORY, CLUSTER_REPOSITORY_PREFIX } from '../model/bundle.js';
import { err } from '../registry/server/errors.js';
import type { PartialHandler } from '../registry/server/handler.js';

/** clusterOfRepository returns `ns/name` for `/v2/sveltos-airgap/clusters/ns/name/…`. */
function clusterOfPath(path: string): string | undefined {
  const m = new RegExp(`^/v2/${CLUSTER_REPOSITORY_PREFIX}/([^/]+)/([^/]+)/(manifests|blobs|tags|referrers)/`).exec(path);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** createConfigGate answers requests for configuration repositories that the caller may not read. */
export function createConfigGate(tokens: TokenBook): PartialHandler {
  return async (req: IncomingMessage) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (!path.startsWith('/v2/sveltos-airgap/')) return undefined;
    if (path.startsWith(`/v2/${BUNDLE_REPOSITORY}/`)) {
      return err(403, 'DENIED', `${BUNDLE_REPOSITORY}: the bundle root names every cluster's configuration and is not served; each agent reads its own cluster's artifact`);
    }
    const cluster = clusterOfPath(path);
    if (!cluster) return undefined; // not a route: the registry answers
    const token = bearerToken(req);
    if (!token) {
      return err(401, 'UNAUTHORIZED', `${CLUSTER_REPOSITORY_PREFIX}/${cluster}: a cluster's configuration is served only with its agent token (agent-kubeconfig prints it)`, undefined, {
        'WWW-Authenticate': 'Bearer realm="sveltos-airgap"',
      });
    }
    const owner = await tokens.clusterOf(token);
    if (owner !== cluster) {
      return err(owner ? 403 : 401, owner ? 'DENIED' : 'UNAUTHORIZED', `${CLUSTER_REPOSITORY_PREFIX}/${cluster}: ${owner ? `the token belongs to cluster ${owner}` : 'unknown or revoked token'}`);
    }
    return undefined;
  };
}
