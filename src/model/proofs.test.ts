import { describe, expect, it } from 'vitest';
import { filterProof, parseProofTag, proofsBySubject, proofTag } from './proofs.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe('proofs', () => {
  it('names and reads proof tags; other tags are not proofs', () => {
    expect(proofTag(d('a'), '.sig')).toBe(`sha256-${'a'.repeat(64)}.sig`);
    expect(parseProofTag(`sha256-${'a'.repeat(64)}`)).toEqual({ subject: d('a'), suffix: '' });
    expect(parseProofTag(`sha256-${'a'.repeat(64)}.att`)).toEqual({ subject: d('a'), suffix: '.att' });
    for (const t of ['1.2.3', `sha256-${'a'.repeat(63)}.sig`, `sha256-${'a'.repeat(64)}.sign`, `sha512-${'a'.repeat(64)}`]) expect(parseProofTag(t)).toBeUndefined();
  });

  it('pairs proofs with their subject in the same repository only', () => {
    const arts = [
      { ref: 'r/app:1', digest: d('a') },
      { ref: `r/app:${proofTag(d('a'), '')}`, digest: d('c') },
      { ref: `r/app:${proofTag(d('a'), '.sig')}`, digest: d('b') },
      { ref: `other/app:${proofTag(d('a'), '.att')}`, digest: d('e') },
      { ref: `r/app:${proofTag(d('f'), '.sig')}`, digest: d('0') },
    ];
    expect([...proofsBySubject(arts)]).toEqual([['r/app:1', [{ kind: 'signature', ref: `r/app:${proofTag(d('a'), '.sig')}` }, { kind: 'referrers', ref: `r/app:${proofTag(d('a'), '')}` }]]]);
  });

  it('--referrer-type keeps manifests of a wanted type and narrows a referrers index', () => {
    const sig = Buffer.from(JSON.stringify({ config: { mediaType: 'application/vnd.oci.image.config.v1+json' }, layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' }] }));
    expect(filterProof(sig, ['application/vnd.dev.cosign.simplesigning.v1+json'])).toEqual({ keep: true });
    expect(filterProof(sig, ['application/vnd.in-toto+json'])).toEqual({ keep: false });
    const index = { schemaVersion: 2, manifests: [{ digest: d('1'), artifactType: 'application/vnd.in-toto+json' }, { digest: d('2'), artifactType: 'application/spdx+json' }] };
    const narrowed = filterProof(Buffer.from(JSON.stringify(index)), ['application/spdx+json']);
    expect(narrowed.keep && JSON.parse(narrowed.content!.toString())).toEqual({ schemaVersion: 2, manifests: [index.manifests[1]] });
    expect(filterProof(Buffer.from(JSON.stringify(index)), ['application/spdx+json', 'application/vnd.in-toto+json'])).toEqual({ keep: true });
    expect(filterProof(Buffer.from(JSON.stringify(index)), ['text/plain'])).toEqual({ keep: false });
    expect(filterProof(Buffer.from('not json'), ['text/plain'])).toEqual({ keep: false });
  });
});
