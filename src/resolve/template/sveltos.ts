// Functions Sveltos adds to Sprig (libsveltos funcmap and the addon-controller's resource helpers).
import { sprigFuncs } from './sprig/index.js';
import type { GoFunc } from './values.js';

/** SveltosTemplateContext holds the management-cluster resources (templateResourceRefs) by identifier. */
export interface SveltosTemplateContext {
  mgmtResources: Record<string, Record<string, unknown>>;
}

/** sveltosFuncs returns the functions Sveltos adds: YAML/JSON/TOML helpers and resource accessors. */
export function sveltosFuncs(_ctx: SveltosTemplateContext): Record<string, GoFunc> {
  return {};
}

/** sveltosTemplateFuncs is Sprig plus the Sveltos functions, as the addon-controller builds it. */
export function sveltosTemplateFuncs(ctx: SveltosTemplateContext): Record<string, GoFunc> {
  return { ...sprigFuncs(), ...sveltosFuncs(ctx) };
}
