// Go's time package as templates see it: zones, layout-based Format and Parse, and Durations.
// "Local" is UTC here: rendering must not depend on the machine that runs it.
// Reference: Go 1.19 src/time/format.go, time.go, zoneinfo.go.
import { GoTime, GoZone } from './values.js';

/** UTC is the UTC zone. */
export const UTC: GoZone = { name: 'UTC', at: () => ({ abbrev: 'UTC', offsetSec: 0 }) };
/** LOCAL is Go's time.Local, which the engine pins to UTC. */
export const LOCAL: GoZone = { name: 'Local', at: () => ({ abbrev: 'UTC', offsetSec: 0 }) };

/** fixedZone is Go's time.FixedZone. */
export function fixedZone(name: string, offsetSec: number): GoZone {
  return { name, at: () => ({ abbrev: name, offsetSec }) };
}

const zoneCache = new Map<string, GoZone | undefined>();

/** loadLocation is time.LoadLocation: UTC, Local or an IANA zone known to the runtime (undefined if unknown). */
export function loadLocation(name: string): GoZone | undefined {
  if (name === '' || name === 'UTC') return UTC;
  if (name === 'Local') return LOCAL;
  if (zoneCache.has(name)) return zoneCache.get(name);
  let zone: GoZone | undefined;
  try {
    const offFmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
    const abbrFmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'short' });
    const part = (f: Intl.DateTimeFormat, ms: number) => f.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? '';
    zone = {
      name,
      at(ms: number) {
        const off = part(offFmt, ms);
        const m = /GMT([+-])(\d{2}):(\d{2})(?::(\d{2}))?/.exec(off);
        const offsetSec = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0)) : 0;
        let abbrev = part(abbrFmt, ms);
        if (/^GMT([+-]|$)/.test(abbrev)) abbrev = numericAbbrev(offsetSec);
        return { abbrev, offsetSec };
      },
    };
  } catch {
    zone = undefined;
  }
  zoneCache.set(name, zone);
  return zone;
}

// Go names zones without an abbreviation by their offset: "+03", "-0330".
function numericAbbrev(off: number): string {
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const h = String(Math.floor(a / 3600)).padStart(2, '0');
  const m = Math.floor((a % 3600) / 60);
  return off === 0 ? 'UTC' : sign + h + (m ? String(m).padStart(2, '0') : '');
}

const MS_PER_DAY = 86_400_000;
/** ZERO_TIME is Go's zero time.Time: January 1, year 1, 00:00:00 UTC. */
export const ZERO_TIME = new GoTime(-62_135_596_800_000, 0, UTC);

/** now is time.Now in the Local zone. */
export function now(): GoTime {
  return new GoTime(Date.now(), 0, LOCAL);
}

/** unixTime is time.Unix(sec, 0) in the Local zone. */
export function unixTime(sec: number): GoTime {
  return new GoTime(sec * 1000, 0, LOCAL);
}

/** toGoTime accepts a GoTime or a JavaScript Date (taken as UTC). */
export function toGoTime(v: GoTime | Date): GoTime {
  return v instanceof Date ? new GoTime(v.getTime(), 0, UTC) : v;
}

/** inZone is Time.In. */
export function inZone(t: GoTime, zone: GoZone): GoTime {
  return new GoTime(t.epochMs, t.nanos, zone);
}

/** unixSeconds is Time.Unix. */
export function unixSeconds(t: GoTime): number {
  return Math.floor(t.epochMs / 1000);
}

/** addNanos is Time.Add with a duration in nanoseconds. */
export function addNanos(t: GoTime, d: bigint): GoTime {
  const total = BigInt(t.epochMs) * 1_000_000n + BigInt(t.nanos) + d;
  const ms = total / 1_000_000n - (total % 1_000_000n < 0n ? 1n : 0n);
  return new GoTime(Number(ms), Number(total - ms * 1_000_000n), t.zone);
}

/** sinceNanos is time.Since(t) in nanoseconds. */
export function sinceNanos(t: GoTime): bigint {
  return (BigInt(Date.now()) - BigInt(t.epochMs)) * 1_000_000n - BigInt(t.nanos);
}

