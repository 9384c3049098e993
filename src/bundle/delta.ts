// Delta exports (`export --since RECEIPT --site-key SITE.pub`): the receipt says which blobs the site
// holds; the bundle leaves them out but still signs the full graph, so the importing site reads them
// from its store, digest-verified like any other blob.
import type { KeyObject } from 'node:crypto';
import { isGraphNode, successorsOf } from '../content/graph.js';
import type { Descriptor, ReadOnlyStorage } from '../content/storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll } from '../content/verify.js';
import { verifyReceipt, type VerifiedReceipt } from './receipt.js';

export interface DeltaBase {
  /** The verified receipt the delta is computed from. */
  receipt: VerifiedReceipt;
  /** Digests the site holds: pass as `packBundle({ omit })`. */
  omit: ReadonlySet<string>;
}

/**
 * deltaBaseFromReceipt verifies a site receipt with the site's public key(s) and returns the blobs a delta
 * export leaves out. This is what `export --since RECEIPT --site-key SITE.pub` calls before `packBundle`.
 */
export function deltaBaseFromReceipt(receiptBytes: Buffer, siteKeys: KeyObject[], source = 'receipt'): DeltaBase {
  const receipt = verifyReceipt(receiptBytes, siteKeys, source);
  return { receipt, omit: new Set(receipt.statement.predicate.blobs) };
}

/**
 * findMissingBlobs walks the graphs under `roots` in `src` and lists every descriptor whose content it
 * lacks (manifests it cannot read are listed and not walked). Used to name what a delta import misses.
 */
export async function findMissingBlobs(src: ReadOnlyStorage, roots: Descriptor[], limit = DEFAULT_MAX_METADATA_BYTES): Promise<Descriptor[]> {
  const seen = new Set<string>();
  const missing: Descriptor[] = [];
  const queue = [...roots];
  while (queue.length) {
    const d = queue.shift()!;
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    if (!(await src.exists(d))) {
      missing.push(d);
      continue;
    }
    if (isGraphNode(d)) queue.push(...successorsOf(d, await readAll(await src.fetch(d), d, { limit })));
  }
  return missing;
}
