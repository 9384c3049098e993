// `--from-cluster`: the input objects read from the live management cluster. The Sveltos kinds are listed
// (SveltosClusters, ClusterProfiles, Profiles, ClusterSets, Sets); every other object is read by name, and only
// when the plan looks for it: the plan is made, the objects it looked up and did not find are fetched, and
// it is made again until it asks for nothing new. So exactly what the selected profiles reference is read
// (policyRefs, valuesFrom, templateResourceRefs of any kind, Flux sources and their Secrets, jobCheck
// references), whatever templates name it, with the planner's own rules. Objects of `--from` directories
// replace the cluster's objects of the same kind, namespace and name.
import { RemoteError, ValidationError } from '../errors.js';
import { objectKey, sourceOf, type KubeObject } from '../model/sveltos.js';
import { DRIFT_DETECTION_OVERRIDE_ANNOTATION, overrideRef, SVELTOS_NAMESPACE } from '../resolve/drift-detection.js';
import { LICENSE_SECRET_NAME } from '../resolve/license.js';
import { planClusters, type ObjectRef } from '../resolve/plan.js';
import { describeObject } from '../resolve/select.js';
import type { LiveCluster, ResourceInfo } from '../kube/live.js';
import { limiter } from './stage.js';
import type { ExportLog } from './log.js';

const SVELTOS_LIB = 'lib.projectsveltos.io/v1beta1';
const SVELTOS_CONFIG = 'config.projectsveltos.io/v1beta1';

/** The kinds read whole: every one of them can decide which clusters a profile reaches. */
export const LISTED_KINDS: { apiVersion: string; kind: string; required: boolean }[] = [
  { apiVersion: SVELTOS_LIB, kind: 'SveltosCluster', required: true },
  { apiVersion: SVELTOS_CONFIG, kind: 'ClusterProfile', required: true },
  { apiVersion: SVELTOS_CONFIG, kind: 'Profile', required: false },
  { apiVersion: SVELTOS_LIB, kind: 'ClusterSet', required: false },
  { apiVersion: SVELTOS_LIB, kind: 'Set', required: false },
];

/** At most this many rounds of plan, fetch what it missed (each round follows references one step further). */
const MAX_ROUNDS = 10;

export interface LiveInputOptions {
  clusters: string[];
  now: Date;
  /** Objects of `--from` directories: each replaces the cluster's object of the same kind, namespace and name. */
  overrides: KubeObject[];
  /** addon-controller's --drift-detection-config ConfigMap (in projectsveltos), read too when given. */
  driftDetectionConfig?: string;
  log: ExportLog;
}

