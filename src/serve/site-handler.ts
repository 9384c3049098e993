// The handler `serve` mounts: the read-only registry over the site store, reopened whenever an import
// commits a new state.json, so a running server picks up new bundles without a restart.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SiteView } from '../bundle/site.js';
import { STATE_FILE } from '../bundle/state.js';
import { createRegistryHandler, type Handler, type RegistryHandlerOptions } from '../registry/server/handler.js';

export interface SiteHandlerOptions extends RegistryHandlerOptions {
  /** How often state.json is checked for a new import, in ms. Default 1000. */
  reloadIntervalMs?: number;
}

/** createSiteHandler serves the store at `storeDir`; it fails early when the store cannot be opened. */
export async function createSiteHandler(storeDir: string, opts: SiteHandlerOptions = {}): Promise<Handler & { reload(): Promise<void> }> {
  const interval = opts.reloadIntervalMs ?? 1000;
  const stamp = async () => {
    const st = await stat(join(storeDir, STATE_FILE)).catch(() => undefined);
    return st ? `${st.mtimeMs}:${st.size}:${st.ino}` : 'none';
  };
  let current = { stamp: await stamp(), handler: createRegistryHandler(await SiteView.open(storeDir), opts) };
  let checkedAt = Date.now();
  let reloading: Promise<void> | undefined;

  const reload = async () => {
    const s = await stamp();
    if (s === current.stamp) return;
    current = { stamp: s, handler: createRegistryHandler(await SiteView.open(storeDir), opts) };
  };
  const handler = async (req: Parameters<Handler>[0]) => {
    if (Date.now() - checkedAt >= interval) {
      checkedAt = Date.now();
      reloading ??= reload().finally(() => {
        reloading = undefined;
      });
    }
    if (reloading) await reloading.catch(() => undefined);
    return current.handler(req);
  };
  return Object.assign(handler, { reload });
}
