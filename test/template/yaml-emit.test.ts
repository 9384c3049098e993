// The YAML writer's scalar paths against Go's sigs.k8s.io/yaml: each value below sits on an edge
// of the run-based writer (where a run of text ends, where a line folds at column 80, where an
// escape or a quote changes the width), as a value, as a key and nested under keys and lists.
import { describe } from 'vitest';
import { OracleCase, oracleTable } from './oracle.js';

const words = (n: number, w = 'word') => Array.from({ length: n }, (_, i) => `${w}${i}`).join(' ');

const VALUES: Record<string, string> = {
  nonAscii: 'café ß 中文 Ünïcödé ' + words(12, 'é'),
  astral: '😀 grin ' + words(8) + ' 𝄞 clef 😀',
  astralOnly: '😀',
  astralLong: ('😀 ' + 'x'.repeat(7) + ' ').repeat(12),
  longPlain: words(40),
  longAt80: 'a'.repeat(79) + ' b ' + 'c'.repeat(90) + ' d',
  longDoubleSpaces: words(12) + '  ' + words(12) + '   ' + words(20),
  longQuoted: "'" + words(15) + " it's 'here' " + words(15, "o'k"),
  quotesAtFold: words(9) + " '''' " + "'x".repeat(30) + ' ' + words(9),
  longSingleIndicator: '- ' + words(30),
  longWithTab: words(12) + '\t' + words(12),
  longWithControl: words(12) + '\u0001' + words(12) + '\u001b' + words(5),
  longWithBackslash: words(10) + ' C:\\path\\"x" ' + words(10),
  multiline: 'line one\nline two\n\nline four with ' + words(25) + '\n',
  multilineKeep: 'a\nb\n\n',
  multilineLeadingSpace: '  indented\nnext\n',
  multilineLeadingBreak: '\nafter break',
  multilineTrailingSpace: 'a \nb',
  multilineNonAscii: 'ü\n中\n😀\n',
  lineSeparator: 'one\u2028two ' + words(30),
  paragraphSeparator: 'x\u2029y',
  nel: 'one\u0085two',
  carriageReturn: 'a\r\nb',
  bom: '\ufeffbom ' + words(20),
  nbsp: 'a\u00a0b ' + words(20),
  controls: '\u0000\u0007\u0008\u000b\u000c\u001b\u001f',
  specials: ': # - ? , [ ] { } & * ! | > % @ `',
  colonSpace: 'key: value',
  hashComment: 'text #comment',
  docStart: '--- x',
  docEnd: '...',
  spacesOnly: '   ',
  leadingSpace: ' lead',
  trailingSpace: 'trail ',
  empty: '',
  colonInside: 'a:b',
  colonAtEnd: 'a:',
  hashAfterSpace: 'a #b',
  hashInside: 'a#b',
  dash: '-',
  question: '?',
  colon: ':',
  dashWord: '-a',
  questionSpace: '? x',
  hashFirst: '#x',
  url: 'https://example.com:8443/path?q=1#frag',
  number: '12',
  boolish: 'True',
  private: '\ue000\ufffd',
};

const cases: OracleCase[] = [
  { name: 'scalar edge cases as values', template: '{{ toYaml .v }}', data: { v: VALUES } },
  { name: 'scalar edge cases as keys', template: '{{ toYaml .k }}', data: { k: Object.fromEntries(Object.entries(VALUES).map(([k, v]) => [v, k])) } },
  { name: 'scalar edge cases in a list under keys', template: '{{ toYaml .d }}', data: { d: { a: { b: [{ c: Object.values(VALUES) }] } } } },
  // Keys of letters only sort in string order; any other character brings in yaml.v2's natural order.
  { name: 'keys of letters only, mixed case and prefixes', template: '{{ toYaml .k }}', data: { k: Object.fromEntries(['b', 'a', 'B', 'A', 'ab', 'aB', 'Ab', 'abc', 'Z', 'zz', 'z', ''].map((k, i) => [k, i])) } },
  { name: 'keys of letters beside keys with digits and punctuation', template: '{{ toYaml .k }}', data: { k: Object.fromEntries(['a10', 'a9', 'a', 'a-b', 'aB', 'a.b', 'a_b', 'b2', 'B', '1', '01'].map((k, i) => [k, i])) } },
  ...Object.entries(VALUES).map(([name, v]) => ({ name: `scalar ${name} alone`, template: '{{ toYaml .v }}', data: { v } })),
  ...Object.entries(VALUES).map(([name, v]) => ({ name: `scalar ${name} as a key alone`, template: '{{ toYaml .v }}', data: { v: { [v]: 1 } } })),
];

describe('YAML writer scalar edge cases', () => {
  oracleTable(cases.map((c) => ({ ...c, funcs: 'sveltos' as const })));
});
