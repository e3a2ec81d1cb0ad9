import { SgdwalkError, deriveSeed, resolveLayers, silentLogger, type Logger } from '@sgdwalk/core';
import { supportsDoubleBackprop, type BackendName, type BackendRequest } from '@sgdwalk/model';
import { hessianOperator, type HessianInputs, type HvpMethod } from './hessian-vector.js';
import { lanczosTopEigenvalue } from './lanczos.js';
import { ensureBackend } from './sharpness-backend.js';

/**
 * Sharpness: the top eigenvalue of the Hessian of the training loss on a fixed subset, with respect to the
 * trainable parameters (the prefix [0, trainableSize) of the state; batch-norm buffers are not variables),
 * by Lanczos (lanczos.ts) on Hessian-vector products (hessian-vector.ts).
 */

export interface SharpnessResult {
  topEigenvalue: number;
  /** Hessian-vector products done (≤ the requested iterations: Lanczos stops early on an invariant subspace). */
  iterations: number;
  method: HvpMethod;
  /** The tfjs backend that computed the products. */
  backend: BackendName;
}

export interface SharpnessOptions extends HessianInputs {
  iterations: number;
  seed: number;
  log?: Logger;
  /** 'auto' (default): exact double backprop where verified for the model's layers, else finite differences. */
  method?: 'auto' | HvpMethod;
  /** tfjs backend request (default 'auto': tfjs-node, else wasm, else cpu). */
  backend?: BackendRequest;
}

/**
 * The top Hessian eigenvalue of the training loss on the subset at one checkpoint, by `iterations` steps of
 * Lanczos (start vector seeded by deriveSeed(seed, 'sharpness')).
 *
 * method 'auto' (default): exact Hessian-vector products by double backprop when every layer of the model
 * is one whose double backprop @sgdwalk/model has verified (supportsDoubleBackprop: not conv2d, pooling or
 * residual blocks), else — or if double backprop throws — central finite differences of gradients, with a
 * warning. Exact is
 * the one to want for ReLU networks: a finite-difference step that moves a ReLU input across 0 adds
 * (gradient jump)/ε to that product, and such crossings do not become rarer fast enough as ε shrinks.
 */
export async function computeSharpness(opts: SharpnessOptions): Promise<SharpnessResult> {
  const log = opts.log ?? silentLogger;
  const backend = await ensureBackend(opts.backend ?? 'auto', log);
  const requested = opts.method ?? 'auto';
  let method: HvpMethod = requested === 'auto' ? 'exact' : requested;
  if (requested === 'auto' && !supportsDoubleBackprop(resolveLayers(opts.model))) {
    const types = [...new Set(opts.model.layers.map((l) => l.type))].join(', ');
    log.warn(`sharpness: double backprop is not verified for every layer type of ${opts.model.name} (${types}); using finite differences of gradients`);
    method = 'finite-difference';
  }
  const op = hessianOperator(opts);
  let products = 0;
  let fellBackAfter = -1; // products done before exact failed
  const apply = (v: Float32Array): Float32Array => {
    products++;
    if (method === 'exact' && requested === 'auto') {
      try {
        return op.apply(v, 'exact');
      } catch (e) {
        log.warn(`sharpness: exact Hessian-vector product failed (${(e as Error).message.split('\n')[0]}); using finite differences of gradients`);
        method = 'finite-difference';
        fellBackAfter = products - 1;
      }
    }
    return op.apply(v, method);
  };
  const checkedApply = (v: Float32Array): Float32Array => {
    const hv = apply(v);
    for (let i = 0; i < hv.length; i++) {
      if (!Number.isFinite(hv[i])) throw new SgdwalkError(`sharpness: the Hessian-vector product is not finite (is the checkpoint's loss finite?)`, 'sharpness');
    }
    return hv;
  };
  try {
    const seed = deriveSeed(opts.seed, 'sharpness');
    let result = await lanczosTopEigenvalue(checkedApply, opts.layout.trainableSize, { iterations: opts.iterations, seed });
    // A failure after the first product leaves a mixed Krylov basis: start over with one method throughout.
    if (fellBackAfter > 0) {
      result = await lanczosTopEigenvalue(checkedApply, opts.layout.trainableSize, { iterations: opts.iterations, seed });
    }
    return { topEigenvalue: result.topEigenvalue, iterations: result.iterations, method, backend };
  } finally {
    op.dispose();
  }
}
