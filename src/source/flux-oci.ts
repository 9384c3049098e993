// Flux OCIRepository sources pulled on the exporting machine as source-controller pulls them, through our
// registry client: `spec.ref` resolved (digest, then semver over the tags `semverFilter` keeps, then tag;
// `latest` when none is given), the first layer of `layerSelector.mediaType` (the first layer when unset)
// fetched and checked against its digest, then extracted and filtered by sourceignore (operation
// `extract`, the default) or taken as it is (`copy`). The revision is named as source-controller names it
// (`<tag>@sha256:<manifest digest>`, or the digest). Layers are cached by digest and each resolved
// reference by its request; `offline` uses the cache only. Credentials come from the `.dockerconfigjson`
// of the secretRef Secret, entry of the registry's host; messages never show them.
import { join } from 'node:path';
import { manifestFromJSON } from '../content/descriptor.js';
import { isAbortError, VerificationError } from '../errors.js';
import { RegistryClient, RegistryError, type RegistryCredentials } from '../registry/client.js';
import { readPublicKey, verifyCosign } from '../registry/cosign-verify.js';
import { entryCredentials, findAuthEntry } from '../registry/docker-config.js';
import { connectionHint, failureText } from '../registry/http.js';
import type { OCIRequest } from '../resolve/flux.js';
import { FluxSourceError, MAX_TREE_BYTES, readBlob, readJSONMap, sha256hex, treeFromArchive, writeAtomic, type FetchedSource, type FluxFetchOptions } from './flux-artifact.js';
import { pickVersion } from './helm.js';

/** The media types of an artifact `flux push artifact` writes. */
export const MEDIA_TYPE_FLUX_CONFIG = 'application/vnd.cncf.flux.config.v1+json';
export const MEDIA_TYPE_FLUX_CONTENT = 'application/vnd.cncf.flux.content.v1.tar+gzip';

interface Resolved {
  revision: string;
  /** The selected layer's sha256 hex. */
  layer: string;
  /** With spec.verify: the SHA-256 of the public key (PEM text) that verified the manifest's cosign signature. */
  verifiedBy?: string;
}

/** fetchOCIRepository returns the revision and files of the source (pulled, or offline from the cache). */
export async function fetchOCIRepository(req: OCIRequest, opts: FluxFetchOptions): Promise<FetchedSource> {
  const where = `OCIRepository ${req.namespace}/${req.name} (${req.url})`;
  const root = join(opts.cacheDir, 'flux', 'oci');
  const indexPath = join(root, 'refs.json');
  const refKey = sha256hex(JSON.stringify([req.url, req.ref, req.layer.mediaType ?? '']));
  let resolved: Resolved;
  let blob: Buffer | undefined;
  if (opts.offline) {
    const hit = (await readJSONMap<Resolved>(indexPath))[refKey];
    blob = hit && (await readBlob(join(root, 'blobs', hit.layer), hit.layer));
    if (!hit || !blob) throw new FluxSourceError('INVALID', `${where}: not in the cache (${root}) and --offline forbids fetching it; export once without --offline with the same --cache-dir`);
    // The cache only vouches for a signature one of today's keys made.
    if (req.verify && !req.verify.keys.some((k) => sha256hex(k.pem) === hit.verifiedBy)) {
      throw new FluxSourceError('INVALID', `${where}: spec.verify: the cached ${hit.revision} was not verified with the keys of spec.verify.secretRef; export once without --offline to verify it`);
    }
    resolved = hit;
  } else {
    const pulled = await pull(req, where, opts.signal);
    resolved = pulled.resolved;
    blob = pulled.blob;
    await writeAtomic(join(root, 'blobs', resolved.layer), blob);
    const index = await readJSONMap<Resolved>(indexPath);
    index[refKey] = resolved;
    await writeAtomic(indexPath, JSON.stringify(index));
  }
  const tree = treeFromArchive(blob, `${where} revision ${resolved.revision}`, req.layer.operation === 'extract' ? { ...(req.ignore !== undefined ? { spec: req.ignore } : {}) } : undefined);
  return { revision: resolved.revision, tree };
}

/** ociCredentials reads the registry's entry of a dockerconfigjson text. */
export function ociCredentials(dockerConfig: string, registry: string, where: string): RegistryCredentials {
  let doc: unknown;
  try {
    doc = JSON.parse(dockerConfig);
  } catch {
    throw new FluxSourceError('INVALID', `${where}: spec.secretRef: .dockerconfigjson is not JSON`);
  }
  const found = findAuthEntry(doc, registry);
  const creds = found && entryCredentials(found.entry);
  if (!creds) throw new FluxSourceError('INVALID', `${where}: spec.secretRef: .dockerconfigjson has no credentials for ${registry}`);
  return creds;
}

