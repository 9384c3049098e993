// A CommandIO that captures stdout and stderr, for running the CLI in-process.
import { Writable } from 'node:stream';
import type { CommandIO } from '../../src/cli/io.js';

export function captureIO(): CommandIO & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) => new Writable({ write(chunk: Buffer, _e, done) { append(chunk.toString()); done(); } });
  return {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env: {},
    isTTY: false,
    out: () => out,
    err: () => err,
  };
}
