// Scanning an OCI layout tar without extracting it: headers are parsed and checked, data is skipped,
// and the result says where each blob's bytes are. The same scanner reads a file by position or a
// stream chunk by chunk (down to one byte per chunk), so both paths apply the same hardening rules
// (DESIGN.md §4): regular files and directories only, only `oci-layout`, `index.json` and
// `blobs/sha256/<hex>`, no links, devices, absolute paths, `..` or duplicates.
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ContentError } from '../errors.js';
import type { Digest } from '../model/oci.js';
import { applyPax, BLOCK, decodeHeader, isZeroBlock, MAX_PAX_BYTES, padding, parsePax, type TarHeader } from './tar-header.js';

/** TarEntry is one regular file of the layout: where its data starts in the archive and how long it is. */
export interface TarEntry {
  name: string;
  offset: number;
  size: number;
}

export interface TarScanResult {
  /** `blobs/sha256/<hex>` entries by digest. */
  blobs: Map<Digest, TarEntry>;
  /** `index.json` and `oci-layout` entries, when present. */
  files: Map<'index.json' | 'oci-layout', TarEntry>;
  /** Total archive size scanned, including the end marker and padding. */
  size: number;
}

export interface TarScanOptions {
  /** Most entries accepted. Default 100,000 (a bundle of tiny entries is a denial of service). */
  maxEntries?: number;
  /** Name of the archive in errors. */
  source?: string;
  /**
   * The archive's size, when it is known (a file): each entry is held to it instead of by reading its last
   * byte (one read fewer per entry). Unset: the last byte of each entry is read.
   */
  size?: number;
}

export const DEFAULT_MAX_TAR_ENTRIES = 100_000;

/** ByteSource reads `len` bytes at `pos`; positions only grow. Fewer bytes than asked means end of input. */
export interface ByteSource {
  read(pos: number, len: number): Promise<Buffer>;
}

// READ_AHEAD is how much fileSource reads at once: headers are 512 bytes each, and a tar of many small
// entries would otherwise cost one system call (a thread-pool round trip) per header.
const READ_AHEAD = 1024 * 1024;

/**
 * fileSource reads a file by position, through a read-ahead window of `readAhead` bytes (0: none). With
 * `reuse`, one window buffer serves every read (fresh memory costs page faults on each window), and what a
 * read returns from the window is valid only until the next read.
 */
export function fileSource(fh: FileHandle, readAhead = READ_AHEAD, opts: { reuse?: boolean } = {}): ByteSource {
  let window: Buffer = Buffer.alloc(0);
  let windowPos = 0;
  let spare: Buffer | undefined;
  const direct = async (pos: number, len: number, into?: Buffer): Promise<Buffer> => {
    // Not zeroed: only the bytes read are handed out.
    const buf = into ?? Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === len ? buf : buf.subarray(0, got);
  };
  return {
    async read(pos, len) {
      if (pos >= windowPos && pos + len <= windowPos + window.length) return window.subarray(pos - windowPos, pos - windowPos + len);
      // Large reads go straight to the file. A window read for a probe of a skipped blob's last byte also
      // holds the header after it, which is read next.
      if (len >= readAhead) return direct(pos, len);
      if (opts.reuse) spare ??= Buffer.allocUnsafeSlow(readAhead);
      window = await direct(pos, readAhead, spare);
      windowPos = pos;
      return window.subarray(0, Math.min(len, window.length));
    },
  };
}

/** streamSource reads a stream sequentially; bytes before a requested position are discarded. */
export function streamSource(stream: Readable): ByteSource {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Buffer = Buffer.alloc(0);
  let pendingPos = 0;
  let done = false;
  return {
    async read(pos, len) {
      const out: Buffer[] = [];
      let want = len;
      while (want > 0) {
        if (pending.length === 0) {
          if (done) break;
          const next = await it.next();
          if (next.done) {
            done = true;
            break;
          }
          pending = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
        }
        const end = pendingPos + pending.length;
        if (end <= pos) {
          pendingPos = end;
          pending = Buffer.alloc(0);
          continue;
        }
        const from = Math.max(0, pos + (len - want) - pendingPos);
        const take = Math.min(want, pending.length - from);
        out.push(pending.subarray(from, from + take));
        want -= take;
        pendingPos += from + take;
        pending = pending.subarray(from + take);
      }
      return Buffer.concat(out);
    },
  };
}

