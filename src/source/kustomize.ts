// Building kustomizations with the real kustomize, as addon-controller's buildKustomization does
// (handlers_kustomize.go): load restrictor none, builtin plugins only, no Helm, and the output in input order
// (addon-controller leaves krusty's Reorder unset, so nothing is sorted). The tree is first prepared as
// deployKustomizeRef prepares it: `<path>/kustomization.yaml` read as a map, the profile's components
// appended to `components`, the map written back.
import { posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ValidationError } from '../errors.js';
import { isPlainObject } from '../model/sveltos.js';
import { goYAMLTags } from '../model/yaml11.js';
import { sigsYAMLMarshal } from '../resolve/goyaml.js';
import { goRuntimeEnv } from './helm-render.js';
import type { KustomizeTree } from './kustomize-archive.js';
import { defaultRunner, findOnPath, isExecutable, type ProcessRunner } from './process-runner.js';

/** Environment variable naming the kustomize binary (after `--kustomize`, before PATH). */
export const KUSTOMIZE_ENV = 'SVELTOS_AIRGAP_KUSTOMIZE';

/** KustomizeError is a kustomization that cannot be built: a missing binary, a bad tree, kustomize refusing it. */
export class KustomizeError extends ValidationError {}

/**
 * KustomizeBinary is the program that builds: `kustomize` (`kustomize build --reorder none`) or `kubectl`
 * (`kubectl kustomize`, which has no `--reorder`: the kustomization gets `sortOptions: {order: fifo}`).
 */
export interface KustomizeBinary {
  path: string;
  kind: 'kustomize' | 'kubectl';
}

const kindOf = (path: string): KustomizeBinary['kind'] => (posix.basename(path).includes('kubectl') ? 'kubectl' : 'kustomize');

/**
 * findKustomize returns the binary to build with: `explicit` (`--kustomize`), then `$SVELTOS_AIRGAP_KUSTOMIZE`,
 * then `kustomize` on PATH, then `kubectl` on PATH. A named binary whose file name contains `kubectl` is
 * run as `kubectl kustomize`.
 */
export async function findKustomize(explicit?: string, env: NodeJS.ProcessEnv = process.env): Promise<KustomizeBinary> {
  const named = explicit ?? env[KUSTOMIZE_ENV];
  if (named) {
    if (await isExecutable(named)) return { path: named, kind: kindOf(named) };
    throw new KustomizeError('USAGE', `${explicit ? '--kustomize' : `$${KUSTOMIZE_ENV}`} ${named}: not an executable file`);
  }
  const kustomize = await findOnPath('kustomize', env);
  if (kustomize) return { path: kustomize, kind: 'kustomize' };
  const kubectl = await findOnPath('kubectl', env);
  if (kubectl) return { path: kubectl, kind: 'kubectl' };
  throw new KustomizeError('USAGE', `kustomize: neither kustomize nor kubectl is on PATH; install kustomize v5 or name it with --kustomize PATH or $${KUSTOMIZE_ENV}`);
}

/** buildArgs are the arguments that build `dir` the way addon-controller does, for this binary. */
export function buildArgs(binary: KustomizeBinary, dir: string): string[] {
  return binary.kind === 'kubectl'
    ? ['kustomize', dir, '--load-restrictor', 'LoadRestrictionsNone']
    : ['build', dir, '--load-restrictor', 'LoadRestrictionsNone', '--reorder', 'none'];
}

/** KUSTOMIZATION_FILE is the one name addon-controller reads and rewrites. */
export const KUSTOMIZATION_FILE = 'kustomization.yaml';

// The names kustomize reads a kustomization from.
const KUSTOMIZATION_NAMES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

/** PreparedTree is a tree ready to build: the rewritten kustomization in place and the directory to build. */
export interface PreparedTree {
  tree: KustomizeTree;
  /** The directory to build, relative to the tree root ('' for the root). */
  dir: string;
}

/**
 * prepareTree rewrites `<path>/kustomization.yaml` as addon-controller does: read as a map (sigs.k8s.io/yaml),
 * `components` appended (or created), written back (keys sorted, comments gone) even without components.
 * For `kubectl kustomize` a kustomization without `sortOptions` gets `{order: fifo}` (input order, as
 * addon-controller builds). Every kustomization in the tree is checked to reference nothing outside it.
 * `where` names the reference in errors.
 */