interface Wall {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  weekday: number; // 0 = Sunday
  yday: number; // 1-366
  abbrev: string;
  offsetSec: number;
}

function wall(t: GoTime): Wall {
  const { abbrev, offsetSec } = t.zone.at(t.epochMs);
  const local = t.epochMs + offsetSec * 1000;
  const d = new Date(local);
  const msInSec = ((local % 1000) + 1000) % 1000;
  const startOfYear = new Date(0);
  startOfYear.setUTCFullYear(d.getUTCFullYear(), 0, 1);
  const yday = Math.floor((local - startOfYear.getTime()) / MS_PER_DAY) + 1;
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    min: d.getUTCMinutes(),
    sec: d.getUTCSeconds(),
    nsec: msInSec * 1_000_000 + t.nanos,
    weekday: d.getUTCDay(),
    yday,
    abbrev,
    offsetSec,
  };
}

const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const LONG_MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const SHORT_DAYS = LONG_DAYS.map((d) => d.slice(0, 3));
const SHORT_MONTHS = LONG_MONTHS.map((m) => m.slice(0, 3));

/** Std is one layout element recognized by Go's nextStdChunk. */
type Std =
  | { kind: 'none' }
  | { kind: 'std'; code: string }
  | { kind: 'frac'; zeros: boolean; digits: number; sep: string };

interface Chunk {
  prefix: string;
  std: Std;
  stdText: string;
  suffix: string;
}

const TZ_LAYOUTS: [string, string][] = [
  ['-070000', 'NumSecondsTz'],
  ['-07:00:00', 'NumColonSecondsTZ'],
  ['-0700', 'NumTZ'],
  ['-07:00', 'NumColonTZ'],
  ['-07', 'NumShortTZ'],
  ['Z070000', 'ISO8601SecondsTZ'],
  ['Z07:00:00', 'ISO8601ColonSecondsTZ'],
  ['Z0700', 'ISO8601TZ'],
  ['Z07:00', 'ISO8601ColonTZ'],
  ['Z07', 'ISO8601ShortTZ'],
];

const isDigitAt = (s: string, i: number) => i < s.length && s[i]! >= '0' && s[i]! <= '9';
const startsWithLower = (s: string) => s.length > 0 && s[0]! >= 'a' && s[0]! <= 'z';

function chunk(layout: string, i: number, code: string, len: number, prefixEnd = i): Chunk {
  return { prefix: layout.slice(0, prefixEnd), std: { kind: 'std', code }, stdText: layout.slice(prefixEnd, i + len), suffix: layout.slice(i + len) };
}

