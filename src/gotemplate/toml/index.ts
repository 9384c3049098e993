// libsveltos' toToml and fromToml (BurntSushi/toml semantics).
import { GoError, goFunc } from '../funcs.js';
import { GoFunc, setKey } from '../values.js';
import { decodeTOML } from './decode.js';
import { encodeTOML, TomlEncodeError } from './encode.js';

/** TOML_FUNCS are toToml (the encoder's error text on failure) and fromToml (errors under "Error"). */
export const TOML_FUNCS: Record<string, GoFunc> = {
  toToml: goFunc({ in: ['interface {}'], out: 'string' }, (v: unknown) => {
    try {
      return encodeTOML(v);
    } catch (e) {
      if (e instanceof TomlEncodeError) return e.message;
      throw e;
    }
  }),
  fromToml: goFunc({ in: ['string'], out: 'map[string]interface {}' }, (s: string) => {
    try {
      return decodeTOML(s);
    } catch (e) {
      if (!(e instanceof GoError)) throw e;
      const m: Record<string, unknown> = {};
      setKey(m, 'Error', e.message);
      return m;
    }
  }),
};