/** readLiveInput reads the objects a plan of `opts.clusters` needs from `live`, with `opts.overrides` in place. */
export async function readLiveInput(live: LiveCluster, opts: LiveInputOptions): Promise<KubeObject[]> {
  const { log } = opts;
  const byKey = new Map<string, KubeObject>();
  const overridden = new Map(opts.overrides.map((o) => [objectKey(o), o]));
  const from = (o: KubeObject) => {
    const at = sourceOf(o);
    return at ? `${at.file}:${at.line}` : '--from';
  };
  const add = (o: KubeObject) => {
    const key = objectKey(o);
    const file = overridden.get(key);
    if (file) log.info(`${describeObject(o)}: using the object from ${from(file)} instead of the cluster's`);
    else byKey.set(key, o);
  };
  // What is read by name is never read when --from has it: the plan finds it there.
  for (const o of opts.overrides) {
    if (!LISTED_KINDS.some((k) => k.kind === o.kind && objectKey({ ...o, apiVersion: k.apiVersion }) === objectKey(o))) log.info(`${describeObject(o)}: using the object from ${from(o)}; the cluster's is not read`);
  }

  for (const { apiVersion, kind, required } of LISTED_KINDS) {
    const r = await live.resource(apiVersion, kind);
    if (!r) {
      if (required) throw missingKind(live, apiVersion, kind);
      continue;
    }
    const items = await live.list(r);
    log.info(`${live.server}: ${items.length} ${r.plural}`);
    for (const o of items) add(clean(o));
  }

  const tried = new Set<string>();
  const fetch = limiter(8);
  const read = async (ref: ObjectRef): Promise<void> => {
    const r = await live.resource(ref.apiVersion, ref.kind);
    if (!r || (r.namespaced && !ref.namespace)) return;
    const o = await live.get(r, r.namespaced ? ref.namespace : '', ref.name);
    if (o) add(clean(withType(o, r)));
  };
  const wanted = (refs: ObjectRef[]) =>
    Promise.all(
      refs
        .filter((ref) => {
          const key = objectKey({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { namespace: ref.namespace, name: ref.name } });
          if (tried.has(key)) return false;
          tried.add(key);
          return true;
        })
        .map((ref) => fetch(() => read(ref))),
    );

  // Read before planning, as nothing in a profile names them: the license, and the drift-detection patches.
  const first: ObjectRef[] = [{ apiVersion: 'v1', kind: 'Secret', namespace: SVELTOS_NAMESPACE, name: LICENSE_SECRET_NAME }];
  if (opts.driftDetectionConfig) first.push({ apiVersion: 'v1', kind: 'ConfigMap', namespace: SVELTOS_NAMESPACE, name: opts.driftDetectionConfig });
  for (const o of byKey.values()) {
    const value = o.kind === 'SveltosCluster' ? o.metadata.annotations?.[DRIFT_DETECTION_OVERRIDE_ANNOTATION] : undefined;
    const at = value ? overrideRef(value, o.metadata.namespace ?? '') : undefined;
    if (at) first.push({ apiVersion: 'v1', kind: 'ConfigMap', ...at });
  }
  await wanted(first);

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const missing: ObjectRef[] = [];
    const planner = planClusters({ objects: objects(byKey, opts.overrides), clusters: opts.clusters, now: opts.now, pullModeOnly: true, onMissing: (ref) => missing.push(ref) });
    for (const _ of planner.clusters());
    const before = byKey.size;
    const asked = tried.size;
    await wanted(missing);
    if (tried.size === asked) break;
    log.info(`${live.server}: read ${byKey.size - before} referenced object(s)`);
  }
  return objects(byKey, opts.overrides);
}

function objects(byKey: Map<string, KubeObject>, overrides: KubeObject[]): KubeObject[] {
  return [...byKey.values(), ...overrides];
}

// clean drops what the API server adds that the plan never reads and no output should carry.
function clean(o: KubeObject): KubeObject {
  const { managedFields: _, ...metadata } = o.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  return { ...o, metadata };
}

// withType sets apiVersion and kind where a server left them out of a single object.
function withType(o: KubeObject, r: ResourceInfo): KubeObject {
  return { ...o, apiVersion: o.apiVersion || (r.group ? `${r.group}/${r.version}` : r.version), kind: o.kind || r.kind };
}

function missingKind(live: LiveCluster, apiVersion: string, kind: string): ValidationError {
  return new ValidationError('INVALID', `${live.server}: the API server does not serve ${kind} (${apiVersion}): is Sveltos installed on this cluster, and is this its management cluster (--context)?`);
}

/**
 * sveltosVersionOf reads the Sveltos version the management cluster runs: the tag of the addon-controller
 * image of its Deployment (projectsveltos/addon-controller). Undefined, with a warning, when it cannot.
 */
export async function sveltosVersionOf(live: LiveCluster, log: ExportLog): Promise<string | undefined> {
  const r = await live.resource('apps/v1', 'Deployment');
  let deployment: KubeObject | undefined;
  try {
    deployment = r && (await live.get(r, SVELTOS_NAMESPACE, 'addon-controller'));
  } catch (err) {
    if (!(err instanceof RemoteError && err.code === 'DENIED')) throw err;
  }
  const containers = (deployment as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | undefined)?.spec?.template?.spec?.containers ?? [];
  const image = containers.map((c) => c.image ?? '').find((i) => /\/addon-controller[:@]/.test(i));
  const version = image && /:(v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:@|$)/.exec(image)?.[1];
  if (!version) {
    log.warn('SVELTOS_VERSION', `${live.server}: the Sveltos version could not be read from Deployment ${SVELTOS_NAMESPACE}/addon-controller${image ? ` (image ${image})` : ''}; give --sveltos-version or --drift-detection-manifest`);
    return undefined;
  }
  log.info(`Sveltos ${version}: the image of Deployment ${SVELTOS_NAMESPACE}/addon-controller (${image})`);
  return version;
}
