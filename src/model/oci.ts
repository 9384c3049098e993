// OCI image-spec v1.1 data types and guards. Data only: no I/O.
// Reference: https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md

export type Digest = `sha256:${string}`;

export const MEDIA_TYPE_IMAGE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_IMAGE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_EMPTY_JSON = 'application/vnd.oci.empty.v1+json';
export const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_TYPE_LAYOUT_HEADER = 'application/vnd.oci.layout.header.v1+json';

export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';

/** Descriptor points at content by digest and size. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
  data?: string;
}

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The empty JSON config `{}` used by artifacts without a config. */
export const EMPTY_JSON_DESCRIPTOR: Descriptor = {
  mediaType: MEDIA_TYPE_EMPTY_JSON,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
};

export const isManifestMediaType = (m: string): boolean =>
  m === MEDIA_TYPE_IMAGE_MANIFEST || m === MEDIA_TYPE_DOCKER_MANIFEST;
export const isIndexMediaType = (m: string): boolean =>
  m === MEDIA_TYPE_IMAGE_INDEX || m === MEDIA_TYPE_DOCKER_MANIFEST_LIST;
