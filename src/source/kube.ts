// Loader for `--from` directories: Kubernetes objects from YAML/JSON files, read as Kubernetes reads
// them (YAML 1.1: `0644` is octal, `on` is a bool). Every problem is collected with file, line and field path.
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { goYAMLTags } from '../model/yaml11.js';
import { ValidationError } from '../errors.js';
import { expansionLimit, expansionUnits } from '../model/expansion.js';
import {
  apiVersionProblem,
  CLUSTER_SCOPED_KINDS,
  checkObject,
  describe,
  formatPath,
  isKnownKind,
  isPlainObject,
  objectKey,
  sourceOf,
  withSource,
  type KubeObject,
} from '../model/sveltos.js';

/** LoadError is one problem in one input file; `path` is the field path inside the object, if any. */
export interface LoadError {
  file: string;
  line: number;
  path?: string;
  message: string;
}

/** LoadOptions bounds what one run reads. */
export interface LoadOptions {
  /** Largest file read, in bytes. Default 16 MiB; larger files are reported, not read. */
  maxFileBytes?: number;
  /** Largest number of alias dereferences per document (billion-laughs guard). Default 1000. */
  maxAliasCount?: number;
  /** Deepest directory nesting followed. Default 32. */
  maxDepth?: number;
}

export const DEFAULT_LOAD_OPTIONS: Required<LoadOptions> = {
  maxFileBytes: 16 * 1024 * 1024,
  maxAliasCount: 1000,
  maxDepth: 32,
};

const EXTENSIONS = /\.(ya?ml|json)$/i;

/**
 * loadObjects reads every `*.yaml|*.yml|*.json` file under `dirs` (recursively, in sorted order; a path
 * may also name a file) and returns the objects and every problem found. Objects remember where they
 * came from (`sourceOf`). Unknown kinds are kept; Secrets get `stringData` merged into `data`.
 */
export async function loadObjects(
  dirs: string[],
  opts: LoadOptions = {},
): Promise<{ objects: KubeObject[]; errors: LoadError[] }> {
  const o = { ...DEFAULT_LOAD_OPTIONS, ...opts };
  const objects: KubeObject[] = [];
  const errors: LoadError[] = [];
  const files: string[] = [];
  for (const d of dirs) await collectFiles(d, 0, o.maxDepth, files, errors, true);
  const seen = new Map<string, KubeObject>();
  for (const file of files) {
    let text: string;
    try {
      const st = await stat(file);
      if (st.size > o.maxFileBytes) {
        errors.push({ file, line: 0, message: `file is ${st.size} bytes, expected at most ${o.maxFileBytes}` });
        continue;
      }
      text = await readFile(file, 'utf8');
    } catch (err) {
      errors.push({ file, line: 0, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    for (const obj of parseObjects(text, file, errors, o.maxAliasCount)) {
      const key = objectKey(obj);
      const prev = seen.get(key);
      if (prev) {
        const p = sourceOf(prev);
        const loc = sourceOf(obj);
        errors.push({
          file,
          line: loc?.line ?? 0,
          message: `${obj.kind} ${nsName(obj)} is defined twice, first at ${p?.file}:${p?.line}`,
        });
        continue;
      }
      seen.set(key, obj);
      objects.push(obj);
    }
  }
  return { objects, errors };
}

/** loadObjectsOrThrow is `loadObjects` that throws one ValidationError listing every problem. */
export async function loadObjectsOrThrow(dirs: string[], opts?: LoadOptions): Promise<KubeObject[]> {
  const { objects, errors } = await loadObjects(dirs, opts);
  if (errors.length > 0) {
    throw new ValidationError('INVALID', `${errors.length} problem(s) in the input:\n${errors.map(formatLoadError).join('\n')}`, {
      details: { errors },
      fields: errors.map((e) => e.path ?? ''),
    });
  }
  return objects;
}

/** formatLoadError renders `file:line: path: message`. */
export function formatLoadError(e: LoadError): string {
  return `${e.file}:${e.line}: ${e.path ? `${e.path}: ` : ''}${e.message}`;
}

function nsName(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

async function collectFiles(
  path: string,
  depth: number,
  maxDepth: number,
  out: string[],
  errors: LoadError[],
  top: boolean,
): Promise<void> {
  let st;
  try {
    // Symlinks are followed only when named on the command line: a link inside a tree could loop or escape it.
    st = top ? await stat(path) : await lstat(path);
  } catch (err) {
    errors.push({ file: path, line: 0, message: `cannot read: ${(err as Error).message}` });
    return;
  }
  if (st.isFile()) {
    if (top || EXTENSIONS.test(path)) out.push(path);
    return;
  }
  if (!st.isDirectory()) return;
  if (depth >= maxDepth) {
    errors.push({ file: path, line: 0, message: `directory nesting deeper than ${maxDepth}, not read` });
    return;
  }
  let entries: Dirent[];
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (err) {
    errors.push({ file: path, line: 0, message: `cannot list: ${(err as Error).message}` });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(path, e.name);
    if (e.isDirectory()) await collectFiles(p, depth + 1, maxDepth, out, errors, false);
    else if (e.isFile() && EXTENSIONS.test(e.name)) out.push(p);
  }
}

/**
 * parseObjects parses one file's text (a YAML stream; JSON is YAML) into objects, pushing problems
 * into `errors`. Empty documents are skipped; `kind: List` documents are expanded into their items.
 */
export function parseObjects(text: string, file: string, errors: LoadError[], maxAliasCount = DEFAULT_LOAD_OPTIONS.maxAliasCount): KubeObject[] {
  const lc = new LineCounter();
  const out: KubeObject[] = [];
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { version: '1.1', lineCounter: lc, customTags: goYAMLTags, uniqueKeys: true }) as Document.Parsed[];
  } catch (err) {
    errors.push({ file, line: 0, message: `not YAML: ${(err as Error).message}` });
    return out;
  }
  if (!Array.isArray(docs)) docs = [docs];
  for (const [di, doc] of docs.entries()) {
    const docNo = di + 1;
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lc.linePos(start).line;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        errors.push({ file, line: e.linePos?.[0]?.line ?? line, message: `invalid YAML: ${e.message.split('\n')[0]}` });
      }
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (err) {
      errors.push({ file, line, message: `invalid YAML: ${(err as Error).message}` });
      continue;
    }
    // maxAliasCount alone lets a few aliases of a long list through; bound what they expand to.
    const limit = expansionLimit(text.length);
    if (expansionUnits(value, limit) > limit) {
      errors.push({ file, line, message: `invalid YAML: aliases expand the document beyond ${limit} nodes, more than ${text.length} characters hold without aliases (an alias bomb)` });
      continue;
    }
    if (value === null || value === undefined) continue;
    const problems: { path: (string | number)[]; message: string }[] = [];
    value = normalize(value, [], problems);
    for (const p of problems) errors.push(locate(doc, lc, file, p.path, p.message));
    if (problems.length > 0) continue;
    if (!isPlainObject(value)) {
      errors.push({ file, line, message: `expected a Kubernetes object (a mapping), found ${describe(value)}` });
      continue;
    }
    if (value.kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item, i) => {
        const obj = accept(item, doc, docNo, lc, file, ['items', i], errors);
        if (obj) out.push(obj);
      });
      continue;
    }
    const obj = accept(value, doc, docNo, lc, file, [], errors);
    if (obj) out.push(obj);
  }
  return out;
}

