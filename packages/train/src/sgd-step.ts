import { flattenLayers, type ResolvedLayer, type ResolvedLayerOf, type TrainConfig } from '@sgdwalk/core';
import { correctCount, crossEntropy, forwardLogits, matMulOfConstantInput, matMulTwiceDifferentiable, tf, type BatchStats, type DeviceState } from '@sgdwalk/model';

/** What one step measured (scalars, read back in one transfer). */
export interface StepReadout {
  loss: number;
  correct: number;
  gradNorm: number;
  /** g_t · g_{t−1}; NaN on the first step. */
  gradDotPrevious: number;
  updateNorm: number;
  distanceFromInit: number;
}

/** What a step needs besides θ and the buffers to continue exactly: g_{t−1} (for the cosine) and v. */
export interface OptimizerSnapshot {
  previousGrad: Float32Array | null;
  previousGradNorm: number;
  velocity: Float32Array | null;
}

/**
 * ‖x‖ as √(Σ x²). tf.norm computes |x|^2 with Abs and Pow, each a full pass, and Pow is a slow scalar
 * loop on wasm (~15 ms for the MLP's θ, three times a step); Square is one SIMD pass.
 */
function euclideanNorm(x: tf.Tensor1D): tf.Scalar {
  return tf.sqrt(tf.sum(tf.square(x))) as tf.Scalar;
}

/**
 * Plain SGD as PyTorch defines it (which the study used): d = g + λθ; v = μv + d (v = d at first);
 * θ ← θ − ηv. g is the minibatch cross-entropy gradient at θ_{t−1} with batch-norm in batch-statistics
 * mode; the running statistics then move by (1 − m)·r + m·batch (unbiased variance), as in PyTorch.
 */
export class SgdStepper {
  private previousGrad: tf.Tensor1D | null = null;
  private velocity: tf.Tensor1D | null = null;
  private readonly theta0: tf.Tensor1D;
  private readonly valueAndGrad: (theta: tf.Tensor1D) => { value: tf.Scalar; grad: tf.Tensor1D };
  private kept: { stats: Map<string, BatchStats>; correct: tf.Scalar | null } = { stats: new Map(), correct: null };
  private x: tf.Tensor2D | null = null;
  /**
   * On wasm, a product whose gradient transposes explicitly instead of using matMul's transpose flags
   * (which leave XNNPACK's fast path): same values to float32 rounding, the step ~2× faster. Elsewhere
   * the plain tf.matMul is faster.
   */
  private readonly matMul = tf.getBackend() === 'wasm' ? matMulTwiceDifferentiable : tf.matMul;
  /** The first dense layer's product on wasm skips dL/d(batch) (tf.matMul's own gradient is lazy already). */
  private readonly inputMatMul = tf.getBackend() === 'wasm' ? matMulOfConstantInput : tf.matMul;
  private labels: tf.Tensor1D | null = null;
  private oneHot: tf.Tensor2D | null = null;
  /** Every BN layer by name, residual blocks' included ("res1.bn0"): the forward pass records stats under these. */
  private readonly batchnorms: Map<string, ResolvedLayerOf<'batchnorm'>>;

  constructor(
    private readonly layers: ResolvedLayer[],
    private readonly state: DeviceState,
    private readonly config: Pick<TrainConfig, 'lr' | 'momentum' | 'weightDecay'>,
    private readonly classes: number,
    /** θ_0's trainable part, when the state is not θ_0 (a resumed run); default: the state's θ. */
    theta0?: Float32Array,
  ) {
    this.batchnorms = new Map(flattenLayers(layers).flatMap((l) => (l.type === 'batchnorm' ? [[l.name, l] as const] : [])));
    this.theta0 = theta0 ? tf.tensor1d(theta0) : (tf.keep(tf.clone(state.theta)) as tf.Tensor1D);
    this.valueAndGrad = tf.valueAndGrad((theta: tf.Tensor1D) => {
      const logits = forwardLogits(this.layers, this.state.lookup(theta), this.x!, 'batch', this.kept.stats, { matMul: this.matMul, inputMatMul: this.inputMatMul });
      // valueAndGrad disposes what the forward pass made; keep what the step reads afterwards.
      this.kept.correct = tf.keep(correctCount(logits, this.labels!));
      for (const s of this.kept.stats.values()) {
        tf.keep(s.mean);
        tf.keep(s.variance);
      }
      return crossEntropy(logits, this.oneHot!);
    }) as (theta: tf.Tensor1D) => { value: tf.Scalar; grad: tf.Tensor1D };
  }

