// Container image discovery in rendered objects and reference normalisation (as Docker reads references:
// `nginx` is `docker.io/library/nginx:latest`), and the report of which clusters, profiles, charts and
// objects use each image. Pure.
import { parse } from 'yaml';
import { isPlainObject, LABEL_REQUESTOR_FEATURE, type ConfigurationBundle, type ConfigurationGroup, type KubeObject } from '../model/sveltos.js';
import { parseYamlList } from './yaml-list.js';

/** ImageRef is a normalised image reference. */
export interface ImageRef {
  /** Registry host as written (`docker.io` for Docker Hub), with port. */
  registry: string;
  /** Repository path inside the registry (`library/nginx`). */
  repository: string;
  tag?: string;
  digest?: string;
  /** `registry/repository[:tag][@digest]`, the canonical spelling. */
  reference: string;
}

const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-f0-9]{32,}$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const HOST_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;

/** parseImageReference normalises a reference; undefined when it is not a valid image reference. */
export function parseImageReference(text: string): ImageRef | undefined {
  let rest = text.trim();
  if (!rest || rest.length > 4096) return undefined;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) return undefined;
  }
  const slash = rest.indexOf('/');
  let registry = 'docker.io';
  let repository = rest;
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!HOST_RE.test(registry)) return undefined;
  }
  if (registry === 'index.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!repository || !repository.split('/').every((c) => PATH_COMPONENT_RE.test(c))) return undefined;
  if (!tag && !digest) tag = 'latest';
  const reference = `${registry}/${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), reference };
}

/** ImageMention is one place an image is named: the object and the field path. */
export interface ImageMention {
  image: string;
  path: string;
}

const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'];

/** podSpecImages lists the images of every container, init container and ephemeral container of a workload. */
export function podSpecImages(obj: KubeObject): ImageMention[] {
  const path = TEMPLATE_PATHS[obj.kind];
  if (!path) return [];
  let node: unknown = obj;
  for (const p of path) node = isPlainObject(node) ? node[p] : undefined;
  if (!isPlainObject(node)) return [];
  const out: ImageMention[] = [];
  for (const list of CONTAINER_LISTS) {
    const cs = node[list];
    if (!Array.isArray(cs)) continue;
    cs.forEach((c, i) => {
      if (isPlainObject(c) && typeof c.image === 'string' && c.image.trim()) {
        out.push({ image: c.image.trim(), path: `${path.join('.')}.${list}[${i}].image` });
      }
    });
  }
  return out;
}

/** Chart.yaml annotations that list a chart's images. */
export const CHART_IMAGE_ANNOTATIONS = ['helm.sh/images', 'artifacthub.io/images'];

/** chartAnnotationImages reads the images a chart declares: a YAML list of `{image: …}` entries or strings. */
export function chartAnnotationImages(annotations: Record<string, string>): ImageMention[] {
  const out: ImageMention[] = [];
  for (const key of CHART_IMAGE_ANNOTATIONS) {
    const text = annotations[key];
    if (!text) continue;
    parseYamlList(text).forEach((e, i) => {
      const image = typeof e === 'string' ? e : isPlainObject(e) && typeof e.image === 'string' ? e.image : undefined;
      if (image?.trim()) out.push({ image: image.trim(), path: `Chart.yaml annotations[${key}][${i}]` });
    });
  }
  return out;
}

/** ImageUse is one mention of an image: where, for whom. */
export interface ImageUse {
  image: string;
  /** `namespace/name` of the cluster. */
  cluster: string;
  /** `ClusterProfile/name` or `Profile/namespace/name`. */
  profile: string;
  /** The chart (`<served repository>:<tag>`) when the object comes from a Helm release. */
  chart?: string;
  /** `apiVersion Kind [namespace/]name`, or `chart NAME` for a chart annotation. */
  object: string;
  /** Field path of the reference in the object. */
  path: string;
}

/** objectLabel names an object in reports: `apiVersion Kind [namespace/]name`. */
export function objectLabel(o: KubeObject): string {
  return `${o.apiVersion} ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

/** profileLabel names a group's profile as image reports do: `ClusterProfile/name` or `Profile/namespace/name`. */
export function profileLabel(ref: { kind: string; name: string; namespace?: string }): string {
  return `${ref.kind}/${ref.kind === 'Profile' && ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

// A resource that names no image cannot hold a pod spec with one; most resources are skipped unparsed.
const MAY_NAME_IMAGE = /\bimage\b/;

/**
 * groupImageUses lists the images named by the objects a cluster's groups carry, except Helm groups (their
 * images come from the Helm stage, which knows the chart). Resources are the bundles' YAML strings.
 */
export function groupImageUses(cluster: string, groups: { group: ConfigurationGroup; bundles: ConfigurationBundle[] }[]): ImageUse[] {
  const out: ImageUse[] = [];
  for (const { group, bundles } of groups) {
    if (group.metadata.labels[LABEL_REQUESTOR_FEATURE] === 'Helm') continue;
    const profile = profileLabel(group.spec.sourceRef);
    for (const b of bundles) {
      for (const text of b.spec.resources ?? []) {
        if (!MAY_NAME_IMAGE.test(text)) continue;
        let obj: unknown;
        try {
          obj = parse(text, { version: '1.1', maxAliasCount: 1000 });
        } catch {
          continue; // the plan wrote it; a resource that does not parse names no image we can carry
        }
        if (!isPlainObject(obj) || typeof obj.kind !== 'string' || !isPlainObject(obj.metadata)) continue;
        const o = obj as KubeObject;
        for (const m of podSpecImages(o)) out.push({ image: m.image, cluster, profile, object: objectLabel(o), path: m.path });
      }
    }
  }
  return out;
}

/** ImageReport is one image with everything that uses it. */
export interface ImageReport {
  /** The normalised reference (`docker.io/library/nginx:1.25`), or the text as written when it is not valid. */
  image: string;
  /** False when the text is not an image reference: reported, never copied. */
  valid: boolean;
  clusters: string[];
  profiles: string[];
  charts: string[];
  /** `cluster: object` entries. */
  objects: string[];
}

/** imageReport groups image mentions by normalised reference, sorted (invalid references are reported as written). */
export function imageReport(uses: ImageUse[]): ImageReport[] {
  const by = new Map<string, { valid: boolean; clusters: Set<string>; profiles: Set<string>; charts: Set<string>; objects: Set<string> }>();
  for (const u of uses) {
    const ref = parseImageReference(u.image);
    const key = ref?.reference ?? u.image;
    const e = by.get(key) ?? { valid: Boolean(ref), clusters: new Set(), profiles: new Set(), charts: new Set(), objects: new Set() };
    e.clusters.add(u.cluster);
    e.profiles.add(u.profile);
    if (u.chart) e.charts.add(u.chart);
    e.objects.add(`${u.cluster}: ${u.object}`);
    by.set(key, e);
  }
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([image, e]) => ({
    image,
    valid: e.valid,
    clusters: [...e.clusters].sort(),
    profiles: [...e.profiles].sort(),
    charts: [...e.charts].sort(),
    objects: [...e.objects].sort(),
  }));
}
