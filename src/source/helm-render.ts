// Rendering charts with the real helm binary (v4, as addon-controller now renders, or v3), the way addon-controller does in pull mode: a client-side
// install dry run with CRDs included, hooks kept apart, `.Capabilities.KubeVersion` chosen explicitly.
// `helm template` prints exactly that release: CRDs and manifest first (Helm's install order), then hooks.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ValidationError } from '../errors.js';
import { isPlainObject, type KubeObject } from '../model/sveltos.js';
import { KUBERNETES_YAML, readKubernetesYAML } from '../model/yaml-block.js';
import { ANNOTATION_HOOK, type HelmHook, type RenderedRelease } from '../resolve/helm-split.js';
import { defaultRunner, findOnPath, isExecutable, type ProcessRunner } from './process-runner.js';
import type { RenderCache } from './render-cache.js';

/** Kubernetes version given to `helm template` when neither `--kube-version` nor the cluster's `status.version` says. */
export const DEFAULT_KUBE_VERSION = 'v1.32.0';
/** Environment variable naming the helm binary (after `--helm`, before PATH). */
export const HELM_ENV = 'SVELTOS_AIRGAP_HELM';

/** HelmError is a failure of the helm binary: missing, or refusing to render a chart. */
export class HelmError extends ValidationError {}

/** findHelm returns the helm binary to use: `explicit`, then `$SVELTOS_AIRGAP_HELM`, then `helm` on PATH. */
export async function findHelm(explicit?: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const named = explicit ?? env[HELM_ENV];
  if (named) {
    if (await isExecutable(named)) return named;
    throw new HelmError('USAGE', `${explicit ? '--helm' : `$${HELM_ENV}`} ${named}: not an executable file`);
  }
  const found = await findOnPath('helm', env);
  if (found) return found;
  throw new HelmError('USAGE', `helm: not found on PATH; install helm v4 (or v3) or name it with --helm PATH or $${HELM_ENV}`);
}

/** HelmVersion is what `helm version` says: the version and its major (3 or 4, the ones `helm template` is used with). */
export interface HelmVersion {
  version: string;
  major: 3 | 4;
}

/**
 * helmVersion asks the binary its version. `helm template` takes the same flags in v3 and v4 for what
 * we pass (release, chart, namespace, --include-crds, --kube-version, --values), and the two print the
 * same manifests for the charts we test; another major is refused, naming what was found.
 */
