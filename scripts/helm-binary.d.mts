export declare const HELM_VERSION: string;
export declare function zipEntry(zip: Buffer, name: string): Buffer;
export declare const HELM3_VERSION: string;
export declare function ensureHelm(root: string, major?: 3 | 4): Promise<string>;
export declare const KUBECTL_VERSION: string;
export declare function ensureKubectl(root: string): Promise<string>;
