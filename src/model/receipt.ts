// The site receipt (`report`): what a site holds and what its agents reported, signed by the site key
// as an in-toto Statement in a Sigstore bundle, like a bundle's signature. Data only.

export const PREDICATE_TYPE_RECEIPT = 'https://projectsveltos.io/airgap/receipt/v1';

/** ReceiptGroup is one ConfigurationGroup as served, with the status its agent wrote. */
export interface ReceiptGroup {
  name: string;
  /** `kind|name|feature` of the requestor (ClusterSummary). */
  requestor: string;
  action: string;
  generation: number;
  status?: string;
  failureMessage?: string;
  observedGeneration?: number;
  lastAppliedTime?: string;
  /** The group is deleted and waits for the agent's finalizer. */
  deleting?: boolean;
  /** spec.tier (Sveltos's default is 100). */
  tier?: number;
  /** spec.sourceRef: the profile that deploys it, `Kind [namespace/]name`. */
  profile?: string;
}

/** ReceiptDrift is a ResourceSummary the agent wrote (drift detection). */
export interface ReceiptDrift {
  name: string;
  annotations?: Record<string, string>;
  status?: Record<string, unknown>;
}

/** ReceiptCluster is what one cluster's agent reported. */
export interface ReceiptCluster {
  cluster: string;
  /** Sequence and manifest of the import the cluster is served from. */
  sequence: number;
  manifest: string;
  heartbeat?: { ready?: boolean; version?: string; agentLastReportTime?: string; failureMessage?: string };
  /** The labels of its SveltosCluster, as served. */
  labels?: Record<string, string>;
  groups: ReceiptGroup[];
  driftReports: ReceiptDrift[];
}

/** ReceiptImport is one import of the site's history, as its status page shows it. */
export interface ReceiptImport {
  sequence: number;
  importedAt: string;
  createdAt: string;
  /** Key hint of the bundle's signer. */
  signer: string;
  source: string;
  bytes?: number;
  clusters: string[];
}

/** RECEIPT_IMPORTS_MAX: a receipt carries the site's last imports, at most this many. */
export const RECEIPT_IMPORTS_MAX = 50;

export interface ReceiptPredicate {
  createdAt: string;
  /** Free text naming the site (`report --site`). */
  site: string;
  highestSequence: number;
  /** Every blob digest the store holds, sorted: the next export leaves these out. */
  blobs: string[];
  clusters: ReceiptCluster[];
  /** The last imports, oldest first (absent in receipts of earlier versions). */
  imports?: ReceiptImport[];
}

export interface ReceiptStatement {
  _type: 'https://in-toto.io/Statement/v1';
  /** The store's state.json and every imported bundle root. */
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: typeof PREDICATE_TYPE_RECEIPT;
  predicate: ReceiptPredicate;
}
