// Receipts: signed (report) and verified (inspect-receipt, export --since) offline with the site key.
// The signature is the same Sigstore bundle v0.3 over a DSSE in-toto statement as a bundle's.
import type { KeyObject } from 'node:crypto';
import { isDigest } from '../content/digest.js';
import { VerificationError } from '../errors.js';
import { IN_TOTO_STATEMENT_TYPE } from '../model/bundle.js';
import { PREDICATE_TYPE_RECEIPT, RECEIPT_IMPORTS_MAX, type ReceiptCluster, type ReceiptImport, type ReceiptStatement } from '../model/receipt.js';
import { signStatement, type Signer } from './sign.js';
import { verifySignedStatement } from './signature.js';
import { isPlainObject } from '../model/json.js';

/** signReceipt signs a receipt statement; returns the Sigstore bundle JSON bytes (the receipt file). */
export function signReceipt(statement: ReceiptStatement, signer: Signer): Promise<Buffer> {
  return signStatement(statement, signer);
}

export interface VerifiedReceipt {
  statement: ReceiptStatement;
  keyHint: string;
}


/**
 * verifyReceipt checks a receipt's signature against the site's public key(s) and its shape; anything
 * wrong is a VerificationError (exit 2): an altered receipt must never shrink or grow a delta export.
 */
export function verifyReceipt(bytes: Buffer, siteKeys: KeyObject[], source = 'receipt'): VerifiedReceipt {
  const { statement, keyHint } = verifySignedStatement(bytes, siteKeys, { source });
  return { statement: parseReceipt(statement, source), keyHint };
}

function parseReceipt(v: unknown, source: string): ReceiptStatement {
  const bad = (field: string, expected: string) => new VerificationError('TAMPERED', `${source}: ${field}: expected ${expected}`, { details: { file: source, field } });
  if (!isPlainObject(v)) throw bad('(root)', 'an in-toto statement');
  if (v._type !== IN_TOTO_STATEMENT_TYPE) throw bad('_type', IN_TOTO_STATEMENT_TYPE);
  if (v.predicateType !== PREDICATE_TYPE_RECEIPT) throw bad('predicateType', `${PREDICATE_TYPE_RECEIPT} (is this a bundle signature rather than a receipt?)`);
  if (!Array.isArray(v.subject) || v.subject.length === 0) throw bad('subject', 'a non-empty array');
  const p = v.predicate;
  if (!isPlainObject(p)) throw bad('predicate', 'an object');
  if (!Array.isArray(p.blobs) || p.blobs.some((b) => !isDigest(b))) throw bad('predicate.blobs', 'an array of sha256 digests');
  if (!Number.isSafeInteger(p.highestSequence) || (p.highestSequence as number) < 0) throw bad('predicate.highestSequence', 'a non-negative integer');
  if (typeof p.createdAt !== 'string' || Number.isNaN(Date.parse(p.createdAt))) throw bad('predicate.createdAt', 'an RFC 3339 time');
  if (!Array.isArray(p.clusters) || p.clusters.some((c) => !isPlainObject(c) || typeof c.cluster !== 'string' || !Array.isArray(c.groups))) {
    throw bad('predicate.clusters', 'an array of {cluster, groups, …}');
  }
  if (p.imports !== undefined) {
    const ok = (i: unknown) =>
      isPlainObject(i) && Number.isSafeInteger(i.sequence) && typeof i.importedAt === 'string' && typeof i.createdAt === 'string' && typeof i.signer === 'string' && typeof i.source === 'string' && Array.isArray(i.clusters) && i.clusters.every((c) => typeof c === 'string');
    if (!Array.isArray(p.imports) || !p.imports.every(ok)) throw bad('predicate.imports', 'an array of {sequence, importedAt, createdAt, signer, source, clusters}');
  }
  return v as unknown as ReceiptStatement;
}

/** receiptStatement assembles a receipt statement (pure). */
export function receiptStatement(input: {
  createdAt: Date;
  site: string;
  highestSequence: number;
  blobs: string[];
  clusters: ReceiptCluster[];
  imports?: ReceiptImport[];
  subjects: { name: string; digest: string }[];
}): ReceiptStatement {
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: input.subjects.map((s) => ({ name: s.name, digest: { sha256: s.digest.replace(/^sha256:/, '') } })),
    predicateType: PREDICATE_TYPE_RECEIPT,
    predicate: {
      createdAt: input.createdAt.toISOString(),
      site: input.site,
      highestSequence: input.highestSequence,
      blobs: [...new Set(input.blobs)].sort(),
      clusters: [...input.clusters].sort((a, b) => a.cluster.localeCompare(b.cluster)),
      ...(input.imports?.length ? { imports: input.imports.slice(-RECEIPT_IMPORTS_MAX) } : {}),
    },
  };
}
