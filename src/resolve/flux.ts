// Flux sources in the plan (addon-controller flux_source.go and handlers_utils.go deployContentOfSource):
// a policyRef, kustomizationRef or helm chart names a Flux source object in the input; the exporter fetches
// it as source-controller would (src/source/flux.ts) and hands the tree back through FluxContents.
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

/** FluxArtifact is a source object's `status.artifact` as source-controller published it. */
export interface FluxArtifact {
  url: string;
  digest: string;
  revision: string;
}

interface FluxRequestBase {
  namespace: string;
  name: string;
  /** What is fetched from, without credentials: the git or OCI URL, or `<provider>://<endpoint>/<bucket>`. */
  url: string;
  /** `spec.ignore`: more .sourceignore patterns. */
  ignore?: string;
  /** `status.artifact`, when the object carries it (fetched instead with --flux-artifact-host). */
  artifact?: FluxArtifact;
  /** Identifies the request without exposing the credentials. */
  key: string;
}

/** GitRequest is a GitRepository to fetch with git. */
export interface GitRequest extends FluxRequestBase {
  kind: 'GitRepository';
  ref: GitRef;
  access: GitAccess;
  /** `spec.include`: other GitRepositories' artifacts copied into this one before it is archived. */
  include?: GitInclude[];
}

/**
 * GitInclude is one `spec.include` entry: the included GitRepository (same namespace), the file or directory
 * of its artifact to take (`fromPath`, the root when empty) and where it goes (`toPath`, default the name).
 */
export interface GitInclude {
  request: GitRequest;
  fromPath: string;
  toPath: string;
}

/** OCIRef is an OCIRepository's `spec.ref` (source-controller picks digest, then semver, then tag; `latest` by default). */
export interface OCIRef {
  tag?: string;
  semver?: string;
  semverFilter?: string;
  digest?: string;
}

/** OCIAccess is how the registry is reached: the `secretRef` dockerconfigjson, the `certSecretRef` CA, `insecure`. */
export interface OCIAccess {
  /** The `.dockerconfigjson` text of the secretRef Secret. */
  dockerConfig?: string;
  ca?: string;
  plainHTTP?: boolean;
}

/** OCIRequest is an OCIRepository to pull. */
export interface OCIRequest extends FluxRequestBase {
  kind: 'OCIRepository';
  ref: OCIRef;
  /** `spec.layerSelector`: the first layer of this media type (the first layer when unset), extracted or copied. */
  layer: { mediaType?: string; operation: 'extract' | 'copy' };
  access: OCIAccess;
  /** `spec.verify` with provider cosign: the PEM public keys (`*.pub` keys of its secretRef Secret, by name). */
  verify?: { keys: { name: string; pem: string }[] };
}

/** BucketRequest is a Bucket: only its published artifact can be read. */
export interface BucketRequest extends FluxRequestBase {
  kind: 'Bucket';
}

/** FluxRequest is one source to fetch. */
export type FluxRequest = GitRequest | OCIRequest | BucketRequest;

/** FluxTree is a fetched artifact: relative POSIX paths of regular files to their bytes. */
export type FluxTree = Map<string, Buffer>;

/**
 * FluxFetched is what a source gave (its revision, as source-controller names it, and its files), or why not
 * (`unsupported`: a source kind this exporter cannot read).
 */
export type FluxFetched = { ok: true; revision: string; tree: FluxTree; included?: { url: string; revision: string }[] } | { ok: false; message: string; unsupported?: boolean };

/** FluxContents answers the plan with what the exporter fetched; undefined: not fetched. */
export type FluxContents = (req: FluxRequest) => FluxFetched | undefined;

type GetSecret = (namespace: string, name: string) => KubeObject | undefined;
/** GetGitRepository finds a GitRepository of the input, for `spec.include`. */
type GetGitRepository = (namespace: string, name: string) => KubeObject | undefined;

/**
 * fluxRequest reads a Flux source object (from the input) as source-controller reads it, and its
 * `status.artifact` when present. It returns the request or the message of an input problem.
 */
