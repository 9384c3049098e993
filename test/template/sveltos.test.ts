// The functions Sveltos adds to Sprig, checked against the Go oracle built with libsveltos' funcmap
// semantics (sigs.k8s.io/yaml, BurntSushi/toml, encoding/json) and the addon-controller's resource helpers.
import { describe } from 'vitest';
import { GoFloat } from '../../src/gotemplate/index.js';
import { OracleCase, oracleTable } from './oracle.js';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: '1234-5678',
    resourceVersion: '42',
    managedFields: [{ manager: 'kubectl' }],
    labels: { app: 'web', 'app.kubernetes.io/version': '1.0', tier: 'frontend' },
    annotations: { note: 'line one\nline two\n', empty: '' },
  },
  spec: {
    replicas: 3,
    paused: false,
    ratio: 0.5,
    template: {
      spec: {
        containers: [{ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }], args: ['--flag=yes', 'on', '123', '1.5', '2024-01-01'] }],
      },
    },
  },
};

const data = {
  d: deployment,
  s: 'plain',
  list: [1, 'two', null, true, 2.5, { k: 'v' }, []],
  strings: {
    yes: 'yes', no: 'NO', on: 'On', tilde: '~', null: 'null', empty: '', space: ' lead', trail: 'trail ', colon: 'a: b',
    colon2: 'a:b', hash: '#x', hash2: 'a #b', dash: '- x', dash2: '-x', star: '*x', quote: "it's", dquote: 'say "hi"',
    num: '123', hex: '0x1F', octal: '0777', float: '1.5', exp: '1e3', date: '2024-01-01', datetime: '2024-01-01T10:00:00Z',
    sexagesimal: '190:20:30', tab: 'a\tb', cr: 'a\rb', unicode: 'héllo wörld', emoji: 'hi 😀', ctrl: 'x\u0001y', nel: 'a\u0085b',
    bom: '\ufeffx', multi: 'a\nb', multiTrail: 'a\nb\n', multiTrail2: 'a\n\n', leadNl: '\nx', spaceNl: 'a \nb', nlSpace: 'a\n b',
    long: 'word '.repeat(30).trim(), longNoSpace: 'x'.repeat(120), longQuoted: ("it's " + 'word '.repeat(25)).trim(),
    longDouble: ('tab\t ' + 'word '.repeat(25)).trim(), dots: '...', dashes: '---', question: '? x', brace: '{a}', pct: '%x', at: '@x', bang: '!x',
    amp: '&x', pipe: '| x', gt: '> x', backtick: '`x', comma: 'a, b', bracket: 'a[0]', underscore: '1_000', plus: '+1', dotnum: '.5', inf: '.inf',
  },
  numbers: { int: 42, neg: -7, big: 9007199254740991, float: 2.5, whole: new GoFloat(3), tiny: 0.000001, tinier: 1e-7, huge: 1e21, huge2: 1e20, negf: -0.5 },
  keys: { a10: 1, a9: 2, A: 3, b: 4, '1': 5, '10': 6, '2': 7, _x: 8, a_b: 9, aB: 10, 'x y': 11, 'k:v': 12, '': 13, 'true': 14, '007': 15, '07': 16, é: 17, Z: 18 },
};

