// Split bundles (docs/format.md "Volumes"): a bundle written as media-sized parts, each of them a valid OCI
// layout tar. Every part carries the signed metadata (index.json, every manifest and index, the signature
// and the volume table); the other blobs are spread over the parts whole, and a blob larger than a part is
// cut into chunks, each a blob of its own whose digest the signed volume table names.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { isDigest } from '../content/digest.js';
import { canFetchRange, type ReadOnlyStorage } from '../content/storage.js';
import { fetchVerified, verifiedStream } from '../content/verify.js';
import { BLOCK, padding } from '../content/tar-header.js';
import { TarLayoutStore, type TarLayoutOpenOptions } from '../content/tarfs.js';
import { abandonOutput, TarWriter } from '../content/tar-writer.js';
import { ContentError, InternalError, ValidationError } from '../errors.js';
import { ANNOTATION_PART, ANNOTATION_PARTS, MEDIA_TYPE_CHUNK } from '../model/bundle.js';
import type { Descriptor, Digest, Index } from '../model/oci.js';
import { canonicalJSON } from './sign.js';
import { isPlainObject } from '../model/json.js';

/** VolumeChunk is one piece of a chunked blob: its own digest and size, and the part that holds it. */
export interface VolumeChunk {
  digest: Digest;
  size: number;
  part: number;
}

/** VolumeTable is the signed map of a split bundle: which part holds which blob. */
export interface VolumeTable {
  version: 1;
  /** Number of parts. */
  parts: number;
  /** Largest part size the bundle was written for, in bytes. */
  splitSize: number;
  /** Per part (in order, `part` = 1..parts): the blobs it holds whole. */
  volumes: { part: number; blobs: Digest[] }[];
  /** Blobs cut into chunks: their chunks, in order. */
  chunked: { digest: Digest; size: number; chunks: VolumeChunk[] }[];
  /** Blobs left out because the receiving site holds them (a delta export): in no part. */
  held?: Digest[];
}

/** partFileName names part `k` of `n` of the bundle `out`: `bundle.tar` gives `bundle.part2-of-3.tar`. */
export function partFileName(out: string, k: number, n: number): string {
  const base = out.endsWith('.tar') ? out.slice(0, -4) : out;
  return `${base}.part${k}-of-${n}.tar`;
}

/** chunkDescriptor is the descriptor under which a chunk is stored, fetched and verified. */
export function chunkDescriptor(c: { digest: Digest; size: number }): Descriptor {
  return { mediaType: MEDIA_TYPE_CHUNK, digest: c.digest, size: c.size };
}

// ---- Reading the table (signed content, parsed strictly: every bad field named) ----

