// Encrypted objects layers (docs/format.md "Encrypted objects"): an objects layer that carries a Secret can be
// encrypted to one or more site keys, so only the site that holds a matching private key can read it.
// Per recipient: ECDH (X25519 or P-256) with a fresh ephemeral key, HKDF-SHA256 to a key-encryption key,
// AES-256-GCM to wrap the content key; the content is AES-256-GCM under that key. node:crypto only.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { ContentError, ValidationError, VerificationError } from '../errors.js';
import { ANNOTATION_ENCRYPTION, ANNOTATION_RECIPIENTS, MEDIA_TYPE_OBJECTS, MEDIA_TYPE_OBJECTS_ENCRYPTED } from '../model/bundle.js';
import type { Descriptor } from '../model/oci.js';
import { yamlLib } from '../model/yaml-lib.js';
import type { Signer } from './sign.js';

/** RecipientKey is a site public key: X25519 or ECDH P-256 (an ECDSA P-256 key pair works for both). */
export type RecipientKey = KeyObject;

export const ENCRYPTION_ALGORITHM = 'ECDH-HKDF-SHA256+A256GCM';
const HKDF_INFO = Buffer.from('sveltos-airgap objects v1');

type Curve = 'X25519' | 'P-256';

/** EncryptedEnvelope is the JSON body of an encrypted objects layer. Binary fields are base64. */
interface EncryptedEnvelope {
  version: 1;
  algorithm: typeof ENCRYPTION_ALGORITHM;
  contentType: typeof MEDIA_TYPE_OBJECTS;
  /** One wrapped content key per recipient. */
  recipients: { kid: string; curve: Curve; epk: string; iv: string; wrappedKey: string }[];
  iv: string;
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  ciphertext: string;
}

/** curveOf names the key agreement of a site key, or undefined for any other key. */
function curveOf(key: KeyObject): Curve | undefined {
  if (key.asymmetricKeyType === 'x25519') return 'X25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'P-256';
  return undefined;
}

function spki(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

/** recipientId is a site key's id: the hex SHA-256 of its SPKI DER (the same hint signing keys have). */
export function recipientId(key: KeyObject): string {
  return createHash('sha256').update(spki(key)).digest('hex');
}

/** assertSiteKey refuses keys that cannot take part in the key agreement, naming what was found. */
export function assertSiteKey(key: KeyObject, source: string): void {
  if (curveOf(key)) return;
  const found = `${key.asymmetricKeyType ?? key.type}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''}`;
  throw new ValidationError('INVALID', `${source}: expected an X25519 or P-256 site key, found a ${found} key`, { fields: ['key'], details: { file: source, expected: 'X25519 or P-256', found } });
}

/** loadSitePublicKeys parses the PUBLIC KEY blocks of a `--encrypt-to` file (at least one). */
export function loadSitePublicKeys(pem: string, source: string): KeyObject[] {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new ValidationError('INVALID', `${source}: expected the site's public key (SPKI PEM), found a private key: the private key stays at the site`, { fields: ['key'], details: { file: source } });
  }
  const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new ValidationError('INVALID', `${source}: expected a PEM public key (-----BEGIN PUBLIC KEY-----), found none`, { fields: ['key'], details: { file: source } });
  return blocks.map((block) => {
    let key: KeyObject;
    try {
      key = createPublicKey(block);
    } catch (err) {
      throw new ValidationError('INVALID', `${source}: not a valid public key: ${(err as Error).message}`, { cause: err, fields: ['key'] });
    }
    assertSiteKey(key, source);
    return key;
  });
}

/** loadSitePrivateKey parses the site's private key (PKCS#8 PEM, optionally encrypted with `passphrase`). */
export function loadSitePrivateKey(pem: string, source: string, passphrase?: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase ? { key: pem, format: 'pem', passphrase } : { key: pem, format: 'pem' });
  } catch (err) {
    throw new ValidationError('INVALID', `${source}: not a readable private key${/ENCRYPTED/.test(pem) ? ' (encrypted: give its passphrase)' : ''}: ${(err as Error).message}`, { cause: err, fields: ['site-key'] });
  }
  assertSiteKey(key, source);
  return key;
}

function aad(kids: string[]): Buffer {
  return Buffer.from(`${ENCRYPTION_ALGORITHM}\n${MEDIA_TYPE_OBJECTS}\n${kids.join(',')}`);
}

function seal(key: Buffer, iv: Buffer, plaintext: Buffer, extra: Buffer): { iv: Buffer; sealed: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(extra);
  return { iv, sealed: Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]) };
}

// open returns the plaintext, or undefined when the tag does not verify.
function open(key: Buffer, iv: Buffer, sealed: Buffer, extra: Buffer): Buffer | undefined {
  if (iv.length !== 12 || sealed.length < 16) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(extra);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

function keyEncryptionKey(shared: Buffer, epk: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, recipient]), HKDF_INFO, 32));
}

