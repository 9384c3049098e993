// sign: add one more signature (a co-signature) over the statement a bundle already carries.
import { coSign, type CoSigned } from '../../bundle/co-sign.js';
import { KeySigner } from '../../bundle/sign.js';
import { printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadSigningKey } from '../keys.js';
import { parseTime } from '../options.js';

export interface SignOptions extends GlobalOptions {
  /** A bundle tar, or every part of a split bundle. */
  bundles: string[];
  key: string;
  passphraseEnv?: string;
  note?: string;
  now?: string;
}

export async function sign(opts: SignOptions, io: CommandIO): Promise<CoSigned[]> {
  const reporter = new Reporter(io, opts);
  const signer = new KeySigner(await loadSigningKey(opts.key, opts.passphraseEnv, io.env));
  const done = await coSign(opts.bundles, signer, { now: opts.now ? parseTime(opts.now, '--now') : new Date(), ...(opts.note ? { note: opts.note } : {}) });
  reporter.info('the note and time are labels beside the signature: the signature covers the bundle statement, not them');
  printResult(io, opts, { signed: done.map((d) => ({ file: d.file, signature: d.signature.digest, keyHint: d.keyHint, signatures: d.signatures })) }, () =>
    done.map((d) => `co-signed ${d.file} with key ${d.keyHint} (signature ${d.signature.digest}); it carries ${d.signatures} signatures`).join('\n'),
  );
  return done;
}
