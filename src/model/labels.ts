// Label selector requirements and matching: one evaluator for profile selectors (LabelSelector objects)
// and for the `?labelSelector=` strings API clients send. Data + predicates only.
import type { LabelSelector, Labels } from './sveltos.js';

/** Requirement is one term of a label selector. */
export type Requirement =
  | { key: string; op: 'eq' | 'ne'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'gt' | 'lt'; value: number };

/** Selector is a conjunction of requirements; the empty selector matches everything. */
export type Selector = readonly Requirement[];

/** matchesLabels tells whether `labels` satisfy every requirement. */
export function matchesLabels(selector: Selector, labels: Labels | undefined): boolean {
  const l = labels ?? {};
  for (const r of selector) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'eq':
        if (!has || v !== r.value) return false;
        break;
      case 'ne':
        if (has && v === r.value) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        const n = Number(v);
        if (r.op === 'gt' ? !(n > r.value) : !(n < r.value)) return false;
        break;
      }
    }
  }
  return true;
}

const OPS = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: 'notexists' } as const;

/**
 * requirementsOf turns a LabelSelector (matchLabels AND matchExpressions) into requirements. An unknown
 * operator becomes a requirement nothing satisfies (`in` no values), so a bad selector selects nothing.
 */
export function requirementsOf(sel: LabelSelector): Requirement[] {
  const out: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, value]) => ({ key, op: 'eq', value }));
  for (const e of sel.matchExpressions ?? []) {
    const op = OPS[e.operator as keyof typeof OPS];
    if (op === 'in' || op === 'notin') out.push({ key: e.key, op, values: e.values ?? [] });
    else if (op) out.push({ key: e.key, op });
    else out.push({ key: e.key, op: 'in', values: [] });
  }
  return out;
}
