// Public API of the template engine: errors, options, limits, data conversion and the behaviours
// of Sveltos' functions that the Go oracle cannot show (shared state, newer library versions).
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../errors.js';
import {
  DEFAULT_TEMPLATE_OPTIONS,
  GoFloat,
  GoInt,
  GoTime,
  parseTemplate,
  renderTemplate,
  sprigFuncs,
  sveltosFuncs,
  sveltosTemplateFuncs,
  toGoValue,
} from './index.js';

function failure(f: () => unknown): TemplateError {
  try {
    f();
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error('expected a TemplateError');
}

describe('renderTemplate and TemplateError', () => {
  it('renders with Sprig and Sveltos functions', () => {
    const out = renderTemplate('{{ .Cluster.metadata.name | upper }}-{{ toYaml .Cluster.metadata.labels }}', toGoValue({
      Cluster: { metadata: { name: 'prod', labels: { env: 'prod', tier: 'gold' } } },
    }), { funcs: sveltosTemplateFuncs({ mgmtResources: {} }) });
    expect(out).toBe('PROD-env: prod\ntier: gold');
  });

  it('reports parse errors with code PARSE, the template name and the line', () => {
    const e = failure(() => renderTemplate('a\n{{ if }}', {}, { name: 'ns-cluster-chart' }));
    expect(e.code).toBe('PARSE');
    expect(e.message).toBe('template: ns-cluster-chart:2: missing value for if');
    expect(e.details).toEqual({ template: 'ns-cluster-chart', line: 2, col: 0 });
  });

  it('reports missing keys with code MISSING_KEY, line and byte column', () => {
    const e = failure(() => renderTemplate('héllo\n  {{ .a.b }}', toGoValue({ a: {} }), { name: 't' }));
    expect(e.code).toBe('MISSING_KEY');
    // Go positions a field chain at its last element.
    expect(e.message).toBe('template: t:2:7: executing "t" at <.a.b>: map has no entry for key "b"');
    expect(e.details).toEqual({ template: 't', line: 2, col: 7 });
  });

  it('reports function failures with code EXEC', () => {
    const e = failure(() => renderTemplate('{{ fail "stop" }}', null, { funcs: sprigFuncs() }));
    expect(e.code).toBe('EXEC');
    expect(e.message).toBe('template: template:1:3: executing "template" at <fail "stop">: error calling fail: stop');
  });

  it('knows only the builtins unless functions are given', () => {
    expect(failure(() => renderTemplate('{{ upper "x" }}', null)).message).toBe('template: template:1: function "upper" not defined');
    expect(renderTemplate('{{ len "abc" }}', null)).toBe('3');
  });

  it('refuses complex constants, which Go would print', () => {
    expect(failure(() => renderTemplate('{{ 1i }}', null)).message).toMatch(/complex constant 1i is not supported/);
  });
});

describe('parseTemplate', () => {
  it('parses once and executes many times, with per-execution options', () => {
    const t = parseTemplate('{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" .v }}', { name: 'main' });
    expect(t.templates()).toEqual(['main', 'x']);
    expect(t.execute(toGoValue({ v: 1 }))).toBe('[1]');
    expect(t.execute(toGoValue({ v: 'two' }))).toBe('[two]');
    expect(failure(() => t.execute({})).code).toBe('MISSING_KEY');
    expect(t.execute({}, { missingKey: 'default' })).toBe('[<no value>]');
    expect(t.execute({}, { missingKey: 'zero' })).toBe('[<no value>]');
  });

  it('withName renders and fails exactly as a parse under the new name', () => {
    const texts = [
      'x={{ .a.b }}',
      '{{ fail "stop" }}',
      '{{ define "ns-two" }}defined{{ end }}{{ template "ns-two" }}',
      '{{ block "b" . }}[{{ .a.b }}]{{ end }}',
      '{{ template "ns-two" }}',
    ];
    const outcome = (f: () => string) => {
      try {
        return f();
      } catch (e) {
        // A name the text defines itself fails to parse.
        if (!(e instanceof TemplateError)) throw e;
        return { code: e.code, message: e.message, details: e.details };
      }
    };
    const funcs = sprigFuncs();
    for (const text of texts) {
      const once = parseTemplate(text, { name: 'ns-one', funcs });
      for (const data of [toGoValue({ a: {} }), toGoValue({ a: { b: 1 } })]) {
        const want = outcome(() => parseTemplate(text, { name: 'ns-two', funcs }).execute(data));
        expect(outcome(() => once.withName('ns-two').execute(data))).toEqual(want);
      }
    }
  });

  it('calls plain JavaScript functions with engine values', () => {
    const calls: unknown[][] = [];
    const funcs = {
      join2: (...args: unknown[]) => {
        calls.push(args);
        return args.map(String).join('+');
      },
      nothing: () => undefined,
      boom: () => {
        throw new Error('bad input');
      },
    };
    expect(renderTemplate('{{ join2 "a" .n }}|{{ nothing }}', toGoValue({ n: 5 }), { funcs })).toBe('a+5|<no value>');
    expect(calls).toEqual([['a', 5]]);
    expect(failure(() => renderTemplate('{{ boom }}', null, { funcs })).message).toMatch(/error calling boom: bad input$/);
  });
});

describe('limits on hostile templates', () => {
  const sprig = sprigFuncs();

  it('stops runaway loops after maxSteps', () => {
    const e = failure(() => renderTemplate('{{ range until 1000 }}{{ range until 1000 }}x{{ end }}{{ end }}', null, { funcs: sprig, maxSteps: 10_000 }));
    expect(e.code).toBe('LIMIT');
    expect(e.message).toMatch(/execution exceeds the limit of 10000 steps/);
  });

  it('stops unbounded template recursion at maxDepth', () => {
    const e = failure(() => renderTemplate('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" }}', null, { maxDepth: 50 }));
    expect(e.code).toBe('LIMIT');
    expect(e.message).toMatch(/exceeded maximum template depth \(50\)/);
  });

  it('uses a recursion bound that the JavaScript stack can hold', () => {
    const e = failure(() => renderTemplate('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" }}', null));
    expect(e.code).toBe('LIMIT');
    expect(e.message).toMatch(new RegExp(`maximum template depth \\(${DEFAULT_TEMPLATE_OPTIONS.maxDepth}\\)`));
  });

  it('caps output size', () => {
    const e = failure(() => renderTemplate('{{ range until 100 }}{{ repeat 100 "x" }}{{ end }}', null, { funcs: sprig, maxOutputBytes: 5000 }));
    expect(e.code).toBe('LIMIT');
  });

  it('caps strings and lists that functions build, before allocating them', () => {
    for (const t of ['{{ repeat 1000000000 "abc" }}', '{{ until 1000000000 | len }}', '{{ randAlpha 1000000000 }}', '{{ untilStep 0 2000000000 1 | len }}']) {
      const e = failure(() => renderTemplate(t, null, { funcs: sprig, maxOutputBytes: 1_000_000 }));
      expect(e.code, t).toBe('LIMIT');
    }
  });

  it('turns absurd nesting into an error instead of a crash', () => {
    const deep = '{{ ' + '('.repeat(20_000) + '1' + ')'.repeat(20_000) + ' }}';
    const e = failure(() => renderTemplate(deep, null));
    expect(['LIMIT', 'PARSE']).toContain(e.code);
    const ifs = '{{ if true }}'.repeat(20_000) + 'x' + '{{ end }}'.repeat(20_000);
    expect(['LIMIT', 'PARSE']).toContain(failure(() => renderTemplate(ifs, null)).code);
  });

  it('bounds alias expansion in fromYaml', () => {
    const lol = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) lol.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill('*' + String.fromCharCode(96 + i)).join(',')}]`);
    const out = renderTemplate('{{ (fromYaml .y).Error }}', { y: lol.join('\n') }, { funcs: sveltosTemplateFuncs({ mgmtResources: {} }) });
    expect(out).toMatch(/excessive aliasing/);
  });
});

describe('toGoValue', () => {
  it('types numbers as Kubernetes unstructured data does', () => {
    const v = toGoValue({ i: 3, f: 1.5, whole: new GoFloat(2), big: 2n ** 60n, nan: NaN, neg0: -0, d: new Date(0), m: new Map([['k', 1]]), u: undefined }) as Record<string, unknown>;
    expect(v.i).toBe(3);
    expect(v.f).toBe(1.5);
    expect(v.whole).toBeInstanceOf(GoFloat);
    expect(v.big).toBe(2n ** 60n);
    expect(v.neg0).toBeInstanceOf(GoFloat);
    expect(v.d).toBeInstanceOf(GoTime);
    expect(v.m).toEqual({ k: 1 });
    expect(v.u).toBeNull();
    const funcs = sprigFuncs();
    expect(renderTemplate('{{ typeOf .i }} {{ typeOf .f }} {{ typeOf .whole }} {{ .whole }} {{ typeOf .big }} {{ .big }} {{ .d | date "2006" }}', v, { funcs })).toBe(
      'int64 float64 float64 2 int64 1152921504606846976 1970',
    );
  });

  it('keeps "__proto__" as an ordinary key', () => {
    const v = toGoValue(JSON.parse('{"__proto__": {"x": 1}, "a": 2}'));
    expect(renderTemplate('{{ keys . | sortAlpha }} {{ index . "__proto__" "x" }}', v, { funcs: sprigFuncs() })).toBe('[__proto__ a] 1');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('leaves engine values alone', () => {
    const i = new GoInt(4);
    expect((toGoValue([i]) as unknown[])[0]).toBe(i);
  });
});

describe('choices that differ from the exporting machine', () => {
  it('never reads the environment', () => {
    process.env.SVELTOS_AIRGAP_TEST_SECRET = 'leak';
    try {
      expect(renderTemplate('[{{ env "SVELTOS_AIRGAP_TEST_SECRET" }}][{{ expandenv "$SVELTOS_AIRGAP_TEST_SECRET" }}]', null, { funcs: sprigFuncs() })).toBe('[][]');
    } finally {
      delete process.env.SVELTOS_AIRGAP_TEST_SECRET;
    }
  });

  it('renders dates in UTC whatever the local time zone', () => {
    expect(renderTemplate('{{ date "2006-01-02 15:04 MST" 0 }} {{ now | date "MST" }}', null, { funcs: sprigFuncs() })).toBe('1970-01-01 00:00 UTC UTC');
  });
});

describe('Sprig 3.3 behaviour (the version Sveltos ships)', () => {
  const funcs = sprigFuncs();
  it('camelcase keeps the case of letters (xstrings 1.4+)', () => {
    expect(renderTemplate('{{ camelcase "HELLO_world-x y" }} {{ camelcase "some_words" }}', null, { funcs })).toBe('HELLOWorldXY SomeWords');
  });
  it('has sha512sum', () => {
    expect(renderTemplate('{{ sha512sum "abc" }}', null, { funcs })).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });
  it('mergeOverwrite replaces a scalar with a map (mergo 1.0)', () => {
    expect(renderTemplate('{{ toJson (mergeOverwrite (dict "a" "x") (dict "a" (dict "b" 1))) }}', null, { funcs })).toBe('{"a":{"b":1}}');
  });
});

describe('Sveltos resource functions', () => {
  const resources = () =>
    toGoValue({
      cm: { kind: 'ConfigMap', metadata: { name: 'c', uid: 'u', resourceVersion: '1', managedFields: [] }, data: { k: 'v' } },
    }) as Record<string, Record<string, unknown>>;

  it('change the shared resources in place, as the addon-controller does', () => {
    const mgmtResources = resources();
    const data = { MgmtResources: mgmtResources };
    const funcs = sveltosTemplateFuncs({ mgmtResources });
    const out = renderTemplate('{{ hasKey .MgmtResources.cm.metadata "uid" }} {{ $_ := getResource "cm" }}{{ hasKey .MgmtResources.cm.metadata "uid" }}', data, { funcs });
    expect(out).toBe('true false');
    renderTemplate('{{ setField "cm" "data.k" "w" }}', data, { funcs });
    expect((mgmtResources.cm!.data as Record<string, unknown>).k).toBe('w');
  });

  it('copy renders the resource as YAML without server fields', () => {
    const funcs = sveltosFuncs({ mgmtResources: resources() });
    expect(renderTemplate('{{ copy "cm" }}', null, { funcs })).toBe('data:\n  k: v\nkind: ConfigMap\nmetadata:\n  name: c');
  });

  it('treat unknown identifiers as empty', () => {
    const funcs = sveltosFuncs({ mgmtResources: {} });
    expect(renderTemplate('[{{ copy "x" }}][{{ getField "x" "a" }}][{{ setField "x" "a" "b" }}][{{ removeField "x" "a" }}][{{ if getResource "x" }}y{{ end }}]', null, { funcs })).toBe('[][][][][]');
  });
});
