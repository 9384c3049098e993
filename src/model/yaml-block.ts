// A fast reader for the plain block-style YAML that go-yaml writes: the objects layers of a bundle, and most of
// what `helm template` prints (CRDs above all). Reading it with the `yaml` library costs most of a verify and
// of a cold chart export; this reader takes the common shape (block mappings and sequences, plain and
// double-quoted scalars, wrapped over lines too, one-line single-quoted scalars, literal blocks, one-line flow
// sequences of words, and the comment lines, lines of spaces and spaces after keys templates leave) in one pass
// over the lines and gives up on anything else (aliases, tags, other flow collections, comments after content,
// folded scalars, odd indentation, duplicate keys...), which the caller then reads with the library.
// What it accepts it reads exactly as the library does: plain scalars are resolved by the library's own tags.
import type { DocumentOptions, ParseOptions, SchemaOptions } from 'yaml';
import { yamlLib } from './yaml-lib.js';

// A line that is a plain key, its `:` and spaces, maybe after a sequence's dash (a template's `key: {{ ... }}`
// that printed nothing, or indentation left after it); the key is checked as any other. Nothing else may end
// in spaces: in a quoted scalar going on below, for one, they would be folded away.
const KEY_THEN_SPACES = /^ *(?:- )?[^ :#"'][^:#]*: +$/;

// A plain item of a flow sequence the subset takes: a word no flow indicator, blank or `:` can be part of.
const FLOW_WORD = /^[A-Za-z0-9_./][A-Za-z0-9_./-]*/;

// Thrown for anything outside the subset; never escapes readBlockDocuments.
class Unsupported extends Error {}

const unsupported = (): never => {
  throw new Unsupported();
};

// Characters the subset does not take anywhere: control characters but tab and newline, CR, DEL and C1, the
// Unicode line and paragraph separators, BOM, and surrogates.
const EXCLUDED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ud800-\udfff]/;

// First characters that may start a scalar some YAML 1.1 tag resolves (null: ~ n N; bool: y Y n N t T f F o O;
// int and float: sign, dot, digit, and e E (the mantissa of `1e3` is optional: `e3` is a float); merge: <).
// Any other plain scalar is a string without testing the tags.
export const MAYBE_TAGGED_FIRST = '-+.0123456789~<nNyYtTfFoOeE';
const MAYBE_TAGGED = new Uint8Array(128);
for (const c of MAYBE_TAGGED_FIRST) MAYBE_TAGGED[c.charCodeAt(0)] = 1;

// Indicators that may not start a plain scalar of the subset (a dash may, before a non-space).
const INDICATOR = new Uint8Array(128);
for (const c of '?:,[]{}#&*!|>\'"%@` \t') INDICATOR[c.charCodeAt(0)] = 1;

type ScalarResolver = (plain: string, atKey: boolean) => unknown;

// How many scalars a resolver remembers the tag of, and of what length at most: a shorter slice of a text is a
// copy, a longer one may keep the whole text alive (V8 copies substrings of fewer than 13 characters).
const RESOLVED_MEMO = 4096;
const RESOLVED_MEMO_LENGTH = 12;

/** resolverFor resolves plain scalars with the tags the `yaml` library uses for `options`. */
function resolverFor(options: DocumentOptions & SchemaOptions & ParseOptions): ScalarResolver {
  const { Document, isScalar } = yamlLib();
  const doc = new Document(null, null, options);
  const tags = doc.schema.tags.filter((t) => !('collection' in t && t.collection) && (t.default === true || t.default === 'key') && t.test);
  // Which tag each scalar tested so far resolves to (null: none), for keys and for values: the same few (`name`,
  // `namespace`, `true`, small numbers) come back on every line. Bounded: hostile text cannot grow it.
  const seen = [new Map<string, (typeof tags)[number] | null>(), new Map<string, (typeof tags)[number] | null>()];
  return (plain, atKey) => {
    const c = plain.charCodeAt(0);
    if (plain !== '' && c < 128 && !MAYBE_TAGGED[c]) return plain;
    const memo = seen[atKey ? 1 : 0]!;
    let tag = memo.get(plain);
    if (tag === undefined) {
      tag = tags.find((t) => (t.default === true || atKey) && t.test!.test(plain)) ?? null;
      if (memo.size < RESOLVED_MEMO && plain.length <= RESOLVED_MEMO_LENGTH) memo.set(plain, tag);
    }
    if (!tag) return plain;
    // Keys of the subset are strings; a tagged key (a number, `<<`) is left to the library.
    if (atKey) unsupported();
    let failed = false;
    const v = (tag as { resolve: (s: string, onError: (m: string) => void, o: unknown) => unknown }).resolve(plain, () => (failed = true), doc.options);
    if (failed) unsupported();
    return isScalar(v) ? v.value : v;
  };
}

