// Sprig defaults, JSON, reflection, OS, path, encoding and crypto functions.
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { GoError, goFunc } from '../funcs.js';
import { indentJSON, marshalJSON, unmarshalJSON } from '../gojson.js';
import { checkAlloc } from '../limits.js';
import { GoFunc, reflectKind, typeName } from '../values.js';
import { empty } from './cast.js';
import { decodeBase64Std } from './encoding.js';
import { deepEqual } from './collections.js';

const ANY = 'interface {}' as const;
const S = 'string' as const;

function tryOr<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GoError) return fallback;
    throw e;
  }
}

/** rawJSON is Sprig's mustToRawJson: no HTML escaping. */
function rawJSON(v: unknown): string {
  return marshalJSON(v, { escapeHTML: false });
}

/** typeOfValue is fmt's %T. */
export function typeOfValue(v: unknown): string {
  return v === null || v === undefined ? '<nil>' : typeName(v);
}

/** expandEnv is os.ExpandEnv with an empty environment: every variable expands to "". */
export function expandEnv(s: string): string {
  let out = '';
  let i = 0;
  let touched = false;
  const special = (c: string | undefined) => c !== undefined && '*#$@!?-0123456789'.includes(c);
  const alnum = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
  for (let j = 0; j < s.length; j++) {
    if (s[j] !== '$' || j + 1 >= s.length) continue;
    touched = true;
    out += s.slice(i, j);
    const rest = s.slice(j + 1);
    let name = '';
    let w = 0;
    if (rest[0] === '{') {
      if (rest.length > 2 && special(rest[1]) && rest[2] === '}') [name, w] = [rest[1]!, 3];
      else {
        const close = rest.indexOf('}');
        if (close === 1) w = 2;
        else if (close > 1) [name, w] = [rest.slice(1, close), close + 1];
        else w = 1;
      }
    } else if (special(rest[0])) [name, w] = [rest[0]!, 1];
    else {
      while (w < rest.length && alnum(rest[w])) w++;
      name = rest.slice(0, w);
    }
    if (name === '' && w === 0) out += '$';
    j += w;
    i = j + 1;
  }
  return touched ? out + s.slice(i) : s;
}

