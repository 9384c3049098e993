// Validation of the bundle SBOM against the SPDX 2.3 JSON schema (test/fixtures/spdx, see SOURCES.md), with ajv.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'spdx', 'spdx-schema-2.3.json'), 'utf8')) as object;
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** spdxErrors validates `doc` as an SPDX 2.3 document; the schema's complaints, or [] when it is valid. */
export function spdxErrors(doc: unknown): string[] {
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  const validate = ajv.compile(schema);
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}
