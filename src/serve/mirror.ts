// Registry mirror configuration for containerd: the site serves every carried image under
// `<served host>/<registry>/<repository>`, where <registry> is the image's registry host with its port
// joined by `_` (`docker.io/library/nginx`, `127.0.0.1_5000/team/app`). containerd's hosts.toml with
// `override_path = true` maps pulls of `<registry>/<repository>` to that path.
// Reference: https://github.com/containerd/containerd/blob/v1.7.0/docs/hosts.md
import { CLUSTER_REPOSITORY_PREFIX, BUNDLE_REPOSITORY } from '../model/bundle.js';

/** MirrorEntry is the containerd configuration for one upstream registry. */
export interface MirrorEntry {
  /** Upstream registry as images name it (`docker.io`, `quay.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Repository prefix it is served under at the site. */
  prefix: string;
  /** Where containerd reads it: `/etc/containerd/certs.d/<registry>/hosts.toml`. */
  path: string;
  /** The hosts.toml content. */
  hostsToml: string;
}

/** upstreamOf reverses the served prefix: `127.0.0.1_5000` -> `127.0.0.1:5000`. */
export function upstreamOf(prefix: string): string {
  const m = /^(.*)_(\d{1,5})$/.exec(prefix);
  return m ? `${m[1]}:${m[2]}` : prefix;
}

const looksLikeHost = (s: string) => s.includes('.') || s === 'localhost' || /_\d{1,5}$/.test(s);

/**
 * mirrorConfig lists one containerd hosts.toml per upstream registry among `refs` (served references,
 * `<repository>:<tag>`); `advertise` is the URL nodes reach `serve` at (e.g. `http://10.0.0.5:5000`).
 */
export function mirrorConfig(refs: string[], advertise: string): MirrorEntry[] {
  const base = advertise.replace(/\/+$/, '');
  const prefixes = new Set<string>();
  for (const ref of refs) {
    if (ref.startsWith(`${CLUSTER_REPOSITORY_PREFIX}/`) || ref.startsWith(`${BUNDLE_REPOSITORY}:`)) continue;
    const first = ref.split('/')[0]!;
    if (ref.includes('/') && looksLikeHost(first)) prefixes.add(first);
  }
  return [...prefixes].sort().map((prefix) => {
    const registry = upstreamOf(prefix);
    const server = registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
    const hostsToml = [
      `server = "${server}"`,
      '',
      `[host."${base}/v2/${prefix}"]`,
      '  capabilities = ["pull", "resolve"]',
      '  override_path = true',
      '',
    ].join('\n');
    return { registry, prefix, path: `/etc/containerd/certs.d/${registry}/hosts.toml`, hostsToml };
  });
}
