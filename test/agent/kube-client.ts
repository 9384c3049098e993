// @kubernetes/client-node set up from an agent kubeconfig, with helpers that wait for informer state.
import { CustomObjectsApi, KubeConfig, makeInformer, type Informer, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';

export const LIB = { group: 'lib.projectsveltos.io', version: 'v1beta1' };

export interface Obj extends KubernetesObject {
  spec?: Record<string, any>;
  status?: Record<string, any>;
}

export function customApi(kubeconfigPath: string): { kc: KubeConfig; api: CustomObjectsApi } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kc, api: kc.makeApiClient(CustomObjectsApi) };
}

/** startInformer watches a namespaced lib.projectsveltos.io resource (list + watch, like the agent). */
export async function startInformer(kc: KubeConfig, api: CustomObjectsApi, namespace: string, plural: string, labelSelector?: string): Promise<Informer<Obj> & ObjectCache<Obj>> {
  const path = `/apis/${LIB.group}/${LIB.version}/namespaces/${namespace}/${plural}`;
  const informer = makeInformer<Obj>(
    kc,
    path,
    () => api.listNamespacedCustomObject({ ...LIB, namespace, plural, ...(labelSelector ? { labelSelector } : {}) }) as never,
    labelSelector,
  );
  await informer.start();
  return informer;
}

/**
 * waitFor resolves once `cond` holds, re-checking on every informer event; after 20 s it fails naming
 * what it waited for (a safety net, not a timing assertion).
 */
export function waitFor<T>(informers: Informer<Obj>[], cond: () => T | undefined | false, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      try {
        const v = cond();
        if (v) {
          done();
          resolve(v);
        }
      } catch (e) {
        done();
        reject(e);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${what}`));
    }, 20_000);
    const done = () => {
      clearTimeout(timer);
      for (const i of informers) {
        i.off('add', check);
        i.off('update', check);
        i.off('delete', check);
      }
    };
    for (const i of informers) {
      i.on('add', check);
      i.on('update', check);
      i.on('delete', check);
    }
    check();
  });
}