// Draw gives the secret bytes one encryption needs, each under its own label: random, or derived from a seed.
type Draw = (label: string, bytes: number) => Buffer;

const drawRandom: Draw = (_label, bytes) => randomBytes(bytes);

function drawFrom(seed: Buffer): Draw {
  return (label, bytes) => Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), `sveltos-airgap seal v1 ${label}`, bytes));
}

// PKCS#8 DER prefixes of a raw X25519 private key and of a P-256 private scalar (the public key is derived).
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const P256_PKCS8 = Buffer.from('308141020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420', 'hex');
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

// ephemeralKey makes recipient `i`'s ephemeral private key from drawn bytes (a P-256 scalar is drawn again until it is in range).
function ephemeralKey(curve: Curve, draw: Draw, i: number): KeyObject {
  if (draw === drawRandom) return (curve === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })).privateKey;
  if (curve === 'X25519') return createPrivateKey({ key: Buffer.concat([X25519_PKCS8, draw(`ephemeral ${i}`, 32)]), format: 'der', type: 'pkcs8' });
  for (let attempt = 0; ; attempt++) {
    const d = draw(`ephemeral ${i} ${attempt}`, 32);
    const n = BigInt(`0x${d.toString('hex')}`);
    if (n > 0n && n < P256_ORDER) return createPrivateKey({ key: Buffer.concat([P256_PKCS8, d]), format: 'der', type: 'pkcs8' });
  }
}

/**
 * encryptObjects seals an objects YAML stream to every recipient; returns the envelope bytes and the recipient
 * ids. With `seed` (32 secret bytes, see sealSeed) every key and IV is derived from it, so the same seed and
 * plaintext give the same envelope; without, they are random.
 */
export function encryptObjects(plaintext: Buffer, recipients: RecipientKey[], seed?: Buffer): { envelope: Buffer; recipients: string[] } {
  if (recipients.length === 0) throw new ValidationError('USAGE', '--encrypt-to: at least one site public key is needed');
  const draw = seed ? drawFrom(seed) : drawRandom;
  const cek = draw('content key', 32);
  const kids = recipients.map(recipientId);
  const wrapped = recipients.map((pub, i) => {
    const curve = curveOf(pub)!;
    const eph = ephemeralKey(curve, draw, i);
    const shared = diffieHellman({ privateKey: eph, publicKey: pub });
    const epk = spki(eph);
    const kek = keyEncryptionKey(shared, epk, spki(pub));
    const { iv, sealed } = seal(kek, draw(`wrap iv ${i}`, 12), cek, Buffer.from(kids[i]!));
    return { kid: kids[i]!, curve, epk: epk.toString('base64'), iv: iv.toString('base64'), wrappedKey: sealed.toString('base64') };
  });
  const { iv, sealed } = seal(cek, draw('content iv', 12), plaintext, aad(kids));
  const env: EncryptedEnvelope = {
    version: 1,
    algorithm: ENCRYPTION_ALGORITHM,
    contentType: MEDIA_TYPE_OBJECTS,
    recipients: wrapped,
    iv: iv.toString('base64'),
    ciphertext: sealed.toString('base64'),
  };
  return { envelope: Buffer.from(JSON.stringify(env)), recipients: kids };
}

const SEAL_DOMAIN = 'sveltos-airgap seal seed v1\n';

/**
 * sealSeed derives the secret that fixes one encryption of `plaintext` to `recipients`: a hash of the exporter's
 * signature over a hash of both. The deterministic signer makes it the same from one export to the next for
 * the same content, signing key and site keys (so an unchanged cluster keeps its digest), and nobody without
 * the signing key can compute it. The signature itself is never written anywhere; its message cannot be taken
 * for a signed statement (DSSE signs "DSSEv1 …" only).
 */
export async function sealSeed(signer: Signer, plaintext: Buffer, recipients: RecipientKey[]): Promise<Buffer> {
  const content = createHash('sha256').update(plaintext).digest('hex');
  const message = Buffer.from(`${SEAL_DOMAIN}${content}\n${recipients.map(recipientId).join(',')}\n`);
  const { signature } = await signer.sign(message);
  return createHash('sha256').update(SEAL_DOMAIN).update(signature).digest();
}