export function prepareTree(tree: KustomizeTree, path: string, components: string[], binary: KustomizeBinary, where: string): PreparedTree {
  const fail = (message: string, details: Record<string, unknown> = {}): never => {
    throw new KustomizeError('INVALID', `${where}: ${message}`, { details: { reference: where, ...details } });
  };
  const dir = treePath('', path);
  if (dir === undefined) return fail(`path ${JSON.stringify(path)} leaves the archive`, { path });
  if (dir !== '' && !tree.has(dir)) fail(`kustomization path not found: ${JSON.stringify(path)} is not in the archive`, { path });
  const file = dir === '' ? KUSTOMIZATION_FILE : `${dir}/${KUSTOMIZATION_FILE}`;
  const entry = tree.get(file);
  if (entry?.type !== 'file') {
    const other = [...KUSTOMIZATION_NAMES].map((n) => (dir === '' ? n : `${dir}/${n}`)).find((p) => tree.get(p)?.type === 'file');
    return fail(`failed to read kustomization.yaml: ${JSON.stringify(file)} is not in the archive${other ? ` (addon-controller reads only kustomization.yaml, not ${posix.basename(other)})` : ''}`, { path });
  }
  let kustomization: unknown;
  try {
    kustomization = readYAML(entry.data.toString('utf8'));
  } catch (err) {
    return fail(`failed to unmarshal kustomization.yaml: ${(err as Error).message}`, { file });
  }
  if (kustomization !== null && !isPlainObject(kustomization)) fail(`failed to unmarshal kustomization.yaml: it is not a mapping`, { file });
  let k = kustomization as Record<string, unknown> | null;
  if (components.length > 0) {
    k = { ...(k ?? {}) };
    k.components = [...(Array.isArray(k.components) ? k.components : []), ...components];
  }
  if (binary.kind === 'kubectl' && (k === null || k.sortOptions === undefined)) k = { ...(k ?? {}), sortOptions: { order: 'fifo' } };
  let text: string;
  try {
    text = sigsYAMLMarshal(k);
  } catch (err) {
    return fail(`failed to marshal modified kustomization: ${(err as Error).message}`, { file });
  }
  const out: KustomizeTree = new Map(tree);
  out.set(file, { type: 'file', data: Buffer.from(text) });
  checkReferences(out, fail);
  return { tree: out, dir };
}

// readYAML is sigs.k8s.io/yaml.Unmarshal into interface{}: the first document, as go-yaml v2 resolves it.
function readYAML(text: string): unknown {
  const docs = parseAllDocuments(text, { version: '1.1', customTags: goYAMLTags, uniqueKeys: false });
  const first = (Array.isArray(docs) ? docs : [docs])[0];
  if (!first) return null;
  if (first.errors.length > 0) throw new Error(first.errors[0]!.message.split('\n')[0]);
  return first.toJS({ maxAliasCount: 1000 }) ?? null;
}

// treePath is where `ref` lands from directory `from` of the tree ('' is the root), or undefined when it
// leaves the tree. An absolute path is taken from the root, as filepath.Join(tmpDir, path) takes it.
function treePath(from: string, ref: string): string | undefined {
  const joined = posix.normalize(ref.startsWith('/') ? ref : posix.join(from || '.', ref));
  if (joined === '..' || joined.startsWith('../')) return undefined;
  return joined.replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.$/, '');
}

// Remote targets kustomize fetches itself (git over https/ssh); `file://` would read the exporting machine.
const REMOTE = /^(https?:\/\/|ssh:\/\/|git::|git@|github\.com\/|gitlab\.com\/|bitbucket\.org\/)/;

/**
 * checkReferences refuses kustomization entries that would make kustomize (load restrictor none) read files
 * outside the archive: absolute paths and paths climbing above the root, in every field naming a file or a
 * directory. Inline content (a string with a newline) and remote targets are left alone.
 */