  /**
   * One SGD step on the minibatch (x: [B, features] normalised, images flattened H, W, C; labels: [B]).
   * Asynchronous because its readout is: WebGPU in Node has no synchronous read (tfjs's readSync goes
   * through an OffscreenCanvas), and on the CPU backends the awaited read costs nothing measurable.
   */
  async step(x: Float32Array, labels: Int32Array): Promise<StepReadout> {
    const batch = labels.length;
    const { lr, momentum, weightDecay } = this.config;
    const stacked = tf.tidy(() => {
      this.x = tf.tensor2d(x, [batch, x.length / batch]);
      this.labels = tf.tensor1d(labels, 'int32');
      this.oneHot = tf.cast(tf.oneHot(this.labels, this.classes), 'float32') as tf.Tensor2D;
      const { value: loss, grad } = this.valueAndGrad(this.state.theta);
      const theta = this.state.theta;
      let direction: tf.Tensor1D = weightDecay > 0 ? tf.add<tf.Tensor1D>(grad, tf.mul(theta, weightDecay)) : grad;
      if (momentum > 0) {
        direction = this.velocity ? tf.add<tf.Tensor1D>(tf.mul(this.velocity, momentum), direction) : direction;
        this.velocity?.dispose();
        // The velocity must own its tensor: at the first step without weight decay `direction` is `grad`,
        // which is disposed as the previous gradient one step later.
        this.velocity = tf.keep(direction === grad ? tf.clone(direction) : direction);
      }
      const next: tf.Tensor1D = tf.sub(theta, tf.mul(direction, lr));
      const updateNorm = euclideanNorm(tf.sub(next, theta));
      theta.assign(next);
      for (const [name, { mean, variance }] of this.kept.stats) this.updateRunningStats(name, mean, variance, batch);
      const gradDot = this.previousGrad ? tf.sum(tf.mul(grad, this.previousGrad)) : tf.scalar(NaN);
      this.previousGrad?.dispose();
      this.previousGrad = tf.keep(grad);
      return tf.stack([loss, this.kept.correct!, euclideanNorm(grad), gradDot, updateNorm, euclideanNorm(tf.sub(theta, this.theta0))]);
    });
    const values = await stacked.data();
    stacked.dispose();
    this.releaseKept();
    return { loss: values[0], correct: values[1], gradNorm: values[2], gradDotPrevious: values[3], updateNorm: values[4], distanceFromInit: values[5] };
  }

  /** The optimizer's state after the last step, downloaded (for the resume journal). */
  async snapshot(previousGradNorm: number): Promise<OptimizerSnapshot> {
    return {
      previousGrad: this.previousGrad ? Float32Array.from((await this.previousGrad.data()) as Float32Array) : null,
      previousGradNorm,
      velocity: this.velocity ? Float32Array.from((await this.velocity.data()) as Float32Array) : null,
    };
  }

  /** Continue from a snapshot: the next step computes exactly what it would have without the interruption. */
  restore(snapshot: OptimizerSnapshot): void {
    this.previousGrad?.dispose();
    this.velocity?.dispose();
    this.previousGrad = snapshot.previousGrad ? tf.tensor1d(snapshot.previousGrad) : null;
    this.velocity = snapshot.velocity ? tf.tensor1d(snapshot.velocity) : null;
  }

  /**
   * PyTorch's update: the batch variance made unbiased over the values each statistic was taken from,
   * n = batch for [N, F] activations and n = batch·H·W for a channel of [N, H, W, C] images (BatchNorm2d).
   */
  private updateRunningStats(bnName: string, mean: tf.Tensor1D, variance: tf.Tensor1D, batch: number): void {
    const layer = this.batchnorms.get(bnName);
    if (!layer) throw new Error(`batch statistics recorded for ${bnName}, which is no batchnorm layer of the model`);
    const m = layer.momentum;
    const n = batch * layer.inShape.slice(0, -1).reduce((a, b) => a * b, 1);
    const runningMean = this.state.buffers.get(`${bnName}.running_mean`)!;
    const runningVar = this.state.buffers.get(`${bnName}.running_var`)!;
    runningMean.assign(tf.add(tf.mul(runningMean, 1 - m), tf.mul(mean, m)));
    runningVar.assign(tf.add(tf.mul(runningVar, 1 - m), tf.mul(variance, (m * n) / Math.max(n - 1, 1))));
  }

  private releaseKept(): void {
    this.kept.correct?.dispose();
    for (const s of this.kept.stats.values()) {
      s.mean.dispose();
      s.variance.dispose();
    }
    this.kept = { stats: new Map(), correct: null };
  }

  dispose(): void {
    this.theta0.dispose();
    this.previousGrad?.dispose();
    this.velocity?.dispose();
  }
}
