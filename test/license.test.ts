// The Sveltos license pull mode checks: read from the sveltos-license Secret (--license FILE or --from),
// carried in every cluster's configuration, served on each SveltosCluster as sveltoscluster-manager relays
// it, shown by inspect, and warned about when missing, expired, or too small for the bundle.
import { constants, createPrivateKey, sign } from 'node:crypto';
import { access, cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { withSource, type Secret } from '../src/model/sveltos.js';
import { ANNOTATION_LICENSE_PAYLOAD, ANNOTATION_LICENSE_SIGNATURE, licenseFromSecret, licenseWarnings } from '../src/resolve/license.js';
import { kubeconfigFor, kubectl, serveSite, type Site } from './agent/fixtures.js';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { keyPair, tempDir } from './helpers.js';

const SAMPLES = fileURLToPath(new URL('../samples/fleet/', import.meta.url));
const NOW = new Date('2026-11-01T00:00:00Z');

/** licenseSecret signs `payload` as a license issuer does (RSA-PSS over SHA-256) and returns the Secret. */
function licenseSecret(payload: Record<string, unknown>, name = 'sveltos-license', namespace = 'projectsveltos'): Secret {
  const { privateKey } = keyPair('rsa', { modulusLength: 2048 });
  const data = Buffer.from(JSON.stringify(payload));
  const signature = sign('sha256', data, { key: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })), padding: constants.RSA_PKCS1_PSS_PADDING });
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data: { licenseData: data.toString('base64'), licenseSignature: signature.toString('base64') } };
}

const PAYLOAD = { id: 'lic-0042', customerName: 'Example Shipping', features: ['PullMode'], plan: 'Enterprise', expirationDate: '2027-06-30T00:00:00Z', gracePeriodDays: 14, maxClusters: 0, issuedAt: '2026-06-30T00:00:00Z' };

describe('license (pure rules)', () => {
  it('relays the two keys as the two annotations, base64 as sveltoscluster-manager writes them, and reads the payload', () => {
    const secret = licenseSecret(PAYLOAD);
    const { license, problems, warnings } = licenseFromSecret(secret);
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
    expect(license!.annotations).toEqual({ [ANNOTATION_LICENSE_PAYLOAD]: secret.data!.licenseData, [ANNOTATION_LICENSE_SIGNATURE]: secret.data!.licenseSignature });
    expect(license!.facts).toMatchObject({ id: 'lic-0042', plan: 'Enterprise', features: ['PullMode'], gracePeriodDays: 14, maxClusters: 0 });
  });

  it('a Secret without the signature key is a problem naming the Secret, file and key', () => {
    const secret = withSource(licenseSecret(PAYLOAD), { file: 'in/license.yaml', line: 3 });
    delete secret.data!.licenseSignature;
    const { license, problems } = licenseFromSecret(secret);
    expect(license).toBeUndefined();
    expect(problems).toEqual([expect.objectContaining({ code: 'LICENSE', file: 'in/license.yaml', line: 3, field: 'data.licenseSignature', message: expect.stringMatching(/^Secret projectsveltos\/sveltos-license: data\.licenseSignature: missing/) })]);
  });

  it('a payload that is not a license is relayed with a warning (the agent decides)', () => {
    const secret = licenseSecret(PAYLOAD);
    secret.data!.licenseData = Buffer.from('not json').toString('base64');
    const { license, warnings } = licenseFromSecret(secret);
    expect(license!.facts).toBeUndefined();
    expect(warnings.map((w) => w.message)).toEqual([expect.stringMatching(/not a Sveltos license payload/)]);
  });

  it('warns as the agent would refuse: no license beyond 2 clusters, expired, in grace, without PullMode, too few clusters', () => {
    expect(licenseWarnings(undefined, 2, NOW)).toEqual([]);
    expect(licenseWarnings(undefined, 3, NOW).map((w) => w.code)).toEqual(['LICENSE_MISSING']);
    const at = (payload: Record<string, unknown>, clusters: number, now: Date) => licenseWarnings(licenseFromSecret(licenseSecret(payload)).license, clusters, now).map((w) => `${w.code}: ${w.message}`);
    expect(at(PAYLOAD, 500, NOW)).toEqual([]);
    expect(at(PAYLOAD, 500, new Date('2027-07-01T00:00:00Z'))).toEqual([expect.stringMatching(/^LICENSE_EXPIRED: .*expired on 2027-06-30T00:00:00Z; Sveltos enforces it after 2027-07-14T00:00:00.000Z/)]);
    expect(at({ ...PAYLOAD, gracePeriodDays: 0 }, 5, new Date('2027-07-08T00:00:00Z'))).toEqual([expect.stringMatching(/^LICENSE_EXPIRED: .*7-day grace period has ended/)]);
    expect(at({ ...PAYLOAD, features: ['MCP'] }, 5, NOW)).toEqual([expect.stringMatching(/^LICENSE_FEATURE: .*grants MCP, not PullMode/)]);
    expect(at({ ...PAYLOAD, features: [], maxClusters: 4 }, 5, NOW)).toEqual([expect.stringMatching(/^LICENSE_CLUSTERS: .*at most 4 cluster\(s\); this bundle carries 5/)]);
  });
});

