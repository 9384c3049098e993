import { describe, expect, it } from 'vitest';
import { DEFAULT_EXCLUSIONS, IgnoreRules, parsePatterns } from './sourceignore.js';

const rules = (text: string, domain = '') => new IgnoreRules([...parsePatterns(DEFAULT_EXCLUSIONS.join('\n')), ...parsePatterns(text, domain)]);

describe('sourceignore (gitignore syntax)', () => {
  it('applies the default exclusions: VCS files, images and archives, CI folders, tool files at any depth', () => {
    const r = rules('');
    for (const p of ['.gitignore', 'a/b/logo.PNG.png', 'charts/x.tar.gz', '.github/workflows/ci.yaml', 'deep/dir/.sops.yaml', '.flux.yaml']) expect(r.ignored(p), p).toBe(true);
    for (const p of ['apps/a.yaml', 'x.tgz', 'github/ci.yaml', 'readme.md']) expect(r.ignored(p), p).toBe(false);
  });

  it('anchors patterns with a slash, matches bare names at any depth, `**`, dir-only, negation (last match wins)', () => {
    const r = rules('/docs\n*.md\n!keep.md\nbuild/\napps/**/secret-*.yaml\n# comment\n\n');
    expect(r.ignored('docs/a.yaml')).toBe(true);
    expect(r.ignored('apps/docs/a.yaml')).toBe(false);
    expect(r.ignored('apps/x/README.md')).toBe(true);
    expect(r.ignored('apps/keep.md')).toBe(false);
    expect(r.ignored('a/build/out.yaml')).toBe(true);
    expect(r.ignored('a/build')).toBe(false);
    expect(r.ignored('apps/secret-a.yaml')).toBe(true);
    expect(r.ignored('apps/x/y/secret-b.yaml')).toBe(true);
    expect(r.ignored('apps/x/public.yaml')).toBe(false);
  });

  it('a .sourceignore in a folder applies under that folder only', () => {
    const r = rules('*.json', 'apps');
    expect(r.ignored('apps/x/a.json')).toBe(true);
    expect(r.ignored('other/a.json')).toBe(false);
  });
});
