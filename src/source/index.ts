// Adapters that read the outside world and yield model objects.
export { DEFAULT_LOAD_OPTIONS, formatLoadError, loadObjects, loadObjectsOrThrow, parseObjects } from './kube.js';
export type { LoadError, LoadOptions } from './kube.js';
export { ChartCache, ChartError, chartAccess, defaultCacheDir, fetchChart, pickVersion, repositoryFromURL } from './helm.js';
export type { ChartFetchOptions, ChartRequest, FetchedChart, RegistryCredentialsConfig } from './helm.js';
export { DEFAULT_KUBE_VERSION, HELM_ENV, HelmError, findHelm, helmTemplate, mergeHelmValues, renderChart } from './helm-render.js';
export { RenderCache, type RenderInputs } from './render-cache.js';
export type { RenderOptions } from './helm-render.js';
export { describeImage, ImageCache, ImageResolver, loadDockerConfig, servedReference, servedRepository } from './images.js';
export { ProcessRunner } from './process-runner.js';
export type { ProcessResult, RunOptions } from './process-runner.js';
export type { CarriedImage, RegistryAccess } from './images.js';
