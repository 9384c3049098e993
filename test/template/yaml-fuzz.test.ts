// Generated data through toYaml and toJson on both engines: a seeded generator builds nested maps
// and lists of awkward strings, numbers and keys, so the YAML emitter's quoting, folding and key
// order are exercised far beyond the hand-written cases.
import { describe } from 'vitest';
import { GoFloat } from '../../src/gotemplate/index.js';
import { prng } from '../helpers.js';
import { OracleCase, oracleTable } from './oracle.js';


const PIECES = [
  'a', 'b', 'Z', '0', '1', '9', ' ', '  ', ':', ': ', '#', ' #', '-', '- ', '?', ',', '[', ']', '{', '}', '&', '*', '!',
  '|', '>', "'", '"', '%', '@', '`', '\\', '\t', '\n', '\r', '.', '...', '---', 'yes', 'no', 'on', 'true', 'null', '~',
  '0x1F', '1e3', '1_0', '2024-01-02', '12:30:45', 'é', 'ß', '中', '😀', '\u0001', '\u007f', '\u00a0', '\u2028', 'word ',
  'longer words here ', 'x'.repeat(30), '=', '<', '&amp;',
];

function genString(r: () => number): string {
  const n = Math.floor(r() * 6);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  if (r() < 0.1) s = ('lorem ipsum ' + s + ' ').repeat(1 + Math.floor(r() * 12));
  return s;
}

function genValue(r: () => number, depth: number): unknown {
  const x = r();
  if (depth > 3 || x < 0.45) {
    const y = r();
    if (y < 0.55) return genString(r);
    if (y < 0.7) return Math.floor((r() - 0.5) * 1e6);
    if (y < 0.8) return [0.5, -2.25, 1e-7, 1e21, 123456.789, 3.14159][Math.floor(r() * 6)];
    if (y < 0.85) return new GoFloat(Math.floor(r() * 100));
    if (y < 0.93) return r() < 0.5;
    return null;
  }
  if (x < 0.7) return Array.from({ length: Math.floor(r() * 4) }, () => genValue(r, depth + 1));
  const m: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) m[r() < 0.7 ? genString(r) : String(Math.floor(r() * 120))] = genValue(r, depth + 1);
  return m;
}

const cases: OracleCase[] = [];
const r = prng(20240601);
for (let i = 0; i < 120; i++) {
  const v = genValue(r, 0);
  cases.push({ name: `generated toYaml #${i}`, template: '{{ toYaml .v }}', data: { v }, funcs: 'sveltos' });
  if (i % 3 === 0) cases.push({ name: `generated toJson #${i}`, template: '{{ toJson .v }}|{{ toPrettyJson .v }}', data: { v }, funcs: 'sprig' });
}

describe('generated data through toYaml and toJson', () => {
  oracleTable(cases);
});