/** cleanPath is path.Clean. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const out = (rooted ? '/' : '') + parts.join('/');
  return out === '' ? '.' : out;
}

function basePath(p: string): string {
  if (p === '') return '.';
  p = p.replace(/\/+$/, '');
  const i = p.lastIndexOf('/');
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? '/' : p;
}

function dirPath(p: string): string {
  return cleanPath(p.slice(0, p.lastIndexOf('/') + 1));
}

function extPath(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

function adler32(s: string): number {
  let a = 1;
  let b = 0;
  for (const byte of Buffer.from(s, 'utf8')) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function aesKey(password: string): Buffer {
  const key = Buffer.alloc(32);
  Buffer.from(password, 'utf8').copy(key, 0, 0, 32);
  return key;
}

function encryptAES(password: string, plaintext: string): string {
  if (plaintext === '') return '';
  checkAlloc(plaintext.length * 2, 'encryptAES');
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', aesKey(password), iv);
  return Buffer.concat([iv, c.update(Buffer.from(plaintext, 'utf8')), c.final()]).toString('base64');
}

function decryptAES(password: string, crypt64: string): string {
  if (crypt64 === '') return '';
  let crypt: Buffer;
  try {
    crypt = decodeBase64Std(crypt64);
  } catch (e) {
    throw new GoError((e as Error).message);
  }
  if (crypt.length < 16) throw new GoError(`runtime error: slice bounds out of range [:16] with capacity ${crypt.length}`);
  const body = crypt.subarray(16);
  if (body.length % 16 !== 0) throw new GoError('crypto/cipher: input not full blocks');
  if (body.length === 0) throw new GoError('runtime error: index out of range [-1]');
  const d = createDecipheriv('aes-256-cbc', aesKey(password), crypt.subarray(0, 16));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(body), d.final()]);
  const pad = plain[plain.length - 1]!;
  if (pad > plain.length) throw new GoError(`runtime error: slice bounds out of range [:${plain.length - pad}]`);
  return plain.subarray(0, plain.length - pad).toString('utf8');
}

const hashHex = (alg: string) => (s: string) => createHash(alg).update(s, 'utf8').digest('hex');

/** MISC_FUNCS are Sprig's defaults, JSON, reflection, OS, path, hashing and random functions. */
export const MISC_FUNCS: Record<string, GoFunc> = {
  default: goFunc({ in: [ANY, ANY], variadic: true, out: ANY }, (d: unknown, ...given: unknown[]) =>
    given.length === 0 || empty(given[0]) ? d : given[0],
  ),
  empty: goFunc({ in: [ANY], out: 'bool' }, empty),
  coalesce: goFunc({ in: [ANY], variadic: true, out: ANY }, (...v: unknown[]) => v.find((e) => !empty(e)) ?? null),
  all: goFunc({ in: [ANY], variadic: true, out: 'bool' }, (...v: unknown[]) => v.every((e) => !empty(e))),
  any: goFunc({ in: [ANY], variadic: true, out: 'bool' }, (...v: unknown[]) => v.some((e) => !empty(e))),
  ternary: goFunc({ in: [ANY, ANY, 'bool'], out: ANY }, (vt: unknown, vf: unknown, v: boolean) => (v ? vt : vf)),
  fromJson: goFunc({ in: [S], out: ANY }, (s: string) => tryOr(() => unmarshalJSON(s, 'any'), null)),
  mustFromJson: goFunc({ in: [S], out: ANY }, (s: string) => unmarshalJSON(s, 'any')),
  toJson: goFunc({ in: [ANY], out: S }, (v: unknown) => tryOr(() => marshalJSON(v), '')),
  mustToJson: goFunc({ in: [ANY], out: S }, (v: unknown) => marshalJSON(v)),
  toPrettyJson: goFunc({ in: [ANY], out: S }, (v: unknown) => tryOr(() => indentJSON(marshalJSON(v), '', '  '), '')),
  mustToPrettyJson: goFunc({ in: [ANY], out: S }, (v: unknown) => indentJSON(marshalJSON(v), '', '  ')),
  toRawJson: goFunc({ in: [ANY], out: S }, rawJSON),
  mustToRawJson: goFunc({ in: [ANY], out: S }, rawJSON),
  typeOf: goFunc({ in: [ANY], out: S }, typeOfValue),
  typeIs: goFunc({ in: [S, ANY], out: 'bool' }, (t: string, v: unknown) => t === typeOfValue(v)),
  typeIsLike: goFunc({ in: [S, ANY], out: 'bool' }, (t: string, v: unknown) => t === typeOfValue(v) || '*' + t === typeOfValue(v)),
  kindOf: goFunc({ in: [ANY], out: S }, (v: unknown) => reflectKind(v)),
  kindIs: goFunc({ in: [S, ANY], out: 'bool' }, (t: string, v: unknown) => t === reflectKind(v)),
  deepEqual: goFunc({ in: [ANY, ANY], out: 'bool' }, deepEqual),
  // The environment of the machine that renders must never leak into rendered output.
  env: goFunc({ in: [S], out: S }, () => ''),
  expandenv: goFunc({ in: [S], out: S }, expandEnv),
  base: goFunc({ in: [S], out: S }, basePath),
  dir: goFunc({ in: [S], out: S }, dirPath),
  clean: goFunc({ in: [S], out: S }, cleanPath),
  ext: goFunc({ in: [S], out: S }, extPath),
  isAbs: goFunc({ in: [S], out: 'bool' }, (p: string) => p.startsWith('/')),
  osBase: goFunc({ in: [S], out: S }, basePath),
  osDir: goFunc({ in: [S], out: S }, dirPath),
  osClean: goFunc({ in: [S], out: S }, cleanPath),
  osExt: goFunc({ in: [S], out: S }, extPath),
  osIsAbs: goFunc({ in: [S], out: 'bool' }, (p: string) => p.startsWith('/')),
  sha1sum: goFunc({ in: [S], out: S }, hashHex('sha1')),
  sha256sum: goFunc({ in: [S], out: S }, hashHex('sha256')),
  sha512sum: goFunc({ in: [S], out: S }, hashHex('sha512')),
  adler32sum: goFunc({ in: [S], out: S }, (s: string) => String(adler32(s))),
  encryptAES: goFunc({ in: [S, S], out: S }, encryptAES),
  decryptAES: goFunc({ in: [S, S], out: S }, decryptAES),
  randBytes: goFunc({ in: ['int'], out: S }, (n: number) => {
    if (n < 0) throw new GoError('runtime error: makeslice: len out of range');
    checkAlloc(n, 'randBytes');
    return randomBytes(n).toString('base64');
  }),
  uuidv4: goFunc({ in: [], out: S }, () => randomUUID()),
  fail: goFunc({ in: [S], out: S }, (msg: string) => {
    throw new GoError(msg);
  }),
  regexQuoteMeta: goFunc({ in: [S], out: S }, (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')),
};
