// A TOML 1.0 reader for fromToml, producing what BurntSushi/toml decodes into
// map[string]interface{}: int64, float64, string, bool, time.Time, []interface{} and maps.
import { GoError } from '../funcs.js';
import { fixedZone, UTC } from '../gotime.js';
import { parseFloat64, parseInt64 } from '../strconv.js';
import { GoTime, goFloat, int64, setKey } from '../values.js';

/** TomlDecodeError is a TOML syntax or semantics error ("toml: line N: …"). */
export class TomlDecodeError extends GoError {}

type Table = Record<string, unknown>;

const BARE = /^[A-Za-z0-9_-]+/;
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})?)?|^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/;

class Reader {
  i = 0;
  line = 1;
  readonly root: Table = {};
  private current: Table;
  // Tables created implicitly (by dotted keys or [a.b]) may still be opened with [a]; defined ones may not.
  private readonly defined = new WeakSet<object>();
  private readonly inlineOrArray = new WeakSet<object>();

  constructor(readonly s: string) {
    this.current = this.root;
  }

  fail(msg: string): never {
    throw new TomlDecodeError(`toml: line ${this.line}: ${msg}`);
  }

  private peek(n = 0): string | undefined {
    return this.s[this.i + n];
  }

  private skipWs(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }

  private skipComment(): void {
    if (this.peek() === '#') while (this.i < this.s.length && this.peek() !== '\n') this.i++;
  }

  private eol(): void {
    this.skipWs();
    this.skipComment();
    if (this.i >= this.s.length) return;
    if (this.peek() === '\r' && this.peek(1) === '\n') this.i++;
    if (this.peek() !== '\n') this.fail(`expected a top-level item to end with a newline, comment, or EOF, but got ${JSON.stringify(this.peek())} instead`);
    this.i++;
    this.line++;
  }

  parse(): Table {
    while (this.i < this.s.length) {
      this.skipWs();
      const c = this.peek();
      if (c === '\n') {
        this.i++;
        this.line++;
        continue;
      }
      if (c === '\r' && this.peek(1) === '\n') {
        this.i += 2;
        this.line++;
        continue;
      }
      if (c === '#') {
        this.skipComment();
        continue;
      }
      if (c === undefined) break;
      if (c === '[') this.header();
      else this.keyValue(this.current);
      this.eol();
    }
    return this.root;
  }

