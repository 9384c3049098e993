// Packs the image of a generated OCI layout into a signed bundle with the library's packBundle, as an
// export does once it has resolved its clusters. Run as its own process so its time and peak RSS are
// measured alone: node bench/lib/pack-bundle.mjs LAYOUT_DIR OUT.tar SIGNING.key REF [SPLIT_SIZE_BYTES]
// (with a split size, OUT.tar names the parts: OUT.part1-of-N.tar …).
import { readFile } from 'node:fs/promises';
import { packBundle } from '../../dist/bundle/pack.js';
import { loadPrivateKey } from '../../dist/bundle/keys.js';
import { KeySigner } from '../../dist/bundle/sign.js';
import { OciLayoutStore } from '../../dist/content/oci-layout/store.js';

const [layoutDir, out, keyFile, ref, split] = process.argv.slice(2);
if (!ref) {
  process.stderr.write('usage: pack-bundle.mjs LAYOUT_DIR OUT.tar SIGNING.key REF\n');
  process.exit(1);
}
const source = await OciLayoutStore.open(layoutDir);
const [root] = source.manifests();
const signer = new KeySigner(loadPrivateKey(await readFile(keyFile, 'utf8'), { source: keyFile }));
const group = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\n  namespace: default\ndata:\n  key: value\n';
const result = await packBundle({
  clusters: [{ namespace: 'bench', name: 'site-1', config: { namespace: 'bench', name: 'site-1', labels: { env: 'bench' }, profiles: ['bench'] }, groups: [{ name: 'bench-resources', feature: 'Resources', requestor: 'ClusterProfile/bench', yaml: group }] }],
  extras: [{ source, root, ref }],
  signer,
  sequence: 1,
  createdAt: new Date('2025-01-01T00:00:00Z'),
  expiresAt: new Date('2100-01-01T00:00:00Z'),
  source: 'sveltos-airgap bench',
  out,
  ...(split ? { splitSize: Number(split) } : {}),
});
process.stdout.write(`${JSON.stringify({ root: result.root.digest, blobs: result.blobs, bytes: result.bytes, parts: result.parts?.map((p) => p.file) })}\n`);
