// Hostile layouts and graphs: a well-formed tar whose oci-layout, index.json or signed manifests lie, bloat or
// point where they should not. The graph attacks carry a valid signature by the trusted key (a compromised
// exporter), so they reach the checks after the signature.
import { describe } from 'vitest';
import { sha256 } from '../../src/content/digest.js';
import { MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor } from '../../src/model/oci.js';
import { hex64, objects, tarOf, type Forge } from './forge.js';
import { runCorpus, type Ctx, type HostileCase } from './run.js';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

// withIndex replaces index.json (or another layout file) of a good bundle.
const withFile = (name: string, data: (old: Buffer) => Buffer | string) => async (ctx: Ctx) => {
  const good = await ctx.good();
  const v = data(good.get(name)!);
  good.set(name, Buffer.isBuffer(v) ? v : Buffer.from(v));
  return tarOf(good);
};

const mutateIndex = (fn: (idx: { manifests: Record<string, unknown>[] }) => void) =>
  withFile('index.json', (old) => {
    const idx = JSON.parse(old.toString());
    fn(idx);
    return JSON.stringify(idx);
  });

// signedGraph signs a bundle whose one cluster artifact is a manifest built by `build` (annotated as the cluster's).
const signedGraph = (build: (f: Forge) => Descriptor | Promise<Descriptor>) => async (ctx: Ctx) => {
  const f = ctx.forge();
  const m = await build(f);
  const entry: Descriptor = { ...m, artifactType: 'application/vnd.projectsveltos.airgap.cluster.v1+json', annotations: { 'io.projectsveltos.airgap.cluster': 'prod/c1', 'org.opencontainers.image.ref.name': 'sveltos-airgap/clusters/prod/c1:latest' } };
  return tarOf(await f.sign([entry]));
};

// signedExtra signs a good cluster plus an extra artifact (a chart or image graph) built by `build`.
const signedExtra = (build: (f: Forge) => Descriptor | Promise<Descriptor>) => async (ctx: Ctx) => {
  const f = ctx.forge();
  const extra = await build(f);
  return tarOf(await f.sign([await f.cluster('prod', 'c1', [cm('a')]), { ...extra, annotations: { 'org.opencontainers.image.ref.name': 'evil/image:1' } }]));
};

// nested makes `depth` indexes, each listing the next, ending in a manifest.
function nested(f: Forge, depth: number): Descriptor {
  let d = f.manifest([objects(f, cm('leaf'))]);
  for (let i = 0; i < depth; i++) d = f.json({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_INDEX, manifests: [d] }, MEDIA_TYPE_IMAGE_INDEX);
  return d;
}

