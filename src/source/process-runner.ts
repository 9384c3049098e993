// ProcessRunner starts programs (helm) from a small helper process instead of from this one. Forking copies
// the parent's page tables, and until the child execs every page the parent writes faults: a busy export
// (hundreds of MB of image layers in flight) paid more for its twenty helm runs than helm itself did. The
// helper is tiny and idle, so its forks are cheap; it is started on first use and never keeps the process
// alive while idle.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { abortError } from '../errors.js';

/** isExecutable tells whether `path` is a file this process may run. */
export async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(() => true, () => false);
}

/** findOnPath returns the first executable `name` in the directories of `$PATH`, or undefined. */
export async function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (await isExecutable(p)) return p;
  }
  return undefined;
}

/** ProcessResult is what a finished program left: its exit code and its output as text. */
export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Written to the program's stdin, which is then closed. */
  input?: string;
  signal?: AbortSignal;
}

// The helper is plain CommonJS evaluated from a string, so it runs the same from sources and from dist/.
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
const running = new Map();
process.on('message', (m) => {
  if (m.kill !== undefined) { running.get(m.kill)?.kill('SIGKILL'); return; }
  let child;
  try {
    child = spawn(m.cmd, m.args, { env: m.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    process.send({ id: m.id, error: String(err && err.message || err) });
    return;
  }
  running.set(m.id, child);
  const out = [], err = [];
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => err.push(c));
  child.stdin.on('error', () => {});
  child.stdin.end(m.input ?? '');
  child.on('error', (e) => { running.delete(m.id); process.send({ id: m.id, error: String(e.message) }); });
  child.on('close', (code, signal) => {
    if (!running.delete(m.id)) return;
    process.send({ id: m.id, code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  });
});
process.on('disconnect', () => { for (const c of running.values()) c.kill('SIGKILL'); process.exit(0); });
`;

interface Pending {
  resolve: (r: ProcessResult) => void;
  reject: (e: Error) => void;
}

/** ProcessRunner runs programs through one helper process, any number at once. */
export class ProcessRunner {
  #helper: ChildProcess | undefined;
  readonly #pending = new Map<number, Pending>();
  #next = 0;

  /** run starts `cmd` with `args` and resolves when it ends (whatever its exit code); a program that cannot start rejects. */
  run(cmd: string, args: string[], opts: RunOptions): Promise<ProcessResult> {
    opts.signal?.throwIfAborted();
    const helper = this.#start();
    const id = this.#next++;
    return new Promise<ProcessResult>((resolve, reject) => {
      const onAbort = () => {
        helper.send({ kill: id });
        settle(() => reject(abortError(opts.signal!)));
      };
      const settle = (fn: () => void) => {
        if (!this.#pending.delete(id)) return;
        opts.signal?.removeEventListener('abort', onAbort);
        if (this.#pending.size === 0) this.#idle(helper);
        fn();
      };
      this.#pending.set(id, { resolve: (r) => settle(() => resolve(r)), reject: (e) => settle(() => reject(e)) });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      helper.channel?.ref();
      helper.send({ id, cmd, args, env: opts.env, ...(opts.input !== undefined ? { input: opts.input } : {}) });
    });
  }

  /** close ends the helper (running programs are killed). */
  close(): void {
    this.#helper?.disconnect();
    this.#helper = undefined;
  }

  #start(): ChildProcess {
    if (this.#helper?.connected) return this.#helper;
    const helper = spawn(process.execPath, ['-e', HELPER_SOURCE], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { PATH: process.env.PATH ?? '' } });
    helper.on('message', (m: { id: number; code?: number; stdout?: string; stderr?: string; error?: string }) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      if (m.error !== undefined) p.reject(Object.assign(new Error(m.error), { code: /ENOENT/.test(m.error) ? 'ENOENT' : undefined }));
      else p.resolve({ code: m.code ?? 1, stdout: m.stdout ?? '', stderr: m.stderr ?? '' });
    });
    const lost = () => {
      if (this.#helper === helper) this.#helper = undefined;
      for (const p of [...this.#pending.values()]) p.reject(new Error('the process runner ended unexpectedly'));
    };
    helper.on('exit', lost);
    helper.on('error', lost);
    helper.unref();
    this.#helper = helper;
    return helper;
  }

  // #idle lets the process exit while nothing runs.
  #idle(helper: ChildProcess): void {
    helper.channel?.unref();
  }
}

/** defaultRunner is the shared runner of this process. */
export const defaultRunner = new ProcessRunner();
