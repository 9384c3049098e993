// Running the CLI in-process with captured stdout/stderr.
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { main } from '../src/cli/index.js';
import type { CommandIO } from '../src/cli/io.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  result?: unknown;
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** cli runs `sveltos-airgap <argv>` in this process. */
export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const out = capture();
  const err = capture();
  const io: CommandIO = { stdout: out.stream, stderr: err.stream, env, isTTY: false };
  const r = await main(argv, io);
  // A PassThrough hands written data to its readers a tick later: end both and wait, or the last line is lost.
  out.stream.end();
  err.stream.end();
  await Promise.all([finished(out.stream), finished(err.stream)]);
  return { code: r.code, stdout: out.text(), stderr: err.text(), result: r.result };
}
