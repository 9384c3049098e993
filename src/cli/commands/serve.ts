// serve: the site's agent API and registry from a store, on one port, until SIGINT/SIGTERM.
import { listen, startServer, type RunningServer } from '../../registry/server/http.js';
import { createSiteHandler } from '../../serve/site-handler.js';
import { mirrorConfig, type MirrorEntry } from '../../serve/mirror.js';
import { SiteView } from '../../bundle/site.js';
import { ensureSelfSignedTLS, tlsDir } from '../../serve/tls.js';
import { ValidationError } from '../../errors.js';
import { printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadSiteKeys } from '../keys.js';
import { parseListen, parseSize } from '../options.js';
import { readArgFile } from '../files.js';
import { statusPageHandler } from '../../ui/server.js';

export interface ServeCommandOptions extends GlobalOptions {
  store: string;
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Print the containerd mirror configuration and exit. */
  printMirrorConfig?: boolean;
  /** URL nodes reach the server at (mirror configuration). */
  advertise?: string;
  /** Generate (once) a site CA and a serving certificate in the store. */
  tlsSelfSigned?: boolean;
  /** Extra names or addresses for the self-signed serving certificate. */
  tlsSan?: string[];
  /** The site's private keys: encrypted objects are decrypted with them for the agents. */
  siteKey?: string[];
  siteKeyPassphraseEnv?: string;
  /** Also serve the read-only status page on this address (`HOST:PORT`, or `PORT` for loopback). */
  uiListen?: string;
  /** A file holding the token the status page requires (bearer, or basic auth password). */
  uiTokenFile?: string;
  /** `--blob-memory`: memory for blobs several clients download at once (a size; `0` turns it off). Default 128M. */
  blobMemory?: string;
  /** Resolves to stop the server (tests); default: SIGINT or SIGTERM. */
  until?: Promise<void>;
}

function signalled(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

// startStatusPage listens for the status page on its own address, with serve's TLS when it has some.
async function startStatusPage(opts: ServeCommandOptions, tls: { cert: string | Buffer; key: string | Buffer } | undefined): Promise<RunningServer> {
  const value = opts.uiListen!;
  const { host, port } = parseListen(value, '--ui-listen');
  const token = opts.uiTokenFile ? (await readArgFile(opts.uiTokenFile, '--ui-token-file')).toString('utf8').trim() : undefined;
  if (opts.uiTokenFile && !token) throw new ValidationError('USAGE', `--ui-token-file ${opts.uiTokenFile}: the file is empty`);
  const handle = statusPageHandler({ storeDir: opts.store, ...(token ? { token } : {}) });
  return listen(handle, { host, port, ...(tls ? { tls } : {}) }).catch((err: NodeJS.ErrnoException) => {
    throw new ValidationError('USAGE', `--ui-listen ${value}: cannot listen (${err.code ?? err.message})`, { cause: err });
  });
}

export async function serve(opts: ServeCommandOptions, io: CommandIO): Promise<{ url: string; mirrors?: MirrorEntry[]; statusPage?: string }> {
  const reporter = new Reporter(io, opts);
  const { host, port } = parseListen(opts.listen);
  if (opts.printMirrorConfig) {
    const url = opts.advertise ?? `${opts.tlsCert ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const mirrors = mirrorConfig(await (await SiteView.open(opts.store)).tags(), url);
    printResult(io, opts, { url, mirrors }, () => mirrors.map((m) => `# ${m.path}\n${m.hostsToml}`).join('\n') || '# no images or charts from registries in this store');
    return { url, mirrors };
  }
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new ValidationError('USAGE', '--tls-cert and --tls-key go together: give both or neither');
  if (opts.tlsSelfSigned && opts.tlsCert) throw new ValidationError('USAGE', '--tls-self-signed and --tls-cert exclude each other');
  let tls: { cert: string | Buffer; key: string | Buffer } | undefined;
  if (opts.tlsCert && opts.tlsKey) tls = { cert: await readArgFile(opts.tlsCert, '--tls-cert'), key: await readArgFile(opts.tlsKey, '--tls-key') };
  // `--blob-memory 0` holds no blobs in memory; any other value is a size.
  const hotBlobBytes = opts.blobMemory === undefined ? undefined : opts.blobMemory.trim() === '0' ? 0 : parseSize(opts.blobMemory, '--blob-memory');
  const siteKeys = await loadSiteKeys(opts.siteKey ?? [], opts.siteKeyPassphraseEnv, io.env);
  // The store is opened first: a wrong --store fails before anything is written into it.
  const handler = await createSiteHandler(opts.store, {
    onInternalError: (e) => reporter.warn('INTERNAL', String((e as Error)?.stack ?? e)),
    warn: (message) => reporter.warn('AGENT_API', message),
    siteKeys,
    ...(hotBlobBytes !== undefined ? { hotBlobBytes } : {}),
  });
  let running: RunningServer;
  try {
    if (opts.tlsSelfSigned) {
      const made = await ensureSelfSignedTLS(opts.store, [host, ...(opts.tlsSan ?? [])]);
      tls = { cert: made.certPem, key: made.keyPem };
      reporter.info(`serving certificate for ${made.names.join(', ')}, signed by the site CA in ${tlsDir(opts.store)} (agent-kubeconfig puts it into kubeconfigs)`);
    }
    running = await startServer(handler, { host, port, ...(tls ? { tls } : {}) });
  } catch (err) {
    await handler.close();
    if (err instanceof ValidationError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ValidationError('USAGE', `--listen ${opts.listen}: cannot listen (${code ?? (err as Error).message})${code === 'EADDRINUSE' ? ': the port is in use, choose another' : ''}`, { cause: err });
  }
  let ui: RunningServer | undefined;
  try {
    if (opts.uiListen !== undefined) ui = await startStatusPage(opts, tls);
  } catch (err) {
    await running.close();
    await handler.close();
    throw err;
  }
  printResult(io, opts, { url: running.url, registry: `${running.url}/v2/`, agentApi: running.url, store: opts.store, ...(ui ? { statusPage: ui.url } : {}) }, () =>
    `serving ${opts.store} on ${running.url} (agent API at ${running.url}, OCI registry at ${running.url}/v2/)${ui ? `; status page at ${ui.url}/` : ''}`,
  );
  reporter.info('press Ctrl-C to stop');
  await (opts.until ?? signalled());
  await ui?.close();
  await running.close();
  await handler.close();
  return { url: running.url, ...(ui ? { statusPage: ui.url } : {}) };
}
