// The process entry: parse argv, run one command, map its outcome to an exit code (DESIGN.md §7).
// This is the only place that decides exit codes; `bin/sveltos-airgap` is the only caller of process.exit.
import { BaseError, ContentError, CopyError, IncompleteError, InternalError, ValidationError, errorMessage, isTrustFailure } from '../errors.js';
import { buildCli, usageFromCommander } from './cli.js';
import { processIO, type CommandIO } from './io.js';

export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_TRUST = 2;
export const EXIT_INTERNAL = 70;

/** exitCodeOf maps an error to the exit code of DESIGN.md §7. */
export function exitCodeOf(err: unknown): number {
  if (isTrustFailure(err)) return EXIT_TRUST;
  if (err instanceof CopyError && err.cause !== undefined) return exitCodeOf(err.cause);
  if (err instanceof InternalError) return EXIT_INTERNAL;
  if (err instanceof BaseError) return EXIT_USAGE;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  // File system problems with user-named paths are input errors, not bugs.
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return EXIT_USAGE;
  return EXIT_INTERNAL;
}

function errorJSON(err: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { message: errorMessage(err) };
  if (err instanceof BaseError) {
    out.type = err.name;
    out.code = err.code;
    if (err.details) out.details = err.details;
    if (err instanceof ValidationError && err.fields.length) out.fields = err.fields;
  }
  return out;
}

/** main runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CommandIO = processIO()): Promise<{ code: number; result?: unknown }> {
  let result: unknown;
  const program = buildCli(io, async (p) => {
    result = await p;
  });
  const json = argv.some((a, i) => a === '--output=json' || ((a === '--output' || a === '-o') && argv[i + 1] === 'json'));
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command may ask for another code on success (diff --exit-code: 3 when there are changes).
    const wanted = (result as { exitCode?: unknown } | undefined)?.exitCode;
    return { code: typeof wanted === 'number' ? wanted : EXIT_OK, result };
  } catch (raw) {
    const err = usageFromCommander(raw);
    if (err === undefined) return { code: EXIT_OK };
    const code = exitCodeOf(err);
    const label = code === EXIT_TRUST ? 'verification failed' : code === EXIT_INTERNAL ? 'internal error' : err instanceof IncompleteError ? 'incomplete' : 'error';
    io.stderr.write(`sveltos-airgap: ${label}: ${errorMessage(err)}\n`);
    if (code === EXIT_INTERNAL) {
      io.stderr.write(`${(err as Error)?.stack ?? ''}\nThis is a bug in sveltos-airgap: please report it with the command line and the output above.\n`);
    }
    if (err instanceof ContentError && err.code === 'NO_SPACE') io.stderr.write('hint: free space on the target file system, then run the command again\n');
    if (json) io.stdout.write(`${JSON.stringify({ error: { ...errorJSON(err), exitCode: code } }, null, 2)}\n`);
    return { code };
  }
}
