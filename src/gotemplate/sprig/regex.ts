// Sprig's regex functions over the RE2 engine (Go syntax, linear-time matching).
import { GoError, goFunc } from '../funcs.js';
import { GoRegexp, RegexSyntaxError } from '../re2/index.js';
import { GoFunc } from '../values.js';

const S = 'string' as const;

// compiled compiles for the must* variants: a syntax error is returned as the function's error.
function compiled(expr: string): GoRegexp {
  try {
    return GoRegexp.compile(expr);
  } catch (e) {
    if (e instanceof RegexSyntaxError) throw new GoError(e.message);
    throw e;
  }
}

/** REGEX_FUNCS are Sprig's regexMatch, regexFind, regexFindAll, regexReplaceAll(Literal), regexSplit and must* forms. */
export const REGEX_FUNCS: Record<string, GoFunc> = {
  regexMatch: goFunc({ in: [S, S], out: 'bool' }, (re: string, s: string) => {
    try {
      return GoRegexp.compile(re).matchString(s);
    } catch (e) {
      if (e instanceof RegexSyntaxError) return false;
      throw e;
    }
  }),
  mustRegexMatch: goFunc({ in: [S, S], out: 'bool' }, (re: string, s: string) => compiled(re).matchString(s)),
  regexFindAll: goFunc({ in: [S, S, 'int'], out: '[]string' }, (re: string, s: string, n: number) =>
    GoRegexp.mustCompile(re).findAllString(s, n),
  ),
  mustRegexFindAll: goFunc({ in: [S, S, 'int'], out: '[]string' }, (re: string, s: string, n: number) => compiled(re).findAllString(s, n)),
  regexFind: goFunc({ in: [S, S], out: S }, (re: string, s: string) => GoRegexp.mustCompile(re).findString(s)),
  mustRegexFind: goFunc({ in: [S, S], out: S }, (re: string, s: string) => compiled(re).findString(s)),
  regexReplaceAll: goFunc({ in: [S, S, S], out: S }, (re: string, s: string, r: string) => GoRegexp.mustCompile(re).replaceAll(s, r, false)),
  mustRegexReplaceAll: goFunc({ in: [S, S, S], out: S }, (re: string, s: string, r: string) => compiled(re).replaceAll(s, r, false)),
  regexReplaceAllLiteral: goFunc({ in: [S, S, S], out: S }, (re: string, s: string, r: string) =>
    GoRegexp.mustCompile(re).replaceAll(s, r, true),
  ),
  mustRegexReplaceAllLiteral: goFunc({ in: [S, S, S], out: S }, (re: string, s: string, r: string) => compiled(re).replaceAll(s, r, true)),
  regexSplit: goFunc({ in: [S, S, 'int'], out: '[]string' }, (re: string, s: string, n: number) => GoRegexp.mustCompile(re).split(s, n)),
  mustRegexSplit: goFunc({ in: [S, S, 'int'], out: '[]string' }, (re: string, s: string, n: number) => compiled(re).split(s, n)),
};
