// Sprig v3 (TxtFuncMap) for the engine. See docs/template-functions.md for what is and is not supported.
import type { GoFunc } from '../values.js';
import { DICT_FUNCS, LIST_FUNCS } from './collections.js';
import { CRYPTO_FUNCS } from './crypto.js';
import { DATE_FUNCS } from './dates.js';
import { ENCODING_FUNCS } from './encoding.js';
import { MATH_FUNCS } from './math.js';
import { MISC_FUNCS } from './misc.js';
import { REGEX_FUNCS } from './regex.js';
import { SEMVER_FUNCS } from './semver.js';
import { STRING_FUNCS } from './strings.js';
import { URL_FUNCS } from './url.js';

/** sprigFuncs returns a fresh Sprig function map. */
export function sprigFuncs(): Record<string, GoFunc> {
  return { ...STRING_FUNCS, ...MATH_FUNCS, ...LIST_FUNCS, ...DICT_FUNCS, ...MISC_FUNCS, ...ENCODING_FUNCS, ...REGEX_FUNCS, ...SEMVER_FUNCS, ...URL_FUNCS, ...DATE_FUNCS, ...CRYPTO_FUNCS };
}
