// Sprig string functions (strings.go, goutils, xstrings), byte- and rune-exact where Go is.
import { randomInt } from 'node:crypto';
import { sprintf, quoteGo } from '../fmt.js';
import { GoError, goFunc } from '../funcs.js';
import {
  byteLen,
  byteSlice,
  fromRunes,
  goTitle,
  goToLower,
  goToUpper,
  isGoSpace,
  isLetter,
  isLower,
  isNumberRune,
  isPunct,
  isTitle,
  isUpper,
  replaceAll,
  runes,
  splitN,
  toLowerRune,
  toUpperRune,
  trimCutset,
  trimSpace,
} from '../gostrings.js';
import { checkAlloc } from '../limits.js';
import { GoFunc } from '../values.js';
import { strslice, strval } from './cast.js';

const S = 'string' as const;
const I = 'int' as const;
const ANY = 'interface {}' as const;

/** repeat is strings.Repeat, with its panic for negative counts and a size check. */
export function repeat(s: string, count: number): string {
  if (count < 0) throw new GoError('strings: negative Repeat count');
  checkAlloc(byteLen(s) * count, 'repeat');
  return s.repeat(count);
}

function abbreviateFull(str: string, offset: number, maxWidth: number): string {
  const n = byteLen(str);
  if (str === '') return '';
  if (maxWidth < 4) return '';
  if (n <= maxWidth) return str;
  if (offset > n) offset = n;
  if (n - offset < maxWidth - 3) offset = n - (maxWidth - 3);
  if (offset <= 4) return byteSlice(str, 0, maxWidth - 3) + '...';
  if (maxWidth < 7) return '';
  if (offset + maxWidth - 3 < n) return '...' + abbreviateFull(byteSlice(str, offset), 0, maxWidth - 3);
  return '...' + byteSlice(str, n - (maxWidth - 3));
}

// goutils works on bytes but writes each byte as a rune (Latin-1); reproduce that.
function latin1Runes(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}

function deleteWhiteSpace(s: string): string {
  const bytes = latin1Runes(s);
  const kept = bytes.filter((b) => !isGoSpace(b));
  return kept.length === bytes.length ? s : fromRunes(kept);
}

function initials(s: string): string {
  if (s === '') return s;
  const out: number[] = [];
  let gap = true;
  for (const b of latin1Runes(s)) {
    if (isGoSpace(b)) gap = true;
    else if (gap) {
      out.push(b);
      gap = false;
    }
  }
  return fromRunes(out);
}

function uncapitalize(s: string): string {
  let next = true;
  return fromRunes(
    runes(s).map((r) => {
      if (isGoSpace(r)) {
        next = true;
        return r;
      }
      if (next) {
        next = false;
        return toLowerRune(r);
      }
      return r;
    }),
  );
}

function swapCase(s: string): string {
  let ws = true;
  return fromRunes(
    runes(s).map((r) => {
      if (isUpper(r) || isTitle(r)) {
        ws = false;
        return toLowerRune(r);
      }
      if (isLower(r)) {
        if (ws) {
          ws = false;
          return toUpperRune(r);
        }
        return toUpperRune(r);
      }
      ws = isGoSpace(r);
      return r;
    }),
  );
}

/** wrapCustom is goutils.WrapCustom (byte offsets, as Go's). */
function wrapCustom(str: string, wrapLength: number, newLine: string, wrapLong: boolean): string {
  if (str === '') return '';
  if (newLine === '') newLine = '\n';
  if (wrapLength < 1) wrapLength = 1;
  const b = Buffer.from(str, 'utf8');
  const len = b.length;
  let offset = 0;
  const out: Buffer[] = [];
  const nl = Buffer.from(newLine, 'utf8');
  while (len - offset > wrapLength) {
    if (b[offset] === 0x20) {
      offset++;
      continue;
    }
    const end = Math.min(wrapLength + offset + 1, len);
    const spaceAt = b.subarray(offset, end).lastIndexOf(0x20) + offset;
    if (spaceAt >= offset) {
      out.push(b.subarray(offset, spaceAt), nl);
      offset = spaceAt + 1;
    } else if (wrapLong) {
      out.push(b.subarray(offset, wrapLength + offset), nl);
      offset += wrapLength;
    } else {
      const e = wrapLength + offset;
      const idx = b.subarray(e).indexOf(0x20);
      if (idx === -1) {
        out.push(b.subarray(offset));
        offset = len;
      } else {
        out.push(b.subarray(offset, idx + e), nl);
        offset = idx + e + 1;
      }
    }
  }
  out.push(b.subarray(offset));
  return Buffer.concat(out).toString('utf8');
}

