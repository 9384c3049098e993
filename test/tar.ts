// Raw tar builders for tests: any name, type flag and size, so hostile archives can be written by hand.
import { BLOCK } from '../src/content/tar-header.js';

export interface RawEntry {
  name: string;
  typeflag?: string;
  data?: Buffer | string;
  /** Size written in the header (default: the data length). */
  size?: number;
  linkname?: string;
}

/** rawHeader writes a ustar header with a correct checksum and whatever fields it is given. */
export function rawHeader(e: RawEntry): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(e.name.slice(0, 100), 0, 'utf8');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  const size = e.size ?? Buffer.byteLength(e.data ?? '');
  b.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  b.write('00000000000\0', 136, 'latin1');
  b.fill(0x20, 148, 156);
  b.write(e.typeflag ?? '0', 156, 'latin1');
  if (e.linkname) b.write(e.linkname, 157, 'utf8');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

/** rawTar concatenates entries (header, data, padding) and, unless `end` is false, the end marker. */
export function rawTar(entries: RawEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(rawHeader(e));
    const data = Buffer.from(e.data ?? '');
    parts.push(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    parts.push(Buffer.alloc(pad));
  }
  if (end) parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** paxRecord formats one PAX record with its exact length prefix. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}
