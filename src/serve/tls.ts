// `serve --tls-self-signed`: a site CA and a serving certificate, kept in `<store>/agent/tls/` so they
// survive restarts and `agent-kubeconfig` can put the CA into kubeconfigs. node:crypto cannot issue
// X.509 certificates, so the `openssl` command (Debian's openssl package) does; node:crypto reads them.
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ValidationError } from '../errors.js';
import { AGENT_DIR } from '../agent-api/ledger.js';

const run = promisify(execFile);

export const TLS_DIR = 'tls';
export const CA_FILE = 'ca.crt';

export interface SiteTLS {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Names and addresses the serving certificate is valid for. */
  names: string[];
}

export interface SelfSignedOptions {
  /** The openssl binary. Default `openssl` on PATH. */
  openssl?: string;
  now?: Date;
}

/** tlsDir is where the self-signed CA and serving certificate of a store live. */
export function tlsDir(storeDir: string): string {
  return join(storeDir, AGENT_DIR, TLS_DIR);
}

/** readSiteCA returns the store's self-signed CA certificate, if `serve --tls-self-signed` made one. */
export async function readSiteCA(storeDir: string): Promise<string | undefined> {
  return readFile(join(tlsDir(storeDir), CA_FILE), 'utf8').catch(() => undefined);
}

/** certificateNames lists `hosts` plus what a listener on them is reached as (wildcard addresses add this host's names). */
export function certificateNames(hosts: string[]): string[] {
  const out = new Set<string>(['localhost', '127.0.0.1']);
  for (const h of hosts) {
    if (h === '0.0.0.0' || h === '::' || h === '') {
      out.add(hostname());
      out.add('::1');
    } else out.add(h);
  }
  return [...out].sort();
}

function sanOf(names: string[]): string {
  return names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

// covers tells whether a certificate names every host and stays valid for 30 more days.
function covers(certPem: string, names: string[], now: Date): boolean {
  const cert = new X509Certificate(certPem);
  if (new Date(cert.validTo).getTime() - now.getTime() < 30 * 86400_000) return false;
  const san = (cert.subjectAltName ?? '').split(',').map((s) => s.trim().replace(/^IP Address:/, 'IP:'));
  return names.every((n) => san.includes(isIP(n) ? `IP:${n}` : `DNS:${n}`));
}

async function openssl(bin: string, args: string[], cwd: string): Promise<void> {
  try {
    await run(bin, args, { cwd });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new ValidationError('USAGE', `--tls-self-signed: the openssl command was not found (install the openssl package, or give --tls-cert and --tls-key)`, { cause: err });
    throw new ValidationError('USAGE', `--tls-self-signed: openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/**
 * ensureSelfSignedTLS returns the store's CA and a serving certificate for `hosts`, creating the CA once
 * and re-issuing the serving certificate when it does not name every host or expires within 30 days.
 */
export async function ensureSelfSignedTLS(storeDir: string, hosts: string[], opts: SelfSignedOptions = {}): Promise<SiteTLS> {
  const bin = opts.openssl ?? 'openssl';
  const now = opts.now ?? new Date();
  const dir = tlsDir(storeDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const names = certificateNames(hosts);
  const read = (f: string) => readFile(join(dir, f), 'utf8').catch(() => undefined);
  const [ca, caKey, cert, key] = await Promise.all([read(CA_FILE), read('ca.key'), read('tls.crt'), read('tls.key')]);
  if (ca && caKey && cert && key && covers(cert, names, now)) return { caPem: ca, certPem: cert, keyPem: key, names };

  const work = await mkdtemp(join(dir, '.issue-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    if (ca && caKey) {
      await writeFile(join(work, CA_FILE), ca);
      await writeFile(join(work, 'ca.key'), caKey, { mode: 0o600 });
    } else {
      await openssl(bin, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', CA_FILE, '-days', '3650', '-subj', '/CN=sveltos-airgap site CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], work);
    }
    await openssl(bin, ['req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=sveltos-airgap'], work);
    await writeFile(join(work, 'ext.cnf'), `subjectAltName=${sanOf(names)}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
    await openssl(bin, ['x509', '-req', '-in', 'tls.csr', '-CA', CA_FILE, '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', '825', '-extfile', 'ext.cnf', '-out', 'tls.crt'], work);
    // Keys first, certificates last: a reader that finds tls.crt finds its key.
    for (const f of ['ca.key', CA_FILE, 'tls.key', 'tls.crt']) await rename(join(work, f), join(dir, f));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const [caPem, certPem, keyPem] = await Promise.all([readFile(join(dir, CA_FILE), 'utf8'), readFile(join(dir, 'tls.crt'), 'utf8'), readFile(join(dir, 'tls.key'), 'utf8')]);
  return { caPem, certPem, keyPem, names };
}
