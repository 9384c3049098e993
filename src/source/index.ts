// Adapters that read the outside world and yield model objects.
export { DEFAULT_LOAD_OPTIONS, formatLoadError, loadObjects, loadObjectsOrThrow, parseObjects } from './kube.js';
export type { LoadError, LoadOptions } from './kube.js';
