// The handler `serve` mounts: the agent API and the read-only registry over the site store, on one port.
// Both are reopened whenever an import commits a new state.json (noticed by a file watch, a poll and on
// requests), so a running server serves new bundles, and agents see the change as watch events. The
// agent tokens are checked on the same poll (and by requests), so a revoked token is refused, and its
// watches end, within one interval.
import { watch as watchDir, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SiteView } from '../bundle/site.js';
import { STATE_FILE } from '../bundle/state.js';
import { AgentApi, type AgentApiOptions } from '../agent-api/service.js';
import { TokenBook } from '../agent-api/tokens.js';
import { composeHandlers, type Handler, type RegistryHandlerOptions } from '../registry/server/handler.js';
import { createOciRoutes } from '../registry/server/oci-routes.js';
import { createConfigGate } from './config-gate.js';

export interface SiteHandlerOptions extends RegistryHandlerOptions, AgentApiOptions {
  /** How often state.json is checked for a new import, and tokens.json for issued and revoked tokens, in ms. Default 1000. */
  reloadIntervalMs?: number;
  /** Serve the agent API next to the registry. Default true. */
  agentApi?: boolean;
}

/** SiteHandler is the mounted handler plus its controls. */
export type SiteHandler = Handler & {
  /** reload picks up a committed import now (it is also noticed by itself). */
  reload(): Promise<void>;
  /** close stops watching the store and releases it. */
  close(): Promise<void>;
  /** The agent API, when mounted. */
  agentApi?: AgentApi;
};

/** createSiteHandler serves the store at `storeDir`; it fails early when the store cannot be opened. */
export async function createSiteHandler(storeDir: string, opts: SiteHandlerOptions = {}): Promise<SiteHandler> {
  const interval = opts.reloadIntervalMs ?? 1000;
  const stamp = async () => {
    const st = await stat(join(storeDir, STATE_FILE)).catch(() => undefined);
    return st ? `${st.mtimeMs}:${st.size}:${st.ino}` : 'none';
  };
  const firstStamp = await stamp();
  const view = await SiteView.open(storeDir);
  const tokens = new TokenBook(storeDir, { checkIntervalMs: interval });
  const agentApi = opts.agentApi === false ? undefined : await AgentApi.open(storeDir, view, { ...opts, tokens });
  const gate = createConfigGate(tokens);
  const build = (v: SiteView): Handler => composeHandlers([...(agentApi ? [agentApi.routes] : []), gate, createOciRoutes(v, opts)], opts);
  let current = { stamp: firstStamp, handler: build(view) };
  let checkedAt = Date.now();
  let reloading: Promise<void> | undefined;

  const reloadNow = async () => {
    const s = await stamp();
    if (s === current.stamp) return;
    const v = await SiteView.open(storeDir);
    await agentApi?.sync(v);
    current = { stamp: s, handler: build(v) };
  };
  const reload = (): Promise<void> => {
    checkedAt = Date.now();
    reloading ??= reloadNow().finally(() => {
      reloading = undefined;
    });
    return reloading;
  };
  let tokensProblem = '';
  const background = () => {
    reload().catch((err: unknown) => opts.warn?.(`reloading ${storeDir}: ${(err as Error).message}`));
  };
  const checkTokens = () => {
    tokens.refresh().then(
      () => (tokensProblem = ''),
      (err: unknown) => {
        // Requests fail while tokens.json is damaged; say so once, not on every poll.
        const message = (err as Error).message;
        if (message !== tokensProblem) opts.warn?.(`agent tokens: ${message}`);
        tokensProblem = message;
      },
    );
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watchDir(storeDir, (_event, file) => {
      if (file === null || file === STATE_FILE) background();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined; // the poll below still notices imports
  }
  const timer = setInterval(() => {
    background();
    checkTokens();
  }, interval);
  timer.unref();

  const handler = async (req: Parameters<Handler>[0]) => {
    if (Date.now() - checkedAt >= interval) background();
    if (reloading) await reloading.catch(() => undefined);
    return current.handler(req);
  };
  const close = async () => {
    clearInterval(timer);
    watcher?.close();
    await reloading?.catch(() => undefined);
    await agentApi?.close();
  };
  return Object.assign(handler, { reload, close, ...(agentApi ? { agentApi } : {}) });
}
