// syncfs(2) for Node, which has no binding for it: `sync -f DIR` makes every write to the file system holding
// DIR durable. Spawning it forks this process, and a fork costs more the more memory the process has (15 to
// 25 ms at the few hundred MiB of a fleet import, once per staged batch), so one small shell, started at the
// first call and kept while the process lives, runs `sync -f` for every later call.
import { execFile, spawn, type ChildProcess } from 'node:child_process';

// The shell reads one folder per line and answers each with 0 (synced) or 1 (sync failed), in order.
const SCRIPT = 'while IFS= read -r d; do if sync -f -- "$d"; then echo 0; else echo 1; fi; done';

let runner: Runner | undefined;

/** syncfs resolves true once the file system holding `dir` is synced, false where `sync -f` is not at hand or failed. */
export function syncfs(dir: string): Promise<boolean> {
  // A folder name with a line break cannot go over the shell's line protocol.
  if (dir.includes('\n')) return once(dir);
  return started().sync(dir);
}

/**
 * prepareSyncfs starts the shell now, while this process is small, for a caller that will sync later (when the
 * fork would copy the page tables of a few hundred MiB).
 */
export function prepareSyncfs(): void {
  started();
}

// started is the shell, started anew when there is none or it is gone.
function started(): Runner {
  if (!runner?.alive) runner = new Runner();
  return runner;
}

function once(dir: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sync', ['-f', '--', dir], (err) => resolve(!err)));
}

class Runner {
  readonly #child: ChildProcess;
  readonly #waiting: ((ok: boolean) => void)[] = [];
  #out = '';
  alive = true;

  constructor() {
    this.#child = spawn('sh', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.#child.stdout!.setEncoding('latin1');
    this.#child.stdout!.on('data', (chunk: string) => this.#answer(chunk));
    // Gone (no shell, killed): what waits is answered false, so the caller syncs another way; the next call starts a new shell.
    const gone = () => {
      this.alive = false;
      for (const done of this.#waiting.splice(0)) done(false);
    };
    this.#child.on('error', gone);
    this.#child.on('exit', gone);
    this.#child.stdin!.on('error', gone);
    this.#idle();
  }

  sync(dir: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      // While an answer is due the process waits for it; idle, the shell does not keep it running.
      this.#child.ref();
      (this.#child.stdout as { ref?: () => void }).ref?.();
      this.#child.stdin!.write(`${dir}\n`);
    });
  }

  #answer(chunk: string): void {
    this.#out += chunk;
    let nl;
    while ((nl = this.#out.indexOf('\n')) >= 0) {
      const line = this.#out.slice(0, nl);
      this.#out = this.#out.slice(nl + 1);
      this.#waiting.shift()?.(line === '0');
    }
    if (this.#waiting.length === 0) this.#idle();
  }

  #idle(): void {
    this.#child.unref();
    (this.#child.stdout as { unref?: () => void }).unref?.();
    (this.#child.stdin as { unref?: () => void }).unref?.();
  }
}
