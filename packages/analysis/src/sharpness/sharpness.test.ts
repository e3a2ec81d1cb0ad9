import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, initialState, parameterLayout, resolveLayers, silentLogger, type LayerSpec, type ModelSpec, distance, norm } from '@sgdwalk/core';
import { DeviceState, forwardLogits, selectBackend, tf } from '@sgdwalk/model';
import { FD_RELATIVE_STEP, hessianOperator } from './hessian-vector.js';
import { lanczosTopEigenvalue, tridiagonalTopEigenvalue } from './lanczos.js';
import { computeSharpness } from './sharpness.js';

/** Every eigenvalue of a dense symmetric matrix, by cyclic Jacobi rotations in float64 (the reference). */
function symmetricEigenvalues(matrix: number[][]): number[] {
  const n = matrix.length;
  const a = matrix.map((row) => [...row]);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += a[i][j] ** 2;
        if (i !== j) off += a[i][j] ** 2;
      }
    }
    if (off <= 1e-28 * total) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        if (a[p][q] === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((row, i) => row[i]).sort((x, y) => y - x);
}

/** ‖a − b‖ / ‖b‖. */
const relativeNorm = (a: ArrayLike<number>, b: ArrayLike<number>): number => distance(a, b) / norm(b);

function randomSubset(count: number, features: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  return {
    x: Float32Array.from({ length: count * features }, () => rng.normal()),
    labels: Int32Array.from({ length: count }, () => rng.int(classes)),
    count,
  };
}

function spec(inputs: number, classes: number, layers: LayerSpec[]): ModelSpec {
  return { name: 'test', inputShape: [inputs], classes, layers: [...layers, { type: 'softmax-cross-entropy' }] };
}

describe('tridiagonalTopEigenvalue', () => {
  it('finds 2 + 2cos(π/(k+1)) for the k×k matrix tridiag(1, 2, 1), and a 1×1 matrix exactly', () => {
    for (const k of [1, 2, 5, 30]) {
      const top = tridiagonalTopEigenvalue(new Array(k).fill(2), new Array(k - 1).fill(1));
      expect(top).toBeCloseTo(k === 1 ? 2 : 2 + 2 * Math.cos(Math.PI / (k + 1)), 12);
    }
    expect(tridiagonalTopEigenvalue([-3.5], [])).toBe(-3.5);
    // [[1, 2], [2, 1]] has eigenvalues 3 and −1.
    expect(tridiagonalTopEigenvalue([1, 1], [2])).toBeCloseTo(3, 12);
  });
});

describe('lanczosTopEigenvalue on a quadratic ½θᵀAθ (H = A, known spectrum)', () => {
  // A = R·diag(λ)·Rᵀ with R a Householder reflection, so A is dense and its eigenvalues are exactly λ.
  const n = 40;
  function operator(eigenvalues: number[]) {
    const rng = new Rng(11);
    const u = Array.from({ length: n }, () => rng.normal());
    const uu = u.reduce((s, x) => s + x * x, 0);
    const reflect = (v: ArrayLike<number>): Float64Array => {
      const c = (2 * Array.from(v).reduce((s, x, i) => s + x * u[i], 0)) / uu;
      return Float64Array.from(v, (x, i) => x - c * u[i]);
    };
    let products = 0;
    const apply = (v: Float32Array): Float32Array => {
      products++;
      const r = reflect(v);
      return Float32Array.from(reflect(r.map((x, i) => x * eigenvalues[i])));
    };
    return { apply, products: () => products };
  }

  it('returns the largest algebraic eigenvalue, not the largest in magnitude', async () => {
    // Top 10, next 9; a −25 beyond it in magnitude (power iteration would find that one).
    const eigenvalues = Array.from({ length: n }, (_, i) => (i === 0 ? 10 : i === 1 ? 9 : i === 2 ? -25 : -2 + 0.15 * i));
    const { apply } = operator(eigenvalues);
    const result = await lanczosTopEigenvalue(apply, n, { iterations: 25, seed: 3 });
    expect(result.iterations).toBe(25);
    expect(Math.abs(result.topEigenvalue - 10) / 10).toBeLessThan(1e-3);
    expect(result.history).toHaveLength(25);
    // Ritz values only grow towards λ_max (interlacing).
    for (let i = 1; i < result.history.length; i++) expect(result.history[i]).toBeGreaterThanOrEqual(result.history[i - 1] - 1e-9);
  });

  it('stops once the Krylov space is invariant (3 distinct eigenvalues: 3 products)', async () => {
    const eigenvalues = Array.from({ length: n }, (_, i) => [4, 1, -0.5][i % 3]);
    const { apply, products } = operator(eigenvalues);
    const result = await lanczosTopEigenvalue(apply, n, { iterations: 20, seed: 1 });
    expect(result.iterations).toBe(3);
    expect(products()).toBe(3);
    expect(result.topEigenvalue).toBeCloseTo(4, 5);
  });

  it('is deterministic in its seed, and never runs more than n products', async () => {
    const eigenvalues = Array.from({ length: n }, (_, i) => Math.cos(i));
    const a = await lanczosTopEigenvalue(operator(eigenvalues).apply, n, { iterations: 6, seed: 7 });
    const b = await lanczosTopEigenvalue(operator(eigenvalues).apply, n, { iterations: 6, seed: 7 });
    expect(a.topEigenvalue).toBe(b.topEigenvalue);
    const small = await lanczosTopEigenvalue((v) => Float32Array.from(v, (x, i) => x * (i + 1)), 3, { iterations: 10, seed: 7 });
    expect(small.iterations).toBeLessThanOrEqual(3);
    expect(small.topEigenvalue).toBeCloseTo(3, 5);
  });
});

