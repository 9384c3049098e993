// The drift-detection-manager objects addon-controller stages into a pull-mode ConfigurationGroup when a
// profile's syncMode is ContinuousWithDriftDetection (controllers/resourcesummary.go
// deployDriftDetectionManagerInCluster): first the DebuggingConfiguration CRD, then the ResourceSummary CRD,
// then the manager's manifest, each one bundle with notTracked set, ahead of the feature's own bundles.
// The manifest is patched as prepareDriftDetectionManagerYAML and deployDriftDetectionManagerResources
// patch it. Pure.

import { parse } from 'yaml';
import { isPlainObject, type ConfigMap, type ConfigurationBundle, type Patch } from '../model/sveltos.js';
import { goYAMLTags } from '../model/yaml11.js';
import { parseData } from './content.js';
import { YAMLMarshalError } from './goyaml.js';
import { objectLabel, podSpecImages, type ImageMention, type ImageUse } from './images.js';
import { applyPatches, PatchFailure } from './patch.js';
import { assembleBundle, bundleContent, type BundleContent, type Requestor } from './pullmode.js';

/** The bundle index keys, in the order addon-controller stages them. */
export const DRIFT_DETECTION_KEYS = ['debugging-configuration-crd', 'resource-summary-crd', 'drift-detection-manager'] as const;
export type DriftDetectionKey = (typeof DRIFT_DETECTION_KEYS)[number];

/** The per-cluster override annotation on a SveltosCluster: a ConfigMap `<namespace>/<name>` or `<name>`. */
export const DRIFT_DETECTION_OVERRIDE_ANNOTATION = 'driftdetection.projectsveltos.io/config-override-ref';

/** The namespace Sveltos runs in (addon-controller's default); the manager's namespaced objects go there. */
export const SVELTOS_NAMESPACE = 'projectsveltos';

const DEBUGGING_CONFIGURATION_CRD = 'debuggingconfigurations.lib.projectsveltos.io';
const RESOURCE_SUMMARY_CRD = 'resourcesummaries.lib.projectsveltos.io';

/** DriftDetectionManifestError is a manifest that does not hold what addon-controller deploys. */
export class DriftDetectionManifestError extends Error {
  override name = 'DriftDetectionManifestError';
}

/** DriftDetectionManifests are the three sources addon-controller embeds, for one Sveltos version. */
export interface DriftDetectionManifests {
  /** pkg/drift-detection/drift-detection-manager.yaml, as text (it is patched as text first). */
  manager: string;
  debuggingConfigurationCRD: Record<string, unknown>;
  resourceSummaryCRD: Record<string, unknown>;
  /** Where they were read from, for messages. */
  source: string;
}

