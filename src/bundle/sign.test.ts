// The DSSE pre-authentication encoding and the Sigstore bundle JSON that signStatement writes, against the
// Sigstore libraries (verify reads bundles with them): the same bytes for random payloads, signatures and hints.
import { randomBytes } from 'node:crypto';
import { bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { keyPair } from '../../test/helpers.js';
import { DSSE_PAYLOAD_TYPE } from '../model/bundle.js';
import { canonicalJSON, dsseBundleJSON, KeySigner, preAuthEncoding, signStatement } from './sign.js';
import { verifySignedStatement } from './signature.js';

// library is the bundle as the Sigstore libraries build it, with the empty lists protobuf JSON drops stated.
function library(payload: Buffer, signature: Buffer, hint: string): string {
  const json = bundleToJSON(toDSSEBundle({ artifact: payload, artifactType: DSSE_PAYLOAD_TYPE, signature, keyHint: hint })) as { verificationMaterial: Record<string, unknown> };
  json.verificationMaterial.tlogEntries = [];
  json.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [] };
  return canonicalJSON(json);
}

describe('signature bundle', () => {
  it('encodes payloads for signing as DSSE v1 does', () => {
    for (const [type, payload] of [
      [DSSE_PAYLOAD_TYPE, Buffer.from('{"a":1}')],
      ['', Buffer.alloc(0)],
      ['tÿpe with spaces', randomBytes(300)],
    ] as const) {
      expect(preAuthEncoding(type, payload).equals(dsse.preAuthEncoding(type, payload))).toBe(true);
    }
    expect(preAuthEncoding('t', Buffer.from('xy')).toString()).toBe('DSSEv1 1 t 2 xy');
  });

  it('writes the bundle JSON the Sigstore libraries write, byte for byte', () => {
    for (let i = 0; i < 200; i++) {
      const payload = randomBytes(1 + (i % 97) * 13);
      const signature = randomBytes(64 + (i % 9));
      const hint = randomBytes(32).toString('hex').slice(0, 1 + (i % 64));
      expect(canonicalJSON(dsseBundleJSON(payload, signature, hint))).toBe(library(payload, signature, hint));
    }
  });

  it('signs statements that the verifier accepts with the key and refuses with another', async () => {
    const p256 = { namedCurve: 'P-256' };
    const { privateKey, publicKey } = keyPair('ec', p256);
    const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x', predicate: { n: 1 } };
    const signed = await signStatement(statement, new KeySigner(privateKey));
    expect(() => verifySignedStatement(signed, [publicKey])).not.toThrow();
    expect(() => verifySignedStatement(signed, [keyPair('ec', p256).publicKey])).toThrow();
  });
});
