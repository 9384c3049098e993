// Kustomize ConfigurationGroups: once each planned kustomizationRef is built, its objects are rendered with
// the substitute values (when there are any), moved to `targetNamespace`, and staged as one bundle per ref
// in a group of feature Kustomize (addon-controller getKustomizedResources, deployKustomizeResources). Pure.

import { createHash } from 'node:crypto';
import { parseTemplate, sveltosTemplateFuncs, toGoValue } from '../gotemplate/index.js';
import { apiGroup, isPlainObject, type ConfigurationBundle, type ConfigurationGroup } from '../model/sveltos.js';
import { parseData } from './content.js';
import { sigsYAMLMarshal, YAMLMarshalError } from './goyaml.js';
import { TEMPLATE_LIMITS } from './instantiate.js';
import type { PlannedKustomizationRef, PlannedKustomize } from './kustomize-plan.js';
import type { ClusterPlan } from './plan.js';
import { driftDetectionBundles, type DriftDetectionContent } from './drift-detection.js';
import { buildBundle, buildGroup } from './pullmode.js';
import type { PlanProblem } from './select.js';

/** KustomizeRenderError is a built kustomization Sveltos would fail to stage: a template or YAML error. */
export class KustomizeRenderError extends Error {
  override name = 'KustomizeRenderError';
}

// The output template sees libsveltos's SveltosFuncMap: Sprig and the YAML/JSON/TOML helpers, without the
// functions over templateResourceRefs (getResource, copy, …), which only instantiateTemplateValues adds.
const RESOURCE_FUNCS = new Set(['getResource', 'copy', 'getField', 'removeField', 'setField', 'chainRemoveField', 'chainSetField']);
let substituteFuncs: ReturnType<typeof sveltosTemplateFuncs> | undefined;
function funcs(): ReturnType<typeof sveltosTemplateFuncs> {
  return (substituteFuncs ??= Object.fromEntries(Object.entries(sveltosTemplateFuncs({ mgmtResources: {} })).filter(([k]) => !RESOURCE_FUNCS.has(k))));
}

// Kinds Kubernetes defines without a namespace (kustomize's list and the API groups since).
const CLUSTER_SCOPED = new Set(
  [
    '/Namespace', '/Node', '/PersistentVolume', '/ComponentStatus',
    'rbac.authorization.k8s.io/ClusterRole', 'rbac.authorization.k8s.io/ClusterRoleBinding',
    'apiextensions.k8s.io/CustomResourceDefinition', 'apiregistration.k8s.io/APIService',
    'admissionregistration.k8s.io/MutatingWebhookConfiguration', 'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
    'admissionregistration.k8s.io/ValidatingAdmissionPolicy', 'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
    'storage.k8s.io/StorageClass', 'storage.k8s.io/CSIDriver', 'storage.k8s.io/CSINode', 'storage.k8s.io/VolumeAttachment',
    'scheduling.k8s.io/PriorityClass', 'node.k8s.io/RuntimeClass', 'networking.k8s.io/IngressClass',
    'certificates.k8s.io/CertificateSigningRequest', 'policy/PodSecurityPolicy',
    'flowcontrol.apiserver.k8s.io/FlowSchema', 'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  ],
);

// clusterScoped tells whether an object's kind has no namespace: a built-in kind, or a CRD of the same output
// with `scope: Cluster`.
function clusterScoped(o: Record<string, unknown>, crds: Set<string>): boolean {
  const gk = `${apiGroup(String(o.apiVersion))}/${String(o.kind)}`;
  return CLUSTER_SCOPED.has(gk) || crds.has(gk);
}

function clusterScopedCRDs(objects: Record<string, unknown>[]): Set<string> {
  const out = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'CustomResourceDefinition' || !isPlainObject(o.spec) || o.spec.scope !== 'Cluster') continue;
    const names = isPlainObject(o.spec.names) ? o.spec.names : {};
    if (typeof o.spec.group === 'string' && typeof names.kind === 'string') out.add(`${o.spec.group}/${names.kind}`);
  }
  return out;
}

/**
 * renderKustomizeObjects turns one ref's built objects into what its bundle carries, as
 * getKustomizedResources does: with substitute values, each object's sigs.k8s.io/yaml text is rendered as a
 * template over the flat values (`{{ .Key }}`, missing keys are errors) and read back; then
 * `targetNamespace`, when set, replaces every object's namespace, cluster-scoped kinds included (each
 * reported in `warnings`). Throws KustomizeRenderError.
 */