  private key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipWs();
      const c = this.peek();
      if (c === '"') parts.push(this.basicString());
      else if (c === "'") parts.push(this.literalString());
      else {
        const m = BARE.exec(this.s.slice(this.i));
        if (!m) this.fail(`expected key but found ${JSON.stringify(c ?? 'EOF')}`);
        parts.push(m[0]);
        this.i += m[0].length;
      }
      this.skipWs();
      if (this.peek() !== '.') return parts;
      this.i++;
    }
  }

  private descend(t: Table, k: string, implicitOnly: boolean): Table {
    if (!Object.prototype.hasOwnProperty.call(t, k)) {
      const n: Table = {};
      setKey(t, k, n);
      return n;
    }
    const v = t[k];
    if (Array.isArray(v) && !implicitOnly) {
      const last = v[v.length - 1];
      if (last && typeof last === 'object' && !this.inlineOrArray.has(v)) return last as Table;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof GoTime || this.inlineOrArray.has(v as object)) {
      this.fail(`key ${JSON.stringify(k)} has already been defined`);
    }
    return v as Table;
  }

  private header(): void {
    const array = this.peek(1) === '[';
    this.i += array ? 2 : 1;
    const key = this.key();
    if (this.s.slice(this.i, this.i + (array ? 2 : 1)) !== (array ? ']]' : ']')) this.fail('expected end of table name');
    this.i += array ? 2 : 1;
    let t = this.root;
    for (const k of key.slice(0, -1)) t = this.descend(t, k, false);
    const last = key[key.length - 1]!;
    if (array) {
      let arr = t[last];
      if (arr === undefined) {
        arr = [];
        setKey(t, last, arr);
      } else if (!Array.isArray(arr) || this.inlineOrArray.has(arr)) this.fail(`key ${JSON.stringify(last)} has already been defined`);
      const n: Table = {};
      (arr as unknown[]).push(n);
      this.current = n;
      return;
    }
    const existing = Object.prototype.hasOwnProperty.call(t, last) ? t[last] : undefined;
    if (existing !== undefined) {
      if (this.defined.has(existing as object) || typeof existing !== 'object' || existing === null || Array.isArray(existing)) {
        this.fail(`table ${JSON.stringify(key.join('.'))} has already been defined`);
      }
      this.defined.add(existing as object);
      this.current = existing as Table;
      return;
    }
    const n: Table = {};
    this.defined.add(n);
    setKey(t, last, n);
    this.current = n;
  }

  private keyValue(target: Table): void {
    const key = this.key();
    if (this.peek() !== '=') this.fail(`expected "=" after key but found ${JSON.stringify(this.peek() ?? 'EOF')}`);
    this.i++;
    this.skipWs();
    let t = target;
    for (const k of key.slice(0, -1)) t = this.descend(t, k, true);
    const last = key[key.length - 1]!;
    if (Object.prototype.hasOwnProperty.call(t, last)) this.fail(`key ${JSON.stringify(key.join('.'))} has already been defined`);
    setKey(t, last, this.value());
  }

  private value(): unknown {
    const c = this.peek();
    if (c === '"') return this.s.startsWith('"""', this.i) ? this.multiBasic() : this.basicString();
    if (c === "'") return this.s.startsWith("'''", this.i) ? this.multiLiteral() : this.literalString();
    if (c === '[') return this.array();
    if (c === '{') return this.inlineTable();
    const rest = this.s.slice(this.i);
    if (rest.startsWith('true') && !/^true[A-Za-z0-9_]/.test(rest)) {
      this.i += 4;
      return true;
    }
    if (rest.startsWith('false') && !/^false[A-Za-z0-9_]/.test(rest)) {
      this.i += 5;
      return false;
    }
    const dt = DATETIME.exec(rest);
    if (dt && /^(\d{4}-|\d{2}:)/.test(rest)) {
      this.i += dt[0].length;
      return this.datetime(dt);
    }
    const m = /^[+-]?(inf|nan)|^[+-]?[0-9A-Za-z_.]+(?:[eE][+-]?[0-9_]+)?/.exec(rest);
    if (!m) this.fail(`expected value but found ${JSON.stringify(c ?? 'EOF')} instead`);
    this.i += m[0].length;
    return this.number(m[0]);
  }

  private number(text: string): unknown {
    if (/^[+-]?inf$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(text)) return NaN;
    if (/^[+-]?(0|[1-9](_?[0-9])*)$/.test(text) || /^0x[0-9A-Fa-f](_?[0-9A-Fa-f])*$|^0o[0-7](_?[0-7])*$|^0b[01](_?[01])*$/.test(text)) {
      const r = parseInt64(text, 0);
      if (r.err) this.fail(`integer ${JSON.stringify(text)} is out of range`);
      return int64(r.value);
    }
    if (/^[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?$/.test(text)) {
      const f = parseFloat64(text);
      if (!f.err) return goFloat(f.value);
    }
    this.fail(`invalid value: ${JSON.stringify(text)}`);
  }

  private datetime(m: RegExpExecArray): unknown {
    const frac = (x: string | undefined) => Number((x ?? '').padEnd(9, '0').slice(0, 9));
    if (m[9] !== undefined) {
      const ns = frac(m[12]);
      const ms = ((Number(m[9]) * 60 + Number(m[10])) * 60 + Number(m[11])) * 1000 - 62_167_219_200_000;
      return new GoTime(ms + Math.floor(ns / 1e6), ns % 1e6, fixedZone('time-local', 0));
    }
    const d = new Date(0);
    d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    if (m[4] === undefined) return new GoTime(d.getTime(), 0, fixedZone('date-local', 0));
    d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
    const ns = frac(m[7]);
    const base = d.getTime() + Math.floor(ns / 1e6);
    const off = m[8];
    if (off === undefined) return new GoTime(base, ns % 1e6, fixedZone('datetime-local', 0));
    if (off === 'Z' || off === 'z') return new GoTime(base, ns % 1e6, UTC);
    const sec = (off[0] === '-' ? -1 : 1) * (Number(off.slice(1, 3)) * 3600 + Number(off.slice(4, 6)) * 60);
    return new GoTime(base - sec * 1000, ns % 1e6, fixedZone('', sec));
  }

  private skipWsNewlines(): void {
    for (;;) {
      this.skipWs();
      this.skipComment();
      if (this.peek() === '\n') {
        this.i++;
        this.line++;
      } else if (this.peek() === '\r' && this.peek(1) === '\n') {
        this.i += 2;
        this.line++;
      } else return;
    }
  }

  private array(): unknown[] {
    this.i++;
    const a: unknown[] = [];
    this.inlineOrArray.add(a);
    for (;;) {
      this.skipWsNewlines();
      if (this.peek() === ']') {
        this.i++;
        return a;
      }
      a.push(this.value());
      this.skipWsNewlines();
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      if (this.peek() === ']') {
        this.i++;
        return a;
      }
      this.fail(`expected a comma or array terminator but got ${JSON.stringify(this.peek() ?? 'EOF')}`);
    }
  }

  private inlineTable(): Table {
    this.i++;
    const t: Table = {};
    this.skipWs();
    if (this.peek() === '}') {
      this.i++;
      this.inlineOrArray.add(t);
      return t;
    }
    for (;;) {
      this.keyValue(t);
      this.skipWs();
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      if (this.peek() === '}') {
        this.i++;
        this.inlineOrArray.add(t);
        return t;
      }
      this.fail(`expected a comma or an inline table terminator but got ${JSON.stringify(this.peek() ?? 'EOF')}`);
    }
  }

  private escape(): string {
    const e = this.s[this.i++];
    const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };
    if (e !== undefined && e in simple) return simple[e]!;
    if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const hex = this.s.slice(this.i, this.i + n);
      if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== n) this.fail(`invalid escape: \\${e}${hex}`);
      this.i += n;
      return String.fromCodePoint(parseInt(hex, 16));
    }
    this.fail(`invalid escape in string '\\${e ?? ''}'`);
  }

  private basicString(): string {
    this.i++;
    let out = '';
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined || c === '\n') this.fail('unexpected EOF; expected \'"\'');
      this.i++;
      if (c === '"') return out;
      out += c === '\\' ? this.escape() : c;
    }
  }

  private literalString(): string {
    this.i++;
    const end = this.s.indexOf("'", this.i);
    const nl = this.s.indexOf('\n', this.i);
    if (end < 0 || (nl >= 0 && nl < end)) this.fail('unexpected EOF; expected "\'"');
    const v = this.s.slice(this.i, end);
    this.i = end + 1;
    return v;
  }

  private multiBasic(): string {
    this.i += 3;
    if (this.peek() === '\n') {
      this.i++;
      this.line++;
    }
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail('unexpected EOF; expected \'"""\'');
      if (this.s.startsWith('"""', this.i)) {
        let q = 3;
        while (q < 5 && this.s[this.i + q] === '"') q++;
        out += '"'.repeat(q - 3);
        this.i += q;
        return out;
      }
      const c = this.s[this.i++]!;
      if (c === '\n') this.line++;
      if (c !== '\\') {
        out += c;
        continue;
      }
      if (/^[ \t]*\r?\n/.test(this.s.slice(this.i))) {
        while (/[ \t\r\n]/.test(this.peek() ?? '')) {
          if (this.peek() === '\n') this.line++;
          this.i++;
        }
        continue;
      }
      out += this.escape();
    }
  }

  private multiLiteral(): string {
    this.i += 3;
    if (this.peek() === '\n') {
      this.i++;
      this.line++;
    }
    const end = this.s.indexOf("'''", this.i);
    if (end < 0) this.fail("unexpected EOF; expected \"'''\"");
    let q = 3;
    while (q < 5 && this.s[end + q] === "'") q++;
    const v = this.s.slice(this.i, end + q - 3);
    this.line += (v.match(/\n/g) ?? []).length;
    this.i = end + q;
    return v;
  }
}

/** decodeTOML parses a TOML document into a map; it throws TomlDecodeError. */
export function decodeTOML(text: string): Record<string, unknown> {
  return new Reader(text).parse();
}
