// Distribution-spec error replies: one helper builds every error body the registry writes.
// Reference: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes
import type { Reply } from './handler.js';

/** RegistryErrorCode lists the distribution-spec codes this server writes (UNKNOWN is distribution's 500 code). */
export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_UNKNOWN'
  | 'NAME_INVALID'
  | 'DIGEST_INVALID'
  | 'TAG_INVALID'
  | 'UNSUPPORTED'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  | 'UNKNOWN';

/** RegistryErrorBody is the JSON shape of every error response. */
export interface RegistryErrorBody {
  errors: Array<{ code: RegistryErrorCode; message: string; detail?: unknown }>;
}

/** err builds an error Reply with a distribution-spec body; `headers` are merged over the JSON defaults. */
export function err(
  status: number,
  code: RegistryErrorCode,
  message: string,
  detail?: unknown,
  headers: Record<string, string> = {},
): Reply {
  const body: RegistryErrorBody = { errors: [detail === undefined ? { code, message } : { code, message, detail }] };
  const buf = Buffer.from(JSON.stringify(body));
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(buf.length), ...headers },
    body: buf,
  };
}
