// The `yaml` library, loaded on first use: it takes tens of milliseconds to load, and verify and import read
// bundles of JSON and of block YAML that the fast reader (yaml-block.ts) takes without it. The library is
// CommonJS under Node, so the same module is loaded whether it is imported or required.
import { createRequire } from 'node:module';

type YamlLib = typeof import('yaml');

const require = createRequire(import.meta.url);
let lib: YamlLib | undefined;

/** yamlLib returns the `yaml` library, loading it the first time. */
export function yamlLib(): YamlLib {
  return (lib ??= require('yaml') as YamlLib);
}