function fail(code: 'INVALID_TAR' | 'UNSAFE_PATH' | 'UNSUPPORTED' | 'SIZE_EXCEEDS_LIMIT', message: string, details: Record<string, unknown>): never {
  throw new ContentError(code, message, { details });
}

const BLOB_RE = /^blobs\/([^/]+)\/([^/]+)$/;
const HEX64_RE = /^[a-f0-9]{64}$/;

/** checkEntryName maps a tar entry name to its place in the layout, or rejects it naming the entry. */
export function checkEntryName(raw: string, type: 'file' | 'directory', source: string, at: number): { kind: 'blob'; digest: Digest } | { kind: 'file'; name: 'index.json' | 'oci-layout' } | { kind: 'dir' } {
  const details = { file: source, entry: raw.slice(0, 300), offset: at };
  if (raw.includes('\0') || raw.includes('\\')) fail('UNSAFE_PATH', `${source}: tar entry ${JSON.stringify(raw.slice(0, 300))}: NUL or backslash in name`, details);
  if (raw.startsWith('/')) fail('UNSAFE_PATH', `${source}: tar entry ${JSON.stringify(raw.slice(0, 300))}: absolute path`, details);
  let name = raw;
  while (name.startsWith('./')) name = name.slice(2);
  const parts = name.split('/');
  if (parts.some((p) => p === '..')) fail('UNSAFE_PATH', `${source}: tar entry ${JSON.stringify(raw.slice(0, 300))}: ".." in path`, details);
  if (type === 'directory') {
    const dir = name.replace(/\/+$/, '');
    if (dir === '' || dir === '.' || dir === 'blobs' || /^blobs\/[a-z0-9]+$/.test(dir)) return { kind: 'dir' };
    fail('INVALID_TAR', `${source}: tar entry ${JSON.stringify(raw.slice(0, 300))}: unexpected directory (an OCI layout has only blobs/<algorithm>/)`, details);
  }
  if (name === 'index.json' || name === 'oci-layout') return { kind: 'file', name };
  const m = BLOB_RE.exec(name);
  if (!m) fail('INVALID_TAR', `${source}: tar entry ${JSON.stringify(raw.slice(0, 300))}: not part of an OCI layout (expected oci-layout, index.json or blobs/sha256/<hex>)`, details);
  if (m[1] !== 'sha256') fail('UNSUPPORTED', `${source}: tar entry ${JSON.stringify(name)}: unsupported digest algorithm "${m[1]}" (expected sha256)`, { ...details, algorithm: m[1] });
  if (!HEX64_RE.test(m[2]!)) fail('INVALID_TAR', `${source}: tar entry ${JSON.stringify(name)}: blob name is not 64 lowercase hex characters`, details);
  return { kind: 'blob', digest: `sha256:${m[2]}` };
}

// named prefixes header-level errors (which know only offsets) with the archive's name.
function named<T>(source: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ContentError) throw new ContentError(err.code, `${source}: ${err.message}`, { details: { file: source, ...err.details } });
    throw err;
  }
}

