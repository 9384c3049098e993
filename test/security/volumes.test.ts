// Hostile parts of split bundles: a part that lies about its number, lacks what the signed volume table puts
// in it, carries an altered table or chunk, or misses the metadata every part must carry.
import { join } from 'node:path';
import { describe } from 'vitest';
import { packBundle } from '../../src/bundle/pack.js';
import { ANNOTATION_PART, ANNOTATION_PARTS } from '../../src/model/bundle.js';
import { chartExtra, clusterInput, configMapYAML, DAY, readTarEntries, T0 } from '../bundles.js';
import { tempDir } from '../helpers.js';
import { tarOf } from './forge.js';
import { runCorpus, type Ctx, type HostileCase } from './run.js';

interface Split {
  parts: Map<string, Buffer>[];
  table: { volumes: { blobs: string[] }[]; chunked: { digest: string; chunks: { digest: string; part: number }[] }[] };
  tableDigest: string;
  manifests: string[];
}

// split packs a signed bundle (sequence 2) into parts of 48 KiB, with a chunked chart, and reads the parts back.
async function split(ctx: Ctx): Promise<Split> {
  const out = join(await tempDir(), 'b.tar');
  const r = await packBundle({
    clusters: [clusterInput('prod', 'c1', {}, [configMapYAML('a', 20_000), configMapYAML('b', 15_000)])],
    extras: [await chartExtra('charts/x:1.0.0', 70_000)],
    signer: ctx.trusted.signer,
    sequence: 2,
    createdAt: T0,
    expiresAt: new Date(T0.getTime() + 30 * DAY),
    source: 'test',
    out,
    splitSize: 48 * 1024,
  });
  const parts = await Promise.all(r.parts!.map((p) => readTarEntries(p.file)));
  const tableLayer = r.volumes!.table;
  const { sha256 } = await import('../../src/content/digest.js');
  const { canonicalJSON } = await import('../../src/bundle/sign.js');
  return {
    parts,
    table: tableLayer,
    tableDigest: sha256(canonicalJSON(tableLayer)),
    manifests: r.index.manifests.map((m) => m.digest),
  };
}

const entry = (digest: string) => `blobs/sha256/${digest.slice(7)}`;
const tars = (s: Split) => s.parts.map((p) => tarOf(p));

const cases: HostileCase[] = [
  {
    slug: 'part-lacks-a-blob-the-table-puts-in-it',
    code: 'BLOB_MISSING',
    message: /sha256:[a-f0-9]{64}: application\/vnd\.projectsveltos\.airgap\.\w+\.v1(\+yaml)?: not found in .*hostile\.part1-of-\d\.tar: the signed volume table puts it in part 1 of \d \(the part is damaged: copy it again\)/,
    build: async (ctx) => {
      const s = await split(ctx);
      const victim = s.table.volumes[0]!.blobs[0] ?? s.table.chunked[0]!.chunks.find((c) => c.part === 1)!.digest;
      s.parts[0]!.delete(entry(victim));
      return tars(s);
    },
  },
  {
    slug: 'part-number-lie',
    code: 'TAMPERED',
    message: /hostile\.part2-of-\d\.tar: index\.json says part 9 of 9, the signed volume table has \d parts/,
    build: async (ctx) => {
      const s = await split(ctx);
      const idx = JSON.parse(s.parts[1]!.get('index.json')!.toString());
      idx.annotations = { [ANNOTATION_PART]: '9', [ANNOTATION_PARTS]: '9' };
      s.parts[1]!.set('index.json', Buffer.from(JSON.stringify(idx)));
      return tars(s);
    },
  },
  {
    slug: 'part-without-number',
    code: 'INVALID_LAYOUT',
    message: /hostile\.tar: index\.json: a part of a split bundle must name its part number/,
    build: async (ctx) => {
      const s = await split(ctx);
      const idx = JSON.parse(s.parts[0]!.get('index.json')!.toString());
      delete idx.annotations;
      s.parts[0]!.set('index.json', Buffer.from(JSON.stringify(idx)));
      return tarOf(s.parts[0]!);
    },
  },
  {
    slug: 'volume-table-altered',
    code: 'DIGEST_MISMATCH',
    message: /hostile\.part1-of-\d\.tar: sha256:[a-f0-9]{64}: application\/vnd\.projectsveltos\.airgap\.volumes\.v1\+json: digest mismatch/,
    build: async (ctx) => {
      const s = await split(ctx);
      const table = JSON.parse(s.parts[0]!.get(entry(s.tableDigest))!.toString());
      table.chunked[0].chunks[0].part = table.chunked[0].chunks[1].part;
      s.parts[0]!.set(entry(s.tableDigest), Buffer.from(JSON.stringify(table)));
      return tars(s);
    },
  },
  {
    slug: 'chunk-altered',
    code: 'DIGEST_MISMATCH',
    message: /sha256:[a-f0-9]{64}: application\/vnd\.projectsveltos\.airgap\.chunk\.v1: digest mismatch: expected sha256:[a-f0-9]{64}, got sha256:/,
    build: async (ctx) => {
      const s = await split(ctx);
      const chunk = s.table.chunked[0]!.chunks[0]!;
      const part = s.parts[chunk.part - 1]!;
      const data = Buffer.from(part.get(entry(chunk.digest))!);
      data[100] = data[100]! ^ 0xff;
      part.set(entry(chunk.digest), data);
      return tars(s);
    },
  },
  {
    slug: 'part-lacks-metadata',
    code: 'BLOB_MISSING',
    message: /sha256:[a-f0-9]{64}: application\/vnd\.oci\.image\.manifest\.v1\+json: not found in .*hostile\.part2-of-\d\.tar: every part carries the signed metadata/,
    build: async (ctx) => {
      const s = await split(ctx);
      s.parts[1]!.delete(entry(s.manifests[0]!));
      return tars(s);
    },
  },
  {
    slug: 'volume-set-dropped-from-index',
    code: 'TAMPERED',
    message: /index\.json: signed subject sha256:[a-f0-9]{64} is missing from index\.json/,
    build: async (ctx) => {
      const s = await split(ctx);
      for (const p of s.parts) {
        const idx = JSON.parse(p.get('index.json')!.toString());
        idx.manifests = idx.manifests.filter((m: { artifactType?: string }) => m.artifactType !== 'application/vnd.projectsveltos.airgap.volumes.v1+json');
        p.set('index.json', Buffer.from(JSON.stringify(idx)));
      }
      return tars(s);
    },
  },
];

describe('hostile parts of split bundles', () => {
  runCorpus(cases);
});
