// Parsing of option values shared by commands: durations, sizes, cluster names, times.
import { ValidationError } from '../errors.js';

const DURATION_RE = /^(\d+)(s|m|h|d|w)$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** parseDuration accepts `90s`, `30m`, `12h`, `30d`, `2w`. */
export function parseDuration(value: string, flag: string): number {
  const m = DURATION_RE.exec(value.trim());
  if (!m || Number(m[1]) <= 0) {
    throw new ValidationError('USAGE', `${flag}: expected a duration like 30d, 12h or 90m, got ${JSON.stringify(value)}`);
  }
  return Number(m[1]) * UNIT_SECONDS[m[2]!]! * 1000;
}

/** parseClusterName accepts `namespace/name`. */
export function parseClusterName(value: string, flag = '--cluster'): string {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!m) throw new ValidationError('USAGE', `${flag}: expected NAMESPACE/NAME (lowercase DNS names), got ${JSON.stringify(value)}`);
  return value;
}

/** parsePositiveInt parses a positive safe integer flag. */
export function parsePositiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) {
    throw new ValidationError('USAGE', `${flag}: expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** parseEpochSeconds parses SOURCE_DATE_EPOCH style values. */
export function parseEpochSeconds(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new ValidationError('USAGE', `${flag}: expected seconds since the Unix epoch, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** parseTime parses an RFC 3339 time or `@<epoch seconds>`. */
export function parseTime(value: string, flag: string): Date {
  const d = value.startsWith('@') ? new Date(parseEpochSeconds(value.slice(1), flag) * 1000) : new Date(value);
  if (Number.isNaN(d.getTime()) || (!value.startsWith('@') && !/^\d{4}-\d{2}-\d{2}T/.test(value))) {
    throw new ValidationError('USAGE', `${flag}: expected an RFC 3339 time like 2026-01-31T12:00:00Z or @<epoch seconds>, got ${JSON.stringify(value)}`);
  }
  return d;
}

/** parseListen parses HOST:PORT. */
export function parseListen(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  const host = i > 0 ? value.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const portText = i >= 0 ? value.slice(i + 1) : value;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ValidationError('USAGE', `--listen: expected HOST:PORT, got ${JSON.stringify(value)}`);
  return { host, port };
}
