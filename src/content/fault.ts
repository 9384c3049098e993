// Fault injection for crash-safety and disk-full tests: a documented test seam, inert unless configured.
//
// The environment variable SVELTOS_AIRGAP_TEST_FAULT (read once, at the first write) or
// configureFaults() selects one mode:
//   kill-after:N    the process sends itself SIGKILL once N units were written
//   enospc-after:N  the write that would pass N units fails with ENOSPC (as a full disk does)
//   count           nothing fails; the total is written to stderr at exit as `fault-count: N`, and the
//                   count at each named phase as `fault-mark NAME: N` (so tests can aim at a phase)
// A unit is one byte of file data, or one file system operation that publishes or removes something
// (rename, link, unlink), so points chosen at random over [0, total) fall in every phase of an import.
// A write that crosses N is torn: its first bytes reach the file, as after a power cut.

export type FaultMode = { kind: 'kill' | 'enospc'; after: number } | { kind: 'count' };

export const FAULT_ENV = 'SVELTOS_AIRGAP_TEST_FAULT';

let mode: FaultMode | undefined;
let configured = false;
let used = 0;
const marks = new Map<string, number>();

/** parseFaultSpec parses `kill-after:N`, `enospc-after:N` or `count`; anything else is a programming error. */
export function parseFaultSpec(spec: string): FaultMode {
  if (spec === 'count') return { kind: 'count' };
  const m = /^(kill|enospc)-after:(\d+)$/.exec(spec);
  if (!m) throw new Error(`${FAULT_ENV}: expected kill-after:N, enospc-after:N or count, got ${JSON.stringify(spec)}`);
  return { kind: m[1] as 'kill' | 'enospc', after: Number(m[2]) };
}

/** configureFaults sets (or, with undefined, clears) the fault mode and resets the counter; for in-process tests. */
export function configureFaults(spec: string | undefined): void {
  mode = spec === undefined ? undefined : parseFaultSpec(spec);
  configured = true;
  used = 0;
  marks.clear();
  if (mode?.kind === 'count') {
    process.once('exit', () => process.stderr.write([...[...marks].map(([name, n]) => `fault-mark ${name}: ${n}`), `fault-count: ${used}`].join('\n') + '\n'));
  }
}

/** faultMark records the count at the start of a named phase (reported in count mode). */
export function faultMark(name: string): void {
  if (current()?.kind === 'count') marks.set(name, used);
}

/** faultUnits is how many units were counted since the mode was configured. */
export function faultUnits(): number {
  return used;
}

function current(): FaultMode | undefined {
  if (!configured) {
    const spec = process.env[FAULT_ENV];
    configureFaults(spec ? spec : undefined);
  }
  return mode;
}

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device (injected by ' + FAULT_ENV + ')'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/**
 * faultBudget is called before writing `units`; it returns how many of them may be written. When that is
 * fewer than asked, the caller writes that many and then calls faultTrip(), which does not return normally.
 */
export function faultBudget(units: number): number {
  const m = current();
  if (!m) return units;
  if (m.kind === 'count') {
    used += units;
    return units;
  }
  const allowed = Math.max(0, Math.min(units, m.after - used));
  used += allowed;
  return allowed;
}

/** faultTrip kills the process or throws ENOSPC, as configured. */
export function faultTrip(): never {
  if (mode?.kind === 'kill') {
    process.kill(process.pid, 'SIGKILL');
  }
  throw enospc();
}

/** faultPoint counts one operation (or `units` bytes written at once) and trips when the budget is spent. */
export function faultPoint(units = 1): void {
  if (faultBudget(units) < units) faultTrip();
}
