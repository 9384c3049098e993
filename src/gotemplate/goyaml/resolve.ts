// yaml.v2's implicit typing of plain scalars (YAML 1.1 flavour): booleans like yes/on, nulls,
// ints in base 0 with underscores, floats, .inf/.nan and timestamps.
// Reference: gopkg.in/yaml.v2 resolve.go.
import { TimeParseError, UTC, parseTime } from '../gotime.js';
import { parseFloat64, parseInt64, parseUint } from '../strconv.js';

/** Tag is the YAML type a plain scalar resolves to. */
export type Tag = 'str' | 'bool' | 'null' | 'int' | 'float' | 'timestamp' | 'merge';

const MAP = new Map<string, [Tag, unknown]>();
for (const [tag, value, words] of [
  ['bool', true, 'y Y yes Yes YES true True TRUE on On ON'],
  ['bool', false, 'n N no No NO false False FALSE off Off OFF'],
  ['null', null, '~ null Null NULL'],
  ['float', NaN, '.nan .NaN .NAN'],
  ['float', Infinity, '.inf .Inf .INF +.inf +.Inf +.INF'],
  ['float', -Infinity, '-.inf -.Inf -.INF'],
  ['merge', '<<', '<<'],
] as [Tag, unknown, string][]) {
  for (const w of words.split(' ')) MAP.set(w, [tag, value]);
}
MAP.set('', ['null', null]);

const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const TIMESTAMP_LAYOUTS = ['2006-1-2T15:4:5.999999999Z07:00', '2006-1-2t15:4:5.999999999Z07:00', '2006-1-2 15:4:5.999999999', '2006-1-2'];

function hint(c: string | undefined): string {
  if (c === undefined) return 'N';
  if (c === '+' || c === '-') return 'S';
  if (c >= '0' && c <= '9') return 'D';
  if ('yYnNtTfFoO~'.includes(c)) return 'M';
  if (c === '.') return '.';
  return '';
}

function isTimestamp(s: string): boolean {
  if (!/^[0-9]{4}-/.test(s)) return false;
  for (const layout of TIMESTAMP_LAYOUTS) {
    try {
      parseTime(layout, s, UTC);
      return true;
    } catch (e) {
      if (!(e instanceof TimeParseError)) throw e;
    }
  }
  return false;
}

/** resolvePlain is resolve("", s): the tag and value a plain scalar decodes to. */
export function resolvePlain(s: string): { tag: Tag; value: unknown } {
  const h = s === '' ? 'N' : hint(s[0]);
  if (h !== '') {
    const item = MAP.get(s);
    if (item) return { tag: item[0], value: item[1] };
    if (h === '.') {
      const f = parseFloat64(s);
      if (!f.err) return { tag: 'float', value: f.value };
    } else if (h === 'D' || h === 'S') {
      if (isTimestamp(s)) return { tag: 'timestamp', value: s };
      const plain = s.replace(/_/g, '');
      const i = parseInt64(plain, 0);
      if (!i.err) return { tag: 'int', value: i.value };
      const u = parseUint(plain, 0);
      if (!u.err) return { tag: 'int', value: u.value };
      if (YAML_FLOAT.test(plain)) {
        const f = parseFloat64(plain);
        if (!f.err) return { tag: 'float', value: f.value };
      }
      if (plain.startsWith('0b')) {
        const b = parseInt64(plain.slice(2), 2);
        if (!b.err) return { tag: 'int', value: b.value };
        const ub = parseUint(plain.slice(2), 2);
        if (!ub.err) return { tag: 'int', value: ub.value };
      } else if (plain.startsWith('-0b')) {
        const b = parseInt64('-' + plain.slice(3), 2);
        if (!b.err) return { tag: 'int', value: b.value };
      }
    }
  }
  return { tag: 'str', value: s };
}
