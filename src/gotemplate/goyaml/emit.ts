// YAML output byte-for-byte like sigs.k8s.io/yaml.Marshal: the value goes through encoding/json,
// is read back as YAML (ints stay ints), and gopkg.in/yaml.v2 (2.4) writes it: keys in its natural
// order, 2-space indentation, sequences not indented under keys, style rules and 80-column folding.
// Reference: gopkg.in/yaml.v2 encode.go, emitterc.go, sorter.go.
import { formatFloat } from '../fmt.js';
import { GoError } from '../funcs.js';
import { JsonNode, jsonTree } from '../gojson.js';
import { isDigit as isUnicodeDigit, isLetter } from '../gostrings.js';
import { resolvePlain } from './resolve.js';

/** Node is a YAML node as yaml.v2 marshals it. */
type Node =
  | ScalarNode
  | { kind: 'seq'; items: Node[] }
  | { kind: 'map'; entries: [Node, Node][] };

/** ScalarNode is a scalar; its analysis is computed once, when first needed. */
interface ScalarNode {
  kind: 'scalar';
  value: string;
  style: 'plain' | 'double' | 'literal';
  analysis?: Analysis;
}

function scalarAnalysis(n: ScalarNode): Analysis {
  return (n.analysis ??= analyze(n.value));
}

const BEST_INDENT = 2;
const BEST_WIDTH = 80;

// keyLess is yaml.v2's keyList.Less for string keys (given as code points): letters before
// others, digit runs numerically.
function keyLess(ar: number[], br: number[]): boolean {
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]! < br[i]!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === 0x30 || br[i] === 0x30) {
      for (let j = i - 1; j >= 0 && isUnicodeDigit(ar[j]!); j--) {
        if (ar[j] !== 0x30) {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isUnicodeDigit(ar[ai]!); ai++) an = BigInt.asIntN(64, an * 10n + BigInt(ar[ai]! - 0x30));
    let bi = i;
    for (; bi < br.length && isUnicodeDigit(br[bi]!); bi++) bn = BigInt.asIntN(64, bn * 10n + BigInt(br[bi]! - 0x30));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]! < br[i]!;
  }
  return ar.length < br.length;
}

function stringNode(s: string): Node {
  let style: 'plain' | 'double' | 'literal';
  if (s.includes('\n')) style = 'literal';
  else style = resolvePlain(s).tag === 'str' && !isBase60Float(s) ? 'plain' : 'double';
  return { kind: 'scalar', value: s, style };
}

function isBase60Float(s: string): boolean {
  return /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s);
}

// foldNEL applies YAML double-quoted line folding to the one line break JSON leaves unescaped
// (U+0085): a lone break becomes a space, n consecutive breaks n-1 newlines, with blanks around dropped.
function foldNEL(s: string): string {
  if (!s.includes('\u0085')) return s;
  return s.replace(/[ \t]*\u0085([ \t\u0085]*)/g, (_, rest: string) => {
    const n = (rest.match(/\u0085/g) ?? []).length;
    return n === 0 ? ' ' : '\n'.repeat(n);
  });
}

// yaml.v2's reader refuses input with characters outside YAML's printable set; encoding/json
// leaves these unescaped, so values holding them cannot be marshaled.
const UNREADABLE = /[\u007f-\u0084\u0086-\u009f\ufffe\uffff]/;

function readable(s: string): string {
  if (UNREADABLE.test(s)) throw new GoError('error converting JSON to YAML: yaml: control characters are not allowed');
  return s;
}

// flowKey is a key of the JSON text yaml.v2 reads: a flow mapping's key cannot span lines, and
// encoding/json leaves U+0085 (a YAML line break) unescaped.
function flowKey(k: string): string {
  if (k.includes('\u0085')) throw new GoError("error converting JSON to YAML: yaml: line 1: did not find expected ',' or '}'");
  return k;
}

// fromJson reads encoding/json output back the way yaml.v2 decodes it into interface{}.
function fromJson(n: JsonNode): Node {
  if (n === null) return { kind: 'scalar', value: 'null', style: 'plain' };
  if (typeof n === 'boolean') return { kind: 'scalar', value: n ? 'true' : 'false', style: 'plain' };
  if (typeof n === 'string') return stringNode(foldNEL(readable(n)));
  if (Array.isArray(n)) return { kind: 'seq', items: n.map(fromJson) };
  if ('num' in n) {
    const r = resolvePlain(n.num);
    let text = n.num;
    if (r.tag === 'int') text = String(r.value);
    else if (r.tag === 'float') {
      const f = r.value as number;
      text = Number.isNaN(f) ? '.nan' : f === Infinity ? '.inf' : f === -Infinity ? '-.inf' : formatFloat(f);
    }
    return { kind: 'scalar', value: text, style: 'plain' };
  }
  const byKey = new Map(n.entries.map(([k, v]) => [flowKey(readable(k)), v]));
  return { kind: 'map', entries: sortedKeys([...byKey.keys()]).map((k) => [stringNode(k), fromJson(byKey.get(k)!)]) };
}

