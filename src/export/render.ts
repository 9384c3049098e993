// The Helm stage as export and `resolve --images` run it: charts fetched (cached) and rendered, the Helm
// groups put into the plan, and the images every carried object names; with images asked for, each image
// is copied into the image cache as soon as it is known.
import type { ExtraArtifact } from '../bundle/pack.js';
import type { KubeObject } from '../model/sveltos.js';
import { driftDetectionImageUses } from '../resolve/drift-detection.js';
import { withHelmGroups } from '../resolve/helm-groups.js';
import { groupImageUses, imageReport, type ImageUse } from '../resolve/images.js';
import type { ExportPlan } from '../resolve/plan.js';
import { ChartCache, defaultCacheDir } from '../source/helm.js';
import { findHelm, knownHelmVersion } from '../source/helm-render.js';
import { ImageCache, ImageResolver, loadDockerConfig } from '../source/images.js';
import { findKustomize } from '../source/kustomize.js';
import { RenderCache } from '../source/render-cache.js';
import { formatBytes } from '../model/size.js';
import { chartExtras, helmInputsFromPlan, renderHelmForPlan } from './helm-stage.js';
import { ImagePolicy } from './image-policy.js';
import { ImageStage } from './image-stage.js';
import { renderKustomizeForPlan } from './kustomize-stage.js';
import type { ExportLog } from './log.js';

/** HelmFlags are the flags that say how charts are fetched and rendered. */
export interface HelmFlags {
  helm?: string;
  kubeVersion?: string;
  offline?: boolean;
  cacheDir?: string;
  /** Carry what proves each OCI chart (and, with includeImages, each image): cosign tags and the referrers index. Default true (--no-referrers). */
  referrers?: boolean;
  /** `--referrer-type`: carry only proofs of these media types. */
  referrerType?: string[];
}

/** RenderFlags are the Helm flags, the kustomize binary (`--kustomize`) and where Flux artifacts are read. */
export interface RenderFlags extends HelmFlags {
  kustomize?: string;
  /** `--flux-artifact-host HOST:PORT`: Flux sources carrying status.artifact are read from there. */
  fluxArtifactHost?: string;
}

/** renderKustomize builds the plan's kustomizationRefs and puts the Kustomize groups into it (the plan as is when it has none). */
export async function renderKustomize(plan: ExportPlan, flags: RenderFlags, env: NodeJS.ProcessEnv, log: ExportLog, signal?: AbortSignal): Promise<ExportPlan> {
  if (!plan.clusters.some((c) => c.kustomize.length > 0)) return plan;
  const stage = await renderKustomizeForPlan(plan, {
    binary: await findKustomize(flags.kustomize, env),
    renderCache: await RenderCache.open(flags.cacheDir ?? defaultCacheDir(env)),
    onEvent: (m) => log.info(m),
    onWarning: (w) => log.warn(w.code, w.message),
    ...(signal ? { signal } : {}),
  });
  return stage.plan;
}

/** RenderedPlan is a plan with its Helm groups in place, the charts to carry and the images named. */
export interface RenderedPlan {
  plan: ExportPlan;
  charts: ExtraArtifact[];
  /** Every image mention of the plan's objects (policyRefs content and rendered charts), when asked for. */
  images: ImageUse[];
}

/**
 * renderPlan builds every planned kustomizationRef (the Kustomize groups go into the plan), then runs the
 * Helm stage for every planned helmCharts entry (nothing when there is none of either). With
 * `images`, it also lists the images the configuration names, each use handed to `images.onImages` as soon
 * as it is known; without, `images` in the result is empty (policyRefs objects are not parsed for them).
 * `images.signal` stops the Helm stage (the images being carried alongside have failed).
 */
