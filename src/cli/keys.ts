// Reading key files named on the command line, with errors that name the file.
import type { KeyObject } from 'node:crypto';
import { loadPrivateKey, loadPublicKey } from '../bundle/keys.js';
import { loadSitePrivateKey, loadSitePublicKeys } from '../bundle/secrets.js';
import { ValidationError } from '../errors.js';
import { readArgText } from './files.js';

function readKeyFile(path: string, flag: string): Promise<string> {
  return readArgText(path, flag, 'key file');
}

/** loadTrustedKeys reads one or more public keys (`--key`, repeatable). */
export async function loadTrustedKeys(paths: string[], flag = '--key'): Promise<KeyObject[]> {
  if (paths.length === 0) throw new ValidationError('USAGE', `${flag}: a trusted public key (PREFIX.pub from keygen) is required`);
  return Promise.all(paths.map(async (p) => loadPublicKey(await readKeyFile(p, flag), p)));
}

/** loadSigningKey reads the private key; the passphrase comes from the env var named by `--passphrase-env`. */
export async function loadSigningKey(path: string, passphraseEnv: string | undefined, env: NodeJS.ProcessEnv): Promise<KeyObject> {
  const pem = await readKeyFile(path, '--key');
  let passphrase: string | undefined;
  if (passphraseEnv) {
    passphrase = env[passphraseEnv];
    if (passphrase === undefined) throw new ValidationError('USAGE', `--passphrase-env ${passphraseEnv}: the environment variable is not set`);
  }
  return loadPrivateKey(pem, { source: path, ...(passphrase !== undefined ? { passphrase } : {}) });
}

/** loadSiteKeys reads the site's private keys (`--site-key`, repeatable) for encrypted objects. */
export async function loadSiteKeys(paths: string[], passphraseEnv: string | undefined, env: NodeJS.ProcessEnv): Promise<KeyObject[]> {
  let passphrase: string | undefined;
  if (passphraseEnv) {
    passphrase = env[passphraseEnv];
    if (passphrase === undefined) throw new ValidationError('USAGE', `--site-key-passphrase-env ${passphraseEnv}: the environment variable is not set`);
  }
  return Promise.all(paths.map(async (p) => loadSitePrivateKey(await readKeyFile(p, '--site-key'), p, passphrase)));
}

/** loadRecipientKeys reads site public keys (`--encrypt-to SITE.pub`, repeatable; a file may hold several). */
export async function loadRecipientKeys(paths: string[], flag = '--encrypt-to'): Promise<KeyObject[]> {
  return (await Promise.all(paths.map(async (p) => loadSitePublicKeys(await readKeyFile(p, flag), p)))).flat();
}
