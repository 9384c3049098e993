// The command table: each command parses its flags and hands them to a thin function in commands/.
import { Command, CommanderError, Option } from 'commander';
import { ValidationError } from '../errors.js';
import type { CommandIO, GlobalOptions } from './io.js';
import { VERSION } from '../version.js';

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
    .version(VERSION, '-V, --version', 'print the version and exit')
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
                    sveltos-airgap serve --store /var/lib/sveltos-airgap --listen 0.0.0.0:5000 --tls-self-signed
                    sveltos-airgap agent-kubeconfig --store /var/lib/sveltos-airgap --cluster NS/NAME --server https://HOST:5000 --secret
  back out          sveltos-airgap report --store /var/lib/sveltos-airgap --out receipt.json --key site.key

Exit codes: 0 ok, 1 usage or input error, 2 verification or trust failure, 3 diff --exit-code found changes, 70 internal error.`,
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
    .command('rbac')
    .description('Print the read-only ClusterRole that --from-cluster needs (get and list of the Sveltos kinds, get of what profiles reference), and a binding')
    .option('--resource <resource.group>', 'also allow get of this resource (kinds your templateResourceRefs name, e.g. services or clusters.cluster.x-k8s.io); repeatable', collect, [])
    .option('--service-account <ns/name>', 'bind the role to this ServiceAccount')
    .option('--user <name>', 'bind the role to this user')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap rbac | kubectl apply -f -\n  sveltos-airgap rbac --service-account tools/airgap-exporter --resource services | kubectl apply -f -')
    .action(async (o: { resource: string[]; serviceAccount?: string; user?: string }, cmd: Command) => {
      const { rbac } = await import('./commands/rbac.js');
      await run(rbac({ ...globals(cmd), ...o }, io));
    });

  program
    .command('resolve')
    .description('Show, per cluster, the matched profiles and the ConfigurationGroups/Bundles that would be carried')
    .option('--from <dir>', 'directory (or file) of YAML/JSON objects, read recursively; repeatable', collect, [])
    .option('--from-cluster', "read SveltosClusters, profiles, sets and every object they reference from the management cluster's API server (get and list only; see sveltos-airgap rbac); --from objects replace the cluster's")
    .option('--kubeconfig <file>', 'with --from-cluster: the kubeconfig (default $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', "with --from-cluster: the kubeconfig context (default its current context)")
    .option('--cluster <ns/name>', 'only this cluster; repeatable', collect, [])
    .option('--images', 'list every image the configuration names (Helm charts are fetched and rendered for this), with the clusters, profiles, charts and objects using it')
    .option('--helm <path>', 'with --images: helm v3 binary (default $SVELTOS_AIRGAP_HELM, then PATH)')
    .option('--kustomize <path>', 'kustomize binary that builds kustomizationRefs, or kubectl (run as kubectl kustomize) (default $SVELTOS_AIRGAP_KUSTOMIZE, then kustomize, then kubectl on PATH)')
    .option('--kube-version <v>', "with --images: Kubernetes version charts are rendered for (default: the cluster's status.version, else v1.32.0)")
    .option('--offline', 'use only the local caches (remoteURLs; with --images, charts); fail on a miss')
    .option('--flux-artifact-host <host:port>', "read Flux sources that carry status.artifact (copied from the cluster) from source-controller's artifact server at HOST:PORT, checked against status.artifact.digest, instead of fetching them from git or their registry")
    .option('--cache-dir <dir>', 'remoteURL, chart and image cache directory (default $SVELTOS_AIRGAP_CACHE, else ~/.cache/sveltos-airgap)')
    .option('--sveltos-version <vX.Y.Z>', 'with syncMode ContinuousWithDriftDetection: carry the drift-detection-manager of this Sveltos release (fetched once into the cache)')
    .option('--drift-detection-manifest <file>', 'the drift-detection-manager manifest and the DebuggingConfiguration and ResourceSummary CRDs, instead of --sveltos-version; repeatable', collect, [])
    .option('--drift-detection-registry <host>', "addon-controller's --registry: replaces docker.io in the drift-detection-manager manifest")
    .option('--drift-detection-config <name>', "addon-controller's --drift-detection-config: ConfigMap of drift-detection-manager patches in projectsveltos (read from --from)")
    .addHelpText('after', '\nExamples:\n  sveltos-airgap resolve --from fleet/\n  sveltos-airgap resolve --from-cluster --context mgmt --output yaml\n  sveltos-airgap resolve --from fleet/ --cluster prod/cluster-a --output yaml\n  sveltos-airgap resolve --from fleet/ --images\n  sveltos-airgap resolve --from fleet/ --images --offline --output json | jq \'.images[].image\'')
    .action(async (o: { from: string[]; fromCluster?: boolean; kubeconfig?: string; context?: string; cluster: string[]; images?: boolean; helm?: string; kustomize?: string; kubeVersion?: string; offline?: boolean; cacheDir?: string; fluxArtifactHost?: string; sveltosVersion?: string; driftDetectionManifest?: string[]; driftDetectionRegistry?: string; driftDetectionConfig?: string }, cmd: Command) => {
      const { resolve } = await import('./commands/resolve.js');
      await run(resolve({ ...globals(cmd), ...o }, io));
    });

  program
    .command('export')
    .description('Resolve profiles for the target clusters, render Helm charts and pack everything into a signed bundle')
    .option('--from <dir>', 'directory (or file) of YAML/JSON objects, read recursively; repeatable', collect, [])
    .option('--from-cluster', "read SveltosClusters, profiles, sets and every object they reference from the management cluster's API server (get and list only; see sveltos-airgap rbac); --from objects replace the cluster's")
    .option('--kubeconfig <file>', 'with --from-cluster: the kubeconfig (default $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', "with --from-cluster: the kubeconfig context (default its current context)")
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
    .option('--helm <path>', 'helm v4 or v3 binary (default $SVELTOS_AIRGAP_HELM, then PATH)')
    .option('--kustomize <path>', 'kustomize binary that builds kustomizationRefs, or kubectl (run as kubectl kustomize) (default $SVELTOS_AIRGAP_KUSTOMIZE, then kustomize, then kubectl on PATH)')
    .option('--kube-version <v>', 'Kubernetes version charts are rendered for (default: the cluster\'s status.version, else v1.32.0)')
    .option('--offline', 'use only the local remoteURL, chart and image caches; fail on a miss')
    .option('--flux-artifact-host <host:port>', "read Flux sources that carry status.artifact (copied from the cluster) from source-controller's artifact server at HOST:PORT, checked against status.artifact.digest, instead of fetching them from git or their registry")
    .option('--cache-dir <dir>', 'remoteURL, chart and image cache directory (default $SVELTOS_AIRGAP_CACHE, else ~/.cache/sveltos-airgap; safe to delete)')
    .option('--include-images', 'copy every image the rendered objects and charts name into the bundle')
    .option('--platform <os/arch>', 'with --include-images: only these platforms of multi-platform images; repeatable', collect, [])
    .option('--no-referrers', "leave out what proves each OCI chart and, with --include-images, each image (cosign's sha256-<digest>.sig/.att/.sbom tags and the OCI referrers index tag), carried by default")
    .option('--referrer-type <mediaType>', 'carry only proofs of this media type (a cosign tag by its layers\' or artifact type, referrers index entries by artifactType), e.g. application/vnd.dev.cosign.simplesigning.v1+json; repeatable', collect, [])
    .option('--verify-images <key.pub>', "with --include-images: each image's cosign signature must verify with one of these public keys (ECDSA, RSA, Ed25519) before it is carried, else exit 2; repeatable", collect, [])
    .option('--verify-images-policy <file>', 'with --include-images: a YAML file mapping image globs to the public keys that must have signed them (rules: [{images: [GLOB], keys: [FILE]}], noMatch: deny|warn|allow); see README')
    .option('--registry-auth <file>', 'Docker config.json with registry credentials for charts and images')
    .option('--plain-http-registry <host>', 'reach this registry over plain HTTP; repeatable', collect, [])
    .option('--insecure-registry <host>', 'do not check this registry\'s TLS certificate; repeatable', collect, [])
    .option('--since <receipt>', 'a delta bundle: leave out every blob this site receipt (from report) says the site holds')
    .option('--site-key <file>', 'the site\'s public key that signs its receipts (with --since); repeatable', collect, [])
    .option('--split-size <size>', 'write media-sized parts NAME.partK-of-N.tar of at most SIZE (4G, 4.7GB, 25GB, fat32 = 4 GiB - 1)')
    .option('--encrypt-to <file>', 'encrypt carried Secrets to this site public key (X25519 or P-256); repeatable', collect, [])
    .option('--license <file>', 'the sveltos-license Secret (kubectl get secret sveltos-license -n projectsveltos -o yaml), relayed to every cluster as pull mode expects (default: that Secret in --from)')
    .option('--sveltos-version <vX.Y.Z>', 'with syncMode ContinuousWithDriftDetection: carry the drift-detection-manager of this Sveltos release (fetched once into the cache)')
    .option('--drift-detection-manifest <file>', 'the drift-detection-manager manifest and the DebuggingConfiguration and ResourceSummary CRDs, instead of --sveltos-version; repeatable', collect, [])
    .option('--drift-detection-registry <host>', "addon-controller's --registry: replaces docker.io in the drift-detection-manager manifest")
    .option('--drift-detection-config <name>', "addon-controller's --drift-detection-config: ConfigMap of drift-detection-manager patches in projectsveltos (read from --from)")
    .addHelpText(
      'after',
      '\nExamples:\n  sveltos-airgap export --from fleet/ --key signing.key --out bundle.tar --license sveltos-license.yaml\n  sveltos-airgap export --from-cluster --kubeconfig mgmt.kubeconfig --key signing.key --out bundle.tar\n  sveltos-airgap export --from-cluster --from overrides/ --cluster edge/store-12 --key signing.key --out bundle.tar\n  sveltos-airgap export --from fleet/ --key signing.key --out bundle.tar --split-size 4.7GB --encrypt-to site.pub\n  sveltos-airgap export --from fleet/ --key signing.key --out delta.tar --since site-receipt.json --site-key site.pub\n  sveltos-airgap export --from fleet/ --key signing.key --out bundle.tar --sequence 42 --expires 30d\n  sveltos-airgap export --from fleet/ --key signing.key --out bundle.tar --include-images --platform linux/amd64\n  sveltos-airgap export --from fleet/ --key signing.key --out bundle.tar --include-images --verify-images-policy image-keys.yaml\n  SOURCE_DATE_EPOCH=0 sveltos-airgap export --from fleet/ --key signing.key --out b.tar --sequence 1 --created-at 2026-01-01T00:00:00Z',
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { exportCommand } = await import('./commands/export.js');
      const { source, ...rest } = o;
      await run(exportCommand({ ...globals(cmd), ...(rest as unknown as ExportFlags), ...(typeof source === "string" ? { sourceText: source } : {}) }, io));
    });

  program
    .command('inspect')
    .description('List what a bundle holds: clusters, profiles, groups (and which are encrypted, to whom), charts, images, sizes, parts and signature facts (no trust decision)')
    .argument('<bundle...>', 'bundle tar, or parts of a split bundle')
    .option('--images', 'list every image the configuration names, with the clusters, profiles, releases and objects using it, and whether the bundle carries it')
    .option('--signatures', 'list only the signatures: key hint, note and time recorded by sign, and whether --key checked it')
    .option('--sbom', "print the bundle's SBOM (SPDX 2.3 JSON: every carried chart and image, and each cluster's configuration)")
    .option('--key <file>', 'check the signatures made by these public keys; repeatable', collect, [])
    .addHelpText('after', '\nExamples:\n  sveltos-airgap inspect bundle.tar\n  sveltos-airgap inspect bundle.tar --signatures --key signing.pub --key officer.pub\n  sveltos-airgap inspect bundle.tar --images\n  sveltos-airgap inspect bundle.part1-of-3.tar --output json | jq .clusters')
    .action(async (bundles: string[], o: { images?: boolean; signatures?: boolean; sbom?: boolean; key: string[] }, cmd: Command) => {
      const { inspect } = await import('./commands/inspect.js');
      await run(inspect({ ...globals(cmd), bundles, images: Boolean(o.images), signatures: Boolean(o.signatures), sbom: Boolean(o.sbom), key: o.key }, io));
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
      .option('--site-key-passphrase-env <var>', 'passphrase of an encrypted --site-key, from this environment variable')
      .option('--store <dir>', 'site store: blobs a delta bundle (export --since) leaves out are read from it, digest-verified (nothing is written)')
      .option('--threshold <n>', 'at least N distinct trusted keys (--key) must have signed (co-signatures: sign); default 1'),
  )
    .addHelpText('after', `\nExamples:\n  sveltos-airgap verify bundle.tar --key signing.pub\n  sveltos-airgap verify bundle.tar --key old.pub --key new.pub --output json\n  sveltos-airgap verify bundle.part2-of-3.tar --key signing.pub        # one part on its own\n  sveltos-airgap verify delta.tar --key signing.pub --store /var/lib/sveltos-airgap   # a delta, with the blobs the site holds\n${LIMITS_HELP}`)
    .action(async (bundles: string[], o: LimitFlags & { key: string[]; now?: string; strict?: boolean; siteKey: string[]; siteKeyPassphraseEnv?: string; store?: string; threshold?: string }, cmd: Command) => {
      const { verify } = await import('./commands/verify.js');
      await run(verify({ ...globals(cmd), bundles, ...o }, io));
    });

  program
    .command('sign')
    .description("Co-sign a bundle: add this key's signature over the statement it carries, in place and atomically (every part of a split bundle); sites require several with --threshold")
    .argument('<bundle...>', 'bundle tar, or every part of a split bundle')
    .requiredOption('--key <file>', "the officer's signing key (PREFIX.key from keygen)")
    .option('--passphrase-env <var>', 'environment variable holding the signing key passphrase')
    .option('--note <text>', 'a note recorded with the signature (shown by inspect; a label, not signed)')
    .option('--now <time>', 'signing time recorded (RFC 3339 or @epoch seconds; default now)')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap diff last.tar next.tar --key signing.pub     # review first\n  sveltos-airgap sign next.tar --key officer.key --note "CHG-1234 approved"\n  sveltos-airgap import next.tar --store DIR --key signing.pub --key officer.pub --threshold 2')
    .action(async (bundles: string[], o: { key: string; passphraseEnv?: string; note?: string; now?: string }, cmd: Command) => {
      const { sign } = await import('./commands/sign.js');
      await run(sign({ ...globals(cmd), bundles, ...o }, io));
    });

  limitOptions(
    program
      .command('diff')
      .description('Show what a bundle changes on each managed cluster: objects added, removed and changed (a unified YAML diff; Secrets show keys, never values), Helm releases, clusters, charts and images')
      .argument('[bundle...]', 'NEW.tar with --store; OLD.tar NEW.tar; none with --from/--against (a split bundle: its parts joined by commas)')
      .option('--store <dir>', 'compare NEW.tar with what this site store serves now (what importing it would change)')
      .option('--from <dir>', 'with --against: the next export of these inputs, planned and rendered but not packed; repeatable', collect, [])
      .option('--against <bundle>', 'with --from: the bundle the next export is compared with')
      .option('--cluster <ns/name>', 'with --from: only this cluster; repeatable', collect, [])
      .option('--key <file>', 'verify the bundles with this trusted public key first (exit 2 when they fail); without, the output says "unverified"; repeatable', collect, [])
      .option('--site-key <file>', "the site's private key: open encrypted objects (still showing Secret keys only); repeatable", collect, [])
      .option('--site-key-passphrase-env <var>', 'passphrase of an encrypted --site-key, from this environment variable')
      .option('--now <time>', 'verify as of this time (RFC 3339 or @epoch seconds)')
      .option('--no-diff', 'list changed objects by name, without their YAML diffs')
      .option('--exit-code', 'exit 3 when there are changes (0 when none)')
      .option('--helm <path>', 'with --from: helm binary (default $SVELTOS_AIRGAP_HELM, then PATH)')
      .option('--kustomize <path>', 'with --from: kustomize binary, or kubectl')
      .option('--kube-version <v>', 'with --from: Kubernetes version charts are rendered for')
      .option('--offline', 'with --from: use only the local caches')
      .option('--cache-dir <dir>', 'with --from: remoteURL, chart and image cache directory'),
  )
    .addHelpText('after', `\nExamples:\n  sveltos-airgap diff new.tar --store /var/lib/sveltos-airgap --key signing.pub       # inside: what importing changes\n  sveltos-airgap diff last.tar next.tar --key signing.pub --no-diff                   # before carrying\n  sveltos-airgap diff --from fleet/ --against last.tar --exit-code                      # in CI: did the inputs change?\n  sveltos-airgap diff last.tar next.tar --output json | jq '.clusters[] | select(.change != "unchanged") | .cluster'\n${LIMITS_HELP}`)
    .action(async (bundles: string[], o: Record<string, unknown>, cmd: Command) => {
      const { diff } = await import('./commands/diff.js');
      await run(diff({ ...globals(cmd), bundles, ...(o as object) } as Parameters<typeof diff>[0], io));
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
      .option('--site-key-passphrase-env <var>', 'passphrase of an encrypted --site-key, from this environment variable')
      .option('--to-registry <oci://host/prefix>', "also push the carried charts and images into the site's registry under this prefix")
      .option('--registry-credentials <file>', 'credentials for --to-registry: a Docker auth file (auths) or one line USER:PASSWORD')
      .option('--plain-http', 'talk http (not https) to --to-registry')
      .option('--apply', 'also write the served objects into the Kubernetes API server of --kubeconfig (with the Sveltos CRDs)')
      .option('--kubeconfig <file>', 'kubeconfig of the API server for --apply')
      .option('--threshold <n>', 'at least N distinct trusted keys (--key) must have signed (co-signatures: sign); default 1')
      .option('--dry-run', 'verify, then print what importing would change on each cluster (as diff NEW.tar --store DIR does); write nothing')
      .option('--no-diff', 'with --dry-run: changed objects by name, without their YAML diffs'),
  )
    .addHelpText(
      'after',
      `\nExamples:\n  sveltos-airgap import bundle.tar --store /var/lib/sveltos-airgap --key signing.pub\n  sveltos-airgap import bundle.part1-of-3.tar --store /var/lib/sveltos-airgap --key signing.pub   # later: the other parts\n  sveltos-airgap import bundle.tar --store /var/lib/sveltos-airgap --key signing.pub --to-registry oci://harbor.site:443/sveltos --registry-credentials auth.json\n  sveltos-airgap import bundle.tar --store /var/lib/sveltos-airgap --key signing.pub --apply --kubeconfig mgmt.kubeconfig\n\nAn import that is interrupted (killed, power cut, disk full) keeps what it verified; run it again to continue.\nExit code 1 with "incomplete" means parts are still missing: their verified blobs are kept.\n${LIMITS_HELP}`,
    )
    .action(async (bundles: string[], o: LimitFlags & { store: string; key: string[]; allowDowngrade?: boolean; requireCluster: string[]; now?: string; siteKey: string[]; siteKeyPassphraseEnv?: string; toRegistry?: string; registryCredentials?: string; plainHttp?: boolean; apply?: boolean; kubeconfig?: string; dryRun?: boolean; diff?: boolean; threshold?: string }, cmd: Command) => {
      const { importCommand } = await import('./commands/import.js');
      await run(importCommand({ ...globals(cmd), bundles, ...o }, io));
    });

  program
    .command('serve')
    .description('Serve a site store on one port: the agent API (Kubernetes-compatible, for the Sveltos pull agent) and the read-only OCI registry (/v2/)')
    .requiredOption('--store <dir>', 'site store directory')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:5000')
    .option('--tls-cert <file>', 'PEM certificate chain (serve HTTPS)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--print-mirror-config', 'print the containerd registry mirror configuration (hosts.toml per upstream registry) and exit')
    .option('--advertise <url>', 'URL the nodes reach this server at, for --print-mirror-config (default: from --listen)')
    .option('--tls-self-signed', 'serve HTTPS with a site CA and serving certificate kept in the store (made with openssl on first use)')
    .option('--tls-san <name>', 'extra DNS name or IP address for the self-signed certificate; repeatable', collect, [])
    .option('--site-key <file>', "the site's private key: encrypted objects (export --encrypt-to) are decrypted for the agents; repeatable", collect, [])
    .option('--site-key-passphrase-env <var>', 'passphrase of an encrypted --site-key, from this environment variable')
    .option('--ui-listen <[host:]port>', 'also serve the read-only status page (clusters, groups, agent status) on its own address; a port alone listens on 127.0.0.1')
    .option('--ui-token-file <file>', 'the status page requires this token (Authorization: Bearer TOKEN, or basic auth with TOKEN as the password)')
    .option('--blob-memory <size>', 'memory for blobs several clients download at once, written from memory instead of read from disk per download (e.g. 512M; 0 turns it off)', '128M')
    .addHelpText(
      'after',
      `
The agent API (Kubernetes-compatible, for the Sveltos pull agent) and the OCI registry (/v2/) share the port.
Charts and images are served under repositories named after their source: the registry host (a port
joined with "_"), then the path. docker.io/library/nginx:1.25 is <addr>/docker.io/library/nginx:1.25;
127.0.0.1:5000/team/app is <addr>/127.0.0.1_5000/team/app; an HTTP chart repository
https://charts.example.com/stable with chart web is <addr>/charts.example.com/stable/web (tag = version,
"+" written "_"). Images named by digest only are tagged sha256-<hex>.

Examples:
  sveltos-airgap serve --store /var/lib/sveltos-airgap --listen 0.0.0.0:5000 --tls-self-signed --tls-san airgap.example
  sveltos-airgap agent-kubeconfig --store /var/lib/sveltos-airgap --cluster rke2/cluster01 --server https://airgap.example:5000
  helm pull oci://127.0.0.1:5000/charts.example.com/stable/web --version 1.2.3 --plain-http
  skopeo copy --src-tls-verify=false docker://127.0.0.1:5000/docker.io/library/nginx:1.25 oci:nginx
  sveltos-airgap serve --store /var/lib/sveltos-airgap --print-mirror-config --advertise http://10.0.0.5:5000`,
    )
    .action(async (o: { store: string; listen: string; tlsCert?: string; tlsKey?: string; printMirrorConfig?: boolean; advertise?: string; tlsSelfSigned?: boolean; tlsSan: string[]; siteKey: string[]; siteKeyPassphraseEnv?: string; uiListen?: string; uiTokenFile?: string; blobMemory: string }, cmd: Command) => {
      const { serve } = await import('./commands/serve.js');
      await run(serve({ ...globals(cmd), ...o }, io));
    });

  program
    .command('agent-kubeconfig')
    .description("Issue a bearer token for a cluster's pull agent and print its kubeconfig (or the Secret <name>-sveltos-kubeconfig in projectsveltos); list or revoke issued tokens")
    .requiredOption('--store <dir>', 'site store directory (the token hashes are kept there)')
    .option('--cluster <ns/name>', 'the SveltosCluster the agent runs for (required to issue); with --list: only its tokens')
    .option('--server <url>', 'URL the agent reaches serve at, e.g. https://airgap.example:5000 (required to issue)')
    .option('--ca-file <file>', "CA certificate of the server (default: the store's CA from serve --tls-self-signed)")
    .option('--secret', 'print the Secret YAML instead of the kubeconfig')
    .option('--secret-out <file>', 'also write the Secret YAML to this file')
    .option('--kubeconfig-out <file>', 'also write the kubeconfig to this file (mode 0600)')
    .option('--list', 'list the issued tokens (id, cluster, creation time) instead of issuing one; tokens and their hashes are never shown')
    .option('--revoke <id|ns/name>', 'revoke the token with this id (from --list), or every token of cluster NS/NAME; repeatable', collect, [])
    .addHelpText(
      'after',
      `
Only a token's SHA-256 is kept in the store; the token itself is printed once, in the kubeconfig or Secret.
--revoke changes nothing when any id or cluster it names has no token. A running serve refuses a revoked
token within a second and ends its watches.

Examples:
  sveltos-airgap agent-kubeconfig --store /var/lib/sveltos-airgap --cluster rke2/cluster01 --server https://airgap.example:5000 --secret | kubectl apply -f -
  sveltos-airgap agent-kubeconfig --store /var/lib/sveltos-airgap --list
  sveltos-airgap agent-kubeconfig --store /var/lib/sveltos-airgap --list --cluster rke2/cluster01 --output json
  sveltos-airgap agent-kubeconfig --store /var/lib/sveltos-airgap --revoke 3f9a61c0d2b7
  sveltos-airgap agent-kubeconfig --store /var/lib/sveltos-airgap --revoke rke2/cluster01 --revoke edge/store-07`,
    )
    .action(async (o: { store: string; cluster?: string; server?: string; caFile?: string; secret?: boolean; secretOut?: string; kubeconfigOut?: string; list?: boolean; revoke: string[] }, cmd: Command) => {
      const { agentKubeconfigCommand } = await import('./commands/agent-kubeconfig.js');
      await run(agentKubeconfigCommand({ ...globals(cmd), ...o }, io));
    });

  program
    .command('apply')
    .description("Write the store's served objects into a Kubernetes API server (as import --apply does); run again to finish removals the agents reported")
    .requiredOption('--store <dir>', 'site store directory')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the API server (with the Sveltos CRDs)')
    .option('--cluster <ns/name>', 'only this cluster; repeatable', collect, [])
    .option('--site-key <file>', "the site's private key: encrypted objects (export --encrypt-to) are decrypted; repeatable", collect, [])
    .option('--site-key-passphrase-env <var>', 'passphrase of an encrypted --site-key, from this environment variable')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap apply --store /var/lib/sveltos-airgap --kubeconfig mgmt.kubeconfig')
    .action(async (o: { store: string; kubeconfig: string; cluster: string[]; siteKey: string[]; siteKeyPassphraseEnv?: string }, cmd: Command) => {
      const { applyCommand } = await import('./commands/apply.js');
      await run(applyCommand({ ...globals(cmd), ...o }, io));
    });

  program
    .command('report')
    .description('Write a signed receipt of the site: blobs held, highest sequence, per cluster the agent status of each group, heartbeat and drift reports')
    .requiredOption('--store <dir>', 'site store directory')
    .requiredOption('--out <file>', 'receipt file to write (a Sigstore bundle)')
    .requiredOption('--key <file>', 'site signing key (PREFIX.key from keygen)')
    .option('--passphrase-env <var>', 'environment variable holding the key passphrase')
    .option('--site <name>', 'name of the site, written into the receipt')
    .option('--now <time>', 'receipt time (RFC 3339 or @epoch seconds) instead of the clock')
    .addHelpText('after', '\nExamples:\n  sveltos-airgap report --store /var/lib/sveltos-airgap --out receipt.json --key site.key\n  sveltos-airgap export … --since receipt.json --site-key site.pub')
    .action(async (o: { store: string; out: string; key: string; passphraseEnv?: string; site?: string; now?: string }, cmd: Command) => {
      const { reportCommand } = await import('./commands/report.js');
      await run(reportCommand({ ...globals(cmd), ...o }, io));
    });

  program
    .command('inspect-receipt')
    .description('Verify a site receipt with the site public key and show it (exit 2 when the signature does not verify)')
    .argument('<receipt>', 'receipt file from report')
    .option('--key <file>', 'site public key (PREFIX.pub); repeat for several', collect, [])
    .option('--html <file>', "also write the site's status page as of the receipt: one self-contained HTML file that opens from file://")
    .addHelpText('after', '\nExamples:\n  sveltos-airgap inspect-receipt receipt.json --key site.pub\n  sveltos-airgap inspect-receipt receipt.json --key site.pub --html site-status.html\n  sveltos-airgap inspect-receipt receipt.json --key site.pub --output json | jq .predicate.clusters')
    .action(async (receipt: string, o: { key: string[]; html?: string }, cmd: Command) => {
      const { inspectReceipt } = await import('./commands/inspect-receipt.js');
      await run(inspectReceipt({ ...globals(cmd), receipt, ...o }, io));
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
