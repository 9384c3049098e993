// The block YAML reader against the `yaml` library it stands in for: whatever it accepts, it must read exactly
// as the library does (documents, values, types), on go-yaml's own output, on generated objects, and on random
// damage to both; and it must accept the shape exports write.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { sigsYAMLMarshal } from '../resolve/goyaml.js';
import { KUBERNETES_YAML, MAYBE_TAGGED_FIRST, readKubernetesNames, readKubernetesYAML } from './yaml-block.js';

const options = KUBERNETES_YAML;
const read = readKubernetesYAML;

// library reads `text` as parseObjects does; undefined when it reports an error.
function library(text: string): unknown[] | undefined {
  const docs = parseAllDocuments(text, options);
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.some((d) => d.errors.length > 0)) return undefined;
  return list.map((d) => d.toJS({ maxAliasCount: 1000 }) as unknown);
}

// nameFieldsOf is what readKubernetesNames keeps of a document read whole: apiVersion, kind and metadata where
// present, and of a metadata mapping only name and namespace.
function nameFieldsOf(doc: unknown): unknown {
  if (doc === null || typeof doc !== 'object') return doc;
  const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.filter((k) => Object.hasOwn(o, k)).map((k) => [k, o[k]]));
  const d = doc as Record<string, unknown>;
  const out = pick(d, ['apiVersion', 'kind']);
  const meta = d.metadata;
  if (Object.hasOwn(d, 'metadata')) out.metadata = meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? pick(meta as Record<string, unknown>, ['name', 'namespace']) : meta;
  return out;
}

// agrees: the reader either declines, or reads what the library reads (and the library finds no error); the
// names reader declines the same texts and keeps the name fields of the same documents.
function expectAgreement(text: string): boolean {
  const fast = read(text);
  expect({ text, names: readKubernetesNames(text) }).toEqual({ text, names: fast?.map(nameFieldsOf) });
  if (fast === undefined) return false;
  expect({ text, value: library(text) }).toEqual({ text, value: fast });
  return true;
}