const yaml: OracleCase[] = [
  { name: 'toYaml deployment', template: '{{ toYaml .d }}' },
  { name: 'toYaml strings map', template: '{{ toYaml .strings }}' },
  { name: 'toYaml numbers', template: '{{ toYaml .numbers }}' },
  { name: 'toYaml key order', template: '{{ toYaml .keys }}' },
  { name: 'toYaml list', template: '{{ toYaml .list }}' },
  { name: 'toYaml scalars', template: '{{ toYaml .s }}|{{ toYaml 5 }}|{{ toYaml 2.5 }}|{{ toYaml true }}|{{ toYaml .nope }}|{{ toYaml "" }}|{{ toYaml "yes" }}|{{ toYaml (list) }}|{{ toYaml (dict) }}', missingkey: 'zero' },
  { name: 'toYaml each string alone', template: '{{ range $k, $v := .strings }}{{ $k }}={{ toYaml $v }}\n{{ end }}' },
  { name: 'toYaml nested lists', template: '{{ toYaml (list (list 1 (list 2 3)) (list) (dict "a" (list (dict "b" 1)))) }}' },
  { name: 'toYaml long key', template: '{{ toYaml (dict (repeat 130 "k") 1 "short" 2) }}' },
  { name: 'toYaml multiline key', template: '{{ toYaml (dict "a\\nb" 1) }}' },
  { name: 'toYaml deep long string', template: '{{ toYaml (dict "a" (dict "b" (dict "c" .strings.long))) }}' },
  { name: 'toYaml in list long string', template: '{{ toYaml (list .strings.long .strings.longQuoted) }}' },
  { name: 'toYaml literal in list', template: '{{ toYaml (list "a\\nb" (dict "k" "x\\ny\\n")) }}' },
  { name: 'toYaml typed values', template: '{{ toYaml (splitList "," "a,yes,1") }}|{{ toYaml (until 3) }}|{{ toYaml (split "." "a.b") }}' },
  { name: 'toYaml nil and NaN', template: '[{{ toYaml .nope }}][{{ toYaml (float64 "NaN") }}]', missingkey: 'default' },
  { name: 'toYaml nindent idiom', template: 'spec:{{ toYaml .d.spec.template | nindent 2 }}' },
  { name: 'fromYaml basic', template: '{{ $m := fromYaml "a: 1\\nb: [x, yes, ~]\\nc: {d: 1.5}\\ne: 0x10\\nf: 1_000\\ng: 2024-01-01" }}{{ $m.a }} {{ typeOf $m.a }} {{ $m.b }} {{ $m.c.d }} {{ $m.e }} {{ $m.f }} {{ $m.g }} {{ typeOf $m.g }}' },
  { name: 'fromYaml round trip', template: '{{ toYaml .d | fromYaml | toYaml }}' },
  { name: 'fromYaml anchors', template: '{{ $m := fromYaml "base: &b {x: 1, y: 2}\\nderived:\\n  <<: *b\\n  y: 3\\nref: *b" }}{{ toJson $m }}' },
  { name: 'fromYaml keys', template: '{{ toJson (fromYaml "1: a\\ntrue: b\\n1.5: c\\nyes: d\\n0x10: e") }}' },
  { name: 'fromYaml scalars', template: '{{ toJson (fromYaml "a: .5\\nb: -.inf2\\nc: \\"quoted\\"\\nd: \'single\'\\ne: |\\n  lit\\n  eral\\nf: >\\n  fol\\n  ded\\ng: !!str 123\\nh: !!binary aGk=") }}' },
  { name: 'fromYaml empty', template: '{{ fromYaml "" }} {{ fromYaml "# comment" }} {{ fromYaml "~" }}' },
  { name: 'fromYaml array into map', template: '{{ fromYaml "- a" }}' },
  { name: 'fromYaml scalar into map', template: '{{ fromYaml "just a string" }}' },
  { name: 'fromYaml inf', template: '{{ fromYaml "a: .inf" }}' },
  { name: 'fromYaml multiple documents', template: '{{ toJson (fromYaml "a: 1\\n---\\nb: 2") }}' },
  { name: 'fromYamlArray', template: '{{ $a := fromYamlArray "- 1\\n- b\\n- {c: 2}" }}{{ len $a }} {{ index $a 1 }} {{ (index $a 2).c }} {{ toJson $a }}' },
  { name: 'fromYamlArray map input', template: '{{ fromYamlArray "a: 1" }}' },
  { name: 'fromYamlArray empty', template: '{{ fromYamlArray "" }} {{ fromYamlArray "[]" | len }}' },
  { name: 'fromYaml with Error key is checkable', template: '{{ $m := fromYaml "- x" }}{{ if hasKey $m "Error" }}bad{{ end }}' },
];

