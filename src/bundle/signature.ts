// Offline verification of a signed bundle statement: a Sigstore bundle v0.3 over a DSSE in-toto Statement.
// Pure: no network imports. Keys come from the caller; there is no transparency log, CA or timestamp authority
// to check anything against, so a bundle that carries log entries or timestamps is refused. The bundle's shape is
// checked by @sigstore/bundle; the signature over the DSSE pre-authentication encoding is checked here, as
// @sigstore/verify checks it (sign.test.ts holds the two to the same verdicts), without loading that library.
// Reference: https://github.com/in-toto/attestation/blob/v1.1.0/spec/v1/statement.md
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { ContentError, VerificationError } from '../errors.js';
import {
  DSSE_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  MEDIA_TYPE_SIGSTORE_BUNDLE,
  PREDICATE_TYPE_BUNDLE,
  type Statement,
  type StatementSubject,
} from '../model/bundle.js';
import { assertP256, keyHint } from './keys.js';
import { preAuthEncoding } from './sign.js';
import { isPlainObject } from '../model/json.js';

/** MAX_SIGNATURE_JSON_BYTES bounds the Sigstore bundle and the statement read into memory (DESIGN.md §4). */
export const MAX_SIGNATURE_JSON_BYTES = 4 * 1024 * 1024;

export interface VerifySignedStatementOptions {
  /** Where the bundle came from (file or digest), used in errors. Default `signature`. */
  source?: string;
  /** Largest Sigstore bundle and statement accepted. Default MAX_SIGNATURE_JSON_BYTES. */
  maxBytes?: number;
}

export interface VerifiedStatement {
  /** The payload parsed as JSON; pass `payload` to parseStatement for a checked Statement. */
  statement: unknown;
  /** The exact signed payload bytes. */
  payload: Buffer;
  /** Hint of the trusted key that verified the signature. */
  keyHint: string;
}

const BUNDLE_FIELDS = new Set(['mediaType', 'verificationMaterial', 'dsseEnvelope']);

/**
 * verifySignedStatement checks a Sigstore bundle's DSSE signature against trusted P-256 public keys, offline.
 * The bundle names its key by hint; a hint that no trusted key has is UNTRUSTED_SIGNER, a signature that does
 * not verify with the hinted key is SIGNATURE_INVALID.
 */
export function verifySignedStatement(bundleJSON: Buffer, trusted: KeyObject[], opts: VerifySignedStatementOptions = {}): VerifiedStatement {
  const source = opts.source ?? 'signature';
  const max = opts.maxBytes ?? MAX_SIGNATURE_JSON_BYTES;
  const { bundle, hint } = readEnvelope(bundleJSON, source, max);
  const keys = trustedByHint(trusted);
  const key = keys.get(hint);
  if (!key) {
    const known = [...keys.keys()];
    throw new VerificationError('UNTRUSTED_SIGNER', `${source}: signed by key ${hint || '(no hint)'}, expected one of ${known.length ? known.join(', ') : '(no trusted keys)'}`, {
      details: { file: source, field: 'verificationMaterial.publicKey.hint', expected: known, found: hint },
    });
  }

  // No transparency log, SCT or timestamp is required: trust comes from the pinned key alone. One that is there
  // could not be checked offline (no log or authority is trusted), and is refused rather than ignored.
  const { tlogEntries, timestampVerificationData } = bundle.verificationMaterial;
  const timestamps = timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  if (tlogEntries.length > 0 || timestamps > 0) {
    const what = tlogEntries.length > 0 ? 'TLOG_ERROR' : 'TIMESTAMP_ERROR';
    throw new VerificationError('SIGNATURE_INVALID', `${source}: signature verification failed for key ${hint}: ${tlogEntries.length} transparency-log entries and ${timestamps} timestamps: expected none (an offline key-signed bundle)`, {
      details: { file: source, keyHint: hint, reason: what },
    });
  }
  const env = (bundle.content as { dsseEnvelope: { payloadType: string; payload: Buffer; signatures: { sig: Buffer }[] } }).dsseEnvelope;
  if (!signatureMatches(preAuthEncoding(env.payloadType, env.payload), key, env.signatures[0]!.sig)) {
    throw new VerificationError('SIGNATURE_INVALID', `${source}: the DSSE signature does not match the payload for key ${hint}`, { details: { file: source, keyHint: hint, reason: 'SIGNATURE_ERROR' } });
  }
  const payload = Buffer.from(env.payload);
  const statement = parseJSON(payload, source, 'statement payload', (msg, details) => new VerificationError('TAMPERED', msg, { details }), max);
  return { statement, payload, keyHint: hint };
}

