// Golden tests of the Go-compatible encoders against test/sveltos-oracle (Go encoding/json + go-yaml v2).
// Fixtures: test/fixtures/sveltos-oracle/cases.json (inputs, written by gen-cases.mjs) and
// expected.json (the Go program's output). When `go` is installed the oracle is also run live.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goJSONMarshal, goJSONString } from './gojson.js';
import { sigsYAMLMarshal, YAMLMarshalError } from './goyaml.js';

const dir = new URL('../../test/fixtures/sveltos-oracle/', import.meta.url);
const casesText = readFileSync(new URL('cases.json', dir), 'utf8');
const cases = JSON.parse(casesText) as { name: string; objects: unknown[] }[];
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as {
  name: string;
  yaml?: string[];
  json?: string[];
  hash?: string;
  error?: string;
}[];

function bundleHash(objects: unknown[]): string {
  const h = createHash('sha256');
  for (const o of objects) h.update(goJSONMarshal(o), 'utf8');
  return h.digest('base64');
}

describe('sigs.k8s.io/yaml.Marshal and the libsveltos bundle hash (golden, from the Go oracle)', () => {
  it('has one expectation per case', () => {
    expect(expected.map((e) => e.name)).toEqual(cases.map((c) => c.name));
  });
  it.each(cases.map((c, i) => ({ name: c.name, objects: c.objects, want: expected[i]! })))('$name', ({ objects, want }) => {
    if (want.error) {
      expect(() => objects.map((o) => sigsYAMLMarshal(o))).toThrow(YAMLMarshalError);
      expect(() => objects.map((o) => sigsYAMLMarshal(o))).toThrow(want.error);
      return;
    }
    expect(objects.map((o) => sigsYAMLMarshal(o))).toEqual(want.yaml);
    expect(objects.map((o) => goJSONMarshal(o))).toEqual(want.json);
    expect(bundleHash(objects)).toBe(want.hash);
  });
});

const goAvailable = existsSync('/usr/bin/go') && existsSync('/usr/share/gocode/src/gopkg.in/yaml.v2');
describe.runIf(goAvailable)('Go oracle (live)', () => {
  it('still produces the committed expectations', () => {
    const out = execFileSync('go', ['run', new URL('../../test/sveltos-oracle/main.go', import.meta.url).pathname], {
      input: casesText,
      env: { ...process.env, GOPATH: '/usr/share/gocode', GO111MODULE: 'off', GOFLAGS: '-mod=mod', GOCACHE: process.env.GOCACHE ?? '/tmp/go-cache' },
      maxBuffer: 64 * 1024 * 1024,
    }).toString();
    expect(JSON.parse(out)).toEqual(expected);
  }, 120_000);
});

describe('Go encoding/json details not covered by the Go 1.19 oracle', () => {
  it('escapes \\b and \\f as Go 1.22+ does (Sveltos is built with a recent Go)', () => {
    expect(goJSONString('a\bb\fc')).toBe('"a\\bb\\fc"');
  });
  it('writes lone surrogates as \\ufffd, as Go writes invalid UTF-8', () => {
    expect(goJSONString('x\ud800y\udc00')).toBe('"x\\ufffdy\\ufffd"');
    expect(goJSONString('😀')).toBe('"😀"');
  });
  it('sorts keys by UTF-8 bytes: an astral key sorts after U+FFFD', () => {
    expect(goJSONMarshal({ '\ufffd': 1, '😀': 2, a: 3 })).toBe('{"a":3,"\ufffd":1,"😀":2}');
  });
  it('writes -0 as -0 in JSON and 0 in YAML', () => {
    expect(goJSONMarshal({ a: -0 })).toBe('{"a":-0}');
    expect(sigsYAMLMarshal({ a: -0 })).toBe('a: 0\n');
  });
});
