// The command table: each command parses its flags and hands them to a thin function in commands/.
import { Command, CommanderError, Option } from 'commander';
import { ValidationError } from '../errors.js';
import type { CommandIO, GlobalOptions } from './io.js';

type ExportFlags = Omit<import('./commands/export.js').ExportCommandOptions, 'output' | 'quiet'>;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { output?: string; quiet?: boolean };
  return { output: o.output === 'json' || o.output === 'yaml' ? o.output : 'text', quiet: Boolean(o.quiet) };
}

/** buildCli returns the commander program; `run` receives each command's result for tests. */
export function buildCli(io: CommandIO, run: (p: Promise<unknown>) => Promise<void>): Command {
  const program = new Command('sveltos-airgap')
    .description('Carry Sveltos configuration into air-gapped Kubernetes clusters as signed OCI bundles.')
    .addOption(new Option('-o, --output <format>', 'result format on stdout').choices(['text', 'json', 'yaml']).default('text'))
    .option('-q, --quiet', 'no logs or progress on stderr')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .addHelpText(
      'after',
      `
Workflow:
  connected side    sveltos-airgap keygen --out signing
                    sveltos-airgap export --from fleet/ --key signing.key --out bundle.tar --sequence 1
  air-gapped side   sveltos-airgap verify bundle.tar --key signing.pub
                    sveltos-airgap import bundle.tar --store /var/lib/sveltos-airgap --key signing.pub
                    sveltos-airgap serve --store /var/lib/sveltos-airgap --listen 0.0.0.0:5000

Exit codes: 0 ok, 1 usage or input error, 2 verification or trust failure, 70 internal error.`,
    );

  program
    .command('keygen')
    .description('Create an ECDSA P-256 signing key pair: PREFIX.key (PKCS#8 PEM) and PREFIX.pub (SPKI PEM)')
    .requiredOption('--out <prefix>', 'path prefix of the key files')
    .option('--passphrase-env <var>', 'encrypt the private key with the passphrase in this environment variable')
    .option('--force', 'replace existing key files')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap keygen --out signing\n  SIGNING_PASS=… sveltos-airgap keygen --out signing --passphrase-env SIGNING_PASS')
    .action(async (o: { out: string; passphraseEnv?: string; force?: boolean }, cmd: Command) => {
      const { keygen } = await import('./commands/keygen.js');
      await run(keygen({ ...globals(cmd), ...o }, io));
    });

  program
    .command('resolve')
    .description('Show, per cluster, the matched profiles and the ConfigurationGroups/Bundles that would be carried')
    .option('--from <dir>', 'directory (or file) of YAML/JSON objects, read recursively; repeatable', collect, [])
    .option('--cluster <ns/name>', 'only this cluster; repeatable', collect, [])
    .addHelpText('after', '\nExamples:\n  sveltos-airgap resolve --from fleet/\n  sveltos-airgap resolve --from fleet/ --cluster prod/cluster-a --output yaml')
    .action(async (o: { from: string[]; cluster: string[] }, cmd: Command) => {
      const { resolve } = await import('./commands/resolve.js');
      await run(resolve({ ...globals(cmd), ...o }, io));
    });

  program
    .command('export')
    .description('Resolve profiles for the target clusters, render Helm charts and pack everything into a signed bundle')
    .option('--from <dir>', 'directory (or file) of YAML/JSON objects, read recursively; repeatable', collect, [])
    .requiredOption('--out <file>', 'bundle tar to write (written to a temp file, then renamed)')
    .requiredOption('--key <file>', 'signing key (PREFIX.key from keygen)')
    .option('--passphrase-env <var>', 'environment variable holding the signing key passphrase')
    .option('--cluster <ns/name>', 'only this cluster; repeatable (default: every eligible cluster)', collect, [])
    .option('--sequence <n>', 'bundle sequence, must grow from one export to the next (default: creation time in seconds)')
    .option('--expires <duration>', 'validity, e.g. 30d, 12h, 2w', '30d')
    .option('--created-at <time>', 'creation and signing time (RFC 3339 or @epoch seconds; default now), for reproducible bundles')
    .option('--source-date-epoch <seconds>', 'mtime of tar entries (default $SOURCE_DATE_EPOCH or 0)')
    .option('--source <text>', 'exporter description in the signed predicate (default: tool version and host name)')
    .option('--signature-out <file>', 'also write the Sigstore bundle beside the tar')
    .option('--helm <path>', 'helm v3 binary (default $SVELTOS_AIRGAP_HELM, then PATH)')
    .option('--kube-version <v>', 'Kubernetes version charts are rendered for (default: the cluster\'s status.version, else v1.32.0)')
    .option('--offline', 'use only the local chart cache; fail on a miss')
    .option('--cache-dir <dir>', 'chart cache directory')
    .option('--include-images', 'copy every image the rendered objects and charts name into the bundle')
    .option('--platform <os/arch>', 'with --include-images: only these platforms of multi-platform images; repeatable', collect, [])
    .option('--registry-auth <file>', 'Docker config.json with registry credentials for charts and images')
    .option('--plain-http-registry <host>', 'reach this registry over plain HTTP; repeatable', collect, [])
    .option('--insecure-registry <host>', 'do not check this registry\'s TLS certificate; repeatable', collect, [])
    .addHelpText(
      'after',
      '\nExamples:\n  sveltos-airgap export --from fleet/ --key signing.key --out bundle.tar --sequence 42 --expires 30d\n  sveltos-airgap export --from fleet/ --key signing.key --out bundle.tar --include-images --platform linux/amd64\n  SOURCE_DATE_EPOCH=0 sveltos-airgap export --from fleet/ --key signing.key --out b.tar --sequence 1 --created-at 2026-01-01T00:00:00Z',
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { exportCommand } = await import('./commands/export.js');
      const { source, ...rest } = o;
      await run(exportCommand({ ...globals(cmd), ...(rest as unknown as ExportFlags), ...(typeof source === "string" ? { sourceText: source } : {}) }, io));
    });

  program
    .command('inspect')
    .description('List what a bundle holds: clusters, profiles, groups, charts, images, sizes and signature facts (no trust decision)')
    .argument('<bundle>', 'bundle tar file')
    .option('--images', 'list every image the configuration names, with the clusters, profiles, releases and objects using it, and whether the bundle carries it')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap inspect bundle.tar\n  sveltos-airgap inspect bundle.tar --images\n  sveltos-airgap inspect bundle.tar --output json | jq .clusters')
    .action(async (bundle: string, o: { images?: boolean }, cmd: Command) => {
      const { inspect } = await import('./commands/inspect.js');
      await run(inspect({ ...globals(cmd), bundle, images: Boolean(o.images) }, io));
    });

  program
    .command('verify')
    .description('Verify a bundle offline: signature, subjects, expiry and every blob digest')
    .argument('<bundle>', 'bundle tar file')
    .option('--key <file>', 'trusted public key (PREFIX.pub); repeat for several', collect, [])
    .option('--now <time>', 'verify as of this time (RFC 3339 or @epoch seconds) instead of the clock')
    .option('--strict', 'treat warnings (unreferenced blobs) as failures')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap verify bundle.tar --key signing.pub\n  sveltos-airgap verify bundle.tar --key old.pub --key new.pub --output json')
    .action(async (bundle: string, o: { key: string[]; now?: string; strict?: boolean }, cmd: Command) => {
      const { verify } = await import('./commands/verify.js');
      await run(verify({ ...globals(cmd), bundle, ...o }, io));
    });

  program
    .command('import')
    .description('Verify a bundle, then ingest it atomically into a site store (refuses older or replayed bundles)')
    .argument('<bundle>', 'bundle tar file')
    .requiredOption('--store <dir>', 'site store directory (created when missing)')
    .option('--key <file>', 'trusted public key (PREFIX.pub); repeat for several', collect, [])
    .option('--allow-downgrade', 'accept a bundle whose sequence is not higher than the last imported one')
    .option('--require-cluster <ns/name>', 'refuse bundles that do not carry this cluster; repeatable', collect, [])
    .option('--now <time>', 'import as of this time (RFC 3339 or @epoch seconds) instead of the clock')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap import bundle.tar --store /var/lib/sveltos-airgap --key signing.pub')
    .action(async (bundle: string, o: { store: string; key: string[]; allowDowngrade?: boolean; requireCluster: string[]; now?: string }, cmd: Command) => {
      const { importCommand } = await import('./commands/import.js');
      await run(importCommand({ ...globals(cmd), bundle, ...o }, io));
    });

  program
    .command('serve')
    .description('Serve a site store: the read-only OCI registry (/v2/) for charts, images and configuration artifacts')
    .requiredOption('--store <dir>', 'site store directory')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:5000')
    .option('--tls-cert <file>', 'PEM certificate chain (serve HTTPS)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--print-mirror-config', 'print the containerd registry mirror configuration (hosts.toml per upstream registry) and exit')
    .option('--advertise <url>', 'URL the nodes reach this server at, for --print-mirror-config (default: from --listen)')
    .addHelpText(
      'after',
      `
Charts and images are served under repositories named after their source: the registry host (a port
joined with "_"), then the path. docker.io/library/nginx:1.25 is <addr>/docker.io/library/nginx:1.25;
127.0.0.1:5000/team/app is <addr>/127.0.0.1_5000/team/app; an HTTP chart repository
https://charts.example.com/stable with chart web is <addr>/charts.example.com/stable/web (tag = version,
"+" written "_"). Images named by digest only are tagged sha256-<hex>.

Examples:
  sveltos-airgap serve --store /var/lib/sveltos-airgap --listen 0.0.0.0:5000
  helm pull oci://127.0.0.1:5000/charts.example.com/stable/web --version 1.2.3 --plain-http
  skopeo copy --src-tls-verify=false docker://127.0.0.1:5000/docker.io/library/nginx:1.25 oci:nginx
  sveltos-airgap serve --store /var/lib/sveltos-airgap --print-mirror-config --advertise http://10.0.0.5:5000`,
    )
    .action(async (o: { store: string; listen: string; tlsCert?: string; tlsKey?: string; printMirrorConfig?: boolean; advertise?: string }, cmd: Command) => {
      const { serve } = await import('./commands/serve.js');
      await run(serve({ ...globals(cmd), ...o }, io));
    });

  return program;
}

/** usageFromCommander turns commander's parse errors into ValidationError (exit 1). */
export function usageFromCommander(err: unknown): unknown {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return undefined;
    return new ValidationError('USAGE', err.message.replace(/^error: /, ''), { cause: err });
  }
  return err;
}