// splitDocuments splits a YAML stream on `---` lines, as libsveltos's CustomSplit does.
function splitDocuments(text: string): string[] {
  return text
    .split(/^---[ \t]*(?:#.*)?$/m)
    .map((d) => d.replace(/^\r?\n/, ''))
    .filter((d) => d.replace(/^\s*#.*$/gm, '').trim() !== '');
}

/**
 * readDriftDetectionManifests reads the documents of one or more files: the two CRDs (by name) are taken
 * out, every other document is the manager's manifest, kept as text. Throws DriftDetectionManifestError.
 */
export function readDriftDetectionManifests(files: { name: string; text: string }[]): DriftDetectionManifests {
  const manager: string[] = [];
  const crds = new Map<string, Record<string, unknown>>();
  for (const f of files) {
    for (const doc of splitDocuments(f.text)) {
      let obj: unknown;
      try {
        obj = parse(doc, { version: '1.1', customTags: goYAMLTags, maxAliasCount: 1000 });
      } catch (err) {
        throw new DriftDetectionManifestError(`${f.name}: ${(err as Error).message.split('\n')[0]}`);
      }
      if (!isPlainObject(obj) || typeof obj.kind !== 'string' || !isPlainObject(obj.metadata)) {
        throw new DriftDetectionManifestError(`${f.name}: a document is not a Kubernetes object`);
      }
      const name = String(obj.metadata.name);
      if (obj.kind === 'CustomResourceDefinition' && (name === DEBUGGING_CONFIGURATION_CRD || name === RESOURCE_SUMMARY_CRD)) {
        if (crds.has(name)) throw new DriftDetectionManifestError(`${f.name}: CustomResourceDefinition ${name} is given twice`);
        crds.set(name, obj);
      } else {
        manager.push(doc.endsWith('\n') ? doc : `${doc}\n`);
      }
    }
  }
  const names = files.map((f) => f.name).join(', ');
  const missing = [DEBUGGING_CONFIGURATION_CRD, RESOURCE_SUMMARY_CRD].filter((n) => !crds.has(n));
  if (missing.length > 0) throw new DriftDetectionManifestError(`${names}: no CustomResourceDefinition ${missing.join(' or ')}`);
  if (!manager.some((d) => /^kind:\s*Deployment\s*$/m.test(d))) throw new DriftDetectionManifestError(`${names}: no drift-detection-manager Deployment`);
  return { manager: manager.join('---\n'), debuggingConfigurationCRD: crds.get(DEBUGGING_CONFIGURATION_CRD)!, resourceSummaryCRD: crds.get(RESOURCE_SUMMARY_CRD)!, source: names };
}

/**
 * prepareManagerYAML is prepareDriftDetectionManagerYAML for a pull-mode SveltosCluster: the cluster's
 * namespace, name and type in the arguments, log level 0, and the first `docker.io` replaced by `registry`
 * when one is configured (addon-controller's --registry).
 */
export function prepareManagerYAML(text: string, clusterNamespace: string, clusterName: string, registry?: string): string {
  let out = text
    .replaceAll('cluster-namespace=', `cluster-namespace=${clusterNamespace}`)
    .replaceAll('cluster-name=', `cluster-name=${clusterName}`)
    .replaceAll('cluster-type=', 'cluster-type=Sveltos')
    .replaceAll('v=5', 'v=0');
  if (registry) out = out.replace('docker.io', registry);
  return out;
}

/** updateResourceNamespace moves an object into the Sveltos namespace as addon-controller does. */
function updateResourceNamespace(o: Record<string, unknown>, namespace: string): Record<string, unknown> {
  const meta = isPlainObject(o.metadata) ? { ...o.metadata } : {};
  const out: Record<string, unknown> = { ...o, metadata: meta };
  if (o.kind === 'Namespace') {
    meta.name = namespace;
    return out;
  }
  if (typeof meta.namespace === 'string' && meta.namespace !== '') meta.namespace = namespace;
  if (o.kind === 'ClusterRoleBinding' && Array.isArray(o.subjects)) {
    out.subjects = o.subjects.map((s) => (isPlainObject(s) && s.kind === 'ServiceAccount' ? { ...s, namespace } : s));
  }
  return out;
}

/**
 * overridePatches reads a drift-detection patch ConfigMap as getPatchesFromConfigMap does: each entry is a
 * Patch document (`patch` and optional `target`) or, failing that, a bare patch; without a target it goes to
 * Deployments. Entries in key order (addon-controller iterates a Go map: random order).
 */
export function overridePatches(cm: ConfigMap): Patch[] {
  const data = cm.data ?? {};
  return Object.keys(data)
    .sort()
    .map((k) => {
      const value = data[k]!;
      let doc: unknown;
      try {
        doc = parse(value, { version: '1.1', customTags: goYAMLTags, maxAliasCount: 1000 });
      } catch {
        doc = undefined;
      }
      const patch: Patch =
        isPlainObject(doc) && typeof doc.patch === 'string' && doc.patch !== '' ? { patch: doc.patch, ...(isPlainObject(doc.target) ? { target: doc.target } : {}) } : { patch: value };
      patch.target ??= { kind: 'Deployment', group: 'apps' };
      return patch;
    });
}

/**
 * overrideRef parses the override annotation's value: `<namespace>/<name>`, `<name>` or `/<name>` (the
 * cluster's namespace). Undefined when the value has more parts (addon-controller fails the deployment).
 */
export function overrideRef(value: string, clusterNamespace: string): { namespace: string; name: string } | undefined {
  const parts = value.split('/');
  if (parts.length === 1) return { namespace: clusterNamespace, name: parts[0]! };
  if (parts.length === 2) return { namespace: parts[0] || clusterNamespace, name: parts[1]! };
  return undefined;
}

/** DriftDetectionContent is what the three bundles of one cluster carry, in staging order. */
export interface DriftDetectionContent {
  bundles: { index: DriftDetectionKey; content: BundleContent }[];
  /** The images the manager's objects name. */
  images: (ImageMention & { object: string })[];
  /** The profiles (`ClusterProfile/name`, `Profile/ns/name`) whose groups carry the bundles. */
  profiles: string[];
}

/**
 * driftDetectionContent builds one cluster's drift-detection bundles: the CRDs as given, the manager's
 * manifest prepared for the cluster, split, moved to the Sveltos namespace and patched (the per-cluster
 * patches, else the global ones). Throws DriftDetectionManifestError (content, patch or encoding failures).
 */
export function driftDetectionContent(m: DriftDetectionManifests, clusterNamespace: string, clusterName: string, opts: { registry?: string; patches: Patch[] }): DriftDetectionContent {
  const text = prepareManagerYAML(m.manager, clusterNamespace, clusterName, opts.registry);
  const parsed = parseData({ 'drift-detection-manager.yaml': text });
  if (parsed.problems.length > 0) throw new DriftDetectionManifestError(`${m.source}: ${parsed.problems[0]!.message}`);
  const objects = parsed.objects.map((p) => {
    const o = updateResourceNamespace(p.object, SVELTOS_NAMESPACE);
    try {
      return applyPatches(o, opts.patches);
    } catch (err) {
      if (err instanceof PatchFailure) throw new DriftDetectionManifestError(`drift-detection-manager patches: ${err.message}`);
      throw err;
    }
  });
  const encode = (objs: Record<string, unknown>[]) => {
    try {
      return bundleContent(objs);
    } catch (err) {
      if (err instanceof YAMLMarshalError) throw new DriftDetectionManifestError(`${m.source}: ${err.message}`);
      throw err;
    }
  };
  const images = objects.flatMap((o) => {
    const k = o as Parameters<typeof podSpecImages>[0];
    return podSpecImages(k).map((i) => ({ ...i, object: objectLabel(k) }));
  });
  return {
    bundles: [
      { index: 'debugging-configuration-crd', content: encode([m.debuggingConfigurationCRD]) },
      { index: 'resource-summary-crd', content: encode([m.resourceSummaryCRD]) },
      { index: 'drift-detection-manager', content: encode(objects) },
    ],
    images,
    profiles: [],
  };
}

/** driftDetectionImageUses lists the manager's images once per profile that carries it to `cluster`. */
export function driftDetectionImageUses(cluster: string, drift: DriftDetectionContent | undefined): ImageUse[] {
  if (!drift) return [];
  return drift.profiles.flatMap((profile) => drift.images.map((i) => ({ image: i.image, cluster, profile, object: i.object, path: i.path })));
}

/**
 * driftDetectionBundles are the bundles a group of `r` starts with when its profile's syncMode is
 * ContinuousWithDriftDetection and the cluster's drift-detection content is known; none otherwise.
 */
export function driftDetectionBundles(r: Requestor, settings: { driftDetection?: boolean }, drift: DriftDetectionContent | undefined): ConfigurationBundle[] {
  if (!settings.driftDetection || !drift) return [];
  return drift.bundles.map((b) => assembleBundle(r, b.index, b.content, { notTracked: true }));
}