export function fluxRequest(source: KubeObject, getSecret: GetSecret, getGitRepository: GetGitRepository = () => undefined, including: string[] = []): FluxRequest | { problem: string } {
  const where = `${source.kind} ${source.metadata.namespace ?? ''}/${source.metadata.name}`;
  const rawSpec = (source as unknown as { spec?: unknown }).spec;
  const spec: Record<string, unknown> = isPlainObject(rawSpec) ? rawSpec : {};
  const status = (source as unknown as { status?: unknown }).status;
  const rawArtifact = isPlainObject(status) && isPlainObject(status.artifact) ? status.artifact : undefined;
  let artifact: FluxArtifact | undefined;
  if (rawArtifact) {
    const { url, digest, revision } = rawArtifact;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return { problem: `${where}: status.artifact.url ${JSON.stringify(url)}: expected an http(s):// URL` };
    if (typeof digest !== 'string' || !/^(sha256:)?[0-9a-f]{64}$/.test(digest)) return { problem: `${where}: status.artifact.digest ${JSON.stringify(digest)}: expected sha256:<64 hex>` };
    artifact = { url, digest: digest.startsWith('sha256:') ? digest : `sha256:${digest}`, revision: typeof revision === 'string' ? revision : '' };
  }
  const ignore = typeof spec.ignore === 'string' ? spec.ignore : undefined;
  const base = { namespace: source.metadata.namespace ?? '', name: source.metadata.name, ...(ignore !== undefined ? { ignore } : {}), ...(artifact ? { artifact } : {}) };
  const keyOf = (url: string, rest: unknown, secret: unknown) =>
    `${source.kind}\0${url}\0${JSON.stringify(rest)}\0${ignore ?? ''}\0${artifact?.digest ?? ''}\0${createHash('sha256').update(JSON.stringify(secret)).digest('hex')}`;
  if (source.kind === 'GitRepository') {
    const r = gitRequest(spec, source, where, getSecret);
    if ('problem' in r) return r;
    const include = gitIncludes(spec, source, where, getSecret, getGitRepository, [...including, `${base.namespace}/${base.name}`]);
    if ('problem' in include) return include;
    const includeKeys = include.list.map((i) => [i.request.key, i.fromPath, i.toPath]);
    return { kind: 'GitRepository', ...base, ...r, ...(include.list.length ? { include: include.list } : {}), key: keyOf(r.url, include.list.length ? [r.ref, includeKeys] : r.ref, r.access) };
  }
  if (source.kind === 'OCIRepository') {
    const r = ociRequest(spec, source, where, getSecret);
    if ('problem' in r) return r;
    return { kind: 'OCIRepository', ...base, ...r, key: keyOf(r.url, [r.ref, r.layer], [r.access, r.verify ?? null]) };
  }
  const provider = typeof spec.provider === 'string' && spec.provider ? spec.provider : 'generic';
  const url = `${provider}://${typeof spec.endpoint === 'string' ? spec.endpoint : ''}/${typeof spec.bucketName === 'string' ? spec.bucketName : ''}`;
  return { kind: 'Bucket', ...base, url, key: keyOf(url, spec.prefix ?? '', '') };
}

// secretOf reads the Secret a source's `field` names (in the source's namespace), decoded.
function secretOf(spec: Record<string, unknown>, field: string, source: KubeObject, where: string, getSecret: GetSecret, label = `spec.${field}`): Record<string, string> | { problem: string } | undefined {
  const ref = spec[field];
  if (ref === undefined) return undefined;
  const name = isPlainObject(ref) && typeof ref.name === 'string' ? ref.name : '';
  const ns = source.metadata.namespace ?? '';
  const secret = getSecret(ns, name);
  if (!secret || !isSecret(secret)) return { problem: `${where}: ${label}: Secret ${ns}/${name} is not in the input` };
  return decodeSecretData(secret.data);
}