const isConnector = (r: number) => r === 0x2d || r === 0x5f || isGoSpace(r);

/** camelCase is xstrings.ToCamelCase as of v1.4 (Sprig 3.3): connectors removed, case otherwise kept. */
function camelCase(s: string): string {
  const rs = runes(s);
  if (rs.length === 0) return '';
  const out: number[] = [];
  let i = 0;
  let r0 = 0;
  while (i < rs.length) {
    r0 = rs[i++]!;
    if (!isConnector(r0)) {
      r0 = toUpperRune(r0);
      break;
    }
    out.push(r0);
  }
  if (i >= rs.length) {
    out.push(r0);
    return fromRunes(out);
  }
  for (; i < rs.length; i++) {
    const r1 = r0;
    r0 = rs[i]!;
    if (isConnector(r0) && isConnector(r1)) {
      out.push(r1);
      continue;
    }
    if (isConnector(r1)) r0 = toUpperRune(r0);
    else out.push(r1);
  }
  out.push(r0);
  return fromRunes(out);
}

type WordType = 'invalid' | 'number' | 'upper' | 'alpha' | 'connector' | 'punct' | 'other';

function isAlphabet(r: number): boolean {
  if (!isLetter(r)) return false;
  if (r < 0x3400) return true;
  if ((r >= 0x4e00 && r <= 0x9fcc) || (r >= 0x3400 && r <= 0x4d85) || (r >= 0x20000 && r <= 0x2b81d)) return false;
  return true;
}

// nextWord splits off the next word as xstrings does: runs of connectors, punctuation, upper-case
// abbreviations, words, numbers or other characters.
function nextWord(rs: number[], at: number): { wt: WordType; end: number } {
  if (at >= rs.length) return { wt: 'invalid', end: at };
  const r = rs[at]!;
  let i = at + 1;
  const run = (pred: (x: number) => boolean) => {
    while (i < rs.length && pred(rs[i]!)) i++;
  };
  if (isConnector(r)) {
    run(isConnector);
    return { wt: 'connector', end: i };
  }
  if (isPunct(r)) {
    run(isPunct);
    return { wt: 'punct', end: i };
  }
  if (isUpper(r)) {
    if (i >= rs.length) return { wt: 'upper', end: i };
    const n = rs[i]!;
    if (isUpper(n)) {
      i++;
      run(isUpper);
      if (i < rs.length && isAlphabet(rs[i]!)) i--;
    } else if (isAlphabet(n)) {
      i++;
      run((x) => isAlphabet(x) && !isUpper(x));
    }
    return { wt: 'upper', end: i };
  }
  if (isAlphabet(r)) {
    run((x) => isAlphabet(x) && !isUpper(x));
    return { wt: 'alpha', end: i };
  }
  if (isNumberRune(r)) {
    run(isNumberRune);
    return { wt: 'number', end: i };
  }
  run((x) => !(isConnector(x) || isAlphabet(x) || isNumberRune(x) || isPunct(x)));
  return { wt: 'other', end: i };
}

