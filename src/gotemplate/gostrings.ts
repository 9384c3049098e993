// Go's strings and unicode behaviour where it differs from JavaScript's: per-rune case mapping,
// unicode.IsSpace, strings.Title/Fields/Split/Trim and byte-offset slicing.

/** isGoSpace is unicode.IsSpace. */
export function isGoSpace(r: number): boolean {
  if (r <= 0xff) return r === 0x20 || (r >= 0x09 && r <= 0x0d) || r === 0x85 || r === 0xa0;
  return r === 0x1680 || (r >= 0x2000 && r <= 0x200a) || r === 0x2028 || r === 0x2029 || r === 0x202f || r === 0x205f || r === 0x3000;
}

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const UPPER = /^\p{Lu}$/u;
const LOWER = /^\p{Ll}$/u;
const TITLE = /^\p{Lt}$/u;
const PUNCT = /^\p{P}$/u;
const NUMBER = /^\p{N}$/u;

/** isLetter is unicode.IsLetter. */
export const isLetter = (r: number) => LETTER.test(String.fromCodePoint(r));
/** isDigit is unicode.IsDigit. */
export const isDigit = (r: number) => DIGIT.test(String.fromCodePoint(r));
/** isUpper is unicode.IsUpper. */
export const isUpper = (r: number) => UPPER.test(String.fromCodePoint(r));
/** isLower is unicode.IsLower. */
export const isLower = (r: number) => LOWER.test(String.fromCodePoint(r));
/** isTitle is unicode.IsTitle. */
export const isTitle = (r: number) => TITLE.test(String.fromCodePoint(r));
/** isPunct is unicode.IsPunct. */
export const isPunct = (r: number) => PUNCT.test(String.fromCodePoint(r));
/** isNumber is unicode.IsNumber. */
export const isNumberRune = (r: number) => NUMBER.test(String.fromCodePoint(r));

function mapSimple(r: number, f: (s: string) => string): number {
  const s = String.fromCodePoint(r);
  const m = f(s);
  const cps = [...m];
  return cps.length === 1 ? cps[0]!.codePointAt(0)! : r;
}

/** toUpperRune is unicode.ToUpper (simple, one-rune mappings only). */
export const toUpperRune = (r: number) => (r < 0x80 ? (r >= 0x61 && r <= 0x7a ? r - 32 : r) : mapSimple(r, (s) => s.toUpperCase()));
/** toLowerRune is unicode.ToLower (simple, one-rune mappings only). */
export const toLowerRune = (r: number) => (r < 0x80 ? (r >= 0x41 && r <= 0x5a ? r + 32 : r) : mapSimple(r, (s) => s.toLowerCase()));

/** runes splits a string into code points. */
export function runes(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

/** fromRunes joins code points into a string. */
export function fromRunes(rs: number[]): string {
  let s = '';
  for (const r of rs) s += String.fromCodePoint(r);
  return s;
}

/** toUpper is strings.ToUpper. */
export function goToUpper(s: string): string {
  return fromRunes(runes(s).map(toUpperRune));
}

/** toLower is strings.ToLower. */
export function goToLower(s: string): string {
  return fromRunes(runes(s).map(toLowerRune));
}

/** trimSpace is strings.TrimSpace. */
export function trimSpace(s: string): string {
  const rs = runes(s);
  let a = 0;
  let b = rs.length;
  while (a < b && isGoSpace(rs[a]!)) a++;
  while (b > a && isGoSpace(rs[b - 1]!)) b--;
  return fromRunes(rs.slice(a, b));
}

/** trimCutset is strings.Trim(s, cutset). */
export function trimCutset(s: string, cutset: string, left = true, right = true): string {
  const set = new Set(runes(cutset));
  const rs = runes(s);
  let a = 0;
  let b = rs.length;
  if (left) while (a < b && set.has(rs[a]!)) a++;
  if (right) while (b > a && set.has(rs[b - 1]!)) b--;
  return fromRunes(rs.slice(a, b));
}

function isTitleSeparator(r: number): boolean {
  if (r <= 0x7f) return !((r >= 0x30 && r <= 0x39) || (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a) || r === 0x5f);
  if (isLetter(r) || isDigit(r)) return false;
  return isGoSpace(r);
}

/** title is strings.Title: upper-cases the first letter of each word. */
export function goTitle(s: string): string {
  let prev = 0x20;
  return fromRunes(
    runes(s).map((r) => {
      const out = isTitleSeparator(prev) ? toUpperRune(r) : r;
      prev = r;
      return out;
    }),
  );
}

/** fields is strings.Fields. */
export function fields(s: string): string[] {
  const out: string[] = [];
  let cur: number[] = [];
  for (const r of runes(s)) {
    if (isGoSpace(r)) {
      if (cur.length) out.push(fromRunes(cur));
      cur = [];
    } else cur.push(r);
  }
  if (cur.length) out.push(fromRunes(cur));
  return out;
}

/** splitN is strings.SplitN (n < 0: all parts; n == 0: none). */
export function splitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  if (sep === '') {
    const rs = [...s];
    if (n < 0 || n >= rs.length) return rs;
    return [...rs.slice(0, n - 1), rs.slice(n - 1).join('')];
  }
  const out: string[] = [];
  let i = 0;
  while (n < 0 || out.length < n - 1) {
    const j = s.indexOf(sep, i);
    if (j < 0) break;
    out.push(s.slice(i, j));
    i = j + sep.length;
  }
  out.push(s.slice(i));
  return out;
}

/** replaceAll is strings.Replace(s, old, new, -1), which inserts at every rune boundary when old is empty. */
export function replaceAll(s: string, old: string, rep: string): string {
  if (old === '') return rep + [...s].map((ch) => ch + rep).join('');
  return s.split(old).join(rep);
}

/** byteLen is len(s) in Go (UTF-8 bytes). */
export function byteLen(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** byteSlice is s[a:b] in Go; a cut inside a multi-byte character yields U+FFFD. */
export function byteSlice(s: string, a: number, b?: number): string {
  return Buffer.from(s, 'utf8').subarray(a, b).toString('utf8');
}
