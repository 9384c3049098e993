// sigs.k8s.io/yaml.Marshal for JSON values, byte for byte: the text Sveltos puts in
// ConfigurationBundle `spec.resources` (libsveltos `pullmode.prepareConfigurationBundle`).
// The encoder is the template engine's (it serves `toYaml` too); the golden tests in
// goyaml.test.ts hold it to the go-yaml v2 oracle for the objects bundles carry.

import { GoError, marshalYAML } from '../gotemplate/index.js';

/** YAMLMarshalError is a value sigs.k8s.io/yaml.Marshal refuses; Sveltos fails the deployment on it. */
export class YAMLMarshalError extends Error {
  override name = 'YAMLMarshalError';
}

/**
 * sigsYAMLMarshal encodes a JSON value as sigs.k8s.io/yaml.Marshal does (ends with a newline):
 * keys in go-yaml's natural order, sequences not indented under keys, long scalars folded at
 * column 80, strings with a newline as literal blocks. Throws YAMLMarshalError where Go fails
 * (e.g. U+007F..U+009F, which go-yaml refuses to read back from the JSON).
 */
export function sigsYAMLMarshal(v: unknown): string {
  try {
    return marshalYAML(v);
  } catch (err) {
    if (err instanceof GoError) throw new YAMLMarshalError(err.message, { cause: err });
    throw err;
  }
}
