// Reading carried objects layers under limits. Import checks every objects layer before committing, and the
// agent API reads them to serve the objects, so hostile YAML (alias bombs, deep nesting, oversized or
// non-mapping documents) fails here with the layer's digest, the document number and what is wrong.
import type { KeyObject } from 'node:crypto';
import type { Fetcher } from '../content/storage.js';
import { readDocument } from '../content/verify.js';
import { VerificationError } from '../errors.js';
import { MEDIA_TYPE_OBJECTS, MEDIA_TYPE_OBJECTS_ENCRYPTED } from '../model/bundle.js';
import { expansionLimit, expansionUnits } from '../model/expansion.js';
import { isPlainObject } from '../model/json.js';
import { KUBERNETES_YAML, readKubernetesNames, readKubernetesYAML } from '../model/yaml-block.js';
import { yamlLib } from '../model/yaml-lib.js';
import type { Descriptor } from '../model/oci.js';
import { decryptObjects } from './secrets.js';

export interface ObjectsLimits {
  /** Largest objects layer (and decrypted plaintext) read into memory. Default 16 MiB. */
  maxObjectsBytes?: number;
  /** Most alias dereferences per document (the `yaml` library's own guard). Default 1000. */
  maxAliasCount?: number;
  /** Most documents in one layer. Default 10,000. */
  maxDocuments?: number;
}

export const DEFAULT_MAX_OBJECTS_BYTES = 16 * 1024 * 1024;
// One decoder for every layer (decoding whole texts keeps no state between calls).
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const DEFAULT_MAX_ALIAS_COUNT = 1000;
const DEFAULT_MAX_DOCUMENTS = 10_000;

/**
 * nameFields keeps what names a parsed document in an API: its apiVersion, kind, and metadata's name and
 * namespace. A field of another type becomes null (it names nothing); metadata that is not a mapping, null.
 */
export function nameFields(doc: Record<string, unknown>): Record<string, unknown> {
  const text = (v: unknown) => (typeof v === 'string' || v === undefined ? v : null);
  const meta = doc.metadata;
  return { apiVersion: text(doc.apiVersion), kind: text(doc.kind), metadata: isPlainObject(meta) ? { name: text(meta.name), namespace: text(meta.namespace) } : null };
}

/** isObjectsLayer tells whether a layer carries objects (in the clear or encrypted). */
export function isObjectsLayer(layer: Descriptor): boolean {
  return layer.mediaType === MEDIA_TYPE_OBJECTS || layer.mediaType === MEDIA_TYPE_OBJECTS_ENCRYPTED;
}

function invalid(where: string, message: string, details: Record<string, unknown> = {}): VerificationError {
  return new VerificationError('INVALID_OBJECTS', `${where}: ${message}`, { details });
}

/**
 * parseObjects parses an objects YAML stream (YAML 1.1, as Kubernetes reads it) into its documents, each a
 * mapping; empty documents are skipped. `where` names the layer in errors.
 */
export function parseObjects(data: Buffer, where: string, limits: ObjectsLimits = {}): Record<string, unknown>[] {
  return readObjects(data, where, limits, readKubernetesYAML);
}

// readObjects is parseObjects with `block` as the reader of the plain block YAML exports write: a document it
// gives may hold less than the whole object (readKubernetesNames); the library reads what it declines.
function readObjects(data: Buffer, where: string, limits: ObjectsLimits, block: (text: string) => unknown[] | undefined): Record<string, unknown>[] {
  const max = limits.maxObjectsBytes ?? DEFAULT_MAX_OBJECTS_BYTES;
  if (data.length > max) throw invalid(where, `${data.length} bytes of objects, more than the limit of ${max} (--max-objects-bytes)`, { expected: `<= ${max}`, found: data.length });
  let text: string;
  try {
    text = UTF8.decode(data);
  } catch {
    throw invalid(where, 'objects are not valid UTF-8');
  }
  const maxDocs = limits.maxDocuments ?? DEFAULT_MAX_DOCUMENTS;
  // The plain block YAML exports write is read without the library (no aliases: nothing to expand).
  const fast = block(text);
  if (fast && fast.length <= maxDocs) return fast.filter((v): v is Record<string, unknown> => v !== null);
  const docs = yamlLib().parseAllDocuments(text, KUBERNETES_YAML);
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > maxDocs) throw invalid(where, `${list.length} YAML documents, more than the limit of ${maxDocs}`, { expected: `<= ${maxDocs}`, found: list.length });
  const out: Record<string, unknown>[] = [];
  const limit = expansionLimit(text.length);
  for (const [i, doc] of list.entries()) {
    const at = `document ${i + 1}`;
    const first = doc.errors[0];
    if (first) throw invalid(where, `${at}: invalid YAML: ${first.message.split('\n')[0]}`, { document: i + 1 });
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT });
    } catch (err) {
      throw invalid(where, `${at}: invalid YAML: ${(err as Error).message}`, { document: i + 1 });
    }
    if (expansionUnits(value, limit) > limit) {
      throw invalid(where, `${at}: YAML aliases expand the document beyond ${limit} nodes (an alias bomb)`, { document: i + 1, expected: `<= ${limit}` });
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw invalid(where, `${at}: expected a mapping (a Kubernetes object), found ${Array.isArray(value) ? 'a list' : typeof value}`, { document: i + 1 });
    out.push(value as Record<string, unknown>);
  }
  return out;
}

