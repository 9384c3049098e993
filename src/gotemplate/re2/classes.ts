// Character classes of Go's regexp syntax: Perl (\d \s \w, ASCII), POSIX ([:alpha:]), Unicode
// (\p{Greek}) and simple case folding for (?i).

/** RuneTest tells whether a code point belongs to a class. */
export type RuneTest = (c: number) => boolean;

const inRanges =
  (...r: number[]): RuneTest =>
  (c) => {
    for (let i = 0; i < r.length; i += 2) if (c >= r[i]! && c <= r[i + 1]!) return true;
    return false;
  };

const DIGIT = inRanges(0x30, 0x39);
const SPACE = inRanges(0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20);
const WORD = inRanges(0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a);

/** isWordChar is the ASCII word test behind \b. */
export const isWordChar = WORD;

const PERL: Record<string, { sign: number; test: RuneTest }> = {
  '\\d': { sign: 1, test: DIGIT },
  '\\D': { sign: -1, test: DIGIT },
  '\\s': { sign: 1, test: SPACE },
  '\\S': { sign: -1, test: SPACE },
  '\\w': { sign: 1, test: WORD },
  '\\W': { sign: -1, test: WORD },
};

/** perlGroup returns the Perl class for "\d" etc. */
export function perlGroup(s: string): { sign: number; test: RuneTest } | undefined {
  return Object.prototype.hasOwnProperty.call(PERL, s) ? PERL[s] : undefined;
}

const POSIX: Record<string, RuneTest> = {
  alnum: inRanges(0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a),
  alpha: inRanges(0x41, 0x5a, 0x61, 0x7a),
  ascii: inRanges(0x00, 0x7f),
  blank: inRanges(0x09, 0x09, 0x20, 0x20),
  cntrl: inRanges(0x00, 0x1f, 0x7f, 0x7f),
  digit: DIGIT,
  graph: inRanges(0x21, 0x7e),
  lower: inRanges(0x61, 0x7a),
  print: inRanges(0x20, 0x7e),
  punct: inRanges(0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e),
  space: inRanges(0x09, 0x0d, 0x20, 0x20),
  upper: inRanges(0x41, 0x5a),
  word: WORD,
  xdigit: inRanges(0x30, 0x39, 0x41, 0x46, 0x61, 0x66),
};

/** posixGroup returns the class for "[:alpha:]" or "[:^alpha:]". */
export function posixGroup(name: string): { sign: number; test: RuneTest } | undefined {
  const m = /^\[:(\^?)([a-z]+):\]$/.exec(name);
  if (!m || !Object.prototype.hasOwnProperty.call(POSIX, m[2]!)) return undefined;
  return { sign: m[1] ? -1 : 1, test: POSIX[m[2]!]! };
}

const CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
);
const unicodeCache = new Map<string, RuneTest | undefined>();

/** unicodeClass returns the test for \p{name}: a general category, a script, or Any. */
export function unicodeClass(name: string): RuneTest | undefined {
  if (name === 'Any') return () => true;
  if (unicodeCache.has(name)) return unicodeCache.get(name);
  let test: RuneTest | undefined;
  // Go knows scripts by their full names only (Greek, not Grek).
  if (CATEGORIES.has(name) || /^[A-Z][a-z]+(_[A-Z][a-z]+)*$/.test(name)) {
    try {
      const src = name === 'C' ? '[\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}]' : CATEGORIES.has(name) ? `\\p{${name}}` : `\\p{Script=${name}}`;
      const re = new RegExp(`^${src}$`, 'u');
      test = (c) => re.test(String.fromCodePoint(c));
    } catch {
      test = undefined;
    }
  }
  unicodeCache.set(name, test);
  return test;
}

// Members of case-folding orbits that simple upper/lower mapping does not reach.
const EXTRA_FOLDS: Record<number, number[]> = {
  0x6b: [0x212a],
  0x73: [0x17f],
  0xe5: [0x212b],
  0x3c3: [0x3c2],
  0x3b8: [0x3d1, 0x3f4],
  0x3b9: [0x345, 0x1fbe],
  0x3b2: [0x3d0],
  0x3b5: [0x3f5],
  0x3ba: [0x3f0],
  0x3bc: [0xb5],
  0x3c0: [0x3d6],
  0x3c1: [0x3f1],
  0x3c6: [0x3d5],
  0x3c9: [0x2126],
  0xdf: [0x1e9e],
};

function simple(c: number, f: (s: string) => string): number {
  const m = [...f(String.fromCodePoint(c))];
  return m.length === 1 ? m[0]!.codePointAt(0)! : c;
}

/** foldOrbit lists the code points that match c under (?i). */
export function foldOrbit(c: number): number[] {
  const lower = simple(c, (s) => s.toLowerCase());
  const upper = simple(c, (s) => s.toUpperCase());
  const canon = simple(upper, (s) => s.toLowerCase());
  const out = new Set([c, lower, upper, canon, simple(canon, (s) => s.toUpperCase())]);
  for (const x of EXTRA_FOLDS[canon] ?? []) out.add(x);
  return [...out];
}

/** foldTest extends a class to every case variant of its members. */
export function foldTest(test: RuneTest): RuneTest {
  return (c) => test(c) || (c > 0x40 && foldOrbit(c).some((v) => v !== c && test(v)));
}