/** lowerWords is xstrings' camelCaseToLowerCase (snakecase, kebabcase). */
function lowerWords(s: string, connector: string): string {
  const rs = runes(s);
  if (rs.length === 0) return '';
  const conn = connector.codePointAt(0)!;
  const out: number[] = [];
  const toLower = (wt: WordType, a: number, b: number) => {
    for (let k = a; k < b; k++) {
      const r = rs[k]!;
      if (wt !== 'upper' && wt !== 'connector') out.push(r);
      else if (isConnector(r)) out.push(conn);
      else out.push(isUpper(r) ? toLowerRune(r) : r);
    }
  };
  let pos = 0;
  let w = nextWord(rs, pos);
  let word: [number, number] = [pos, w.end];
  pos = w.end;
  let wt: WordType = w.wt;
  const advance = (): WordType => {
    w = nextWord(rs, pos);
    word = [pos, w.end];
    pos = w.end;
    return pos > word[0] ? w.wt : 'invalid';
  };
  while (pos < rs.length) {
    if (wt !== 'connector') toLower(wt, word[0], word[1]);
    const prev = wt;
    const last = word;
    wt = advance();
    if (prev === 'number') {
      while (wt === 'alpha' || wt === 'number') {
        toLower(wt, word[0], word[1]);
        wt = advance();
      }
      if (wt !== 'invalid' && wt !== 'punct' && wt !== 'connector') out.push(conn);
    } else if (prev === 'connector') {
      toLower(prev, last[0], last[1]);
    } else if (prev === 'punct') {
      // nothing
    } else if (wt !== 'number') {
      if (wt !== 'connector' && wt !== 'punct') out.push(conn);
    } else if (pos < rs.length) {
      const numWord = word;
      wt = advance();
      if (wt !== 'alpha') {
        toLower('number', numWord[0], numWord[1]);
        if (wt !== 'connector' && wt !== 'punct') out.push(conn);
      } else {
        out.push(conn);
        toLower('number', numWord[0], numWord[1]);
        while (wt === 'alpha' || wt === 'number') {
          toLower(wt, word[0], word[1]);
          wt = advance();
        }
        if (wt !== 'invalid' && wt !== 'connector' && wt !== 'punct') out.push(conn);
      }
    }
  }
  toLower(wt, word[0], word[1]);
  return fromRunes(out);
}

