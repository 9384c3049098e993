// The DSSE pre-authentication encoding and the Sigstore bundle JSON that signStatement writes, against the
// Sigstore libraries: the same bytes for random payloads, signatures and hints. And the signature check of
// verifySignedStatement against @sigstore/verify's: the same verdict on good bundles and on damaged ones.
import { randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { keyPair } from '../../test/helpers.js';
import { DSSE_PAYLOAD_TYPE } from '../model/bundle.js';
import { keyHint } from './keys.js';
import { canonicalJSON, dsseBundleJSON, KeySigner, preAuthEncoding, signStatement } from './sign.js';
import { verifySignedStatement } from './signature.js';

// sigstoreAccepts is @sigstore/verify's verdict on a bundle, with `trusted` as the only keys and no log, CA or
// timestamp authority (what verify trusts, offline).
function sigstoreAccepts(bundleJSON: Buffer, trusted: KeyObject[]): boolean {
  const keys = new Map(trusted.map((k) => [keyHint(k), k]));
  const root = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
  const material = toTrustMaterial(root, (hint: string) => {
    const publicKey = keys.get(hint);
    if (!publicKey) throw new Error(`no key ${hint}`);
    return { publicKey, validFor: () => true };
  });
  try {
    new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundleFromJSON(JSON.parse(bundleJSON.toString()))));
    return true;
  } catch {
    return false;
  }
}

const oursAccepts = (bundleJSON: Buffer, trusted: KeyObject[]): boolean => {
  try {
    verifySignedStatement(bundleJSON, trusted);
    return true;
  } catch {
    return false;
  }
};

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

  it('accepts and refuses exactly the bundles @sigstore/verify accepts and refuses', async () => {
    const p256 = { namedCurve: 'P-256' };
    const { privateKey, publicKey } = keyPair('ec', p256);
    const other = keyPair('ec', p256);
    type Json = { verificationMaterial: Record<string, unknown>; dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] } };
    const variants: [string, (j: Json) => void, boolean][] = [
      ['as signed', () => undefined, true],
      ['a payload byte changed', (j) => (j.dsseEnvelope.payload = flip(j.dsseEnvelope.payload, 5)), false],
      ['a signature byte changed', (j) => (j.dsseEnvelope.signatures[0]!.sig = flip(j.dsseEnvelope.signatures[0]!.sig, 12)), false],
      ['the signature cut short', (j) => (j.dsseEnvelope.signatures[0]!.sig = Buffer.from(j.dsseEnvelope.signatures[0]!.sig, 'base64').subarray(0, 40).toString('base64')), false],
      ['the signature empty', (j) => (j.dsseEnvelope.signatures[0]!.sig = Buffer.from([0x30, 0]).toString('base64')), false],
      ['a signature by another key under the trusted hint', (j) => (j.dsseEnvelope.signatures[0]!.sig = otherSig(j)), false],
      ['a transparency-log entry', (j) => (j.verificationMaterial.tlogEntries = [tlogEntry()]), false],
    ];
    const flip = (b64: string, at: number) => {
      const b = Buffer.from(b64, 'base64');
      b[at % b.length] = b[at % b.length]! ^ 1;
      return b.toString('base64');
    };
    // As KeySigner signs: DER ECDSA over SHA-256 of the pre-authentication encoding.
    const otherSig = (j: Json) => nodeSign('sha256', preAuthEncoding(j.dsseEnvelope.payloadType, Buffer.from(j.dsseEnvelope.payload, 'base64')), other.privateKey).toString('base64');
    for (let i = 0; i < 20; i++) {
      const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x', predicate: { n: i, pad: 'x'.repeat(i * 37) } };
      const signed = await signStatement(statement, new KeySigner(privateKey));
      for (const [what, change, accepted] of variants) {
        const j = JSON.parse(signed.toString()) as Json;
        change(j);
        const bundle = Buffer.from(JSON.stringify(j));
        expect(sigstoreAccepts(bundle, [publicKey]), `${what}: @sigstore/verify`).toBe(accepted);
        expect(oursAccepts(bundle, [publicKey]), `${what}: verifySignedStatement`).toBe(accepted);
      }
      // With the other key trusted instead, neither accepts the bundle (its hint names no trusted key).
      expect(sigstoreAccepts(signed, [other.publicKey])).toBe(false);
      expect(oursAccepts(signed, [other.publicKey])).toBe(false);
    }
  });
});

// tlogEntry is a transparency-log entry of the shape Sigstore bundles carry (never checkable offline).
function tlogEntry(): Record<string, unknown> {
  return {
    logIndex: '1',
    logId: { keyId: Buffer.alloc(32, 1).toString('base64') },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: '1700000000',
    inclusionPromise: { signedEntryTimestamp: Buffer.alloc(64, 2).toString('base64') },
    canonicalizedBody: Buffer.from('{}').toString('base64'),
  };
}
