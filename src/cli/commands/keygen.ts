// keygen: make an ECDSA P-256 signing key pair.
import { writeKeyPair } from '../../bundle/keys.js';
import { ValidationError } from '../../errors.js';
import { printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';

export interface KeygenOptions extends GlobalOptions {
  out: string;
  passphraseEnv?: string;
  force?: boolean;
}

export async function keygen(opts: KeygenOptions, io: CommandIO) {
  let passphrase: string | undefined;
  if (opts.passphraseEnv) {
    passphrase = io.env[opts.passphraseEnv];
    if (!passphrase) throw new ValidationError('USAGE', `--passphrase-env ${opts.passphraseEnv}: the environment variable is not set or empty`);
  }
  const result = await writeKeyPair(opts.out, { ...(passphrase ? { passphrase } : {}), force: Boolean(opts.force) });
  new Reporter(io, opts).info(`keep ${result.privatePath} secret; give ${result.publicPath} to the sites that import your bundles`);
  printResult(io, opts, { ...result, encrypted: Boolean(passphrase) }, () =>
    [`private key: ${result.privatePath}${passphrase ? ' (encrypted)' : ''}`, `public key:  ${result.publicPath}`, `key hint:    ${result.hint}`].join('\n'),
  );
  return result;
}
