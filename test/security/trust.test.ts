// Hostile signatures, statements, validity and carried objects: each bundle is signed (by the trusted key
// unless the attack is the key), so the refusal comes from the check under test.
import { describe } from 'vitest';
import { MEDIA_TYPE_SIGSTORE_BUNDLE } from '../../src/model/bundle.js';
import type { Descriptor, Index } from '../../src/model/oci.js';
import { buildSignatureReferrer } from '../../src/bundle/manifest.js';
import { signStatement } from '../../src/bundle/sign.js';
import { DAY, T0 } from '../bundles.js';
import { billionLaughs, Forge, objects, tarOf } from './forge.js';
import { runCorpus, type Ctx, type HostileCase } from './run.js';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

// signedWith signs one cluster whose single group is `yaml`, with sign options.
const signed = (groups: string[], opts: Parameters<Forge['sign']>[1] = {}, by: (ctx: Ctx) => Forge = (ctx) => ctx.forge()) => async (ctx: Ctx) => {
  const f = by(ctx);
  return tarOf(await f.sign([await f.cluster('prod', 'c1', groups)], opts));
};

// coSigned is a good bundle with a second signature referrer: by the untrusted key over `change(statement)`,
// or carrying `raw` bytes as its Sigstore bundle.
async function coSigned(ctx: Ctx, change?: (s: Record<string, unknown>) => Record<string, unknown>, raw?: Buffer): Promise<Buffer> {
  const f = ctx.forge();
  const entries = await f.sign([await f.cluster('prod', 'c1', [cm('a')])]);
  const index = JSON.parse(entries.get('index.json')!.toString()) as Index;
  const sig = index.manifests.find((m) => m.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE)!;
  const manifest = JSON.parse(f.raw.get(sig.digest)!.toString()) as { layers: Descriptor[]; subject: Descriptor };
  const envelope = JSON.parse(f.raw.get(manifest.layers[0]!.digest)!.toString()) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(envelope.dsseEnvelope.payload, 'base64').toString()) as Record<string, unknown>;
  const bundle = raw ?? (await signStatement(change ? change(statement) : statement, ctx.untrusted.signer));
  const second = await buildSignatureReferrer(f.store, bundle, manifest.subject);
  index.manifests.push(second);
  for (const [digest, data] of f.raw) entries.set(`blobs/sha256/${digest.slice(7)}`, data);
  entries.set('index.json', Buffer.from(JSON.stringify(index)));
  return tarOf(entries);
}