// signatureMatches checks an ECDSA P-256 signature (ASN.1 DER) over SHA-256 of `data`; a malformed one does not match.
function signatureMatches(data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify('sha256', data, key, signature);
  } catch {
    return false;
  }
}

/** SignedEnvelope is what a Sigstore bundle says before any key checks it: the signed payload and the key hint. */
export interface SignedEnvelope {
  payload: Buffer;
  keyHint: string;
}

/**
 * readSignedEnvelope checks a Sigstore bundle's structure (as verifySignedStatement does) and returns its
 * payload and key hint without checking the signature: for signatures by keys the reader does not trust,
 * which must still be well formed and over the same statement.
 */
export function readSignedEnvelope(bundleJSON: Buffer, opts: VerifySignedStatementOptions = {}): SignedEnvelope {
  const { bundle, hint } = readEnvelope(bundleJSON, opts.source ?? 'signature', opts.maxBytes ?? MAX_SIGNATURE_JSON_BYTES);
  return { payload: Buffer.from((bundle.content as { dsseEnvelope: { payload: Buffer } }).dsseEnvelope.payload), keyHint: hint };
}

/** isTrustedHint tells whether one of `trusted` has the key hint `hint`. */
export function isTrustedHint(trusted: KeyObject[], hint: string): boolean {
  return trustedByHint(trusted).has(hint);
}

function readEnvelope(bundleJSON: Buffer, source: string, max: number): { bundle: Bundle; hint: string } {
  const raw = parseJSON(bundleJSON, source, 'Sigstore bundle', (msg, details) => new VerificationError('SIGNATURE_INVALID', msg, { details }), max);
  const bundle = toBundle(raw, source);
  const env = bundle.content.$case === 'dsseEnvelope' ? bundle.content.dsseEnvelope : undefined;
  if (!env) throw invalidSig(source, 'content', 'dsseEnvelope', bundle.content.$case);
  if (env.payloadType !== DSSE_PAYLOAD_TYPE) throw invalidSig(source, 'dsseEnvelope.payloadType', DSSE_PAYLOAD_TYPE, env.payloadType);
  if (env.signatures.length !== 1) throw invalidSig(source, 'dsseEnvelope.signatures', '1 signature', `${env.signatures.length} signatures`);
  const vmc = bundle.verificationMaterial.content;
  if (vmc.$case !== 'publicKey') throw invalidSig(source, 'verificationMaterial', 'publicKey', vmc.$case);
  const hint = vmc.publicKey.hint;
  const keyid = env.signatures[0]!.keyid;
  if (keyid && keyid !== hint) throw invalidSig(source, 'dsseEnvelope.signatures[0].keyid', hint, keyid);
  return { bundle, hint };
}

