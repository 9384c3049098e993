// In-memory blob helpers: build a descriptor for bytes at hand and push them.
import { Readable } from 'node:stream';
import { ContentError } from '../errors.js';
import type { Descriptor } from '../model/oci.js';
import { sha256 } from './digest.js';
import type { OpOptions, Pusher } from './storage.js';

/** pushTolerant pushes `content`, taking ALREADY_EXISTS as done: content addressing makes a concurrent push of the same bytes harmless. */
export async function pushTolerant(dst: Pusher, node: Descriptor, content: Readable, op?: OpOptions): Promise<void> {
  try {
    await dst.push(node, content, op);
  } catch (err) {
    if (err instanceof ContentError && err.code === 'ALREADY_EXISTS') return;
    throw err;
  }
}

/** pushBytes computes the descriptor of `data`, pushes it to `store` and returns the descriptor. */
export async function pushBytes(
  store: Pusher,
  mediaType: string,
  data: Buffer,
  extra?: Partial<Descriptor>,
  opts?: OpOptions,
): Promise<Descriptor> {
  const desc: Descriptor = { ...extra, mediaType, digest: sha256(data), size: data.length };
  await store.push(desc, Readable.from([data]), opts);
  return desc;
}
