// The native deterministic ECDSA P-256 signer against RFC 6979's own test vectors, against an independent
// implementation (@noble/curves, RFC 6979 with low S) on random keys and digests, and against node:crypto's
// verifier.
import { createHash, randomBytes, verify, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { signP256 } from './ecdsa.js';
import { keyPair } from '../../test/helpers.js';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest();

// derParts reads r and s from a DER ECDSA signature.
function derParts(der: Buffer): { r: bigint; s: bigint } {
  expect(der[0]).toBe(0x30);
  expect(der[1]).toBe(der.length - 2);
  const int = (at: number) => {
    expect(der[at]).toBe(0x02);
    const len = der[at + 1]!;
    const body = der.subarray(at + 2, at + 2 + len);
    // Shortest form: no 0 byte unless the next byte has its high bit set.
    if (body.length > 1 && body[0] === 0) expect(body[1]! >= 0x80).toBe(true);
    return { value: BigInt(`0x${body.toString('hex')}`), next: at + 2 + len };
  };
  const r = int(2);
  const s = int(r.next);
  expect(s.next).toBe(der.length);
  return { r: r.value, s: s.value };
}

function scalarOf(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url');
}

describe('signP256 (RFC 6979 nonces, low S)', () => {
  // RFC 6979 appendix A.2.5: P-256 with SHA-256; the RFC's s is normalized to the low half here.
  const x = Buffer.from('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721', 'hex');
  for (const [message, r, s] of [
    ['sample', 'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716', 'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8'],
    ['test', 'f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367', '019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083'],
  ] as const) {
    it(`gives RFC 6979's signature of "${message}"`, () => {
      const got = derParts(signP256(sha256(message), x));
      const want = BigInt(`0x${s}`);
      expect(got.r.toString(16)).toBe(r.replace(/^0+/, ''));
      expect(got.s).toBe(want > N >> 1n ? N - want : want);
    });
  }

  it('gives the same bytes as an independent RFC 6979 implementation, and node:crypto verifies them', () => {
    for (let i = 0; i < 200; i++) {
      const { privateKey, publicKey } = keyPair('ec', { namedCurve: 'P-256' });
      const data = randomBytes(i % 7 === 0 ? 0 : 1 + (i % 300));
      const digest = sha256(data);
      const ours = signP256(digest, scalarOf(privateKey));
      const theirs = Buffer.from(p256.sign(digest, scalarOf(privateKey), { prehash: false, lowS: true, extraEntropy: false }).toBytes('der'));
      expect(ours.toString('hex')).toBe(theirs.toString('hex'));
      expect(verify('sha256', data, publicKey, ours)).toBe(true);
      expect(derParts(ours).s <= N >> 1n).toBe(true);
    }
  });

  it('is deterministic: the same key and digest give the same signature', () => {
    const { privateKey } = keyPair('ec', { namedCurve: 'P-256' });
    const digest = sha256('bundle');
    expect(signP256(digest, scalarOf(privateKey)).equals(signP256(digest, scalarOf(privateKey)))).toBe(true);
  });

  it('refuses a digest of another size and a scalar out of range', () => {
    const key = Buffer.alloc(32, 1);
    expect(() => signP256(Buffer.alloc(20), key)).toThrow(/expected a 32-byte SHA-256 digest, found 20 bytes/);
    expect(() => signP256(sha256('x'), Buffer.alloc(32))).toThrow(/private scalar is out of range/);
    expect(() => signP256(sha256('x'), Buffer.from(N.toString(16), 'hex'))).toThrow(/private scalar is out of range/);
    expect(() => signP256(sha256('x'), Buffer.alloc(31, 1))).toThrow(/private scalar is out of range/);
  });
});