// gitRequest reads a GitRepository's `spec.url`, `spec.ref` and `spec.secretRef` (username/password,
// bearerToken, identity/known_hosts, ca.crt).
function gitRequest(spec: Record<string, unknown>, source: KubeObject, where: string, getSecret: GetSecret): { url: string; ref: GitRef; access: GitAccess } | { problem: string } {
  const url = typeof spec.url === 'string' ? spec.url : '';
  if (!/^(https?|ssh|file):\/\//.test(url) && !/^[\w.-]+@[\w.-]+:/.test(url)) return { problem: `${where}: spec.url ${JSON.stringify(url)}: expected an http(s)://, ssh:// or file:// URL` };
  const ref = readRef<GitRef>(spec, ['branch', 'tag', 'semver', 'name', 'commit'], where);
  if ('problem' in ref) return ref;
  if (ref.commit !== undefined && !/^[0-9a-f]{40}$/.test(ref.commit)) return { problem: `${where}: spec.ref.commit ${JSON.stringify(ref.commit)}: expected a full 40-hex SHA-1` };
  const access: GitAccess = {};
  const data = secretOf(spec, 'secretRef', source, where, getSecret);
  if (data && 'problem' in data) return data as { problem: string };
  if (data) {
    if (data.bearerToken !== undefined) access.bearerToken = data.bearerToken;
    if (data.username !== undefined && data.password !== undefined) {
      access.username = data.username;
      access.password = data.password;
    }
    if (data.identity !== undefined) access.identity = data.identity;
    if (data.known_hosts !== undefined) access.knownHosts = data.known_hosts;
    const ca = data['ca.crt'] ?? data.caFile;
    if (ca !== undefined) access.ca = ca;
    if (access.identity !== undefined && access.knownHosts === undefined) return { problem: `${where}: spec.secretRef: the Secret has identity but no known_hosts; source-controller needs both for SSH` };
  }
  return { url, ref, access };
}

// gitIncludes reads `spec.include` as source-controller does: each entry names a GitRepository of the same
// namespace (`repository.name`), the part of its artifact to copy (`fromPath`) and where (`toPath`, default the
// repository's name). Paths are relative and may not leave the artifact (source-controller joins them
// securely; a path with `..` is refused here instead). An include cycle is refused (source-controller never
// becomes ready on one).
function gitIncludes(
  spec: Record<string, unknown>,
  source: KubeObject,
  where: string,
  getSecret: GetSecret,
  getGitRepository: GetGitRepository,
  including: string[],
): { list: GitInclude[] } | { problem: string } {
  if (spec.include === undefined || spec.include === null) return { list: [] };
  if (!Array.isArray(spec.include)) return { problem: `${where}: spec.include: expected a list` };
  const ns = source.metadata.namespace ?? '';
  const list: GitInclude[] = [];
  for (const [i, raw] of spec.include.entries()) {
    const at = `${where}: spec.include[${i}]`;
    if (!isPlainObject(raw)) return { problem: `${at}: expected a mapping` };
    const name = isPlainObject(raw.repository) && typeof raw.repository.name === 'string' ? raw.repository.name : '';
    if (!name) return { problem: `${at}.repository.name: expected the name of a GitRepository in namespace ${ns}` };
    const paths: Record<'fromPath' | 'toPath', string> = { fromPath: '', toPath: name };
    for (const k of ['fromPath', 'toPath'] as const) {
      const v = raw[k];
      if (v === undefined || v === '') continue;
      const clean = typeof v === 'string' ? cleanRelative(v) : undefined;
      if (clean === undefined) return { problem: `${at}.${k} ${JSON.stringify(v)}: expected a relative path inside the artifact (no ..)` };
      paths[k] = clean;
    }
    if (paths.toPath === '') return { problem: `${at}.toPath ${JSON.stringify(raw.toPath)}: the include would replace the whole artifact; name a directory` };
    if (including.includes(`${ns}/${name}`)) return { problem: `${at}: GitRepository ${ns}/${name} includes itself through ${[...including, `${ns}/${name}`].join(' -> ')}` };
    const included = getGitRepository(ns, name);
    if (!included) return { problem: `${at}: GitRepository ${ns}/${name} is not in the input (source-controller waits for it to be ready; add it to --from)` };
    const request = fluxRequest(included, getSecret, getGitRepository, including);
    if ('problem' in request) return request;
    list.push({ request: request as GitRequest, ...paths });
  }
  return { list };
}

// cleanRelative normalises a relative POSIX path (`./a//b/` → `a/b`, `.` → ``); undefined when it is absolute or
// goes up.
function cleanRelative(path: string): string | undefined {
  if (path.startsWith('/')) return undefined;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts.includes('..') ? undefined : parts.join('/');
}

// ociRequest reads an OCIRepository's `spec.url`, `spec.ref`, `spec.layerSelector`, `spec.secretRef`
// (a kubernetes.io/dockerconfigjson Secret), `spec.certSecretRef` (ca.crt) and `spec.insecure`.
function ociRequest(
  spec: Record<string, unknown>,
  source: KubeObject,
  where: string,
  getSecret: GetSecret,
): { url: string; ref: OCIRef; layer: OCIRequest['layer']; access: OCIAccess; verify?: OCIRequest['verify'] } | { problem: string } {
  const url = typeof spec.url === 'string' ? spec.url : '';
  if (!/^oci:\/\/[^/]+\/./.test(url)) return { problem: `${where}: spec.url ${JSON.stringify(url)}: expected oci://HOST/REPOSITORY` };
  if (/[:@]/.test(url.slice(url.indexOf('/', 'oci://'.length) + 1))) return { problem: `${where}: spec.url ${JSON.stringify(url)}: give the tag or digest in spec.ref, not in the URL` };
  const provider = typeof spec.provider === 'string' && spec.provider ? spec.provider : 'generic';
  if (provider !== 'generic') return { problem: `${where}: spec.provider ${provider}: cloud workload identity is not available on the exporting machine; use provider generic with a secretRef` };
  const ref = readRef<OCIRef>(spec, ['tag', 'semver', 'semverFilter', 'digest'], where);
  if ('problem' in ref) return ref;
  if (ref.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(ref.digest)) return { problem: `${where}: spec.ref.digest ${JSON.stringify(ref.digest)}: expected sha256:<64 hex>` };
  const sel = spec.layerSelector;
  if (sel !== undefined && !isPlainObject(sel)) return { problem: `${where}: spec.layerSelector: expected a mapping` };
  const operation = sel?.operation ?? 'extract';
  if (operation !== 'extract' && operation !== 'copy') return { problem: `${where}: spec.layerSelector.operation ${JSON.stringify(operation)}: expected extract or copy` };
  const layer: OCIRequest['layer'] = { operation, ...(typeof sel?.mediaType === 'string' && sel.mediaType ? { mediaType: sel.mediaType } : {}) };
  const access: OCIAccess = spec.insecure === true ? { plainHTTP: true } : {};
  const auth = secretOf(spec, 'secretRef', source, where, getSecret);
  if (auth && 'problem' in auth) return auth as { problem: string };
  if (auth) {
    if (auth['.dockerconfigjson'] === undefined) return { problem: `${where}: spec.secretRef: the Secret has no .dockerconfigjson (source-controller reads a kubernetes.io/dockerconfigjson Secret)` };
    access.dockerConfig = auth['.dockerconfigjson'];
  }
  const tls = secretOf(spec, 'certSecretRef', source, where, getSecret);
  if (tls && 'problem' in tls) return tls as { problem: string };
  if (tls) {
    if (tls['tls.crt'] !== undefined || tls['tls.key'] !== undefined) return { problem: `${where}: spec.certSecretRef: client certificates (tls.crt, tls.key) are not supported by this exporter; only ca.crt` };
    if (tls['ca.crt'] !== undefined) access.ca = tls['ca.crt'];
  }
  const verify = ociVerify(spec, source, where, getSecret);
  if (verify && 'problem' in verify) return verify;
  return { url, ref, layer, access, ...(verify ? { verify } : {}) };
}

// ociVerify reads `spec.verify` as source-controller does for provider cosign with a secretRef: every data key
// of the Secret ending in `.pub` is a public key, and a signature by any one of them is enough. Keyless
// verification (no secretRef) needs Sigstore's public services and notation needs its trust policy: both are
// refused here rather than skipped, since the source would be carried unverified.
function ociVerify(spec: Record<string, unknown>, source: KubeObject, where: string, getSecret: GetSecret): OCIRequest['verify'] | { problem: string } | undefined {
  if (spec.verify === undefined || spec.verify === null) return undefined;
  if (!isPlainObject(spec.verify)) return { problem: `${where}: spec.verify: expected a mapping` };
  const provider = spec.verify.provider ?? 'cosign';
  if (provider !== 'cosign') return { problem: `${where}: spec.verify.provider ${JSON.stringify(provider)}: only cosign with public keys (spec.verify.secretRef) is supported by this exporter` };
  if (spec.verify.secretRef === undefined) {
    return { problem: `${where}: spec.verify: keyless cosign verification (no secretRef) needs Sigstore's public services, which this exporter does not reach; name a Secret of *.pub public keys in spec.verify.secretRef` };
  }
  const data = secretOf(spec.verify, 'secretRef', source, where, getSecret, 'spec.verify.secretRef');
  if (data && 'problem' in data) return data as { problem: string };
  const keys = Object.entries(data ?? {})
    .filter(([k]) => k.endsWith('.pub'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, pem]) => ({ name, pem }));
  if (keys.length === 0) return { problem: `${where}: spec.verify.secretRef: the Secret has no *.pub key (source-controller reads the public keys from data keys ending in .pub)` };
  return { keys };
}