const cases: HostileCase[] = [
  {
    slug: 'untrusted-signer',
    code: 'UNTRUSTED_SIGNER',
    message: /signature sha256:[a-f0-9]{64}: signed by key [a-f0-9]{64}, expected one of [a-f0-9]{64}/,
    build: signed([cm('a')], {}, (ctx) => new Forge(ctx.untrusted.signer)),
  },
  {
    slug: 'wrong-payload-type',
    code: 'SIGNATURE_INVALID',
    message: /signature sha256:[a-f0-9]{64}: dsseEnvelope\.payloadType: expected "application\/vnd\.in-toto\+json", found "text\/plain"/,
    build: signed([cm('a')], { payloadType: 'text/plain' }),
  },
  {
    slug: 'statement-duplicate-subjects',
    code: 'TAMPERED',
    message: /statement: invalid bundle statement: subject\[2\]\.name: expected a name not already used by subject\[0\]/,
    build: signed([cm('a')], { statement: (s) => void (s.subject as unknown[]).push((s.subject as unknown[])[0]) }),
  },
  {
    slug: 'statement-other-predicate',
    code: 'TAMPERED',
    message: /statement: invalid bundle statement: predicateType: expected https:\/\/projectsveltos\.io\/airgap\/bundle\/v1, found "https:\/\/slsa\.dev\/provenance\/v1"/,
    build: signed([cm('a')], { statement: (s) => void (s.predicateType = 'https://slsa.dev/provenance/v1') }),
  },
  {
    slug: 'statement-sequence-not-integer',
    code: 'TAMPERED',
    message: /predicate\.sequence: expected a positive integer <= 9007199254740991, found 1e\+300/,
    build: signed([cm('a')], { statement: (s) => void ((s.predicate as Record<string, unknown>).sequence = 1e300) }),
  },
  {
    slug: 'signature-json-bomb',
    code: 'SIGNATURE_INVALID',
    message: /signature sha256:[a-f0-9]{64}: \(root\): expected "a JSON object", found "an array"/,
    build: async (ctx) => {
      const f = ctx.forge();
      const c = await f.cluster('prod', 'c1', [cm('a')]);
      const entries = await f.sign([c]);
      // Swap the Sigstore bundle for 200,000 nested arrays: the referrer is not signed itself (it is found through
      // index.json), so it can be re-pointed; the parser must survive the depth and name what it found.
      const bomb = f.put('['.repeat(200_000) + ']'.repeat(200_000), MEDIA_TYPE_SIGSTORE_BUNDLE);
      const root = JSON.parse(entries.get('index.json')!.toString()) as Index;
      const sigEntry = root.manifests.find((m) => m.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE)!;
      const rootDesc = root.manifests.find((m) => m.artifactType === 'application/vnd.projectsveltos.airgap.bundle.v1+json')!;
      const referrer = f.json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: MEDIA_TYPE_SIGSTORE_BUNDLE, config: f.put('{}', 'application/vnd.oci.empty.v1+json'), layers: [bomb], subject: { mediaType: rootDesc.mediaType, digest: rootDesc.digest, size: rootDesc.size } });
      root.manifests = root.manifests.map((m) => (m === sigEntry ? { ...referrer, artifactType: MEDIA_TYPE_SIGSTORE_BUNDLE } : m));
      for (const [d, data] of f.raw) entries.set(`blobs/sha256/${d.slice(7)}`, data);
      entries.set('index.json', Buffer.from(JSON.stringify(root)));
      return tarOf(entries);
    },
  },
  {
    slug: 'two-signatures',
    code: 'SIGNATURE_INVALID',
    message: /index\.json: signature manifest sha256:[a-f0-9]{64} is listed twice/,
    build: signed([cm('a')], { index: (idx) => void idx.manifests.push({ ...idx.manifests.at(-1)!, annotations: { x: 'y' } }) }),
  },
  {
    // A co-signature must sign the bundle's own statement, byte for byte; any key's signature of another one is refused.
    slug: 'cosignature-other-statement',
    code: 'TAMPERED',
    message: /signature manifest sha256:[a-f0-9]{64}: signs another statement than signature manifest sha256:[a-f0-9]{64}/,
    build: (ctx) => coSigned(ctx, (statement) => ({ ...statement, predicate: { ...(statement.predicate as object), sequence: 99 } })),
  },
  {
    slug: 'cosignature-garbage',
    code: 'SIGNATURE_INVALID',
    message: /signature sha256:[a-f0-9]{64}: .*Sigstore bundle/,
    build: (ctx) => coSigned(ctx, undefined, Buffer.from('{"not": "a sigstore bundle"')),
  },
  {
    slug: 'signature-removed',
    code: 'SIGNATURE_INVALID',
    message: /index\.json: no signature: expected one manifest with artifactType application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json/,
    build: signed([cm('a')], { index: (idx) => void idx.manifests.pop() }),
  },
  {
    slug: 'signed-subject-missing-from-index',
    code: 'TAMPERED',
    message: /index\.json: signed subject sveltos-airgap\/clusters\/prod\/c1:latest is missing from index\.json/,
    build: signed([cm('a')], { index: (idx) => void (idx.manifests = idx.manifests.filter((m: Descriptor) => !m.annotations?.['io.projectsveltos.airgap.cluster'])) }),
  },
  {
    slug: 'cluster-not-in-predicate',
    code: 'TAMPERED',
    message: /index\.json: cluster artifact sha256:[a-f0-9]{64}: cluster "prod\/c1" is not named by the signed predicate \(other\/c9\)/,
    build: signed([cm('a')], { clusters: ['other/c9'] }),
  },
  { slug: 'expired', code: 'EXPIRED', message: /bundle expired at 2026-01-01T12:00:00\.000Z \(now 2026-01-02T00:00:00\.000Z\): export a fresh bundle/, build: signed([cm('a')], { expiresAt: new Date(T0.getTime() + DAY / 2) }) },
  { slug: 'not-yet-valid', code: 'NOT_YET_VALID', message: /bundle created at 2026-01-09T00:00:00\.000Z is in the future \(now 2026-01-02T00:00:00\.000Z\): check this machine's clock/, build: signed([cm('a')], { createdAt: new Date(T0.getTime() + 8 * DAY), expiresAt: new Date(T0.getTime() + 40 * DAY) }) },
  { slug: 'replayed-sequence', code: 'ROLLBACK', message: /bundle sequence 1 is not newer than the highest imported sequence 1: refusing a replayed or older bundle/, importOnly: true, build: signed([cm('replay')], { sequence: 1 }) },
  {
    slug: 'yaml-alias-expansion-bomb',
    code: 'INVALID_OBJECTS',
    message: /objects layer sha256:[a-f0-9]{64}: document 1: YAML aliases expand the document beyond \d+ nodes \(an alias bomb\)/,
    build: signed([`${cm('bomb')}items: &a [${Array(20_000).fill('1').join(',')}]\ncopies: [${Array(900).fill('*a').join(',')}]\n`]),
  },
  { slug: 'yaml-billion-laughs', code: 'INVALID_OBJECTS', message: /objects layer sha256:[a-f0-9]{64}: document 1: invalid YAML: Excessive alias count indicates a resource exhaustion attack/, build: signed([billionLaughs()]) },
  { slug: 'yaml-deep-nesting', code: 'INVALID_OBJECTS', message: /objects layer sha256:[a-f0-9]{64}: document 2: invalid YAML: Maximum call stack size exceeded/, build: signed([`${cm('ok')}---\nx: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`]) },
  { slug: 'yaml-not-a-mapping', code: 'INVALID_OBJECTS', message: /objects layer sha256:[a-f0-9]{64}: document 1: expected a mapping \(a Kubernetes object\), found a list/, build: signed(['- rm\n- -rf\n- /\n']) },
  {
    slug: 'yaml-not-utf8',
    code: 'INVALID_OBJECTS',
    message: /objects layer sha256:[a-f0-9]{64}: objects are not valid UTF-8/,
    build: async (ctx) => {
      const f = ctx.forge();
      const m = f.manifest([objects(f, Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]))], { artifactType: 'application/vnd.projectsveltos.airgap.cluster.v1+json' });
      return tarOf(await f.sign([{ ...m, artifactType: 'application/vnd.projectsveltos.airgap.cluster.v1+json', annotations: { 'io.projectsveltos.airgap.cluster': 'prod/c1', 'org.opencontainers.image.ref.name': 'sveltos-airgap/clusters/prod/c1:latest' } }]));
    },
  },
];

describe('hostile signatures, statements and objects', () => {
  runCorpus(cases);
});