export interface ReadObjectsOptions extends ObjectsLimits {
  /** The site's private keys: needed to read encrypted layers. */
  siteKeys?: KeyObject[];
}

// objectsLayerLimit is the most bytes an objects layer may have; a larger one fails naming the layer.
function objectsLayerLimit(layer: Descriptor, opts: ObjectsLimits): number {
  const max = opts.maxObjectsBytes ?? DEFAULT_MAX_OBJECTS_BYTES;
  // An encrypted layer is base64 inside JSON: allow for the growth.
  const limit = layer.mediaType === MEDIA_TYPE_OBJECTS_ENCRYPTED ? Math.ceil((max * 4) / 3) + 64 * 1024 : max;
  if (layer.size > limit) throw invalid(`objects layer ${layer.digest}`, `${layer.size} bytes, more than the limit of ${limit} (--max-objects-bytes)`, { expected: `<= ${limit}`, found: layer.size });
  return limit;
}

/**
 * objectsOfLayer parses the bytes of an objects layer, already verified against its digest, as
 * readObjectsLayer does (decrypting an encrypted one).
 */
export function objectsOfLayer(layer: Descriptor, data: Buffer, opts: ReadObjectsOptions = {}): Record<string, unknown>[] {
  const [plain, where] = layerYAML(layer, data, opts);
  return parseObjects(plain, where, opts);
}

/**
 * namesOfLayer reads the bytes of an objects layer as objectsOfLayer does (the same checks, the same errors) and
 * gives each document's nameFields; it spares building the rest of each object where it can.
 */
export function namesOfLayer(layer: Descriptor, data: Buffer, opts: ReadObjectsOptions = {}): Record<string, unknown>[] {
  const [plain, where] = layerYAML(layer, data, opts);
  return readObjects(plain, where, opts, readKubernetesNames).map(nameFields);
}

/**
 * prepareNamesReader loads what namesOfLayer needs on its first layer (the `yaml` library, whose tags resolve
 * scalars): a worker calls it while it waits for layers.
 */
export function prepareNamesReader(): void {
  readKubernetesNames('kind: Prepared\n');
}

// layerYAML checks the size of an objects layer and decrypts it when it is encrypted: its YAML, and how errors
// name the layer.
function layerYAML(layer: Descriptor, data: Buffer, opts: ReadObjectsOptions): [Buffer, string] {
  const where = `objects layer ${layer.digest}`;
  objectsLayerLimit(layer, opts);
  return [layer.mediaType === MEDIA_TYPE_OBJECTS_ENCRYPTED ? decryptObjects(data, opts.siteKeys ?? [], where) : data, where];
}

/**
 * readObjectsLayer fetches an objects layer (verified against its digest, bounded), decrypts it when it is
 * encrypted, and parses it. Encrypted layers need `siteKeys`; without a matching key this fails with POLICY.
 */
export async function readObjectsLayer(src: Fetcher, layer: Descriptor, opts: ReadObjectsOptions = {}): Promise<Record<string, unknown>[]> {
  return objectsOfLayer(layer, await fetchObjectsLayer(src, layer, opts), opts);
}

/** readLayerNames fetches an objects layer as readObjectsLayer does and reads it as namesOfLayer does. */
export async function readLayerNames(src: Fetcher, layer: Descriptor, opts: ReadObjectsOptions = {}): Promise<Record<string, unknown>[]> {
  return namesOfLayer(layer, await fetchObjectsLayer(src, layer, opts), opts);
}

// fetchObjectsLayer reads the bytes of an objects layer, verified against its digest, failing past the size limit.
async function fetchObjectsLayer(src: Fetcher, layer: Descriptor, opts: ReadObjectsOptions): Promise<Buffer> {
  return readDocument(src, layer, { limit: objectsLayerLimit(layer, opts) });
}
