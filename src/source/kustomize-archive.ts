// Reading the `kustomize.tar.gz` a kustomizationRef's ConfigMap or Secret holds, the way addon-controller's
// extractTarGz does (handlers_kustomize.go), for hostile input: the archive is read in memory and checked
// entry by entry before anything is written. gzip is sniffed (a plain tar works too); only directories and
// regular files are kept; links, devices and FIFOs are never created (upstream skips them too); `._*`
// AppleDouble and `*PaxHeader*` entries are skipped as upstream skips them. Every failure names the entry.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { posix, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ValidationError } from '../errors.js';
import { applyPax, BLOCK, decodeHeader, isZeroBlock, MAX_PAX_BYTES, padding, parsePax, type TarHeader } from '../content/tar-header.js';

/** ArchiveLimits bound what one archive may expand to. */
export interface ArchiveLimits {
  /** Largest archive as stored (addon-controller reads at most 20 MiB of it). Default 20 MiB. */
  maxArchiveBytes?: number;
  /** Largest file (addon-controller silently truncates at 20 MiB; this refuses). Default 20 MiB. */
  maxFileBytes?: number;
  /** Largest uncompressed tar stream (headers included): a gzip bomb stops here. Default 256 MiB. */
  maxTarBytes?: number;
  /** Most entries. Default 10000. */
  maxEntries?: number;
  /** Deepest path, in directories. Default 64. */
  maxDepth?: number;
}

/** ArchiveReading says how an archive is read beyond its limits. */
export interface ArchiveReading {
  /** What the archive is called in errors. Default `kustomize.tar.gz`. */
  name?: string;
  /**
   * Create a file's missing parent directories (Flux's untar does); by default a file whose directory has no
   * entry before it is refused, as addon-controller's extraction fails on it.
   */
  createParents?: boolean;
}

export const DEFAULT_ARCHIVE_LIMITS: Required<ArchiveLimits> = {
  maxArchiveBytes: 20 * 1024 * 1024,
  maxFileBytes: 20 * 1024 * 1024,
  maxTarBytes: 256 * 1024 * 1024,
  maxEntries: 10_000,
  maxDepth: 64,
};

/** ArchiveError is an archive that cannot be extracted safely or as addon-controller would. */
export class ArchiveError extends ValidationError {}

/** KustomizeTree is an archive's content: relative POSIX paths (no `./`, no trailing `/`) to directories or file bytes. */
export type KustomizeTree = Map<string, { type: 'directory' } | { type: 'file'; data: Buffer }>;