export async function helmVersion(helm: string, runner: ProcessRunner = defaultRunner): Promise<HelmVersion> {
  let result;
  try {
    result = await runner.run(helm, ['version', '--template', '{{.Version}}'], { env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } });
  } catch (err) {
    throw new HelmError('USAGE', `${helm}: cannot run helm (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  const version = result.stdout.trim();
  const major = /^v?(\d+)\./.exec(version)?.[1];
  if (result.code !== 0 || (major !== '3' && major !== '4')) {
    throw new HelmError('USAGE', `${helm}: expected helm v3 or v4, found ${result.code === 0 ? JSON.stringify(version) : `a program that fails \`version\` (exit ${result.code})`}; name another with --helm PATH or $${HELM_ENV}`);
  }
  return { version, major: Number(major) as 3 | 4 };
}

/**
 * knownHelmVersion is helmVersion asked once per binary: the answer is kept in the render cache under the
 * binary's identity, as renders are (another binary, or this one changed, is asked anew), so an export
 * whose renders are all kept runs no helm at all.
 */
export async function knownHelmVersion(helm: string, cache: RenderCache): Promise<HelmVersion> {
  const key = await cache.keyOf(helm, ['helm version']);
  const kept = await cache.get(key);
  let doc: unknown;
  try {
    doc = kept === undefined ? undefined : JSON.parse(kept);
  } catch {
    doc = undefined; // not what this key keeps: ask again
  }
  if (isPlainObject(doc) && typeof doc.version === 'string' && (doc.major === 3 || doc.major === 4)) return { version: doc.version, major: doc.major };
  const version = await helmVersion(helm);
  await cache.put(key, JSON.stringify(version));
  return version;
}

export interface RenderOptions {
  helm: string;
  /** A chart archive (.tgz) or directory. */
  chart: string;
  releaseName: string;
  releaseNamespace: string;
  /** Values as YAML or JSON text (already merged); empty for none. */
  values: string;
  /** `.Capabilities.KubeVersion`, e.g. `v1.30.2`. */
  kubeVersion: string;
  /**
   * An empty private directory for helm's HOME and HELM_*_HOME (`helm template` writes nothing there);
   * many renders may share one. Unset: a temporary one for this render.
   */
  home?: string;
  /** Runs helm. Default: the shared runner (see process-runner.ts). */
  runner?: ProcessRunner;
  signal?: AbortSignal;
}

/**
 * goRuntimeEnv tunes the Go runtime of a `helm template` process, which lives about 0.1 s and spends close to
 * a tenth of its CPU in garbage collection and idle threads: collections 5x less often (the heap may grow to
 * five times what is live) and one thread (renders already run one per core). Values the user set win.
 */
export function goRuntimeEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const defaults: Record<string, string> = { GOGC: '400', GOMAXPROCS: '1' };
  return Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, env[k] || v]));
}

/** TEMPLATE_FLAGS are the flags of every render besides release, namespace, Kubernetes version and values. */
export const TEMPLATE_FLAGS: readonly string[] = ['--include-crds'];

/**
 * renderChart runs `helm template --include-crds` and returns the release split into manifest and hooks
 * (see helmTemplate).
 */
export async function renderChart(opts: RenderOptions): Promise<RenderedRelease> {
  return parseTemplateOutput(await helmTemplate(opts), `helm template ${opts.releaseName}`);
}

/** helmEnv is the environment helm runs with: a private home (its caches and configuration there), PATH and Go's runtime settings. */
export function helmEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    ...goRuntimeEnv(process.env),
  };
}

/**
 * helmTemplate runs `helm template --include-crds` and returns what it printed. helm runs with private
 * HELM_*_HOME directories, so no user repository or plugin configuration leaks in; the values reach it on
 * stdin.
 */
export async function helmTemplate(opts: RenderOptions): Promise<string> {
  if (!opts.home) {
    const home = await mkdtemp(join(tmpdir(), 'sveltos-airgap-helm-'));
    try {
      return await helmTemplate({ ...opts, home });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }
  const home = opts.home;
  const args = ['template', opts.releaseName, opts.chart, '--namespace', opts.releaseNamespace, ...TEMPLATE_FLAGS, '--kube-version', opts.kubeVersion, '--values', '-'];
  const env = helmEnv(home);
  let result;
  try {
    result = await (opts.runner ?? defaultRunner).run(opts.helm, args, { env, input: opts.values || '{}', ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HelmError('USAGE', `${opts.helm}: cannot run helm (not found)`, { cause: err });
    throw err;
  }
  if (result.code !== 0) {
    // helm's own advice about its --debug flag does not apply to the user of this tool.
    const said = result.stderr.split('\n').filter((l) => l.trim() && !/^Use --debug flag/.test(l)).slice(-5).join('\n');
    throw new HelmError('INVALID', `helm template ${opts.releaseName} (${opts.releaseNamespace}): ${said || `exit code ${result.code}`}`, {
      details: { releaseName: opts.releaseName, releaseNamespace: opts.releaseNamespace, exitCode: result.code },
    });
  }
  return result.stdout;
}

/**
 * parseYamlStream parses a YAML stream as Kubernetes reads it (YAML 1.1 as sigs.k8s.io/yaml reads it; timestamps
 * stay strings, as goyaml keeps them in interface{} values); empty documents are skipped. Plain block YAML, what
 * most templates print, is read by the fast reader; anything else by the library, which also reports errors.
 */
export function parseYamlStream(text: string, where: string): unknown[] {
  const fast = readKubernetesYAML(text);
  if (fast) return fast.filter((v) => v !== null && v !== undefined);
  const docs = parseAllDocuments(text, KUBERNETES_YAML);
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new HelmError('INVALID', `${where}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const v = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

// asObjects checks a parsed document is an object and expands `v1 List` documents into their items.
function asObjects(v: unknown, where: string): KubeObject[] {
  if (!isPlainObject(v) || typeof v.kind !== 'string' || typeof v.apiVersion !== 'string') {
    throw new HelmError('INVALID', `${where}: expected a Kubernetes object with apiVersion and kind`);
  }
  if (v.kind === 'List' && v.apiVersion === 'v1') {
    return (Array.isArray(v.items) ? v.items : []).flatMap((item, i) => asObjects(item, `${where}: items[${i}]`));
  }
  if (!isPlainObject(v.metadata)) v.metadata = {};
  return [v as KubeObject];
}

/**
 * hookEvents reads a `helm.sh/hook` annotation as Helm does (releaseutil's manifest sorter): events are
 * trimmed and lower-cased, and Helm 2's `test-success` is the `test` event.
 */
export function hookEvents(annotation: string): string[] {
  return annotation.split(',').map((e) => {
    const ev = e.trim().toLowerCase();
    return ev === 'test-success' ? 'test' : ev;
  });
}

/**
 * parseTemplateOutput splits `helm template` output into the manifest and the hooks. A document is a
 * hook when it carries `helm.sh/hook` and does not come from a chart's `crds/` directory (Helm never
 * treats those as hooks). Hook events are read as Helm reads them (`hookEvents`).
 */
export function parseTemplateOutput(text: string, where: string): RenderedRelease {
  const manifest: KubeObject[] = [];
  const hooks: HelmHook[] = [];
  const chartCrds = new Set<KubeObject>();
  let source = '';
  // Documents are separated by `---` lines; `# Source: <path>` names the template file of what follows.
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const m = /^# Source: (.+)$/m.exec(chunk);
    if (m) source = m[1]!.trim();
    for (const doc of parseYamlStream(chunk, `${where}: ${source || 'output'}`)) {
      const objects = asObjects(doc, `${where}: ${source}`);
      const head = objects[0];
      const hook = (doc as KubeObject).metadata?.annotations?.[ANNOTATION_HOOK];
      // A chart's crds/ directory sits at its root (a subchart's under charts/<name>/); templates/crds/ is a template.
      const fromCrdsDir = /^[^/]+(?:\/charts\/[^/]+)*\/crds\//.test(source);
      if (typeof hook === 'string' && !fromCrdsDir && head) {
        hooks.push({ events: hookEvents(hook), objects });
      } else {
        manifest.push(...objects);
        if (fromCrdsDir) for (const o of objects) chartCrds.add(o);
      }
    }
  }
  return { manifest, hooks, chartCrds };
}

/**
 * mergeHelmValues merges chart values as Sveltos does: the `values` text first, then every valuesFrom
 * entry used as is, then every templated one, each merged over the result (maps merged key by key, any
 * other value replaced, null included). Returns JSON text (JSON is YAML) ready for `helm --values`.
 */
export function mergeHelmValues(values: string, plain: string[] = [], templated: string[] = []): string {
  const parse = (text: string, where: string): Record<string, unknown> => {
    const docs = text.trim() === '' ? [] : parseYamlStream(text, where);
    const v = docs[0];
    if (v === undefined) return {};
    if (!isPlainObject(v)) throw new HelmError('INVALID', `${where}: expected a YAML map of values, found ${Array.isArray(v) ? 'a list' : typeof v}`);
    return v;
  };
  let result = parse(values, 'values');
  [...plain, ...templated].forEach((text, i) => {
    result = mergeInto(result, parse(text, `valuesFrom[${i}]`));
  });
  return JSON.stringify(result);
}

function mergeInto(dst: Record<string, unknown>, src: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...dst };
  for (const [k, v] of Object.entries(src)) {
    const d = out[k];
    out[k] = isPlainObject(d) && isPlainObject(v) ? mergeInto(d, v) : v;
  }
  return out;
}
