// Parsing of option values shared by commands: durations, sizes, cluster names, times.
import { ValidationError } from '../errors.js';
import type { LiveOptions } from '../kube/live.js';
import type { DriftDetectionFlags } from '../source/drift-detection.js';

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

const CLUSTER_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/;

/** isClusterName tells whether `value` is `namespace/name` (lowercase DNS names). */
export const isClusterName = (value: string): boolean => CLUSTER_NAME.test(value);

/** parseClusterName accepts `namespace/name`. */
export function parseClusterName(value: string, flag = '--cluster'): string {
  if (!isClusterName(value)) throw new ValidationError('USAGE', `${flag}: expected NAMESPACE/NAME (lowercase DNS names), got ${JSON.stringify(value)}`);
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
export function parseListen(value: string, flag = '--listen'): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  const host = i > 0 ? value.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const portText = i >= 0 ? value.slice(i + 1) : value;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ValidationError('USAGE', `${flag}: expected HOST:PORT, got ${JSON.stringify(value)}`);
  return { host, port };
}

// Size units: the binary ones (K, M, G, T, KiB, MiB, GiB, TiB) are powers of 1024, as in `split -b 4G`;
// the decimal ones (kB/KB, MB, GB, TB) are powers of 1000, as media are labelled (a "4.7GB" DVD, a "25GB" disc).
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/;

/**
 * parseSize parses a byte count: a number with an optional unit. `4G`, `4GiB` and `512M` are binary
 * (4 × 1024³ bytes); `4.7GB`, `25GB` and `650MB` are decimal (4.7 × 1000³); a bare number is bytes.
 * Fractions are rounded down to whole bytes.
 */
export function parseSize(value: string, flag: string): number {
  const m = SIZE_RE.exec(value.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ValidationError('USAGE', `${flag}: expected a size like 4G (binary, 1024³), 4.7GB (decimal, 1000³) or a byte count, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** FAT32_MAX_FILE is the largest file FAT32 holds: 4 GiB - 1 byte. */
export const FAT32_MAX_FILE = 4 * 1024 ** 3 - 1;

/** parseSplitSize parses `--split-size`: a size (see parseSize) or `fat32` (4 GiB - 1, the FAT32 file size limit). */
export function parseSplitSize(value: string, flag = '--split-size'): number {
  if (value.trim().toLowerCase() === 'fat32') return FAT32_MAX_FILE;
  return parseSize(value, flag);
}

/** BundleLimits are the resource limits of verify and import, parsed (unset: the documented defaults). */
export interface BundleLimits {
  maxMetadataBytes?: number;
  maxBlobs?: number;
  maxTotalBytes?: number;
  maxEntries?: number;
  maxObjectsBytes?: number;
}

/** parseLimits parses the `--max-*` flags of verify and import. */
export function parseLimits(o: { maxJsonBytes?: string; maxBlobs?: string; maxTotalSize?: string; maxEntries?: string; maxObjectsBytes?: string }): BundleLimits {
  const out: BundleLimits = {};
  if (o.maxJsonBytes !== undefined) out.maxMetadataBytes = parseSize(o.maxJsonBytes, '--max-json-bytes');
  if (o.maxBlobs !== undefined) out.maxBlobs = parsePositiveInt(o.maxBlobs, '--max-blobs');
  if (o.maxTotalSize !== undefined) out.maxTotalBytes = parseSize(o.maxTotalSize, '--max-total-size');
  if (o.maxEntries !== undefined) out.maxEntries = parsePositiveInt(o.maxEntries, '--max-entries');
  if (o.maxObjectsBytes !== undefined) out.maxObjectsBytes = parseSize(o.maxObjectsBytes, '--max-objects-bytes');
  return out;
}

/** DriftDetectionOptions are the flags that say where the drift-detection-manager manifests come from. */
export interface DriftDetectionOptions {
  sveltosVersion?: string;
  driftDetectionManifest?: string[];
  driftDetectionRegistry?: string;
  driftDetectionConfig?: string;
}

/** driftDetectionFlags turns the drift-detection flags into what export and resolve read. */
export function driftDetectionFlags(o: DriftDetectionOptions): DriftDetectionFlags {
  return {
    ...(o.sveltosVersion !== undefined ? { sveltosVersion: o.sveltosVersion } : {}),
    ...(o.driftDetectionManifest?.length ? { manifests: o.driftDetectionManifest } : {}),
    ...(o.driftDetectionRegistry ? { registry: o.driftDetectionRegistry } : {}),
    ...(o.driftDetectionConfig ? { configMap: o.driftDetectionConfig } : {}),
  };
}

/** LiveClusterOptions are the flags that read the input from the live management cluster. */
export interface LiveClusterOptions {
  fromCluster?: boolean;
  kubeconfig?: string;
  context?: string;
}

/** liveOptions checks the --from-cluster flags: undefined without --from-cluster (then --kubeconfig and --context are errors). */
export function liveOptions(o: LiveClusterOptions, env: NodeJS.ProcessEnv): LiveOptions | undefined {
  if (!o.fromCluster) {
    const stray = o.kubeconfig !== undefined ? '--kubeconfig' : o.context !== undefined ? '--context' : undefined;
    if (stray) throw new ValidationError('USAGE', `${stray} is used with --from-cluster (read the input from the management cluster's API server)`);
    return undefined;
  }
  return { env, ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}), ...(o.context !== undefined ? { context: o.context } : {}) };
}
