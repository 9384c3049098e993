// resolve: print, per cluster, the matched profiles and the ConfigurationGroups/Bundles Sveltos
// would stage for it in pull mode.
import { ValidationError } from '../../errors.js';
import { loadPlan } from '../../export/plan.js';
import { renderKustomize, renderPlan, type RenderFlags } from '../../export/render.js';
import { defaultCacheDir } from '../../source/helm.js';
import { imageReport, type ImageReport } from '../../resolve/images.js';
import { clusterGroupsToYAML, type ClusterPlan, type ExportPlan } from '../../resolve/plan.js';
import type { ConfigurationBundle } from '../../model/sveltos.js';
import { redactResource } from '../../resolve/redact.js';
import { displayURL } from '../../resolve/remote-url.js';
import { printResult, Reporter, table, type CommandIO, type GlobalOptions } from '../io.js';
import { planSource } from '../live.js';
import { driftDetectionFlags, parseClusterName, type DriftDetectionOptions, type LiveClusterOptions } from '../options.js';

/** ResolveOptions are the flags of `resolve`; `--output yaml` prints the objects as a YAML stream. */
export interface ResolveOptions extends GlobalOptions, RenderFlags, DriftDetectionOptions, LiveClusterOptions {
  /** Directories (or files) to read, recursively. */
  from: string[];
  /** Limit to these clusters (`NAMESPACE/NAME`). */
  cluster?: string[];
  /**
   * Report every image the configuration names instead of the plan: charts are fetched (cached) and
   * rendered as export renders them, so their images count too.
   */
  images?: boolean;
  /** Injected clock for tests; default now. */
  now?: Date;
}

/** resolve loads `--from`, plans, builds the kustomizationRefs and prints (with `images`, the image report). */
export async function resolve(opts: ResolveOptions, io: CommandIO): Promise<ExportPlan> {
  const clusters = (opts.cluster ?? []).map((c) => parseClusterName(c));
  // --offline and --cache-dir also say how remoteURLs are fetched; the helm flags only matter for --images.
  const helmFlags = (['helm', 'kubeVersion'] as const).filter((f) => opts[f] !== undefined);
  if (!opts.images && helmFlags.length > 0) {
    throw new ValidationError('USAGE', `--${helmFlags[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is used with --images (resolve renders charts only to list their images)`);
  }
  const reporter = new Reporter(io, opts);
  const loaded = await loadPlan(await planSource(opts, io.env), clusters, opts.now ?? new Date(), reporter, {
    cacheDir: opts.cacheDir ?? defaultCacheDir(io.env),
    ...(opts.offline ? { offline: true } : {}),
    ...(opts.fluxArtifactHost ? { fluxArtifactHost: opts.fluxArtifactHost } : {}),
  }, { ...driftDetectionFlags(opts), env: io.env });
  if (opts.images) {
    // Only the images are listed: what proves the charts is not fetched.
    const rendered = await renderPlan(loaded.plan, loaded.objects, { ...opts, referrers: false }, io.env, reporter, {});
    const images = imageReport(rendered.images);
    printResult(io, opts, { images }, () => imagesText(images));
    return rendered.plan;
  }
  // kustomize runs here, on local input only: the Kustomize groups are shown like the others.
  const plan = await renderKustomize(loaded.plan, opts, io.env, reporter);
  if (opts.output === 'yaml') {
    io.stdout.write(plan.clusters.flatMap((c) => c.groups.map((g) => clusterGroupsToYAML(g.group, g.bundles.map(shownBundle)))).join(''));
    return plan;
  }
  printResult(io, opts, planToJSON(plan), () => plan.clusters.map(clusterText).join('\n\n') || 'no cluster in the input');
  return plan;
}

/**
 * planToJSON is the machine form of a plan: per cluster its identity and labels, the matched profiles,
 * the objects it would carry (each group followed by its bundles), the Helm releases to render at
 * export, what is not carried and the conflicts; then the warnings.
 */
export function planToJSON(plan: ExportPlan): Record<string, unknown> {
  return {
    clusters: plan.clusters.map((c) => {
      const [namespace, name] = c.cluster.split('/');
      return {
        namespace,
        name,
        labels: c.labels,
        profiles: c.profiles,
        objects: c.groups.flatMap((g) => [g.group, ...g.bundles.map(shownBundle)]),
        helm: c.helm.map((h) => ({ profile: h.profile, releaseNamespace: h.chart.releaseNamespace, releaseName: h.chart.releaseName, chartName: h.chart.chartName, chartVersion: h.chart.chartVersion, repositoryURL: h.chart.repositoryURL })),
        notCarried: c.notCarried,
        conflicts: c.conflicts,
        ...(c.remoteSources.length ? { remoteSources: c.remoteSources.map((r) => ({ url: displayURL(r.url), digest: r.digest })) } : {}),
      };
    }),
    warnings: plan.warnings,
  };
}

// shownBundle is a bundle as resolve shows it: every Secret value it carries replaced by REDACTED.
function shownBundle(b: ConfigurationBundle): ConfigurationBundle {
  if (!b.spec.resources?.some((r) => /\bSecret\b/.test(r))) return b;
  return { ...b, spec: { ...b.spec, resources: b.spec.resources.map(redactResource) } };
}

function clusterText(c: ClusterPlan): string {
  const labels = Object.entries(c.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const out = [`cluster ${c.cluster}${labels ? ` (${labels})` : ''}`];
  if (c.profiles.length === 0) out.push('  no profile matches');
  else {
    const rows = c.profiles.map((p) => [`${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name}`, String(p.tier), p.matchedBy.join(','), p.dependsOn.join(',')]);
    out.push(indent(table(['PROFILE', 'TIER', 'MATCHED BY', 'DEPENDS ON'], rows)));
  }
  if (c.groups.length > 0) {
    const rows = c.groups.map(({ group, bundles }) => [
      group.metadata.name,
      group.metadata.labels['pullmode.projectsveltos.io/requestorfeature'] ?? '',
      group.metadata.annotations['pullmode.projectsveltos.io/requestorname'] ?? '',
      bundles.map((b) => `${b.metadata.annotations['pullmode.projectsveltos.io/index']} (${b.spec.resources?.length ?? 0})`).join(', ') || '-',
    ]);
    out.push(indent(table(['GROUP', 'FEATURE', 'REQUESTOR', 'BUNDLES (OBJECTS)'], rows)));
  }
  for (const h of c.helm) out.push(`  helm: ${String(h.chart.releaseNamespace)}/${String(h.chart.releaseName)} ${String(h.chart.chartName)}@${String(h.chart.chartVersion)} (${h.profile}; rendered at export)`);
  for (const n of c.notCarried) out.push(`  not carried: ${n.ref} (${n.profile}): ${n.reason}`);
  for (const x of c.conflicts) out.push(`  conflict: ${x.resource}: owned by ${x.owner}, also in ${x.others.join(', ')}`);
  return out.join('\n');
}

function imagesText(images: ImageReport[]): string {
  if (images.length === 0) return 'no image is named by the configuration';
  const lines = [
    table(['IMAGE', 'CLUSTERS', 'PROFILES', 'CHARTS', 'OBJECTS'], images.map((i) => [
      i.valid ? i.image : `${i.image} (not an image reference)`,
      i.clusters.join(',') || '-',
      i.profiles.join(',') || '-',
      i.charts.join(',') || '-',
      String(i.objects.length),
    ])),
  ];
  const invalid = images.filter((i) => !i.valid).length;
  if (invalid) lines.push(`${invalid} reference(s) are not image references: export cannot carry them (see --output json for where they are)`);
  return lines.join('\n');
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