function trustedByHint(trusted: KeyObject[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  trusted.forEach((k, i) => {
    const pub = k.type === 'private' ? createPublicKey(k) : k;
    assertP256(pub, `trusted key #${i + 1}`);
    keys.set(keyHint(pub), pub);
  });
  return keys;
}

function toBundle(raw: unknown, source: string): Bundle {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalidSig(source, '(root)', 'a JSON object', Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw);
  }
  const obj = raw as Record<string, unknown>;
  if (obj.mediaType !== MEDIA_TYPE_SIGSTORE_BUNDLE) throw invalidSig(source, 'mediaType', MEDIA_TYPE_SIGSTORE_BUNDLE, obj.mediaType);
  if ('messageSignature' in obj) throw invalidSig(source, 'content', 'dsseEnvelope', 'messageSignature');
  // Extra top-level fields would be silently ignored by the protobuf reader; refuse them instead.
  const extra = Object.keys(obj).filter((k) => !BUNDLE_FIELDS.has(k));
  if (extra.length) throw invalidSig(source, extra[0]!, `only ${[...BUNDLE_FIELDS].join(', ')}`, `unknown field ${extra.join(', ')}`);
  if (!('dsseEnvelope' in obj)) throw invalidSig(source, 'dsseEnvelope', 'a DSSE envelope', 'none');
  try {
    return bundleFromJSON(obj);
  } catch (err) {
    const fields = (err as { fields?: unknown }).fields;
    const names = Array.isArray(fields) && fields.length ? fields.map(String) : ['(bundle)'];
    throw new VerificationError('SIGNATURE_INVALID', `${source}: invalid Sigstore bundle: bad field ${names.join(', ')}: ${errText(err)}`, {
      cause: err,
      details: { file: source, fields: names },
    });
  }
}

function invalidSig(source: string, field: string, expected: unknown, found: unknown): VerificationError {
  return new VerificationError('SIGNATURE_INVALID', `${source}: ${field}: expected ${show(expected)}, found ${show(found)}`, {
    details: { file: source, field, expected, found },
  });
}

type ErrorFactory = (message: string, details: Record<string, unknown>) => Error;

