import type { Logger } from '@sgdwalk/core';
import { selectBackend, tf, type BackendName, type BackendRequest } from '@sgdwalk/model';

/**
 * The tfjs backend the sharpness products run on: @sgdwalk/model's selection, made once per request per
 * process (it logs its choice once) and cached here, then made current before each use.
 */
const backends = new Map<BackendRequest, Promise<BackendName>>();

export function ensureBackend(request: BackendRequest, log: Logger): Promise<BackendName> {
  let chosen = backends.get(request);
  if (!chosen) {
    chosen = selectBackend(request, log, { purpose: 'sharpness', field: 'analyze.sharpness' });
    chosen.catch(() => backends.delete(request));
    backends.set(request, chosen);
  }
  return chosen.then(async (name) => {
    if (tf.getBackend() !== name) await tf.setBackend(name);
    return name;
  });
}
