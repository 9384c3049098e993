// Methods that templates can call on values (`.Method args`): those of GoObject values and a
// subset of time.Time's.
import { goFunc } from './funcs.js';
import { formatTime, inZone, LOCAL, timeString, toGoTime, UTC } from './gotime.js';
import { GoFunc, GoObject, GoTime } from './values.js';

const MS_PER_DAY = 86_400_000;

function timeMethods(t: GoTime): Record<string, GoFunc> {
  const local = () => new Date(t.epochMs + t.zone.at(t.epochMs).offsetSec * 1000);
  const int = (f: () => number) => goFunc({ in: [], out: 'int' }, f);
  return {
    Year: int(() => local().getUTCFullYear()),
    Day: int(() => local().getUTCDate()),
    Hour: int(() => local().getUTCHours()),
    Minute: int(() => local().getUTCMinutes()),
    Second: int(() => local().getUTCSeconds()),
    Nanosecond: int(() => (((t.epochMs % 1000) + 1000) % 1000) * 1_000_000 + t.nanos),
    YearDay: int(() => {
      const d = local();
      const start = new Date(0);
      start.setUTCFullYear(d.getUTCFullYear(), 0, 1);
      return Math.floor((d.getTime() - start.getTime()) / MS_PER_DAY) + 1;
    }),
    Unix: goFunc({ in: [], out: 'int64' }, () => Math.floor(t.epochMs / 1000)),
    UnixMilli: goFunc({ in: [], out: 'int64' }, () => t.epochMs),
    UnixNano: goFunc({ in: [], out: 'int64' }, () => BigInt(t.epochMs) * 1_000_000n + BigInt(t.nanos)),
    Format: goFunc({ in: ['string'], out: 'string' }, (layout: string) => formatTime(t, layout)),
    String: goFunc({ in: [], out: 'string' }, () => timeString(t)),
    UTC: goFunc({ in: [], out: 'time.Time' }, () => inZone(t, UTC)),
    Local: goFunc({ in: [], out: 'time.Time' }, () => inZone(t, LOCAL)),
    IsZero: goFunc({ in: [], out: 'bool' }, () => t.epochMs === -62_135_596_800_000 && t.nanos === 0),
  };
}

/** methodOf finds method `name` of a value, if it has one. */
export function methodOf(v: unknown, name: string): GoFunc | undefined {
  if (v instanceof GoObject) return Object.prototype.hasOwnProperty.call(v.methods, name) ? v.methods[name] : undefined;
  if (v instanceof GoTime || v instanceof Date) {
    const m = timeMethods(toGoTime(v));
    return Object.prototype.hasOwnProperty.call(m, name) ? m[name] : undefined;
  }
  return undefined;
}