/** scanTar reads headers from `src`, skipping data, and returns where each layout file lives. */
export async function scanTar(src: ByteSource, opts: TarScanOptions = {}): Promise<TarScanResult> {
  const source = opts.source ?? 'bundle';
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_TAR_ENTRIES;
  const blobs = new Map<Digest, TarEntry>();
  const files = new Map<'index.json' | 'oci-layout', TarEntry>();
  const seen = new Set<string>();
  let pos = 0;
  let entries = 0;
  let pax: Map<string, string> | undefined;

  const need = async (len: number, what: string): Promise<Buffer> => {
    const buf = await src.read(pos, len);
    if (buf.length < len) {
      fail('INVALID_TAR', `${source}: truncated at byte ${pos + buf.length}: expected ${len} more bytes of ${what} (the copy is incomplete: copy the bundle again)`, { file: source, offset: pos + buf.length, expected: len, found: buf.length });
    }
    return buf;
  };

  for (;;) {
    const at = pos;
    const block = await src.read(pos, BLOCK);
    if (block.length === 0) {
      fail('INVALID_TAR', `${source}: ends at byte ${pos} without the end-of-archive marker (the copy is incomplete: copy the bundle again)`, { file: source, offset: pos });
    }
    if (block.length < BLOCK) fail('INVALID_TAR', `${source}: truncated at byte ${pos + block.length}: expected a ${BLOCK}-byte header`, { file: source, offset: pos });
    pos += BLOCK;
    if (isZeroBlock(block)) {
      if (pax) fail('INVALID_TAR', `${source}: PAX header at offset ${at - BLOCK} is not followed by an entry`, { file: source, offset: at });
      await checkTrailer(src, pos, source);
      break;
    }
    if (++entries > maxEntries) fail('SIZE_EXCEEDS_LIMIT', `${source}: more than ${maxEntries} tar entries (raise the limit with --max-entries if this bundle is genuine)`, { file: source, expected: `<= ${maxEntries}` });
    let h: TarHeader = named(source, () => decodeHeader(block, at));
    if (h.type === 'pax') {
      if (pax) fail('INVALID_TAR', `${source}: two PAX headers in a row at offset ${at}`, { file: source, offset: at });
      if (h.size > MAX_PAX_BYTES) fail('SIZE_EXCEEDS_LIMIT', `${source}: PAX header at offset ${at} is ${h.size} bytes, more than ${MAX_PAX_BYTES}`, { file: source, offset: at, found: h.size });
      const data = await need(h.size, 'a PAX header');
      pos += h.size + padding(h.size);
      pax = named(source, () => parsePax(data, at));
      continue;
    }
    if (pax) {
      const p = pax;
      h = named(source, () => applyPax(h, p, at));
      pax = undefined;
    }
    if (h.type !== 'file' && h.type !== 'directory') {
      fail('INVALID_TAR', `${source}: tar entry ${JSON.stringify(h.name.slice(0, 300))}: type ${h.type} (flag ${JSON.stringify(h.typeflag)}) is not allowed: only regular files and directories`, { file: source, entry: h.name.slice(0, 300), offset: at, found: h.type });
    }
    const place = checkEntryName(h.name, h.type, source, at);
    // Most names need no trimming (the regular expressions cost more than the test).
    const key = h.name.startsWith('./') || h.name.endsWith('/') ? h.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '') : h.name;
    if (seen.has(key)) fail('INVALID_TAR', `${source}: tar entry ${JSON.stringify(key)} appears twice`, { file: source, entry: key, offset: at });
    seen.add(key);
    const entry: TarEntry = { name: key, offset: pos, size: h.type === 'directory' ? 0 : h.size };
    if (place.kind === 'blob') blobs.set(place.digest, entry);
    else if (place.kind === 'file') files.set(place.name, entry);
    else if (h.size !== 0) fail('INVALID_TAR', `${source}: directory entry ${JSON.stringify(key)} has data`, { file: source, entry: key, offset: at });
    // Skip the data; a truncated archive is caught here, not later: by its size, or by reading the last byte.
    if (entry.size > 0) {
      const skip = entry.size + padding(entry.size);
      const whole = opts.size !== undefined ? pos + skip <= opts.size : (await src.read(pos + skip - 1, 1)).length === 1;
      if (!whole) fail('INVALID_TAR', `${source}: truncated inside ${JSON.stringify(key)}: its ${entry.size} bytes end past the end of the file (the copy is incomplete: copy the bundle again)`, { file: source, entry: key, offset: pos, expected: entry.size });
      pos += skip;
    }
  }
  return { blobs, files, size: pos };
}

// checkTrailer accepts only zero bytes after the first end-of-archive block (writers pad to a record
// size), at most MAX_TRAILER_BYTES of them.
const MAX_TRAILER_BYTES = 1024 * 1024;

async function checkTrailer(src: ByteSource, start: number, source: string): Promise<void> {
  let chunk = await src.read(start, BLOCK);
  if (chunk.length < BLOCK) {
    fail('INVALID_TAR', `${source}: truncated end-of-archive marker at byte ${start + chunk.length} (the copy is incomplete: copy the bundle again)`, { file: source, offset: start });
  }
  let pos = start;
  while (chunk.length > 0) {
    const bad = chunk.findIndex((b) => b !== 0);
    if (bad >= 0) fail('INVALID_TAR', `${source}: data after the end-of-archive marker at byte ${pos + bad}`, { file: source, offset: pos + bad });
    pos += chunk.length;
    if (pos - start > MAX_TRAILER_BYTES) fail('INVALID_TAR', `${source}: more than ${MAX_TRAILER_BYTES} bytes of padding after the end-of-archive marker`, { file: source, offset: pos });
    chunk = await src.read(pos, 64 * 1024);
  }
}

/** scanTarFile scans an archive on disk by position. */
export async function scanTarFile(path: string, opts: TarScanOptions = {}): Promise<TarScanResult> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    return await scanTar(fileSource(fh, READ_AHEAD, { reuse: true }), { source: path, size, ...opts });
  } finally {
    await fh.close();
  }
}
