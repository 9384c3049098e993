// Sprig's password functions (bcrypt, htpasswd, derivePassword) and the functions this engine
// refuses: key and certificate generation and DNS lookups, whose results would be made on the
// exporting machine instead of where Sveltos renders them.
import { createHmac, scryptSync } from 'node:crypto';
import { GoError, goFunc } from '../funcs.js';
import { GoFunc } from '../values.js';
import { bcryptHash } from './bcrypt.js';

const S = 'string' as const;
const DEFAULT_COST = 10;

function bcrypt(input: string): string {
  try {
    return bcryptHash(Buffer.from(input, 'utf8'), DEFAULT_COST);
  } catch (e) {
    return `failed to encrypt string with bcrypt: ${(e as Error).message}`;
  }
}

const TEMPLATES: Record<string, string[]> = {
  maximum: ['anoxxxxxxxxxxxxxxxxx', 'axxxxxxxxxxxxxxxxxno'],
  long: [
    'CvcvnoCvcvCvcv', 'CvcvCvcvnoCvcv', 'CvcvCvcvCvcvno', 'CvccnoCvcvCvcv', 'CvccCvcvnoCvcv', 'CvccCvcvCvcvno', 'CvcvnoCvccCvcv',
    'CvcvCvccnoCvcv', 'CvcvCvccCvcvno', 'CvcvnoCvcvCvcc', 'CvcvCvcvnoCvcc', 'CvcvCvcvCvccno', 'CvccnoCvccCvcv', 'CvccCvccnoCvcv',
    'CvccCvccCvcvno', 'CvcvnoCvccCvcc', 'CvcvCvccnoCvcc', 'CvcvCvccCvccno', 'CvccnoCvcvCvcc', 'CvccCvcvnoCvcc', 'CvccCvcvCvccno',
  ],
  medium: ['CvcnoCvc', 'CvcCvcno'],
  short: ['Cvcn'],
  basic: ['aaanaaan', 'aannaaan', 'aaannaaa'],
  pin: ['nnnn'],
};

const CHARS: Record<string, string> = {
  V: 'AEIOU',
  C: 'BCDFGHJKLMNPQRSTVWXYZ',
  v: 'aeiou',
  c: 'bcdfghjklmnpqrstvwxyz',
  A: 'AEIOUBCDFGHJKLMNPQRSTVWXYZ',
  a: 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz',
  n: '0123456789',
  o: "@&%?,=[]_:-+*$#!'^~;()/.",
  x: 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()',
};

const SEED = 'com.lyndir.masterpassword';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** derivePassword is Sprig's Master Password algorithm (scrypt N=32768, r=8, p=2, then HMAC-SHA256). */
function derivePassword(counter: number, passwordType: string, password: string, user: string, site: string): string {
  const templates = Object.prototype.hasOwnProperty.call(TEMPLATES, passwordType) ? TEMPLATES[passwordType]! : undefined;
  if (!templates) return `cannot find password template ${passwordType}`;
  const userBytes = Buffer.from(user, 'utf8');
  const salt = Buffer.concat([Buffer.from(SEED), u32(userBytes.length), userBytes]);
  const key = scryptSync(Buffer.from(password, 'utf8'), salt, 64, { N: 32768, r: 8, p: 2, maxmem: 128 * 1024 * 1024 });
  const siteBytes = Buffer.from(site, 'utf8');
  const seed = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(SEED), u32(siteBytes.length), siteBytes, u32(counter)]))
    .digest();
  const temp = templates[seed[0]! % templates.length]!;
  return [...temp].map((el, i) => CHARS[el]![seed[i + 1]! % CHARS[el]!.length]).join('');
}

function unsupported(name: string, why: string): GoFunc {
  return goFunc({ in: ['interface {}'], variadic: true, out: S }, () => {
    throw new GoError(`${name} is not supported by this renderer: ${why}`);
  });
}

const KEYS = 'keys and certificates would be generated on the exporting machine, not by Sveltos';

/** CRYPTO_FUNCS are bcrypt, htpasswd and derivePassword, plus the refused key, certificate and DNS functions. */
export const CRYPTO_FUNCS: Record<string, GoFunc> = {
  bcrypt: goFunc({ in: [S], out: S }, bcrypt),
  htpasswd: goFunc({ in: [S, S], out: S }, (user: string, password: string) =>
    user.includes(':') ? `invalid username: ${user}` : `${user}:${bcrypt(password)}`,
  ),
  derivePassword: goFunc({ in: ['uint32', S, S, S, S], out: S }, derivePassword),
  genPrivateKey: unsupported('genPrivateKey', KEYS),
  buildCustomCert: unsupported('buildCustomCert', KEYS),
  genCA: unsupported('genCA', KEYS),
  genCAWithKey: unsupported('genCAWithKey', KEYS),
  genSelfSignedCert: unsupported('genSelfSignedCert', KEYS),
  genSelfSignedCertWithKey: unsupported('genSelfSignedCertWithKey', KEYS),
  genSignedCert: unsupported('genSignedCert', KEYS),
  genSignedCertWithKey: unsupported('genSignedCertWithKey', KEYS),
  getHostByName: unsupported('getHostByName', 'a DNS lookup from the exporting machine does not describe the target network'),
};
