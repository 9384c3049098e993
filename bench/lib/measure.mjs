// Measuring processes: wall time around a child process and its peak RSS from GNU time (`/usr/bin/time
// -v`, Debian package `time`), plus starting and stopping servers and reading their peak RSS from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TIME_BIN = '/usr/bin/time';

/** hasBinary tells whether `name` is on PATH (or is an existing absolute path). */
export function hasBinary(name) {
  if (name.startsWith('/')) return existsSync(name);
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** parseMaxRss returns "Maximum resident set size" of `time -v` output in bytes, or undefined. */
export function parseMaxRss(text) {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** bash returns the command and arguments running `script` in bash with pipefail (a failing stage fails all). */
export function bash(script) {
  return ['bash', ['-o', 'pipefail', '-c', script]];
}

let seq = 0;

/**
 * timed runs `cmd args` to completion and returns its wall time in seconds, its peak RSS in bytes (the
 * largest process of the tree, as getrusage reports it; undefined without GNU time) and its output.
 * A non-zero exit or a timeout throws with the tail of stderr.
 */
export async function timed(cmd, args, opts = {}) {
  const useTime = opts.rss !== false && existsSync(TIME_BIN);
  const timeOut = join(tmpdir(), `sveltos-airgap-bench-${process.pid}-${seq++}.time`);
  const [file, argv] = useTime ? [TIME_BIN, ['-v', '-o', timeOut, cmd, ...args]] : [cmd, args];
  const started = performance.now();
  const { code, signal, stdout, stderr } = await new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (c, s) => {
      clearTimeout(timer);
      resolve({ code: c, signal: s, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
  const seconds = (performance.now() - started) / 1000;
  let rss;
  if (useTime) {
    try {
      rss = parseMaxRss(readFileSync(timeOut, 'utf8'));
    } catch {
      rss = undefined;
    }
    rmSync(timeOut, { force: true });
  }
  if (code !== 0) {
    const what = signal ? `killed by ${signal}${opts.timeoutMs ? ` (timeout ${opts.timeoutMs / 1000} s?)` : ''}` : `exit ${code}`;
    throw new Error(`${[cmd, ...args].join(' ').slice(0, 300)}: ${what}\n${stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  return { seconds, rss, stdout, stderr };
}

/** freePort asks the kernel for an unused TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** peakRss reads a live process's peak RSS (VmHWM) in bytes, or undefined when it has exited. */
export function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * startServer spawns a server and waits until `readyUrl` answers 200. The returned handle reads its
 * peak RSS and stops it (SIGTERM, then SIGKILL after 5 s). Output goes to `logFile` when given.
 */
export async function startServer(cmd, args, { readyUrl, cwd, env, logFd = 'ignore', timeoutMs = 30_000 }) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', logFd, logFd] });
  let exited = false;
  const done = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = true;
    resolve({ code, signal });
  }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${cmd} ${args.join(' ')}: exited before it was ready`);
    try {
      const res = await fetch(readyUrl);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${cmd} ${args.join(' ')}: ${readyUrl} did not answer within ${timeoutMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid,
    peakRss: () => peakRss(child.pid),
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    },
  };
}

/** toolVersion returns the first line of `cmd args` output, or undefined when the tool is missing. */
export function toolVersion(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
}

/** sq quotes a word for the shell. */
export function sq(word) {
  return `'${String(word).replace(/'/g, `'\\''`)}'`;
}
