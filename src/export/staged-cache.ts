// Staged Helm releases kept between exports: what the Helm stage makes of one render for one helmCharts
// entry (its bundles encoded as they are carried, the images their objects name), kept in the render cache
// under the digest of everything that output depends on: the render's own key (helm binary, flags, chart
// digest, release name and namespace, values, Kubernetes version), the helmCharts entry, the profile's
// patches, the action, and the format of this tool's output. A repeated export then neither parses nor
// encodes a chart's objects again.
import { isPlainObject } from '../model/sveltos.js';
import type { HelmAction } from '../resolve/helm-split.js';
import type { StagedHelmBundle } from '../resolve/helm-groups.js';
import type { RenderCache } from '../source/render-cache.js';
import { VERSION } from '../version.js';

// Part of every key: a change to how releases are split or encoded must change it (with the tool's version).
const FORMAT = 'sveltos-airgap staged helm release v1';

/** StagedImage is one image a staged release's objects name: the object and the field path. */
export interface StagedImage {
  image: string;
  object: string;
  path: string;
}

/** StagedRelease is one helmCharts entry's render, split and encoded: the same for every cluster that shares it. */
export interface StagedRelease {
  bundles: StagedHelmBundle[];
  images: StagedImage[];
}

/** StagedInputs are what a staged release depends on beyond its render. */
export interface StagedInputs {
  /** The render's key in the render cache. */
  render: string;
  /** The helmCharts entry (after templating). */
  chart: unknown;
  patches: unknown[];
  action: HelmAction;
}

/** stagedKey digests a staged release's inputs (another key space than the renders': FORMAT comes first). */
export function stagedKey(cache: RenderCache, helm: string, inputs: StagedInputs): Promise<string> {
  return cache.keyOf(helm, [FORMAT, VERSION, inputs.render, inputs.chart, inputs.patches, inputs.action]);
}

/** getStaged reads the staged release under `key`, or undefined (missing, damaged, or not of this shape). */
export async function getStaged(cache: RenderCache, key: string): Promise<StagedRelease | undefined> {
  const text = await cache.get(key);
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isStagedRelease(doc) ? doc : undefined;
}

/** putStaged keeps `staged` under `key`. */
export function putStaged(cache: RenderCache, key: string, staged: StagedRelease): Promise<void> {
  return cache.put(key, JSON.stringify(staged));
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function isStagedBundle(v: unknown): v is StagedHelmBundle {
  if (!isPlainObject(v) || !isString(v.index) || !isPlainObject(v.spec) || !isStrings(v.kinds) || !isPlainObject(v.content)) return false;
  const { resources, hash } = v.content;
  return isString(hash) && (resources === undefined || isStrings(resources));
}

function isStagedRelease(v: unknown): v is StagedRelease {
  return (
    isPlainObject(v) &&
    Array.isArray(v.bundles) &&
    v.bundles.every(isStagedBundle) &&
    Array.isArray(v.images) &&
    v.images.every((m) => isPlainObject(m) && isString(m.image) && isString(m.object) && isString(m.path))
  );
}
