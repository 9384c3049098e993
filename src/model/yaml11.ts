// YAML as Kubernetes and Sveltos read it: go-yaml v2 (YAML 1.1) behind sigs.k8s.io/yaml.
// The `yaml` package's 1.1 schema is close; these tags make it closer: timestamps stay strings
// (go-yaml leaves them as strings when decoding into interface{}), sexagesimal numbers (`1:20`)
// stay strings (go-yaml has no base-60 ints), and `0o17` is an octal int (Go's ParseInt base 0).
import type { ScalarTag, Tags } from 'yaml';

const DROP = new Set(['TIME']);

const octal0o: ScalarTag = {
  identify: (v) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT0O',
  test: /^[-+]?0o[0-7_]+$/,
  resolve: (s: string) => {
    const neg = s.startsWith('-');
    const n = parseInt(s.replace(/^[-+]?0o/, '').replace(/_/g, ''), 8);
    return neg ? -n : n;
  },
};

/** goYAMLTags adjusts the YAML 1.1 tag set to go-yaml v2's resolution rules. */
export function goYAMLTags(tags: Tags): Tags {
  const kept = tags.filter((t) => {
    if (typeof t !== 'object') return true;
    if (t.tag === 'tag:yaml.org,2002:timestamp') return false;
    if ((t.tag === 'tag:yaml.org,2002:int' || t.tag === 'tag:yaml.org,2002:float') && DROP.has((t as ScalarTag).format ?? '')) return false;
    return true;
  });
  return [...kept, octal0o];
}
