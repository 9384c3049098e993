// Container image discovery in rendered objects and reference normalisation (as Docker reads references:
// `nginx` is `docker.io/library/nginx:latest`). Pure.
import { isPlainObject, type KubeObject } from '../model/sveltos.js';
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
