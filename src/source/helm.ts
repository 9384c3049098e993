// Helm chart sources: HTTP(S) chart repositories (index.yaml) and OCI registries, fetched into a local
// cache that is an OCI layout keyed by digest. Every chart ends up as a standard Helm OCI artifact
// (config application/vnd.cncf.helm.config.v1+json, layer …chart.content.v1.tar+gzip): charts from OCI
// keep the digests upstream published; charts from HTTP repositories are wrapped deterministically.
import { createHash, type KeyObject } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import semver from 'semver';
import { pushTolerant } from '../content/bytes.js';
import { copyGraph } from '../content/copy.js';
import { manifestFromJSON } from '../content/descriptor.js';
import { sha256 } from '../content/digest.js';
import { OciLayoutStore } from '../content/oci-layout/store.js';
import { blobPath } from '../content/oci-layout/ingest.js';
import { readAll } from '../content/verify.js';
import { tarEntries } from '../content/tar-header.js';
import { isAbortError, ValidationError, VerificationError } from '../errors.js';
import { MEDIA_TYPE_HELM_CHART, MEDIA_TYPE_HELM_CONFIG } from '../model/bundle.js';
import { MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor, type Manifest } from '../model/oci.js';
import { isPlainObject, type KubeObject } from '../model/sveltos.js';
import { parseProofTag } from '../model/proofs.js';
import { cachedChartProofs, cachedSignatures, copyChartProofs, isProofsCopiedTag, markProofsCopied, proofsCopied, verifyChartSignature, type ChartProof } from './chart-proofs.js';
import { RegistryClient, RegistryError, type RegistryCredentials, type RegistrySessions } from '../registry/client.js';
import { connectionHint, failureText, HttpPool, isPermanentFailure, readBounded, send, sleep } from '../registry/http.js';
import { entryCredentials, findAuthEntry } from '../registry/docker-config.js';
import { parseYamlStream } from './helm-render.js';

/** ChartError is a chart that cannot be found, fetched or read. */
export class ChartError extends ValidationError {}

/** ChartRequest names a chart as a profile's `helmCharts` entry does (after templating). */
export interface ChartRequest {
  repositoryURL: string;
  repositoryName?: string;
  chartName: string;
  /** Exact version, a semver range (`^1.2`, `>=1.0 <2.0`), `X@sha256:…` (OCI), or empty for the latest. */
  chartVersion?: string;
  credentials?: RegistryCredentials;
  /** PEM CA certificates to trust for this repository. */
  ca?: string | Buffer;
  plainHTTP?: boolean;
  insecureSkipTLSVerify?: boolean;
  /** signatureVerification's keys (OCI charts): a cosign signature of the chart by one of them is required. */
  verifyKeys?: KeyObject[];
}

/** FetchedChart is a chart held in the cache as a Helm OCI artifact. */
export interface FetchedChart {
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
  name: string;
  version: string;
  icon?: string;
  /** Chart.yaml annotations (`helm.sh/images`, `artifacthub.io/images`, …). */
  annotations: Record<string, string>;
  /** Repository under which the bundle carries and `serve` serves the chart: `<host>[_<port>]/<path>/<chart>`. */
  repository: string;
  /** OCI tag: the version with `+` written as `_` (as `helm push` does). */
  tag: string;
  /** Path of the chart archive on disk (a cache blob); `helm template` reads it. */
  archive: string;
  /** Where the chart came from: a registry, a chart repository, or a Flux source (packaged here). */
  origin: 'oci' | 'http' | 'flux';
  /** True when nothing had to be fetched. */
  cached: boolean;
  /** With `proofs` (OCI charts): its cosign tags and referrers index held in the cache, to carry beside it. */
  proofs?: ChartProof[];
}

export interface ChartFetchOptions {
  /** Use only the cache; a chart not in it fails with a clear error. */
  offline?: boolean;
  signal?: AbortSignal;
  /** Progress events for stderr. */
  onEvent?: (e: { chart: string; event: 'resolve' | 'download' | 'cached'; version?: string; bytes?: number }) => void;
  /** Share connections and tokens with other fetches from the same registry. Unset: a session of this fetch's own. */
  sessions?: RegistrySessions;
  /** OCI charts: also copy what proves the chart (src/model/proofs.ts) and list it in `proofs`. */
  proofs?: boolean;
  /** With `proofs`: keep only proofs of these media types (`--referrer-type`). */
  referrerTypes?: string[];
}

