// Sprig's base64 and base32 functions with Go's strict decoders and their error offsets.
import { goFunc } from '../funcs.js';
import { GoFunc } from '../values.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

class CorruptInput {
  constructor(readonly at: number) {}
}

// decodeBase64 follows encoding/base64 (StdEncoding): padding required, \r and \n skipped.
function decodeBase64(src: Buffer): Buffer {
  const out: number[] = [];
  let si = 0;
  for (;;) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    let done = false;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out);
        throw new CorruptInput(si - j);
      }
      const c = src[si++]!;
      const v = B64.indexOf(String.fromCharCode(c));
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (c === 0x0a || c === 0x0d) {
        j--;
        continue;
      }
      if (c !== 0x3d || j < 2) throw new CorruptInput(si - 1);
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === src.length) throw new CorruptInput(src.length);
        if (src[si] !== 0x3d) throw new CorruptInput(si - 1);
        si++;
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < src.length) throw new CorruptInput(si);
      dlen = j;
      done = true;
      break;
    }
    const v = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(v >> 16) & 255, (v >> 8) & 255, v & 255];
    out.push(...bytes.slice(0, dlen - 1));
    if (done) return Buffer.from(out);
  }
}

function encodeBase32(b: Buffer): string {
  let out = '';
  for (let i = 0; i < b.length; i += 5) {
    const chunk = b.subarray(i, i + 5);
    let bits = 0n;
    for (let j = 0; j < 5; j++) bits = (bits << 8n) | BigInt(chunk[j] ?? 0);
    const chars = [2, 4, 5, 7, 8][chunk.length - 1]!;
    for (let j = 0; j < 8; j++) out += j < chars ? B32[Number((bits >> BigInt(35 - 5 * j)) & 31n)] : '=';
  }
  return out;
}

// decodeBase32 follows encoding/base32 (StdEncoding) after newlines are stripped.
function decodeBase32(src: Buffer): Buffer {
  const olen = src.length;
  const out: number[] = [];
  let p = 0;
  let end = false;
  while (p < olen && !end) {
    const dbuf = [0, 0, 0, 0, 0, 0, 0, 0];
    let dlen = 8;
    for (let j = 0; j < 8; ) {
      if (p === olen) throw new CorruptInput(olen - (olen - p) - j);
      const c = src[p++]!;
      const left = olen - p;
      if (c === 0x3d && j >= 2 && left < 8) {
        if (left + j < 7) throw new CorruptInput(olen);
        for (let k = 0; k < 7 - j; k++) if (left > k && src[p + k] !== 0x3d) throw new CorruptInput(olen - left + k - 1);
        dlen = j;
        end = true;
        if (dlen === 1 || dlen === 3 || dlen === 6) throw new CorruptInput(olen - left - 1);
        break;
      }
      const v = B32.indexOf(String.fromCharCode(c));
      if (v < 0) throw new CorruptInput(olen - left - 1);
      dbuf[j++] = v;
    }
    let bits = 0n;
    for (const d of dbuf) bits = (bits << 5n) | BigInt(d);
    const bytes = [32, 24, 16, 8, 0].map((sh) => Number((bits >> BigInt(sh)) & 255n));
    const n = { 8: 5, 7: 4, 5: 3, 4: 2, 2: 1 }[dlen] ?? 0;
    out.push(...bytes.slice(0, n));
  }
  return Buffer.from(out);
}

function decodeOr(f: () => Buffer, name: string): string {
  try {
    return f().toString('utf8');
  } catch (e) {
    if (e instanceof CorruptInput) return `illegal ${name} data at input byte ${e.at}`;
    throw e;
  }
}

/** ENCODING_FUNCS are Sprig's b64enc, b64dec, b32enc and b32dec (decoding errors become the result). */
export const ENCODING_FUNCS: Record<string, GoFunc> = {
  b64enc: goFunc({ in: ['string'], out: 'string' }, (s: string) => Buffer.from(s, 'utf8').toString('base64')),
  b64dec: goFunc({ in: ['string'], out: 'string' }, (s: string) => decodeOr(() => decodeBase64(Buffer.from(s, 'utf8')), 'base64')),
  b32enc: goFunc({ in: ['string'], out: 'string' }, (s: string) => encodeBase32(Buffer.from(s, 'utf8'))),
  b32dec: goFunc({ in: ['string'], out: 'string' }, (s: string) =>
    decodeOr(() => decodeBase32(Buffer.from(s.replace(/[\r\n]/g, ''), 'utf8')), 'base32'),
  ),
};

/** decodeBase64Std decodes standard base64 as Go does; it throws an Error with Go's message. */
export function decodeBase64Std(s: string): Buffer {
  try {
    return decodeBase64(Buffer.from(s, 'utf8'));
  } catch (e) {
    if (e instanceof CorruptInput) throw new Error(`illegal base64 data at input byte ${e.at}`);
    throw e;
  }
}
