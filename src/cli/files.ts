// Reading files named on the command line, with errors that name the flag, the file and what it was for.
import { readFile } from 'node:fs/promises';
import { ValidationError } from '../errors.js';

/**
 * readArgFile reads a file a flag names (`flag` empty for a positional argument); a failure is a usage
 * error: `--since r.json: cannot read the receipt (ENOENT)`.
 */
export async function readArgFile(path: string, flag: string, what?: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ValidationError('USAGE', `${flag ? `${flag} ` : ''}${path}: cannot read${what ? ` the ${what}` : ''} (${code})`, { cause: err });
  }
}

/** readArgText is readArgFile as UTF-8 text. */
export async function readArgText(path: string, flag: string, what?: string): Promise<string> {
  return (await readArgFile(path, flag, what)).toString('utf8');
}
