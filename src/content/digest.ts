// Digest parsing and computation. Digests from outside are parsed here before use, never trusted raw.
import { createHash } from 'node:crypto';
import { ContentError } from '../errors.js';
import type { Digest } from '../model/oci.js';

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** isDigest tells whether `s` is a well-formed sha256 digest. */
export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && SHA256_RE.test(s);
}

/** parseDigest returns `s` as a Digest or throws INVALID_DIGEST / UNSUPPORTED (other algorithms). */
export function parseDigest(s: unknown, where = 'digest'): Digest {
  if (isDigest(s)) return s;
  const alg = typeof s === 'string' ? s.slice(0, Math.max(0, s.indexOf(':'))) : '';
  if (typeof s === 'string' && alg !== 'sha256' && ANY_DIGEST_RE.test(s)) {
    throw new ContentError('UNSUPPORTED', `${where}: ${s}: unsupported digest algorithm "${alg}" (expected sha256)`, {
      details: { algorithm: alg, found: s },
    });
  }
  throw new ContentError('INVALID_DIGEST', `${where}: invalid digest ${JSON.stringify(s)} (expected sha256:<64 lowercase hex>)`, {
    details: { found: s },
  });
}

/** sha256 digests a buffer. */
export function sha256(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** digestHex returns the hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}