function envelopeFromJSON(buf: Buffer, where: string): EncryptedEnvelope {
  const fail = (field: string, expected: string): never => {
    throw new ContentError('INVALID_LAYOUT', `${where}: encrypted objects: ${field}: expected ${expected}`, { details: { field, expected } });
  };
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    fail('(root)', 'a JSON envelope');
  }
  const e = v as Partial<EncryptedEnvelope> | null;
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return fail('(root)', 'an object');
  if (e.version !== 1) fail('version', '1');
  if (e.algorithm !== ENCRYPTION_ALGORITHM) fail('algorithm', ENCRYPTION_ALGORITHM);
  if (e.contentType !== MEDIA_TYPE_OBJECTS) fail('contentType', MEDIA_TYPE_OBJECTS);
  if (typeof e.iv !== 'string' || typeof e.ciphertext !== 'string') fail('iv, ciphertext', 'base64 strings');
  if (!Array.isArray(e.recipients) || e.recipients.length === 0) return fail('recipients', 'a non-empty array');
  e.recipients.forEach((r, i) => {
    if (typeof r !== 'object' || r === null) fail(`recipients[${i}]`, 'an object');
    for (const f of ['kid', 'epk', 'iv', 'wrappedKey'] as const) if (typeof r[f] !== 'string') fail(`recipients[${i}].${f}`, 'a string');
    if (r.curve !== 'X25519' && r.curve !== 'P-256') fail(`recipients[${i}].curve`, 'X25519 or P-256');
  });
  return e as EncryptedEnvelope;
}

/** envelopeRecipients lists the key ids an encrypted layer names in its annotations. */
export function envelopeRecipients(layer: Descriptor): string[] {
  return (layer.annotations?.[ANNOTATION_RECIPIENTS] ?? '').split(',').filter(Boolean);
}

/**
 * decryptObjects opens an encrypted objects layer with the site's private key(s). A layer encrypted to other
 * keys is a POLICY failure naming both; a layer whose ciphertext does not open is TAMPERED.
 */
export function decryptObjects(envelope: Buffer, siteKeys: KeyObject[], where: string): Buffer {
  const env = envelopeFromJSON(envelope, where);
  const kids = env.recipients.map((r) => r.kid);
  for (const key of siteKeys) {
    const kid = recipientId(key);
    const r = env.recipients.find((x) => x.kid === kid);
    if (!r) continue;
    let cek: Buffer | undefined;
    try {
      const epk = Buffer.from(r.epk, 'base64');
      const shared = diffieHellman({ privateKey: key, publicKey: createPublicKey({ key: epk, format: 'der', type: 'spki' }) });
      cek = open(keyEncryptionKey(shared, epk, spki(key)), Buffer.from(r.iv, 'base64'), Buffer.from(r.wrappedKey, 'base64'), Buffer.from(kid));
    } catch (err) {
      throw new VerificationError('TAMPERED', `${where}: encrypted objects: recipient ${kid}: the ephemeral key is not usable (${(err as Error).message})`, { cause: err, details: { field: 'recipients', found: kid } });
    }
    const plain = cek && cek.length === 32 ? open(cek, Buffer.from(env.iv, 'base64'), Buffer.from(env.ciphertext, 'base64'), aad(kids)) : undefined;
    if (!plain) throw new VerificationError('TAMPERED', `${where}: encrypted objects do not decrypt with site key ${kid}: the ciphertext or the wrapped key was altered`, { details: { keyId: kid } });
    return plain;
  }
  const have = siteKeys.map(recipientId);
  throw new VerificationError('POLICY', `${where}: encrypted to key(s) ${kids.join(', ')}; this site's key is ${have.join(', ') || '(none given: pass --site-key)'}: export again with --encrypt-to this site's public key`, {
    details: { expected: have, found: kids },
  });
}

/** encryptedLayerAnnotations are the annotations of an encrypted objects layer. */
export function encryptedLayerAnnotations(recipients: string[]): Record<string, string> {
  return { [ANNOTATION_ENCRYPTION]: ENCRYPTION_ALGORITHM, [ANNOTATION_RECIPIENTS]: recipients.join(',') };
}

/** isEncryptedObjects tells whether a layer is an encrypted objects layer. */
export function isEncryptedObjects(layer: Descriptor): boolean {
  return layer.mediaType === MEDIA_TYPE_OBJECTS_ENCRYPTED;
}

/**
 * carriesSecret tells whether an objects YAML stream holds a Secret, directly or inside a ConfigurationBundle's
 * `spec.resources` (one rendered object per string). The stream is the exporter's own output.
 */
export function carriesSecret(yaml: string): boolean {
  const kindOf = (v: unknown) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>).kind : undefined);
  const { parseAllDocuments } = yamlLib();
  for (const doc of parseAllDocuments(yaml, { version: '1.1' })) {
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (kindOf(value) === 'Secret') return true;
    if (kindOf(value) !== 'ConfigurationBundle') continue;
    const resources = ((value as { spec?: { resources?: unknown } }).spec?.resources ?? []) as unknown[];
    for (const r of Array.isArray(resources) ? resources : []) {
      if (typeof r === 'string' && parseAllDocuments(r, { version: '1.1' }).some((d) => kindOf(d.toJS({ maxAliasCount: 100 })) === 'Secret')) return true;
    }
  }
  return false;
}