const ESCAPES: Record<string, string> = { '0': '\0', a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', '"': '"', '/': '/', '\\': '\\', ' ': ' ' };

// Where quotedLine stopped when a line ended inside a double-quoted scalar: plainly (the break folds to a space),
// or after a `\` (an escaped line break: nothing is added).
const LINE_END = -1;
const ESCAPED_BREAK = -2;

/**
 * quotedLine reads double-quoted content from `i` of `line`: its value up to the closing quote and the index
 * after that quote, or its value up to the end of the line and LINE_END or ESCAPED_BREAK.
 */
function quotedLine(line: string, from: number): [string, number] {
  let out = '';
  let i = from;
  for (;;) {
    const q = line.indexOf('"', i);
    const b = line.indexOf('\\', i);
    if (b < 0 || (q >= 0 && q < b)) return q < 0 ? [out + line.slice(i), LINE_END] : [out + line.slice(i, q), q + 1];
    out += line.slice(i, b);
    const c = line[b + 1];
    if (c === undefined) return [out, ESCAPED_BREAK];
    if (c === 'x' || c === 'u') {
      const n = c === 'x' ? 2 : 4;
      const hex = line.slice(b + 2, b + 2 + n);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) unsupported();
      const code = parseInt(hex, 16);
      if (code >= 0xd800 && code <= 0xdfff) unsupported();
      out += String.fromCharCode(code);
      i = b + 2 + n;
    } else {
      const e = ESCAPES[c];
      if (e === undefined) unsupported();
      out += e;
      i = b + 2;
    }
  }
}

// doubleQuoted reads a one-line double-quoted scalar starting at `at`; returns its value and the index after it.
function doubleQuoted(line: string, at: number): [string, number] {
  const [value, end] = quotedLine(line, at + 1);
  if (end < 0) unsupported();
  return [value, end];
}

// singleQuoted reads a one-line single-quoted scalar starting at `at`; returns its value and the index after it.
function singleQuoted(line: string, at: number): [string, number] {
  let out = '';
  let i = at + 1;
  for (;;) {
    const q = line.indexOf("'", i);
    if (q < 0) unsupported();
    out += line.slice(i, q);
    if (line[q + 1] !== "'") return [out, q + 1];
    out += "'";
    i = q + 2;
  }
}

/**
 * scanPlain checks the plain scalar of the subset at `from`: no indicator first (a dash only before a non-space),
 * no ": " or " #" inside, no tab. For a key it returns the index of the ":" that ends it; for a value, the end
 * of the line (no ":" last).
 */
function scanPlain(line: string, from: number, key: boolean): number {
  const c0 = line.charCodeAt(from);
  if (Number.isNaN(c0) || (c0 < 128 && INDICATOR[c0]) || (c0 === 45 && (from + 1 === line.length || line.charCodeAt(from + 1) === 32))) unsupported();
  for (let i = from + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 58) {
      if (i + 1 < line.length && line.charCodeAt(i + 1) !== 32) continue;
      if (!key || line.charCodeAt(i - 1) === 32) unsupported();
      return i;
    }
    if (c === 9 || (c === 35 && line.charCodeAt(i - 1) === 32)) unsupported();
  }
  return key ? unsupported() : line.length;
}

/**
 * scanContinuation checks a line that continues a plain scalar from `from`: any character may start it (a quote
 * too: only the first line of a plain scalar may not start with an indicator) but `#` (a comment) and a `-`, `?`
 * or `:` before a space; no ": " or " #" inside, no tab, no ":" last.
 */
