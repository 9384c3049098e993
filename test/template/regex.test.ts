// Sprig regex functions on the RE2 engine, checked against Go's regexp through the oracle.
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../src/errors.js';
import { renderTemplate, sprigFuncs } from '../../src/gotemplate/index.js';
import { GoRegexp } from '../../src/gotemplate/re2/index.js';
import { OracleCase, oracleTable } from './oracle.js';

// Each [pattern, input] pair is checked with regexFindAll (all matches), regexReplaceAll with a
// group template and regexSplit, so one row covers matching, submatches and empty-match rules.
const patterns: [string, string][] = [
  ['a+', 'caaandy aa'],
  ['a*', 'baaac'],
  ['a*?', 'baaac'],
  ['(a|ab)(c|bcd)', 'abcd'],
  ['(a+)(b+)?', 'aab ab a'],
  ['x*', ''],
  ['', 'abc'],
  ['^', 'abc'],
  ['$', 'abc'],
  ['^a|b$', 'ab ab'],
  ['(?m)^\\w+$', 'one\ntwo\nthree'],
  ['\\bfoo\\b', 'foo foobar barfoo foo'],
  ['\\Bo', 'foo boo'],
  ['[[:alpha:]]+', 'abc123def'],
  ['[[:^digit:]]+', 'abc123def'],
  ['[^a-c]+', 'abcdefabc'],
  ['[\\d.]+', 'v1.2.3-rc4'],
  ['\\s+', 'a  b\tc\nd'],
  ['\\S+', 'a  b\tc\nd'],
  ['\\W+', 'a-b_c d'],
  ['(?i)hello', 'Hello HELLO hello hElLo'],
  ['(?i)[a-c]+', 'xABCabcx'],
  ['(?i)k', 'kK\u212a'],
  ['(?s)a.b', 'a\nb'],
  ['a.b', 'a\nb axb'],
  ['(?U)a+', 'aaa'],
  ['(?U)a+?', 'aaa'],
  ['a{2}', 'aaaaa'],
  ['a{2,}', 'aaaaa a'],
  ['a{1,2}', 'aaaaa'],
  ['a{0}b', 'ab'],
  ['x{', 'x{'],
  ['x{1', 'x{1'],
  ['(?P<year>\\d{4})-(?P<month>\\d{2})', '2024-05 1999-12'],
  ['\\p{Greek}+', 'abc αβγ def'],
  ['\\pL+', 'héllo wörld 123'],
  ['\\PL+', 'héllo wörld 123'],
  ['\\p{Lu}', 'aBcD'],
  ['[\\p{Nd}x]+', '12x3 y'],
  ['\\x41\\x{42}\\101', 'ABA'],
  ['\\Q.*\\E+', '.*.*..'],
  ['a|b|c', 'xaybzc'],
  ['(a)|(b)', 'ab'],
  ['((a)|b)+', 'ab'],
  ['(a*)*', 'b'],
  ['(a*)+', 'b'],
  ['(a|b)*?c', 'abac'],
  ['\\d+', 'äöü 42 ٣'],
  ['.', 'héllo😀'],
  ['[😀-😂]', 'a😁b'],
  ['\\A\\w', 'ab cd'],
  ['\\w\\z', 'ab cd'],
  ['(?i)straße', 'STRASSE straße STRAẞE'],
  ['[^\\n]+', 'a\nb'],
  ['\\.', 'a.b.c'],
  ['\\$\\{\\w+\\}', 'x ${a} ${bc}'],
];

const matchCases: OracleCase[] = patterns.flatMap(([p, s], i) => {
  const data = { p, s };
  return [
    { name: `findAll #${i} ${p}`, template: '{{ regexFindAll .p .s -1 | toJson }}', data },
    { name: `replace #${i} ${p}`, template: '{{ regexReplaceAll .p .s "<${1}|$0>" }}', data },
    { name: `split #${i} ${p}`, template: '{{ regexSplit .p .s -1 | toJson }}', data },
  ];
});