function shuffle(s: string): string {
  const rs = runes(s);
  for (let i = rs.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [rs[i], rs[j]] = [rs[j]!, rs[i]!];
  }
  return fromRunes(rs);
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(count: number, alphabet: string): string {
  if (count <= 0) return '';
  checkAlloc(count, 'random string');
  let s = '';
  for (let i = 0; i < count; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

function sliceBounds(msg: string): GoError {
  return new GoError(`runtime error: slice bounds out of range ${msg}`);
}

/** substring is Sprig's substr over bytes, with Go's slice-bounds panics. */
function substring(start: number, end: number, s: string): string {
  const n = byteLen(s);
  if (start < 0) {
    if (end < 0) throw sliceBounds(`[:${end}]`);
    if (end > n) throw sliceBounds(`[:${end}] with length ${n}`);
    return byteSlice(s, 0, end);
  }
  if (end < 0 || end > n) {
    if (start > n) throw sliceBounds(`[${start}:${n}]`);
    return byteSlice(s, start);
  }
  if (start > end) throw sliceBounds(`[${start}:${end}]`);
  return byteSlice(s, start, end);
}

function trunc(c: number, s: string): string {
  const n = byteLen(s);
  if (c < 0 && n + c > 0) return byteSlice(s, n + c);
  if (c >= 0 && n > c) return byteSlice(s, 0, c);
  return s;
}

function indent(spaces: number, v: string): string {
  const pad = repeat(' ', spaces);
  checkAlloc(byteLen(v) + spaces * (v.split('\n').length + 1), 'indent');
  return pad + v.replace(/\n/g, '\n' + pad);
}

/** STRING_FUNCS are Sprig's string functions. */
export const STRING_FUNCS: Record<string, GoFunc> = {
  hello: goFunc({ in: [], out: S }, () => 'Hello!'),
  abbrev: goFunc({ in: [I, S], out: S }, (w: number, s: string) => (w < 4 ? s : abbreviateFull(s, 0, w))),
  abbrevboth: goFunc({ in: [I, I, S], out: S }, (l: number, r: number, s: string) =>
    r < 4 || (l > 0 && r < 7) ? s : abbreviateFull(s, l, r),
  ),
  trunc: goFunc({ in: [I, S], out: S }, trunc),
  trim: goFunc({ in: [S], out: S }, trimSpace),
  upper: goFunc({ in: [S], out: S }, goToUpper),
  lower: goFunc({ in: [S], out: S }, goToLower),
  title: goFunc({ in: [S], out: S }, goTitle),
  untitle: goFunc({ in: [S], out: S }, uncapitalize),
  substr: goFunc({ in: [I, I, S], out: S }, substring),
  repeat: goFunc({ in: [I, S], out: S }, (n: number, s: string) => repeat(s, n)),
  trimall: goFunc({ in: [S, S], out: S }, (a: string, b: string) => trimCutset(b, a)),
  trimAll: goFunc({ in: [S, S], out: S }, (a: string, b: string) => trimCutset(b, a)),
  trimSuffix: goFunc({ in: [S, S], out: S }, (a: string, b: string) => (a !== '' && b.endsWith(a) ? b.slice(0, b.length - a.length) : b)),
  trimPrefix: goFunc({ in: [S, S], out: S }, (a: string, b: string) => (b.startsWith(a) ? b.slice(a.length) : b)),
  nospace: goFunc({ in: [S], out: S }, deleteWhiteSpace),
  initials: goFunc({ in: [S], out: S }, initials),
  randAlphaNum: goFunc({ in: [I], out: S }, (n: number) => randomString(n, ALNUM)),
  randAlpha: goFunc({ in: [I], out: S }, (n: number) => randomString(n, ALNUM.slice(0, 52))),
  randAscii: goFunc({ in: [I], out: S }, (n: number) => randomString(n, ASCII)),
  randNumeric: goFunc({ in: [I], out: S }, (n: number) => randomString(n, '0123456789')),
  swapcase: goFunc({ in: [S], out: S }, swapCase),
  shuffle: goFunc({ in: [S], out: S }, shuffle),
  snakecase: goFunc({ in: [S], out: S }, (s: string) => lowerWords(s, '_')),
  camelcase: goFunc({ in: [S], out: S }, camelCase),
  kebabcase: goFunc({ in: [S], out: S }, (s: string) => lowerWords(s, '-')),
  wrap: goFunc({ in: [I, S], out: S }, (l: number, s: string) => wrapCustom(s, l, '', false)),
  wrapWith: goFunc({ in: [I, S, S], out: S }, (l: number, sep: string, s: string) => wrapCustom(s, l, sep, true)),
  contains: goFunc({ in: [S, S], out: 'bool' }, (sub: string, s: string) => s.includes(sub)),
  hasPrefix: goFunc({ in: [S, S], out: 'bool' }, (p: string, s: string) => s.startsWith(p)),
  hasSuffix: goFunc({ in: [S, S], out: 'bool' }, (p: string, s: string) => s.endsWith(p)),
  quote: goFunc({ in: [ANY], variadic: true, out: S }, (...v: unknown[]) =>
    v.filter((e) => e !== null).map((e) => quoteGo(strval(e))).join(' '),
  ),
  squote: goFunc({ in: [ANY], variadic: true, out: S }, (...v: unknown[]) =>
    v.filter((e) => e !== null).map((e) => sprintf("'%v'", [e])).join(' '),
  ),
  cat: goFunc({ in: [ANY], variadic: true, out: S }, (...v: unknown[]) => {
    const kept = v.filter((e) => e !== null);
    return sprintf(trimSpace('%v '.repeat(kept.length)), kept);
  }),
  indent: goFunc({ in: [I, S], out: S }, indent),
  nindent: goFunc({ in: [I, S], out: S }, (n: number, v: string) => '\n' + indent(n, v)),
  replace: goFunc({ in: [S, S, S], out: S }, (o: string, n: string, s: string) => {
    if (o === '') checkAlloc(byteLen(s) + byteLen(n) * (s.length + 1), 'replace');
    return replaceAll(s, o, n);
  }),
  plural: goFunc({ in: [S, S, I], out: S }, (one: string, many: string, n: number) => (n === 1 ? one : many)),
  toString: goFunc({ in: [ANY], out: S }, strval),
  split: goFunc({ in: [S, S], out: 'map[string]string' }, (sep: string, s: string) => splitMap(splitN(s, sep, -1))),
  splitList: goFunc({ in: [S, S], out: '[]string' }, (sep: string, s: string) => splitN(s, sep, -1)),
  splitn: goFunc({ in: [S, I, S], out: 'map[string]string' }, (sep: string, n: number, s: string) => splitMap(splitN(s, sep, n))),
  toStrings: goFunc({ in: [ANY], out: '[]string' }, strslice),
  join: goFunc({ in: [S, ANY], out: S }, (sep: string, v: unknown) => strslice(v).join(sep)),
};

function splitMap(parts: string[]): Record<string, string> {
  const m: Record<string, string> = {};
  parts.forEach((p, i) => (m[`_${i}`] = p));
  return m;
}
