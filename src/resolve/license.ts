// The Sveltos license pull mode checks (libsveltos lib/licenses, sveltoscluster-manager
// updateLicenseAnnotations): the Secret `sveltos-license` in the Sveltos namespace holds `licenseData` (a
// JSON payload) and `licenseSignature` (RSA-PSS over the payload's SHA-256). The agent cannot read that
// Secret, so sveltoscluster-manager relays both, base64, as annotations of every SveltosCluster, and the
// agent verifies the signature itself. We carry the same two annotations in each cluster's configuration.
import { isSecret, sourceOf, type KubeObject, type Secret } from '../model/sveltos.js';
import type { PlanProblem } from './select.js';

export const LICENSE_SECRET_NAME = 'sveltos-license';
export const SVELTOS_NAMESPACE = 'projectsveltos';
export const LICENSE_DATA_KEY = 'licenseData';
export const LICENSE_SIGNATURE_KEY = 'licenseSignature';
export const ANNOTATION_LICENSE_PAYLOAD = 'license.projectsveltos.io/payload';
export const ANNOTATION_LICENSE_SIGNATURE = 'license.projectsveltos.io/signature';
/** Pull mode is free for this many clusters (addon-controller `maxFreeClusters`). */
export const FREE_PULL_MODE_CLUSTERS = 2;
/** Grace period after expiry when the payload names none (libsveltos: one week). */
const DEFAULT_GRACE_DAYS = 7;

/** LicenseFacts is what the payload says, read without checking its signature (the agent checks it). */
export interface LicenseFacts {
  id: string;
  customerName: string;
  plan?: string;
  /** Empty: every feature (a license issued before per-feature restriction). */
  features: string[];
  expirationDate: string;
  gracePeriodDays: number;
  /** 0: no limit. */
  maxClusters: number;
  issuedAt?: string;
}

/** CarriedLicense is the license as relayed: the two annotations, and what its payload says when readable. */
export interface CarriedLicense {
  annotations: Record<string, string>;
  facts?: LicenseFacts;
  /** Where it was read: `Secret projectsveltos/sveltos-license (file:line)`. */
  source: string;
}

/** isLicenseSecret tells whether `o` is the Secret sveltoscluster-manager reads the license from. */
export function isLicenseSecret(o: KubeObject): o is Secret {
  return isSecret(o) && o.metadata.name === LICENSE_SECRET_NAME && o.metadata.namespace === SVELTOS_NAMESPACE;
}

/**
 * licenseFromSecret reads the license from `secret` (the sveltos-license Secret, or the Secret of a
 * `--license` file). A missing key or a payload that is not base64 is a problem; a payload that is not
 * the JSON libsveltos signs is relayed all the same (the agent decides), with a warning.
 */
