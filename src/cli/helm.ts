// The Helm stage as export and `resolve --images` run it: charts fetched (cached) and rendered, the Helm
// groups put into the plan, and the images every carried object names.
import { chartExtras, helmInputsFromPlan, renderHelmForPlan } from '../export/helm-stage.js';
import type { KubeObject } from '../model/sveltos.js';
import { withHelmGroups } from '../resolve/helm-groups.js';
import { groupImageUses, type ImageUse } from '../resolve/images.js';
import type { ExportPlan } from '../resolve/plan.js';
import { ChartCache, defaultCacheDir } from '../source/helm.js';
import { findHelm } from '../source/helm-render.js';
import { RenderCache } from '../source/render-cache.js';
import type { ExtraArtifact } from '../bundle/pack.js';
import type { CommandIO, Reporter } from './io.js';

/** HelmFlags are the flags that say how charts are fetched and rendered. */
export interface HelmFlags {
  helm?: string;
  kubeVersion?: string;
  offline?: boolean;
  cacheDir?: string;
}

/** RenderedPlan is a plan with its Helm groups in place, the charts to carry and the images named. */
export interface RenderedPlan {
  plan: ExportPlan;
  charts: ExtraArtifact[];
  /** Every image mention of the plan's objects (policyRefs content and rendered charts), when asked for. */
  images: ImageUse[];
}

/**
 * renderPlan runs the Helm stage for every planned helmCharts entry (nothing when there is none). With
 * `images`, it also lists the images the configuration names, each use handed to `images.onImages` as soon
 * as it is known; without, `images` in the result is empty (policyRefs objects are not parsed for them).
 * `images.signal` stops the Helm stage (the images being carried alongside have failed).
 */
export async function renderPlan(plan: ExportPlan, objects: KubeObject[], flags: HelmFlags, io: CommandIO, reporter: Reporter, images?: { onImages?: (uses: ImageUse[]) => void; signal?: AbortSignal }): Promise<RenderedPlan> {
  const resourceImages = images ? plan.clusters.flatMap((c) => groupImageUses(c.cluster, c.groups)) : [];
  images?.onImages?.(resourceImages);
  if (!plan.clusters.some((c) => c.helm.length > 0)) return { plan, charts: [], images: resourceImages };
  const cacheDir = flags.cacheDir ?? defaultCacheDir(io.env);
  const cache = await ChartCache.open(cacheDir);
  const stage = await renderHelmForPlan(helmInputsFromPlan(plan.clusters), {
    helm: await findHelm(flags.helm, io.env),
    cache,
    renderCache: await RenderCache.open(cacheDir),
    objects,
    ...(flags.kubeVersion ? { kubeVersion: flags.kubeVersion } : {}),
    ...(flags.offline ? { offline: true } : {}),
    onEvent: (m) => reporter.info(m),
    ...(images?.onImages ? { onImages: images.onImages } : {}),
    ...(images?.signal ? { signal: images.signal } : {}),
  });
  // Results come in plan order: one per planned helmCharts entry.
  let i = 0;
  const clusters = plan.clusters.map((c) => withHelmGroups(c, c.helm.map((planned) => ({ planned, bundles: stage.results[i++]!.bundles }))));
  return { plan: { ...plan, clusters }, charts: chartExtras(stage, cache), images: images ? [...resourceImages, ...stage.results.flatMap((r) => r.images)] : [] };
}
