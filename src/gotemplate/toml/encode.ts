// TOML output like github.com/BurntSushi/toml's Encoder (two-space indent per table level, keys
// sorted, values before sub-tables, arrays of maps as [[tables]]).
import { formatFloat, intString } from '../fmt.js';
import { GoError } from '../funcs.js';
import { formatTime, toGoTime } from '../gotime.js';
import { GoObject, GoTime, isTypedNil, kindOf, numValue, typeName } from '../values.js';

const INDENT = '  ';

/** TomlEncodeError is an error the Encoder returns (toToml prints it); other failures are panics. */
export class TomlEncodeError extends GoError {}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

function keyPart(k: string): string {
  if (k === '') return '""';
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : quote(k);
}

type TomlType = 'table' | 'arrayOfTables' | 'other' | undefined;

function isNil(v: unknown): boolean {
  return v === null || v === undefined || isTypedNil(v);
}

function tomlType(v: unknown): TomlType {
  if (isNil(v)) return undefined;
  const k = kindOf(v);
  if (k === 'map') return 'table';
  if (k === 'slice') {
    const a = v as unknown[];
    if (a.length === 0) return 'other';
    let tables = true;
    for (const e of a) {
      const t = tomlType(e);
      if (t === undefined) throw new TomlEncodeError('toml: cannot encode array with nil element');
      if (t !== 'table') tables = false;
    }
    return tables ? 'arrayOfTables' : 'other';
  }
  return 'other';
}

class TomlEncoder {
  out = '';
  written = false;

  wf(s: string): void {
    this.out += s;
    this.written = true;
  }
  newline(): void {
    if (this.written) this.wf('\n');
  }

  element(v: unknown): void {
    switch (kindOf(v)) {
      case 'string':
        return this.wf(quote(v as string));
      case 'bool':
        return this.wf(v ? 'true' : 'false');
      case 'int':
      case 'int64':
      case 'uint':
        return this.wf(intString(v));
      case 'float64': {
        const f = numValue(v);
        if (Number.isNaN(f)) return this.wf('nan');
        if (!Number.isFinite(f)) return this.wf(f < 0 ? '-inf' : '+inf');
        const s = formatFloat(f, 'f');
        return this.wf(s.includes('.') ? s : s + '.0');
      }
      case 'time':
        return this.wf(formatTime(toGoTime(v as GoTime), '2006-01-02T15:04:05.999999999Z07:00'));
      case 'slice': {
        const a = v as unknown[];
        this.wf('[');
        a.forEach((e, i) => {
          this.element(e);
          if (i !== a.length - 1) this.wf(', ');
        });
        return this.wf(']');
      }
      case 'map':
        return this.map([], v as Record<string, unknown>, true);
      case 'ptr':
        return this.wf(quote((v as GoObject).string()));
      default:
        throw new GoError(`unexpected type: ${typeName(v)}`);
    }
  }

  encode(key: string[], v: unknown): void {
    if (isNil(v)) return;
    const k = kindOf(v);
    if (k === 'slice') {
      if (tomlType(v) === 'arrayOfTables') return this.arrayOfTables(key, v as unknown[]);
      return this.keyValue(key, v, false);
    }
    if (k === 'map') return this.table(key, v as Record<string, unknown>);
    this.keyValue(key, v, false);
  }

  keyValue(key: string[], v: unknown, inline: boolean): void {
    if (key.length === 0) throw new TomlEncodeError('toml: top-level values must be Go maps or structs');
    this.wf(`${INDENT.repeat(key.length - 1)}${keyPart(key[key.length - 1]!)} = `);
    this.element(v);
    if (!inline) this.newline();
  }

  arrayOfTables(key: string[], a: unknown[]): void {
    if (key.length === 0) throw new TomlEncodeError('toml: top-level values must be Go maps or structs');
    for (const t of a) {
      if (isNil(t)) continue;
      this.newline();
      this.wf(`${INDENT.repeat(key.length - 1)}[[${key.map(keyPart).join('.')}]]`);
      this.newline();
      this.map(key, t as Record<string, unknown>, false);
    }
  }

  table(key: string[], m: Record<string, unknown>): void {
    if (key.length === 1) this.newline();
    if (key.length > 0) {
      this.wf(`${INDENT.repeat(key.length - 1)}[${key.map(keyPart).join('.')}]`);
      this.newline();
    }
    this.map(key, m, false);
  }

  map(key: string[], m: Record<string, unknown>, inline: boolean): void {
    const direct: string[] = [];
    const sub: string[] = [];
    for (const k of Object.keys(m)) {
      const t = tomlType(m[k]);
      (t === 'table' || t === 'arrayOfTables' ? sub : direct).push(k);
    }
    const write = (keys: string[], trailComma: boolean) => {
      keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      keys.forEach((k, i) => {
        const v = m[k];
        if (isNil(v)) return;
        if (inline) {
          this.keyValue([k], v, true);
          if (trailComma || i !== keys.length - 1) this.wf(', ');
        } else this.encode([...key, k], v);
      });
    };
    if (inline) this.wf('{');
    write(direct, sub.length > 0);
    write(sub, false);
    if (inline) this.wf('}');
  }
}

/** encodeTOML is toml.NewEncoder(w).Encode(v); it throws GoError with BurntSushi's message. */
export function encodeTOML(v: unknown): string {
  const e = new TomlEncoder();
  if (v === null || v === undefined) throw new GoError('reflect: call of reflect.Value.Type on zero Value');
  if (kindOf(v) !== 'map') {
    e.encode([], v);
    return e.out;
  }
  if (isTypedNil(v)) return '';
  e.table([], v as Record<string, unknown>);
  return e.out;
}
