// Kubernetes `Status` failures as values: the object store returns them, the routes write them.
// Reference: https://github.com/kubernetes/apimachinery/blob/v0.32.0/pkg/apis/meta/v1/types.go (Status, StatusReason)
import type { ResourceInfo } from './resources.js';
import { qualifiedName } from './resources.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'InternalError';

/** ApiFailure is a refused request: the HTTP code and the Status fields Kubernetes clients branch on. */
export interface ApiFailure {
  code: number;
  reason: StatusReason;
  message: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message: string; field?: string }[] };
}

/** ApiResult is a value or the failure a client sees. */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; failure: ApiFailure };

export const ok = <T>(value: T): ApiResult<T> => ({ ok: true, value });
export const fail = <T = never>(failure: ApiFailure): ApiResult<T> => ({ ok: false, failure });

/** statusBody is the `Status` object written for a failure. */
export function statusBody(f: ApiFailure): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: f.message,
    reason: f.reason,
    ...(f.details ? { details: f.details } : {}),
    code: f.code,
  };
}

function named(r: ResourceInfo, name: string) {
  return { name, group: r.group, kind: r.plural };
}

export const notFound = (r: ResourceInfo, name: string): ApiFailure => ({
  code: 404,
  reason: 'NotFound',
  message: `${qualifiedName(r)} "${name}" not found`,
  details: named(r, name),
});

export const alreadyExists = (r: ResourceInfo, name: string): ApiFailure => ({
  code: 409,
  reason: 'AlreadyExists',
  message: `${qualifiedName(r)} "${name}" already exists`,
  details: named(r, name),
});

export const conflict = (r: ResourceInfo, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiFailure => ({
  code: 409,
  reason: 'Conflict',
  message: `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": ${why}`,
  details: named(r, name),
});

export const invalid = (r: ResourceInfo, name: string, causes: { field: string; message: string }[]): ApiFailure => ({
  code: 422,
  reason: 'Invalid',
  message: `${r.kind}.${r.group} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
  details: { name, group: r.group, kind: r.kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', ...c })) },
});

export const badRequest = (message: string): ApiFailure => ({ code: 400, reason: 'BadRequest', message });

export const forbidden = (message: string, r?: ResourceInfo, name?: string): ApiFailure => ({
  code: 403,
  reason: 'Forbidden',
  message,
  ...(r ? { details: { ...(name ? { name } : {}), group: r.group, kind: r.plural } } : {}),
});

export const expired = (message: string): ApiFailure => ({ code: 410, reason: 'Expired', message });