const json: OracleCase[] = [
  { name: 'toJson sveltos', template: '{{ toJson .d }}' },
  { name: 'toJson html escaping', template: '{{ toJson "<a&b>" }} {{ toJson .nope }}', missingkey: 'zero' },
  { name: 'toJson unsupported', template: '[{{ toJson (float64 "NaN") }}]' },
  { name: 'fromJson sveltos', template: '{{ $m := fromJson "{\\"a\\": [1, {\\"b\\": null}], \\"c\\": 2}" }}{{ $m.a }} {{ $m.c }} {{ typeOf $m.c }}' },
  { name: 'fromJson array input', template: '{{ fromJson "[1,2]" }}' },
  { name: 'fromJson syntax error', template: '{{ fromJson "{\\"a\\":" }}' },
  { name: 'fromJson null', template: '{{ fromJson "null" }}' },
  { name: 'fromJsonArray', template: '{{ fromJsonArray "[1, \\"x\\", {\\"y\\": true}]" }} {{ fromJsonArray "{}" }} {{ fromJsonArray "[" }}' },
  { name: 'mustFromJson stays sprig', template: '{{ mustFromJson "[1]" }}' },
];

const toml: OracleCase[] = [
  { name: 'toToml deployment', template: '{{ toToml .d }}' },
  { name: 'toToml values', template: '{{ toToml (dict "s" "a\\"b\\n\\u0001" "i" 3 "f" 2.5 "w" 1e21 "b" true "l" (list 1 "x") "e" (list) "n" .nope "m n" 1 "" 2) }}', missingkey: 'zero' },
  { name: 'toToml tables', template: '{{ toToml (dict "a" (dict "b" (dict "c" 1) "d" 2) "arr" (list (dict "x" 1) (dict "y" (dict "z" 2))) "mixed" (list (dict "x" 1) 2) "empty" (dict)) }}' },
  { name: 'toToml non map', template: '{{ toToml "x" }}|{{ toToml (list 1) }}|{{ toToml (dict "a" (list .nope)) }}', missingkey: 'zero' },
  { name: 'fromToml', template: '{{ $t := fromToml "a = 1\\nb = \\"x\\"\\n[c]\\nd = 1.5\\ne = [1, 2]\\n[[f]]\\ng = true\\n[[f]]\\ng = false" }}{{ $t.a }} {{ typeOf $t.a }} {{ $t.b }} {{ $t.c.d }} {{ $t.c.e }} {{ len $t.f }} {{ (index $t.f 1).g }}' },
  { name: 'fromToml strings and numbers', template: '{{ toJson (fromToml "s1 = \'lit\\\\n\'\\ns2 = \\"esc\\\\tx\\"\\nh = 0xFF\\no = 0o17\\nbn = 0b101\\nu = 1_000\\nf = 1e3\\nneg = -2\\ninl = {x = 1, y.z = 2}") }}' },
  { name: 'fromToml dates', template: '{{ $t := fromToml "d = 1979-05-27T07:32:00Z\\nl = 1979-05-27" }}{{ $t.d | date "2006-01-02 15:04" }} {{ typeOf $t.l }} {{ $t.l | date "2006-01-02" }}' },
  { name: 'fromToml round trip', template: '{{ .d | toToml | fromToml | toJson }}' },
];

const resources = {
  cm: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', namespace: 'ns', uid: 'u-1', resourceVersion: '7', managedFields: [{ manager: 'x' }], labels: { a: 'b' } },
    data: { key: 'value', multi: 'l1\nl2\n' },
  },
  secret: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, data: { password: 'cGFzcw==' }, replicas: 2 },
};

