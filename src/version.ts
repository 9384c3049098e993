// The tool's version, read from its package.json: one place to change it, for `--version` and bundle metadata.
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