/** defaultCacheDir is `$SVELTOS_AIRGAP_CACHE`, else `$XDG_CACHE_HOME/sveltos-airgap`, else `~/.cache/sveltos-airgap`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SVELTOS_AIRGAP_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sveltos-airgap');
}

/** ociTag writes a chart version as an OCI tag (`+` is not allowed in tags). */
export const ociTag = (version: string): string => version.replaceAll('+', '_');

/**
 * repositoryFromURL derives a registry repository name from a source location: lower case, the port
 * joined with `_` (`127.0.0.1:5000` -> `127.0.0.1_5000`), characters a repository name cannot hold
 * replaced by `-`, empty segments dropped.
 */
export function repositoryFromURL(hostAndPath: string): string {
  const [host, ...rest] = hostAndPath.split('/');
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[._-]+$/g, '');
  return [clean((host ?? '').replace(':', '_')), ...rest.map(clean)].filter(Boolean).join('/');
}

/** chartLocation returns the registry and repository of an OCI chart, or the index URL of an HTTP one. */
export function chartLocation(req: ChartRequest): { kind: 'oci'; registry: string; path: string; name: string } | { kind: 'http'; base: string; name: string } {
  const name = req.repositoryName && req.chartName.startsWith(`${req.repositoryName}/`) ? req.chartName.slice(req.repositoryName.length + 1) : req.chartName;
  if (req.repositoryURL.startsWith('oci://')) {
    const u = new URL(req.repositoryURL.replace(/^oci:/, 'http:'));
    const path = [...u.pathname.split('/').filter(Boolean), ...name.split('/').filter(Boolean)].join('/');
    return { kind: 'oci', registry: u.host, path, name: name.split('/').at(-1)! };
  }
  if (!/^https?:\/\//.test(req.repositoryURL)) {
    throw new ChartError('INVALID', `repositoryURL ${JSON.stringify(req.repositoryURL)}: expected an http(s):// or oci:// URL, or gitrepository://, ocirepository:// or bucket:// for a chart in a Flux source`);
  }
  return { kind: 'http', base: req.repositoryURL, name };
}

/** ChartCache is the local chart store: an OCI layout whose tags map `(source, version)` to manifests. */
export class ChartCache {
  private constructor(readonly store: OciLayoutStore) {}

  static async open(dir: string): Promise<ChartCache> {
    return new ChartCache(await OciLayoutStore.open(join(dir, 'charts'), { create: true }));
  }

  /** blobFile is the path of a cached blob. */
  blobFile(d: Descriptor): string {
    return blobPath(this.store.root, d.digest);
  }
}

// sourceKey names a chart source in the cache's tags (which must not depend on version syntax).
function sourceKey(req: ChartRequest): string {
  const loc = chartLocation(req);
  const id = loc.kind === 'oci' ? `oci://${loc.registry}/${loc.path}` : `${loc.base.replace(/\/+$/, '')}|${loc.name}`;
  return `src-${createHash('sha256').update(id).digest('hex').slice(0, 24)}`;
}

/**
 * pickVersion chooses a version as Helm does: an exact match of the requested string first, else the
 * highest version satisfying it as a semver constraint (Masterminds syntax: `,` is AND). Empty means
 * the highest release (no prerelease).
 */
export function pickVersion(requested: string | undefined, available: string[]): string | undefined {
  const want = (requested ?? '').trim();
  if (want && available.includes(want)) return want;
  const range = semver.validRange((want || '*').replaceAll(',', ' '), { loose: true });
  if (!range) return undefined;
  let best: { v: string; s: string } | undefined;
  for (const v of available) {
    const s = semver.valid(v, { loose: true }) ?? semver.valid(semver.coerce(v, { loose: true }) ?? '');
    if (!s || !semver.satisfies(s, range, { loose: true })) continue;
    if (!best || semver.gt(s, best.s)) best = { v, s };
  }
  return best?.v;
}

