// Objects carried by a referenced ConfigMap/Secret: every data key parsed as a stream of
// Kubernetes objects the way addon-controller's `collectContent` and libsveltos's `CustomSplit`
// / `GetUnstructured` read them.

import { parseAllDocuments } from 'yaml';
import { describe, isConfigMap, isPlainObject, isSecret, type KubeObject } from '../model/sveltos.js';
import { goYAMLTags } from '../model/yaml11.js';

/** ContentLimits bound what one referenced object may expand to (hostile input). */
export interface ContentLimits {
  /** Largest data value parsed, in bytes. Default 8 MiB. */
  maxValueBytes?: number;
  /** Most objects one data value may hold. Default 10000. */
  maxObjects?: number;
  /** Alias dereferences per document (billion laughs). Default 1000. */
  maxAliasCount?: number;
  /** Deepest nesting of an object. Default 256. */
  maxNesting?: number;
}

export const DEFAULT_CONTENT_LIMITS: Required<ContentLimits> = {
  maxValueBytes: 8 * 1024 * 1024,
  maxObjects: 10_000,
  maxAliasCount: 1000,
  maxNesting: 256,
};

/** ContentError is one data key that cannot be read; the deployment of its profile would fail. */
export interface ContentProblem {
  key: string;
  message: string;
}

/** ParsedObject is one object read from data key `key`. */
export interface ParsedObject {
  key: string;
  object: Record<string, unknown>;
}

// removeCommentsAndEmptyLines mirrors libsveltos: a value holding only comments and blank lines
// carries nothing. (Its comment pattern needs one character after '#' that is not '#'.)
function onlyComments(text: string): boolean {
  return text.replace(/^[ \t\r\f\v]*#([^#\n].*?)$/gm, '').replace(/^\s*$/gm, '').trim() === '';
}

/**
 * parseData reads every data value into objects, keys in sorted order. addon-controller iterates
 * a Go map (random order); sorted keys make the bundle, and its hash, deterministic.
 * A value is a YAML stream; a document that is a list of strings is a list of manifests
 * (CustomSplit); every object must be a mapping with apiVersion, kind and metadata.name.
 */
export function parseData(
  data: Record<string, string>,
  limits: ContentLimits = {},
): { objects: ParsedObject[]; problems: ContentProblem[] } {
  const l = { ...DEFAULT_CONTENT_LIMITS, ...limits };
  const objects: ParsedObject[] = [];
  const problems: ContentProblem[] = [];
  for (const key of Object.keys(data).sort()) {
    const text = data[key]!;
    if (Buffer.byteLength(text) > l.maxValueBytes) {
      problems.push({ key, message: `value is ${Buffer.byteLength(text)} bytes, expected at most ${l.maxValueBytes}` });
      continue;
    }
    const before = objects.length;
    const err = splitInto(text, key, objects, l, 0);
    if (err) {
      objects.length = before;
      problems.push({ key, message: err });
    }
  }
  return { objects, problems };
}

// splitInto parses `text` and appends its objects; returns an error message or undefined.
function splitInto(text: string, key: string, out: ParsedObject[], l: Required<ContentLimits>, level: number): string | undefined {
  if (onlyComments(text)) return undefined;
  let docs;
  try {
    docs = parseAllDocuments(text, { version: '1.1', customTags: goYAMLTags, uniqueKeys: true });
  } catch (err) {
    return `not YAML: ${(err as Error).message}`;
  }
  const list = Array.isArray(docs) ? docs : [docs];
  for (const [i, doc] of list.entries()) {
    const where = list.length > 1 ? `document ${i + 1}: ` : '';
    if (doc.errors.length > 0) return `${where}invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: l.maxAliasCount });
    } catch (err) {
      return `${where}invalid YAML: ${(err as Error).message}`;
    }
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      // CustomSplit: a list of strings is a list of manifests, each parsed in turn.
      if (value.length > 0 && value.every((x) => typeof x === 'string') && level < 4) {
        for (const s of value as string[]) {
          const e = splitInto(s, key, out, l, level + 1);
          if (e) return `${where}${e}`;
        }
        continue;
      }
      return `${where}expected a Kubernetes object (a mapping), found a list`;
    }
    if (!isPlainObject(value)) return `${where}expected a Kubernetes object (a mapping), found ${describe(value)}`;
    const bad = checkContentObject(value, l.maxNesting);
    if (bad) return `${where}${bad}`;
    if (out.length >= l.maxObjects) return `more than ${l.maxObjects} objects`;
    out.push({ key, object: value });
  }
  return undefined;
}

function checkContentObject(o: Record<string, unknown>, maxNesting: number): string | undefined {
  if (typeof o.apiVersion !== 'string' || o.apiVersion === '') return `object without apiVersion (found ${describe(o.apiVersion)})`;
  if (typeof o.kind !== 'string' || o.kind === '') return `object without kind (found ${describe(o.kind)})`;
  const meta = o.metadata;
  if (!isPlainObject(meta) || typeof meta.name !== 'string' || meta.name === '') {
    return `${o.kind}: object without metadata.name`;
  }
  const bad = jsonProblem(o, 0, maxNesting);
  if (bad) return `${o.kind} ${meta.name}: ${bad}`;
  return undefined;
}

// jsonProblem finds a value JSON cannot carry (Sveltos marshals every object to JSON).
function jsonProblem(v: unknown, depth: number, max: number): string | undefined {
  if (depth > max) return `nested deeper than ${max} levels`;
  if (typeof v === 'number' && !Number.isFinite(v)) return `${v} cannot be carried in JSON`;
  if (typeof v === 'bigint') return undefined;
  if (v instanceof Uint8Array || v instanceof Map || v instanceof Set || v instanceof Date) {
    return `a YAML ${v.constructor.name} value cannot be carried in JSON`;
  }
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = jsonProblem(x, depth + 1, max);
      if (p) return p;
    }
  } else if (isPlainObject(v)) {
    for (const x of Object.values(v)) {
      const p = jsonProblem(x, depth + 1, max);
      if (p) return p;
    }
  }
  return undefined;
}

/** referencedData is the string data of a referenced ConfigMap (`data`) or Secret (`data`, decoded); `{}` for another kind. */
export function referencedData(obj: KubeObject): Record<string, string> {
  return isSecret(obj) ? decodeSecretData(obj.data) : isConfigMap(obj) ? { ...(obj.data ?? {}) } : {};
}

/** decodeSecretData turns a Secret's base64 `data` into strings, as addon-controller reads them. */
export function decodeSecretData(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}
