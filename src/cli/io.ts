// Output plumbing for commands: results on stdout (text or JSON), logs and progress on stderr.
import type { Writable } from 'node:stream';
import { formatBytes } from '../model/size.js';
import { yamlLib } from '../model/yaml-lib.js';

export { formatBytes };

export type OutputFormat = 'text' | 'json' | 'yaml';

/** CommandIO is everything a command may touch of the process; tests pass their own. */
export interface CommandIO {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Progress bars are drawn only on a TTY. */
  isTTY: boolean;
}

export interface GlobalOptions {
  output: OutputFormat;
  quiet: boolean;
}

export function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, isTTY: Boolean(process.stderr.isTTY) };
}

/** Reporter writes human logs and progress to stderr; `--quiet` silences them. */
export class Reporter {
  #lastDraw = 0;
  #drawn = false;
  constructor(
    private readonly io: CommandIO,
    private readonly opts: GlobalOptions,
  ) {}

  /** info logs one line on stderr. */
  info(message: string): void {
    if (this.opts.quiet) return;
    this.#clear();
    this.io.stderr.write(`${message}\n`);
  }

  /** warn logs a warning on stderr (even when quiet). */
  warn(code: string, message: string): void {
    this.#clear();
    this.io.stderr.write(`warning: ${code}: ${message}\n`);
  }

  /** progress draws a throttled progress line (TTY only). */
  progress(label: string, done: number, total: number, unit: 'bytes' | 'items' = 'bytes'): void {
    if (this.opts.quiet || !this.io.isTTY) return;
    const now = Date.now();
    if (now - this.#lastDraw < 100 && done < total) return;
    this.#lastDraw = now;
    const fmt = unit === 'bytes' ? formatBytes : String;
    const pct = total > 0 ? ` ${Math.floor((done / total) * 100)}%` : '';
    this.io.stderr.write(`\r${label}: ${fmt(done)}${total > 0 ? ` / ${fmt(total)}` : ''}${pct}\x1b[K`);
    this.#drawn = true;
  }

  #clear(): void {
    if (this.#drawn) {
      this.io.stderr.write('\r\x1b[K');
      this.#drawn = false;
    }
  }

  /** done ends a progress line. */
  done(): void {
    this.#clear();
  }
}

/** printResult writes the command result: JSON when asked, else the text rendering. */
export function printResult(io: CommandIO, opts: GlobalOptions, json: unknown, text: () => string): void {
  if (opts.output === 'json') io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else if (opts.output === 'yaml') io.stdout.write(yamlLib().stringify(json));
  else {
    const t = text();
    if (t) io.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
  }
}

/** table renders rows as aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * someOf lists up to `max` names, then how many more there are: a fleet's thousands of clusters would bury a
 * text summary (`--output json` lists them all).
 */
export function someOf(names: string[], max = 10): string {
  if (names.length === 0) return '(none)';
  if (names.length <= max) return names.join(', ');
  return `${names.length}: ${names.slice(0, max).join(', ')}, … and ${names.length - max} more (--output json lists them all)`;
}