function accept(
  value: unknown,
  doc: Document.Parsed,
  docNo: number,
  lc: LineCounter,
  file: string,
  base: (string | number)[],
  errors: LoadError[],
): KubeObject | undefined {
  const line = lineOf(doc, lc, base);
  const problems = checkObject(value);
  const version = problems.length === 0 ? apiVersionProblem(value as KubeObject) : undefined;
  if (version) {
    const o = value as KubeObject;
    errors.push(locate(doc, lc, file, [...base, 'apiVersion'], `${o.kind} ${nsName(o)} (document ${docNo}): ${version}`));
    return undefined;
  }
  if (problems.length > 0) {
    const what = isPlainObject(value) && typeof value.kind === 'string' ? `${value.kind}: ` : '';
    for (const p of problems) {
      errors.push(locate(doc, lc, file, [...base, ...p.path], what + p.message));
    }
    return undefined;
  }
  const obj = value as KubeObject;
  if (isKnownKind(obj)) {
    if (CLUSTER_SCOPED_KINDS.has(obj.kind)) delete obj.metadata.namespace;
    // Namespaced objects without a namespace land in `default`, as `kubectl apply` would put them.
    else if (!obj.metadata.namespace) obj.metadata.namespace = 'default';
    if (obj.kind === 'Secret') mergeStringData(obj);
  }
  return withSource(obj, { file, line });
}

// Kubernetes merges `stringData` into `data` (stringData wins) and never returns stringData.
function mergeStringData(secret: KubeObject): void {
  const sd = secret.stringData as Record<string, string> | undefined;
  if (!sd) return;
  const data = { ...((secret.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(v, 'utf8').toString('base64');
  secret.data = data;
  delete secret.stringData;
}

// Deepest nesting accepted in an object (hostile input; Kubernetes objects stay far below).
const MAX_NESTING = 256;

// normalize turns YAML-only values into JSON ones: `!!binary` becomes its decoded text (as goyaml does),
// non-finite numbers and other non-JSON values are problems.
function normalize(v: unknown, path: (string | number)[], problems: { path: (string | number)[]; message: string }[]): unknown {
  if (path.length > MAX_NESTING) {
    if (!problems.some((p) => p.message.startsWith('expected at most'))) problems.push({ path: path.slice(0, MAX_NESTING), message: `expected at most ${MAX_NESTING} levels of nesting, found more` });
    return null;
  }
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) problems.push({ path, message: `expected a finite number (JSON has no ${String(v)}), found ${String(v)}` });
    return v;
  }
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return v.map((x, i) => normalize(x, [...path, i], problems));
  if (v instanceof Map || v instanceof Set) {
    problems.push({ path, message: `expected a mapping or list, found a YAML ${v instanceof Map ? '!!omap/!!pairs' : '!!set'}` });
    return null;
  }
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalize(x, [...path, k], problems);
    return out;
  }
  problems.push({ path, message: `expected a JSON value, found ${typeof v}` });
  return null;
}

function lineOf(doc: Document.Parsed, lc: LineCounter, path: (string | number)[]): number {
  let node: unknown = doc.contents;
  let best = (doc.contents?.range?.[0] ?? doc.range[0]) as number;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as { value?: unknown } | null;
        return k !== null && typeof k === 'object' && String(k.value) === String(key);
      });
      if (!pair) break;
      const k = pair.key as { range?: [number, number, number] };
      if (k.range) best = k.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      const r = (node as { range?: [number, number, number] } | undefined)?.range;
      if (r) best = r[0];
    } else break;
  }
  return lc.linePos(best).line;
}

function locate(doc: Document.Parsed, lc: LineCounter, file: string, path: (string | number)[], message: string): LoadError {
  const e: LoadError = { file, line: lineOf(doc, lc, path), message };
  const p = formatPath(path);
  if (p) e.path = p;
  return e;
}