function checkReferences(tree: KustomizeTree, fail: (m: string, d?: Record<string, unknown>) => never): void {
  for (const [file, e] of tree) {
    if (e.type !== 'file' || !KUSTOMIZATION_NAMES.has(posix.basename(file))) continue;
    let k: unknown;
    try {
      k = readYAML(e.data.toString('utf8'));
    } catch {
      continue; // kustomize reports it
    }
    if (!isPlainObject(k)) continue;
    const dir = posix.dirname(file) === '.' ? '' : posix.dirname(file);
    const check = (field: string, v: unknown) => {
      if (typeof v !== 'string' || v.includes('\n') || REMOTE.test(v)) return;
      const target = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? undefined : v.startsWith('/') ? undefined : treePath(dir, v);
      if (target === undefined) fail(`${file}: ${field}: ${JSON.stringify(v)} is outside the archive (kustomize would read it from this machine)`, { file, field });
    };
    const list = (field: string, v: unknown, each: (f: string, x: unknown) => void = check) => {
      if (Array.isArray(v)) v.forEach((x, i) => each(`${field}[${i}]`, x));
    };
    for (const f of ['resources', 'bases', 'components', 'crds', 'configurations', 'generators', 'transformers', 'validators', 'patchesStrategicMerge']) list(f, k[f]);
    for (const f of ['patches', 'patchesJson6902', 'replacements']) list(f, k[f], (g, x) => isPlainObject(x) && check(`${g}.path`, x.path));
    for (const f of ['configMapGenerator', 'secretGenerator']) {
      list(f, k[f], (g, x) => {
        if (!isPlainObject(x)) return;
        // `files` entries are `[key=]path`.
        list(`${g}.files`, x.files, (h, y) => check(h, typeof y === 'string' ? y.slice(y.indexOf('=') + 1) : y));
        list(`${g}.envs`, x.envs);
        check(`${g}.env`, x.env);
      });
    }
    if (isPlainObject(k.openapi)) check('openapi.path', k.openapi.path);
    if (isPlainObject(k.helmGlobals)) check('helmGlobals.chartHome', k.helmGlobals.chartHome);
  }
}

export interface BuildOptions {
  binary: KustomizeBinary;
  /** The directory to build (absolute). */
  dir: string;
  /** A private empty directory for the program's HOME and configuration (nothing is written there). */
  home: string;
  runner?: ProcessRunner;
  signal?: AbortSignal;
}

/** kustomizeBuild runs the build and returns what kustomize printed; a refusal throws KustomizeError with its message. */
export async function kustomizeBuild(opts: BuildOptions): Promise<string> {
  const env = { PATH: process.env.PATH ?? '', HOME: opts.home, XDG_CONFIG_HOME: posix.join(opts.home, 'config'), ...goRuntimeEnv(process.env) };
  let result;
  try {
    result = await (opts.runner ?? defaultRunner).run(opts.binary.path, buildArgs(opts.binary, opts.dir), { env, ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KustomizeError('USAGE', `${opts.binary.path}: cannot run kustomize (not found)`, { cause: err });
    throw err;
  }
  if (result.code !== 0) {
    // Paths of the private temporary tree mean nothing to the user: show them relative to the archive.
    const said = result.stderr.split(opts.dir).join('<archive>').split('\n').filter((l) => l.trim()).slice(-5).join('\n');
    throw new KustomizeError('INVALID', `kustomize build: ${said || `exit code ${result.code}`}`, { details: { exitCode: result.code } });
  }
  return result.stdout;
}

/** parseKustomizeOutput reads the objects kustomize printed, in order, as sigs.k8s.io/yaml reads them. */
export function parseKustomizeOutput(text: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(text, { version: '1.1', customTags: goYAMLTags });
  const out: Record<string, unknown>[] = [];
  for (const [i, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    if (doc.errors.length > 0) throw new KustomizeError('INVALID', `kustomize output: document ${i + 1}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const v = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (v === null || v === undefined) continue;
    if (!isPlainObject(v) || typeof v.apiVersion !== 'string' || typeof v.kind !== 'string') {
      throw new KustomizeError('INVALID', `kustomize output: document ${i + 1}: expected a Kubernetes object with apiVersion and kind`);
    }
    out.push(v);
  }
  return out;
}
