// Parser for Go's regexp syntax (RE2, Perl flags): produces an AST and Go's error messages.
// Reference: Go 1.19 src/regexp/syntax/parse.go.
import { RuneTest, foldTest, perlGroup, posixGroup, unicodeClass } from './classes.js';

/** Node is a parsed regular expression. */
export type Node =
  | { op: 'empty' }
  | { op: 'char'; test: RuneTest }
  | { op: 'assert'; kind: 'bol' | 'eol' | 'bot' | 'eot' | 'wordb' | 'nwordb' }
  | { op: 'capture'; index: number; name: string; sub: Node }
  | { op: 'repeat'; min: number; max: number; greedy: boolean; sub: Node }
  | { op: 'concat'; subs: Node[] }
  | { op: 'alt'; subs: Node[] };

/** RegexSyntaxError is a parse failure with Go's text: "error parsing regexp: CODE: `EXPR`". */
export class RegexSyntaxError extends Error {
  constructor(code: string, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

interface Flags {
  fold: boolean;
  multiLine: boolean;
  dotNL: boolean;
  ungreedy: boolean;
}

// FLAG_NAMES maps (?flags) letters to flags; (?m) turns multi-line on (Go's OneLine off).
const FLAG_NAMES: Record<string, keyof Flags> = { i: 'fold', m: 'multiLine', s: 'dotNL', U: 'ungreedy' };

const MAX_NESTING = 1000;
const MAX_REPEAT = 1000;

/** Parsed is the result of parsing: the tree, the number of capture groups and their names. */
export interface Parsed {
  node: Node;
  numCap: number;
  names: string[];
}

const isAlnum = (c: string) => /^[0-9A-Za-z]$/.test(c);

class Parser {
  private t: string;
  private numCap = 0;
  private names: string[] = [''];
  private depth = 0;

  constructor(readonly whole: string) {
    this.t = whole;
  }

  fail(code: string, expr: string): never {
    throw new RegexSyntaxError(code, expr);
  }

  parse(): Parsed {
    const flags: Flags = { fold: false, multiLine: false, dotNL: false, ungreedy: false };
    const node = this.alternation(flags, false);
    return { node, numCap: this.numCap, names: this.names };
  }

  // alternation parses branches up to ')' (inGroup) or the end.
  private alternation(flags: Flags, inGroup: boolean): Node {
    if (++this.depth > MAX_NESTING) this.fail('expression nests too deeply', this.whole);
    const branches: Node[] = [];
    for (;;) {
      branches.push(this.concat(flags));
      if (this.t.startsWith('|')) {
        this.t = this.t.slice(1);
        continue;
      }
      break;
    }
    if (this.t.startsWith(')')) {
      if (!inGroup) this.fail('unexpected )', this.whole);
    } else if (inGroup) {
      this.fail('missing closing )', this.whole);
    }
    this.depth--;
    return branches.length === 1 ? branches[0]! : { op: 'alt', subs: branches };
  }

  private concat(flags: Flags): Node {
    const items: Node[] = [];
    let lastRepeat = '';
    while (this.t !== '' && !this.t.startsWith('|') && !this.t.startsWith(')')) {
      const c = this.t[0]!;
      let repeat = '';
      if (c === '*' || c === '+' || c === '?' || c === '{') {
        const before = this.t;
        let min: number;
        let max: number;
        let after: string;
        if (c === '{') {
          const r = parseRepeat(before);
          if (!r) {
            items.push(this.literal('{'.codePointAt(0)!, flags));
            this.t = before.slice(1);
            lastRepeat = '';
            continue;
          }
          [min, max, after] = r;
          if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            this.fail('invalid repeat count', before.slice(0, before.length - after.length));
          }
        } else {
          [min, max] = c === '*' ? [0, -1] : c === '+' ? [1, -1] : [0, 1];
          after = before.slice(1);
        }
        let greedy = !flags.ungreedy;
        if (after.startsWith('?')) {
          after = after.slice(1);
          greedy = !greedy;
        }
        if (lastRepeat !== '') this.fail('invalid nested repetition operator', lastRepeat.slice(0, lastRepeat.length - after.length));
        const sub = items.pop();
        if (!sub) this.fail('missing argument to repetition operator', before.slice(0, before.length - after.length));
        const node: Node = { op: 'repeat', min, max, greedy, sub };
        if (c === '{' && (min >= 2 || max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
          this.fail('invalid repeat count', before.slice(0, before.length - after.length));
        }
        items.push(node);
        repeat = before;
        this.t = after;
        lastRepeat = repeat;
        continue;
      }
      const atom = this.atom(flags);
      if (Array.isArray(atom)) items.push(...atom);
      else if (atom) items.push(atom);
      lastRepeat = '';
    }
    if (items.length === 0) return { op: 'empty' };
    return items.length === 1 ? items[0]! : { op: 'concat', subs: items };
  }

  private literal(r: number, flags: Flags): Node {
    return { op: 'char', test: flags.fold ? foldTest((c) => c === r) : (c) => c === r };
  }

  // atom parses one item; undefined for a flags-only group "(?i)".
  private atom(flags: Flags): Node | Node[] | undefined {
    const t = this.t;
    const c = t[0]!;
    switch (c) {
      case '(':
        return this.group(flags);
      case '^':
        this.t = t.slice(1);
        return { op: 'assert', kind: flags.multiLine ? 'bol' : 'bot' };
      case '$':
        this.t = t.slice(1);
        return { op: 'assert', kind: flags.multiLine ? 'eol' : 'eot' };
      case '.':
        this.t = t.slice(1);
        return { op: 'char', test: flags.dotNL ? () => true : (r) => r !== 0x0a };
      case '[':
        return this.charClass(flags);
      case '\\':
        return this.escapeAtom(flags);
    }
    const r = t.codePointAt(0)!;
    this.t = t.slice(r > 0xffff ? 2 : 1);
    return this.literal(r, flags);
  }

  private group(flags: Flags): Node | undefined {
    const s = this.t;
    if (s.startsWith('(?')) {
      if (s.length > 4 && s[2] === 'P' && s[3] === '<') {
        const end = s.indexOf('>');
        if (end < 0) this.fail('invalid named capture', s);
        const name = s.slice(4, end);
        if (name === '' || ![...name].every((ch) => ch === '_' || isAlnum(ch))) this.fail('invalid named capture', s.slice(0, end + 1));
        this.t = s.slice(end + 1);
        return this.capture(flags, name);
      }
      // Flags: (?flags) changes the current group's flags; (?flags:re) is a group.
      let t = s.slice(2);
      const nf = { ...flags };
      let sign = 1;
      let sawFlag = false;
      while (t !== '') {
        const ch = String.fromCodePoint(t.codePointAt(0)!);
        t = t.slice(ch.length);
        const flag = FLAG_NAMES[ch];
        if (flag) {
          nf[flag] = sign > 0;
          sawFlag = true;
          continue;
        }
        switch (ch) {
          case '-':
            if (sign < 0) break;
            sign = -1;
            sawFlag = false;
            continue;
          case ':':
          case ')':
            if (sign < 0 && !sawFlag) break;
            if (ch === ':') {
              this.t = t;
              const sub = this.alternation(nf, true);
              this.t = this.t.slice(1);
              return sub;
            }
            Object.assign(flags, nf);
            this.t = t;
            return undefined;
        }
        break;
      }
      this.fail('invalid or unsupported Perl syntax', s.slice(0, s.length - t.length));
    }
    this.t = s.slice(1);
    return this.capture(flags, '');
  }

  private capture(flags: Flags, name: string): Node {
    const index = ++this.numCap;
    this.names.push(name);
    const sub = this.alternation({ ...flags }, true);
    this.t = this.t.slice(1);
    return { op: 'capture', index, name, sub };
  }

  private escapeAtom(flags: Flags): Node | Node[] {
    const t = this.t;
    if (t.length >= 2) {
      const assert: Record<string, 'bot' | 'eot' | 'wordb' | 'nwordb'> = { A: 'bot', b: 'wordb', B: 'nwordb', z: 'eot' };
      const k = assert[t[1]!];
      if (k) {
        this.t = t.slice(2);
        return { op: 'assert', kind: k };
      }
      if (t[1] === 'C') this.fail('invalid escape sequence', t.slice(0, 2));
      if (t[1] === 'Q') {
        const rest = t.slice(2);
        const end = rest.indexOf('\\E');
        const lit = end < 0 ? rest : rest.slice(0, end);
        this.t = end < 0 ? '' : rest.slice(end + 2);
        // Each quoted character is its own literal, so a following repetition applies to the last one.
        return [...lit].map((ch) => this.literal(ch.codePointAt(0)!, flags));
      }
      if (t[1] === 'p' || t[1] === 'P') {
        const u = this.unicodeClass(t, flags);
        if (u) return { op: 'char', test: u };
      }
      const g = perlGroup(t.slice(0, 2));
      if (g) {
        this.t = t.slice(2);
        return { op: 'char', test: signed(g.sign, flags.fold ? foldTest(g.test) : g.test) };
      }
    }
    const [r, rest] = this.escape(t);
    this.t = rest;
    return this.literal(r, flags);
  }

  private unicodeClass(s: string, flags: Flags): RuneTest | undefined {
    let sign = s[1] === 'P' ? -1 : 1;
    let seq: string;
    let name: string;
    let rest: string;
    if (s.length === 2) this.fail('invalid character class range', s);
    if (s[2] !== '{') {
      const ch = String.fromCodePoint(s.codePointAt(2)!);
      seq = s.slice(0, 2 + ch.length);
      name = ch;
      rest = s.slice(seq.length);
    } else {
      const end = s.indexOf('}');
      if (end < 0) this.fail('invalid character class range', s);
      seq = s.slice(0, end + 1);
      name = s.slice(3, end);
      rest = s.slice(end + 1);
    }
    if (name.startsWith('^')) {
      sign = -sign;
      name = name.slice(1);
    }
    const test = unicodeClass(name);
    if (!test) this.fail('invalid character class range', seq);
    this.t = rest;
    return signed(sign, flags.fold ? foldTest(test) : test);
  }

  // escape decodes a single-rune escape (Go's parseEscape) and returns the rune and the rest.
  private escape(s: string): [number, string] {
    let t = s.slice(1);
    if (t === '') this.fail('trailing backslash at end of expression', '');
    const c = String.fromCodePoint(t.codePointAt(0)!);
    t = t.slice(c.length);
    const bad = (): never => this.fail('invalid escape sequence', s.slice(0, s.length - t.length));
    if (c.codePointAt(0)! < 0x80 && !isAlnum(c)) return [c.codePointAt(0)!, t];
    if (c >= '1' && c <= '7' && !(t !== '' && t[0]! >= '0' && t[0]! <= '7')) bad();
    if (c >= '0' && c <= '7') {
      let r = Number(c);
      for (let i = 1; i < 3 && t !== '' && t[0]! >= '0' && t[0]! <= '7'; i++) {
        r = r * 8 + Number(t[0]);
        t = t.slice(1);
      }
      return [r, t];
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (c in simple) return [simple[c]!, t];
    if (c === 'x') {
      if (t === '') bad();
      const c2 = String.fromCodePoint(t.codePointAt(0)!);
      t = t.slice(c2.length);
      if (c2 === '{') {
        let r = 0;
        let n = 0;
        for (;;) {
          if (t === '') bad();
          const h = String.fromCodePoint(t.codePointAt(0)!);
          t = t.slice(h.length);
          if (h === '}') break;
          if (!/^[0-9a-fA-F]$/.test(h)) bad();
          r = r * 16 + parseInt(h, 16);
          if (r > 0x10ffff) bad();
          n++;
        }
        if (n === 0) bad();
        return [r, t];
      }
      if (t === '') bad();
      const c3 = String.fromCodePoint(t.codePointAt(0)!);
      t = t.slice(c3.length);
      if (!/^[0-9a-fA-F]$/.test(c2) || !/^[0-9a-fA-F]$/.test(c3)) bad();
      return [parseInt(c2 + c3, 16), t];
    }
    return bad();
  }

  private charClass(flags: Flags): Node {
    const whole = this.t;
    let t = whole.slice(1);
    let sign = 1;
    if (t.startsWith('^')) {
      sign = -1;
      t = t.slice(1);
    }
    const items: RuneTest[] = [];
    let first = true;
    while (t === '' || t[0] !== ']' || first) {
      first = false;
      if (t === '') this.fail('missing closing ]', whole);
      if (t.length > 2 && t[0] === '[' && t[1] === ':') {
        const i = t.indexOf(':]', 2);
        if (i >= 0) {
          const name = t.slice(0, i + 2);
          const g = posixGroup(name);
          if (!g) this.fail('invalid character class range', name);
          items.push(signed(g.sign, flags.fold ? foldTest(g.test) : g.test));
          t = t.slice(i + 2);
          continue;
        }
      }
      if (t.length >= 2 && t[0] === '\\' && (t[1] === 'p' || t[1] === 'P')) {
        this.t = t;
        const u = this.unicodeClass(t, flags);
        if (u) {
          items.push(u);
          t = this.t;
          continue;
        }
      }
      const g = t.length >= 2 ? perlGroup(t.slice(0, 2)) : undefined;
      if (g) {
        items.push(signed(g.sign, flags.fold ? foldTest(g.test) : g.test));
        t = t.slice(2);
        continue;
      }
      const rng = t;
      let lo: number;
      [lo, t] = this.classChar(t, whole);
      let hi = lo;
      if (t.length >= 2 && t[0] === '-' && t[1] !== ']') {
        t = t.slice(1);
        [hi, t] = this.classChar(t, whole);
        if (hi < lo) this.fail('invalid character class range', rng.slice(0, rng.length - t.length));
      }
      const [a, b] = [lo, hi];
      items.push(flags.fold ? foldTest((c) => c >= a && c <= b) : (c) => c >= a && c <= b);
    }
    this.t = t.slice(1);
    const any: RuneTest = (c) => items.some((f) => f(c));
    return { op: 'char', test: sign < 0 ? (c) => !any(c) : any };
  }

  private classChar(s: string, whole: string): [number, string] {
    if (s === '') this.fail('missing closing ]', whole);
    if (s[0] === '\\') return this.escape(s);
    const r = s.codePointAt(0)!;
    return [r, s.slice(r > 0xffff ? 2 : 1)];
  }
}

function signed(sign: number, test: RuneTest): RuneTest {
  return sign < 0 ? (c) => !test(c) : test;
}

// parseRepeat reads {n}, {n,} or {n,m}; undefined when the text is not a repeat (then '{' is literal).
function parseRepeat(s: string): [number, number, string] | undefined {
  const m = /^\{(0|[1-9][0-9]*)(?:(,)(0|[1-9][0-9]*)?)?\}/.exec(s);
  if (!m) return undefined;
  const num = (x: string) => (x.length > 8 ? -1 : Number(x));
  const min = num(m[1]!);
  const max = m[2] ? (m[3] !== undefined ? num(m[3]) : -1) : min;
  let mn = min;
  if (m[2] && m[3] !== undefined && max < 0) mn = -1;
  return [mn, max, s.slice(m[0].length)];
}

// repeatIsValid reports whether nested counted repetitions stay within n.
function repeatIsValid(node: Node, n: number): boolean {
  if (node.op === 'repeat' && !(node.min === 0 && node.max === -1) && !(node.min === 1 && node.max === -1) && !(node.min === 0 && node.max === 1)) {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > n) return false;
    if (m > 0) n = Math.floor(n / m);
  }
  const subs = node.op === 'concat' || node.op === 'alt' ? node.subs : node.op === 'repeat' || node.op === 'capture' ? [node.sub] : [];
  return subs.every((s) => repeatIsValid(s, n));
}

/** parseRegexp parses Go regexp syntax with Perl flags (regexp.Compile). */
export function parseRegexp(expr: string): Parsed {
  return new Parser(expr).parse();
}
