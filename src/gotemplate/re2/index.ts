// Go regexp (RE2 syntax and semantics) for Sprig's regex functions, run by a Pike VM: matching
// time is linear in the input, so user patterns cannot backtrack catastrophically.
// Reference: Go 1.19 src/regexp/regexp.go (FindAll, ReplaceAll, Expand and Split rules).
import { quoteGo } from '../fmt.js';
import { GoError } from '../funcs.js';
import { LimitExceeded } from '../limits.js';
import { parseRegexp, RegexSyntaxError } from './parse.js';
import { compile, execute, Program, StepBudget } from './vm.js';

export { RegexSyntaxError };

/** MATCH_STEP_BUDGET bounds the VM work of one function call (thread steps). */
export const MATCH_STEP_BUDGET = 50_000_000;

const cache = new Map<string, GoRegexp>();

// Input is a string split into code points, with UTF-16 offsets to cut substrings back out.
class Input {
  readonly cps: number[] = [];
  readonly off: number[] = [];
  constructor(readonly s: string) {
    let i = 0;
    for (const ch of s) {
      this.off.push(i);
      this.cps.push(ch.codePointAt(0)!);
      i += ch.length;
    }
    this.off.push(i);
  }
  slice(a: number, b: number): string {
    return this.s.slice(this.off[a], this.off[b]);
  }
}

function canBackquote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '`' || c === 0xfeff || (c < 0x20 && ch !== '\t') || c === 0x7f) return false;
  }
  return true;
}

/** GoRegexp is a compiled Go regular expression. */
export class GoRegexp {
  private readonly prog: Program;
  /** names are the capture group names, index 0 being the whole match (""). */
  readonly names: string[];

  private constructor(readonly expr: string) {
    const parsed = parseRegexp(expr);
    this.names = parsed.names;
    this.prog = compile(parsed.node, parsed.numCap, expr);
  }

  /** compile is regexp.Compile; it throws RegexSyntaxError with Go's message. */
  static compile(expr: string): GoRegexp {
    let re = cache.get(expr);
    if (!re) {
      re = new GoRegexp(expr);
      if (cache.size > 256) cache.clear();
      cache.set(expr, re);
    }
    return re;
  }

  /** mustCompile is regexp.MustCompile: it throws GoError with the text of Go's panic. */
  static mustCompile(expr: string): GoRegexp {
    try {
      return GoRegexp.compile(expr);
    } catch (e) {
      if (!(e instanceof RegexSyntaxError)) throw e;
      const q = canBackquote(expr) ? '`' + expr + '`' : quoteGo(expr);
      throw new GoError(`regexp: Compile(${q}): ${e.message}`);
    }
  }

  private budget(): StepBudget {
    return {
      left: MATCH_STEP_BUDGET,
      onExhausted: () => {
        throw new LimitExceeded(`regular expression ${quoteGo(this.expr)} exceeds the matching step limit`);
      },
    };
  }

  // allMatches yields successive non-overlapping matches as Go's allMatches does.
  private allMatches(input: Input, n: number, deliver: (m: number[]) => void): void {
    const end = input.cps.length;
    const budget = this.budget();
    if (n < 0) n = end + 1;
    for (let pos = 0, i = 0, prevMatchEnd = -1; i < n && pos <= end; ) {
      const m = execute(this.prog, input.cps, pos, budget);
      if (!m) break;
      let accept = true;
      if (m[1] === pos) {
        if (m[0] === prevMatchEnd) accept = false;
        pos = pos < end ? pos + 1 : end + 1;
      } else {
        pos = m[1]!;
      }
      prevMatchEnd = m[1]!;
      if (accept) {
        deliver(m);
        i++;
      }
    }
  }

  /** matchString is Regexp.MatchString. */
  matchString(s: string): boolean {
    return execute(this.prog, new Input(s).cps, 0, this.budget()) !== undefined;
  }

  /** findString is Regexp.FindString ("" when there is no match). */
  findString(s: string): string {
    const input = new Input(s);
    const m = execute(this.prog, input.cps, 0, this.budget());
    return m ? input.slice(m[0]!, m[1]!) : '';
  }