// sfc32, seeded: the same cases on every run.
function random(seed: number): () => number {
  let a = seed, b = 0x9e3779b9, c = 0x243f6a88, d = 0xb7e15162;
  return () => {
    a |= 0; b |= 0; c |= 0; d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

const WORDS = ['name', 'namespace', 'yes', 'no', 'on', 'off', 'true', 'null', '~', '0', '012', '0x1f', '1e3', 'e2', 'E+5', '1_000', '+1', '-.5', '0b1', '0o7', '190:20:30', 'Yes', 'OFF', 'Null', 'NaN', '.NaN', '.5', '.inf', '1:20', '<<', '-', '- x', 'a: b', 'a #b', 'a#b', '#c', "it's", '"q"', 'x,y', '[a]', '{a}', 'café', 'tab\there', 'multi\nline', 'trailing\n', 'two\n\n', '  lead', 'end ', '', 'fleet-0', 'config-7ajb9t1kv4xpmyfwyy4l', '2026-01-01', 'v1.2.3', '10Gi', '@at', '%p', '!tag', '&a', '*a', '|', '>', '?', ':', 'k: v\nk2: v2'];

function value(r: () => number, depth: number): unknown {
  const pick = r();
  if (depth > 3 || pick < 0.45) {
    const k = r();
    if (k < 0.6) return WORDS[Math.floor(r() * WORDS.length)];
    if (k < 0.75) return Math.floor(r() * 2000) - 1000;
    if (k < 0.8) return r() < 0.5;
    if (k < 0.85) return null;
    if (k < 0.9) return r() * 100;
    // Long text of words: go-yaml wraps it over several lines.
    if (k < 0.95) return Array.from({ length: 5 + Math.floor(r() * 40) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
    return 'x'.repeat(Math.floor(r() * 120));
  }
  if (pick < 0.7) return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) o[WORDS[Math.floor(r() * WORDS.length)]!] = value(r, depth + 1);
  return o;
}

function damage(text: string, r: () => number): string {
  const pieces = [' ', '  ', '\n', ':', ': ', '#', '- ', '-', '"', "'", '\\', '|', '|-', '|+', '>', '&a ', '*a', '!!str ', '{', '}', '[', ']', ',', '\t', '---\n', '...\n', '? ', 'x', '\r', '\u2028', '0', 'y'];
  let t = text;
  for (let n = 1 + Math.floor(r() * 3); n > 0; n--) {
    const at = Math.floor(r() * (t.length + 1));
    const k = r();
    if (k < 0.5) t = t.slice(0, at) + pieces[Math.floor(r() * pieces.length)] + t.slice(at);
    else if (k < 0.8) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 3));
    else {
      const lines = t.split('\n');
      const i = Math.floor(r() * lines.length);
      lines.splice(i, 0, lines[Math.floor(r() * lines.length)]!);
      t = lines.join('\n');
    }
  }
  return t;
}

const oracle = (JSON.parse(readFileSync(new URL('../../test/fixtures/sveltos-oracle/expected.json', import.meta.url), 'utf8')) as { yaml?: string[] }[]).flatMap((e) => e.yaml ?? []);

describe('blockYAMLReader', () => {
  it("reads go-yaml's own output as the library does", () => {
    let accepted = 0;
    for (const y of oracle) if (expectAgreement(`---\n${y}`)) accepted++;
    expect(accepted).toBeGreaterThanOrEqual(5);
  });

  it('reads generated objects, as exports write them, as the library does', () => {
    const r = random(1);
    let accepted = 0;
    const total = 400;
    for (let i = 0; i < total; i++) {
      const docs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `n${i}` }, data: value(r, 0) }));
      if (expectAgreement(docs.map((d) => `---\n${sigsYAMLMarshal(d)}`).join(''))) accepted++;
    }
    // Many of them (the words are chosen to be awkward); what it declines the library reads.
    expect(accepted).toBeGreaterThan(total * 0.4);
  });

  it('reads objects for their names as it reads them whole, and declines the same texts', () => {
    const r = random(3);
    const meta = () => {
      const m: Record<string, unknown> = { name: r() < 0.8 ? `n${Math.floor(r() * 100)}` : value(r, 2) };
      if (r() < 0.5) m.namespace = r() < 0.8 ? 'fleet-0' : value(r, 2);
      if (r() < 0.5) m.labels = value(r, 1);
      if (r() < 0.3) m.annotations = Object.fromEntries(Array.from({ length: Math.floor(r() * 30) }, (_, i) => [`k${i}.example.io/${WORDS[i % WORDS.length]}`, value(r, 3)]));
      return m;
    };
    let accepted = 0;
    const total = 400;
    for (let i = 0; i < total; i++) {
      const docs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({
        apiVersion: r() < 0.9 ? 'lib.projectsveltos.io/v1beta1' : value(r, 2),
        kind: r() < 0.9 ? 'ConfigurationGroup' : value(r, 2),
        metadata: r() < 0.9 ? meta() : value(r, 1),
        spec: value(r, 0),
      }));
      if (expectAgreement(docs.map((d) => `---\n${sigsYAMLMarshal(d)}`).join(''))) accepted++;
    }
    // Fewer are accepted than above (up to three awkward values a document, each may be declined); every
    // outcome is checked.
    expect(accepted).toBeGreaterThan(total * 0.15);
  });

  it.each([
    ['a key twice deep in what is not kept', 'kind: A\nspec:\n  x:\n    b: 1\n    b: 2\n'],
    ['a key twice in labels', 'kind: A\nmetadata:\n  name: a\n  labels:\n    a: b\n    a: c\n'],
    ['a key twice among many', `kind: A\nspec:\n${Array.from({ length: 40 }, (_, i) => `  k${i % 30 === 29 ? 3 : i}: v\n`).join('')}`],
    ['an alias in what is not kept', 'kind: A\nspec:\n  a: &x 1\n  b: *x\n'],
    ['__proto__ in what is not kept', 'kind: A\nspec:\n  __proto__: 1\n'],
    ['a tagged key in what is not kept', 'kind: A\nspec:\n  1: a\n'],
    ['a comment after content in what is not kept', 'kind: A\nspec:\n  a: 1 # c\n'],
  ])('declines %s, as the whole reader does', (_name, text) => {
    expect(read(text)).toBeUndefined();
    expect(readKubernetesNames(text)).toBeUndefined();
  });

  it.each([
    ['many keys, none twice', `kind: A\nmetadata:\n  name: a\nspec:\n${Array.from({ length: 40 }, (_, i) => `  k${i}: v\n`).join('')}`, [{ kind: 'A', metadata: { name: 'a' } }]],
    ['metadata as a list', 'kind: A\nmetadata:\n- name: a\n', [{ kind: 'A', metadata: [{ name: 'a' }] }]],
    ['metadata as text', 'kind: A\nmetadata: a\n', [{ kind: 'A', metadata: 'a' }]],
    ['metadata empty', 'kind: A\nmetadata:\nspec: |\n  x\n', [{ kind: 'A', metadata: null }]],
    ['a mapping for apiVersion, a number for the name', 'apiVersion:\n  a: [b]\nmetadata:\n  name: 12\n  namespace: "x"\n  labels: {}\n', [{ apiVersion: { a: ['b'] }, metadata: { name: 12, namespace: 'x' } }]],
  ] as [string, string, unknown[]][])('keeps the names of %s', (_name, text, want) => {
    expect(readKubernetesNames(text)).toEqual(want);
    expect(read(text)?.map(nameFieldsOf)).toEqual(want);
  });

  it('reads plain text go-yaml wraps over several lines (CRD descriptions), as the library does', () => {
    const r = random(4);
    const plain = ['the', 'resources', 'which', 'will', 'be', 'cleaned', 'up.', 'Equals,', 'NotEquals', '`apiGroups`', '-x', 'a-b', '1.5', 'yes', 'null', '"q"', "it's", '(e.g.', 'JMESPath)', 'x:y', 'a#b', '[x]', '{y}', '&a', '*b', '!t', '|p', '>q', '%r', '@s', '`t`', ',v', '--flag', '-', '?', ':', '?x', ':x', '-1'];
    let wrapped = 0;
    for (let i = 0; i < 200; i++) {
      const text = Array.from({ length: 10 + Math.floor(r() * 60) }, () => plain[Math.floor(r() * plain.length)]).join(' ');
      const yaml = `---\n${sigsYAMLMarshal({ spec: { description: text, items: [text, { description: text }] } })}`;
      // Only documents where the first description goes on below its key (indented deeper than `description:`).
      const lines = yaml.split('\n');
      if (!lines.some((l, k) => l.startsWith('  description: ') && lines[k + 1]?.startsWith('    '))) continue;
      if (expectAgreement(yaml)) wrapped++;
    }
    expect(wrapped).toBeGreaterThan(20);
    // Text with a space before a line break go-yaml double-quotes (a literal block cannot hold it), and wraps too.
    let quoted = 0;
    for (let i = 0; i < 200; i++) {
      const text = Array.from({ length: 10 + Math.floor(r() * 60) }, () => plain[Math.floor(r() * plain.length)] + (r() < 0.1 ? ' \n' : r() < 0.05 ? ':' : '')).join(r() < 0.1 ? '  ' : ' ');
      const yaml = `---\n${sigsYAMLMarshal({ spec: { description: text, items: [text, { description: text }] } })}`;
      const lines = yaml.split('\n');
      if (!lines.some((l, k) => l.startsWith('  description: "') && lines[k + 1]?.startsWith('    '))) continue;
      if (expectAgreement(yaml)) quoted++;
    }
    expect(quoted).toBeGreaterThan(20);
    expect(read('a: "one\n  two\\\n  three"\n')).toEqual([{ a: 'one twothree' }]);
    expect(read('a: "one\n\n  two"\n')).toBeUndefined();
    expect(read('a: "one\ntwo"\n')).toBeUndefined();
    // Continued below a sequence item and a mapping value; a blank line or a comment ends the text, which then
    // reads as something the subset does not take.
    expect(read('a: one\n  two\n  three\nb:\n- four\n  five\n')).toEqual([{ a: 'one two three', b: ['four five'] }]);
    expect(read('a: one\n\n  two\n')).toBeUndefined();
    expect(read('a: one\n  # two\n')).toBeUndefined();
    expect(read('a: one\n  two: three\n')).toBeUndefined();
  });

  it('skips the comments and blank lines before a document, as `helm template` prints them, as the library does', () => {
    const r = random(3);
    const heads = ['', '\n', '# Source: chart/templates/cm.yaml\n', '\n# Source: chart/templates/cm.yaml\n', '  # indented\n\n#\n', '   \n# a\n', '#no newline'];
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const head = heads[i % heads.length]!;
      const body = i % 5 === 0 ? '' : sigsYAMLMarshal({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `n${i}` }, data: value(r, 0) });
      if (expectAgreement(head + body)) accepted++;
    }
    expect(accepted).toBeGreaterThan(100);
    expect(read('# only a comment')).toEqual([]);
    expect(read('a: b\n# trailing\n')).toEqual([{ a: 'b' }]);
  });

  it('skips comment lines, lines of spaces and spaces after a key, as templates leave them, as the library does', () => {
    const r = random(4);
    // What templates leave between the lines of a document: a comment at any depth, a line of spaces, spaces
    // after a key whose value is below (or empty), two spaces after a key's colon.
    const litter = (line: string): string[] => {
      const k = r();
      const depth = ' '.repeat(Math.floor(r() * 8));
      if (k < 0.05) return [`${depth}# ${WORDS[Math.floor(r() * WORDS.length)]}`, line];
      if (k < 0.1) return [depth, line];
      if (k < 0.2 && line.endsWith(':')) return [`${line}${' '.repeat(1 + Math.floor(r() * 4))}`];
      if (k < 0.25) return [line.replace(/^(\s*(?:- )?[a-zA-Z.]+:) (?=\S)/, '$1  ')];
      if (k < 0.3) return [`${line}${' '.repeat(1 + Math.floor(r() * 3))}`];
      return [line];
    };
    let accepted = 0;
    let littered = 0;
    for (let i = 0; i < 600; i++) {
      const plain = sigsYAMLMarshal({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `n${i}`, labels: { app: 'x' } }, data: value(r, 0) });
      const text = plain.split('\n').slice(0, -1).flatMap(litter).join('\n') + '\n';
      if (expectAgreement(`---\n${text}`)) {
        accepted++;
        if (text !== plain) littered++;
      }
    }
    expect(littered).toBeGreaterThan(180);
    expect(accepted).toBeGreaterThan(200);
    // Spaces after every line of long double-quoted text go-yaml wraps (a tab makes it quoted), some lines ending
    // in a colon: inside the quoted scalar they are folded away, so only the lines of keys may keep them.
    const words = ['a:', 'b', 'tab\there', 'key:', 'name', 'x'];
    for (let i = 0; i < 200; i++) {
      const text = Array.from({ length: 30 + Math.floor(r() * 40) }, () => words[Math.floor(r() * words.length)]).join(' ');
      const yaml = sigsYAMLMarshal({ data: { text }, list: [{ text }] });
      expectAgreement(yaml.split('\n').map((l) => (l && r() < 0.5 ? `${l}${' '.repeat(1 + Math.floor(r() * 3))}` : l)).join('\n'));
    }
    // Only a key and its `:` may end in spaces: before a quoted scalar's line break they are folded away.
    for (const t of ['key: "a:   \n  b"\n', 'l:\n- k: "v:  \n   w"\n', 'a:b:  \n', '"k":  \n']) expect(read(t)).toBeUndefined();
    expect(read('l:\n- k:  \n  j: 1\n')).toEqual([{ l: [{ k: null, j: 1 }] }]);
    // In a literal block a line of spaces is content (deeper than the block) or an empty line: left to the library.
    expect(read('a: |\n  x\n    \n  y\nb: c\n')).toBeUndefined();
    expect(read('a: |\n  x\n \n  y\nb: c\n')).toBeUndefined();
    expect(read('a: |\n  x\n \nb: c\n')).toEqual([{ a: 'x\n', b: 'c' }]);
    // After a plain value a comment ends it; a deeper comment line is left to the library (above: the ones
    // inside a document).
    expect(read('a: one\n# two\nb: c\n')).toEqual([{ a: 'one', b: 'c' }]);
    expect(read('a: one\n  # two\n')).toBeUndefined();
  });

  it('reads one-line flow sequences of quoted and plain words, as RBAC rules are printed, as the library does', () => {
    const r = random(5);
    const item = () => {
      const w = WORDS[Math.floor(r() * WORDS.length)]!;
      return r() < 0.5 ? JSON.stringify(w) : w;
    };
    let accepted = 0;
    for (let i = 0; i < 600; i++) {
      const items = Array.from({ length: Math.floor(r() * 4) }, item);
      const sep = [', ', ',', ' , ', ',  '][Math.floor(r() * 4)]!;
      const seq = `[${r() < 0.2 ? ' ' : ''}${items.join(sep)}${r() < 0.2 ? ' ' : ''}]`;
      if (expectAgreement(`rules:\n- apiGroups: ${seq}\n  verbs: ${seq}\nlist: ${seq}\n`)) accepted++;
    }
    expect(accepted).toBeGreaterThan(100);
    expect(read('rules:\n- apiGroups: ["", "apps"]\n  verbs: [get, list, watch]\n')).toEqual([{ rules: [{ apiGroups: ['', 'apps'], verbs: ['get', 'list', 'watch'] }] }]);
    // An empty one alone below its key, as `toYaml` of nothing prints it.
    expect(read('resources:\n  {}\nargs:\n  []\nitems:\n-\n  {}\n')).toEqual([{ resources: {}, args: [], items: [{}] }]);
    for (const t of ['a:\n{}\n', 'a:\n  {}\n  b: c\n', 'a:\n  {} \n', 'a:\n  {x}\n']) expectAgreement(t);
    // Nesting, a flow mapping, a comment after it, or a sequence going on below: left to the library.
    for (const t of ['a: [[x]]\n', 'a: [{b: c}]\n', 'a: [x] # c\n', 'a: [x,\n  y]\n', 'a: [x: y]\n', 'a: [-x]\n']) expect(read(t)).toBeUndefined();
  });

  it('never reads damaged YAML otherwise than the library (or accepts what it refuses)', () => {
    const r = random(2);
    const seeds = [...oracle.map((y) => `---\n${y}`)];
    for (let i = 0; i < 60; i++) seeds.push(`---\n${sigsYAMLMarshal({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `n${i}` }, data: value(r, 0) })}`);
    let accepted = 0;
    for (let i = 0; i < 6000; i++) if (expectAgreement(damage(seeds[Math.floor(r() * seeds.length)]!, r))) accepted++;
    expect(accepted).toBeGreaterThan(100);
  });

  it('tests the tags on every plain scalar a tag of the schema could resolve', () => {
    // Every tag's test, on every printable ASCII first character it can match (followed by what completes a match).
    const tails = ['', '0', '1', '00', '2', 'e2', '.5', 'ull', 'ULL', 'es', 'ES', 'rue', 'RUE', 'n', 'N', 'ff', 'FF', 'o', 'O', 'alse', 'ALSE', 'inf', 'nan', 'NaN', 'x1', 'b1', 'o7', ':20', '<', '1e3'];
    let checked = 0;
    for (let c = 33; c < 127; c++) {
      const ch = String.fromCharCode(c);
      // Indicators never start a plain scalar the reader takes.
      if (MAYBE_TAGGED_FIRST.includes(ch) || '?:,[]{}#&*!|>\'"%@`'.includes(ch)) continue;
      for (const tail of tails) {
        const [doc] = library(`k: ${ch}${tail}\n`)!;
        expect({ text: `${ch}${tail}`, type: typeof (doc as { k: unknown }).k }).toEqual({ text: `${ch}${tail}`, type: 'string' });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it.each([
    ['', []],
    ['---\n', [null]],
    ['---\n---\n', [null, null]],
    ['\n---\na: 1\n', [{ a: 1 }]],
    ['a: 1\n---\nb: yes\n', [{ a: 1 }, { b: true }]],
    ['a:\n- x\n- - y\nb: 1\n', undefined],
    ['a:\n- x\n-\n  k: v\nb:\n  c: "q\\u00e9\\n"\n', [{ a: ['x', { k: 'v' }], b: { c: 'qé\n' } }]],
    ['a: |\n  x\n\n   y\n\nb: |-\n  z\n', [{ a: 'x\n\n y\n', b: 'z' }]],
    ['a: 1\na: 2\n', undefined],
    ['a: &x 1\nb: *x\n', undefined],
    ['a: 1 # c\n', undefined],
    ['a: 1', undefined],
    ['<<: {}\n', undefined],
    ['1: a\n', undefined],
    ['__proto__: a\n', undefined],
  ] as [string, unknown[] | undefined][])('%j', (text, want) => {
    expect(read(text)).toEqual(want);
    if (want !== undefined) expect(library(text)).toEqual(want);
  });
});
