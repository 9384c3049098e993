// Secrets are never shown: what a person reads (resolve's output, a diff) carries each Secret value replaced
// by REDACTED. The bundle itself carries the values; only the shown copy is redacted.
import { createHash } from 'node:crypto';
import { parseAllDocuments, stringify } from 'yaml';

/** REDACTED replaces every Secret value in what is shown. */
export const REDACTED = '<redacted>';

const isSecret = (o: Record<string, unknown>) => o.kind === 'Secret' && (o.apiVersion === 'v1' || o.apiVersion === undefined || o.apiVersion === '');

/**
 * redactSecret returns `o` with its data and stringData values replaced (other objects as they are), and for a
 * Secret the SHA-256 of each value's bytes by key, to compare values without showing them.
 */
export function redactSecret(o: Record<string, unknown>): { shown: Record<string, unknown>; values?: Map<string, string> } {
  if (!isSecret(o)) return { shown: o };
  const values = new Map<string, string>();
  const shown: Record<string, unknown> = { ...o };
  for (const field of ['data', 'stringData'] as const) {
    const v = o[field];
    if (!v || typeof v !== 'object') continue;
    shown[field] = Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, value]) => {
        const bytes = field === 'data' ? Buffer.from(String(value), 'base64') : Buffer.from(String(value));
        values.set(k, createHash('sha256').update(bytes).digest('hex'));
        return [k, REDACTED];
      }),
    );
  }
  return { shown, values };
}

/** redactResource redacts the Secrets of one YAML resource text; text that holds no Secret is returned as it is. */
export function redactResource(text: string): string {
  if (!/\bSecret\b/.test(text)) return text;
  let docs: unknown[];
  try {
    docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
  } catch {
    return REDACTED;
  }
  if (!docs.some((d) => d && typeof d === 'object' && isSecret(d as Record<string, unknown>))) return text;
  return docs.map((d) => stringify(d && typeof d === 'object' ? redactSecret(d as Record<string, unknown>).shown : d, { lineWidth: 0 })).join('---\n');
}
