// The first step of export and `resolve`: read the input objects and plan, with every problem of the
// input reported together.
import { ValidationError } from '../errors.js';
import type { KubeObject } from '../model/sveltos.js';
import { planExport, type ExportPlan, type PlanProblem } from '../resolve/plan.js';
import { formatLoadError, loadObjects, type LoadError } from '../source/kube.js';
import type { ExportLog } from './log.js';

/** loadPlan reads `from` and plans; every input problem of the run is reported together in one ValidationError. */
export async function loadPlan(from: string[], clusters: string[], now: Date, log: ExportLog): Promise<{ plan: ExportPlan; objects: KubeObject[] }> {
  if (from.length === 0) throw new ValidationError('USAGE', '--from: at least one directory is required');
  const { objects, errors } = await loadObjects(from);
  log.info(`read ${objects.length} object(s) from ${from.join(', ')}`);
  const plan = planExport({ objects, clusters, now });
  if (errors.length > 0 || plan.problems.length > 0) throw inputError(errors, plan.problems);
  for (const w of plan.warnings) log.warn(w.code, w.message);
  return { plan, objects };
}

function inputError(load: LoadError[], problems: PlanProblem[]): ValidationError {
  const lines = [...load.map(formatLoadError), ...problems.map(formatProblem)];
  return new ValidationError('INVALID', `${lines.length} problem(s) in the input:\n${lines.join('\n')}`, {
    details: { loadErrors: load, problems },
    fields: [...load.map((e) => e.path ?? ''), ...problems.map((p) => p.field ?? '')],
  });
}

/** formatProblem renders `file:line: CODE: message` (location when known). */
export function formatProblem(p: PlanProblem): string {
  return `${p.file ? `${p.file}:${p.line ?? 0}: ` : ''}${p.code}: ${p.message}`;
}
