// serve: the site's registry (and agent API) from a store, until SIGINT/SIGTERM.
import { readFile } from 'node:fs/promises';
import { startServer, type RunningServer } from '../../registry/server/http.js';
import { createSiteHandler } from '../../serve/site-handler.js';
import { mirrorConfig, type MirrorEntry } from '../../serve/mirror.js';
import { SiteView } from '../../bundle/site.js';
import { ValidationError } from '../../errors.js';
import { printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { parseListen } from '../options.js';

export interface ServeCommandOptions extends GlobalOptions {
  store: string;
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Print the containerd mirror configuration and exit. */
  printMirrorConfig?: boolean;
  /** URL nodes reach the server at (mirror configuration). */
  advertise?: string;
  /** Resolves to stop the server (tests); default: SIGINT or SIGTERM. */
  until?: Promise<void>;
}

async function readPem(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ValidationError('USAGE', `${flag} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
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

export async function serve(opts: ServeCommandOptions, io: CommandIO): Promise<{ url: string; mirrors?: MirrorEntry[] }> {
  const reporter = new Reporter(io, opts);
  const { host, port } = parseListen(opts.listen);
  if (opts.printMirrorConfig) {
    const url = opts.advertise ?? `${opts.tlsCert ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const mirrors = mirrorConfig(await (await SiteView.open(opts.store)).tags(), url);
    printResult(io, opts, { url, mirrors }, () => mirrors.map((m) => `# ${m.path}\n${m.hostsToml}`).join('\n') || '# no images or charts from registries in this store');
    return { url, mirrors };
  }
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new ValidationError('USAGE', '--tls-cert and --tls-key go together: give both or neither');
  const tls = opts.tlsCert && opts.tlsKey ? { cert: await readPem(opts.tlsCert, '--tls-cert'), key: await readPem(opts.tlsKey, '--tls-key') } : undefined;
  const handler = await createSiteHandler(opts.store, { onInternalError: (e) => reporter.warn('INTERNAL', String((e as Error)?.stack ?? e)) });
  let running: RunningServer;
  try {
    running = await startServer(handler, { host, port, ...(tls ? { tls } : {}) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ValidationError('USAGE', `--listen ${opts.listen}: cannot listen (${code ?? (err as Error).message})${code === 'EADDRINUSE' ? ': the port is in use, choose another' : ''}`, { cause: err });
  }
  printResult(io, opts, { url: running.url, registry: `${running.url}/v2/`, store: opts.store }, () => `serving ${opts.store} on ${running.url} (OCI registry at ${running.url}/v2/)`);
  reporter.info('press Ctrl-C to stop');
  await (opts.until ?? signalled());
  await running.close();
  return { url: running.url };
}