/** ReadArchive is a checked archive: its tree and the entries skipped (with why). */
export interface ReadArchive {
  tree: KustomizeTree;
  skipped: { entry: string; reason: string }[];
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * readArchive reads `bytes` (gzip-compressed or plain tar) into a tree. `where` names the archive in
 * errors (the reference holding it). Refused: an entry escaping the root (`..`), a NUL or backslash in a
 * name, a file or path over the limits, an entry written twice, a file where a directory is (or the other
 * way round), and a file whose directory has no entry before it (addon-controller creates no parent
 * directories for files, so it fails on such an archive).
 */
export function readArchive(bytes: Buffer, where: string, limits: ArchiveLimits = {}, reading: ArchiveReading = {}): ReadArchive {
  const l = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
  const fail = (message: string, details: Record<string, unknown> = {}): never => {
    throw new ArchiveError('INVALID', `${where}: ${reading.name ?? 'kustomize.tar.gz'}: ${message}`, { details: { archive: where, ...details } });
  };
  if (bytes.length > l.maxArchiveBytes) fail(`${bytes.length} bytes, more than the ${l.maxArchiveBytes} addon-controller reads`, { found: bytes.length });
  let tar = bytes;
  if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) {
    try {
      tar = gunzipSync(bytes, { maxOutputLength: l.maxTarBytes });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) fail(`expands to more than ${l.maxTarBytes} bytes`, { limit: l.maxTarBytes });
      fail(`not a valid gzip stream: ${e.message}`);
    }
  }

  const tree: KustomizeTree = new Map();
  const skipped: ReadArchive['skipped'] = [];
  // Directories that exist when an entry is extracted: the root, every directory entry and its parents.
  const made = new Set<string>(['']);
  const mkdirAll = (path: string) => {
    for (let d = path; d !== '' && !made.has(d); d = posix.dirname(d) === '.' ? '' : posix.dirname(d)) {
      made.add(d);
      tree.set(d, { type: 'directory' });
    }
  };
  let pos = 0;
  let entries = 0;
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  const take = (size: number, what: string): Buffer => {
    if (pos + size > tar.length) fail(`truncated inside ${what}: ${size} bytes announced, ${tar.length - pos} left`, { offset: pos });
    const data = tar.subarray(pos, pos + size);
    pos += size + padding(size);
    return data;
  };
  for (;;) {
    const at = pos;
    // Go's archive/tar ends cleanly at the end of the stream even without the end-of-archive marker.
    if (pos === tar.length) break;
    if (pos + BLOCK > tar.length) fail(`truncated at byte ${pos} (not a tar archive, or cut short)`, { offset: pos });
    const block = tar.subarray(pos, pos + BLOCK);
    pos += BLOCK;
    if (isZeroBlock(block)) break;
    if (++entries > l.maxEntries) fail(`more than ${l.maxEntries} entries`, { limit: l.maxEntries });
    let h: TarHeader;
    try {
      h = decodeHeader(block, at);
    } catch (err) {
      return fail((err as Error).message, { offset: at });
    }
    if (h.type === 'pax' || h.type === 'pax-global' || h.type === 'gnu-longname' || h.type === 'gnu-longlink') {
      if (h.size > MAX_PAX_BYTES) fail(`${h.type} header at offset ${at} is ${h.size} bytes, more than ${MAX_PAX_BYTES}`, { offset: at, found: h.size });
      const data = take(h.size, `the ${h.type} header at offset ${at}`);
      if (h.type === 'pax') {
        try {
          pax = parsePax(data, at);
        } catch (err) {
          fail((err as Error).message, { offset: at });
        }
      } else if (h.type === 'gnu-longname') {
        const end = data.indexOf(0);
        longName = data.toString('utf8', 0, end < 0 ? data.length : end);
      }
      continue;
    }
    if (longName !== undefined) h = { ...h, name: longName };
    if (pax) {
      const p = pax;
      try {
        h = applyPax(h, p, at);
      } catch (err) {
        fail((err as Error).message, { offset: at });
      }
    }
    pax = undefined;
    longName = undefined;
    const name = h.name;
    const shown = JSON.stringify(name.slice(0, 300));
    const data = h.type === 'file' || h.type === 'contiguous' || h.type === 'other' ? take(h.size, `entry ${shown}`) : undefined;
    if (isSkippable(name)) {
      skipped.push({ entry: name, reason: 'AppleDouble or PAX header file (addon-controller skips it)' });
      continue;
    }
    // A plain `\0` typeflag with a trailing slash is a directory (as Go's archive/tar reads it).
    const type = h.type === 'file' && h.typeflag === '\0' && name.endsWith('/') ? 'directory' : h.type;
    if (type !== 'file' && type !== 'directory') {
      skipped.push({ entry: name, reason: `${type} entries are not extracted${h.linkname ? ` (it points to ${JSON.stringify(h.linkname.slice(0, 300))})` : ''}` });
      continue;
    }
    const path = entryPath(name, fail);
    if (path === '') {
      if (type === 'file') fail(`entry ${shown}: a file cannot replace the archive root`);
      continue;
    }
    if (path.split('/').length > l.maxDepth) fail(`entry ${shown}: nested deeper than ${l.maxDepth} directories`, { entry: name });
    if (Buffer.byteLength(path) > 4096 || path.split('/').some((s) => Buffer.byteLength(s) > 255)) fail(`entry ${shown}: name too long for a file system`, { entry: name });
    const parent = posix.dirname(path) === '.' ? '' : posix.dirname(path);
    for (let d = parent; d !== ''; d = posix.dirname(d) === '.' ? '' : posix.dirname(d)) {
      if (tree.get(d)?.type === 'file') fail(`entry ${shown}: ${JSON.stringify(d)} is a file`, { entry: name });
    }
    const existing = tree.get(path);
    if (type === 'directory') {
      if (existing?.type === 'file') fail(`entry ${shown}: a directory where a file is`, { entry: name });
      // MkdirAll: the directory and every parent exist from now on.
      mkdirAll(path);
      continue;
    }
    if (existing) fail(`entry ${shown} appears twice (addon-controller would write it over the first without truncating)`, { entry: name });
    if (reading.createParents) mkdirAll(parent);
    if (!made.has(parent)) {
      fail(`entry ${shown} comes before any directory entry for ${JSON.stringify(`${parent}/`)}: addon-controller creates no parent directories for files and fails on this archive (create it with \`tar -czf kustomize.tar.gz -C DIR .\`)`, { entry: name });
    }
    if (h.size > l.maxFileBytes) fail(`entry ${shown} is ${h.size} bytes, more than ${l.maxFileBytes}`, { entry: name, found: h.size });
    tree.set(path, { type: 'file', data: Buffer.from(data!) });
  }
  return { tree, skipped };
}

// isSkippable is addon-controller's isSkippableTarEntry.
function isSkippable(name: string): boolean {
  return posix.basename(name).startsWith('._') || name.includes('PaxHeader');
}

// entryPath is where an entry lands below the root, as filepath.Join(dest, filepath.Clean(name)) puts it
// (an absolute name lands inside too); a name leaving the root fails.
function entryPath(name: string, fail: (m: string, d?: Record<string, unknown>) => never): string {
  const shown = JSON.stringify(name.slice(0, 300));
  if (name.includes('\0') || name.includes('\\')) fail(`entry ${shown}: NUL or backslash in its name`, { entry: name });
  const clean = posix.normalize(`/${name}`);
  // normalize keeps a leading `..` only when the name climbs above its start; from `/` it cannot, so check the raw segments.
  let depth = 0;
  for (const seg of name.split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '' && seg !== '.') depth++;
    if (depth < 0 && !name.startsWith('/')) fail(`entry ${shown} leaves the archive root`, { entry: name });
  }
  return clean.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** treeDigest is the content hash of a tree: every path, its type and its bytes, in path order. */
export function treeDigest(tree: KustomizeTree): string {
  const h = createHash('sha256');
  for (const path of [...tree.keys()].sort()) {
    const e = tree.get(path)!;
    h.update(`${e.type}\0${path}\0`);
    h.update(e.type === 'file' ? createHash('sha256').update(e.data).digest('hex') : '-');
    h.update('\n');
  }
  return `sha256:${h.digest('hex')}`;
}

/** writeTree writes a tree below `dir` (an empty directory): directories 0755, files 0644, nothing replaced. */
export async function writeTree(tree: KustomizeTree, dir: string): Promise<void> {
  const paths = [...tree.keys()].sort();
  for (const p of paths) if (tree.get(p)!.type === 'directory') await mkdir(join(dir, p), { recursive: true, mode: 0o755 });
  for (const p of paths) {
    const e = tree.get(p)!;
    if (e.type !== 'file') continue;
    await mkdir(join(dir, posix.dirname(p)), { recursive: true, mode: 0o755 });
    await writeFile(join(dir, p), e.data, { flag: 'wx', mode: 0o644 });
  }
}
