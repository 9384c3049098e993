// Docker config.json `auths` entries, as `docker login`, Kubernetes dockerconfigjson Secrets and Podman
// write them: one reader for registry credentials wherever they come from.
import type { RegistryCredentials } from './client.js';

/** authHost reduces an `auths` key (a host, or a URL such as `https://index.docker.io/v1/`) to its host. */
export function authHost(key: string): string {
  return key.replace(/^https?:\/\//, '').split('/')[0]!;
}

/**
 * entryCredentials reads one `auths` entry: a user name and password (given, or base64 `auth` =
 * `user:password`), else an identity or registry token. Undefined when it holds none of them.
 */
export function entryCredentials(entry: unknown): RegistryCredentials | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.username === 'string' && e.username && typeof e.password === 'string') return { username: e.username, password: e.password };
  if (typeof e.auth === 'string' && e.auth) {
    const plain = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
  }
  for (const k of ['identitytoken', 'registrytoken']) if (typeof e[k] === 'string' && e[k]) return { token: e[k] as string };
  return undefined;
}

/** findAuthEntry returns the `auths` entry for `host` (keys compared by host), if any. */
export function findAuthEntry(doc: unknown, host: string): { key: string; entry: unknown } | undefined {
  const auths = typeof doc === 'object' && doc !== null ? (doc as { auths?: unknown }).auths : undefined;
  if (typeof auths !== 'object' || auths === null) return undefined;
  const hit = Object.entries(auths).find(([k]) => authHost(k) === host);
  return hit ? { key: hit[0], entry: hit[1] } : undefined;
}