/** nextStdChunk splits a layout at its first element, as Go's nextStdChunk. */
function nextStdChunk(layout: string): Chunk {
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i]!;
    const at = (s: string) => layout.startsWith(s, i);
    switch (c) {
      case 'J':
        if (at('Jan')) {
          if (at('January')) return chunk(layout, i, 'LongMonth', 7);
          if (!startsWithLower(layout.slice(i + 3))) return chunk(layout, i, 'Month', 3);
        }
        break;
      case 'M':
        if (at('Mon')) {
          if (at('Monday')) return chunk(layout, i, 'LongWeekDay', 6);
          if (!startsWithLower(layout.slice(i + 3))) return chunk(layout, i, 'WeekDay', 3);
        }
        if (at('MST')) return chunk(layout, i, 'TZ', 3);
        break;
      case '0': {
        const n = layout[i + 1];
        if (n !== undefined && n >= '1' && n <= '6') {
          return chunk(layout, i, ['ZeroMonth', 'ZeroDay', 'ZeroHour12', 'ZeroMinute', 'ZeroSecond', 'Year'][Number(n) - 1]!, 2);
        }
        if (at('002')) return chunk(layout, i, 'ZeroYearDay', 3);
        break;
      }
      case '1':
        if (layout[i + 1] === '5') return chunk(layout, i, 'Hour', 2);
        return chunk(layout, i, 'NumMonth', 1);
      case '2':
        if (at('2006')) return chunk(layout, i, 'LongYear', 4);
        return chunk(layout, i, 'Day', 1);
      case '_':
        if (layout[i + 1] === '2') {
          if (layout.startsWith('2006', i + 1)) return chunk(layout, i + 1, 'LongYear', 4, i + 1);
          return chunk(layout, i, 'UnderDay', 2);
        }
        if (at('__2')) return chunk(layout, i, 'UnderYearDay', 3);
        break;
      case '3':
        return chunk(layout, i, 'Hour12', 1);
      case '4':
        return chunk(layout, i, 'Minute', 1);
      case '5':
        return chunk(layout, i, 'Second', 1);
      case 'P':
        if (layout[i + 1] === 'M') return chunk(layout, i, 'PM', 2);
        break;
      case 'p':
        if (layout[i + 1] === 'm') return chunk(layout, i, 'pm', 2);
        break;
      case '-':
      case 'Z':
        for (const [pat, code] of TZ_LAYOUTS) if (at(pat)) return chunk(layout, i, code, pat.length);
        break;
      case '.':
      case ',': {
        const ch = layout[i + 1];
        if (ch === '0' || ch === '9') {
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!isDigitAt(layout, j)) {
            return {
              prefix: layout.slice(0, i),
              std: { kind: 'frac', zeros: ch === '0', digits: j - (i + 1), sep: c },
              stdText: layout.slice(i, j),
              suffix: layout.slice(j),
            };
          }
        }
        break;
      }
    }
  }
  return { prefix: layout, std: { kind: 'none' }, stdText: '', suffix: '' };
}

const pad = (n: number, w: number, ch = '0') => {
  const s = String(Math.abs(n)).padStart(w, ch);
  return n < 0 ? '-' + s : s;
};

function formatZone(code: string, off: number): string {
  if (code.startsWith('ISO8601') && off === 0) return 'Z';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const hh = pad(Math.floor(a / 3600), 2);
  const mm = pad(Math.floor((a % 3600) / 60), 2);
  const ss = pad(a % 60, 2);
  const colon = code.includes('Colon');
  if (code.endsWith('ShortTZ')) return sign + hh;
  let s = sign + hh + (colon ? ':' : '') + mm;
  if (code.includes('Seconds')) s += (colon ? ':' : '') + ss;
  return s;
}

const hour12 = (w: Wall) => (w.hour % 12 === 0 ? 12 : w.hour % 12);

// ELEMENTS format each layout element other than time zones and fractional seconds.
const ELEMENTS: Record<string, (w: Wall) => string> = {
  Year: (w) => pad(((w.year % 100) + 100) % 100, 2),
  LongYear: (w) => pad(w.year, 4),
  Month: (w) => SHORT_MONTHS[w.month - 1]!,
  LongMonth: (w) => LONG_MONTHS[w.month - 1]!,
  NumMonth: (w) => String(w.month),
  ZeroMonth: (w) => pad(w.month, 2),
  WeekDay: (w) => SHORT_DAYS[w.weekday]!,
  LongWeekDay: (w) => LONG_DAYS[w.weekday]!,
  Day: (w) => String(w.day),
  UnderDay: (w) => pad(w.day, 2, ' '),
  ZeroDay: (w) => pad(w.day, 2),
  UnderYearDay: (w) => pad(w.yday, 3, ' '),
  ZeroYearDay: (w) => pad(w.yday, 3),
  Hour: (w) => pad(w.hour, 2),
  Hour12: (w) => String(hour12(w)),
  ZeroHour12: (w) => pad(hour12(w), 2),
  Minute: (w) => String(w.min),
  ZeroMinute: (w) => pad(w.min, 2),
  Second: (w) => String(w.sec),
  ZeroSecond: (w) => pad(w.sec, 2),
  PM: (w) => (w.hour >= 12 ? 'PM' : 'AM'),
  pm: (w) => (w.hour >= 12 ? 'pm' : 'am'),
  TZ: (w) => (w.abbrev !== '' ? w.abbrev : formatZone('NumTZ', w.offsetSec)),
};