// noVersion is the error for a chartVersion nothing matches: it shows what there is (newest first) and
// says when the request is no version or semver range at all.
function noVersion(label: string, requested: string, available: string[], where: string): ChartError {
  const versions = available
    .map((v) => ({ v, s: semver.valid(v, { loose: true }) }))
    .filter((x): x is { v: string; s: string } => x.s !== null)
    .sort((a, b) => semver.rcompare(a.s, b.s))
    .map((x) => x.v);
  const shown = versions.length === 0 ? 'none' : `${versions.slice(0, 8).join(', ')}${versions.length > 8 ? `, … (${versions.length} in all)` : ''}`;
  const bad = requested && !available.includes(requested) && !semver.validRange(requested.replaceAll(',', ' '), { loose: true }) ? ' (not a version or semver range)' : '';
  return new ChartError('INVALID', `${label}: no version matches ${JSON.stringify(requested || '(latest)')}${bad} in ${where}; versions there: ${shown}`, {
    details: { chart: label, version: requested },
  });
}

const isExactVersion = (v: string) => semver.valid(v, { loose: true }) !== null && !/^[~^<>=*]/.test(v);

/** fetchChart returns the requested chart from the cache, fetching it first when needed. */
export async function fetchChart(req: ChartRequest, cache: ChartCache, opts: ChartFetchOptions = {}): Promise<FetchedChart> {
  const loc = chartLocation(req);
  const label = loc.kind === 'oci' ? `oci://${loc.registry}/${loc.path}` : `${loc.base.replace(/\/+$/, '')}/${loc.name}`;
  const key = sourceKey(req);
  const requested = (req.chartVersion ?? '').trim();
  const digestPin = /@?(sha256:[a-f0-9]{64})$/.exec(requested)?.[1];
  const versionPart = requested.replace(/@?sha256:[a-f0-9]{64}$/, '');

  // Cache first: an exact version (or a digest pin) already held is used without any network access.
  const cachedTags = (await cache.store.tags()).filter((t) => t.startsWith(`${key}:`)).map((t) => t.slice(key.length + 1)).filter((t) => !parseProofTag(t) && !isProofsCopiedTag(t));
  const fromCache = async (tag: string) => {
    const manifest = await cache.store.resolve(`${key}:${tag}`);
    if (digestPin && manifest.digest !== digestPin) return undefined;
    opts.onEvent?.({ chart: label, event: 'cached', version: tag });
    return withProofs(req, loc, key, label, await describeCached(cache, manifest, loc, true), cache, opts);
  };
  if (digestPin) {
    for (const t of cachedTags) {
      const hit = await fromCache(t);
      if (hit) return hit;
    }
  } else if (versionPart && isExactVersion(versionPart) && cachedTags.includes(ociTag(versionPart))) {
    return (await fromCache(ociTag(versionPart)))!;
  }
  if (opts.offline) {
    const pick = digestPin ? undefined : pickVersion(versionPart, cachedTags.map((t) => t.replaceAll('_', '+')));
    if (pick) return (await fromCache(ociTag(pick)))!;
    throw new ChartError('INVALID', `${label} ${requested || '(latest)'}: not in the chart cache and --offline forbids fetching it; run the export once online (cache: ${cache.store.root})`, {
      details: { chart: label, version: requested },
    });
  }

  opts.onEvent?.({ chart: label, event: 'resolve', version: requested });
  const manifest = loc.kind === 'oci' ? await fetchOci(req, loc, versionPart, digestPin, cache, opts, label, key) : await fetchHttp(req, loc, versionPart, cache, opts, label);
  const fetched = await describeCached(cache, manifest, loc, false);
  await cache.store.tag(manifest, `${key}:${fetched.tag}`);
  return withProofs(req, loc, key, label, fetched, cache, opts);
}

// withProofs checks signatureVerification (OCI charts) and, with `proofs`, lists what proves the chart.
async function withProofs(req: ChartRequest, loc: ReturnType<typeof chartLocation>, key: string, label: string, chart: FetchedChart, cache: ChartCache, opts: ChartFetchOptions): Promise<FetchedChart> {
  if (loc.kind !== 'oci') return chart;
  if (req.verifyKeys?.length) await checkSignature(req, loc, key, label, chart, cache, opts);
  return opts.proofs ? { ...chart, proofs: await fetchChartProofs(req, chart, cache, opts) } : chart;
}

