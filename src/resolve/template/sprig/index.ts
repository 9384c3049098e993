// Sprig v3 (TxtFuncMap) for the engine.
import type { GoFunc } from '../values.js';

/** sprigFuncs returns a fresh Sprig function map. */
export function sprigFuncs(): Record<string, GoFunc> {
  return {};
}