function bad(where: string, field: string, expected: string, found: unknown): never {
  const shown = JSON.stringify(found)?.slice(0, 100) ?? String(found);
  throw new ContentError('INVALID_LAYOUT', `${where}: ${field}: expected ${expected}, found ${shown}`, { details: { field, expected, found: shown } });
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** volumeTableFromJSON parses a volume table and checks it is self-consistent (each blob placed once, chunk sizes add up). */
export function volumeTableFromJSON(buf: Buffer, where = 'volume table'): VolumeTable {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new ContentError('INVALID_LAYOUT', `${where}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(v)) bad(where, '(root)', 'an object', v);
  if (v.version !== 1) bad(where, 'version', '1', v.version);
  const parts = v.parts;
  if (!isCount(parts) || parts < 1) bad(where, 'parts', 'a positive integer', parts);
  if (!isCount(v.splitSize) || v.splitSize < 1) bad(where, 'splitSize', 'a positive integer', v.splitSize);
  if (!Array.isArray(v.volumes) || v.volumes.length !== parts) bad(where, 'volumes', `an array of ${parts} parts`, v.volumes);
  if (!Array.isArray(v.chunked)) bad(where, 'chunked', 'an array', v.chunked);
  // A blob is placed once (whole in one part, or chunked); chunks are content and may repeat (equal bytes).
  const placed = new Set<string>();
  const place = (d: unknown, field: string): Digest => {
    if (!isDigest(d)) bad(where, field, 'a sha256 digest', d);
    if (placed.has(d)) bad(where, field, 'a blob placed only once', d);
    placed.add(d);
    return d;
  };
  const chunkDigest = (d: unknown, field: string): Digest => {
    if (!isDigest(d)) bad(where, field, 'a sha256 digest', d);
    return d;
  };
  const volumes = v.volumes.map((p: unknown, i: number) => {
    const at = `volumes[${i}]`;
    if (!isPlainObject(p)) bad(where, at, 'an object', p);
    if (p.part !== i + 1) bad(where, `${at}.part`, String(i + 1), p.part);
    if (!Array.isArray(p.blobs)) bad(where, `${at}.blobs`, 'an array of digests', p.blobs);
    return { part: i + 1, blobs: p.blobs.map((d: unknown, j: number) => place(d, `${at}.blobs[${j}]`)) };
  });
  const chunked = v.chunked.map((c: unknown, i: number) => {
    const at = `chunked[${i}]`;
    if (!isPlainObject(c)) bad(where, at, 'an object', c);
    const digest = place(c.digest, `${at}.digest`);
    if (!isCount(c.size)) bad(where, `${at}.size`, 'a byte count', c.size);
    if (!Array.isArray(c.chunks) || c.chunks.length === 0) bad(where, `${at}.chunks`, 'a non-empty array', c.chunks);
    let sum = 0;
    const chunks = c.chunks.map((k: unknown, j: number) => {
      const kat = `${at}.chunks[${j}]`;
      if (!isPlainObject(k)) bad(where, kat, 'an object', k);
      const size = k.size;
      if (!isCount(size) || size < 1) bad(where, `${kat}.size`, 'a positive byte count', size);
      if (!isCount(k.part) || k.part < 1 || k.part > parts) bad(where, `${kat}.part`, `a part number from 1 to ${parts}`, k.part);
      sum += size;
      return { digest: chunkDigest(k.digest, `${kat}.digest`), size, part: k.part };
    });
    if (sum !== c.size) bad(where, `${at}.chunks`, `chunk sizes adding up to ${c.size as number}`, sum);
    return { digest, size: c.size, chunks };
  });
  const table: VolumeTable = { version: 1, parts, splitSize: v.splitSize, volumes, chunked };
  if (v.held !== undefined) {
    if (!Array.isArray(v.held)) bad(where, 'held', 'an array of digests', v.held);
    table.held = v.held.map((d: unknown, i: number) => place(d, `held[${i}]`));
  }
  return table;
}

/** partOf returns the part holding a whole blob, or undefined (chunked, or metadata carried by every part). */
export function partOf(table: VolumeTable, digest: string): number | undefined {
  return table.volumes.find((p) => p.blobs.includes(digest as Digest))?.part;
}

// ---- Planning (pure) ----

/** tarFootprint is the archive bytes one entry of `size` bytes takes: header, data and padding. */
export function tarFootprint(size: number): number {
  return BLOCK + size + padding(size);
}

export interface VolumePlanInput {
  /** Blobs spread over the parts (not the metadata every part carries). */
  data: Descriptor[];
  /** Largest part, in bytes. */
  splitSize: number;
  /** Archive bytes every part spends on metadata, directories, index.json, oci-layout and the end marker. */
  overhead: number;
}

export interface PlannedChunk {
  /** The chunked blob, and where in it the chunk starts. */
  of: Descriptor;
  offset: number;
  size: number;
}

export interface VolumePlan {
  /** Per part: the whole blobs and the chunks it holds. */
  parts: { blobs: Descriptor[]; chunks: PlannedChunk[]; used: number }[];
  /** Blobs cut into chunks, with their chunks in order. */
  chunked: { blob: Descriptor; chunks: { chunk: PlannedChunk; part: number }[] }[];
}

/**
 * planVolumes spreads blobs over parts so that no part exceeds `splitSize`, in few parts and deterministically:
 * largest first, each into the first part with room. A blob larger than a part, or a large one (at least
 * 1/16 of a part) that no part has room for, is cut into chunks that fill the free space of the parts in
 * order and then new parts; smaller blobs are never cut. So media are filled (six 512 MiB blobs take three
 * 1 GiB parts, not six) while most blobs stay whole.
 */
export function planVolumes(input: VolumePlanInput): VolumePlan {
  const capacity = input.splitSize - input.overhead;
  // The largest chunk whose entry fills a part: a header plus whole blocks.
  const maxChunk = Math.floor((capacity - BLOCK) / BLOCK) * BLOCK;
  if (maxChunk < BLOCK) {
    throw new ValidationError('USAGE', `--split-size ${input.splitSize}: too small: every part carries ${input.overhead} bytes of signed metadata (index, manifests, signature); use at least ${input.overhead + 4 * BLOCK} bytes`, {
      details: { expected: `>= ${input.overhead + 4 * BLOCK}`, found: input.splitSize },
    });
  }
  const large = capacity / 16;
  // Free space below this is left empty rather than filled with a tiny chunk.
  const minChunk = Math.max(BLOCK, Math.floor(capacity / 64 / BLOCK) * BLOCK);
  const parts: VolumePlan['parts'] = [];
  const chunked: VolumePlan['chunked'] = [];
  const room = (p: VolumePlan['parts'][number]) => Math.floor((capacity - p.used - BLOCK) / BLOCK) * BLOCK;
  const blobs = [...input.data].sort((a, b) => b.size - a.size || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  for (const blob of blobs) {
    const size = tarFootprint(blob.size);
    const fit = parts.find((p) => p.used + size <= capacity);
    // Cut only to fill free space: a blob that fits an empty part and finds no room worth filling opens one.
    const fillable = parts.some((p) => room(p) >= minChunk);
    if (fit || (size <= capacity && (blob.size < large || !fillable))) {
      const p = fit ?? parts[parts.push({ blobs: [], chunks: [], used: 0 }) - 1]!;
      p.used += size;
      p.blobs.push(blob);
      continue;
    }
    const entry: VolumePlan['chunked'][number] = { blob, chunks: [] };
    chunked.push(entry);
    let offset = 0;
    const place = (p: VolumePlan['parts'][number], max: number) => {
      const chunk = { of: blob, offset, size: Math.min(max, blob.size - offset) };
      p.chunks.push(chunk);
      p.used += tarFootprint(chunk.size);
      entry.chunks.push({ chunk, part: parts.indexOf(p) + 1 });
      offset += chunk.size;
    };
    for (const p of parts) if (offset < blob.size && room(p) >= minChunk) place(p, room(p));
    while (offset < blob.size) place(parts[parts.push({ blobs: [], chunks: [], used: 0 }) - 1]!, maxChunk);
  }
  if (parts.length === 0) parts.push({ blobs: [], chunks: [], used: 0 });
  return { parts, chunked };
}

/** hashChunks reads a chunked blob once, verifying it, and returns the digest of each of its chunks, in order. */
export async function hashChunks(source: ReadOnlyStorage, blob: Descriptor, chunks: PlannedChunk[]): Promise<Digest[]> {
  const out: Digest[] = [];
  let i = 0;
  let left = chunks[0]?.size ?? 0;
  let hash = createHash('sha256');
  for await (const data of await fetchVerified(source, blob)) {
    let buf = data as Buffer;
    while (buf.length > 0 && i < chunks.length) {
      const take = Math.min(left, buf.length);
      hash.update(buf.subarray(0, take));
      buf = buf.subarray(take);
      left -= take;
      if (left === 0) {
        out.push(`sha256:${hash.digest('hex')}`);
        hash = createHash('sha256');
        left = chunks[++i]?.size ?? 0;
      }
    }
  }
  if (out.length !== chunks.length) {
    throw new ContentError('SIZE_MISMATCH', `${blob.digest}: ${blob.mediaType}: expected ${blob.size} bytes, the source gave fewer`, { details: { digest: blob.digest, expected: blob.size } });
  }
  return out;
}

/** tableOf turns a plan, with the chunk digests and the blobs left out as held, into the volume table. */
export function tableOf(plan: VolumePlan, chunkDigests: Map<string, Digest[]>, splitSize: number, held: Descriptor[] = []): VolumeTable {
  const table: VolumeTable = {
    version: 1,
    parts: plan.parts.length,
    splitSize,
    volumes: plan.parts.map((p, i) => ({ part: i + 1, blobs: p.blobs.map((b) => b.digest).sort() })),
    chunked: plan.chunked.map((c) => ({
      digest: c.blob.digest,
      size: c.blob.size,
      chunks: c.chunks.map((k, i) => ({ digest: chunkDigests.get(c.blob.digest)![i]!, size: k.chunk.size, part: k.part })),
    })),
  };
  if (held.length) table.held = held.map((d) => d.digest).sort();
  return table;
}

// ---- Writing ----

/** fetchSlice reads `size` bytes at `offset` of a blob (unverified): by range when the source can, else by skipping. */
export async function fetchSlice(source: ReadOnlyStorage, blob: Descriptor, offset: number, size: number): Promise<Readable> {
  if (canFetchRange(source)) return source.fetchRange(blob, offset, offset + size - 1);
  const full = await source.fetch(blob);
  return Readable.from(
    (async function* () {
      let pos = 0;
      try {
        for await (const data of full) {
          const buf = data as Buffer;
          const from = Math.max(0, offset - pos);
          const to = Math.min(buf.length, offset + size - pos);
          pos += buf.length;
          if (to > from) yield buf.subarray(from, to);
          if (pos >= offset + size) break;
        }
      } finally {
        full.destroy();
      }
    })(),
  );
}

export interface WriteVolumesInput {
  out: string;
  source: ReadOnlyStorage;
  /** Blobs every part carries. */
  metadata: Descriptor[];
  plan: VolumePlan;
  table: VolumeTable;
  index: Index;
  layoutFile: Buffer;
  mtime: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * writeVolumes writes each part to a temp file and renames it when complete, one part at a time (extra
 * disk: at most one part). On failure every part written by this call is removed. Returns the part files.
 */
export async function writeVolumes(input: WriteVolumesInput): Promise<{ file: string; size: number; blobs: number }[]> {
  const n = input.plan.parts.length;
  const written: { file: string; size: number; blobs: number }[] = [];
  const total = input.plan.parts.reduce((s, p) => s + p.blobs.reduce((t, b) => t + b.size, 0) + p.chunks.reduce((t, c) => t + c.size, 0), 0);
  let done = 0;
  const metadata = new Set<string>(input.metadata.map((d) => d.digest));
  const chunkDigest = new Map<string, Digest>();
  for (const c of input.table.chunked) {
    let offset = 0;
    for (const k of c.chunks) {
      chunkDigest.set(`${c.digest}#${offset}`, k.digest);
      offset += k.size;
    }
  }
  try {
    for (const [i, part] of input.plan.parts.entries()) {
      const file = partFileName(input.out, i + 1, n);
      const tmp = `${file}.partial-${process.pid}`;
      const stream = createWriteStream(tmp, { flags: 'w', highWaterMark: 1 << 20 });
      const tar = new TarWriter(stream, { mtime: input.mtime });
      type Entry = { digest: Digest; size: number; open: () => Promise<Readable> };
      const entries: Entry[] = [
        ...[...input.metadata, ...part.blobs].map((d) => ({ digest: d.digest, size: d.size, open: () => fetchVerified(input.source, d) })),
        ...part.chunks.map((c) => {
          const chunk = chunkDescriptor({ digest: chunkDigest.get(`${c.of.digest}#${c.offset}`)!, size: c.size });
          return { digest: chunk.digest, size: c.size, open: async () => verifiedStream(await fetchSlice(input.source, c.of, c.offset, c.size), chunk) };
        }),
      ];
      const sorted = [...new Map(entries.map((e) => [e.digest, e])).values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
      const index: Index = { ...input.index, annotations: { ...input.index.annotations, [ANNOTATION_PART]: String(i + 1), [ANNOTATION_PARTS]: String(n) } };
      const indexJSON = Buffer.from(canonicalJSON(index));
      try {
        await tar.addDirectory('blobs/');
        await tar.addDirectory('blobs/sha256/');
        for (const e of sorted) {
          await tar.addFile(`blobs/sha256/${e.digest.slice('sha256:'.length)}`, e.size, await e.open());
          if (!metadata.has(e.digest)) {
            done += e.size;
            input.onProgress?.(done, total);
          }
        }
        await tar.addFile('index.json', indexJSON.length, indexJSON);
        await tar.addFile('oci-layout', input.layoutFile.length, input.layoutFile);
        await tar.finish();
        await finished(stream);
      } catch (err) {
        await abandonOutput(stream);
        await rm(tmp, { force: true });
        throw err;
      }
      if (tar.bytesWritten > input.table.splitSize) {
        await rm(tmp, { force: true });
        throw new InternalError('INTERNAL', `${file}: part is ${tar.bytesWritten} bytes, more than --split-size ${input.table.splitSize} (the metadata estimate was too low)`);
      }
      await rename(tmp, file);
      written.push({ file, size: tar.bytesWritten, blobs: sorted.length });
    }
  } catch (err) {
    for (const w of written) await rm(w.file, { force: true });
    throw err;
  }
  return written;
}

// ---- Reading parts ----

/** BundlePart is one tar of a bundle: the whole bundle, or one part of a split bundle. */
export interface BundlePart {
  file: string;
  store: TarLayoutStore;
  /** The part number `index.json` claims (split bundles only); the volume table decides what it must hold. */
  part?: number;
  parts?: number;
}

/**
 * BundleParts reads a bundle given as one tar or as any subset of its parts, in any order. Blobs are
 * fetched from whichever part holds them; `parts()` lists the parts for per-part verification.
 */
export class BundleParts {
  readonly #parts: BundlePart[];
  private constructor(parts: BundlePart[]) {
    this.#parts = parts;
  }

  /** open scans every file (see TarLayoutStore.open) and orders the parts by number. */
  static async open(files: string[], opts: TarLayoutOpenOptions = {}): Promise<BundleParts> {
    if (files.length === 0) throw new ValidationError('USAGE', 'no bundle given: name a bundle tar or the parts of a split bundle');
    const parts: BundlePart[] = [];
    const seen = new Map<number, string>();
    for (const file of [...new Set(files)]) {
      const store = await TarLayoutStore.open(file, opts);
      const ann = store.index().annotations ?? {};
      const part: BundlePart = { file, store };
      if (ann[ANNOTATION_PART] !== undefined || ann[ANNOTATION_PARTS] !== undefined) {
        const k = Number(ann[ANNOTATION_PART]);
        const nParts = Number(ann[ANNOTATION_PARTS]);
        if (!Number.isSafeInteger(k) || !Number.isSafeInteger(nParts) || k < 1 || k > nParts) {
          throw new ContentError('INVALID_LAYOUT', `${file}: index.json: annotations: ${ANNOTATION_PART}/${ANNOTATION_PARTS}: expected part K of N, found ${JSON.stringify(ann[ANNOTATION_PART])} of ${JSON.stringify(ann[ANNOTATION_PARTS])}`, {
            details: { file, field: 'annotations', found: [ann[ANNOTATION_PART], ann[ANNOTATION_PARTS]] },
          });
        }
        part.part = k;
        part.parts = nParts;
        const other = seen.get(k);
        if (other !== undefined) {
          throw new ValidationError('USAGE', `${file} and ${other} both claim to be part ${k} of ${nParts}: give each part once`, { details: { files: [other, file], part: k } });
        }
        seen.set(k, file);
      }
      parts.push(part);
    }
    if (parts.length > 1 && parts.some((p) => p.part === undefined)) {
      const whole = parts.find((p) => p.part === undefined)!;
      throw new ValidationError('USAGE', `${whole.file} is a whole bundle, not a part of a split bundle: give either one bundle tar or parts of one split bundle`, { details: { file: whole.file } });
    }
    parts.sort((a, b) => (a.part ?? 0) - (b.part ?? 0));
    return new BundleParts(parts);
  }

  /** parts lists the given tars, ordered by part number. */
  parts(): BundlePart[] {
    return [...this.#parts];
  }

  /** index is the first part's index.json (every part must list the same signed manifests). */
  index(): Index {
    return this.#parts[0]!.store.index();
  }

  /** size is the total archive size of the given tars. */
  get size(): number {
    return this.#parts.reduce((n, p) => n + p.store.size, 0);
  }

  /** blobs lists every blob of the given tars once, with its stored size. */
  blobs(): { digest: Digest; size: number }[] {
    return [...new Map(this.#parts.flatMap((p) => p.store.blobs()).map((b) => [b.digest, b])).values()];
  }

  /** holder returns the first part that holds `d`, if any. */
  async holder(d: Descriptor): Promise<BundlePart | undefined> {
    for (const p of this.#parts) if (await p.store.exists(d)) return p;
    return undefined;
  }

  async exists(d: Descriptor): Promise<boolean> {
    return (await this.holder(d)) !== undefined;
  }

  async fetch(d: Descriptor): Promise<Readable> {
    return ((await this.holder(d)) ?? this.#parts[0]!).store.fetch(d);
  }
}
