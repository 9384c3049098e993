// copyGraph with a root document the caller already holds: it is checked, never fetched again.
import { describe, expect, it } from 'vitest';
import { EMPTY_JSON_DESCRIPTOR, MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor } from '../model/oci.js';
import { pushBytes } from './bytes.js';
import { copyGraph } from './copy.js';
import { MemoryTarget } from './memory.js';
import type { OpOptions } from './storage.js';

async function source() {
  const store = new MemoryTarget();
  const layer = await pushBytes(store, 'application/octet-stream', Buffer.from('layer bytes'));
  await pushBytes(store, EMPTY_JSON_DESCRIPTOR.mediaType, Buffer.from('{}'));
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config: { ...EMPTY_JSON_DESCRIPTOR, data: undefined }, layers: [layer] }));
  const root = await pushBytes(store, MEDIA_TYPE_IMAGE_MANIFEST, body);
  const fetched: string[] = [];
  const counting = {
    exists: (d: Descriptor, o?: OpOptions) => store.exists(d, o),
    fetch: (d: Descriptor, o?: OpOptions) => {
      fetched.push(d.digest);
      return store.fetch(d, o);
    },
  };
  return { counting, root, body, layer, fetched };
}

describe('copyGraph rootContent', () => {
  it('copies the graph without fetching the root again', async () => {
    const { counting, root, body, layer, fetched } = await source();
    const dst = new MemoryTarget();
    await copyGraph(counting, dst, root, { rootContent: body });
    expect(fetched).not.toContain(root.digest);
    expect(fetched).toContain(layer.digest);
    expect(await dst.exists(root)).toBe(true);
    expect(await dst.exists(layer)).toBe(true);
  });

  it('refuses root bytes that do not match the root descriptor, and copies nothing', async () => {
    const { counting, root, body } = await source();
    const dst = new MemoryTarget();
    const forged = Buffer.from(body.toString('utf8').replace('layer', 'LAYER'));
    await expect(copyGraph(counting, dst, root, { rootContent: forged })).rejects.toMatchObject({ cause: { code: 'DIGEST_MISMATCH' } });
    await expect(copyGraph(counting, dst, { ...root, size: 64 * 1024 * 1024 }, { rootContent: body })).rejects.toMatchObject({ cause: { code: 'SIZE_EXCEEDS_LIMIT' } });
    expect(await dst.exists(root)).toBe(false);
  });
});
