// Guards for JSON-shaped data read from outside (documents, YAML, HTTP bodies).

/** isPlainObject tells whether `v` is a JSON object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** asRecord returns `v` when it is a JSON object, else an empty one (for reading optional fields). */
export function asRecord(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}