function scanContinuation(line: string, from: number): void {
  const c0 = line.charCodeAt(from);
  const c1 = line.charCodeAt(from + 1);
  if (c0 === 35 || ((c0 === 45 || c0 === 63 || c0 === 58) && (Number.isNaN(c1) || c1 === 32))) unsupported();
  for (let i = from + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 9 || (c === 35 && line.charCodeAt(i - 1) === 32) || (c === 58 && (i + 1 === line.length || line.charCodeAt(i + 1) === 32))) unsupported();
  }
}

// Lines of a text that ends with a newline, by position: line i runs from starts[i] to starts[i + 1] - 1.
class Lines {
  readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) this.starts.push(at + 1);
  }
  get count(): number {
    return this.starts.length - 1;
  }
  line(i: number): string {
    return this.text.slice(this.starts[i], this.starts[i + 1]! - 1);
  }
  length(i: number): number {
    return this.starts[i + 1]! - 1 - this.starts[i]!;
  }
  indent(i: number): number {
    const from = this.starts[i]!;
    let at = from;
    while (this.text.charCodeAt(at) === 32) at++;
    return at - from;
  }
}

// What a node is read for: its whole value; nothing but whether it is in the subset (then its value is not
// built); or, of a document and of its metadata, only the fields that name the object (readKubernetesNames).
const ALL = 0;
const CHECK = 1;
const DOCUMENT = 2;
const METADATA = 3;
type Want = typeof ALL | typeof CHECK | typeof DOCUMENT | typeof METADATA;

// wantOf tells what the value of `key` is read for in a mapping read for `want`.
function wantOf(want: Want, key: string): Want {
  if (want === DOCUMENT) return key === 'apiVersion' || key === 'kind' ? ALL : key === 'metadata' ? METADATA : CHECK;
  if (want === METADATA) return key === 'name' || key === 'namespace' ? ALL : CHECK;
  return want;
}

// A mapping being read: the values kept (none when only checked) and, unless every value is kept, the keys seen
// so far (a key twice is outside the subset). Comparing a key with the few before it costs less than making it
// a property name or hashing it; past SMALL_MAPPING keys they go in a Set (no quadratic time on hostile input).
interface Into {
  values: Record<string, unknown> | undefined;
  keys: string[] | undefined;
  many: Set<string> | undefined;
}

const SMALL_MAPPING = 16;

const into = (want: Want): Into => ({ values: want === CHECK ? undefined : {}, keys: want === ALL ? undefined : [], many: undefined });

// seenBefore tells whether `key` is in the mapping already, and notes it.
function seenBefore(into: Into, key: string): boolean {
  const keys = into.keys;
  if (!keys) return Object.prototype.hasOwnProperty.call(into.values, key);
  if (into.many) return into.many.has(key) || (into.many.add(key), false);
  if (keys.includes(key)) return true;
  keys.push(key);
  if (keys.length > SMALL_MAPPING) into.many = new Set(keys);
  return false;
}

class BlockReader {
  i: number;
  constructor(
    readonly lines: Lines,
    from: number,
    readonly end: number,
    readonly resolve: ScalarResolver,
  ) {
    this.i = from;
  }

  // next returns the indentation of the next line with content, or -1 at the end of the document. Empty lines,
  // lines of spaces and comment lines are skipped, as YAML skips them between block nodes (templates leave
  // them). A tab first, or trailing spaces after anything but a key's `:`, are outside the subset.
  next(): number {
    const lines = this.lines;
    const text = lines.text;
    for (; this.i < this.end; this.i++) {
      const len = lines.length(this.i);
      if (len === 0) continue;
      const n = lines.indent(this.i);
      const start = lines.starts[this.i]!;
      const c = text.charCodeAt(start + n);
      if (n === len || c === 35) continue;
      if (c === 9 || (text.charCodeAt(start + len - 1) === 32 && !KEY_THEN_SPACES.test(lines.line(this.i)))) unsupported();
      return n;
    }
    return -1;
  }

  document(want: Want): unknown {
    const n = this.next();
    if (n < 0) return null;
    if (n !== 0) unsupported();
    const v = this.mapping(0, into(want), want);
    if (this.next() >= 0) unsupported();
    return v;
  }

  mapping(indent: number, into: Into, want: Want): Record<string, unknown> | undefined {
    for (;;) {
      const n = this.next();
      if (n < indent) return into.values;
      if (n > indent) unsupported();
      const line = this.lines.line(this.i);
      if (line[n] === '-' && (line.length === n + 1 || line[n + 1] === ' ')) return into.values;
      this.entry(line, n, indent, into, want);
    }
  }