const resourceCases: OracleCase[] = [
  { name: 'getResource strips fields', template: '{{ $r := getResource "cm" }}{{ $r.metadata.name }} {{ hasKey $r.metadata "uid" }} {{ hasKey $r.metadata "managedFields" }} {{ toJson $r.data }}' },
  { name: 'getResource missing', template: '[{{ getResource "nope" }}] {{ getResource "nope" | toJson }} {{ getResource "nope" | len }}' },
  { name: 'getResource missing field access', template: '{{ (getResource "nope").metadata }}' },
  { name: 'copy', template: '{{ copy "cm" }}' },
  { name: 'copy missing', template: '[{{ copy "nope" }}]' },
  { name: 'getField', template: '{{ getField "cm" "data.key" }} {{ getField "cm" "metadata.labels" }} {{ getField "secret" "replicas" }} {{ typeOf (getField "secret" "replicas") }} [{{ getField "cm" "data.nope" }}] [{{ getField "nope" "a" }}] [{{ getField "cm" "data.key.deeper" }}]' },
  { name: 'setField', template: '{{ setField "cm" "data.key" "new" }}' },
  { name: 'setField creates path', template: '{{ setField "secret" "spec.template.x" (dict "y" (list 1 "z")) }}' },
  { name: 'setField int constant panics', template: '{{ setField "cm" "data.n" 3 }}' },
  { name: 'setField int64', template: '{{ setField "cm" "data.n" (int64 3) }}' },
  { name: 'setField through non map', template: '[{{ setField "cm" "data.key.x" "v" }}]' },
  { name: 'setField typed list panics', template: '{{ setField "cm" "data.l" (splitList "," "a,b") }}' },
  { name: 'setField then getResource', template: '{{ $_ := setField "cm" "data.key" "changed" }}{{ (getResource "cm").data.key }}' },
  { name: 'removeField', template: '{{ removeField "cm" "metadata.labels" }}' },
  { name: 'removeField missing path', template: '{{ removeField "cm" "a.b.c" }}' },
  { name: 'chainSetField', template: '{{ getResource "cm" | chainSetField "data.x" "y" | chainSetField "metadata.labels.env" "prod" | toYaml }}' },
  { name: 'chainRemoveField', template: '{{ getResource "cm" | chainRemoveField "data" | chainRemoveField "metadata.labels" | toYaml }}' },
  { name: 'chainSetField failure gives nil map', template: '{{ getResource "cm" | chainSetField "data.key.x" "y" | toJson }}' },
  { name: 'resource used with sprig', template: '{{ $r := getResource "secret" }}{{ index $r.data "password" | b64dec }}' },
];

const cluster = {
  Cluster: {
    apiVersion: 'lib.projectsveltos.io/v1beta1',
    kind: 'SveltosCluster',
    metadata: { name: 'edge-1', namespace: 'fleet', labels: { env: 'prod', region: 'eu-west', cni: 'calico' } },
    spec: { clusterNetwork: { pods: { cidrBlocks: ['192.168.0.0/16', '10.244.0.0/16'] } } },
    status: { version: 'v1.29.3+k3s1', ready: true },
  },
};

const realistic: OracleCase[] = [
  {
    name: 'calico values from the addon-controller example',
    template:
      'installation:\n  calicoNetwork:\n    ipPools:\n    {{ range $cidr := .Cluster.spec.clusterNetwork.pods.cidrBlocks }}\n      - cidr: {{ $cidr }}\n        encapsulation: VXLAN\n    {{ end }}',
  },
  { name: 'label lookup with index', template: 'region: {{ index .Cluster.metadata.labels "region" }}\nname: {{ .Cluster.metadata.name }}-{{ .Cluster.metadata.namespace }}' },
  { name: 'missing label fails like Sveltos', template: 'zone: {{ .Cluster.metadata.labels.zone }}' },
  { name: 'missing label with default via index', template: 'zone: {{ index .Cluster.metadata.labels "zone" | default "none" }}' },
  {
    name: 'version gate',
    template: '{{ if semverCompare ">=1.28.0" .Cluster.status.version }}apiVersion: policy/v1{{ else }}apiVersion: policy/v1beta1{{ end }}',
  },
  {
    name: 'copied secret with trimmed metadata',
    template:
      '{{ $s := getResource "secret" }}apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ $s.metadata.name }}\n  namespace: {{ .Cluster.metadata.namespace }}\ndata:{{ toYaml $s.data | nindent 2 }}',
    mgmtResources: resources,
  },
  { name: 'escaped template for the target', template: 'value: {{`{{ .Values.x }}`}}\nother: {{ "{{" }}' },
  {
    name: 'helm values built with dict and toYaml',
    template: '{{ $v := dict "replicaCount" 2 "labels" .Cluster.metadata.labels "image" (dict "tag" (trimPrefix "v" .Cluster.status.version)) }}{{ toYaml $v }}',
  },
];

describe('sveltos functions', () => {
  oracleTable([
    ...[...yaml, ...json, ...toml].map((c) => ({ data, ...c, funcs: 'sveltos' as const })),
    ...resourceCases.map((c) => ({ ...c, funcs: 'sveltos' as const, mgmtResources: resources })),
    ...realistic.map((c) => ({ data: cluster, ...c, funcs: 'sveltos' as const })),
  ]);
});