// parseJSON decodes strict UTF-8 JSON of bounded size; `fail` builds the error for bad text.
function parseJSON(data: Buffer, source: string, what: string, fail: ErrorFactory, max = MAX_SIGNATURE_JSON_BYTES): unknown {
  if (data.length > max) {
    throw new ContentError('SIZE_EXCEEDS_LIMIT', `${source}: ${what} is ${data.length} bytes, exceeds the limit of ${max} bytes`, {
      details: { file: source, expected: `<= ${max}`, found: data.length },
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(data);
  } catch (err) {
    throw fail(`${source}: ${what} is not valid UTF-8: ${errText(err)}`, { file: source, expected: 'UTF-8 JSON', found: 'invalid UTF-8' });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw fail(`${source}: ${what} is not valid JSON: ${errText(err)}`, { file: source, expected: 'JSON', found: errText(err) });
  }
}

// ---- Statement ----

interface Problem {
  field: string;
  expected: string;
  found: unknown;
}

const HEX64 = /^[a-f0-9]{64}$/;
// RFC 3339 date-time (section 5.6), with the T and Z separators case-insensitive as the RFC allows.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * parseStatement checks a signed payload against the bundle statement schema (in-toto Statement v1 with the
 * sveltos-airgap bundle predicate) and returns a clean copy. Every problem is reported at once as TAMPERED,
 * each with its field path and expected vs found.
 */
export function parseStatement(payload: Buffer, source = 'statement', maxBytes = MAX_SIGNATURE_JSON_BYTES): Statement {
  const json = parseJSON(payload, source, 'statement', (msg, details) => new VerificationError('TAMPERED', msg, { details }), maxBytes);
  const problems: Problem[] = [];
  const bad = (field: string, expected: string, found: unknown) => problems.push({ field, expected, found });

  if (!isPlainObject(json)) {
    bad('(root)', 'a JSON object', json);
    throw tampered(source, problems);
  }
  if (json._type !== IN_TOTO_STATEMENT_TYPE) bad('_type', IN_TOTO_STATEMENT_TYPE, json._type);
  if (json.predicateType !== PREDICATE_TYPE_BUNDLE) bad('predicateType', PREDICATE_TYPE_BUNDLE, json.predicateType);

  const subjects: StatementSubject[] = [];
  if (!Array.isArray(json.subject) || json.subject.length === 0) {
    bad('subject', 'a non-empty array', json.subject);
  } else {
    const names = new Map<string, number>();
    json.subject.forEach((s: unknown, i: number) => {
      const at = `subject[${i}]`;
      if (!isPlainObject(s)) return bad(at, 'an object', s);
      let ok = true;
      if (typeof s.name !== 'string' || s.name === '') {
        bad(`${at}.name`, 'a non-empty string', s.name);
        ok = false;
      } else if (names.has(s.name)) {
        bad(`${at}.name`, `a name not already used by subject[${names.get(s.name)}]`, s.name);
        ok = false;
      } else names.set(s.name, i);
      const sha = isPlainObject(s.digest) ? s.digest.sha256 : undefined;
      if (!isPlainObject(s.digest)) {
        bad(`${at}.digest`, 'an object with sha256', s.digest);
        ok = false;
      } else if (typeof sha !== 'string' || !HEX64.test(sha)) {
        bad(`${at}.digest.sha256`, '64 lowercase hex characters', sha);
        ok = false;
      }
      // The same content may be signed under several names (one image from two registries, two tags of a chart).
      if (ok) subjects.push({ name: s.name as string, digest: { sha256: sha as string } });
    });
  }

  const p = json.predicate;
  let predicate: Statement['predicate'] | undefined;
  if (!isPlainObject(p)) {
    bad('predicate', 'an object', p);
  } else {
    const seq = p.sequence;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq <= 0) {
      bad('predicate.sequence', `a positive integer <= ${Number.MAX_SAFE_INTEGER}`, seq);
    }
    const created = rfc3339(p.createdAt);
    if (created === undefined) bad('predicate.createdAt', 'an RFC 3339 date-time string', p.createdAt);
    const expires = rfc3339(p.expiresAt);
    if (expires === undefined) bad('predicate.expiresAt', 'an RFC 3339 date-time string', p.expiresAt);
    if (created !== undefined && expires !== undefined && expires <= created) {
      bad('predicate.expiresAt', `a time after createdAt (${String(p.createdAt)})`, p.expiresAt);
    }
    if (typeof p.source !== 'string') bad('predicate.source', 'a string', p.source);
    if (!Array.isArray(p.clusters)) {
      bad('predicate.clusters', 'an array of namespace/name strings', p.clusters);
    } else {
      const seen = new Map<string, number>();
      p.clusters.forEach((c: unknown, i: number) => {
        const at = `predicate.clusters[${i}]`;
        if (typeof c !== 'string' || !isClusterRef(c)) return bad(at, 'namespace/name (lowercase DNS names)', c);
        if (seen.has(c)) return bad(at, `a cluster not already listed at predicate.clusters[${seen.get(c)}]`, c);
        seen.set(c, i);
      });
    }
    predicate = {
      sequence: seq as number,
      createdAt: p.createdAt as string,
      expiresAt: p.expiresAt as string,
      source: p.source as string,
      clusters: Array.isArray(p.clusters) ? [...(p.clusters as string[])] : [],
    };
  }

  if (problems.length || !predicate) throw tampered(source, problems);
  return { _type: IN_TOTO_STATEMENT_TYPE, subject: subjects, predicateType: PREDICATE_TYPE_BUNDLE, predicate };
}

function isClusterRef(ref: string): boolean {
  const parts = ref.split('/');
  return parts.length === 2 && DNS_LABEL.test(parts[0]!) && parts[1]!.length <= 253 && DNS_SUBDOMAIN.test(parts[1]!);
}

// rfc3339 returns epoch milliseconds of a valid RFC 3339 date-time, or undefined; Date.parse alone rolls
// over impossible dates (Feb 30 becomes Mar 2), so the fields are checked too.
function rfc3339(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const zone = m[8]!;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  if (zone.length === 6 && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return undefined;
  const ms = Date.parse(value.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

function tampered(source: string, problems: Problem[]): VerificationError {
  const list = problems.map((p) => `${p.field}: expected ${p.expected}, found ${show(p.found)}`).join('; ');
  return new VerificationError('TAMPERED', `${source}: invalid bundle statement: ${list}`, {
    details: { file: source, problems, fields: problems.map((p) => p.field) },
  });
}


function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 100 ? `${s.slice(0, 100)}…` : s;
  } catch {
    return String(v);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
