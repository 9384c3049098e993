// The Kustomize stage of export: every planned kustomizationRef built with the real kustomize, once per
// distinct input (the tree as prepared: archive, path, components), one build per core at a time, cached
// between exports like Helm renders, failing fast; then each cluster's Kustomize groups staged.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import { KustomizeRenderError, kustomizeGroup, withKustomizeGroups } from '../resolve/kustomize-groups.js';
import { ARCHIVE_KEY, type PlannedKustomizationRef, type PlannedKustomize } from '../resolve/kustomize-plan.js';
import type { ExportPlan } from '../resolve/plan.js';
import type { PlanProblem } from '../resolve/select.js';
import { readArchive, treeDigest, writeTree, type ReadArchive } from '../source/kustomize-archive.js';
import { overlayLayers } from '../source/remote-url.js';
import { buildArgs, kustomizeBuild, parseKustomizeOutput, prepareTree, type KustomizeBinary } from '../source/kustomize.js';
import type { ProcessRunner } from '../source/process-runner.js';
import type { RenderCache } from '../source/render-cache.js';
import { FailFast, renderLimiter } from './stage.js';

export interface KustomizeStageOptions {
  binary: KustomizeBinary;
  /** Where builds are kept between exports (a hit runs no kustomize); unset: every build runs kustomize. */
  renderCache?: RenderCache;
  runner?: ProcessRunner;
  onEvent?: (message: string) => void;
  /** Soft problems (a skipped archive entry, targetNamespace on a cluster-scoped kind), also added to the plan's warnings. */
  onWarning?: (problem: PlanProblem) => void;
  signal?: AbortSignal;
}

export interface KustomizeStageResult {
  plan: ExportPlan;
  /** Distinct builds (the rest reused). */
  builds: number;
}

interface Build {
  cluster: string;
  planned: PlannedKustomize;
  ref: PlannedKustomizationRef;
  where: string;
}

/**
 * renderKustomizeForPlan builds every planned kustomizationRef and returns the plan with each cluster's
 * Kustomize groups in place (after the other groups of the same profile). Errors name the profile, the
 * cluster, the ref and its source (and, for a bad archive, the entry).
 */
export async function renderKustomizeForPlan(plan: ExportPlan, opts: KustomizeStageOptions): Promise<KustomizeStageResult> {
  const builds: Build[] = plan.clusters.flatMap((c) =>
    c.kustomize.flatMap((planned) => planned.refs.filter((ref) => ref.build).map((ref) => ({ cluster: c.cluster, planned, ref, where: `${planned.profile} on cluster ${c.cluster}: ${ref.field} (${ref.build!.source.object})` }))),
  );
  const stage = new FailFast(opts.signal);
  const limit = renderLimiter();
  const archives = new Map<string, ReadArchive>();
  const outputs = new Map<string, Promise<Record<string, unknown>[]>>();
  const warnings: PlanProblem[] = [];
  let work: Promise<string> | undefined;

  // archive reads each distinct archive once; what was skipped in it is said once.
  const archive = (b: Build): ReadArchive => {
    const src = b.ref.build!.source;
    let a = archives.get(src.digest);
    if (!a) {
      const name = 'tree' in src ? '' : (src.archiveName ?? ARCHIVE_KEY);
      if ('tree' in src) a = { tree: src.tree, skipped: [] };
      else a = src.layers ? overlayLayers([src.archive, ...src.layers].map((l) => readArchive(l, b.where, {}, { name })), b.where) : readArchive(src.archive, b.where, {}, { name });
      archives.set(src.digest, a);
      for (const s of a.skipped) {
        warnings.push({ code: 'KUSTOMIZE_ENTRY_SKIPPED', object: b.planned.profile, field: b.ref.field, message: `${b.where}: ${name}: entry ${JSON.stringify(s.entry.slice(0, 300))} skipped: ${s.reason}` });
      }
    }
    return a;
  };
  const buildOnce = (b: Build): Promise<Record<string, unknown>[]> => {
    const { source, path, components } = b.ref.build!;
    const input = JSON.stringify([source.digest, path, components, opts.binary.kind]);
    let out = outputs.get(input);
    if (!out) {
      out = limit(async () => {
        stage.signal.throwIfAborted();
        const prepared = prepareTree(archive(b).tree, path, components, opts.binary, b.where);
        const cache = opts.renderCache;
        const key = cache ? await cache.keyOf(opts.binary.path, ['kustomize', buildArgs(opts.binary, '<dir>'), treeDigest(prepared.tree), prepared.dir]) : undefined;
        const hit = key ? await cache!.get(key) : undefined;
        opts.onEvent?.(`kustomize build ${source.object}${path ? ` path ${path}` : ''}${hit === undefined ? '' : ': from the render cache'}`);
        let text = hit;
        if (text === undefined) {
          work ??= mkdtemp(join(tmpdir(), 'sveltos-airgap-kustomize-'));
          const root = await work;
          const dir = join(root, createHash('sha256').update(input).digest('hex').slice(0, 16));
          try {
            await mkdir(join(dir, 'home'), { recursive: true });
            await writeTree(prepared.tree, join(dir, 'tree'));
            text = await kustomizeBuild({ binary: opts.binary, dir: join(dir, 'tree', prepared.dir), home: join(dir, 'home'), ...(opts.runner ? { runner: opts.runner } : {}), signal: stage.signal });
          } catch (err) {
            if (err instanceof ValidationError && err.code === 'INVALID') throw new ValidationError('INVALID', `${b.where}: ${err.message}`, { cause: err, ...(err.details ? { details: err.details } : {}) });
            throw err;
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
          if (key) await cache!.put(key, text);
        }
        return parseKustomizeOutput(text);
      });
      outputs.set(input, out);
    }
    return out;
  };

  try {
    const built = await stage.all(builds, buildOnce);
    const byRef = new Map<PlannedKustomizationRef, Record<string, unknown>[]>();
    builds.forEach((b, i) => byRef.set(b.ref, built[i]!));
    const clusters = plan.clusters.map((c) => {
      if (c.kustomize.length === 0) return c;
      try {
        const groups = c.kustomize.map((planned) => kustomizeGroup({ planned, built: planned.refs.map((r) => byRef.get(r)) }, c.cluster, warnings, c.driftDetection));
        return withKustomizeGroups(c, groups);
      } catch (err) {
        if (err instanceof KustomizeRenderError) throw new ValidationError('INVALID', err.message, { cause: err });
        throw err;
      }
    });
    for (const w of warnings) opts.onWarning?.(w);
    return { plan: { ...plan, clusters, warnings: [...plan.warnings, ...warnings] }, builds: outputs.size };
  } finally {
    if (work) await rm(await work, { recursive: true, force: true });
  }
}
