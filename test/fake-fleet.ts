// FakeFleet builds the objects a `--from` directory would hold, for planning tests.
import { planExport, type ExportPlan } from '../src/resolve/plan.js';
import type { KubeObject, ProfileSpec, SetSpec } from '../src/model/sveltos.js';
import type { RemoteContents } from '../src/resolve/remote-url.js';

type Meta = { labels?: Record<string, string>; annotations?: Record<string, string>; uid?: string };

function split(nsName: string): { namespace: string; name: string } {
  const i = nsName.indexOf('/');
  if (i < 0) throw new Error(`expected namespace/name, found ${nsName}`);
  return { namespace: nsName.slice(0, i), name: nsName.slice(i + 1) };
}

/** FakeFleet collects clusters, profiles and referenced objects; `plan()` runs planExport on them. */
export class FakeFleet {
  readonly objects: KubeObject[] = [];

  /** cluster adds a pull-mode SveltosCluster `ns/name` with labels. */
  cluster(nsName: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): this {
    const { namespace, name } = split(nsName);
    this.objects.push({
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'SveltosCluster',
      metadata: { name, namespace, labels },
      spec: { pullMode: true, ...spec },
      ...extra,
    });
    return this;
  }

  clusterProfile(name: string, spec: ProfileSpec, meta: Meta = {}): this {
    this.objects.push({ apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'ClusterProfile', metadata: { name, ...meta }, spec });
    return this;
  }

  profile(nsName: string, spec: ProfileSpec, meta: Meta = {}): this {
    const { namespace, name } = split(nsName);
    this.objects.push({ apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'Profile', metadata: { name, namespace, ...meta }, spec });
    return this;
  }

  configMap(nsName: string, data: Record<string, string>, meta: Meta = {}): this {
    const { namespace, name } = split(nsName);
    this.objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...meta }, data });
    return this;
  }

  /** secret adds a Secret; `data` is given as text and stored base64-encoded. Type defaults to Sveltos's. */
  secret(nsName: string, data: Record<string, string>, meta: Meta & { type?: string } = {}): this {
    const { namespace, name } = split(nsName);
    const { type, ...m } = meta;
    this.objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, ...m },
      type: type ?? 'addons.projectsveltos.io/cluster-profile',
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
    return this;
  }

  clusterSet(name: string, spec: SetSpec, status?: Record<string, unknown>): this {
    this.objects.push({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ClusterSet', metadata: { name }, spec, ...(status ? { status } : {}) });
    return this;
  }

  set(nsName: string, spec: SetSpec): this {
    const { namespace, name } = split(nsName);
    this.objects.push({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'Set', metadata: { name, namespace }, spec });
    return this;
  }

  object(o: KubeObject): this {
    this.objects.push(o);
    return this;
  }

  plan(opts: { clusters?: string[]; autoDeployDependencies?: boolean; remote?: RemoteContents } = {}): ExportPlan {
    return planExport({ objects: structuredClone(this.objects), now: new Date('2026-01-01T00:00:00Z'), ...opts });
  }
}

/** profilesOf lists `cluster → profile names` of a plan, for compact assertions. */
export function profilesOf(plan: ExportPlan): Record<string, string[]> {
  return Object.fromEntries(plan.clusters.map((c) => [c.cluster, c.profiles.map((p) => (p.namespace ? `${p.namespace}/${p.name}` : p.name))]));
}

/** resourcesOf decodes the objects carried for a cluster, as `Kind ns/name` per group. */
export function bundleYAML(plan: ExportPlan, cluster: string): string[] {
  const c = plan.clusters.find((x) => x.cluster === cluster);
  return (c?.groups ?? []).flatMap((g) => g.bundles.flatMap((b) => b.spec.resources ?? []));
}
