// Sprig date functions (date.go) over Go time layouts. "Local" is UTC: output must not depend on
// the time zone of the machine that renders.
import { GoError, goFunc } from '../funcs.js';
import {
  LOCAL,
  TimeParseError,
  UTC,
  ZERO_TIME,
  addNanos,
  durationString,
  formatTime,
  inZone,
  loadLocation,
  now,
  parseDuration,
  parseTime,
  roundDuration,
  sinceNanos,
  toGoTime,
  unixSeconds,
  unixTime,
} from '../gotime.js';
import { parseInt64 } from '../strconv.js';
import { GoFunc, GoInt, GoTime, kindOf } from '../values.js';

const ANY = 'interface {}' as const;
const S = 'string' as const;
const T = 'time.Time' as const;
const SECOND = 1_000_000_000n;

// timeArg picks the instant Sprig's date functions use: a time, Unix seconds (int64 or int), else now.
function timeArg(date: unknown, int32Too = true): GoTime {
  if (date instanceof GoTime || date instanceof Date) return toGoTime(date);
  if (kindOf(date) === 'int64') return unixTime(Number(date));
  if (date instanceof GoInt && int32Too) return unixTime(Number(date.value));
  return now();
}

function dateInZone(layout: string, date: unknown, zone: string): string {
  return formatTime(inZone(timeArg(date), loadLocation(zone) ?? UTC), layout);
}

function dateModify(layout: string, date: GoTime, must: boolean): GoTime {
  try {
    return addNanos(toGoTime(date), parseDuration(layout));
  } catch (e) {
    if (must) throw new GoError((e as Error).message);
    return must ? ZERO_TIME : date;
  }
}

function toDate(layout: string, s: string, must: boolean): GoTime {
  try {
    return parseTime(layout, s, LOCAL);
  } catch (e) {
    if (!(e instanceof TimeParseError)) throw e;
    if (must) throw new GoError(e.message);
    return ZERO_TIME;
  }
}

function durationRound(d: unknown): string {
  let n = 0n;
  if (typeof d === 'string') {
    try {
      n = parseDuration(d);
    } catch {
      n = 0n;
    }
  } else if (kindOf(d) === 'int64') n = BigInt(d as number);
  else if (d instanceof GoTime || d instanceof Date) n = sinceNanos(toGoTime(d));
  const u = n < 0n ? -n : n;
  const units: [bigint, string][] = [
    [3_600_000_000_000n * 24n * 365n, 'y'],
    [3_600_000_000_000n * 24n * 30n, 'mo'],
    [3_600_000_000_000n * 24n, 'd'],
    [3_600_000_000_000n, 'h'],
    [60_000_000_000n, 'm'],
    [SECOND, 's'],
  ];
  for (const [size, name] of units) if (u > size) return `${u / size}${name}`;
  return '0s';
}

const dateModifyFn = goFunc({ in: [S, T], out: T }, (f: string, d: GoTime) => dateModify(f, d, false));
const mustDateModifyFn = goFunc({ in: [S, T], out: T }, (f: string, d: GoTime) => dateModify(f, d, true));
const dateInZoneFn = goFunc({ in: [S, ANY, S], out: S }, dateInZone);

/** DATE_FUNCS are Sprig's date and duration functions. */
export const DATE_FUNCS: Record<string, GoFunc> = {
  now: goFunc({ in: [], out: T }, now),
  date: goFunc({ in: [S, ANY], out: S }, (f: string, d: unknown) => dateInZone(f, d, 'Local')),
  dateInZone: dateInZoneFn,
  date_in_zone: dateInZoneFn,
  htmlDate: goFunc({ in: [ANY], out: S }, (d: unknown) => dateInZone('2006-01-02', d, 'Local')),
  htmlDateInZone: goFunc({ in: [ANY, S], out: S }, (d: unknown, z: string) => dateInZone('2006-01-02', d, z)),
  dateModify: dateModifyFn,
  date_modify: dateModifyFn,
  mustDateModify: mustDateModifyFn,
  must_date_modify: mustDateModifyFn,
  toDate: goFunc({ in: [S, S], out: T }, (f: string, s: string) => toDate(f, s, false)),
  mustToDate: goFunc({ in: [S, S], out: T }, (f: string, s: string) => toDate(f, s, true)),
  unixEpoch: goFunc({ in: [T], out: S }, (d: GoTime) => String(unixSeconds(toGoTime(d)))),
  ago: goFunc({ in: [ANY], out: S }, (d: unknown) => durationString(roundDuration(sinceNanos(timeArg(d, true)), SECOND))),
  duration: goFunc({ in: [ANY], out: S }, (sec: unknown) => {
    let n = 0n;
    if (typeof sec === 'string') n = parseInt64(sec, 10).value;
    else if (kindOf(sec) === 'int64') n = BigInt(sec as number);
    return durationString(BigInt.asIntN(64, n * SECOND));
  }),
  durationRound: goFunc({ in: [ANY], out: S }, durationRound),
};
