export declare const HELM_VERSION: string;
export declare function zipEntry(zip: Buffer, name: string): Buffer;
export declare function ensureHelm(root: string): Promise<string>;
