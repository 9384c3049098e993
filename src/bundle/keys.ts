// Signing keys: ECDSA P-256, private keys as PKCS#8 PEM (optionally passphrase-encrypted), public keys as SPKI PEM.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { lstat, open, rm } from 'node:fs/promises';
import { ValidationError } from '../errors.js';

/** DEFAULT_PASSPHRASE_ENV is the environment variable named in errors when no other one is given. */
export const DEFAULT_PASSPHRASE_ENV = 'SVELTOS_AIRGAP_KEY_PASSPHRASE';

/** The OpenSSL name of NIST P-256, as `asymmetricKeyDetails.namedCurve` reports it. */
const P256 = 'prime256v1';
const CIPHER = 'aes-256-cbc';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface GenerateKeyPairOptions {
  /** Encrypts the private key (PKCS#8, aes-256-cbc). Unset or empty: the key is written in the clear. */
  passphrase?: string;
}

/** generateKeyPair makes a fresh ECDSA P-256 key pair as PEM text. */
export function generateKeyPair(opts: GenerateKeyPairOptions = {}): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateKeyPem = opts.passphrase
    ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: CIPHER, passphrase: opts.passphrase })
    : privateKey.export({ type: 'pkcs8', format: 'pem' });
  return { privateKeyPem: String(privateKeyPem), publicKeyPem: String(publicKey.export({ type: 'spki', format: 'pem' })) };
}

export interface LoadPrivateKeyOptions {
  /** Passphrase of an encrypted key. Unset: encrypted keys are refused with a hint to set it. */
  passphrase?: string;
  /** Where the PEM came from (a file name), used in errors. Default `private key`. */
  source?: string;
  /** Environment variable the user should set, named in errors. Default DEFAULT_PASSPHRASE_ENV. */
  passphraseEnv?: string;
}

/** loadPrivateKey parses a P-256 private key (PKCS#8 or SEC1 PEM, possibly encrypted). */
export function loadPrivateKey(pem: string, opts: LoadPrivateKeyOptions = {}): KeyObject {
  const source = opts.source ?? 'private key';
  const env = opts.passphraseEnv ?? DEFAULT_PASSPHRASE_ENV;
  if (/-----BEGIN (ENCRYPTED )?(SIGSTORE|COSIGN) PRIVATE KEY-----/.test(pem)) {
    throw invalid(source, 'cosign-format private keys are not supported: expected a PKCS#8 PEM key (BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY); create one with `sveltos-airgap keygen`', 'PKCS#8 PEM', 'cosign private key');
  }
  if (/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem) && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw invalid(source, 'expected a private key, found a public key or certificate', 'private key', 'public key');
  }
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type:\s*4,ENCRYPTED/.test(pem);
  if (encrypted && !opts.passphrase) {
    throw invalid(source, `private key is encrypted and no passphrase was given: set the environment variable ${env} to its passphrase`, 'passphrase', 'none');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(opts.passphrase ? { key: pem, format: 'pem', passphrase: opts.passphrase } : { key: pem, format: 'pem' });
  } catch (err) {
    if (encrypted) {
      throw invalid(source, `cannot decrypt the private key: the passphrase in ${env} is wrong (or the key is damaged)`, 'the passphrase the key was encrypted with', 'a passphrase that does not decrypt it', err);
    }
    throw invalid(source, `not a PEM private key: ${errText(err)}`, 'PKCS#8 PEM private key', 'unparseable data', err);
  }
  assertP256(key, source);
  return key;
}

/** loadPublicKey parses one P-256 public key (SPKI PEM). Private keys are refused: trust files must hold public keys. */
export function loadPublicKey(pem: string, source = 'public key'): KeyObject {
  const keys = loadPublicKeys(pem, source);
  if (keys.length !== 1) {
    throw invalid(source, `expected exactly one public key, found ${keys.length}`, 1, keys.length);
  }
  return keys[0]!;
}

