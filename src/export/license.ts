// Which Sveltos license an export carries: `--license FILE` (the sveltos-license Secret as kubectl prints
// it), else that Secret among the `--from` objects. Problems and warnings join the plan's, so they are
// reported with every other problem of the input.
import { isSecret, type KubeObject } from '../model/sveltos.js';
import { isLicenseSecret, LICENSE_DATA_KEY, licenseFromSecret, licenseWarnings, type CarriedLicense } from '../resolve/license.js';
import type { PlanProblem } from '../resolve/plan.js';
import { loadObjects } from '../source/kube.js';

export interface LicenseChoice {
  license?: CarriedLicense;
  problems: PlanProblem[];
  warnings: PlanProblem[];
}

/** chooseLicense reads `file` (when given) or finds the license Secret in `objects`, and says what the agent will make of it. */
export async function chooseLicense(objects: KubeObject[], file: string | undefined, clusters: number, now: Date): Promise<LicenseChoice> {
  let secret = objects.find(isLicenseSecret);
  const problems: PlanProblem[] = [];
  if (file !== undefined) {
    const { objects: read, errors } = await loadObjects([file]);
    problems.push(...errors.map((e) => ({ code: 'LICENSE', message: `--license ${file}: ${e.path ? `${e.path}: ` : ''}${e.message}`, file: e.file, line: e.line })));
    const found = read.filter(isSecret).filter((s) => s.data?.[LICENSE_DATA_KEY] !== undefined);
    if (errors.length === 0 && found.length !== 1) {
      problems.push({ code: 'LICENSE', message: `--license ${file}: expected one Secret with data.${LICENSE_DATA_KEY} (the sveltos-license Secret), found ${found.length}` });
    }
    secret = found.length === 1 ? found[0] : undefined;
  }
  if (!secret) return { problems, warnings: problems.length ? [] : licenseWarnings(undefined, clusters, now) };
  const read = licenseFromSecret(secret);
  return {
    ...(read.license ? { license: read.license } : {}),
    problems: [...problems, ...read.problems],
    warnings: [...read.warnings, ...(read.license ? licenseWarnings(read.license, clusters, now) : [])],
  };
}