// LETTERS are keys of ASCII letters only (most Kubernetes field names): for them keyLess is plain string
// order, as every character is a letter and a shorter prefix comes first.
const LETTERS = /^[A-Za-z]*$/;

// sortedKeys orders a map's keys as yaml.v2 does (keyLess).
function sortedKeys(keys: string[]): string[] {
  if (keys.every((k) => LETTERS.test(k))) return keys.sort();
  return keys
    .map((k) => ({ k, cps: codePoints(k) }))
    .sort((a, b) => (keyLess(a.cps, b.cps) ? -1 : keyLess(b.cps, a.cps) ? 1 : 0))
    .map(({ k }) => k);
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const c of s) out.push(c.codePointAt(0)!);
  return out;
}

const isBreak = (c: number) => c === 0x0d || c === 0x0a || c === 0x85 || c === 0x2028 || c === 0x2029;
const isBlank = (c: number | undefined) => c === 0x20 || c === 0x09;

function isPrintable(c: number): boolean {
  return (
    c === 0x0a ||
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)
  );
}

interface Analysis {
  multiline: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

// Characters that cannot start a plain scalar.
const INDICATORS = new Set(codePoints('#,[]{}&*!|>\'"%@`'));

// SIMPLE is printable ASCII with no blank at either end and no tab or break.
const SIMPLE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
// INNER_INDICATOR is ': ' or ':' at the end, or '#' after a space, past the first character.
const INNER_INDICATOR = /.(?::(?: |$)|(?<= )#)/;

// The character classes of the analysis, on UTF-16 code units (no `u` flag: a lone surrogate is a unit).
const BREAK = /[\r\n\u0085\u2028\u2029]/;
const NOT_PRINTABLE = /[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]/;
const BREAK_SPACE = /[\r\n\u0085\u2028\u2029] /;
const SPACE_BREAK = / [\r\n\u0085\u2028\u2029]/;
// Past the first character: ':' before a blank or the end, '#' after a blank, a break or NUL.
const LATER_INDICATOR = /[^]:(?:[ \t]|$)|[ \t\r\n\u0085\u2028\u2029\0]#/;

// A literal block's line breaks other than '\n', and the start of each non-empty line of one without them.
const OTHER_BREAK = /[\r\u0085\u2028\u2029]/;
const LINE_START = /^(?=.)/gm;

// analyze is yaml_emitter_analyze_scalar (block context: only the block-plain result matters).
// It walks UTF-16 code units: a surrogate is not printable, as the astral character it belongs
// to is not, and no other check can match either half, so the result is that of code points.
function analyze(value: string): Analysis {
  const n = value.length;
  if (n === 0) return { multiline: false, blockPlain: true, singleQuoted: true, block: false };
  // Most values are printable ASCII on one line, without blanks at either end: then only the
  // indicators decide.
  if (SIMPLE.test(value)) {
    const c = value.charCodeAt(0);
    const blockInd =
      INDICATORS.has(c) ||
      ((c === 0x3f || c === 0x3a || c === 0x2d) && (n === 1 || value.charCodeAt(1) === 0x20)) ||
      value.startsWith('---') ||
      value.startsWith('...') ||
      INNER_INDICATOR.test(value);
    return { multiline: false, blockPlain: !blockInd, singleQuoted: true, block: true };
  }
  // The rest asks the same questions of every character with regular expressions: bundles carry whole
  // manifests as literal blocks, and a scan in native code is many times faster than a loop here.
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  const blockInd =
    value.startsWith('---') ||
    value.startsWith('...') ||
    INDICATORS.has(first) ||
    ((first === 0x3f || first === 0x3a || first === 0x2d) && (n === 1 || isBlank(value.charCodeAt(1)))) ||
    LATER_INDICATOR.test(value);
  const lineBreaks = BREAK.test(value);
  const special = NOT_PRINTABLE.test(value);
  const leadingSpace = first === 0x20;
  const leadingBreak = isBreak(first);
  const trailingSpace = last === 0x20;
  const trailingBreak = isBreak(last);
  const breakSpace = lineBreaks && BREAK_SPACE.test(value);
  const spaceBreak = lineBreaks && SPACE_BREAK.test(value);
  const a: Analysis = { multiline: lineBreaks, blockPlain: true, singleQuoted: true, block: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.blockPlain = false;
  if (trailingSpace) a.block = false;
  if (breakSpace) a.blockPlain = a.singleQuoted = false;
  if (spaceBreak || special) a.blockPlain = a.singleQuoted = a.block = false;
  if (lineBreaks) a.blockPlain = false;
  if (blockInd) a.blockPlain = false;
  return a;
}

// Double-quoted escapes with a short form.
const ESCAPES: Record<number, string> = {
  0x00: '\\0',
  0x07: '\\a',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0b: '\\v',
  0x0c: '\\f',
  0x0d: '\\r',
  0x1b: '\\e',
  0x22: '\\"',
  0x5c: '\\\\',
  0x85: '\\N',
  0xa0: '\\_',
  0x2028: '\\L',
  0x2029: '\\P',
};

function escape(c: number): string {
  const e = ESCAPES[c];
  if (e !== undefined) return e;
  const [p, w] = c <= 0xff ? ['\\x', 2] : c <= 0xffff ? ['\\u', 4] : ['\\U', 8];
  return p + c.toString(16).toUpperCase().padStart(w, '0');
}

const NEWLINE_INDENTS: string[] = [];

/**
 * Emitter writes nodes while tracking column, indentation and whitespace as yaml.v2 does.
 * Scalars are written in runs: text that needs no escape, fold or break is sliced from the value
 * and pushed whole. Every character written is in the Basic Multilingual Plane (yaml.v2 escapes
 * the others, which it does not count as printable), so the column advances by string length.
 */
class Emitter {
  // Output pieces, joined once at the end: a string built by appending is a chain of V8 cons
  // strings that, kept (as bundle content is), takes over ten times the memory of flat text.
  readonly out: string[] = [];
  column = 0;
  whitespace = true;
  indention = true;
  indent = -1;
  indents: number[] = [];
  rootContext = false;
  mappingContext = false;
  simpleKeyContext = false;

  write(s: string): void {
    this.out.push(s);
    this.column += s.length;
  }
  putBreak(): void {
    this.out.push('\n');
    this.column = 0;
  }
  writeBreak(c: number): void {
    if (c === 0x0a) this.putBreak();
    else {
      this.out.push(String.fromCharCode(c));
      this.column = 0;
    }
  }
  writeIndent(): void {
    const indent = Math.max(this.indent, 0);
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      // A line break and the indentation as one piece.
      this.out.push((NEWLINE_INDENTS[indent] ??= '\n' + ' '.repeat(indent)));
      this.column = indent;
    } else if (this.column < indent) this.write(' '.repeat(indent - this.column));
    this.whitespace = true;
    this.indention = true;
  }
  writeIndicator(ind: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.write(' ');
    this.write(ind);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }
  increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }
  popIndent(): void {
    this.indent = this.indents.pop()!;
  }

  node(n: Node, root: boolean, sequence: boolean, mapping: boolean, simpleKey: boolean): void {
    this.rootContext = root;
    this.mappingContext = mapping;
    this.simpleKeyContext = simpleKey;
    void sequence;
    if (n.kind === 'scalar') return this.scalar(n);
    if (n.kind === 'seq') {
      if (n.items.length === 0) return this.emptyFlow('[', ']');
      this.increaseIndent(false, this.mappingContext && !this.indention);
      for (const item of n.items) {
        this.writeIndent();
        this.writeIndicator('-', true, false, true);
        this.node(item, false, true, false, false);
      }
      this.popIndent();
      return;
    }
    if (n.entries.length === 0) return this.emptyFlow('{', '}');
    this.increaseIndent(false, false);
    for (const [k, v] of n.entries) {
      this.writeIndent();
      const key = k as ScalarNode;
      const a = scalarAnalysis(key);
      const simple = !a.multiline && (key.value.length <= 42 || Buffer.byteLength(key.value) <= 128);
      if (simple) {
        this.node(k, false, false, true, true);
        this.writeIndicator(':', false, false, false);
      } else {
        this.writeIndicator('?', true, false, true);
        this.node(k, false, false, true, false);
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
      }
      this.node(v, false, false, true, false);
    }
    this.popIndent();
  }

  emptyFlow(open: string, close: string): void {
    this.writeIndicator(open, true, true, false);
    this.increaseIndent(true, false);
    this.popIndent();
    this.writeIndicator(close, false, false, false);
  }

  scalar(n: ScalarNode): void {
    const value = n.value;
    const a = scalarAnalysis(n);
    let style: 'plain' | 'single' | 'double' | 'literal' = n.style;
    if (this.simpleKeyContext && a.multiline) style = 'double';
    if (style === 'plain') {
      if (!a.blockPlain) style = 'single';
      if (value.length === 0 && this.simpleKeyContext) style = 'single';
    }
    if (style === 'single' && !a.singleQuoted) style = 'double';
    if (style === 'literal' && (!a.block || this.simpleKeyContext)) style = 'double';
    this.increaseIndent(true, false);
    const breaks = !this.simpleKeyContext;
    switch (style) {
      case 'plain':
      case 'single':
        this.plainOrSingle(value, breaks, style === 'single');
        break;
      case 'double':
        this.double(value, breaks);
        break;
      case 'literal':
        this.literal(value);
        break;
    }
    this.popIndent();
  }

  // plainOrSingle writes a plain or a single-quoted scalar, folding long lines at spaces. Plain
  // and single-quoted values hold only printable characters (the analysis rules others out).
  plainOrSingle(value: string, allowBreaks: boolean, quoted: boolean): void {
    if (quoted) this.writeIndicator("'", true, false, false);
    else if (!this.whitespace) this.write(' ');
    const n = value.length;
    let spaces = false;
    let breaks = false;
    let start = 0; // the pending run, value[start, i), is written as is (quotes doubled)
    let quotes = 0; // quotes in the pending run
    const flush = (end: number) => {
      if (end > start) {
        const run = value.slice(start, end);
        this.write(quotes > 0 ? run.replaceAll("'", "''") : run);
      }
      quotes = 0;
    };
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x20) {
        const inside = !quoted || (i > 0 && i < n - 1);
        if (allowBreaks && !spaces && inside && value.charCodeAt(i + 1) !== 0x20 && this.column + (i - start) + quotes > BEST_WIDTH) {
          flush(i);
          this.writeIndent();
          start = i + 1;
        }
        spaces = true;
      } else if (isBreak(c)) {
        flush(i);
        if (!breaks && c === 0x0a) this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
        start = i + 1;
      } else {
        if (breaks) {
          flush(i);
          this.writeIndent();
          start = i;
        }
        if (quoted && c === 0x27) quotes++;
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    flush(n);
    if (quoted) this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  double(value: string, allowBreaks: boolean): void {
    this.writeIndicator('"', true, false, false);
    const bom = value.charCodeAt(0) === 0xfeff;
    const n = value.length;
    let spaces = false;
    let start = 0; // the pending run, value[start, i), needs no escape
    const flush = (end: number) => {
      if (end > start) this.write(value.slice(start, end));
    };
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (!isPrintable(c) || bom || isBreak(c) || c === 0x22 || c === 0x5c) {
        flush(i);
        const cp = value.codePointAt(i)!;
        if (cp > 0xffff) i++;
        this.write(escape(cp));
        start = i + 1;
        spaces = false;
      } else if (c === 0x20) {
        if (allowBreaks && !spaces && i > 0 && i < n - 1 && this.column + (i - start) > BEST_WIDTH) {
          flush(i);
          this.writeIndent();
          if (value.charCodeAt(i + 1) === 0x20) this.write('\\');
          start = i + 1;
        }
        spaces = true;
      } else spaces = false;
    }
    flush(n);
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  literal(value: string): void {
    this.writeIndicator('|', true, false, false);
    const n = value.length;
    const first = value.charCodeAt(0);
    if (first === 0x20 || (n > 0 && isBreak(first))) this.writeIndicator(String(BEST_INDENT), false, false, false);
    let chomp = '';
    if (n === 0) chomp = '-';
    else {
      const last = n - 1;
      if (!isBreak(value.charCodeAt(last))) chomp = '-';
      else if (last === 0) chomp = '+';
      else if (isBreak(value.charCodeAt(last - 1))) chomp = '+';
    }
    if (chomp) this.writeIndicator(chomp, false, false, false);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    // Each line is indented and written whole (a literal value holds only printable characters).
    if (!OTHER_BREAK.test(value)) {
      // Lines end with '\n' alone: the block is one piece, every line but an empty one indented.
      const pad = ' '.repeat(Math.max(this.indent, 0));
      this.out.push(pad ? value.replace(LINE_START, pad) : value);
      const ended = n === 0 || value.charCodeAt(n - 1) === 0x0a;
      this.column = ended ? 0 : pad.length + n - (value.lastIndexOf('\n') + 1);
      this.indention = ended;
      return;
    }
    let start = 0;
    for (let i = 0; i <= n; i++) {
      const c = i < n ? value.charCodeAt(i) : -1;
      if (c !== -1 && !isBreak(c)) continue;
      if (i > start) {
        this.writeIndent();
        this.write(value.slice(start, i));
        this.indention = false;
      }
      if (c !== -1) {
        this.writeBreak(c);
        this.indention = true;
      }
      start = i + 1;
    }
  }
}

/** marshalYAML is sigs.k8s.io/yaml.Marshal (output ends with a newline); it throws GoError for values JSON cannot encode. */
export function marshalYAML(v: unknown): string {
  const root = fromJson(jsonTree(v));
  const e = new Emitter();
  e.node(root, true, false, false, false);
  // Document end: an implicit document closes with a line break.
  e.indent = -1;
  e.writeIndent();
  return e.out.join('');
}
