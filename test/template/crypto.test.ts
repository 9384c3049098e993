// Password functions: derivePassword against the oracle, bcrypt/htpasswd checked by recomputing
// Go's hashes (random salts) with the engine's bcrypt, and the functions the engine refuses.
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../src/errors.js';
import { renderTemplate, sprigFuncs } from '../../src/gotemplate/index.js';
import { bcryptHash } from '../../src/gotemplate/sprig/bcrypt.js';
import { lazyOracle, OracleCase, oracleTable } from './oracle.js';

const derive: OracleCase[] = [
  { name: 'derivePassword long', template: '{{ derivePassword 1 "long" "password" "user" "example.com" }}' },
  { name: 'derivePassword maximum', template: '{{ derivePassword 3 "maximum" "pässword" "ûser" "site" }}' },
  { name: 'derivePassword pin and basic', template: '{{ derivePassword 1 "pin" "p" "u" "s" }} {{ derivePassword 7 "basic" "p" "u" "s" }}' },
  { name: 'derivePassword unknown type', template: '{{ derivePassword 1 "nope" "p" "u" "s" }}' },
  { name: 'derivePassword int64 counter fails', template: '{{ derivePassword .n "long" "p" "u" "s" }}', data: { n: 1 } },
  { name: 'htpasswd invalid user', template: '{{ htpasswd "a:b" "pw" }}' },
];

describe('sprig derivePassword', () => {
  oracleTable(derive);
});

describe('sprig bcrypt and htpasswd', () => {
  const passwords = ['secret', '', 'pässwörd with spaces', 'x'.repeat(72)];
  const goHashes = lazyOracle(passwords.map((p, i) => ({ name: `h${i}`, template: '{{ htpasswd "admin" .p }}', data: { p } })));

  it.each(passwords.map((p, i) => ({ p, i })))('recomputes the Go hash of password #$i', ({ p, i }) => {
    const r = goHashes()[i]!;
    expect(r.error).toBeUndefined();
    const [user, hash] = r.output!.split(':') as [string, string];
    expect(user).toBe('admin');
    expect(hash).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(bcryptHash(Buffer.from(p), 10, hash.slice(7, 29))).toBe(hash);
    expect(bcryptHash(Buffer.from(p.slice(0, -1) + '!'), 10, hash.slice(7, 29))).not.toBe(hash);
  });

  it('renders htpasswd entries that verify', () => {
    const out = renderTemplate('{{ htpasswd "bob" "hunter2" }}', null, { funcs: sprigFuncs() });
    const [user, hash] = out.split(':') as [string, string];
    expect(user).toBe('bob');
    expect(bcryptHash(Buffer.from('hunter2'), 10, hash.slice(7, 29))).toBe(hash);
  });

  it('reports passwords over 72 bytes as Sprig 3.3 does', () => {
    expect(renderTemplate('{{ bcrypt .p }}', { p: 'y'.repeat(73) }, { funcs: sprigFuncs() })).toBe(
      'failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes',
    );
  });
});

describe('functions the engine refuses', () => {
  it.each(['genPrivateKey "rsa"', 'genCA "ca" 365', 'getHostByName "example.com"', 'genSelfSignedCert "x" nil nil 3'])(
    '%s fails at execution with a reason',
    (call) => {
      let err: unknown;
      try {
        renderTemplate(`{{ ${call} }}`, null, { funcs: sprigFuncs() });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as TemplateError).code).toBe('EXEC');
      expect((err as TemplateError).message).toMatch(/is not supported by this renderer/);
    },
  );
});