/** loadPublicKeys parses every `PUBLIC KEY` PEM block of a trust file (at least one). */
export function loadPublicKeys(pem: string, source = 'public key'): KeyObject[] {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw invalid(source, 'expected a public key (SPKI PEM), found a private key: trust files must hold only public keys (PREFIX.pub)', 'public key', 'private key');
  }
  const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) {
    throw invalid(source, 'expected a PEM public key (-----BEGIN PUBLIC KEY-----), found none', 'PEM public key', 'no PUBLIC KEY block');
  }
  return blocks.map((block, i) => {
    const where = blocks.length > 1 ? `${source} (key #${i + 1})` : source;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: block, format: 'pem' });
    } catch (err) {
      throw invalid(where, `not a valid public key: ${errText(err)}`, 'SPKI PEM public key', 'unparseable data', err);
    }
    assertP256(key, where);
    return key;
  });
}

/** keyHint is the hex SHA-256 of the key's SPKI DER: the signature key hint in bundles and `inspect`. */
export function keyHint(publicKey: KeyObject): string {
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** assertP256 refuses any key that is not ECDSA P-256, naming what it found. */
export function assertP256(key: KeyObject, source = 'key'): void {
  const type = key.asymmetricKeyType;
  if (type !== 'ec') {
    const bits = key.asymmetricKeyDetails?.modulusLength;
    const found = `${type ?? key.type}${bits ? ` (${bits} bits)` : ''}`;
    throw invalid(source, `expected an ECDSA P-256 key, found a ${found} key`, 'ec P-256', found);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== P256) {
    throw invalid(source, `expected an ECDSA P-256 (prime256v1) key, found curve ${curve ?? 'unknown'}`, 'ec P-256', `ec ${curve ?? 'unknown'}`);
  }
}

export interface WriteKeyPairOptions {
  /** Encrypts the private key. Unset or empty: written in the clear. */
  passphrase?: string;
  /** Replace existing files. Default false: existing files are never overwritten. */
  force?: boolean;
}

/** writeKeyPair writes `PREFIX.key` (mode 0600) and `PREFIX.pub` (0644) and returns their paths and the key hint. */
export async function writeKeyPair(prefix: string, opts: WriteKeyPairOptions = {}): Promise<{ privatePath: string; publicPath: string; hint: string }> {
  const privatePath = `${prefix}.key`;
  const publicPath = `${prefix}.pub`;
  if (!opts.force) {
    // Check both first so a refusal never leaves one half of a pair behind.
    for (const p of [privatePath, publicPath]) {
      if (await exists(p)) {
        throw new ValidationError('INVALID', `${p}: file exists; refusing to overwrite a key (pass --force to replace it)`, {
          fields: ['out'],
          details: { file: p, expected: 'no existing file', found: 'existing file' },
        });
      }
    }
  }
  const pair = generateKeyPair(opts.passphrase ? { passphrase: opts.passphrase } : {});
  await writeNew(privatePath, pair.privateKeyPem, 0o600, !!opts.force);
  try {
    await writeNew(publicPath, pair.publicKeyPem, 0o644, !!opts.force);
  } catch (err) {
    await rm(privatePath, { force: true });
    throw err;
  }
  return { privatePath, publicPath, hint: keyHint(createPublicKey(pair.publicKeyPem)) };
}

async function writeNew(path: string, text: string, mode: number, force: boolean): Promise<void> {
  if (force) {
    // Remove first: a replaced file must not keep a looser mode or be a symlink to elsewhere.
    await rm(path, { force: true });
  }
  let fh;
  try {
    fh = await open(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ValidationError('INVALID', `${path}: file exists; refusing to overwrite a key (pass --force to replace it)`, {
        cause: err,
        fields: ['out'],
        details: { file: path, expected: 'no existing file', found: 'existing file' },
      });
    }
    throw err;
  }
  try {
    await fh.chmod(mode); // the umask applies to open(); set the mode exactly
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function invalid(source: string, what: string, expected: unknown, found: unknown, cause?: unknown): ValidationError {
  return new ValidationError('INVALID', `${source}: ${what}`, {
    ...(cause === undefined ? {} : { cause }),
    fields: ['key'],
    details: { file: source, expected, found },
  });
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