  /** findAllString is Regexp.FindAllString; undefined stands for Go's nil result. */
  findAllString(s: string, n: number): string[] | undefined {
    const input = new Input(s);
    const out: string[] = [];
    this.allMatches(input, n, (m) => out.push(input.slice(m[0]!, m[1]!)));
    return out.length === 0 ? undefined : out;
  }

  /** findStringSubmatch is Regexp.FindStringSubmatch ("" for groups that did not take part). */
  findStringSubmatch(s: string): string[] | undefined {
    const input = new Input(s);
    const m = execute(this.prog, input.cps, 0, this.budget());
    return m ? this.groups(input, m) : undefined;
  }

  /** findAllStringSubmatch is Regexp.FindAllStringSubmatch. */
  findAllStringSubmatch(s: string, n: number): string[][] | undefined {
    const input = new Input(s);
    const out: string[][] = [];
    this.allMatches(input, n, (m) => out.push(this.groups(input, m)));
    return out.length === 0 ? undefined : out;
  }

  private groups(input: Input, m: number[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < m.length; i += 2) out.push(m[i]! >= 0 ? input.slice(m[i]!, m[i + 1]!) : '');
    return out;
  }

  /** split is Regexp.Split; undefined stands for Go's nil result (n == 0). */
  split(s: string, n: number): string[] | undefined {
    if (n === 0) return undefined;
    if (this.expr.length > 0 && s.length === 0) return [''];
    const input = new Input(s);
    const matches: number[][] = [];
    this.allMatches(input, n, (m) => matches.push(m));
    const out: string[] = [];
    let beg = 0;
    let end = 0;
    for (const m of matches) {
      if (n > 0 && out.length === n - 1) break;
      end = m[0]!;
      if (m[1] !== 0) out.push(input.slice(beg, end));
      beg = m[1]!;
    }
    if (end !== input.cps.length) out.push(input.slice(beg, input.cps.length));
    return out;
  }

  /** replaceAllString is Regexp.ReplaceAllString ($1, ${name} expand) or ReplaceAllLiteralString. */
  replaceAll(src: string, repl: string, literal: boolean): string {
    const input = new Input(src);
    const end = input.cps.length;
    const budget = this.budget();
    let out = '';
    let lastMatchEnd = 0;
    let searchPos = 0;
    while (searchPos <= end) {
      const a = execute(this.prog, input.cps, searchPos, budget);
      if (!a) break;
      out += input.slice(lastMatchEnd, a[0]!);
      if (a[1]! > lastMatchEnd || a[0] === 0) out += literal ? repl : this.expand(repl, input, a);
      lastMatchEnd = a[1]!;
      const width = searchPos < end ? 1 : 0;
      if (searchPos + width > a[1]!) searchPos += width;
      else if (searchPos + 1 > a[1]!) searchPos++;
      else searchPos = a[1]!;
    }
    return out + input.slice(lastMatchEnd, end);
  }

  // expand is Regexp.Expand: $name, ${name}, $1, $$.
  private expand(template: string, input: Input, m: number[]): string {
    let out = '';
    while (template.length > 0) {
      const i = template.indexOf('$');
      if (i < 0) break;
      out += template.slice(0, i);
      template = template.slice(i + 1);
      if (template.startsWith('$')) {
        out += '$';
        template = template.slice(1);
        continue;
      }
      const ex = extract(template);
      if (!ex) {
        out += '$';
        continue;
      }
      template = ex.rest;
      const idx = ex.num >= 0 ? ex.num : this.names.indexOf(ex.name);
      if (idx >= 0 && 2 * idx + 1 < m.length && m[2 * idx]! >= 0) out += input.slice(m[2 * idx]!, m[2 * idx + 1]!);
    }
    return out + template;
  }
}

const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;

function extract(str: string): { name: string; num: number; rest: string } | undefined {
  if (str === '') return undefined;
  let brace = false;
  if (str[0] === '{') {
    brace = true;
    str = str.slice(1);
  }
  let i = 0;
  for (const ch of str) {
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === 0) return undefined;
  const name = str.slice(0, i);
  if (brace) {
    if (i >= str.length || str[i] !== '}') return undefined;
    i++;
  }
  let num = 0;
  for (const ch of name) {
    if (ch < '0' || ch > '9' || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + Number(ch);
  }
  if (name[0] === '0' && name.length > 1) num = -1;
  return { name, num, rest: str.slice(i) };
}