const cases: HostileCase[] = [
  { slug: 'oci-layout-version', code: 'INVALID_LAYOUT', message: /hostile\.tar: oci-layout: imageLayoutVersion: expected "1\.0\.0", found "9\.9\.9"/, build: withFile('oci-layout', () => '{"imageLayoutVersion":"9.9.9"}') },
  { slug: 'index-json-nesting-bomb', code: 'INVALID_LAYOUT', message: /hostile\.tar: index\.json: not valid JSON/, build: withFile('index.json', () => '['.repeat(200_000)) },
  // The 4 MiB default is exercised by manifest-json-bomb-over-limit; a lowered limit keeps the one-byte pass short.
  { slug: 'index-json-oversized', code: 'SIZE_EXCEEDS_LIMIT', message: /hostile\.tar: index\.json is 100000 bytes, more than the limit of 65536/, flags: ['--max-json-bytes', '65536'], build: withFile('index.json', () => Buffer.alloc(100_000, 0x20)) },
  { slug: 'index-digest-path-escape', code: 'INVALID_DIGEST', message: /index\.json\.manifests\[0\]\.digest: invalid digest "sha256:\.\.\/\.\.\/\.\.\/etc\/passwd"/, build: mutateIndex((idx) => void (idx.manifests[0]!.digest = 'sha256:../../../etc/passwd')) },
  { slug: 'index-digest-other-algorithm', code: 'UNSUPPORTED', message: /index\.json\.manifests\[0\]\.digest: sha512:[a-f0-9]+: unsupported digest algorithm "sha512"/, build: mutateIndex((idx) => void (idx.manifests[0]!.digest = `sha512:${hex64(1)}${hex64(2)}`)) },
  { slug: 'index-size-not-safe-integer', code: 'SIZE_EXCEEDS_LIMIT', message: /index\.json\.manifests\[0\]\.size: sha256:[a-f0-9]{64}: expected a non-negative safe integer, got 1152921504606847000/, build: mutateIndex((idx) => void (idx.manifests[0]!.size = 2 ** 60)) },
  { slug: 'index-size-2-pow-53', code: 'SIZE_EXCEEDS_LIMIT', message: /index\.json\.manifests\[0\]\.size: sha256:[a-f0-9]{64}: expected a non-negative safe integer, got 9007199254740992/, build: mutateIndex((idx) => void (idx.manifests[0]!.size = 2 ** 53)) },
  { slug: 'index-entry-added-after-signing', code: 'TAMPERED', message: /index\.json: evil:1 \(sha256:[a-f0-9]{64}\) is not a subject of the signed statement/, build: mutateIndex((idx) => idx.manifests.push({ ...idx.manifests[0]!, annotations: { 'org.opencontainers.image.ref.name': 'evil:1' } })) },
  {
    slug: 'layer-content-swapped',
    code: 'DIGEST_MISMATCH',
    message: /sha256:[a-f0-9]{64}: application\/vnd\.projectsveltos\.airgap\.objects\.v1\+yaml: digest mismatch: expected sha256:[a-f0-9]{64}, got sha256:/,
    build: async (ctx) => {
      const f = ctx.forge();
      const entries = await f.sign([await f.cluster('prod', 'c1', [cm('a')])]);
      const name = `blobs/sha256/${sha256(cm('a')).slice(7)}`;
      entries.set(name, Buffer.from(cm('b')));
      return tarOf(entries);
    },
  },
  {
    slug: 'forged-size-larger',
    code: 'SIZE_MISMATCH',
    message: /sha256:[a-f0-9]{64}: application\/vnd\.projectsveltos\.airgap\.objects\.v1\+yaml: size mismatch: expected \d+ bytes, got \d+/,
    build: signedGraph((f) => {
      const l = objects(f, cm('a'));
      return f.manifest([{ ...l, size: l.size + 1000 }]);
    }),
  },
  {
    slug: 'forged-size-smaller',
    code: 'SIZE_MISMATCH',
    message: /size mismatch: expected 10 bytes, got \d+ or more/,
    build: signedGraph((f) => f.manifest([{ ...objects(f, cm('a')), size: 10 }])),
  },
  {
    slug: 'conflicting-sizes-for-one-digest',
    code: 'TAMPERED',
    message: /sha256:[a-f0-9]{64}: declared as \d+ bytes by sha256:[a-f0-9]{64} and as \d+ bytes by sha256:[a-f0-9]{64}/,
    build: signedGraph((f) => {
      const l = objects(f, cm('a'));
      return f.manifest([l, { ...l, size: l.size * 100 }]);
    }),
  },
  { slug: 'deeply-nested-indexes', code: 'SIZE_EXCEEDS_LIMIT', message: /sha256:[a-f0-9]{64}: application\/vnd\.oci\.image\.index\.v1\+json: manifests nested deeper than 16 levels/, build: signedExtra((f) => nested(f, 40)) },
  {
    slug: 'index-lists-itself-by-a-wrong-digest',
    code: 'BLOB_MISSING',
    message: /sha256:[a-f0-9]{64}: application\/vnd\.oci\.image\.index\.v1\+json: not found in .*hostile\.tar: the bundle lacks a blob its signed manifests reference/,
    build: signedExtra((f) => {
      // An index cannot name its own digest; one that tries names the digest of a body that does not exist.
      const self = { schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_INDEX, manifests: [] as Descriptor[] };
      const guess = sha256(JSON.stringify(self));
      self.manifests.push({ mediaType: MEDIA_TYPE_IMAGE_INDEX, digest: guess, size: 60 });
      return f.json(self, MEDIA_TYPE_IMAGE_INDEX);
    }),
  },
  {
    slug: 'index-listing-a-leaf-as-a-manifest',
    code: 'INVALID_LAYOUT',
    message: /sha256:[a-f0-9]{64}: not valid JSON/,
    build: signedExtra((f) => f.json({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_INDEX, manifests: [{ ...objects(f, 'not: [json'), mediaType: MEDIA_TYPE_IMAGE_MANIFEST }] }, MEDIA_TYPE_IMAGE_INDEX)),
  },
  {
    slug: 'manifest-json-bomb-over-limit',
    code: 'SIZE_EXCEEDS_LIMIT',
    message: /sha256:[a-f0-9]{64}: application\/vnd\.oci\.image\.manifest\.v1\+json: size 42\d{5} exceeds the limit of 4194304 bytes/,
    build: signedExtra((f) => f.manifest([objects(f, cm('a'))], { annotations: { pad: 'x'.repeat(4 * 1024 * 1024 + 16 * 1024) } })),
  },
  {
    slug: 'too-many-blobs',
    code: 'SIZE_EXCEEDS_LIMIT',
    message: /bundle: more than 1000 blobs \(raise the limit with --max-blobs if this bundle is genuine\)/,
    flags: ['--max-blobs', '1000'],
    build: signedExtra((f) => f.manifest(Array.from({ length: 1200 }, (_, i) => ({ mediaType: 'application/octet-stream', digest: `sha256:${hex64(i)}` as const, size: 1 })))),
  },
  {
    slug: 'declared-total-300-gib',
    code: 'SIZE_EXCEEDS_LIMIT',
    message: /bundle: its manifests declare more than 274877906944 bytes of blobs \(raise the limit with --max-total-size/,
    build: signedExtra((f) => f.manifest([{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex64('huge')}`, size: 300 * 1024 ** 3 }])),
  },
  {
    slug: 'foreign-layer-url-outside-blobs',
    code: 'BLOB_MISSING',
    message: /sha256:[a-f0-9]{64}: application\/vnd\.oci\.image\.layer\.v1\.tar: not found in .*hostile\.tar: the bundle lacks a blob/,
    build: signedExtra((f) => f.manifest([{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex64('remote')}`, size: 5, urls: ['http://198.51.100.7/payload'] } as Descriptor])),
  },
  {
    slug: 'descriptor-digest-escapes-blobs',
    code: 'INVALID_DIGEST',
    message: /sha256:[a-f0-9]{64}\.layers\[0\]\.digest: invalid digest "sha256:\.\.\/\.\.\/index\.json"/,
    build: signedExtra((f) => f.json({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config: f.put('{}', 'application/vnd.oci.empty.v1+json'), layers: [{ mediaType: 'x/y', digest: 'sha256:../../index.json', size: 2 }] })),
  },
];

describe('hostile layouts and graphs', () => {
  runCorpus(cases);
});