const errors: [string, string][] = [
  ['missing paren', '(abc'],
  ['unexpected paren', 'abc)'],
  ['missing bracket', '[abc'],
  ['bad range', '[z-a]'],
  ['bad escape', '\\q'],
  ['backreference', '(a)\\1'],
  ['trailing backslash', 'abc\\'],
  ['nested repetition', 'a**'],
  ['nested repetition lazy', 'a*?+'],
  ['missing argument', '*a'],
  ['missing argument lazy', '+?a'],
  ['bad repeat', 'a{2,1}'],
  ['repeat too large', 'a{1001}'],
  ['nested repeat too large', '(a{100}){100}'],
  ['bad named capture', '(?P<1-x>a)'],
  ['unclosed named capture', '(?P<name'],
  ['perl lookahead', '(?=a)'],
  ['go 1.22 named group', '(?<n>a)'],
  ['bad flag', '(?z)a'],
  ['bad posix class', '[[:foo:]]'],
  ['bad unicode class', '\\p{Foo}'],
  ['bare \\p', 'a\\p'],
  ['backspace in class', '[\\b]'],
  ['\\Z unsupported', 'a\\Z'],
  ['\\C unsupported', '\\C'],
];

const errorCases: OracleCase[] = errors.flatMap(([name, p]) => [
  { name: `must compile error: ${name}`, template: '{{ mustRegexMatch .p "x" }}', data: { p } },
  { name: `panic compile error: ${name}`, template: '{{ regexFind .p "x" }}', data: { p } },
]);

const other: OracleCase[] = [
  { name: 'regexMatch', template: '{{ regexMatch "^[a-z]+\\\\d$" "abc1" }} {{ regexMatch "^x" "abc" }} {{ regexMatch "(" "x" }}' },
  { name: 'regexFind', template: '[{{ regexFind "[0-9]+" "ab12cd34" }}][{{ regexFind "z" "abc" }}]' },
  { name: 'regexFindAll limit', template: '{{ regexFindAll "a" "aaaa" 2 }} {{ regexFindAll "a" "aaaa" 0 | toJson }} {{ regexFindAll "z" "aaaa" -1 | toJson }}' },
  { name: 'regexSplit limits', template: '{{ regexSplit "," "a,b,c" 2 | toJson }} {{ regexSplit "," "a,b,c" 0 | toJson }} {{ regexSplit "," "" -1 | toJson }} {{ regexSplit "" "" -1 | toJson }}' },
  { name: 'replace templates', template: '{{ regexReplaceAll "(\\\\w+)@(\\\\w+)" "ann@x bob@y" "$2:$1 $$ $3 ${1}x $1x $" }}' },
  { name: 'replace named', template: '{{ regexReplaceAll "(?P<k>\\\\w+)=(?P<v>\\\\w+)" "a=1,b=2" "${v}=${k} $nope" }}' },
  { name: 'replace literal', template: '{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}' },
  { name: 'replace empty matches', template: '{{ regexReplaceAll "x*" "abc" "-" }} {{ regexReplaceAll "" "héllo" "." }}' },
  { name: 'quote meta round trip', template: '{{ regexMatch (regexQuoteMeta "a.b*c") "a.b*c" }} {{ regexMatch (regexQuoteMeta "a.b*c") "axbbc" }}' },
  { name: 'regex with int64 count fails', template: '{{ regexFindAll "a" "aa" .n }}', data: { n: 1 } },
];

describe('sprig regex functions', () => {
  oracleTable([...matchCases, ...errorCases, ...other]);
});

describe('regex engine bounds', () => {
  it('matches a catastrophic-backtracking pattern in linear time', () => {
    const input = 'a'.repeat(5000) + '!';
    const started = Date.now();
    expect(GoRegexp.compile('(a+)+$').matchString(input)).toBe(false);
    expect(GoRegexp.compile('(a|aa)*b').matchString(input)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops a pattern whose work exceeds the step budget with a LIMIT error', () => {
    const pattern = '(' + 'a?'.repeat(300) + ')' + 'a'.repeat(300) + 'b';
    const text = 'a'.repeat(200_000);
    let err: unknown;
    try {
      renderTemplate('{{ regexMatch .p .s }}', { p: pattern, s: text }, { funcs: sprigFuncs() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as TemplateError).code).toBe('LIMIT');
  });

  it('refuses programs that expand beyond the size bound', () => {
    expect(() => GoRegexp.compile('(((a{100}){10}){10})')).toThrow(/invalid repeat count/);
    expect(() => GoRegexp.compile('[a-z]{1000}[a-z]{1000}'.repeat(60))).toThrow(/expression too large/);
  });
});