// readRef reads the string fields of `spec.ref`.
function readRef<T extends object>(spec: Record<string, unknown>, keys: string[], where: string): T | { problem: string } {
  const ref: Record<string, string> = {};
  if (spec.ref === undefined) return ref as T;
  if (!isPlainObject(spec.ref)) return { problem: `${where}: spec.ref: expected a mapping` };
  for (const k of keys) {
    const v = spec.ref[k];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string') return { problem: `${where}: spec.ref.${k}: expected a string` };
    ref[k] = v;
  }
  return ref as T;
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

/** FluxChart is a chart directory read from a fetched Flux source. */
export interface FluxChart {
  /** `GitRepository ns/name revision R path P`. */
  source: string;
  /** Identifies the files: kind, namespace, name, revision and path, NUL-separated. */
  key: string;
  /** The whole artifact (a dependency may be a `file://` path beside the chart) and the chart's directory in it. */
  tree: FluxTree;
  path: string;
}

/** FLUX_CHART_URL matches a helmCharts repositoryURL naming a Flux source (addon-controller isReferencingFluxSource). */
const FLUX_CHART_URL = /^(gitrepository|ocirepository|bucket):\/\//i;

export const isFluxChartURL = (url: unknown): boolean => typeof url === 'string' && FLUX_CHART_URL.test(url);

/**
 * fluxChartSource splits `gitrepository://NS/NAME/PATH` as addon-controller's getReferencedFluxSourceFromURL
 * does: at least three parts (`…/NAME/` is the artifact root), the path the rest joined.
 */
export function fluxChartSource(url: string): { kind: FluxSourceKind; namespace: string; name: string; path: string } | { problem: string } {
  const [scheme, rest = ''] = [url.slice(0, url.indexOf('://')), url.slice(url.indexOf('://') + 3)];
  const kind = FLUX_SOURCE_KINDS.find((k) => k.toLowerCase() === scheme.toLowerCase())!;
  const parts = rest.split('/');
  if (parts.length < 3) return { problem: `repositoryURL ${JSON.stringify(url)}: expected ${scheme}://NAMESPACE/NAME/PATH (the chart's directory in the artifact; NAME/ for its root)` };
  return { kind, namespace: parts[0]!, name: parts[1]!, path: parts.slice(2).join('/') };
}
