// Parsing of descriptors, manifests and indexes from untrusted JSON. Every bad field is reported as a dot path.
import { ContentError } from '../errors.js';
import {
  isIndexMediaType,
  isManifestMediaType,
  type Descriptor,
  type Index,
  type Manifest,
} from '../model/oci.js';
import { isDigest, parseDigest } from './digest.js';
import { isPlainObject } from '../model/json.js';

const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function fail(where: string, message: string, found?: unknown): never {
  throw new ContentError('INVALID_LAYOUT', `${where}: ${message}`, { details: { field: where, found } });
}


function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isPlainObject(v)) fail(where, 'expected an object of strings', v);
  for (const [k, val] of Object.entries(v)) if (typeof val !== 'string') fail(`${where}.${k}`, 'expected a string', val);
  return v as Record<string, string>;
}

/** descriptorFromJSON validates one descriptor: media type, sha256 digest, size a safe non-negative integer. */
export function descriptorFromJSON(v: unknown, where = 'descriptor'): Descriptor {
  if (!isPlainObject(v)) fail(where, 'expected an object', v);
  const { mediaType, digest, size, artifactType, annotations, platform, urls, data } = v;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE_RE.test(mediaType)) fail(`${where}.mediaType`, 'expected a media type', mediaType);
  const d = parseDigest(digest, `${where}.digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ContentError('SIZE_EXCEEDS_LIMIT', `${where}.size: ${d}: expected a non-negative safe integer, got ${JSON.stringify(size)}`, {
      details: { field: `${where}.size`, digest: d, found: size },
    });
  }
  const desc: Descriptor = { mediaType, digest: d, size };
  if (artifactType !== undefined) {
    if (typeof artifactType !== 'string' || !MEDIA_TYPE_RE.test(artifactType)) fail(`${where}.artifactType`, 'expected a media type', artifactType);
    desc.artifactType = artifactType;
  }
  const ann = stringMap(annotations, `${where}.annotations`);
  if (ann) desc.annotations = ann;
  if (platform !== undefined) {
    if (!isPlainObject(platform) || typeof platform.os !== 'string' || typeof platform.architecture !== 'string') fail(`${where}.platform`, 'expected {os, architecture}', platform);
    desc.platform = platform as unknown as Descriptor['platform'];
  }
  if (urls !== undefined) {
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) fail(`${where}.urls`, 'expected an array of strings', urls);
    desc.urls = urls as string[];
  }
  if (data !== undefined) {
    if (typeof data !== 'string') fail(`${where}.data`, 'expected base64', data);
    desc.data = data;
  }
  return desc;
}

function parseJSON(buf: Buffer, where: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new ContentError('INVALID_LAYOUT', `${where}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** manifestFromJSON validates an image manifest document. */
export function manifestFromJSON(buf: Buffer | unknown, where = 'manifest'): Manifest {
  const v = Buffer.isBuffer(buf) ? parseJSON(buf, where) : buf;
  if (!isPlainObject(v)) fail(where, 'expected an object', v);
  if (v.schemaVersion !== 2) fail(`${where}.schemaVersion`, 'expected 2', v.schemaVersion);
  if (v.mediaType !== undefined && (typeof v.mediaType !== 'string' || !isManifestMediaType(v.mediaType))) fail(`${where}.mediaType`, 'expected an image manifest media type', v.mediaType);
  if (!Array.isArray(v.layers)) fail(`${where}.layers`, 'expected an array', v.layers);
  const m: Manifest = {
    schemaVersion: 2,
    config: descriptorFromJSON(v.config, `${where}.config`),
    layers: v.layers.map((l, i) => descriptorFromJSON(l, `${where}.layers[${i}]`)),
  };
  if (typeof v.mediaType === 'string') m.mediaType = v.mediaType;
  if (v.artifactType !== undefined) {
    if (typeof v.artifactType !== 'string' || !MEDIA_TYPE_RE.test(v.artifactType)) fail(`${where}.artifactType`, 'expected a media type', v.artifactType);
    m.artifactType = v.artifactType;
  }
  if (v.subject !== undefined) m.subject = descriptorFromJSON(v.subject, `${where}.subject`);
  const ann = stringMap(v.annotations, `${where}.annotations`);
  if (ann) m.annotations = ann;
  return m;
}

/** indexFromJSON validates an image index (also `index.json` of a layout). */
export function indexFromJSON(buf: Buffer | unknown, where = 'index'): Index {
  const v = Buffer.isBuffer(buf) ? parseJSON(buf, where) : buf;
  if (!isPlainObject(v)) fail(where, 'expected an object', v);
  if (v.schemaVersion !== 2) fail(`${where}.schemaVersion`, 'expected 2', v.schemaVersion);
  if (v.mediaType !== undefined && (typeof v.mediaType !== 'string' || !isIndexMediaType(v.mediaType))) fail(`${where}.mediaType`, 'expected an image index media type', v.mediaType);
  if (!Array.isArray(v.manifests)) fail(`${where}.manifests`, 'expected an array', v.manifests);
  const idx: Index = { schemaVersion: 2, manifests: v.manifests.map((d, i) => descriptorFromJSON(d, `${where}.manifests[${i}]`)) };
  if (typeof v.mediaType === 'string') idx.mediaType = v.mediaType;
  if (typeof v.artifactType === 'string') idx.artifactType = v.artifactType;
  if (v.subject !== undefined) idx.subject = descriptorFromJSON(v.subject, `${where}.subject`);
  const ann = stringMap(v.annotations, `${where}.annotations`);
  if (ann) idx.annotations = ann;
  return idx;
}

/** sameDescriptor compares identity (digest, size, media type). */
export function sameDescriptor(a: Descriptor, b: Descriptor): boolean {
  return a.digest === b.digest && a.size === b.size && a.mediaType === b.mediaType;
}

/** descriptorFromBytes builds the descriptor of an in-memory blob. */
export { isDigest };