export function renderKustomizeObjects(ref: PlannedKustomizationRef, objects: Record<string, unknown>[], templateName: string, warnings: string[]): Record<string, unknown>[] {
  let out = objects;
  if (Object.keys(ref.values).length > 0) {
    const data = toGoValue(ref.values);
    out = objects.map((o) => {
      const label = objectLabel(o);
      let text: string;
      try {
        text = parseTemplate(sigsYAMLMarshal(o), { name: templateName, missingKey: 'error', funcs: funcs(), ...TEMPLATE_LIMITS }).execute(data);
      } catch (err) {
        throw new KustomizeRenderError(`${label}: substitute values: ${(err as Error).message}`, { cause: err });
      }
      const parsed = parseData({ [label]: text });
      if (parsed.problems.length > 0) throw new KustomizeRenderError(`${label}: once rendered with the substitute values: ${parsed.problems[0]!.message}`);
      if (parsed.objects.length !== 1) throw new KustomizeRenderError(`${label}: once rendered with the substitute values: expected one object, found ${parsed.objects.length}`);
      return parsed.objects[0]!.object;
    });
  }
  if (ref.targetNamespace !== undefined) {
    const crds = clusterScopedCRDs(out);
    out = out.map((o) => {
      if (clusterScoped(o, crds)) warnings.push(`${objectLabel(o)} is cluster-scoped: targetNamespace ${ref.targetNamespace} is set on it as addon-controller sets it; the agent receives it with that namespace`);
      return { ...o, metadata: { ...(isPlainObject(o.metadata) ? o.metadata : {}), namespace: ref.targetNamespace } };
    });
  }
  return out;
}

function objectLabel(o: Record<string, unknown>): string {
  const meta = isPlainObject(o.metadata) ? o.metadata : {};
  return `${String(o.kind)} ${typeof meta.namespace === 'string' && meta.namespace ? `${meta.namespace}/` : ''}${String(meta.name)}`;
}

/** BuiltKustomize is a planned Kustomize group with each ref's built objects (undefined for Local refs). */
export interface BuiltKustomize {
  planned: PlannedKustomize;
  /** One entry per planned ref, in order: the objects kustomize printed. */
  built: (Record<string, unknown>[] | undefined)[];
}

/**
 * kustomizeGroup stages one Kustomize group: one bundle per ref in spec order, each keyed by the raw
 * `<Kind>-<Namespace>-<Name>` (a Local ref's bundle is empty, as addon-controller stages it). The group's
 * deployedGroupVersionKind stays empty: addon-controller records only the management cluster's kinds for
 * Kustomize in pull mode. With drift detection, the cluster's drift-detection bundles come first and their
 * hashes join the requestorHash. Warnings and errors name the profile, cluster and ref.
 */
export function kustomizeGroup(k: BuiltKustomize, cluster: string, warnings: PlanProblem[], drift?: DriftDetectionContent): { group: ConfigurationGroup; bundles: ConfigurationBundle[] } {
  const { planned } = k;
  const templateName = `${planned.requestor.requestorName}-substitutevalues`;
  const bundles = planned.refs.map((ref, i) => {
    const where = `${planned.profile} on cluster ${cluster}: ${ref.field} (${ref.build?.source.object ?? ref.key})`;
    const said: string[] = [];
    let objects: Record<string, unknown>[];
    try {
      objects = ref.build ? renderKustomizeObjects(ref, k.built[i] ?? [], templateName, said) : [];
      for (const w of said) warnings.push({ code: 'TARGET_NAMESPACE_CLUSTER_SCOPED', object: planned.profile, field: ref.field, message: `${where}: ${w}` });
      return buildBundle(planned.requestor, ref.key, objects, ref.info);
    } catch (err) {
      if (err instanceof KustomizeRenderError || err instanceof YAMLMarshalError) throw new KustomizeRenderError(`${where}: ${err.message}`, { cause: err });
      throw err;
    }
  });
  const driftBundles = driftDetectionBundles(planned.requestor, planned.settings, drift);
  let hash = Buffer.from(planned.requestorHash, 'base64');
  if (driftBundles.length > 0) {
    const h = createHash('sha256').update(hash);
    for (const b of driftBundles) h.update(b.status.hash);
    hash = h.digest();
  }
  return { group: buildGroup(planned.requestor, planned.settings, [...driftBundles, ...bundles], [], hash), bundles: [...driftBundles, ...bundles] };
}

/**
 * withKustomizeGroups returns the cluster's plan with its Kustomize groups in place: each right after the
 * last group of the same ClusterSummary (its Helm and Resources groups: addon-controller deploys Kustomize
 * last), or after the other groups when the profile has none.
 */
export function withKustomizeGroups(plan: ClusterPlan, groups: { group: ConfigurationGroup; bundles: ConfigurationBundle[] }[]): ClusterPlan {
  const out = [...plan.groups];
  const requestorOf = (g: ConfigurationGroup) => g.metadata.annotations['pullmode.projectsveltos.io/requestorname'];
  for (const g of groups) {
    let at = -1;
    out.forEach((x, i) => {
      if (requestorOf(x.group) === requestorOf(g.group)) at = i;
    });
    out.splice(at < 0 ? out.length : at + 1, 0, g);
  }
  return { ...plan, groups: out };
}
