// Offline signing: a deterministic ECDSA P-256 Signer and DSSE statements wrapped in Sigstore bundles v0.3.
// Reference: https://github.com/secure-systems-lab/dsse/blob/v1.0.2/protocol.md
// Reference: https://github.com/sigstore/protobuf-specs/blob/v0.5.0/protos/sigstore_bundle.proto
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { InternalError, ValidationError } from '../errors.js';
import { DSSE_PAYLOAD_TYPE, MEDIA_TYPE_SIGSTORE_BUNDLE } from '../model/bundle.js';
import { signP256 } from './ecdsa.js';
import { assertP256, keyHint } from './keys.js';

/** KeyMaterial names the public key that verifies a Signature (sigstore's `$case` union, key-based arm). */
export type KeyMaterial = { $case: 'publicKey'; hint: string; publicKey: string };

/** Signature is a DER-encoded signature and the key that made it; assignable to @sigstore/sign's Signature. */
export interface Signature {
  signature: Buffer;
  key: KeyMaterial;
}

/** Signer signs bytes; shaped like @sigstore/sign's Signer so its bundle builders can use ours. */
export interface Signer {
  sign(data: Buffer): Promise<Signature>;
}

/**
 * KeySigner signs with a local P-256 private key: ECDSA over SHA-256 with RFC 6979 nonces and low S,
 * so the same key and data always give the same signature bytes (reproducible bundles).
 */
export class KeySigner implements Signer {
  readonly #scalar: Uint8Array;
  readonly #key: KeyMaterial;

  constructor(privateKey: KeyObject) {
    if (privateKey.type !== 'private') {
      throw new ValidationError('INVALID', `signing key: expected a private key, found a ${privateKey.type} key`, {
        fields: ['key'],
        details: { expected: 'private', found: privateKey.type },
      });
    }
    assertP256(privateKey, 'signing key');
    // Read from a copy parsed from DER: exporting as JWK a key object that generateKeyPairSync returned can
    // deadlock Node 20 (the export holds the key's lock while it allocates; a garbage collection may then
    // finalize the finished generation job, whose destructor takes the same lock).
    const d = createPrivateKey({ key: privateKey.export({ type: 'pkcs8', format: 'der' }), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }).d;
    if (!d) throw new InternalError('INTERNAL', 'signing key: JWK export has no private scalar');
    const raw = Buffer.from(d, 'base64url');
    if (raw.length > 32) throw new InternalError('INTERNAL', `signing key: private scalar is ${raw.length} bytes, expected 32`);
    // JWK requires the full 32 bytes; pad anyway so a short export cannot shift the scalar.
    this.#scalar = Buffer.concat([Buffer.alloc(32 - raw.length), raw]);
    const publicKey = createPublicKey(privateKey);
    this.#key = {
      $case: 'publicKey',
      hint: keyHint(publicKey),
      publicKey: String(publicKey.export({ type: 'spki', format: 'pem' })),
    };
  }

  /** hint is the key hint (hex SHA-256 of the SPKI DER) written into bundles. */
  get hint(): string {
    return this.#key.hint;
  }

  /** sign returns an ASN.1 DER ECDSA signature over SHA-256(data). */
  async sign(data: Buffer): Promise<Signature> {
    const digest = createHash('sha256').update(data).digest();
    return { signature: signP256(digest, this.#scalar), key: { ...this.#key } };
  }
}

/** preAuthEncoding is the DSSE v1 PAE: `DSSEv1 <len(type)> <type> <len(body)> <body>`; the bytes actually signed. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'ascii'), type, Buffer.from(` ${payload.length} `, 'ascii'), payload]);
}

/**
 * dsseBundleJSON is the JSON form (protobuf JSON mapping: bytes in base64) of a Sigstore bundle v0.3 holding one
 * DSSE envelope signed by a public key named by `hint`, with no transparency-log entries or timestamps, which
 * are stated as empty lists. `payload`, `signature` and `hint` are never empty here (protobuf JSON would drop
 * them). Written here rather than with the Sigstore libraries, which cost every export their load.
 */
export function dsseBundleJSON(payload: Buffer, signature: Buffer, hint: string): object {
  return {
    mediaType: MEDIA_TYPE_SIGSTORE_BUNDLE,
    verificationMaterial: { publicKey: { hint }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: DSSE_PAYLOAD_TYPE, signatures: [{ sig: signature.toString('base64'), keyid: hint }] },
  };
}

/** canonicalJSON serialises plain JSON data with object keys sorted and no whitespace, so equal data gives equal bytes. */
export function canonicalJSON(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw notJSON(path, String(value));
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => (v === undefined ? 'null' : write(v, `${path}[${i}]`))).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw notJSON(path, proto?.constructor?.name ?? 'object');
      const entries = Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${write((value as Record<string, unknown>)[k], `${path}.${k}`)}`);
      return `{${entries.join(',')}}`;
    }
    default:
      throw notJSON(path, typeof value);
  }
}

function notJSON(path: string, found: string): ValidationError {
  return new ValidationError('INVALID', `${path}: expected plain JSON data, found ${found}`, {
    fields: [path],
    details: { expected: 'JSON value', found },
  });
}

/**
 * signStatement signs an in-toto statement: the payload is its canonical JSON, wrapped in a DSSE envelope
 * (payloadType application/vnd.in-toto+json) inside a Sigstore bundle v0.3 with a public-key hint and no
 * transparency-log entries or timestamps. Returns the bundle's canonical JSON bytes.
 */
export async function signStatement(statement: object, signer: Signer): Promise<Buffer> {
  const payload = Buffer.from(canonicalJSON(statement), 'utf8');
  const sig = await signer.sign(preAuthEncoding(DSSE_PAYLOAD_TYPE, payload));
  if (sig.key?.$case !== 'publicKey') {
    throw new ValidationError('INVALID', `signer: expected key material of type publicKey, found ${String(sig.key?.$case)}`, {
      fields: ['key'],
      details: { expected: 'publicKey', found: sig.key?.$case },
    });
  }
  const hint = sig.key.hint || keyHint(createPublicKey(sig.key.publicKey));
  if (sig.signature.length === 0) throw new InternalError('INTERNAL', 'signer: returned an empty signature');
  return Buffer.from(canonicalJSON(dsseBundleJSON(payload, sig.signature, hint)), 'utf8');
}