/**
 * fetchChartProofs returns what proves an OCI chart the cache holds (its cosign tags and referrers index),
 * with `referrerTypes` applied; they are copied from its registry first when they were not yet (a chart
 * cached before proofs were carried), unless offline. None for other charts.
 */
export async function fetchChartProofs(req: ChartRequest, chart: FetchedChart, cache: ChartCache, opts: ChartFetchOptions): Promise<ChartProof[]> {
  const loc = chartLocation(req);
  if (loc.kind !== 'oci') return [];
  const key = sourceKey(req);
  if (!opts.offline && !(await proofsCopied(cache.store, key, chart.manifest.digest))) await copyProofsOf(req, loc, key, chart, cache, opts);
  return cachedChartProofs(cache.store, key, chart.manifest.digest, opts.referrerTypes);
}

const copyProofsOf = (req: ChartRequest, loc: { registry: string; path: string }, key: string, chart: FetchedChart, cache: ChartCache, opts: ChartFetchOptions) =>
  withClient(req, loc, opts, (client) => copyChartProofs(client, cache.store, key, chart.manifest, opts.signal ? { signal: opts.signal } : {}));

// checkSignature checks signatureVerification. A chart fetched now was checked before it was copied
// (fetchOci); a cached one is checked against the signature the cache holds, copied anew when it does not
// verify (a signature added since) or was never copied, unless offline.
async function checkSignature(req: ChartRequest, loc: { registry: string; path: string }, key: string, label: string, chart: FetchedChart, cache: ChartCache, opts: ChartFetchOptions): Promise<void> {
  if (!chart.cached) return;
  const digest = chart.manifest.digest;
  const check = () => verifyChartSignature(label, cachedSignatures(cache.store, key), digest, req.verifyKeys!, opts.signal ? { signal: opts.signal } : {});
  if (opts.offline) return check();
  if (!(await proofsCopied(cache.store, key, digest))) await copyProofsOf(req, loc, key, chart, cache, opts);
  await check().catch(async (err: unknown) => {
    if (!(err instanceof VerificationError)) throw err;
    await copyProofsOf(req, loc, key, chart, cache, opts);
    await check();
  });
}

