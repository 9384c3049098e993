// Compiler and Pike VM for parsed Go regexps: leftmost-first matching with submatches in time
// linear in the input (no backtracking), with a step budget as a second bound.
import { isWordChar, RuneTest } from './classes.js';
import { Node, RegexSyntaxError } from './parse.js';

type AssertKind = 'bol' | 'eol' | 'bot' | 'eot' | 'wordb' | 'nwordb';

type Inst =
  | { op: 'char'; test: RuneTest; next: number }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { op: 'save'; n: number; next: number }
  | { op: 'assert'; kind: AssertKind; next: number }
  | { op: 'match' };

/** Program is a compiled regexp. */
export interface Program {
  insts: Inst[];
  ncap: number;
}

/** MAX_PROGRAM bounds the compiled size of a regexp (counted repetitions multiply it). */
export const MAX_PROGRAM = 100_000;

/** compile turns a parsed regexp with ncap capture groups (plus the whole match) into a program. */
export function compile(node: Node, ncap: number, expr: string): Program {
  const insts: Inst[] = [];
  const emit = (i: Inst): number => {
    if (insts.length >= MAX_PROGRAM) throw new RegexSyntaxError('expression too large', expr);
    insts.push(i);
    return insts.length - 1;
  };
  const gen = (n: Node): void => {
    switch (n.op) {
      case 'empty':
        return;
      case 'char':
        emit({ op: 'char', test: n.test, next: insts.length + 1 });
        return;
      case 'assert':
        emit({ op: 'assert', kind: n.kind, next: insts.length + 1 });
        return;
      case 'capture':
        emit({ op: 'save', n: 2 * n.index, next: insts.length + 1 });
        gen(n.sub);
        emit({ op: 'save', n: 2 * n.index + 1, next: insts.length + 1 });
        return;
      case 'concat':
        for (const s of n.subs) gen(s);
        return;
      case 'alt': {
        const jumps: number[] = [];
        n.subs.forEach((s, i) => {
          if (i < n.subs.length - 1) {
            const split = emit({ op: 'split', x: insts.length + 1, y: -1 });
            gen(s);
            jumps.push(emit({ op: 'jmp', x: -1 }));
            (insts[split] as { y: number }).y = insts.length;
          } else gen(s);
        });
        for (const j of jumps) (insts[j] as { x: number }).x = insts.length;
        return;
      }
      case 'repeat': {
        const { min, max, greedy, sub } = n;
        for (let i = 0; i < min; i++) gen(sub);
        if (max === -1) {
          // x*: L: split(body, out); body; jmp L
          const l = emit({ op: 'split', x: -1, y: -1 });
          gen(sub);
          emit({ op: 'jmp', x: l });
          setSplit(insts[l] as { x: number; y: number }, l + 1, insts.length, greedy);
          return;
        }
        const holes: number[] = [];
        for (let i = min; i < max; i++) {
          const s = emit({ op: 'split', x: -1, y: -1 });
          holes.push(s);
          gen(sub);
        }
        for (const s of holes) setSplit(insts[s] as { x: number; y: number }, s + 1, insts.length, greedy);
        return;
      }
    }
  };
  emit({ op: 'save', n: 0, next: 1 });
  gen(node);
  emit({ op: 'save', n: 1, next: insts.length + 1 });
  emit({ op: 'match' });
  return { insts, ncap: ncap + 1 };
}

function setSplit(i: { x: number; y: number }, body: number, out: number, greedy: boolean): void {
  i.x = greedy ? body : out;
  i.y = greedy ? out : body;
}

/** StepBudget is shared work left for matching; exceeding it throws. */
export interface StepBudget {
  left: number;
  onExhausted: () => never;
}

interface Thread {
  pc: number;
  caps: number[];
}

/**
 * execute finds the leftmost-first match in cps (code points) starting the search at `start`;
 * returns capture positions (code-point indexes, -1 when unset) or undefined.
 */
export function execute(prog: Program, cps: number[], start: number, budget: StepBudget): number[] | undefined {
  const { insts } = prog;
  const n = cps.length;
  const seen = new Int32Array(insts.length).fill(-1);
  let gen = 0;
  let matched: number[] | undefined;
  let clist: Thread[] = [];
  const assertOK = (kind: AssertKind, pos: number): boolean => {
    const prev = pos > 0 ? cps[pos - 1]! : -1;
    const next = pos < n ? cps[pos]! : -1;
    switch (kind) {
      case 'bot':
        return pos === 0;
      case 'eot':
        return pos === n;
      case 'bol':
        return pos === 0 || prev === 0x0a;
      case 'eol':
        return pos === n || next === 0x0a;
      case 'wordb':
      case 'nwordb': {
        const b = (prev >= 0 && isWordChar(prev)) !== (next >= 0 && isWordChar(next));
        return kind === 'wordb' ? b : !b;
      }
    }
  };
  const add = (list: Thread[], pc: number, caps: number[], pos: number): void => {
    // Iterative on straight-line instructions, recursive on splits (priority order).
    for (;;) {
      if (seen[pc] === gen) return;
      seen[pc] = gen;
      if (--budget.left < 0) budget.onExhausted();
      const i = insts[pc]!;
      switch (i.op) {
        case 'jmp':
          pc = i.x;
          continue;
        case 'split':
          add(list, i.x, caps, pos);
          pc = i.y;
          continue;
        case 'save':
          caps = caps.slice();
          caps[i.n] = pos;
          pc = i.next;
          continue;
        case 'assert':
          if (!assertOK(i.kind, pos)) return;
          pc = i.next;
          continue;
        default:
          list.push({ pc, caps });
          return;
      }
    }
  };
  const empty = new Array<number>(2 * prog.ncap).fill(-1);
  gen++;
  for (let pos = start; ; pos++) {
    // A new thread starting here has the lowest priority; none once a match is known.
    if (!matched) add(clist, 0, empty, pos);
    if (clist.length === 0 && (matched || pos >= n)) break;
    const c = pos < n ? cps[pos]! : -1;
    gen++;
    const nlist: Thread[] = [];
    for (const t of clist) {
      const i = insts[t.pc]!;
      if (i.op === 'match') {
        // Lower-priority threads (later in the list) are cut off.
        matched = t.caps;
        break;
      }
      if (i.op === 'char' && c >= 0 && i.test(c)) add(nlist, i.next, t.caps, pos + 1);
    }
    clist = nlist;
    if (pos >= n) break;
  }
  return matched;
}
