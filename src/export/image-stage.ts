// The image stage of export: every image the configuration names is resolved in its registry and copied
// into the local image cache as soon as it is known (policyRefs images at once, Helm images while other
// charts still render), a few images at a time. The bundle writer then reads the images from the cache.
import { setMaxListeners } from 'node:events';
import type { ExtraArtifact } from '../bundle/pack.js';
import { Limiter } from '../content/limiter.js';
import type { ImagePolicy } from './image-policy.js';
import { CopyError, isAbortError, VerificationError } from '../errors.js';
import { verifyCosign } from '../registry/cosign-verify.js';
import { ANNOTATION_CLUSTERS } from '../model/bundle.js';
import { filterProof, PROOF_SUFFIXES, proofTag } from '../model/proofs.js';
import { sha256 } from '../content/digest.js';
import { readAll } from '../content/verify.js';
import { isGraphNode } from '../content/graph.js';
import { parseImageReference, type ImageRef, type ImageReport } from '../resolve/images.js';
import type { CarriedImage, ImageCache, ImageResolver } from '../source/images.js';

export interface ImageStageOptions {
  /** Where images come from (unused with `offline`). */
  resolver: ImageResolver;
  cache: ImageCache;
  /** Carry only these platforms of multi-platform images (`os/arch[/variant]`). Unset: all. */
  platforms?: string[];
  /** Take images from the cache alone; an image not in it fails the export. */
  offline?: boolean;
  /** Images staged at once. Default 4. */
  concurrency?: number;
  /**
   * Also carry what proves each image, as cosign and OCI 1.1 registries without the referrers API store it:
   * the tags `sha256-<hex>.sig`, `.att`, `.sbom` and the referrers index `sha256-<hex>` (the tag-schema
   * fallback). Default false.
   */
  proofs?: boolean;
  /** With `proofs`: keep only proofs of these media types (a referrers index keeps only such entries). */
  referrerTypes?: string[];
  /** Which keys must have signed each image (`--verify-images`, `--verify-images-policy`): checked before it is carried. */
  policy?: ImagePolicy;
  /** An image carried without a check because no policy rule matches it and noMatch is warn. */
  onUnverified?: (image: string) => void;
  onEvent?: (event: ImageStageEvent) => void;
}

/** ImageStageEvent reports one image staged: bytes copied from its registry and bytes the cache already held. */
export interface ImageStageEvent {
  image: string;
  digest: string;
  platforms?: string[];
  copied: number;
  held: number;
  /** True with `offline`: taken from the cache alone. */
  offline: boolean;
}

/** ImageStage stages images as they become known and hands them to packBundle once all are in. */
export class ImageStage {
  readonly #started = new Map<string, Promise<CarriedImage>>();
  /** The proofs carried with each image (its cosign tags and referrers index). */
  readonly #proofs = new Map<string, Promise<CarriedImage[]>>();
  /** Where each image was first seen, for error messages. */
  readonly #usedBy = new Map<string, string>();
  readonly #limit: Limiter;
  readonly #abort = new AbortController();
  #failure: unknown;