describe('Hessian of the training loss with TensorFlow.js', () => {
  beforeAll(async () => {
    await selectBackend('auto', silentLogger);
  });

  /**
   * Softmax regression (one dense layer, no BN): with x̃ = [x; 1] and p the softmax of example i,
   * ∂²L/∂θ(r,c)∂θ(s,e) = mean_i x̃_r x̃_s (p_c δ_ce − p_c p_e), θ(r,c) = W[r][c] (r < d), b[c] (r = d) —
   * exactly the layout's order (weight [d, C] row-major, then bias).
   */
  function softmaxRegressionHessian(state: Float32Array, x: Float32Array, count: number, d: number, classes: number): number[][] {
    const n = (d + 1) * classes;
    const h = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < count; i++) {
      const xt = [...x.subarray(i * d, (i + 1) * d), 1];
      const z = Array.from({ length: classes }, (_, c) => xt.reduce((s, xr, r) => s + xr * state[r * classes + c], 0));
      const m = Math.max(...z);
      const e = z.map((zc) => Math.exp(zc - m));
      const sum = e.reduce((s, v) => s + v, 0);
      const p = e.map((v) => v / sum);
      for (let r = 0; r <= d; r++) {
        for (let c = 0; c < classes; c++) {
          for (let s = 0; s <= d; s++) {
            for (let f = 0; f < classes; f++) {
              h[r * classes + c][s * classes + f] += (xt[r] * xt[s] * ((c === f ? p[c] : 0) - p[c] * p[f])) / count;
            }
          }
        }
      }
    }
    return h;
  }

  it('finds the top eigenvalue of softmax regression, by the closed-form Hessian (exact and finite-difference)', async () => {
    const d = 4;
    const classes = 3;
    const model = spec(d, classes, [{ type: 'dense', units: classes }]);
    const layout = parameterLayout(model);
    expect(layout.trainableSize).toBe(15);
    const state = initialState(layout, 5);
    const subset = randomSubset(10, d, classes, 9);
    const reference = symmetricEigenvalues(softmaxRegressionHessian(state, subset.x, subset.count, d, classes))[0];
    // Batches of 4, 4 and 2: the loss is their example-weighted mean, so batching changes nothing here.
    const common = { model, layout, state, ...subset, batchSize: 4, iterations: 15, seed: 2 };
    const exact = await computeSharpness(common);
    expect(exact.method).toBe('exact');
    expect(Math.abs(exact.topEigenvalue - reference) / reference).toBeLessThan(1e-3);
    expect(exact.iterations).toBeLessThanOrEqual(15);
    const fd = await computeSharpness({ ...common, method: 'finite-difference' });
    expect(fd.method).toBe('finite-difference');
    expect(Math.abs(fd.topEigenvalue - reference) / reference).toBeLessThan(1e-3);
  });

  const mlp = spec(5, 3, [
    { type: 'dense', units: 6 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'dense', units: 4 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'dense', units: 3 },
  ]);
  const mlpLayout = parameterLayout(mlp);
  const mlpState = initialState(mlpLayout, 4);
  const mlpSubset = randomSubset(24, 5, 3, 21);

  it('matches the top eigenvalue of the explicit Hessian of a BN-MLP (built column by column from exact products)', async () => {
    const n = mlpLayout.trainableSize;
    expect(n).toBe(99);
    const op = hessianOperator({ model: mlp, layout: mlpLayout, state: mlpState, ...mlpSubset, batchSize: 12 });
    const columns: number[][] = [];
    for (let j = 0; j < n; j++) {
      const e = new Float32Array(n);
      e[j] = 1;
      columns.push(Array.from(op.apply(e, 'exact')));
    }
    op.dispose();
    // The exact Hessian is symmetric (to float32 rounding): a term dropped by double backprop would break that.
    let asym = 0;
    let size = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        asym += (columns[i][j] - columns[j][i]) ** 2;
        size += columns[i][j] ** 2;
      }
    }
    expect(Math.sqrt(asym / size)).toBeLessThan(1e-4);
    const symmetric = columns.map((row, i) => row.map((v, j) => 0.5 * (v + columns[j][i])));
    const reference = symmetricEigenvalues(symmetric)[0];
    const result = await computeSharpness({ model: mlp, layout: mlpLayout, state: mlpState, ...mlpSubset, batchSize: 12, iterations: 40, seed: 0 });
    expect(result.method).toBe('exact');
    expect(Math.abs(result.topEigenvalue - reference) / Math.abs(reference)).toBeLessThan(1e-3);
  });

  it('agrees with finite differences of gradients on a BN-MLP where the step crosses no ReLU kink', () => {
    const batchSize = 12;
    const op = hessianOperator({ model: mlp, layout: mlpLayout, state: mlpState, ...mlpSubset, batchSize });
    const rng = new Rng(8);
    const v = Float32Array.from({ length: mlpLayout.trainableSize }, () => rng.normal());
    const exact = op.apply(v, 'exact');
    const fd = op.apply(v, 'finite-difference');
    op.dispose();
    // Finite differences are only meaningful if θ ± εv puts every ReLU input on the same side of 0: a
    // crossing adds (gradient jump)/2ε to the estimate. Check that precondition holds for this case.
    const layers = resolveLayers(mlp);
    const device = new DeviceState(mlpLayout, mlpState);
    const flips = tf.tidy(() => {
      const norm = (t: tf.Tensor) => tf.norm(t).dataSync()[0];
      const vt = tf.tensor1d(v);
      const eps = (FD_RELATIVE_STEP * Math.max(norm(device.theta), 1)) / norm(vt);
      const plus = tf.add(device.theta, tf.mul(vt, eps)) as tf.Tensor1D;
      const minus = tf.sub(device.theta, tf.mul(vt, eps)) as tf.Tensor1D;
      let count = 0;
      for (let start = 0; start < mlpSubset.count; start += batchSize) {
        const xb = tf.tensor2d(mlpSubset.x.subarray(start * 5, (start + batchSize) * 5), [batchSize, 5]);
        for (const upTo of layers.flatMap((l, i) => (l.type === 'relu' ? [i] : []))) {
          const a = forwardLogits(layers.slice(0, upTo), device.lookup(plus), xb, 'batch').dataSync();
          const b = forwardLogits(layers.slice(0, upTo), device.lookup(minus), xb, 'batch').dataSync();
          for (let i = 0; i < a.length; i++) if (a[i] > 0 !== b[i] > 0) count++;
        }
      }
      return count;
    });
    device.dispose();
    expect(flips).toBe(0);
    expect(relativeNorm(fd, exact)).toBeLessThan(1e-2);
  });

  it('leaks no tensors and is deterministic in its seed', async () => {
    const opts = { model: mlp, layout: mlpLayout, state: mlpState, ...mlpSubset, batchSize: 10, iterations: 8, seed: 5 };
    await computeSharpness(opts); // the backend's one-time allocations
    const live = tf.memory().numTensors;
    const a = await computeSharpness(opts);
    const b = await computeSharpness({ ...opts, method: 'finite-difference' });
    expect(tf.memory().numTensors).toBe(live);
    const again = await computeSharpness(opts);
    expect(again.topEigenvalue).toBe(a.topEigenvalue);
    expect(a.iterations).toBe(8);
    expect(b.iterations).toBe(8);
    expect(a.topEigenvalue).toBeGreaterThan(0);
  });

  it('names a non-finite state instead of returning NaN', async () => {
    const state = mlpState.slice();
    state[0] = NaN;
    await expect(computeSharpness({ model: mlp, layout: mlpLayout, state, ...mlpSubset, batchSize: 24, iterations: 3, seed: 0 })).rejects.toThrow(/not finite/);
  });
});
