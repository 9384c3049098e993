// Tar headers (POSIX ustar, with PAX extended records on read): pure encode/decode, no I/O.
// Reference: https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06
import { ContentError } from '../errors.js';

export const BLOCK = 512;

/** TarEntryType is the typeflag of a header, decoded. */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char-device' | 'block-device' | 'fifo' | 'contiguous' | 'pax' | 'pax-global' | 'gnu-longname' | 'gnu-longlink' | 'other';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
  linkname: string;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'contiguous',
  '5': 'directory',
  '2': 'symlink',
  '1': 'hardlink',
  '3': 'char-device',
  '4': 'block-device',
  '6': 'fifo',
  x: 'pax',
  g: 'pax-global',
  L: 'gnu-longname',
  K: 'gnu-longlink',
};

function invalid(message: string, details: Record<string, unknown> = {}): ContentError {
  return new ContentError('INVALID_TAR', message, { details });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

// readString reads a NUL-terminated field; bytes must be valid UTF-8.
function readString(block: Buffer, off: number, len: number, field: string, at: number): string {
  let end = block.indexOf(0, off);
  if (end < 0 || end > off + len) end = off + len;
  const bytes = block.subarray(off, end);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw invalid(`tar header at offset ${at}: ${field}: not valid UTF-8`, { offset: at, field });
  }
}

// readNumber reads an octal field (NUL/space terminated) or a base-256 field (high bit set).
function readNumber(block: Buffer, off: number, len: number, field: string, at: number): number {
  const first = block[off]!;
  if (first & 0x80) {
    if (first !== 0x80) throw invalid(`tar header at offset ${at}: ${field}: negative or oversized base-256 number`, { offset: at, field });
    let n = 0;
    for (let i = off + 1; i < off + len; i++) {
      n = n * 256 + block[i]!;
      if (!Number.isSafeInteger(n)) throw invalid(`tar header at offset ${at}: ${field}: number too large`, { offset: at, field });
    }
    return n;
  }
  // Octal digits, after leading spaces and before trailing NULs or spaces; read byte by byte (every header
  // has several such fields, and a bundle tens of thousands of headers).
  let end = off + len;
  while (end > off && (block[end - 1] === 0 || block[end - 1] === 0x20)) end--;
  let start = off;
  while (start < end && block[start] === 0x20) start++;
  let n = 0;
  for (let i = start; i < end; i++) {
    const digit = block[i]! - 0x30;
    if (digit < 0 || digit > 7) {
      const text = block.toString('latin1', start, end);
      throw invalid(`tar header at offset ${at}: ${field}: expected an octal number, found ${JSON.stringify(text)}`, { offset: at, field, found: text });
    }
    n = n * 8 + digit;
  }
  if (!Number.isSafeInteger(n)) throw invalid(`tar header at offset ${at}: ${field}: number too large`, { offset: at, field });
  return n;
}

/** isZeroBlock tells whether a 512-byte block is all zeros (end-of-archive marker). */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** decodeHeader parses one header block at archive offset `at`; the checksum is verified. */
export function decodeHeader(block: Buffer, at: number): TarHeader {
  if (block.length !== BLOCK) throw invalid(`tar header at offset ${at}: truncated (expected ${BLOCK} bytes, got ${block.length})`, { offset: at });
  const stored = readNumber(block, 148, 8, 'chksum', at);
  const computed = checksum(block);
  if (stored !== computed) {
    throw invalid(`tar header at offset ${at}: checksum mismatch: expected ${computed}, found ${stored} (the archive is damaged or not a tar file)`, { offset: at, expected: computed, found: stored });
  }
  const typeflag = String.fromCharCode(block[156]!);
  let name = readString(block, 0, 100, 'name', at);
  const magic = block.toString('latin1', 257, 263);
  if (magic === 'ustar\0' || magic === 'ustar ') {
    const prefix = readString(block, 345, magic === 'ustar\0' ? 155 : 131, 'prefix', at);
    if (prefix && magic === 'ustar\0') name = `${prefix}/${name}`;
  }
  return {
    name,
    type: TYPES[typeflag] ?? 'other',
    typeflag,
    size: readNumber(block, 124, 12, 'size', at),
    mode: readNumber(block, 100, 8, 'mode', at),
    mtime: readNumber(block, 136, 12, 'mtime', at),
    linkname: readString(block, 157, 100, 'linkname', at),
  };
}

/** MAX_PAX_BYTES bounds one PAX extended header (its records are read into memory). */
export const MAX_PAX_BYTES = 64 * 1024;

