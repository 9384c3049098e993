// Go's encoding/json for engine values: Marshal (sorted keys, Go float and string escaping,
// HTML-safe by default), MarshalIndent, and Unmarshal into interface{} with Go's error texts.
import { formatFloat, quoteGo } from './fmt.js';
import { GoError } from './funcs.js';
import { formatTime, toGoTime } from './gotime.js';
import { intString } from './fmt.js';
import { GoObject, GoTime, goFloat, isTypedNil, kindOf, numValue, setKey, sortedKeys, typeName } from './values.js';

/** JsonOptions: escapeHTML (default true) escapes <, > and & as json.Marshal does. */
export interface JsonOptions {
  escapeHTML?: boolean;
}

const HEX = '0123456789abcdef';

/** jsonString quotes a string as encoding/json does (Go 1.19). */
export function jsonString(s: string, escapeHTML = true): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) {
      if (ch === '"') out += '\\"';
      else if (ch === '\\') out += '\\\\';
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (c < 0x20 || (escapeHTML && (ch === '<' || ch === '>' || ch === '&'))) out += '\\u00' + HEX[c >> 4] + HEX[c & 15];
      else out += ch;
    } else if (c === 0x2028 || c === 0x2029) out += '\\u202' + HEX[c & 15];
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

/** jsonFloat formats a float64 as encoding/json does. */
export function jsonFloat(f: number): string {
  if (!Number.isFinite(f)) throw new GoError(`json: unsupported value: ${formatFloat(f)}`);
  const a = Math.abs(f);
  if (a !== 0 && (a < 1e-6 || a >= 1e21)) {
    return formatFloat(f, 'e').replace(/e([+-])0(\d)$/, 'e$1$2');
  }
  return formatFloat(f, 'f');
}

/** JsonNode is a value as encoding/json sees it: numbers keep their encoded text, maps are sorted. */
export type JsonNode = null | boolean | string | { num: string } | JsonNode[] | { entries: [string, JsonNode][] };

/** jsonTree encodes a value to JSON's data model, as json.Marshal would; it throws GoError on unsupported values. */
export function jsonTree(v: unknown): JsonNode {
  switch (kindOf(v)) {
    case 'nil':
      return null;
    case 'bool':
      return v as boolean;
    case 'int':
    case 'int64':
    case 'uint':
      return { num: intString(v) };
    case 'float64':
      return { num: jsonFloat(numValue(v)) };
    case 'string':
      return v as string;
    case 'slice':
      return isTypedNil(v) ? null : (v as unknown[]).map(jsonTree);
    case 'map': {
      if (isTypedNil(v)) return null;
      const m = v as Record<string, unknown>;
      return { entries: sortedKeys(m).map((k) => [k, jsonTree(m[k])] as [string, JsonNode]) };
    }
    case 'time':
      return formatTime(toGoTime(v as GoTime), '2006-01-02T15:04:05.999999999Z07:00');
    case 'ptr': {
      const o = v as GoObject;
      return o.json ? jsonTree(o.json()) : { entries: [] };
    }
    default:
      throw new GoError(`json: unsupported type: ${typeName(v)}`);
  }
}

/** encodeJSON writes a JsonNode compactly. */
export function encodeJSON(n: JsonNode, escapeHTML = true): string {
  if (n === null) return 'null';
  if (typeof n === 'boolean') return n ? 'true' : 'false';
  if (typeof n === 'string') return jsonString(n, escapeHTML);
  if (Array.isArray(n)) return '[' + n.map((e) => encodeJSON(e, escapeHTML)).join(',') + ']';
  if ('num' in n) return n.num;
  return '{' + n.entries.map(([k, e]) => jsonString(k, escapeHTML) + ':' + encodeJSON(e, escapeHTML)).join(',') + '}';
}

/** marshalJSON is json.Marshal; it throws GoError with Go's message for unsupported values. */
export function marshalJSON(v: unknown, opts: JsonOptions = {}): string {
  return encodeJSON(jsonTree(v), opts.escapeHTML ?? true);
}

