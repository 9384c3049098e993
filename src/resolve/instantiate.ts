// Template instantiation as addon-controller does it (template_instantiation.go, libsveltos
// lib/template): Go text/template with `missingkey=error` and Sveltos's function map over
// {Cluster, KubeadmControlPlane, InfrastructureProvider, MgmtResources}.

import { parse } from 'yaml';
import { isPlainObject } from '../model/sveltos.js';
import { goYAMLTags } from '../model/yaml11.js';
import { sigsYAMLMarshal } from './goyaml.js';
import { parseTemplate, sveltosFuncs, sveltosTemplateFuncs, toGoValue, type ParsedTemplate } from '../gotemplate/index.js';

/** TemplateContext is what a template of one (profile, cluster) sees. */
export interface TemplateContext {
  clusterNamespace: string;
  clusterName: string;
  /** The SveltosCluster as a map (status removed). */
  cluster: Record<string, unknown>;
  /** templateResourceRefs objects by identifier. */
  mgmtResources: Record<string, Record<string, unknown>>;
  /** Parsed templates shared by the contexts of one plan; each text is parsed anew without it. */
  templates?: TemplateCache;
}

/** TEMPLATE_LIMITS bound one template execution (hostile input). */
export const TEMPLATE_LIMITS = { maxOutputBytes: 16 * 1024 * 1024, maxSteps: 5_000_000 };

/**
 * TemplateCache keeps parsed templates by text, so that a text every cluster renders is parsed
 * once. It holds at most `max` texts, dropping the oldest first.
 */
export class TemplateCache {
  readonly #parsed = new Map<string, ParsedTemplate>();
  constructor(readonly max = 4096) {}

  /** parse returns `text` parsed under `name` with the Sveltos functions. Throws TemplateError. */
  parse(text: string, name: string): ParsedTemplate {
    const hit = this.#parsed.get(text);
    if (hit) return hit.withName(name);
    const t = parseTemplate(text, { name, missingKey: 'error', funcs: sveltosTemplateFuncs({ mgmtResources: {} }), ...TEMPLATE_LIMITS });
    if (this.#parsed.size >= this.max) this.#parsed.delete(this.#parsed.keys().next().value!);
    this.#parsed.set(text, t);
    return t;
  }
}

// render parses (through the context's cache, when it has one) and executes `text`; the
// functions see `mgmtResources`.
function render(text: string, data: unknown, name: string, ctx: TemplateContext, mgmtResources: TemplateContext['mgmtResources']): string {
  if (!ctx.templates) {
    return parseTemplate(text, { name, missingKey: 'error', funcs: sveltosTemplateFuncs({ mgmtResources }), ...TEMPLATE_LIMITS }).execute(data);
  }
  return ctx.templates.parse(text, name).execute(data, { funcs: sveltosFuncs({ mgmtResources }) });
}

/** hasTemplate tells whether text holds a template action; text without one renders to itself. */
export function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

/**
 * instantiate renders `text` as addon-controller's instantiateTemplateValues: template name
 * `<clusterNamespace>-<clusterName>-<requestor>`, missing keys are errors. Throws TemplateError.
 */
export function instantiate(text: string, ctx: TemplateContext, requestor: string): string {
  if (!hasTemplate(text)) return text;
  const data = toGoValue({
    Cluster: ctx.cluster,
    KubeadmControlPlane: {},
    InfrastructureProvider: {},
    MgmtResources: ctx.mgmtResources,
  });
  return render(text, data, `${ctx.clusterNamespace}-${ctx.clusterName}-${requestor}`, ctx, ctx.mgmtResources);
}

/**
 * instantiateReference renders a reference name or namespace as libsveltos's
 * renderClusterTemplate: data {Cluster, ClusterNamespace, ClusterName}; an empty namespace means
 * the cluster's namespace. (libsveltos uses html/template there; a valid object name never holds
 * the characters it would escape.)
 */
export function instantiateReference(text: string, ctx: TemplateContext): string {
  if (text === '') return ctx.clusterNamespace;
  if (!hasTemplate(text)) return text;
  const data = toGoValue({ Cluster: ctx.cluster, ClusterNamespace: ctx.clusterNamespace, ClusterName: ctx.clusterName });
  return render(text, data, `${ctx.clusterNamespace}-${ctx.clusterName}-Sveltos`, ctx, {});
}

/**
 * instantiateFields templates every field of a HelmChart as addon-controller's
 * instantiateStructFields: each field is marshaled to YAML (sigs.k8s.io/yaml), rendered, and
 * read back. Fields whose YAML holds no action are kept as they are.
 */
export function instantiateFields(obj: Record<string, unknown>, ctx: TemplateContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const text = sigsYAMLMarshal(v);
    if (!hasTemplate(text)) {
      out[k] = v;
      continue;
    }
    const rendered = instantiate(text, ctx, 'chart-name');
    let back = parse(rendered, { version: '1.1', customTags: goYAMLTags, maxAliasCount: 1000 }) as unknown;
    // sigs.k8s.io/yaml reads a number or bool into a string field as its text.
    if (typeof v === 'string' && back !== null && typeof back !== 'string' && !isPlainObject(back) && !Array.isArray(back)) {
      back = String(back);
    }
    if (typeof v === 'string' && back === null) back = '';
    out[k] = back;
  }
  return out;
}