/** formatTime is Time.Format with a Go layout. */
export function formatTime(t: GoTime, layout: string): string {
  const w = wall(t);
  let out = '';
  for (;;) {
    const c = nextStdChunk(layout);
    out += c.prefix;
    if (c.std.kind === 'none') break;
    layout = c.suffix;
    if (c.std.kind === 'frac') {
      // .000 keeps every digit; .999 drops trailing zeros, and the separator with them.
      const digits = pad(w.nsec, 9).slice(0, c.std.digits);
      const shown = c.std.zeros ? digits : digits.replace(/0+$/, '');
      if (shown !== '') out += c.std.sep + shown;
      continue;
    }
    const f = ELEMENTS[c.std.code];
    out += f ? f(w) : formatZone(c.std.code, w.offsetSec);
  }
  return out;
}

/** timeString is Time.String (without the monotonic clock reading). */
export function timeString(t: GoTime): string {
  return formatTime(t, '2006-01-02 15:04:05.999999999 -0700 MST');
}

/** timeQuote is the time package's quote for error messages. */
function timeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x80 || c < 0x20) {
      for (const b of Buffer.from(ch, 'utf8')) out += '\\x' + b.toString(16).padStart(2, '0');
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

/** TimeParseError is time.ParseError, with Go's message. */
export class TimeParseError extends Error {}

function parseError(layout: string, value: string, layoutElem: string, valueElem: string, message: string): TimeParseError {
  if (message === '') {
    return new TimeParseError(
      `parsing time ${timeQuote(value)} as ${timeQuote(layout)}: cannot parse ${timeQuote(valueElem)} as ${timeQuote(layoutElem)}`,
    );
  }
  return new TimeParseError(`parsing time ${timeQuote(value)}${message}`);
}

function lookupName(names: string[], v: string): [number, string] | undefined {
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (v.length >= n.length && v.slice(0, n.length).toLowerCase() === n.toLowerCase()) return [i, v.slice(n.length)];
  }
  return undefined;
}

function getnum(v: string, fixed: boolean): [number, string] | undefined {
  if (!isDigitAt(v, 0)) return undefined;
  if (!isDigitAt(v, 1)) {
    if (fixed) return undefined;
    return [Number(v[0]), v.slice(1)];
  }
  return [Number(v.slice(0, 2)), v.slice(2)];
}

function getnum3(v: string, fixed: boolean): [number, string] | undefined {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigitAt(v, i); i++) n = n * 10 + Number(v[i]);
  if (i === 0 || (fixed && i !== 3)) return undefined;
  return [n, v.slice(i)];
}

function parseTimeZone(v: string): number {
  if (v.length < 3) return 0;
  if (v.startsWith('ChST') || v.startsWith('MeST')) return 4;
  if (v.startsWith('GMT')) {
    const m = /^GMT([+-]\d+)?/.exec(v);
    if (m?.[1] && Math.abs(Number(m[1])) <= 23) return 3 + m[1].length;
    return 3;
  }
  if (v[0] === '+' || v[0] === '-') {
    const m = /^[+-]\d+/.exec(v);
    return m && Math.abs(Number(m[0])) <= 23 ? m[0].length : 0;
  }
  let n = 0;
  while (n < 6 && n < v.length && v[n]! >= 'A' && v[n]! <= 'Z') n++;
  if (n === 3) return 3;
  if (n === 4 && (v[3] === 'T' || v.startsWith('WITA'))) return 4;
  if (n === 5 && v[4] === 'T') return 5;
  return 0;
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

function dateUTC(year: number, month: number, day: number, hour: number, min: number, sec: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, min, sec, 0);
  return d.getTime();
}