// withClient runs `work` with a client of the chart's OCI repository, closed after.
async function withClient<T>(req: ChartRequest, loc: { registry: string; path: string }, opts: ChartFetchOptions, work: (client: RegistryClient) => Promise<T>): Promise<T> {
  const tls = { ...(req.ca ? { ca: req.ca } : {}), insecureSkipTLSVerify: Boolean(req.insecureSkipTLSVerify) };
  const client = new RegistryClient({
    registry: loc.registry,
    repository: loc.path,
    ...(req.credentials ? { credentials: req.credentials } : {}),
    ...tls,
    ...(opts.sessions ? { session: opts.sessions.get(loc.registry, tls) } : {}),
    plainHTTP: Boolean(req.plainHTTP),
  });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

async function fetchOci(req: ChartRequest, loc: { registry: string; path: string }, version: string, digestPin: string | undefined, cache: ChartCache, opts: ChartFetchOptions, label: string, key: string): Promise<Descriptor> {
  return withClient(req, loc, opts, async (client) => {
    let ref = digestPin;
    if (!ref) {
      if (version && isExactVersion(version)) ref = ociTag(version);
      else {
        const tags = (await client.tags(opts)).map((t) => t.replaceAll('_', '+'));
        const pick = pickVersion(version, tags);
        if (!pick) throw noVersion(label, version, tags, `its ${tags.length} tags`);
        ref = ociTag(pick);
      }
    }
    let root: Descriptor;
    let body: Buffer;
    try {
      ({ descriptor: root, content: body } = await client.resolveContent(ref, opts));
    } catch (err) {
      const notFound = (err as { code?: string }).code === 'NOT_FOUND';
      // An exact version the registry lacks: say which versions it has (the tag list is asked for only now).
      if (notFound && !digestPin) {
        const tags = (await client.tags(opts).catch(() => undefined))?.map((t) => t.replaceAll('_', '+'));
        if (tags) throw noVersion(label, version, tags, `its ${tags.length} tags`);
      }
      if (err instanceof RegistryError || notFound) {
        throw new ChartError('INVALID', `${label} ${version || ref}: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
    const m = manifestFromJSON(body, `${label}@${root.digest}`);
    if (m.config.mediaType !== MEDIA_TYPE_HELM_CONFIG || !m.layers.some((l) => l.mediaType === MEDIA_TYPE_HELM_CHART)) {
      throw new ChartError('INVALID', `${label}@${root.digest}: not a Helm chart artifact (config ${m.config.mediaType})`);
    }
    const op = opts.signal ? { signal: opts.signal } : {};
    // With signatureVerification the proofs come first: a chart whose signature does not verify is never
    // copied (it is marked as having its proofs once it is in). Otherwise they follow the chart.
    const verify = Boolean(req.verifyKeys?.length);
    if (verify) {
      await copyChartProofs(client, cache.store, key, root, op);
      await verifyChartSignature(label, cachedSignatures(cache.store, key), root.digest, req.verifyKeys!, op);
    }
    opts.onEvent?.({ chart: label, event: 'download', version: ref, bytes: m.layers.reduce((n, l) => n + l.size, 0) });
    await copyGraph(client, cache.store, root, { rootContent: body, ...op });
    if (verify) await markProofsCopied(cache.store, key, root);
    else if (opts.proofs) await copyChartProofs(client, cache.store, key, root, op);
    return root;
  });
}

interface IndexEntry {
  version: string;
  urls: string[];
  digest?: string;
}

// MAX_CHART_FILE_BYTES bounds index.yaml and chart archives read into memory.
const MAX_CHART_FILE_BYTES = 256 * 1024 * 1024;

// What to change when a chart repository cannot be reached (see connectionHint).
const REPOSITORY_HINTS = {
  plainHTTP: 'use an http:// repositoryURL',
  trust: 'give its CA (registryCredentialsConfig.ca) or, on a trusted network only, set registryCredentialsConfig.insecureSkipTLSVerify: true',
  address: 'the repositoryURL',
};

async function httpGet(url: string, req: ChartRequest, pool: HttpPool, opts: ChartFetchOptions, label: string, attempts = 4): Promise<Buffer> {
  const headers: Record<string, string> = { 'user-agent': 'sveltos-airgap' };
  // As Helm without --pass-credentials: the repository's credentials go to the repository's own origin only
  // (index.yaml may point chart URLs at another host).
  if (req.credentials && 'username' in req.credentials && new URL(url).origin === new URL(req.repositoryURL).origin) headers.authorization = `Basic ${Buffer.from(`${req.credentials.username}:${req.credentials.password}`).toString('base64')}`;
  for (let i = 0; ; i++) {
    try {
      const res = await send(url, { headers, pool, ...(opts.signal ? { signal: opts.signal } : {}) });
      if (res.ok) {
        const data = await readBounded(res, MAX_CHART_FILE_BYTES + 1);
        if (data.length > MAX_CHART_FILE_BYTES) throw new ChartError('INVALID', `${label}: GET ${url}: larger than ${MAX_CHART_FILE_BYTES} bytes`);
        return data;
      }
      await res.discard();
      if ((res.status === 429 || res.status >= 500) && i + 1 < attempts) throw Object.assign(new Error(`HTTP ${res.status}`), { retry: true });
      throw new ChartError('INVALID', `${label}: GET ${url}: HTTP ${res.status}${res.status === 401 || res.status === 403 ? ' (check registryCredentialsConfig)' : ''}`, { details: { status: res.status } });
    } catch (err) {
      if (err instanceof ChartError || isAbortError(err)) throw err;
      if (i + 1 >= attempts || isPermanentFailure(err)) {
        throw new ChartError('INVALID', `${label}: GET ${url}: ${failureText(err)} (after ${i + 1} attempt${i ? 's' : ''})${connectionHint(err, new URL(url).host, REPOSITORY_HINTS)}`, { cause: err });
      }
      await sleep(200 * 2 ** i, opts.signal);
    }
  }
}

async function fetchHttp(req: ChartRequest, loc: { base: string; name: string }, version: string, cache: ChartCache, opts: ChartFetchOptions, label: string): Promise<Descriptor> {
  const pool = new HttpPool({ ...(req.ca ? { ca: req.ca } : {}), ...(req.insecureSkipTLSVerify ? { insecureSkipTLSVerify: true } : {}) });
  try {
    const base = loc.base.endsWith('/') ? loc.base : `${loc.base}/`;
    const indexText = (await httpGet(new URL('index.yaml', base).toString(), req, pool, opts, label)).toString('utf8');
    const index = parseYamlStream(indexText, `${base}index.yaml`)[0];
    const entries = isPlainObject(index) && isPlainObject(index.entries) ? index.entries[loc.name] : undefined;
    if (!Array.isArray(entries) || entries.length === 0) throw new ChartError('INVALID', `${label}: chart ${loc.name} not found in ${base}index.yaml`);
    const list: IndexEntry[] = entries.filter(isPlainObject).map((e) => ({
      version: String(e.version ?? ''),
      urls: Array.isArray(e.urls) ? e.urls.map(String) : [],
      ...(typeof e.digest === 'string' ? { digest: e.digest } : {}),
    }));
    const pick = pickVersion(version, list.map((e) => e.version));
    const entry = list.find((e) => e.version === pick);
    if (!entry) throw noVersion(label, version, list.map((e) => e.version), `${base}index.yaml`);
    if (entry.urls.length === 0) throw new ChartError('INVALID', `${label} ${entry.version}: ${base}index.yaml lists no URL for it`);
    const url = new URL(entry.urls[0]!, base).toString();
    const tgz = await httpGet(url, req, pool, opts, label);
    opts.onEvent?.({ chart: label, event: 'download', version: entry.version, bytes: tgz.length });
    const layerDigest = sha256(tgz);
    if (entry.digest && `sha256:${entry.digest.replace(/^sha256:/, '')}` !== layerDigest) {
      throw new ChartError('INVALID', `${label} ${entry.version}: ${url}: digest mismatch with index.yaml: expected sha256:${entry.digest.replace(/^sha256:/, '')}, got ${layerDigest}`);
    }
    return await wrapChartArchive(cache.store, tgz);
  } finally {
    pool.close();
  }
}

/** chartYamlFromArchive reads `<chart>/Chart.yaml` from a chart .tgz. */
export function chartYamlFromArchive(tgz: Buffer): Record<string, unknown> {
  let tar: Buffer;
  try {
    tar = gunzipSync(tgz, { maxOutputLength: 256 * 1024 * 1024 });
  } catch (err) {
    throw new ChartError('INVALID', `chart archive: not gzip: ${(err as Error).message}`, { cause: err });
  }
  for (const { header: h, data } of tarEntries(tar)) {
    const parts = h.name.replace(/^\.\//, '').split('/');
    if (h.type === 'file' && parts.length === 2 && parts[1] === 'Chart.yaml') {
      const doc = parseYamlStream(data.toString('utf8'), 'Chart.yaml')[0];
      if (!isPlainObject(doc)) throw new ChartError('INVALID', 'chart archive: Chart.yaml is not a map');
      return doc;
    }
  }
  throw new ChartError('INVALID', 'chart archive: no <chart>/Chart.yaml');
}

// Helm's chart.Metadata fields in the order `helm push` serialises them into the config blob.
const METADATA_FIELDS = ['name', 'home', 'sources', 'version', 'description', 'keywords', 'maintainers', 'icon', 'apiVersion', 'condition', 'tags', 'appVersion', 'deprecated', 'annotations', 'kubeVersion', 'dependencies', 'type'];

const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || v === false || v === 0 || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);

// pick copies `fields` in order; those in `always` are written even when empty (Go fields without omitempty).
function pick(v: unknown, fields: string[], always: string[] = []): Record<string, unknown> {
  const src = isPlainObject(v) ? v : {};
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (always.includes(f)) out[f] = src[f] ?? '';
    else if (!isEmpty(src[f])) out[f] = src[f];
  }
  return out;
}

const sortedKeys = (v: Record<string, unknown>) => Object.fromEntries(Object.keys(v).sort().map((k) => [k, String(v[k])]));

/**
 * helmConfigJSON builds the Helm OCI config blob from Chart.yaml as `helm push` does (Go's JSON of
 * chart.Metadata: its field order, empty fields omitted, map keys sorted).
 */
export function helmConfigJSON(chart: Record<string, unknown>): Buffer {
  const out: Record<string, unknown> = {};
  for (const f of METADATA_FIELDS) {
    const v = chart[f];
    if (isEmpty(v)) continue;
    if (f === 'maintainers' && Array.isArray(v)) out[f] = v.map((m) => pick(m, ['name', 'email', 'url']));
    else if (f === 'dependencies' && Array.isArray(v)) out[f] = v.map((d) => pick(d, ['name', 'version', 'repository', 'condition', 'tags', 'enabled', 'import-values', 'alias'], ['name', 'repository']));
    else if (f === 'annotations' && isPlainObject(v)) out[f] = sortedKeys(v);
    else out[f] = f === 'version' || f === 'appVersion' ? String(v) : v;
  }
  return Buffer.from(JSON.stringify(out));
}

/**
 * wrapChartArchive stores a chart .tgz as a Helm OCI artifact (config from Chart.yaml, the archive as the
 * single layer, the annotations `helm push` writes except the creation time) and returns its manifest.
 * The same archive always gives the same manifest digest.
 */
export async function wrapChartArchive(store: OciLayoutStore, tgz: Buffer): Promise<Descriptor> {
  const chart = chartYamlFromArchive(tgz);
  const config = helmConfigJSON(chart);
  const put = async (mediaType: string, data: Buffer): Promise<Descriptor> => {
    const d: Descriptor = { mediaType, digest: sha256(data), size: data.length };
    // Two exports (or two clusters of one) may store the same chart at once.
    if (!(await store.exists(d))) await pushTolerant(store, d, Readable.from([data]));
    return d;
  };
  const configDesc = await put(MEDIA_TYPE_HELM_CONFIG, config);
  const layer = await put(MEDIA_TYPE_HELM_CHART, tgz);
  const annotations: Record<string, string> = {};
  const s = (k: string) => (typeof chart[k] === 'string' ? (chart[k] as string) : typeof chart[k] === 'number' ? String(chart[k]) : undefined);
  if (s('description')) annotations['org.opencontainers.image.description'] = s('description')!;
  if (s('name')) annotations['org.opencontainers.image.title'] = s('name')!;
  if (s('version')) annotations['org.opencontainers.image.version'] = s('version')!;
  if (s('home')) annotations['org.opencontainers.image.url'] = s('home')!;
  if (Array.isArray(chart.sources) && typeof chart.sources[0] === 'string') annotations['org.opencontainers.image.source'] = chart.sources[0];
  const manifest: Manifest = { schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config: configDesc, layers: [layer], annotations };
  return put(MEDIA_TYPE_IMAGE_MANIFEST, Buffer.from(JSON.stringify(manifest)));
}

async function describeCached(cache: ChartCache, manifest: Descriptor, loc: ReturnType<typeof chartLocation>, cached: boolean): Promise<FetchedChart> {
  const repository = loc.kind === 'oci' ? repositoryFromURL(`${loc.registry}/${loc.path}`) : repositoryFromURL(`${new URL(loc.base).host}${new URL(loc.base).pathname}/${loc.name}`);
  return describeChart(cache, manifest, { repository, origin: loc.kind, cached, name: loc.name });
}

/** describeChart describes a chart held in the cache; `name` is used when its config names none. */
export async function describeChart(cache: ChartCache, manifest: Descriptor, at: { repository: string; origin: FetchedChart['origin']; cached: boolean; name: string }): Promise<FetchedChart> {
  const m = manifestFromJSON(await readAll(await cache.store.fetch(manifest), manifest), manifest.digest);
  const layer = m.layers.find((l) => l.mediaType === MEDIA_TYPE_HELM_CHART);
  if (!layer) throw new ChartError('INVALID', `${manifest.digest}: cached chart has no chart layer`);
  const meta = JSON.parse((await readAll(await cache.store.fetch(m.config), m.config)).toString('utf8')) as Record<string, unknown>;
  const name = String(meta.name ?? at.name);
  const version = String(meta.version ?? '');
  const out: FetchedChart = {
    manifest: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size },
    config: m.config,
    layer,
    name,
    version,
    annotations: isPlainObject(meta.annotations) ? Object.fromEntries(Object.entries(meta.annotations).map(([k, v]) => [k, String(v)])) : {},
    repository: at.repository,
    tag: ociTag(version),
    archive: cache.blobFile(layer),
    origin: at.origin,
    cached: at.cached,
  };
  if (typeof meta.icon === 'string') out.icon = meta.icon;
  return out;
}

/** RegistryCredentialsConfig is a `helmCharts[].registryCredentialsConfig` (Sveltos field names). */
export interface RegistryCredentialsConfig {
  credentials?: { name?: string; namespace?: string };
  key?: string;
  ca?: { name?: string; namespace?: string };
  insecureSkipTLSVerify?: boolean;
  plainHTTP?: boolean;
}

/**
 * chartAccess reads a chart's registryCredentialsConfig against the `--from` objects as addon-controller
 * does: the credentials Secret is a `kubernetes.io/dockerconfigjson` (the entry for the repository host,
 * from `key` or the first data key) or holds `username`/`password`; the CA Secret holds `ca.crt`. Empty
 * namespaces are `defaultNamespace` (the cluster's).
 */
export function chartAccess(repositoryURL: string, cfg: RegistryCredentialsConfig | undefined, objects: KubeObject[], defaultNamespace: string): Pick<ChartRequest, 'credentials' | 'ca' | 'plainHTTP' | 'insecureSkipTLSVerify'> {
  if (!cfg) return {};
  const out: Pick<ChartRequest, 'credentials' | 'ca' | 'plainHTTP' | 'insecureSkipTLSVerify'> = {};
  if (cfg.plainHTTP) out.plainHTTP = true;
  if (cfg.insecureSkipTLSVerify) out.insecureSkipTLSVerify = true;
  const secret = (ref: { name?: string; namespace?: string }, what: string) => {
    const ns = ref.namespace || defaultNamespace;
    const s = objects.find((o) => o.kind === 'Secret' && o.apiVersion === 'v1' && o.metadata.name === ref.name && o.metadata.namespace === ns);
    if (!s) throw new ChartError('INVALID', `${repositoryURL}: registryCredentialsConfig.${what}: Secret ${ns}/${ref.name} not found in --from`);
    const data = (isPlainObject(s.data) ? s.data : {}) as Record<string, string>;
    return { secret: s, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64')])) as Record<string, Buffer>, id: `${ns}/${ref.name}` };
  };
  const host = new URL(repositoryURL.replace(/^oci:/, 'http:')).host;
  if (cfg.credentials?.name) {
    const { secret: s, data, id } = secret(cfg.credentials, 'credentials');
    if (s.type === 'kubernetes.io/dockerconfigjson') {
      const raw = cfg.key ? data[cfg.key] : data['.dockerconfigjson'] ?? Object.values(data)[0];
      if (!raw) throw new ChartError('INVALID', `${repositoryURL}: Secret ${id} has no key ${cfg.key ?? '.dockerconfigjson'}`);
      out.credentials = dockerConfigAuth(raw, host, id);
    } else {
      const username = data.username?.toString('utf8') ?? '';
      const password = data.password?.toString('utf8') ?? '';
      if (username || password) {
        if (!username || !password) throw new ChartError('INVALID', `invalid '${id}' secret data: required fields 'username' and 'password'`);
        out.credentials = { username, password };
      }
    }
  }
  if (cfg.ca?.name) {
    const { data, id } = secret(cfg.ca, 'ca');
    if (!data['ca.crt']) throw new ChartError('INVALID', `${repositoryURL}: Secret ${id} contains no key ca.crt`);
    out.ca = data['ca.crt'];
  }
  return out;
}

function dockerConfigAuth(raw: Buffer, host: string, id: string): RegistryCredentials {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ChartError('INVALID', `unable to load Docker config from Secret '${id}': ${(err as Error).message}`, { cause: err });
  }
  // Keys may be URLs or host names; they are compared as Docker does, by host.
  const found = findAuthEntry(doc, host);
  if (!found || !isPlainObject(found.entry)) throw new ChartError('INVALID', `no auth config for '${host}' in the docker-registry Secret '${id}'`);
  const creds = entryCredentials(found.entry);
  if (!creds || !('username' in creds) || !creds.password) throw new ChartError('INVALID', `invalid '${id}' secret data: required fields 'username' and 'password'`);
  return creds;
}