/** indentJSON re-indents compact JSON as json.MarshalIndent(v, prefix, indent) does. */
export function indentJSON(compact: string, prefix: string, indent: string): string {
  let out = '';
  let depth = 0;
  let inStr = false;
  let needIndent = false;
  const nl = () => '\n' + prefix + indent.repeat(depth);
  for (let i = 0; i < compact.length; i++) {
    const c = compact[i]!;
    if (inStr) {
      out += c;
      if (c === '\\') out += compact[++i];
      else if (c === '"') inStr = false;
      continue;
    }
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      out += nl();
    }
    switch (c) {
      case '"':
        inStr = true;
        out += c;
        break;
      case '{':
      case '[':
        out += c;
        needIndent = true;
        break;
      case ',':
        out += c + nl();
        break;
      case ':':
        out += ': ';
        break;
      case '}':
      case ']':
        if (needIndent) needIndent = false;
        else {
          depth--;
          out += nl();
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

/** JsonSyntaxError is a json.SyntaxError (or type error) with Go's message. */
export class JsonError extends GoError {}

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  const q = quoteGo(c);
  return "'" + q.slice(1, -1) + "'";
}

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  // At the end of input Go's scanner steps once more with a space, so states that reject a space
  // report "invalid character ' '" rather than "unexpected end of JSON input".
  fail(what: string, eofSpace = false): never {
    if (this.i >= this.s.length) {
      if (eofSpace) throw new JsonError(`invalid character ' ' ${what}`);
      throw new JsonError('unexpected end of JSON input');
    }
    throw new JsonError(`invalid character ${quoteChar(String.fromCodePoint(this.s.codePointAt(this.i)!))} ${what}`);
  }
  ws(): void {
    while (this.i < this.s.length && ' \t\r\n'.includes(this.s[this.i]!)) this.i++;
  }
  value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [lit, val] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (c === lit[0]) {
        this.i++;
        for (let k = 1; k < lit.length; k++, this.i++) {
          if (this.s[this.i] !== lit[k]) this.fail(`in literal ${lit} (expecting ${quoteChar(lit[k]!)})`, true);
        }
        return val;
      }
    }
    return this.fail('looking for beginning of value');
  }
  object(): Record<string, unknown> {
    this.i++;
    const m: Record<string, unknown> = {};
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return m;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('looking for beginning of object key string');
      const k = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail('after object key');
      this.i++;
      setKey(m, k, this.value());
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === '}') {
        this.i++;
        return m;
      }
      this.fail('after object key:value pair');
    }
  }
  array(): unknown[] {
    this.i++;
    const a: unknown[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return a;
    }
    for (;;) {
      a.push(this.value());
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === ']') {
        this.i++;
        return a;
      }
      this.fail('after array element');
    }
  }
  string(): string {
    this.i++;
    let out = '';
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail('');
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c.charCodeAt(0) < 0x20) this.fail('in string literal');
      if (c === '\\') {
        this.i++;
        const e = this.s[this.i];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.i++;
        } else if (e === 'u') {
          this.i++;
          let hex = '';
          for (let k = 0; k < 4; k++, this.i++) {
            const h = this.s[this.i];
            if (h === undefined || !/[0-9a-fA-F]/.test(h)) this.fail('in \\u hexadecimal character escape', true);
            hex += h;
          }
          out += String.fromCharCode(parseInt(hex, 16));
        } else this.fail('in string escape code', true);
        continue;
      }
      out += c;
      this.i++;
    }
  }
  number(): unknown {
    const start = this.i;
    if (this.s[this.i] === '-') this.i++;
    const digit = () => this.s[this.i] !== undefined && this.s[this.i]! >= '0' && this.s[this.i]! <= '9';
    if (this.s[this.i] === '0') this.i++;
    else if (digit()) while (digit()) this.i++;
    else this.fail('in numeric literal', true);
    if (this.s[this.i] === '.') {
      this.i++;
      if (!digit()) this.fail('after decimal point in numeric literal', true);
      while (digit()) this.i++;
    }
    if (this.s[this.i] === 'e' || this.s[this.i] === 'E') {
      this.i++;
      if (this.s[this.i] === '+' || this.s[this.i] === '-') this.i++;
      if (!digit()) this.fail('in exponent of numeric literal', true);
      while (digit()) this.i++;
    }
    const text = this.s.slice(start, this.i);
    const f = Number(text);
    if (!Number.isFinite(f)) return { outOfRange: text };
    return goFloat(f);
  }
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object' && !('outOfRange' in (v as object)) && kindOf(v) === 'map') return 'object';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return 'number';
}

function finish(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(finish);
  if (v !== null && typeof v === 'object' && 'outOfRange' in v) {
    throw new JsonError(`json: cannot unmarshal number ${(v as { outOfRange: string }).outOfRange} into Go value of type float64`);
  }
  if (kindOf(v) === 'map' && v !== null) {
    const m = v as Record<string, unknown>;
    for (const k of Object.keys(m)) m[k] = finish(m[k]);
  }
  return v;
}

/** unmarshalJSON is json.Unmarshal into `target`: 'any' (interface{}), 'map' or 'slice'. Numbers are float64. */
export function unmarshalJSON(text: string, target: 'any' | 'map' | 'slice'): unknown {
  const sc = new Scanner(text);
  const v = sc.value();
  sc.ws();
  if (sc.i < text.length) sc.fail('after top-level value');
  const kind = jsonKind(v);
  if (target === 'map' && kind !== 'object' && kind !== 'null') {
    throw new JsonError(`json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`);
  }
  if (target === 'slice' && kind !== 'array' && kind !== 'null') {
    throw new JsonError(`json: cannot unmarshal ${kind} into Go value of type []interface {}`);
  }
  return finish(v);
}