/** parseTime is time.ParseInLocation(layout, value, zone). */
export function parseTime(layout: string, value: string, zone: GoZone): GoTime {
  const alayout = layout;
  const avalue = value;
  let amSet = false;
  let pmSet = false;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let z: GoZone | undefined;
  let zoneOffset = -1;
  let zoneName = '';
  for (;;) {
    const c = nextStdChunk(layout);
    const skipped = skip(value, c.prefix);
    if (skipped === undefined) throw parseError(alayout, avalue, c.prefix, value, '');
    value = skipped;
    if (c.std.kind === 'none') {
      if (value.length !== 0) throw parseError(alayout, avalue, '', value, ': extra text: ' + timeQuote(value));
      break;
    }
    layout = c.suffix;
    let bad = false;
    let rangeErr = '';
    const num = (r: [number, string] | undefined): number => {
      if (!r) {
        bad = true;
        return 0;
      }
      value = r[1];
      return r[0];
    };
    if (c.std.kind === 'frac') {
      if (c.std.zeros) {
        const n = 1 + c.std.digits;
        if (value.length < n || !/^[.,]/.test(value) || !/^\d+$/.test(value.slice(1, n))) bad = true;
        else {
          nsec = Number(value.slice(1, n).padEnd(9, '0').slice(0, 9));
          value = value.slice(n);
        }
      } else if (value.length >= 2 && /^[.,]\d/.test(value)) {
        let i = 0;
        while (i < 9 && isDigitAt(value, i + 1)) i++;
        nsec = Number(value.slice(1, 1 + i).padEnd(9, '0'));
        value = value.slice(1 + i);
      }
    } else {
      switch (c.std.code) {
        case 'Year':
          if (value.length < 2 || !/^\d\d/.test(value)) bad = true;
          else {
            year = Number(value.slice(0, 2));
            year += year >= 69 ? 1900 : 2000;
            value = value.slice(2);
          }
          break;
        case 'LongYear':
          if (value.length < 4 || !/^\d{4}/.test(value)) bad = true;
          else {
            year = Number(value.slice(0, 4));
            value = value.slice(4);
          }
          break;
        case 'Month':
        case 'LongMonth': {
          const r = lookupName(c.std.code === 'Month' ? SHORT_MONTHS : LONG_MONTHS, value);
          if (!r) bad = true;
          else [month, value] = [r[0] + 1, r[1]];
          break;
        }
        case 'NumMonth':
        case 'ZeroMonth':
          month = num(getnum(value, c.std.code === 'ZeroMonth'));
          if (!bad && (month <= 0 || month > 12)) rangeErr = 'month';
          break;
        case 'WeekDay':
        case 'LongWeekDay': {
          const r = lookupName(c.std.code === 'WeekDay' ? SHORT_DAYS : LONG_DAYS, value);
          if (!r) bad = true;
          else value = r[1];
          break;
        }
        case 'Day':
        case 'UnderDay':
        case 'ZeroDay':
          if (c.std.code === 'UnderDay' && value[0] === ' ') value = value.slice(1);
          day = num(getnum(value, c.std.code === 'ZeroDay'));
          break;
        case 'UnderYearDay':
        case 'ZeroYearDay':
          for (let i = 0; i < 2; i++) if (c.std.code === 'UnderYearDay' && value[0] === ' ') value = value.slice(1);
          yday = num(getnum3(value, c.std.code === 'ZeroYearDay'));
          break;
        case 'Hour':
          hour = num(getnum(value, false));
          if (hour < 0 || hour >= 24) rangeErr = 'hour';
          break;
        case 'Hour12':
        case 'ZeroHour12':
          hour = num(getnum(value, c.std.code === 'ZeroHour12'));
          if (hour < 0 || hour > 12) rangeErr = 'hour';
          break;
        case 'Minute':
        case 'ZeroMinute':
          min = num(getnum(value, c.std.code === 'ZeroMinute'));
          if (min < 0 || min >= 60) rangeErr = 'minute';
          break;
        case 'Second':
        case 'ZeroSecond':
          sec = num(getnum(value, c.std.code === 'ZeroSecond'));
          if (sec < 0 || sec >= 60) {
            rangeErr = 'second';
            break;
          }
          if (value.length >= 2 && /^[.,]\d/.test(value)) {
            const nx = nextStdChunk(layout);
            if (nx.std.kind === 'frac') break;
            let n = 2;
            while (isDigitAt(value, n)) n++;
            nsec = Number(value.slice(1, n).padEnd(9, '0').slice(0, 9));
            if (n - 1 > 9) rangeErr = 'fractional second';
            value = value.slice(n);
          }
          break;
        case 'PM':
        case 'pm': {
          const p = value.slice(0, 2);
          const [pm, am] = c.std.code === 'PM' ? ['PM', 'AM'] : ['pm', 'am'];
          if (value.length < 2) bad = true;
          else if (p === pm) pmSet = true;
          else if (p === am) amSet = true;
          else bad = true;
          if (value.length >= 2) value = value.slice(2);
          break;
        }
        case 'TZ':
          if (value.startsWith('UTC')) {
            z = UTC;
            value = value.slice(3);
            break;
          }
          {
            const n = parseTimeZone(value);
            if (n === 0) bad = true;
            else [zoneName, value] = [value.slice(0, n), value.slice(n)];
          }
          break;
        default: {
          const code = c.std.code;
          if ((code === 'ISO8601TZ' || code === 'ISO8601ShortTZ' || code === 'ISO8601ColonTZ') && value[0] === 'Z') {
            value = value.slice(1);
            z = UTC;
            break;
          }
          let parts: [string, string, string, string] | undefined;
          const colon = code.includes('Colon');
          if (code.endsWith('ShortTZ')) {
            if (value.length >= 3) parts = [value[0]!, value.slice(1, 3), '00', '00'];
            if (parts) value = value.slice(3);
          } else if (code.includes('Seconds')) {
            if (colon && value.length >= 9 && value[3] === ':' && value[6] === ':') {
              parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), value.slice(7, 9)];
              value = value.slice(9);
            } else if (!colon && value.length >= 7) {
              parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), value.slice(5, 7)];
              value = value.slice(7);
            }
          } else if (colon) {
            if (value.length >= 6 && value[3] === ':') {
              parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), '00'];
              value = value.slice(6);
            }
          } else if (value.length >= 5) {
            parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), '00'];
            value = value.slice(5);
          }
          if (!parts || !parts.slice(1).every((p) => /^\d+$/.test(p)) || (parts[0] !== '+' && parts[0] !== '-')) {
            bad = true;
            break;
          }
          zoneOffset = (Number(parts[1]) * 60 + Number(parts[2])) * 60 + Number(parts[3]);
          if (parts[0] === '-') zoneOffset = -zoneOffset;
        }
      }
    }
    if (rangeErr) throw parseError(alayout, avalue, c.stdText, value, `: ${rangeErr} out of range`);
    if (bad) throw parseError(alayout, avalue, c.stdText, value, '');
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    let d = 0;
    let m = 0;
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (yday < 1 || yday > 365) throw parseError(alayout, avalue, '', value, ': day-of-year out of range');
    if (m === 0) {
      const before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
      m = Math.floor((yday - 1) / 31) + 1;
      if (before[m]! < yday) m++;
      d = yday - before[m - 1]!;
    }
    if (month >= 0 && month !== m) throw parseError(alayout, avalue, '', value, ': day-of-year does not match month');
    month = m;
    if (day >= 0 && day !== d) throw parseError(alayout, avalue, '', value, ': day-of-year does not match day');
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) throw parseError(alayout, avalue, '', value, ': day out of range');
  const wallMs = dateUTC(year, month, day, hour, min, sec) + Math.floor(nsec / 1_000_000);
  const extra = nsec % 1_000_000;
  if (z) return new GoTime(wallMs, extra, z);
  if (zoneOffset !== -1) {
    const ms = wallMs - zoneOffset * 1000;
    const local = zone.at(ms);
    if (local.offsetSec === zoneOffset && (zoneName === '' || local.abbrev === zoneName)) return new GoTime(ms, extra, zone);
    return new GoTime(ms, extra, fixedZone(zoneName, zoneOffset));
  }
  if (zoneName !== '') {
    const local = zone.at(wallMs);
    if (local.abbrev === zoneName) return new GoTime(wallMs - local.offsetSec * 1000, extra, zone);
    let offset = 0;
    if (zoneName.length > 3 && zoneName.startsWith('GMT')) offset = Number(zoneName.slice(3)) * 3600;
    return new GoTime(wallMs - offset * 1000, extra, fixedZone(zoneName, offset));
  }
  const off = zone.at(wallMs).offsetSec;
  return new GoTime(wallMs - off * 1000, extra, zone);
}