  // entry reads `key: value` (or `key:` and a nested node) at column `col` of a mapping indented `indent`.
  entry(line: string, col: number, indent: number, into: Into, want: Want): void {
    let key: string;
    let after: number;
    if (line[col] === '"') {
      [key, after] = doubleQuoted(line, col);
      if (line[after] !== ':') unsupported();
    } else {
      after = scanPlain(line, col, true);
      key = this.resolve(line.slice(col, after), true) as string;
    }
    if (key.length > 1000 || key === '__proto__' || seenBefore(into, key)) unsupported();
    const child = wantOf(want, key);
    // Spaces after the `:` separate the value (templates leave two, or some before the line's end).
    const rest = line.slice(after + 1);
    let at = 0;
    while (rest.charCodeAt(at) === 32) at++;
    let value: unknown;
    if (at === rest.length) {
      this.i++;
      value = this.nested(indent, true, child);
    } else {
      if (at === 0) unsupported();
      value = this.inline(rest.slice(at), indent, indent + 1, child);
    }
    if (into.values && child !== CHECK) into.values[key] = value;
  }

  // nested reads the node on the lines after a `key:` or a lone `-` (the current line is the next one).
  nested(parent: number, seqAtParent: boolean, want: Want): unknown {
    const n = this.next();
    if (n < 0 || n < parent) return null;
    const line = this.lines.line(this.i);
    // An empty flow mapping or sequence alone on the line below (`resources:` then `{}`: toYaml of nothing).
    if (n > parent && line.length === n + 2 && (line.endsWith('{}') || line.endsWith('[]'))) {
      this.i++;
      return line.endsWith('{}') ? {} : [];
    }
    const dash = line[n] === '-' && (line.length === n + 1 || line[n + 1] === ' ');
    // Only a mapping is read for the name fields it holds: any other node is read whole, or only checked.
    if (dash && (n > parent || seqAtParent)) return this.sequence(n, want === CHECK ? CHECK : ALL);
    if (n === parent) return null;
    if (dash) unsupported();
    return this.mapping(n, into(want), want);
  }

  sequence(indent: number, want: typeof ALL | typeof CHECK): unknown[] | undefined {
    const out: unknown[] | undefined = want === ALL ? [] : undefined;
    for (;;) {
      const n = this.next();
      if (n < indent) return out;
      if (n > indent) unsupported();
      const line = this.lines.line(this.i);
      if (line[n] !== '-' || (line.length !== n + 1 && line[n + 1] !== ' ')) return out;
      if (line.length === n + 1) {
        this.i++;
        const item = this.nested(indent, false, want);
        out?.push(item);
        continue;
      }
      const rest = line.slice(n + 2);
      // A nested sequence or a complex key on the dash's line are outside the subset (`- --flag` is a string).
      if (rest[0] === ' ' || ((rest[0] === '-' || rest[0] === '?') && (rest.length === 1 || rest[1] === ' '))) unsupported();
      let item: unknown;
      if (this.isEntry(rest)) {
        const compact = into(want);
        this.entry(line, n + 2, n + 2, compact, want);
        item = this.mapping(n + 2, compact, want);
      } else {
        item = this.inline(rest, indent, indent + 2, want);
      }
      out?.push(item);
    }
  }

  // isEntry tells whether the text after `- ` starts a compact mapping (`- key: value`).
  isEntry(rest: string): boolean {
    // A quoted key ends on its line; a quoted value may go on below.
    if (rest[0] === '"') {
      const end = quotedLine(rest, 1)[1];
      return end >= 0 && rest[end] === ':';
    }
    if (rest[0] === "'") return singleQuoted(rest, 0)[1] !== rest.length ? unsupported() : false;
    return rest.includes(': ') || rest.endsWith(':');
  }

  // inline reads a value written on the current line (`v`), or a literal block below it; then moves on.
  inline(v: string, parent: number, minContent: number, want: Want): unknown {
    this.i++;
    if (v === '|' || v === '|-') return this.literal(parent, minContent, v === '|-', want === CHECK);
    if (v === '{}') return {};
    if (v === '[]') return [];
    const c = v[0];
    if (c === '[') return this.flowSequence(v);
    if (c === '"') return this.quoted(v, parent);
    if (c === "'") {
      const [s, end] = singleQuoted(v, 0);
      if (end !== v.length) unsupported();
      return s;
    }
    scanPlain(v, 0, false);
    return this.resolve(this.continued(v, parent), false);
  }

