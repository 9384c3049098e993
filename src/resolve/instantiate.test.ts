// Instantiation with a plan's TemplateCache gives what parsing each text anew gives.
import { describe, expect, it } from 'vitest';
import { instantiate, instantiateReference, TemplateCache, type TemplateContext } from './instantiate.js';

const ctx = (name: string, templates?: TemplateCache): TemplateContext => ({
  clusterNamespace: 'edge',
  clusterName: name,
  cluster: { metadata: { name, namespace: 'edge', labels: { env: 'prod' } } },
  mgmtResources: { cm: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'src' }, data: { k: 'v' } } },
  ...(templates ? { templates } : {}),
});

const outcome = (f: () => string) => {
  try {
    return f();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
};

describe('TemplateCache', () => {
  const texts = [
    'name: {{ .Cluster.metadata.name }}',
    '{{ .Cluster.metadata.nope }}',
    '{{ if }}',
    '{{ define "edge-c2-r" }}mine{{ end }}{{ template "edge-c2-r" }}',
    '{{ (getResource "cm").data.k }}-{{ setField "cm" "data.k" "w" }}',
  ];

  it('renders and fails as parsing each text anew, under each cluster name', () => {
    const templates = new TemplateCache();
    for (const name of ['c1', 'c2', 'c1']) {
      for (const text of texts) {
        expect(outcome(() => instantiate(text, ctx(name, templates), 'r'))).toBe(outcome(() => instantiate(text, ctx(name), 'r')));
      }
      expect(outcome(() => instantiateReference('{{ .ClusterName }}-x', ctx(name, templates)))).toBe(`${name}-x`);
    }
  });

  it('parses a text once, and keeps at most max texts', () => {
    const templates = new TemplateCache(2);
    const a = templates.parse('{{ .a }}', 'one');
    expect(templates.parse('{{ .a }}', 'one')).toBe(a);
    expect(templates.parse('{{ .a }}', 'two').name).toBe('two');
    templates.parse('{{ .b }}', 'one');
    templates.parse('{{ .c }}', 'one');
    expect(templates.parse('{{ .a }}', 'one')).not.toBe(a);
  });
});