export async function renderPlan(planned: ExportPlan, objects: KubeObject[], flags: RenderFlags, env: NodeJS.ProcessEnv, log: ExportLog, images?: { onImages?: (uses: ImageUse[]) => void; signal?: AbortSignal }): Promise<RenderedPlan> {
  const plan = await renderKustomize(planned, flags, env, log, images?.signal);
  const resourceImages = images ? plan.clusters.flatMap((c) => [...groupImageUses(c.cluster, c.groups), ...driftDetectionImageUses(c.cluster, c.driftDetection)]) : [];
  images?.onImages?.(resourceImages);
  if (!plan.clusters.some((c) => c.helm.length > 0)) return { plan, charts: [], images: resourceImages };
  const cacheDir = flags.cacheDir ?? defaultCacheDir(env);
  const cache = await ChartCache.open(cacheDir);
  const helm = await findHelm(flags.helm, env);
  const renderCache = await RenderCache.open(cacheDir);
  // helm is asked its version while the charts are fetched; no render runs before the answer.
  const version = knownHelmVersion(helm, renderCache).then((v) => log.info(`helm ${v.version} (${helm})`));
  version.catch(() => undefined);
  const stage = await renderHelmForPlan(helmInputsFromPlan(plan.clusters), {
    helm,
    helmReady: version,
    cache,
    renderCache,
    objects,
    ...(flags.kubeVersion ? { kubeVersion: flags.kubeVersion } : {}),
    ...(flags.offline ? { offline: true } : {}),
    ...proofOptions(flags),
    onEvent: (m) => log.info(m),
    ...(images?.onImages ? { onImages: images.onImages } : {}),
    ...(images?.signal ? { signal: images.signal } : {}),
  });
  await version;
  // Results come in plan order: one per planned helmCharts entry.
  let i = 0;
  const clusters = plan.clusters.map((c) => withHelmGroups(c, c.helm.map((planned) => ({ planned, bundles: stage.results[i++]!.bundles }))));
  return { plan: { ...plan, clusters }, charts: chartExtras(stage, cache), images: images ? [...resourceImages, ...stage.results.flatMap((r) => r.images)] : [] };
}

/** CarryFlags say how charts are rendered and whether, and how, the images they name are carried. */
export interface CarryFlags extends RenderFlags {
  includeImages?: boolean;
  /** With includeImages: public key files; each image's cosign signature must verify with one of them. */
  verifyImages?: string[];
  /** With includeImages: a policy file mapping image globs to public keys (src/export/image-policy.ts). */
  verifyImagesPolicy?: string;
  platform?: string[];
  registryAuth?: string;
  plainHttpRegistry?: string[];
  insecureRegistry?: string[];
}

/**
 * renderAndCarry renders the plan's charts and, with `includeImages`, copies every image the configuration
 * names into the image cache: each as soon as it is known, while charts still render.
 */
export async function renderAndCarry(plan: ExportPlan, objects: KubeObject[], flags: CarryFlags, env: NodeJS.ProcessEnv, log: ExportLog): Promise<{ plan: ExportPlan; extras: ExtraArtifact[] }> {
  if (!flags.includeImages) {
    const rendered = await renderPlan(plan, objects, flags, env, log);
    return { plan: rendered.plan, extras: rendered.charts };
  }
  const resolver = new ImageResolver({
    ...(flags.registryAuth ? { credentials: await loadDockerConfig(flags.registryAuth) } : {}),
    plainHTTP: flags.plainHttpRegistry ?? [],
    insecure: flags.insecureRegistry ?? [],
  });
  const policy = await ImagePolicy.load(flags.verifyImagesPolicy, flags.verifyImages ?? []);
  const images = new ImageStage({
    resolver,
    ...proofOptions(flags),
    ...(policy ? { policy, onUnverified: (image: string) => log.warn('IMAGE_UNVERIFIED', `image ${image}: no --verify-images-policy rule matches it (noMatch: warn); carried without a signature check`) } : {}),
    cache: await ImageCache.open(flags.cacheDir ?? defaultCacheDir(env)),
    ...(flags.platform?.length ? { platforms: flags.platform } : {}),
    ...(flags.offline ? { offline: true } : {}),
    onEvent: (e) =>
      log.info(`image ${e.image}: ${e.digest}${e.platforms ? ` (${e.platforms.join(',')})` : ''}: ${e.offline ? 'from cache' : `${formatBytes(e.copied)} copied${e.held ? `, ${formatBytes(e.held)} already cached` : ''}`}`),
  });
  try {
    // An image that cannot be carried stops the renders too; it is then the error to report.
    const rendered = await renderPlan(plan, objects, flags, env, log, { onImages: (uses) => images.add(uses), signal: images.signal }).catch((err: unknown) => {
      throw images.failure ?? err;
    });
    const report = imageReport(rendered.images);
    for (const r of report.filter((x) => !x.valid)) log.warn('IMAGE', `${JSON.stringify(r.image)} (${r.objects.join('; ')}): not an image reference; not carried`);
    return { plan: rendered.plan, extras: [...rendered.charts, ...(await images.extras(report))] };
  } finally {
    await images.close();
    await resolver.close();
  }
}

// proofOptions says whether proofs are carried (by default) and of which media types.
function proofOptions(flags: HelmFlags): { proofs?: true; referrerTypes?: string[] } {
  if (flags.referrers === false) return {};
  return { proofs: true, ...(flags.referrerType?.length ? { referrerTypes: flags.referrerType } : {}) };
}
