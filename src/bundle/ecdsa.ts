// Deterministic ECDSA P-256 (RFC 6979 nonces, low S) on node:crypto: the nonce comes from HMAC-SHA-256 as
// RFC 6979 §3.2 derives it, the point k·G from the platform's native curve code (an ECDH key whose private
// key is k), and the rest is arithmetic modulo the group order. The same key and digest always give the same
// signature bytes, so bundles stay reproducible, without a JavaScript curve library to load and warm up.
// The big-integer steps are not constant-time (nor were the JavaScript library's): signing runs offline, once
// per bundle or receipt, where no one can time it.
// Reference: https://www.rfc-editor.org/rfc/rfc6979#section-3.2
import { createECDH, createHmac } from 'node:crypto';

/** The order n of the P-256 base point. */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = N >> 1n;
const SIZE = 32;

const toInt = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const toBytes = (v: bigint): Buffer => Buffer.from(v.toString(16).padStart(SIZE * 2, '0'), 'hex');
const hmac = (key: Buffer, ...parts: Buffer[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
};

// inverse returns a⁻¹ mod N (N is prime and 0 < a < N): the extended Euclidean algorithm.
function inverse(a: bigint): bigint {
  let [r0, r1] = [N, a];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return t0 < 0n ? t0 + N : t0;
}

// nonces yields RFC 6979 §3.2 candidates k for private scalar `d` and the hash as an integer mod n, `z`
// (qlen = hlen = 256 bits, so bits2octets of the hash is z's 32 bytes).
function* nonces(d: bigint, z: bigint): Generator<bigint> {
  const x = toBytes(d);
  const h = toBytes(z);
  let v: Buffer = Buffer.alloc(SIZE, 0x01);
  let k: Buffer = Buffer.alloc(SIZE, 0x00);
  k = hmac(k, v, Buffer.of(0x00), x, h);
  v = hmac(k, v);
  k = hmac(k, v, Buffer.of(0x01), x, h);
  v = hmac(k, v);
  for (;;) {
    v = hmac(k, v);
    const t = toInt(v);
    if (t >= 1n && t < N) yield t;
    k = hmac(k, v, Buffer.of(0x00));
    v = hmac(k, v);
  }
}

// derInteger encodes a non-negative integer as an ASN.1 DER INTEGER (shortest form, a 0 byte before a high bit).
function derInteger(v: bigint): Buffer {
  const hex = v.toString(16);
  const body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  const value = body[0]! >= 0x80 ? Buffer.concat([Buffer.of(0), body]) : body;
  return Buffer.concat([Buffer.of(0x02, value.length), value]);
}

/**
 * signP256 signs a SHA-256 `digest` with the 32-byte private scalar `scalar`: ECDSA with the RFC 6979 nonce and
 * s normalized to the lower half of the group order. Returns the ASN.1 DER signature (SEQUENCE of r and s).
 */
export function signP256(digest: Uint8Array, scalar: Uint8Array): Buffer {
  if (digest.length !== SIZE) throw new RangeError(`ECDSA P-256: expected a ${SIZE}-byte SHA-256 digest, found ${digest.length} bytes`);
  const d = toInt(scalar);
  if (scalar.length !== SIZE || d < 1n || d >= N) throw new RangeError('ECDSA P-256: the private scalar is out of range');
  const z = toInt(digest) % N;
  const point = createECDH('prime256v1');
  for (const k of nonces(d, z)) {
    point.setPrivateKey(toBytes(k));
    const r = toInt(point.getPublicKey().subarray(1, 1 + SIZE)) % N;
    if (r === 0n) continue;
    let s = (inverse(k) * ((z + r * d) % N)) % N;
    if (s === 0n) continue;
    if (s > HALF_N) s = N - s;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.of(0x30, body.length), body]);
  }
  throw new Error('unreachable');
}