describe('license through export, inspect, import and serve', () => {
  const FIXED = ['--created-at', '2026-11-01T00:00:00Z', '--source-date-epoch', '0', '--source', 'test'];

  it('--license FILE: every served SveltosCluster carries the annotations; inspect shows the license', async () => {
    const dir = await tempDir();
    const keys = await testKeys();
    const secret = licenseSecret(PAYLOAD);
    const file = join(dir, 'sveltos-license.yaml');
    await writeFile(file, stringify(secret));
    const out = join(dir, 'b.tar');
    const exp = await cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', out, '--license', file, ...FIXED]);
    expect(exp.code).toBe(0);
    expect(exp.stdout).toContain('Sveltos license: carried (id lic-0042, customer Example Shipping, plan Enterprise, features PullMode, expires 2027-06-30T00:00:00Z, max clusters unlimited)');
    expect(exp.stderr).not.toContain('LICENSE');
    // The license's bytes are never printed.
    expect(`${exp.stdout}${exp.stderr}`).not.toContain(secret.data!.licenseSignature!.slice(0, 40));

    const ins = await cli(['inspect', out, '--output', 'json']);
    expect((ins.result as { license: unknown }).license).toEqual({ clusters: 3, distinct: 1, facts: expect.objectContaining({ id: 'lic-0042' }) });
    expect((await cli(['inspect', out])).stdout).toMatch(/^license: {3}carried \(id lic-0042.*\) on 3 of 3 cluster\(s\)$/m);

    const store = join(dir, 'store');
    expect((await cli(['import', out, '--store', store, '--key', keys.pubPath, '--now', '2026-11-02T00:00:00Z'])).code).toBe(0);
    const served = await serveSite(store);
    for (const cluster of ['retail/store-paris', 'ships/vessel-aurora']) {
      const kc = await kubeconfigFor({ dir, store } as Site, cluster, served);
      const [ns, name] = cluster.split('/') as [string, string];
      const sc = JSON.parse((await kubectl(kc.path, ['get', 'sveltoscluster', name, '-n', ns, '-o', 'json'])).stdout) as { metadata: { annotations?: Record<string, string> } };
      expect(sc.metadata.annotations).toMatchObject({ [ANNOTATION_LICENSE_PAYLOAD]: secret.data!.licenseData, [ANNOTATION_LICENSE_SIGNATURE]: secret.data!.licenseSignature });
    }
  });

  it('the sveltos-license Secret in --from is found; without one, 3 clusters are warned about and inspect says none', async () => {
    const dir = await tempDir();
    const keys = await testKeys();
    const from = join(dir, 'from');
    await cp(SAMPLES, from, { recursive: true });
    const none = await cli(['export', '--from', from, '--key', keys.keyPath, '--out', join(dir, 'none.tar'), ...FIXED]);
    expect(none.code).toBe(0);
    expect(none.stderr).toMatch(/LICENSE_MISSING.*3 pull-mode clusters and no Sveltos license carried.*--license FILE/);
    expect((await cli(['inspect', join(dir, 'none.tar')])).stdout).toMatch(/^license: {3}none carried$/m);

    await writeFile(join(from, 'license.yaml'), stringify(licenseSecret({ ...PAYLOAD, maxClusters: 2 })));
    const withSecret = await cli(['export', '--from', from, '--key', keys.keyPath, '--out', join(dir, 'lic.tar'), ...FIXED, '--output', 'json']);
    expect(withSecret.code).toBe(0);
    expect(withSecret.stderr).toMatch(/Sveltos license from Secret projectsveltos\/sveltos-license \(.*license\.yaml:1\)/);
    expect(withSecret.stderr).toMatch(/LICENSE_CLUSTERS.*at most 2 cluster\(s\); this bundle carries 3/);
    expect((JSON.parse(withSecret.stdout) as { license: { id: string } }).license.id).toBe('lic-0042');
  });

  it('a broken --license file fails the export with every input problem, and nothing is written', async () => {
    const dir = await tempDir();
    const keys = await testKeys();
    const secret = licenseSecret(PAYLOAD);
    delete secret.data!.licenseSignature;
    const file = join(dir, 'license.yaml');
    await writeFile(file, stringify(secret));
    const r = await cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', join(dir, 'b.tar'), '--license', file, ...FIXED]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/LICENSE: Secret projectsveltos\/sveltos-license: data\.licenseSignature: missing/);
    const empty = join(dir, 'empty.yaml');
    await writeFile(empty, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: ns1}\n');
    const r2 = await cli(['export', '--from', SAMPLES, '--key', keys.keyPath, '--out', join(dir, 'b.tar'), '--license', empty, ...FIXED]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/--license .*empty\.yaml: expected one Secret with data\.licenseData \(the sveltos-license Secret\), found 0/);
    await expect(access(join(dir, 'b.tar'))).rejects.toThrow(/ENOENT/);
  });
});