  // flowSequence reads a flow sequence on one line, `["a", "b"]` as templates print RBAC rules: its items are
  // double-quoted scalars or plain words (letters, digits, `.`, `_`, `/`, `-`, not `-` first), separated by a
  // comma and spaces. Anything else (nesting, other plain scalars, a comment, a line more) is left to the library.
  flowSequence(v: string): unknown[] {
    const out: unknown[] = [];
    let i = 1;
    const spaces = () => {
      while (v.charCodeAt(i) === 32) i++;
    };
    spaces();
    if (v[i] === ']' && i + 1 === v.length) return out;
    for (;;) {
      if (v[i] === '"') {
        const [s, end] = quotedLine(v, i + 1);
        if (end < 0) unsupported();
        out.push(s);
        i = end;
      } else {
        const word = FLOW_WORD.exec(v.slice(i))?.[0] ?? unsupported();
        out.push(this.resolve(word, false));
        i += word.length;
      }
      spaces();
      if (v[i] === ']' && i + 1 === v.length) return out;
      if (v[i] !== ',') unsupported();
      i++;
      spaces();
    }
  }

  // quoted reads a double-quoted scalar that starts `v` and may go on over the next lines (indented more than
  // `parent`, no blank line: go-yaml wraps long strings so): a line break folds to a space, an escaped one to
  // nothing, and the indentation of the next line is not content.
  quoted(v: string, parent: number): string {
    const lines = this.lines;
    let [value, end] = quotedLine(v, 1);
    while (end < 0) {
      if (this.i >= this.end) unsupported();
      const len = lines.length(this.i);
      const n = lines.indent(this.i);
      const line = lines.line(this.i);
      if (len === 0 || n <= parent || n === len || line.charCodeAt(n) === 9 || line.charCodeAt(len - 1) === 32) unsupported();
      const [more, after] = quotedLine(line, n);
      value += (end === LINE_END ? ' ' : '') + more;
      end = after;
      v = line;
      this.i++;
    }
    if (end !== v.length) unsupported();
    return value;
  }

  // continued folds the lines that continue a plain scalar (indented more than `parent`, right below it: go-yaml
  // wraps long strings so) into one line each joined by a space, as YAML folds them. A blank line, a comment, or
  // a line that is not a plain scalar of the subset ends the reading (the caller then declines or reads on).
  continued(first: string, parent: number): string {
    const lines = this.lines;
    let value = first;
    while (this.i < this.end) {
      const len = lines.length(this.i);
      if (len === 0) break;
      const n = lines.indent(this.i);
      if (n <= parent) break;
      const line = lines.line(this.i);
      if (n === len || line.charCodeAt(len - 1) === 32) unsupported();
      scanContinuation(line, n);
      value += ` ${line.slice(n)}`;
      this.i++;
    }
    return value;
  }

  // literal reads a `|` or `|-` block scalar whose lines are indented more than `parent` (at least `minContent`).
  literal(parent: number, minContent: number, strip: boolean, checkOnly: boolean): string | undefined {
    const lines = this.lines;
    if (this.i >= this.end || lines.length(this.i) === 0) unsupported();
    const indent = lines.indent(this.i);
    if (indent <= parent || indent < minContent || indent === lines.length(this.i)) unsupported();
    const from = lines.starts[this.i]! + indent;
    let last = this.i;
    // A line of spaces no deeper than the block is an empty line; after the last line of the block it is
    // skipped, inside the block it is left to the library (the text is sliced below, not rebuilt).
    let spaces = false;
    while (this.i < this.end) {
      const len = lines.length(this.i);
      if (len === 0) {
        this.i++;
        continue;
      }
      const n = lines.indent(this.i);
      if (n === len) {
        if (n > indent) unsupported();
        spaces = true;
        this.i++;
        continue;
      }
      if (n < indent) break;
      if (spaces) unsupported();
      last = this.i++;
    }
    if (checkOnly) return undefined;
    // Every line from the first to the last is empty or indented by `indent` at least: drop that indentation.
    const body = lines.text.slice(from, lines.starts[last + 1]! - 1).replaceAll(`\n${' '.repeat(indent)}`, '\n');
    return strip ? body : `${body}\n`;
  }
}

