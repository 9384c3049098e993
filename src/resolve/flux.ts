// Flux sources in the plan (addon-controller flux_source.go and handlers_utils.go deployContentOfSource):
// a policyRef of kind GitRepository names a Flux source object in the input; the exporter fetches the
// repository as source-controller would (src/source/git.ts) and hands the tree back through FluxContents.
// Every regular file under the ref's `path`, recursively, is one data key (its relative path), read with
// the template/Lua annotations of the source object. Pure: a plan run without contents lists what to fetch.
import { createHash } from 'node:crypto';
import { isPlainObject, isSecret, type KubeObject } from '../model/sveltos.js';
import { decodeSecretData } from './content.js';

export const FLUX_SOURCE_GROUP = 'source.toolkit.fluxcd.io';
export const FLUX_SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket'] as const;
export type FluxSourceKind = (typeof FLUX_SOURCE_KINDS)[number];

export const isFluxKind = (kind: unknown): kind is FluxSourceKind => FLUX_SOURCE_KINDS.includes(kind as FluxSourceKind);

/** GitRef is a GitRepository's `spec.ref` (source-controller picks commit, then name, semver, tag, branch). */
export interface GitRef {
  branch?: string;
  tag?: string;
  semver?: string;
  name?: string;
  commit?: string;
}

/** GitAccess is what the source's `secretRef` Secret holds, by source-controller's key names. */
export interface GitAccess {
  username?: string;
  password?: string;
  bearerToken?: string;
  /** SSH private key (`identity`) and the host keys it is checked against (`known_hosts`). */
  identity?: string;
  knownHosts?: string;
  /** PEM roots for https (`ca.crt`, or `caFile` as older sources name it). */
  ca?: string;
}

/** FluxRequest is one source to fetch. `key` identifies it without exposing the credentials. */
export interface FluxRequest {
  kind: 'GitRepository';
  namespace: string;
  name: string;
  url: string;
  ref: GitRef;
  /** `spec.ignore`: more .sourceignore patterns. */
  ignore?: string;
  access: GitAccess;
  key: string;
}

/** FluxTree is a fetched artifact: relative POSIX paths of regular files to their bytes. */
export type FluxTree = Map<string, Buffer>;

/** FluxFetched is what a source gave (its revision, as source-controller names it, and its files), or why not. */
export type FluxFetched = { ok: true; revision: string; tree: FluxTree } | { ok: false; message: string };

/** FluxContents answers the plan with what the exporter fetched; undefined: not fetched. */
export type FluxContents = (req: FluxRequest) => FluxFetched | undefined;

/**
 * fluxRequest reads a GitRepository (from the input) as source-controller reads it: `spec.url`, `spec.ref`,
 * `spec.ignore`, and `spec.secretRef` (a Secret in the source's namespace; username/password, bearerToken,
 * identity/known_hosts, ca.crt). It returns the request or the message of an input problem.
 */
export function fluxRequest(source: KubeObject, getSecret: (namespace: string, name: string) => KubeObject | undefined): FluxRequest | { problem: string } {
  const where = `${source.kind} ${source.metadata.namespace ?? ''}/${source.metadata.name}`;
  const rawSpec = (source as unknown as { spec?: unknown }).spec;
  const spec: Record<string, unknown> = isPlainObject(rawSpec) ? rawSpec : {};
  const url = typeof spec.url === 'string' ? spec.url : '';
  if (!/^(https?|ssh|file):\/\//.test(url) && !/^[\w.-]+@[\w.-]+:/.test(url)) return { problem: `${where}: spec.url ${JSON.stringify(url)}: expected an http(s)://, ssh:// or file:// URL` };
  const ref: GitRef = {};
  if (spec.ref !== undefined) {
    if (!isPlainObject(spec.ref)) return { problem: `${where}: spec.ref: expected a mapping` };
    for (const k of ['branch', 'tag', 'semver', 'name', 'commit'] as const) {
      const v = spec.ref[k];
      if (v === undefined || v === '') continue;
      if (typeof v !== 'string') return { problem: `${where}: spec.ref.${k}: expected a string` };
      ref[k] = v;
    }
  }
  if (ref.commit !== undefined && !/^[0-9a-f]{40}$/.test(ref.commit)) return { problem: `${where}: spec.ref.commit ${JSON.stringify(ref.commit)}: expected a full 40-hex SHA-1` };
  const access: GitAccess = {};
  const secretRef = spec.secretRef;
  if (secretRef !== undefined) {
    const name = isPlainObject(secretRef) && typeof secretRef.name === 'string' ? secretRef.name : '';
    const ns = source.metadata.namespace ?? '';
    const secret = getSecret(ns, name);
    if (!secret || !isSecret(secret)) return { problem: `${where}: spec.secretRef: Secret ${ns}/${name} is not in the input` };
    const data = decodeSecretData(secret.data);
    if (data.bearerToken !== undefined) access.bearerToken = data.bearerToken;
    if (data.username !== undefined && data.password !== undefined) {
      access.username = data.username;
      access.password = data.password;
    }
    if (data.identity !== undefined) access.identity = data.identity;
    if (data.known_hosts !== undefined) access.knownHosts = data.known_hosts;
    const ca = data['ca.crt'] ?? data.caFile;
    if (ca !== undefined) access.ca = ca;
    if (access.identity !== undefined && access.knownHosts === undefined) return { problem: `${where}: spec.secretRef: Secret ${ns}/${name} has identity but no known_hosts; source-controller needs both for SSH` };
  }
  const ignore = typeof spec.ignore === 'string' ? spec.ignore : undefined;
  const key = `${url}\0${JSON.stringify(ref)}\0${ignore ?? ''}\0${createHash('sha256').update(JSON.stringify(access)).digest('hex')}`;
  return { kind: 'GitRepository', namespace: source.metadata.namespace ?? '', name: source.metadata.name, url, ref, ...(ignore !== undefined ? { ignore } : {}), access, key };
}

/**
 * filesUnder returns the files of `tree` under `path` (addon-controller's `filepath.Join(artifact, path)`),
 * keyed by their path relative to it, sorted; undefined when no file lies there.
 */
export function filesUnder(tree: FluxTree, path: string): [string, Buffer][] | undefined {
  const dir = path.split('/').filter((p) => p !== '' && p !== '.').join('/');
  if (dir.split('/').includes('..')) return undefined;
  const prefix = dir === '' ? '' : `${dir}/`;
  const out = [...tree].filter(([p]) => p.startsWith(prefix)).map(([p, b]): [string, Buffer] => [p.slice(prefix.length), b]);
  if (out.length === 0) return undefined;
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