export function licenseFromSecret(secret: Secret): { license?: CarriedLicense; problems: PlanProblem[]; warnings: PlanProblem[] } {
  const loc = sourceOf(secret);
  const where = `Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
  const at = { object: where, ...(loc ? { file: loc.file, line: loc.line } : {}) };
  const problems: PlanProblem[] = [];
  const value = (key: string): string | undefined => {
    const v = secret.data?.[key];
    if (v === undefined || v === '') {
      problems.push({ code: 'LICENSE', message: `${where}: data.${key}: missing; expected the ${LICENSE_DATA_KEY} and ${LICENSE_SIGNATURE_KEY} keys of the sveltos-license Secret (kubectl get secret ${LICENSE_SECRET_NAME} -n ${SVELTOS_NAMESPACE} -o yaml)`, field: `data.${key}`, ...at });
      return undefined;
    }
    return Buffer.from(v, 'base64').toString('base64');
  };
  const payload = value(LICENSE_DATA_KEY);
  const signature = value(LICENSE_SIGNATURE_KEY);
  if (payload === undefined || signature === undefined) return { problems, warnings: [] };
  const facts = licenseFacts(payload);
  const warnings: PlanProblem[] = facts ? [] : [{ code: 'LICENSE', message: `${where}: data.${LICENSE_DATA_KEY}: not a Sveltos license payload (JSON with id and expirationDate); relayed as it is, the agent will verify it`, ...at }];
  return {
    license: { annotations: { [ANNOTATION_LICENSE_PAYLOAD]: payload, [ANNOTATION_LICENSE_SIGNATURE]: signature }, ...(facts ? { facts } : {}), source: `${where}${loc ? ` (${loc.file}:${loc.line})` : ''}` },
    problems,
    warnings,
  };
}

/** licenseFacts decodes a base64 payload (as relayed in the annotation); undefined when it is not a license. */
export function licenseFacts(payloadBase64: string): LicenseFacts | undefined {
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(payloadBase64, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!p || typeof p !== 'object' || Array.isArray(p)) return undefined;
  const r = p as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : 0);
  const expirationDate = str(r.expirationDate);
  if (str(r.id) === undefined || expirationDate === undefined || Number.isNaN(Date.parse(expirationDate))) return undefined;
  return {
    id: str(r.id)!,
    customerName: str(r.customerName) ?? '',
    ...(str(r.plan) ? { plan: str(r.plan)! } : {}),
    features: Array.isArray(r.features) ? r.features.filter((f): f is string => typeof f === 'string') : [],
    expirationDate,
    gracePeriodDays: int(r.gracePeriodDays) || DEFAULT_GRACE_DAYS,
    maxClusters: int(r.maxClusters),
    ...(str(r.issuedAt) ? { issuedAt: str(r.issuedAt)! } : {}),
  };
}

/**
 * licenseWarnings tells what the agent will refuse with this license (or without one) for `clusters`
 * pull-mode clusters at `now`: no license beyond the free clusters, a license past its grace period or
 * in it, one without the PullMode feature, or one for fewer clusters.
 */
export function licenseWarnings(license: CarriedLicense | undefined, clusters: number, now: Date): PlanProblem[] {
  const fix = `pass --license FILE (the ${LICENSE_SECRET_NAME} Secret, as kubectl get secret ${LICENSE_SECRET_NAME} -n ${SVELTOS_NAMESPACE} -o yaml prints it) or put that Secret in --from`;
  if (!license) {
    return clusters > FREE_PULL_MODE_CLUSTERS
      ? [{ code: 'LICENSE_MISSING', message: `${clusters} pull-mode clusters and no Sveltos license carried: pull mode is free for ${FREE_PULL_MODE_CLUSTERS} clusters, beyond that Sveltos marks features Failed ("license is required to manage SveltosCluster in pull mode"); ${fix}` }]
      : [];
  }
  const f = license.facts;
  if (!f) return [];
  const out: PlanProblem[] = [];
  const expires = Date.parse(f.expirationDate);
  const enforced = expires + f.gracePeriodDays * 86_400_000;
  if (now.getTime() >= enforced) {
    out.push({ code: 'LICENSE_EXPIRED', message: `${license.source}: the license expired on ${f.expirationDate} and its ${f.gracePeriodDays}-day grace period has ended: Sveltos enforces it; ${fix} with a renewed license` });
  } else if (now.getTime() >= expires) {
    out.push({ code: 'LICENSE_EXPIRED', message: `${license.source}: the license expired on ${f.expirationDate}; Sveltos enforces it after ${new Date(enforced).toISOString()} (grace period ${f.gracePeriodDays} days)` });
  }
  if (f.features.length > 0 && !f.features.includes('PullMode')) {
    out.push({ code: 'LICENSE_FEATURE', message: `${license.source}: the license grants ${f.features.join(', ')}, not PullMode` });
  }
  if (f.maxClusters > 0 && clusters > f.maxClusters) {
    out.push({ code: 'LICENSE_CLUSTERS', message: `${license.source}: the license is for at most ${f.maxClusters} cluster(s); this bundle carries ${clusters}` });
  }
  return out;
}

/** describeLicense is one line for people: who, plan, features, expiry and cluster limit. */
export function describeLicense(f: LicenseFacts | undefined): string {
  if (!f) return 'carried (payload not readable; the agent verifies it)';
  const parts = [`id ${f.id}`, ...(f.customerName ? [`customer ${f.customerName}`] : []), ...(f.plan ? [`plan ${f.plan}`] : []), `features ${f.features.length ? f.features.join(',') : 'all'}`, `expires ${f.expirationDate}`, `max clusters ${f.maxClusters || 'unlimited'}`];
  return `carried (${parts.join(', ')})`;
}
