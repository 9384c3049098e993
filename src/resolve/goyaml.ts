// sigs.k8s.io/yaml.Marshal for JSON values, byte for byte: the text Sveltos puts in
// ConfigurationBundle `spec.resources` (libsveltos `pullmode.prepareConfigurationBundle`).
//
// sigs.k8s.io/yaml marshals to JSON, decodes that JSON with go-yaml v2 into interface{} values and
// encodes them with go-yaml v2's emitter (libyaml's algorithm): keys sorted with go-yaml's natural
// order, two-space indentation, sequences in mappings not indented, long plain and quoted scalars
// folded at column 80, strings with a newline as literal blocks, strings that would read back as
// another type double-quoted. This module follows those rules for the values JSON can hold.

import { InternalError } from '../errors.js';
import { toValidUnicode } from './gojson.js';

/** SigsYAMLOptions tunes the encoder; the defaults are sigs.k8s.io/yaml's. */
export interface SigsYAMLOptions {
  /** Column after which long scalars are folded. Default 80 (go-yaml v2); -1 disables folding. */
  width?: number;
}

/** sigsYAMLMarshal encodes a JSON value as sigs.k8s.io/yaml.Marshal does (ends with a newline). */
export function sigsYAMLMarshal(v: unknown, opts: SigsYAMLOptions = {}): string {
  assertReadable(v, 0);
  const e = new Emitter(opts.width ?? 80);
  e.document(toYAMLValue(v, 0));
  return e.output();
}

/** YAMLMarshalError is a value sigs.k8s.io/yaml.Marshal refuses; Sveltos fails the deployment on it. */
export class YAMLMarshalError extends Error {
  override name = 'YAMLMarshalError';
}

// go-yaml v2 reads back the JSON it is given and refuses characters outside YAML's printable set
// that encoding/json leaves unescaped: U+007F..U+009F except U+0085, U+FFFE, U+FFFF.
const UNREADABLE = /[\u007f-\u0084\u0086-\u009f\ufffe\uffff]/;

function assertReadable(v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new InternalError('INTERNAL', `yaml: value nested deeper than ${MAX_DEPTH}`);
  if (typeof v === 'string') {
    if (UNREADABLE.test(v)) throw new YAMLMarshalError('yaml: control characters are not allowed');
  } else if (Array.isArray(v)) {
    for (const x of v) assertReadable(x, depth + 1);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      assertReadable(k, depth + 1);
      assertReadable(x, depth + 1);
    }
  }
}

// YNode is a value as go-yaml v2 holds it after decoding the JSON: scalars keep the text and the
// style the encoder asks for.
type YNode =
  | { t: 'scalar'; value: number[]; style: Style }
  | { t: 'seq'; items: YNode[] }
  | { t: 'map'; entries: [YNode, YNode][] };

type Style = 'plain' | 'single' | 'double' | 'literal';

const MAX_DEPTH = 10_000;

function toYAMLValue(v: unknown, depth: number): YNode {
  if (depth > MAX_DEPTH) throw new InternalError('INTERNAL', `yaml: value nested deeper than ${MAX_DEPTH}`);
  if (v === null || v === undefined) return scalar('null', 'plain');
  switch (typeof v) {
    case 'boolean':
      return scalar(v ? 'true' : 'false', 'plain');
    case 'number':
      return scalar(yamlNumber(v), 'plain');
    case 'bigint':
      return scalar(v.toString(), 'plain');
    case 'string':
      return stringNode(readBack(v));
    case 'object':
      break;
    default:
      throw new InternalError('INTERNAL', `yaml: unsupported type ${typeof v}`);
  }
  if (Array.isArray(v)) return { t: 'seq', items: v.map((x) => toYAMLValue(x, depth + 1)) };
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .map((k) => ({ k, key: readBack(k) }));
  keys.sort((a, b) => (naturalLess(a.key, b.key) ? -1 : naturalLess(b.key, a.key) ? 1 : 0));
  return { t: 'map', entries: keys.map(({ k, key }) => [stringNode(key), toYAMLValue(obj[k], depth + 1)]) };
}