// skip removes a literal layout prefix from value; a space in the layout matches a run of spaces.
function skip(value: string, prefix: string): string | undefined {
  while (prefix.length > 0) {
    if (prefix[0] === ' ') {
      if (value.length > 0 && value[0] !== ' ') return undefined;
      prefix = prefix.replace(/^ +/, '');
      value = value.replace(/^ +/, '');
      continue;
    }
    if (value.length === 0 || value[0] !== prefix[0]) return undefined;
    prefix = prefix.slice(1);
    value = value.slice(1);
  }
  return value;
}

const NS = { ns: 1n, us: 1000n, 'µs': 1000n, 'μs': 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** parseDuration is time.ParseDuration; it throws Go's error text. */
export function parseDuration(s: string): bigint {
  const orig = s;
  const fail = (msg: string): never => {
    throw new Error(msg);
  };
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') fail(`time: invalid duration ${timeQuote(orig)}`);
  let d = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (!/^[0-9.]/.test(s) || (m[1] === '' && (m[2] ?? '') === '')) fail(`time: invalid duration ${timeQuote(orig)}`);
    s = s.slice(m[0].length);
    const u = /^[^0-9.]*/.exec(s)![0];
    if (u === '') fail(`time: missing unit in duration ${timeQuote(orig)}`);
    const unit = NS[u as keyof typeof NS];
    if (unit === undefined) fail(`time: unknown unit ${timeQuote(u)} in duration ${timeQuote(orig)}`);
    s = s.slice(u.length);
    let v = BigInt(m[1] || '0') * unit!;
    const frac = m[2] ?? '';
    if (frac !== '') {
      let scale = 1n;
      let f = 0n;
      for (const ch of frac.slice(0, 18)) {
        f = f * 10n + BigInt(ch);
        scale *= 10n;
      }
      v += (f * unit!) / scale;
    }
    d += v;
    if (d > (1n << 63n) - 1n) fail(`time: invalid duration ${timeQuote(orig)}`);
  }
  return neg ? -d : d;
}

