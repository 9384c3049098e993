// What one referenced ConfigMap/Secret carries into its ConfigurationBundle: its data read as
// objects (content.ts), the profile's patches applied (patch.ts) and the objects encoded as the
// bundle holds them (pullmode.ts). The result depends on nothing but the data and the patches,
// so the clusters that reference the same object with the same patches share one (CarryCache).

import { createHash } from 'node:crypto';
import { apiGroup, isPlainObject, type Patch } from '../model/sveltos.js';
import { parseData, type ContentProblem } from './content.js';
import { YAMLMarshalError } from './goyaml.js';
import { applyPatches, PatchFailure } from './patch.js';
import { bundleContent, deployedGVK, type BundleContent } from './pullmode.js';

/** Carried is the bundle content of one reference, or the stage that failed and why. */
export type Carried =
  | {
      ok: true;
      content: BundleContent;
      /** resourceKey of each object, in order (for conflicts between profiles). */
      resourceKeys: string[];
      /** deployedGVK of each object, in order. */
      gvks: string[];
    }
  | { ok: false; stage: 'content'; problems: ContentProblem[] }
  | { ok: false; stage: 'patch' | 'marshal'; message: string };

/** resourceKey names a deployed object as conflicts report it: `group/Kind namespace/name`. */
export function resourceKey(o: Record<string, unknown>): string {
  const meta = isPlainObject(o.metadata) ? o.metadata : {};
  return `${apiGroup(String(o.apiVersion))}/${String(o.kind)} ${meta.namespace ? `${String(meta.namespace)}/` : ''}${String(meta.name)}`;
}

/** carry parses `data`, patches every object and encodes them. Other errors than the stages' are thrown. */
export function carry(data: Record<string, string>, patches: Patch[]): Carried {
  const parsed = parseData(data);
  if (parsed.problems.length > 0) return { ok: false, stage: 'content', problems: parsed.problems };
  let objects: Record<string, unknown>[];
  try {
    objects = parsed.objects.map((o) => applyPatches(o.object, patches));
  } catch (err) {
    if (!(err instanceof PatchFailure)) throw err;
    return { ok: false, stage: 'patch', message: err.message };
  }
  let content: BundleContent;
  try {
    content = bundleContent(objects);
  } catch (err) {
    if (!(err instanceof YAMLMarshalError)) throw err;
    return { ok: false, stage: 'marshal', message: err.message };
  }
  return {
    ok: true,
    content,
    resourceKeys: objects.map(resourceKey),
    gvks: objects.map((o) => deployedGVK(String(o.apiVersion), String(o.kind))),
  };
}

/**
 * patchesKey identifies a list of patches by content; undefined when a field is not a string
 * (such lists are not shared).
 */
export function patchesKey(patches: Patch[]): string | undefined {
  if (patches.length === 0) return '[]';
  const allStrings = (v: unknown): boolean =>
    v === undefined || typeof v === 'string' || (isPlainObject(v) && Object.values(v).every(allStrings));
  return patches.every((p) => typeof p.patch === 'string' && allStrings(p.target)) ? JSON.stringify(patches) : undefined;
}

/**
 * CarryCache shares Carried results among the clusters of one plan: by source object (a
 * ConfigMap or Secret whose data is not a template) and by rendered data (a template that renders
 * the same text for many clusters), each with the same patches. It keeps at most `budget`
 * characters of keys and content, dropping the least recently used first.
 *
 * Rendered data is kept from its second rendering on: a template that renders differently for every
 * cluster (the cluster's name in it) would otherwise fill the cache with content never asked for again,
 * which costs more time (the garbage collector moving it) than the cache saves. Until then only a digest
 * of the data is remembered, for the `seen` most recent renderings.
 */
export class CarryCache {
  readonly #entries = new Map<string, { carried: Carried; weight: number }>();
  readonly #ids = new WeakMap<object, number>();
  readonly #seen = new Set<string>();
  #nextId = 0;
  #weight = 0;
  constructor(
    readonly budget = 16 * 1024 * 1024,
    readonly seen = 8192,
  ) {}

  /** get returns carry(data(), patches), computed once per source and patches. */
  get(source: object, data: () => Record<string, string>, patches: Patch[]): Carried {
    const key = patchesKey(patches);
    if (key === undefined) return carry(data(), patches);
    let id = this.#ids.get(source);
    if (id === undefined) this.#ids.set(source, (id = this.#nextId++));
    return this.#lookup(`s${id}\n${key}`, () => carry(data(), patches));
  }

  /** rendered returns carry(data, patches) for data rendered from a template. */
  rendered(data: Record<string, string>, patches: Patch[]): Carried {
    const key = patchesKey(patches);
    if (key === undefined) return carry(data, patches);
    // Keys in sorted order, as the data was rendered; JSON keeps the pairs apart.
    const sorted = Object.keys(data).sort().map((k) => [k, data[k]]);
    const full = `r${key}\n${JSON.stringify(sorted)}`;
    if (!this.#entries.has(full) && !this.#sawBefore(full)) return carry(data, patches);
    return this.#lookup(full, () => carry(data, patches));
  }

  // sawBefore tells whether `key` was rendered recently, and remembers that it was.
  #sawBefore(key: string): boolean {
    const digest = createHash('sha256').update(key).digest('base64');
    if (this.#seen.delete(digest)) return true;
    this.#seen.add(digest);
    if (this.#seen.size > this.seen) this.#seen.delete(this.#seen.values().next().value!);
    return false;
  }

  #lookup(key: string, compute: () => Carried): Carried {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.carried;
    }
    const carried = compute();
    const content = carried.ok ? (carried.content.resources ?? []).reduce((n, r) => n + r.length, 0) : 0;
    const entry = { carried, weight: key.length + content + 64 };
    this.#entries.set(key, entry);
    this.#weight += entry.weight;
    for (const [k, e] of this.#entries) {
      if (this.#weight <= this.budget || k === key) break;
      this.#entries.delete(k);
      this.#weight -= e.weight;
    }
    return carried;
  }
}