// readBack is what go-yaml makes of a JSON string: Go's JSON leaves U+0085 (NEL) raw, and YAML
// folds a raw line break inside a double-quoted scalar: blanks around it go, one break becomes a
// space, n breaks become n-1 newlines.
function readBack(s: string): string {
  const v = toValidUnicode(s);
  if (!v.includes('\u0085')) return v;
  return v.replace(/ *\u0085[ \u0085]*/g, (run) => {
    const breaks = run.split('\u0085').length - 1;
    return breaks === 1 ? ' ' : '\n'.repeat(breaks - 1);
  });
}

function scalar(s: string, style: Style): YNode {
  return { t: 'scalar', value: codePoints(s), style };
}

// stringNode picks the style go-yaml's encoder asks for: literal when the text has a newline,
// plain when the text reads back as a string, else double-quoted.
function stringNode(s: string): YNode {
  if (s.includes('\n')) return scalar(s, 'literal');
  const canUsePlain = resolvesToString(s) && !BASE60_FLOAT.test(s);
  return scalar(s, canUsePlain ? 'plain' : 'double');
}

/**
 * yamlNumber renders a float64 as it appears after the JSON round trip: JSON integer text that
 * fits int64 or uint64 stays an integer, anything else is a float in strconv 'g' shortest form.
 */
export function yamlNumber(n: number): string {
  if (!Number.isFinite(n)) throw new InternalError('INTERNAL', `json: unsupported value: ${n}`);
  if (Number.isInteger(n) && Math.abs(n) < 1e21) {
    // The JSON text is String(n); go-yaml reads it as an int when ParseInt or ParseUint accepts it.
    const b = BigInt(String(n));
    if (b >= -9223372036854775808n && b <= 18446744073709551615n) return String(b);
  }
  return goFormatFloatG(n);
}

/** goFormatFloatG is strconv.FormatFloat(n, 'g', -1, 64). */
export function goFormatFloatG(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const neg = n < 0;
  const [mant, expText] = Math.abs(n).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const exp = Number(expText);
  let out: string;
  if (exp < -4 || exp >= 6 /* shortest: eprec = 6 */) {
    const e = Math.abs(exp);
    out = `${digits[0]}${digits.length > 1 ? '.' + digits.slice(1) : ''}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else {
    const intLen = exp + 1;
    out = digits.length <= intLen ? digits + '0'.repeat(intLen - digits.length) : `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  return neg ? '-' + out : out;
}

// go-yaml v2 resolve(): does a plain scalar with this text decode as a string? (Its table also
// has "<<", but only texts starting with a sign, a digit, '.', '~' or one of yYnNtTfFoO are looked
// up, so "<<" stays a plain string.)
const RESOLVE_MAP = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL',
  '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
]);
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const GO_FLOAT_DOT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;

function resolvesToString(s: string): boolean {
  if (RESOLVE_MAP.has(s)) return false;
  const c = s[0];
  if (c === '.') return !GO_FLOAT_DOT.test(s);
  if (c === '+' || c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
    if (isGoTimestamp(s)) return false;
    const plain = s.replace(/_/g, '');
    if (isGoInt(plain)) return false;
    if (YAML_STYLE_FLOAT.test(plain)) return false;
    return true;
  }
  return true;
}

// isGoInt: strconv.ParseInt(s, 0, 64) or ParseUint(s, 0, 64) succeeds (after '_' were removed).
function isGoInt(s: string): boolean {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return false;
  const body = m[2]!;
  let v: bigint;
  if (/^0[xXoObB]/.test(body)) v = BigInt(body.toLowerCase());
  else if (body.length > 1 && body[0] === '0') v = BigInt('0o' + body.slice(1));
  else v = BigInt(body);
  if (m[1] === '-') return v <= 9223372036854775808n;
  return v <= 18446744073709551615n;
}

// isGoTimestamp mirrors go-yaml v2 parseTimestamp: four digits and '-', then one of the layouts
// "2006-1-2T15:4:5.999999999Z07:00" (T or t), "2006-1-2 15:4:5.999999999", "2006-1-2".
function isGoTimestamp(s: string): boolean {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:([Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(Z|[-+]\d{2}:\d{2})?)?$/.exec(s);
  if (!m) return false;
  const [, y, mo, d, sep, h, mi, sec, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (sep === undefined) return true;
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return false;
  if (sep === ' ') return zone === undefined;
  if (zone === undefined) return false;
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return false;
  return true;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** naturalLess is go-yaml v2's key order: runs of digits compare as numbers, non-letters before letters. */
export function naturalLess(a: string, b: string): boolean {
  const ar = codePoints(a);
  const br = codePoints(b);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]! < br[i]!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === 0x30 || br[i] === 0x30) {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== 0x30) {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10n + BigInt(ar[ai]! - 0x30);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10n + BigInt(br[bi]! - 0x30);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]! < br[i]!;
  }
  return ar.length < br.length;
}

