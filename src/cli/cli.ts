// The command table: each command parses its flags and hands them to a thin function in commands/.
import { Command, CommanderError, Option } from 'commander';
import { ValidationError } from '../errors.js';
import type { CommandIO, GlobalOptions } from './io.js';

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
    .command('inspect')
    .description('List what a bundle holds: clusters, profiles, groups (and which are encrypted, to whom), charts, images, sizes, parts and signature facts (no trust decision)')
    .argument('<bundle...>', 'bundle tar, or parts of a split bundle')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap inspect bundle.tar\n  sveltos-airgap inspect bundle.part1-of-3.tar --output json | jq .clusters')
    .action(async (bundles: string[], _o: unknown, cmd: Command) => {
      const { inspect } = await import('./commands/inspect.js');
      await run(inspect({ ...globals(cmd), bundles }, io));
    });

  limitOptions(
    program
      .command('verify')
      .description('Verify a bundle offline: signature, subjects, expiry and every blob digest; a split bundle part by part')
      .argument('<bundle...>', 'bundle tar, or any parts of a split bundle in any order')
      .option('--key <file>', 'trusted public key (PREFIX.pub); repeat for several', collect, [])
      .option('--now <time>', 'verify as of this time (RFC 3339 or @epoch seconds) instead of the clock')
      .option('--strict', 'treat warnings (unreferenced blobs) as failures')
      .option('--site-key <file>', "the site's private key: also decrypt and check encrypted objects; repeatable", collect, [])
      .option('--site-key-passphrase-env <var>', 'passphrase of an encrypted --site-key, from this environment variable'),
  )
    .addHelpText('after', `\nExamples:\n  sveltos-airgap verify bundle.tar --key signing.pub\n  sveltos-airgap verify bundle.tar --key old.pub --key new.pub --output json\n  sveltos-airgap verify bundle.part2-of-3.tar --key signing.pub        # one part on its own\n${LIMITS_HELP}`)
    .action(async (bundles: string[], o: LimitFlags & { key: string[]; now?: string; strict?: boolean; siteKey: string[]; siteKeyPassphraseEnv?: string }, cmd: Command) => {
      const { verify } = await import('./commands/verify.js');
      await run(verify({ ...globals(cmd), bundles, ...o }, io));
    });

  limitOptions(
    program
      .command('import')
      .description('Verify a bundle, then ingest it atomically into a site store (refuses older or replayed bundles); parts of a split bundle can come in any order, over several runs')
      .argument('<bundle...>', 'bundle tar, or any parts of a split bundle in any order')
      .requiredOption('--store <dir>', 'site store directory (created when missing)')
      .option('--key <file>', 'trusted public key (PREFIX.pub); repeat for several', collect, [])
      .option('--allow-downgrade', 'accept a bundle whose sequence is not higher than the last imported one')
      .option('--require-cluster <ns/name>', 'refuse bundles that do not carry this cluster; repeatable', collect, [])
      .option('--now <time>', 'import as of this time (RFC 3339 or @epoch seconds) instead of the clock')
      .option('--site-key <file>', "the site's private key: encrypted objects must decrypt with it; repeatable", collect, [])
      .option('--site-key-passphrase-env <var>', 'passphrase of an encrypted --site-key, from this environment variable'),
  )
    .addHelpText(
      'after',
      `\nExamples:\n  sveltos-airgap import bundle.tar --store /var/lib/sveltos-airgap --key signing.pub\n  sveltos-airgap import bundle.part1-of-3.tar --store /var/lib/sveltos-airgap --key signing.pub   # later: the other parts\n\nAn import that is interrupted (killed, power cut, disk full) keeps what it verified; run it again to continue.\nExit code 1 with "incomplete" means parts are still missing: their verified blobs are kept.\n${LIMITS_HELP}`,
    )
    .action(async (bundles: string[], o: LimitFlags & { store: string; key: string[]; allowDowngrade?: boolean; requireCluster: string[]; now?: string; siteKey: string[]; siteKeyPassphraseEnv?: string }, cmd: Command) => {
      const { importCommand } = await import('./commands/import.js');
      await run(importCommand({ ...globals(cmd), bundles, ...o }, io));
    });

  program
    .command('serve')
    .description('Serve a site store: the read-only OCI registry (/v2/) for charts, images and configuration artifacts')
    .requiredOption('--store <dir>', 'site store directory')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:5000')
    .option('--tls-cert <file>', 'PEM certificate chain (serve HTTPS)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap serve --store /var/lib/sveltos-airgap --listen 0.0.0.0:5000\n  skopeo inspect --tls-verify=false docker://127.0.0.1:5000/sveltos-airgap/bundle:1')
    .action(async (o: { store: string; listen: string; tlsCert?: string; tlsKey?: string }, cmd: Command) => {
      const { serve } = await import('./commands/serve.js');
      await run(serve({ ...globals(cmd), ...o }, io));
    });

  return program;
}

/** LimitFlags are the resource limit flags of verify and import, as typed. */
export interface LimitFlags {
  maxJsonBytes?: string;
  maxBlobs?: string;
  maxTotalSize?: string;
  maxEntries?: string;
  maxObjectsBytes?: string;
}

const LIMITS_HELP = `
Limits (a bundle over one is refused with exit 2; raise it for a genuine bundle):
  --max-json-bytes      4MiB     each JSON document read into memory (index.json, manifests, signature, volume table)
  --max-blobs           100000   blobs and chunks in one bundle
  --max-total-size      256GiB   sum of the blob sizes the signed manifests declare
  --max-entries         100000   entries in one tar
  --max-objects-bytes   16MiB    each objects layer (YAML) read into memory
Sizes: 4G/4GiB are binary (1024³), 4GB decimal (1000³).`;

function limitOptions(cmd: Command): Command {
  return cmd
    .option('--max-json-bytes <size>', 'largest JSON document read into memory (default 4MiB)')
    .option('--max-blobs <n>', 'most blobs and chunks in one bundle (default 100000)')
    .option('--max-total-size <size>', 'largest total of declared blob sizes (default 256GiB)')
    .option('--max-entries <n>', 'most entries in one tar (default 100000)')
    .option('--max-objects-bytes <size>', 'largest objects layer read into memory (default 16MiB)');
}

/** usageFromCommander turns commander's parse errors into ValidationError (exit 1). */
export function usageFromCommander(err: unknown): unknown {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return undefined;
    return new ValidationError('USAGE', err.message.replace(/^error: /, ''), { cause: err });
  }
  return err;
}