/** BlockYAMLOptions are the `yaml` library options whose results the reader must match. */
export type BlockYAMLOptions = DocumentOptions & SchemaOptions & ParseOptions;

/**
 * blockYAMLReader returns a reader of multi-document YAML streams in the subset: the value of each document
 * (null for an empty one), exactly as `parseAllDocuments(text, options)` and `toJS()` give them, or undefined
 * when the text is outside the subset (then read it with the library: it reports errors precisely). With
 * `names`, it checks the same and keeps of each document only what names it (see readKubernetesNames).
 */
export function blockYAMLReader(options: BlockYAMLOptions, names = false): (text: string) => unknown[] | undefined {
  // Made at the first text (it loads the library): a module may make readers it never uses.
  let resolve: ScalarResolver | undefined;
  return (text) => {
    if (text === '') return [];
    if (!text.endsWith('\n') || EXCLUDED.test(text)) return undefined;
    resolve ??= resolverFor(options);
    const resolveScalar = resolve;
    const lines = new Lines(text);
    // Documents: what precedes the first `---` (when not blank), then one per `---` line.
    const starts: number[] = [];
    for (let i = 0; i < lines.count; i++) {
      const at = lines.starts[i]!;
      const c = text.charCodeAt(at);
      if ((c === 45 || c === 46 || c === 37) && (text.startsWith('---', at) || text.startsWith('...', at) || c === 37)) {
        if (lines.length(i) !== 3 || c !== 45) return undefined;
        starts.push(i + 1);
      }
    }
    const bounds: [number, number][] = [];
    const firstStart = starts.length ? starts[0]! - 1 : lines.count;
    if (lines.starts[firstStart]! > firstStart) bounds.push([0, firstStart]);
    for (const [k, s] of starts.entries()) bounds.push([s, k + 1 < starts.length ? starts[k + 1]! - 1 : lines.count]);
    try {
      return bounds.map(([from, to]) => new BlockReader(lines, from, to, resolveScalar).document(names ? DOCUMENT : ALL));
    } catch (err) {
      if (err instanceof Unsupported || err instanceof RangeError) return undefined;
      throw err;
    }
  };
}

/** KUBERNETES_YAML are the `yaml` library options that read YAML as Kubernetes does: YAML 1.1, timestamps kept as strings. */
export const KUBERNETES_YAML: BlockYAMLOptions = { version: '1.1', customTags: (tags) => tags.filter((t) => typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:timestamp') };

const readKubernetesBlock = blockYAMLReader(KUBERNETES_YAML);
const readKubernetesBlockNames = blockYAMLReader(KUBERNETES_YAML, true);

/**
 * readKubernetesYAML reads a stream with KUBERNETES_YAML options as blockYAMLReader does (undefined outside the
 * subset). Comment and blank lines before the first document's content are skipped first, as YAML ignores them:
 * `helm template` starts every document with a `# Source:` comment.
 */
export function readKubernetesYAML(text: string): unknown[] | undefined {
  return readKubernetesBlock(afterLeadingComments(text));
}

/**
 * readKubernetesNames accepts exactly what readKubernetesYAML accepts, but keeps of each document only its
 * `apiVersion` and `kind`, and its `metadata`: of a mapping only `name` and `namespace`, any other value whole.
 * Each is there only where the document has it, with the value readKubernetesYAML gives; what is not kept is
 * checked, not built (a fleet's objects layers are read for their names far more often than for their values).
 */
export function readKubernetesNames(text: string): unknown[] | undefined {
  return readKubernetesBlockNames(afterLeadingComments(text));
}

// afterLeadingComments skips the comment and blank lines before a stream's first content (a stream of nothing
// else becomes empty: no document).
function afterLeadingComments(text: string): string {
  let at = 0;
  for (;;) {
    let i = at;
    while (text.charCodeAt(i) === 32) i++;
    const c = text.charCodeAt(i);
    if (c !== 35 && c !== 10) break;
    const end = text.indexOf('\n', i);
    if (end < 0) return '';
    at = end + 1;
  }
  return at === 0 ? text : text.slice(at);
}
