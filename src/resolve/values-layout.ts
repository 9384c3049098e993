// Why templated Helm values no longer parse: a template expression in a value position (`key: {{ x }}`)
// that renders several lines puts every line after the first at column 0, which breaks the YAML or
// makes it a different structure. Sveltos parses such values and silently keeps what parses (a
// truncated map); we refuse them, and this explains where and how to fix it. Pure: text in, text out.

/** InlineExpression is a `{{ ... }}` placed after other text on its line (a value position). */
export interface InlineExpression {
  /** The expression as written, braces included. */
  text: string;
  /** 1-based line in the values template. */
  line: number;
  /** Column where the line's content starts (the key's indentation). */
  indent: number;
}

const EXPR = /\{\{-?[\s\S]*?-?\}\}/g;

/**
 * inlineExpressions lists the expressions of `source` that stand after a key or a list dash on their
 * line and are not already indented by the template (`indent`, `nindent`): the ones whose extra lines
 * would land at column 0.
 */
export function inlineExpressions(source: string): InlineExpression[] {
  const out: InlineExpression[] = [];
  source.split('\n').forEach((lineText, i) => {
    for (const m of lineText.matchAll(EXPR)) {
      const before = lineText.slice(0, m.index);
      if (before.trim() === '') continue;
      if (/\b(n?indent)\b/.test(m[0])) continue;
      out.push({ text: m[0], line: i + 1, indent: lineText.length - lineText.trimStart().length });
    }
  });
  return out;
}

/**
 * explainValuesLayout says which inline expression renders several lines (`renderOne` renders one
 * expression; undefined when it cannot be rendered alone) and how to fix it: the first of
 * `{{ x | toYaml | nindent K }}` for a few K with which `parses` accepts the whole values template.
 * Undefined when no inline expression renders several lines.
 */
export function explainValuesLayout(
  source: string,
  renderOne: (expr: string) => string | undefined,
  parses: (fixedSource: string) => boolean,
): string | undefined {
  for (const e of inlineExpressions(source)) {
    const out = renderOne(e.text)?.replace(/\n+$/, '');
    if (out === undefined || !out.includes('\n')) continue;
    const inner = e.text.replace(/^\{\{-?\s*/, '').replace(/\s*-?\}\}$/, '');
    const lines = source.split('\n');
    const fix = [2, 4, 6]
      .map((d) => `{{ ${inner} | toYaml | nindent ${e.indent + d} }}`)
      .find((f) => {
        const fixed = [...lines];
        fixed[e.line - 1] = fixed[e.line - 1]!.replace(e.text, f);
        return parses(fixed.join('\n'));
      });
    return (
      `${e.text} (values template line ${e.line}) renders ${out.split('\n').length} lines, and every line after its first ` +
      `lands at column 0, outside the key it was meant for` +
      (fix ? `; indent them: write ${fix} (text keeps its lines, a structure stays nested)` : '; indent them with toYaml | nindent N')
    );
  }
  return undefined;
}