async function pull(req: OCIRequest, where: string, signal: AbortSignal | undefined): Promise<{ resolved: Resolved; blob: Buffer }> {
  const rest = req.url.slice('oci://'.length);
  const registry = rest.slice(0, rest.indexOf('/'));
  const repository = rest.slice(rest.indexOf('/') + 1);
  const credentials = req.access.dockerConfig !== undefined ? ociCredentials(req.access.dockerConfig, registry, where) : undefined;
  const client = new RegistryClient({ registry, repository, plainHTTP: Boolean(req.access.plainHTTP), retries: 1, ...(credentials ? { credentials } : {}), ...(req.access.ca ? { ca: req.access.ca } : {}) });
  const op = signal ? { signal } : {};
  try {
    const tag = req.ref.digest ? undefined : req.ref.semver ? await semverTag(client, req, where, op) : (req.ref.tag ?? 'latest');
    const { descriptor, content } = await client.resolveContent(req.ref.digest ?? tag!, op);
    const verifiedBy = req.verify ? await checkSignature(client, descriptor.digest, req.verify.keys, where, op) : undefined;
    let manifest;
    try {
      manifest = manifestFromJSON(content, `${where}@${descriptor.digest}`);
    } catch (err) {
      throw new FluxSourceError('INVALID', `${where}: ${descriptor.mediaType} is not an artifact manifest (${(err as Error).message}); point spec.ref at one manifest`);
    }
    const want = req.layer.mediaType;
    const layer = want ? manifest.layers.find((l) => l.mediaType === want) : manifest.layers[0];
    if (!layer) throw new FluxSourceError('INVALID', `${where}: ${descriptor.digest} has no layer${want ? ` of media type ${want} (spec.layerSelector.mediaType); it has ${manifest.layers.map((l) => l.mediaType).join(', ') || 'none'}` : 's'}`);
    if (layer.size > MAX_TREE_BYTES) throw new FluxSourceError('INVALID', `${where}: layer ${layer.digest} is ${layer.size} bytes, more than ${MAX_TREE_BYTES >> 20} MiB`);
    const chunks: Buffer[] = [];
    // fetch checks the layer's size and digest as it streams.
    for await (const c of await client.fetch(layer, op)) chunks.push(c as Buffer);
    const revision = tag === undefined ? descriptor.digest : `${tag}@${descriptor.digest}`;
    return { resolved: { revision, layer: layer.digest.slice('sha256:'.length), ...(verifiedBy ? { verifiedBy } : {}) }, blob: Buffer.concat(chunks) };
  } catch (err) {
    if (err instanceof FluxSourceError || err instanceof VerificationError || isAbortError(err)) throw err;
    if (err instanceof RegistryError || (err as { code?: string }).code === 'NOT_FOUND') throw new FluxSourceError('INVALID', `${where}: ${(err as Error).message}`, { cause: err });
    throw new FluxSourceError('INVALID', `${where}: ${failureText(err)}${connectionHint(err, registry, { plainHTTP: 'set spec.insecure: true', trust: 'give its CA (ca.crt in the certSecretRef Secret)', address: 'spec.url' })}`, { cause: err });
  } finally {
    await client.close();
  }
}

// checkSignature verifies the artifact's cosign signature with the spec.verify keys, as source-controller does
// before it pulls: one signature by any key is enough. None is a trust failure (exit 2) naming every reason.
async function checkSignature(client: RegistryClient, digest: string, keys: { name: string; pem: string }[], where: string, op: { signal?: AbortSignal }): Promise<string> {
  const read = keys.map((k) => ({ ...k, key: readPublicKey(k.pem) }));
  const bad = read.filter((k) => !k.key).map((k) => k.name);
  if (bad.length) throw new FluxSourceError('INVALID', `${where}: spec.verify.secretRef: ${bad.join(', ')}: expected a PEM public key (ECDSA, RSA or Ed25519)`);
  const result = await verifyCosign(client, digest, read.map((k) => k.key!), op);
  if (!result.verified) {
    throw new VerificationError('SIGNATURE_INVALID', `${where}: spec.verify: no signature of ${digest} verifies with the keys of spec.verify.secretRef (${keys.map((k) => k.name).join(', ')}): ${result.reasons.join('; ')}`, {
      details: { digest },
    });
  }
  return sha256hex(read[result.key]!.pem);
}

// semverTag is the highest tag matching spec.ref.semver among those spec.ref.semverFilter keeps.
async function semverTag(client: RegistryClient, req: OCIRequest, where: string, op: { signal?: AbortSignal }): Promise<string> {
  let tags = await client.tags(op);
  if (req.ref.semverFilter) {
    let re: RegExp;
    try {
      re = new RegExp(req.ref.semverFilter);
    } catch (err) {
      throw new FluxSourceError('INVALID', `${where}: spec.ref.semverFilter: ${(err as Error).message}`);
    }
    tags = tags.filter((t) => re.test(t));
  }
  const tag = pickVersion(req.ref.semver, tags);
  if (!tag) throw new FluxSourceError('INVALID', `${where}: no tag matches spec.ref.semver ${JSON.stringify(req.ref.semver)} (tags: ${tags.slice(0, 20).join(', ') || 'none'})`);
  return tag;
}
