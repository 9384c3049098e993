// A lenient reader for small YAML lists embedded in annotations. Pure.
import { parse } from 'yaml';

/** parseYamlList parses `text` as YAML 1.1 and returns its items; anything but a list gives []. */
export function parseYamlList(text: string): unknown[] {
  try {
    const v = parse(text, { version: '1.1' }) as unknown;
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
