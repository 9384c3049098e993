// report: a signed receipt of what the site holds and what its agents reported, to carry back out.
import { writeFile } from 'node:fs/promises';
import { collectReceipt } from '../../agent-api/report.js';
import { signReceipt } from '../../bundle/receipt.js';
import { KeySigner } from '../../bundle/sign.js';
import type { ReceiptStatement } from '../../model/receipt.js';
import { printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadSigningKey } from '../keys.js';
import { parseTime } from '../options.js';
import { summarizeReceipt } from './inspect-receipt.js';

export interface ReportCommandOptions extends GlobalOptions {
  store: string;
  out: string;
  key: string;
  passphraseEnv?: string;
  site?: string;
  now?: string;
}

export async function reportCommand(opts: ReportCommandOptions, io: CommandIO): Promise<ReceiptStatement> {
  const reporter = new Reporter(io, opts);
  const signer = new KeySigner(await loadSigningKey(opts.key, opts.passphraseEnv, io.env));
  const now = opts.now ? parseTime(opts.now, '--now') : new Date();
  const statement = await collectReceipt(opts.store, { now, ...(opts.site ? { site: opts.site } : {}) });
  await writeFile(opts.out, await signReceipt(statement, signer));
  reporter.info(`signed with key ${signer.hint}`);
  printResult(io, opts, { out: opts.out, keyHint: signer.hint, ...summarizeReceipt(statement) }, () => `wrote receipt ${opts.out}: ${statement.predicate.blobs.length} blobs, ${statement.predicate.clusters.length} clusters, highest sequence ${statement.predicate.highestSequence}`);
  return statement;
}