/** parsePax parses PAX records (`<len> <key>=<value>\n`), strictly: every length must match exactly. */
export function parsePax(data: Buffer, at: number): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) {
      // Trailing NUL padding is tolerated only at the end.
      if (data.subarray(i).every((b) => b === 0)) break;
      throw invalid(`PAX header at offset ${at}: NUL byte inside records`, { offset: at });
    }
    const sp = data.indexOf(0x20, i);
    if (sp < 0 || sp - i > 10) throw invalid(`PAX header at offset ${at}: record ${out.size + 1}: expected "<length> <key>=<value>"`, { offset: at });
    const lenText = data.toString('latin1', i, sp);
    if (!/^[1-9][0-9]*$/.test(lenText)) throw invalid(`PAX header at offset ${at}: record length ${JSON.stringify(lenText)} is not a decimal number`, { offset: at });
    const len = Number(lenText);
    if (i + len > data.length || data[i + len - 1] !== 0x0a) {
      throw invalid(`PAX header at offset ${at}: record length ${len} overruns the header or does not end with a newline`, { offset: at, found: len });
    }
    const record = data.toString('utf8', sp + 1, i + len - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw invalid(`PAX header at offset ${at}: record without "key=value"`, { offset: at });
    const key = record.slice(0, eq);
    if (out.has(key)) throw invalid(`PAX header at offset ${at}: key ${JSON.stringify(key)} repeated`, { offset: at, field: key });
    out.set(key, record.slice(eq + 1));
    i += len;
  }
  return out;
}

/** applyPax overrides header fields with PAX `path`, `linkpath` and `size` records. */
export function applyPax(h: TarHeader, pax: Map<string, string>, at: number): TarHeader {
  const out = { ...h };
  const path = pax.get('path');
  if (path !== undefined) out.name = path;
  const link = pax.get('linkpath');
  if (link !== undefined) out.linkname = link;
  const size = pax.get('size');
  if (size !== undefined) {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) {
      throw invalid(`PAX header at offset ${at}: size: expected a decimal byte count, found ${JSON.stringify(size.slice(0, 40))}`, { offset: at, field: 'size', found: size.slice(0, 40) });
    }
    out.size = Number(size);
  }
  return out;
}

// writeOctal writes `n` as a NUL-terminated octal field, or base-256 when it does not fit.
function writeNumber(block: Buffer, off: number, len: number, n: number): void {
  const octal = n.toString(8);
  if (octal.length <= len - 1) {
    block.write(octal.padStart(len - 1, '0'), off, len - 1, 'latin1');
    block[off + len - 1] = 0;
    return;
  }
  block[off] = 0x80;
  let v = n;
  for (let i = off + len - 1; i > off; i--) {
    block[i] = v % 256;
    v = Math.floor(v / 256);
  }
}

export interface EncodeHeaderInput {
  name: string;
  type: 'file' | 'directory';
  size: number;
  mtime: number;
}

/** encodeHeader writes a deterministic ustar header: uid/gid 0, empty owner names, modes 0644/0755. */
export function encodeHeader(input: EncodeHeaderInput): Buffer {
  const block = Buffer.alloc(BLOCK);
  encodeHeaderInto(block, 0, input);
  return block;
}

/** encodeHeaderInto writes encodeHeader's block into `target` at `at` (BLOCK bytes, zeroed first). */
export function encodeHeaderInto(target: Buffer, at: number, input: EncodeHeaderInput): void {
  const nameBytes = Buffer.byteLength(input.name);
  if (nameBytes > 100) throw invalid(`${input.name}: tar entry name longer than 100 bytes`, { found: nameBytes });
  const block = target.subarray(at, at + BLOCK);
  block.fill(0);
  block.write(input.name, 0, 100, 'utf8');
  writeNumber(block, 100, 8, input.type === 'directory' ? 0o755 : 0o644);
  writeNumber(block, 108, 8, 0);
  writeNumber(block, 116, 8, 0);
  writeNumber(block, 124, 12, input.type === 'directory' ? 0 : input.size);
  writeNumber(block, 136, 12, input.mtime);
  block.fill(0x20, 148, 156);
  block[156] = input.type === 'directory' ? 0x35 : 0x30;
  block.write('ustar\0', 257, 6, 'latin1');
  block.write('00', 263, 2, 'latin1');
  const sum = checksum(block);
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  block[154] = 0;
  block[155] = 0x20;
}

/** padding is the number of zero bytes after `size` bytes of data to reach a block boundary. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/**
 * tarEntries walks a tar held in memory: each header (PAX records applied) with its data, in archive order.
 * PAX headers themselves are not yielded. A truncated entry or a damaged header throws INVALID_TAR.
 */
export function* tarEntries(tar: Buffer): Generator<{ header: TarHeader; data: Buffer }> {
  let at = 0;
  let pax: Map<string, string> | undefined;
  while (at + BLOCK <= tar.length) {
    const block = tar.subarray(at, at + BLOCK);
    if (isZeroBlock(block)) return;
    let h = decodeHeader(block, at);
    if (pax && h.type !== 'pax') {
      h = applyPax(h, pax, at);
      pax = undefined;
    }
    const data = tar.subarray(at + BLOCK, at + BLOCK + h.size);
    if (data.length < h.size) throw invalid(`tar entry ${JSON.stringify(h.name)} at offset ${at}: truncated (${data.length} of ${h.size} bytes)`, { offset: at });
    at += BLOCK + h.size + padding(h.size);
    if (h.type === 'pax') {
      if (h.size > MAX_PAX_BYTES) throw invalid(`PAX header at offset ${at}: larger than ${MAX_PAX_BYTES} bytes`, { offset: at });
      pax = parsePax(data, at);
      continue;
    }
    yield { header: h, data };
  }
}
