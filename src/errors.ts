// Typed errors: one base with a `code` union, identity first in messages, and the cause chained.
// The CLI maps classes and codes to exit codes (cli/index.ts); library code only throws.

export type ErrorDetails = Record<string, unknown>;

/** BaseError is the root of every error this package throws on purpose. */
export class BaseError<C extends string = string> extends Error {
  readonly details?: ErrorDetails;
  constructor(
    readonly code: C,
    message: string,
    opts?: ErrorOptions & { details?: ErrorDetails },
  ) {
    super(message, opts);
    this.name = new.target.name;
    if (opts?.details) this.details = opts.details;
  }
}

/** ContentError is about stored or streamed bytes: digests, sizes, paths. */
export class ContentError extends BaseError<
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_DIGEST'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'SIZE_EXCEEDS_LIMIT'
  | 'UNSUPPORTED'
  | 'UNSAFE_PATH'
  | 'INVALID_TAR'
  | 'INVALID_LAYOUT'
  | 'NO_SPACE'
> {}

/** CopyError wraps a failure while copying a graph, saying on which side it happened. */
export class CopyError extends BaseError<'COPY_FAILED'> {
  constructor(
    readonly op: string,
    readonly origin: 'source' | 'destination',
    message: string,
    opts?: ErrorOptions & { details?: ErrorDetails },
  ) {
    super('COPY_FAILED', message, opts);
  }
}

/** ValidationError is bad user input (flags, YAML, manifests that do not parse); `fields` are dot paths. */
export class ValidationError extends BaseError<'INVALID' | 'USAGE'> {
  readonly fields: string[];
  constructor(code: 'INVALID' | 'USAGE', message: string, opts?: ErrorOptions & { details?: ErrorDetails; fields?: string[] }) {
    super(code, message, opts);
    this.fields = opts?.fields ?? [];
  }
}

/** VerificationError is a trust failure: anything that must make `verify`/`import` exit 2. */
export class VerificationError extends BaseError<
  | 'SIGNATURE_INVALID'
  | 'UNTRUSTED_SIGNER'
  | 'BLOB_MISSING'
  | 'SUBJECT_MISMATCH'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'ROLLBACK'
  | 'POLICY'
  | 'TAMPERED'
  | 'INVALID_OBJECTS'
  | 'NAME_COLLISION'
> {}

/**
 * IncompleteError says a split bundle cannot be finished with the parts given: the verified blobs were kept,
 * and `details` names the missing parts and blobs. Not a trust failure: importing the other parts finishes it.
 */
export class IncompleteError extends BaseError<'INCOMPLETE'> {}

/** TemplateDetails locate a template failure: the template's name, and a 1-based line and 0-based byte column (0 when unknown). */
export interface TemplateDetails extends ErrorDetails {
  template: string;
  line: number;
  col: number;
}

/** TemplateError is a Go text/template failure; the message is Go's own text ("template: NAME:LINE:COL: …"). */
export class TemplateError extends BaseError<'PARSE' | 'EXEC' | 'MISSING_KEY' | 'LIMIT'> {
  declare readonly details: TemplateDetails;
  constructor(
    code: 'PARSE' | 'EXEC' | 'MISSING_KEY' | 'LIMIT',
    message: string,
    opts: ErrorOptions & { details: TemplateDetails },
  ) {
    super(code, message, opts);
  }
}
/** RemoteError is a registry or API server that refused or could not be reached. */
export class RemoteError extends BaseError<'UNAUTHORIZED' | 'DENIED' | 'UNREACHABLE' | 'PROTOCOL' | 'CONFLICT'> {}

/** InternalError is a bug: the CLI asks the user to report it. */
export class InternalError extends BaseError<'INTERNAL'> {}

/** isTrustFailure tells whether an error must map to exit code 2. */
export function isTrustFailure(err: unknown): boolean {
  if (err instanceof VerificationError) return true;
  if (err instanceof CopyError && err.cause) return isTrustFailure(err.cause);
  if (err instanceof ContentError) return err.code !== 'NOT_FOUND' && err.code !== 'ALREADY_EXISTS' && err.code !== 'NO_SPACE';
  return false;
}

/** errorMessage renders an unknown thrown value for humans. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** isAbortError tells whether `err` is a cancellation (an AbortSignal fired), not a failure. */
export const isAbortError = (err: unknown): boolean => (err as Error | undefined)?.name === 'AbortError';

/** abortError is what an operation cancelled by `signal` rejects with: its reason when that is an AbortError. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as unknown;
  if (reason instanceof Error && isAbortError(reason)) return reason;
  return Object.assign(new Error('the operation was aborted', { cause: reason }), { name: 'AbortError' });
}