/** durationString is time.Duration.String. */
export function durationString(d: bigint): string {
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out = '';
  const frac = (v: bigint, prec: number): [string, bigint] => {
    let s = '';
    let print = false;
    for (let i = 0; i < prec; i++) {
      const digit = v % 10n;
      print = print || digit !== 0n;
      if (print) s = digit.toString() + s;
      v /= 10n;
    }
    return [print ? '.' + s : '', v];
  };
  if (u < 1_000_000_000n) {
    if (u === 0n) return '0s';
    let unit: string;
    let prec: number;
    if (u < 1000n) [unit, prec] = ['ns', 0];
    else if (u < 1_000_000n) [unit, prec] = ['µs', 3];
    else [unit, prec] = ['ms', 6];
    const [f, rest] = frac(u, prec);
    out = rest.toString() + f + unit;
  } else {
    const [f, secs] = frac(u, 9);
    u = secs;
    out = (u % 60n).toString() + f + 's';
    u /= 60n;
    if (u > 0n) {
      out = (u % 60n).toString() + 'm' + out;
      u /= 60n;
      if (u > 0n) out = u.toString() + 'h' + out;
    }
  }
  return (neg ? '-' : '') + out;
}

/** roundDuration is Duration.Round(m): halves round away from zero. */
export function roundDuration(d: bigint, m: bigint): bigint {
  if (m <= 0n) return d;
  let r = d % m;
  if (d < 0n) {
    r = -r;
    if (r + r < m) return d + r;
    return d - m + r;
  }
  if (r + r < m) return d - r;
  return d + m - r;
}
