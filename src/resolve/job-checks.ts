// JobHealthChecks in pull mode (addon-controller lib/clusterops validate_health.go FetchJobManifest and
// ResolveJobChecksForPullMode, called from prepareSetters): each check with `jobCheck` names a ConfigMap
// or Secret (name and namespace templated against the cluster) holding exactly one Job manifest.
// addon-controller resolves it up front, defaults `activeDeadlineSeconds` to the check's timeout (5m),
// adds the check-name annotation, and stages the YAML on the ConfigurationGroup keyed `<ns>/<name>` of
// the Job (preDeployCheckJobs / validateHealthJobs); the agent only runs it.
import { parse } from 'yaml';
import { goYAMLTags } from '../model/yaml11.js';
import { isPlainObject, type KubeObject } from '../model/sveltos.js';
import { referencedData } from './content.js';
import { parseDuration } from '../gotemplate/index.js';
import { sigsYAMLMarshal } from './goyaml.js';

/** Annotation carrying the check's name on the resolved Job (libsveltos ValidateHealthCheckNameAnnotation). */
export const ANNOTATION_CHECK_NAME = 'validatehealth.projectsveltos.io/check-name';
/** The timeout when a check names none (addon-controller jobHealthCheckDefaultTimeout). */
const DEFAULT_TIMEOUT_SECONDS = 300;

/** JobCheckDeps are what resolving needs from the plan: reference templating and the input objects. */
export interface JobCheckDeps {
  /** instantiate renders a reference's name or namespace for the cluster (empty namespace: the cluster's); throws on a template error. */
  instantiate(text: string): string;
  lookup(kind: string, namespace: string, name: string): KubeObject | undefined;
}

export interface JobCheckProblem {
  code: string;
  message: string;
  field: string;
}

/**
 * resolveJobChecks resolves every `jobCheck` of `checks` (the profile's `field` list) into the map the
 * group carries. Every problem of every check is returned; the map holds the checks that resolved.
 */
export function resolveJobChecks(checks: unknown[] | undefined, field: string, deps: JobCheckDeps): { jobs: Record<string, string>; problems: JobCheckProblem[] } {
  const jobs: Record<string, string> = {};
  const problems: JobCheckProblem[] = [];
  (checks ?? []).forEach((c, i) => {
    if (!isPlainObject(c) || c.jobCheck === undefined) return;
    const at = `${field}[${i}].jobCheck`;
    const fail = (code: string, message: string) => problems.push({ code, message: `${at} (check ${JSON.stringify(String(c.name ?? ''))}): ${message}`, field: at });
    const check = c.jobCheck;
    const ref = isPlainObject(check) ? check.jobRef : undefined;
    if (!isPlainObject(check) || !isPlainObject(ref)) return void fail('INVALID_OBJECT', 'jobRef: expected a mapping with kind, namespace and name');
    const kind = String(ref.kind ?? '');
    if (kind !== 'ConfigMap' && kind !== 'Secret') return void fail('INVALID_OBJECT', `jobRef.kind ${JSON.stringify(kind)} is neither ConfigMap nor Secret`);
    let ns: string;
    let name: string;
    try {
      ns = deps.instantiate(String(ref.namespace ?? ''));
      name = deps.instantiate(String(ref.name ?? ''));
    } catch (err) {
      return void fail('TEMPLATE', `jobRef: ${(err as Error).message}`);
    }
    const obj = deps.lookup(kind, ns, name);
    if (!obj) return void fail('REFERENCE_NOT_FOUND', `jobRef: ${kind} ${ns}/${name} is not in the input`);
    // A plain Get upstream: the Secret's type is not checked.
    const data = referencedData(obj);
    const keys = Object.keys(data);
    if (keys.length !== 1) return void fail('JOB_CHECK', `${kind} ${ns}/${name} must contain exactly one Job manifest, found ${keys.length} data key(s)`);
    let job: unknown;
    try {
      job = parse(data[keys[0]!]!, { version: '1.1', customTags: goYAMLTags, maxAliasCount: 1000 });
    } catch (err) {
      return void fail('JOB_CHECK', `${kind} ${ns}/${name} key ${keys[0]}: not a valid Job manifest: ${(err as Error).message.split('\n')[0]}`);
    }
    const problem = jobProblem(job);
    if (problem) return void fail('JOB_CHECK', `${kind} ${ns}/${name} key ${keys[0]}: ${problem}`);
    let timeout = DEFAULT_TIMEOUT_SECONDS;
    if (check.timeout !== undefined) {
      try {
        timeout = Number(parseDuration(String(check.timeout)) / 1_000_000_000n);
      } catch {
        return void fail('INVALID_OBJECT', `timeout ${JSON.stringify(check.timeout)}: expected a duration such as 90s or 5m`);
      }
    }
    const resolved = typedJob(job as Record<string, unknown>, timeout, String(c.name ?? ''));
    const meta = resolved.metadata as Record<string, unknown>;
    jobs[`${String(meta.namespace ?? '')}/${String(meta.name ?? '')}`] = sigsYAMLMarshal(resolved);
  });
  return { jobs, problems };
}

// jobProblem is FetchJobManifest's checks: kind empty or Job, at least one container.
function jobProblem(job: unknown): string | undefined {
  if (!isPlainObject(job)) return 'not a valid Job manifest (expected a mapping)';
  if (job.kind !== undefined && job.kind !== '' && job.kind !== 'Job') return `does not contain a Job manifest (kind: ${JSON.stringify(job.kind)})`;
  const spec = isPlainObject(job.spec) ? job.spec : {};
  const template = isPlainObject(spec.template) ? spec.template : {};
  const pod = isPlainObject(template.spec) ? template.spec : {};
  if (!Array.isArray(pod.containers) || pod.containers.length === 0) return 'does not contain a valid Job manifest (no containers)';
  return undefined;
}

// typedJob is the Job as addon-controller marshals its typed batchv1.Job: activeDeadlineSeconds
// defaulted, the check-name annotation added, and the fields a typed marshal always writes
// (`creationTimestamp: null` on both object metas, `resources: {}` on containers, `status: {}`).
function typedJob(job: Record<string, unknown>, timeoutSeconds: number, checkName: string): Record<string, unknown> {
  const out = structuredClone(job);
  const meta = (isPlainObject(out.metadata) ? out.metadata : {}) as Record<string, unknown>;
  out.metadata = { ...meta, creationTimestamp: meta.creationTimestamp ?? null, annotations: { ...(isPlainObject(meta.annotations) ? meta.annotations : {}), [ANNOTATION_CHECK_NAME]: checkName } };
  const spec = out.spec as Record<string, unknown>;
  if (spec.activeDeadlineSeconds === undefined || spec.activeDeadlineSeconds === null) spec.activeDeadlineSeconds = timeoutSeconds;
  const template = spec.template as Record<string, unknown>;
  const tmeta = (isPlainObject(template.metadata) ? template.metadata : {}) as Record<string, unknown>;
  template.metadata = { ...tmeta, creationTimestamp: tmeta.creationTimestamp ?? null };
  const pod = template.spec as Record<string, unknown>;
  for (const list of ['initContainers', 'containers'] as const) {
    if (!Array.isArray(pod[list])) continue;
    pod[list] = (pod[list] as unknown[]).map((c) => (isPlainObject(c) ? { ...c, resources: c.resources ?? {} } : c));
  }
  out.status = isPlainObject(out.status) ? out.status : {};
  return out;
}
