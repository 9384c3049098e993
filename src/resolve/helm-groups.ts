// Helm ConfigurationGroups: once charts are rendered and split (helm-split.ts), each (profile, cluster)
// gets one group of feature Helm holding the bundles of its helmCharts in list order. Pure.
import { createHash } from 'node:crypto';
import type { ConfigurationBundle, ConfigurationGroup } from '../model/sveltos.js';
import { goJSONMarshal } from './gojson.js';
import type { HelmBundle } from './helm-split.js';
import type { ClusterPlan, PlannedHelmChart } from './plan.js';
import { driftDetectionBundles, type DriftDetectionContent } from './drift-detection.js';
import { assembleBundle, buildGroup, bundleContent, deployedGVK, type BundleContent } from './pullmode.js';

/**
 * StagedHelmBundle is a HelmBundle encoded as its ConfigurationBundle carries it: the content (one YAML
 * document per object, the hash) and the kinds it deploys (`Kind.version.group`, first use first). Plain
 * data: it does not depend on the cluster or the profile, so it can be kept between exports.
 */
export interface StagedHelmBundle {
  index: string;
  spec: HelmBundle['spec'];
  content: BundleContent;
  kinds: string[];
}

/** stageHelmBundle encodes one bundle of a release. Throws YAMLMarshalError where sigs.k8s.io/yaml would fail. */
export function stageHelmBundle(b: HelmBundle): StagedHelmBundle {
  const kinds = [...new Set(b.resources.map((o) => deployedGVK(String(o.apiVersion), String(o.kind))))];
  return { index: b.index, spec: b.spec, content: bundleContent(b.resources as unknown as Record<string, unknown>[]), kinds };
}

/** RenderedHelmChart is one planned helmCharts entry with the bundles its rendering produced. */
export interface RenderedHelmChart {
  planned: PlannedHelmChart;
  bundles: StagedHelmBundle[];
}

/**
 * helmGroups builds one Helm group per requestor (ClusterSummary), charts in helmCharts order, after the
 * cluster's drift-detection bundles when the profile asks for drift detection.
 */
export function helmGroups(rendered: RenderedHelmChart[], drift?: DriftDetectionContent): { group: ConfigurationGroup; bundles: ConfigurationBundle[] }[] {
  const byRequestor = new Map<string, RenderedHelmChart[]>();
  for (const r of [...rendered].sort((a, b) => a.planned.index - b.planned.index)) {
    const key = r.planned.requestor.requestorName;
    byRequestor.set(key, [...(byRequestor.get(key) ?? []), r]);
  }
  return [...byRequestor.values()].map((charts) => {
    const { requestor, settings } = charts[0]!.planned;
    const bundles = [
      ...driftDetectionBundles(requestor, settings, drift),
      ...charts.flatMap((c) => c.bundles.map((b) => assembleBundle(requestor, b.index, b.content, b.spec))),
    ];
    const gvks = [...new Set(charts.flatMap((c) => c.bundles.flatMap((b) => b.kinds)))];
    const hash = createHash('sha256')
      .update(goJSONMarshal({ feature: 'Helm', sourceRef: settings.sourceRef, charts: charts.map((c) => c.planned.chart), parts: bundles.map((b) => [b.metadata.annotations['pullmode.projectsveltos.io/index'], b.status.hash]) }))
      .digest();
    return { group: buildGroup(requestor, settings, bundles, gvks, hash), bundles };
  });
}

/**
 * withHelmGroups returns the cluster's plan with its Helm groups in place: each goes right before the
 * Resources group of the same ClusterSummary (Sveltos deploys a profile's charts before its policyRefs),
 * or after the other groups when the profile has none.
 */
export function withHelmGroups(plan: ClusterPlan, rendered: RenderedHelmChart[]): ClusterPlan {
  const groups = [...plan.groups];
  for (const g of helmGroups(rendered, plan.driftDetection)) {
    const requestor = g.group.metadata.annotations['pullmode.projectsveltos.io/requestorname'];
    const at = groups.findIndex((x) => x.group.metadata.annotations['pullmode.projectsveltos.io/requestorname'] === requestor);
    groups.splice(at < 0 ? groups.length : at, 0, g);
  }
  return { ...plan, groups };
}
