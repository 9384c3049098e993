// bcrypt ($2a$, as golang.org/x/crypto/bcrypt) for Sprig's bcrypt and htpasswd. Blowfish's initial
// P-array and S-boxes are the fractional hex digits of pi, computed once on first use.
import { randomBytes } from 'node:crypto';

const B64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAGIC = Buffer.from('OrpheanBeholderScryDoubt');

let piWords: Uint32Array | undefined;

// piFractionWords returns the first n 32-bit words of pi's fractional part (Machin's formula).
function piFractionWords(n: number): Uint32Array {
  const bits = BigInt(n * 32 + 64);
  const one = 1n << bits;
  const arctanInv = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 1n; term !== 0n; k += 2n) {
      sum += ((k - 1n) / 2n) % 2n === 0n ? term / k : -(term / k);
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * arctanInv(5n) - 4n * arctanInv(239n);
  const frac = (pi - 3n * one) >> 64n;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = Number((frac >> BigInt((n - 1 - i) * 32)) & 0xffffffffn);
  return out;
}

class Blowfish {
  p: Uint32Array;
  s: Uint32Array[];

  constructor() {
    piWords ??= piFractionWords(18 + 1024);
    this.p = piWords.slice(0, 18);
    this.s = [0, 1, 2, 3].map((i) => piWords!.slice(18 + i * 256, 18 + (i + 1) * 256));
  }

  private f(x: number): number {
    const s = this.s;
    return ((((s[0]![x >>> 24]! + s[1]![(x >>> 16) & 0xff]!) >>> 0) ^ s[2]![(x >>> 8) & 0xff]!) + s[3]![x & 0xff]!) >>> 0;
  }

  encrypt(l: number, r: number): [number, number] {
    const p = this.p;
    l ^= p[0]!;
    for (let i = 1; i <= 16; i += 2) {
      r ^= this.f(l) ^ p[i]!;
      l ^= this.f(r) ^ p[i + 1]!;
    }
    r ^= p[17]!;
    return [r >>> 0, l >>> 0];
  }

  // expand is Blowfish's key schedule; with a salt it is bcrypt's expensive variant.
  expand(key: Buffer, salt?: Buffer): void {
    let j = 0;
    const word = (b: Buffer) => {
      let w = 0;
      for (let k = 0; k < 4; k++) {
        w = ((w << 8) | b[j % b.length]!) >>> 0;
        j++;
      }
      return w;
    };
    for (let i = 0; i < 18; i++) this.p[i] = (this.p[i]! ^ word(key)) >>> 0;
    j = 0;
    let l = 0;
    let r = 0;
    const fill = (arr: Uint32Array) => {
      for (let i = 0; i < arr.length; i += 2) {
        if (salt) {
          l = (l ^ word(salt)) >>> 0;
          r = (r ^ word(salt)) >>> 0;
        }
        [l, r] = this.encrypt(l, r);
        arr[i] = l;
        arr[i + 1] = r;
      }
    };
    fill(this.p);
    for (const s of this.s) fill(s);
  }
}

function b64(b: Buffer): string {
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const c = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const n = Math.min(3, b.length - i) + 1;
    for (let k = 0; k < n; k++) out += B64[(c >> (18 - 6 * k)) & 63];
  }
  return out;
}

function unb64(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i += 4) {
    const chunk = s.slice(i, i + 4);
    let c = 0;
    for (let k = 0; k < 4; k++) c = (c << 6) | (k < chunk.length ? B64.indexOf(chunk[k]!) : 0);
    out.push(...[(c >> 16) & 255, (c >> 8) & 255, c & 255].slice(0, chunk.length - 1));
  }
  return Buffer.from(out);
}

/** bcryptHash hashes a password like bcrypt.GenerateFromPassword; salt is 22 bcrypt-base64 characters. */
export function bcryptHash(password: Buffer, cost: number, salt22?: string): string {
  if (password.length > 72) throw new Error('bcrypt: password length exceeds 72 bytes');
  const salt = salt22 ? unb64(salt22).subarray(0, 16) : randomBytes(16);
  const key = Buffer.concat([password, Buffer.from([0])]);
  const bf = new Blowfish();
  bf.expand(key, salt);
  for (let i = 0; i < 1 << cost; i++) {
    bf.expand(key);
    bf.expand(salt);
  }
  const data = Buffer.from(MAGIC);
  for (let i = 0; i < 24; i += 8) {
    let l = data.readUInt32BE(i);
    let r = data.readUInt32BE(i + 4);
    for (let k = 0; k < 64; k++) [l, r] = bf.encrypt(l, r);
    data.writeUInt32BE(l, i);
    data.writeUInt32BE(r, i + 4);
  }
  return `$2a$${String(cost).padStart(2, '0')}$${b64(salt).slice(0, 22)}${b64(data.subarray(0, 23))}`;
}