// Go's int64 arithmetic wraps on very long digit runs; BigInt does not. Keys with 19+ digit runs
// that differ only beyond int64 range are the only place this could matter.

const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;
function isLetter(cp: number): boolean {
  return cp < 0x80 ? (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) : LETTER.test(String.fromCodePoint(cp));
}
function isDigit(cp: number): boolean {
  return cp < 0x80 ? cp >= 0x30 && cp <= 0x39 : DIGIT.test(String.fromCodePoint(cp));
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

// Character classes of libyaml, on code points.
const isBreak = (c: number | undefined): boolean => c === 0x0d || c === 0x0a || c === 0x85 || c === 0x2028 || c === 0x2029;
const isSpace = (c: number | undefined): boolean => c === 0x20;
const isBlank = (c: number | undefined): boolean => c === 0x20 || c === 0x09;
const isBlankz = (c: number | undefined): boolean => c === undefined || c === 0 || isBlank(c) || isBreak(c);
// Astral characters are not "printable" for go-yaml v2 (its check stops at three-byte UTF-8).
const isPrintable = (c: number): boolean =>
  c === 0x0a || (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);

interface Analysis {
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

function analyze(value: number[]): Analysis {
  if (value.length === 0) return { multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, block: false };
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  const v0 = value[0];
  if (value.length >= 3 && ((v0 === 0x2d && value[1] === 0x2d && value[2] === 0x2d) || (v0 === 0x2e && value[1] === 0x2e && value[2] === 0x2e))) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    const followedByWhitespace = i + 1 >= value.length || isBlank(value[i + 1]);
    const ch = String.fromCodePoint(c);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) {
        flowIndicators = true;
        blockIndicators = true;
      } else if (ch === '?' || ch === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      } else if (ch === '-' && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else if (',?[]{}'.includes(ch)) {
      flowIndicators = true;
    } else if (ch === ':') {
      flowIndicators = true;
      if (followedByWhitespace) blockIndicators = true;
    } else if (ch === '#' && precededByWhitespace) {
      flowIndicators = true;
      blockIndicators = true;
    }
    if (!isPrintable(c)) special = true;
    if (isSpace(c)) {
      if (i === 0) leadingSpace = true;
      if (i === value.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === value.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankz(c);
  }
  const a: Analysis = { multiline: lineBreaks, flowPlain: true, blockPlain: true, singleQuoted: true, block: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.flowPlain = a.blockPlain = false;
  if (trailingSpace) a.block = false;
  if (breakSpace) a.flowPlain = a.blockPlain = a.singleQuoted = false;
  if (spaceBreak || special) a.flowPlain = a.blockPlain = a.singleQuoted = a.block = false;
  if (lineBreaks) a.flowPlain = a.blockPlain = false;
  if (flowIndicators) a.flowPlain = false;
  if (blockIndicators) a.blockPlain = false;
  return a;
}

// Emitter keeps libyaml's writer state: column, indent stack, and the whitespace/indention flags
// that decide where spaces and line breaks go.
class Emitter {
  #out: string[] = [];
  #column = 0;
  #indent = -1;
  #indents: number[] = [];
  #whitespace = true;
  #indention = true;
  #flowLevel = 0;
  #mappingContext = false;
  #simpleKeyContext = false;
  readonly #bestIndent = 2;
  readonly #bestWidth: number;

  constructor(width: number) {
    this.#bestWidth = width < 0 ? 2 ** 31 - 1 : width <= 4 ? 80 : width;
  }

  output(): string {
    return this.#out.join('');
  }

  document(root: YNode): void {
    this.#node(root, false, false);
    // Document end (implicit): finish the last line.
    this.#writeIndent();
  }

  #put(s: string): void {
    this.#out.push(s);
    this.#column += 1;
  }
  #putBreak(): void {
    this.#out.push('\n');
    this.#column = 0;
  }
  #write(c: number): void {
    this.#out.push(String.fromCodePoint(c));
    this.#column += 1;
  }
  #writeBreak(c: number): void {
    if (c === 0x0a) this.#putBreak();
    else {
      this.#write(c);
      this.#column = 0;
    }
  }
  #writeIndent(): void {
    const indent = Math.max(this.#indent, 0);
    if (!this.#indention || this.#column > indent || (this.#column === indent && !this.#whitespace)) this.#putBreak();
    while (this.#column < indent) this.#put(' ');
    this.#whitespace = true;
    this.#indention = true;
  }
  #writeIndicator(ind: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.#whitespace) this.#put(' ');
    for (const ch of ind) this.#write(ch.codePointAt(0)!);
    this.#whitespace = isWhitespace;
    this.#indention = this.#indention && isIndention;
  }
  #increaseIndent(flow: boolean, indentless: boolean): void {
    this.#indents.push(this.#indent);
    if (this.#indent < 0) this.#indent = flow ? this.#bestIndent : 0;
    else if (!indentless) this.#indent += this.#bestIndent;
  }
  #popIndent(): void {
    this.#indent = this.#indents.pop()!;
  }

  #node(n: YNode, mapping: boolean, simpleKey: boolean): void {
    this.#mappingContext = mapping;
    this.#simpleKeyContext = simpleKey;
    if (n.t === 'scalar') return this.#scalar(n.value, n.style, analyze(n.value));
    if (n.t === 'seq') {
      if (n.items.length === 0 || this.#flowLevel > 0) return this.#emptyFlow('[', ']');
      return this.#blockSequence(n.items);
    }
    if (n.entries.length === 0 || this.#flowLevel > 0) return this.#emptyFlow('{', '}');
    return this.#blockMapping(n.entries);
  }

  // Only empty collections are written in flow style.
  #emptyFlow(open: string, close: string): void {
    this.#writeIndicator(open, true, true, false);
    this.#increaseIndent(true, false);
    this.#flowLevel++;
    this.#flowLevel--;
    this.#popIndent();
    this.#writeIndicator(close, false, false, false);
  }

  #blockSequence(items: YNode[]): void {
    this.#increaseIndent(false, this.#mappingContext && !this.#indention);
    for (const item of items) {
      this.#writeIndent();
      this.#writeIndicator('-', true, false, true);
      this.#node(item, false, false);
    }
    this.#popIndent();
  }

  #blockMapping(entries: [YNode, YNode][]): void {
    this.#increaseIndent(false, false);
    for (const [k, v] of entries) {
      this.#writeIndent();
      if (this.#isSimpleKey(k)) {
        this.#node(k, true, true);
        this.#writeIndicator(':', false, false, false);
      } else {
        this.#writeIndicator('?', true, false, true);
        this.#node(k, true, false);
        this.#writeIndent();
        this.#writeIndicator(':', true, false, true);
      }
      this.#node(v, true, false);
    }
    this.#popIndent();
  }

  #isSimpleKey(k: YNode): boolean {
    if (k.t === 'scalar') {
      if (analyze(k.value).multiline) return false;
      return utf8Length(k.value) <= 128;
    }
    return k.t === 'seq' ? k.items.length === 0 : k.entries.length === 0;
  }

  #scalar(value: number[], requested: Style, a: Analysis): void {
    let style = requested;
    if (this.#simpleKeyContext && a.multiline) style = 'double';
    if (style === 'plain') {
      if ((this.#flowLevel > 0 && !a.flowPlain) || (this.#flowLevel === 0 && !a.blockPlain)) style = 'single';
      if (value.length === 0 && (this.#flowLevel > 0 || this.#simpleKeyContext)) style = 'single';
    }
    if (style === 'single' && !a.singleQuoted) style = 'double';
    if (style === 'literal' && (!a.block || this.#flowLevel > 0 || this.#simpleKeyContext)) style = 'double';
    this.#increaseIndent(true, false);
    const allowBreaks = !this.#simpleKeyContext;
    if (style === 'plain' || style === 'single') this.#writePlainOrSingle(value, allowBreaks, style === 'single');
    else if (style === 'double') this.#writeDouble(value, allowBreaks);
    else this.#writeLiteral(value);
    this.#popIndent();
  }

  // writePlainOrSingle writes a plain scalar, or a single-quoted one (quotes doubled); both fold
  // long lines at a single space past the width and keep line breaks as (doubled) breaks.
  #writePlainOrSingle(value: number[], allowBreaks: boolean, quoted: boolean): void {
    if (quoted) this.#writeIndicator("'", true, false, false);
    else if (!this.#whitespace) this.#put(' ');
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < value.length; i++) {
      const c = value[i]!;
      if (isSpace(c)) {
        const inside = !quoted || (i > 0 && i < value.length - 1);
        if (allowBreaks && !spaces && this.#column > this.#bestWidth && inside && !isSpace(value[i + 1])) this.#writeIndent();
        else this.#write(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === 0x0a) this.#putBreak();
        this.#writeBreak(c);
        this.#indention = true;
        breaks = true;
      } else {
        if (breaks) this.#writeIndent();
        if (quoted && c === 0x27) this.#put("'");
        this.#write(c);
        this.#indention = false;
        spaces = false;
        breaks = false;
      }
    }
    if (quoted) this.#writeIndicator("'", false, false, false);
    this.#whitespace = false;
    this.#indention = false;
  }

  #writeDouble(value: number[], allowBreaks: boolean): void {
    let spaces = false;
    this.#writeIndicator('"', true, false, false);
    // libyaml's BOM check looks at the start of the value, so a leading U+FEFF escapes every character.
    const bom = value[0] === 0xfeff;
    for (let i = 0; i < value.length; i++) {
      const c = value[i]!;
      if (!isPrintable(c) || bom || isBreak(c) || c === 0x22 || c === 0x5c) {
        this.#put('\\');
        const simple = DOUBLE_ESCAPES.get(c);
        if (simple !== undefined) this.#put(simple);
        else {
          const [p, w] = c <= 0xff ? ['x', 2] : c <= 0xffff ? ['u', 4] : ['U', 8];
          this.#put(p);
          for (const d of c.toString(16).toUpperCase().padStart(w, '0')) this.#put(d);
        }
        spaces = false;
      } else if (isSpace(c)) {
        if (allowBreaks && !spaces && this.#column > this.#bestWidth && i > 0 && i < value.length - 1) {
          this.#writeIndent();
          if (isSpace(value[i + 1])) this.#put('\\');
        } else this.#write(c);
        spaces = true;
      } else {
        this.#write(c);
        spaces = false;
      }
    }
    this.#writeIndicator('"', false, false, false);
    this.#whitespace = false;
    this.#indention = false;
  }

  #writeLiteral(value: number[]): void {
    this.#writeIndicator('|', true, false, false);
    // Block scalar hints: an indentation digit when the text starts with a space or a break,
    // then the chomping indicator ('-' no final break, none for one, '+' for more).
    if (isSpace(value[0]) || isBreak(value[0])) this.#writeIndicator(String(this.#bestIndent), false, false, false);
    let chomp = '';
    if (value.length === 0) chomp = '-';
    else {
      const last = value.length - 1;
      if (!isBreak(value[last])) chomp = '-';
      else if (last === 0 || isBreak(value[last - 1])) chomp = '+';
    }
    if (chomp) this.#writeIndicator(chomp, false, false, false);
    this.#putBreak();
    this.#indention = true;
    this.#whitespace = true;
    let breaks = true;
    for (const c of value) {
      if (isBreak(c)) {
        this.#writeBreak(c);
        this.#indention = true;
        breaks = true;
      } else {
        if (breaks) this.#writeIndent();
        this.#write(c);
        this.#indention = false;
        breaks = false;
      }
    }
  }
}

const DOUBLE_ESCAPES = new Map<number, string>([
  [0x00, '0'], [0x07, 'a'], [0x08, 'b'], [0x09, 't'], [0x0a, 'n'], [0x0b, 'v'], [0x0c, 'f'], [0x0d, 'r'],
  [0x1b, 'e'], [0x22, '"'], [0x5c, '\\'], [0x85, 'N'], [0xa0, '_'], [0x2028, 'L'], [0x2029, 'P'],
]);

function utf8Length(cps: number[]): number {
  let n = 0;
  for (const c of cps) n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  return n;
}