  constructor(private readonly opts: ImageStageOptions) {
    this.#limit = new Limiter(opts.concurrency ?? 4);
    // Every request and retry wait in flight listens on it; each removes its listener when done.
    setMaxListeners(0, this.#abort.signal);
  }

  /** add starts staging every valid image of `uses` not started yet; invalid references are left to the report. */
  add(uses: Iterable<{ image: string; cluster?: string; object?: string }>): void {
    for (const u of uses) {
      const image = parseImageReference(u.image);
      if (!image || this.#started.has(image.reference)) continue;
      if (u.cluster && u.object) this.#usedBy.set(image.reference, `${u.cluster}: ${u.object}`);
      const staged = this.#limit.run(() => this.#stage(image).catch((err: unknown) => Promise.reject(this.#explain(image, err))));
      // The first failure stops the others: the export fails anyway, and it should fail fast.
      staged.catch((err: unknown) => {
        this.#failure ??= err;
        this.#abort.abort();
      });
      this.#started.set(image.reference, staged);
      if (this.opts.proofs) {
        const proofs = staged.then((carried) => this.#limit.run(() => this.#stageProofs(image, carried)));
        proofs.catch((err: unknown) => {
          this.#failure ??= this.#explain(image, err);
          this.#abort.abort();
        });
        this.#proofs.set(image.reference, proofs);
      }
    }
  }

  /** signal is aborted at the first image that cannot be carried (and by close): work alongside can stop with it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** failure is the first image that could not be carried, if one could not. */
  get failure(): unknown {
    return this.#failure;
  }

  /** extras stages what `report` names and is not started yet, waits for every image and returns them for packBundle. */
  async extras(report: ImageReport[]): Promise<ExtraArtifact[]> {
    const wanted = report.filter((r) => r.valid);
    this.add(wanted);
    const carried = await Promise.allSettled(wanted.map((r) => this.#started.get(r.image)!));
    const proofs = await Promise.allSettled(wanted.map((r) => this.#proofs.get(r.image) ?? Promise.resolve([])));
    if (this.#failure !== undefined) throw this.#failure;
    // One artifact per served reference, annotated with every cluster using it (as charts are).
    const byRef = new Map<string, { image: CarriedImage; clusters: Set<string> }>();
    const add = (image: CarriedImage, clusters: string[]) => {
      const entry = byRef.get(image.ref) ?? { image, clusters: new Set<string>() };
      for (const cluster of clusters) entry.clusters.add(cluster);
      byRef.set(image.ref, entry);
    };
    carried.forEach((c, i) => {
      add((c as PromiseFulfilledResult<CarriedImage>).value, wanted[i]!.clusters);
      for (const p of (proofs[i] as PromiseFulfilledResult<CarriedImage[]>).value) add(p, wanted[i]!.clusters);
    });
    return [...byRef.values()].map(({ image, clusters }) => ({
      source: image.source,
      root: { ...image.root, annotations: { ...image.root.annotations, ...(clusters.size ? { [ANNOTATION_CLUSTERS]: [...clusters].sort().join(',') } : {}) } },
      ref: image.ref,
    }));
  }

  /** close stops staging (after a failure elsewhere) and waits until nothing runs. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#started.values());
  }

  // #verify checks the image's cosign signature before anything is copied: one signature by one of the keys
  // the policy names for it.
  async #verify(image: ImageRef, digest: string, signal: AbortSignal): Promise<void> {
    const { keys, rule } = this.opts.policy!.keysFor(image);
    if (!keys) {
      if (this.opts.policy!.warnsOnNoMatch) this.opts.onUnverified?.(image.reference);
      return;
    }
    const result = await verifyCosign(this.opts.resolver.client(image), digest, keys, { signal });
    if (!result.verified) {
      throw new VerificationError('SIGNATURE_INVALID', `no cosign signature of ${digest} verifies with ${rule}: ${result.reasons.join('; ')}`, { details: { image: image.reference, digest } });
    }
  }

  // #stageProofs copies the cosign tags and the referrers index found beside the image (none is fine), from its
  // registry or, offline, from the cache; the tags are looked up at once.
  async #stageProofs(image: ImageRef, carried: CarriedImage): Promise<CarriedImage[]> {
    const signal = this.#abort.signal;
    const staged = await Promise.all(
      PROOF_SUFFIXES.map(async (suffix): Promise<CarriedImage | undefined> => {
        const tag = proofTag(carried.root.digest, suffix);
        const proof: ImageRef = { ...image, tag, reference: `${image.registry}/${image.repository}:${tag}` };
        delete (proof as { digest?: string }).digest;
        try {
          const found = this.opts.offline ? await this.opts.cache.lookup(proof, undefined, signal) : await this.opts.resolver.prepare(proof, undefined, signal);
          const kept = this.opts.referrerTypes?.length ? await keepTypes(found, this.opts.referrerTypes, signal) : found;
          if (!kept) return undefined;
          return this.opts.offline && kept === found ? found : await this.opts.cache.add(kept, { signal });
        } catch (err) {
          if (isAbortError(err) || !isNotFound(err)) throw err;
          return undefined;
        }
      }),
    );
    return staged.filter((p): p is CarriedImage => p !== undefined);
  }

  // #explain names the image and one object using it; the cause keeps its code (and so the exit code).
  #explain(image: ImageRef, err: unknown): unknown {
    if (isAbortError(err)) return err;
    const who = this.#usedBy.get(image.reference);
    const message = `image ${image.reference}${who ? ` (used by ${who})` : ''}: cannot be carried: ${(err as Error)?.message ?? String(err)}`;
    return new CopyError('image', 'source', message, { cause: err, details: { image: image.reference } });
  }

  async #stage(image: ImageRef): Promise<CarriedImage> {
    const signal = this.#abort.signal;
    signal.throwIfAborted();
    const { cache, platforms, offline } = this.opts;
    if (offline) {
      const found = await cache.lookup(image, platforms, signal);
      this.opts.onEvent?.({ image: image.reference, digest: found.root.digest, ...(found.platforms ? { platforms: found.platforms } : {}), copied: 0, held: 0, offline: true });
      return found;
    }
    const remote = await this.opts.resolver.prepare(image, platforms, signal);
    if (this.opts.policy) await this.#verify(image, remote.root.digest, signal);
    let copied = 0;
    let held = 0;
    const staged = await cache.add(remote, {
      signal,
      onCopy: (d, skipped) => {
        if (isGraphNode(d)) return;
        if (skipped) held += d.size;
        else copied += d.size;
      },
    });
    this.opts.onEvent?.({ image: image.reference, digest: remote.root.digest, ...(remote.platforms ? { platforms: remote.platforms } : {}), copied, held, offline: false });
    return staged;
  }
}

// keepTypes applies --referrer-type to a proof: undefined when it goes, a narrowed referrers index when only
// some of its entries stay (its bytes are the new root's content).
async function keepTypes(found: CarriedImage, types: readonly string[], signal: AbortSignal): Promise<CarriedImage | undefined> {
  const content = found.rootContent ?? (await readAll(await found.source.fetch(found.root, { signal }), found.root));
  const kept = filterProof(content, types);
  if (!kept.keep) return undefined;
  if (!kept.content) return found;
  return { ...found, root: { ...found.root, digest: sha256(kept.content), size: kept.content.length }, rootContent: kept.content };
}

// isNotFound tells a proof that is not there (the registry has no such tag, or the cache no such image) from a failure.
function isNotFound(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.code === 'NOT_FOUND') return true;
  return false;
}
