import type { ParameterLayout, ResolvedLayer, StepMetrics, TrainConfig } from '@sgdwalk/core';
import { labelsOf, toFloat32, type DatasetMeta, type MinibatchSchedule, type SplitData } from '@sgdwalk/data';
import { DeviceState } from '@sgdwalk/model';
import { SgdStepper, type OptimizerSnapshot, type StepReadout } from './sgd-step.js';

/** A step's metrics row; an anchored run adds the hash of the state after the step. */
export type TrainingRow = StepMetrics & { stateSha256?: string };

/**
 * The one piece of code that takes a training step: the schedule's minibatch of `step`, normalised, then
 * one SGD step. Training and replay (replay.ts) both go through it, so a replayed trajectory cannot drift
 * from the trained one by a difference in how a step is fed.
 */
export class TrainingSteps {
  private x: Float32Array | undefined;

  constructor(
    private readonly train: SplitData,
    private readonly meta: DatasetMeta,
    private readonly schedule: MinibatchSchedule,
    readonly stepper: SgdStepper,
    private readonly config: Pick<TrainConfig, 'lr' | 'batchSize'>,
    /** ‖g‖ of the step before the first one taken here (NaN at the start of a run): for the gradient cosine. */
    private previousGradNorm = NaN,
  ) {}

  /** Step `step` (1-based): θ_{step−1} → θ_step. The metrics row it logs, and the raw readout. */
  async take(step: number): Promise<{ row: TrainingRow; readout: StepReadout }> {
    const epoch = this.schedule.epochOf(step);
    const indices = this.schedule.indicesFor(step);
    this.x = toFloat32(this.train, indices, this.meta, this.x);
    const r = await this.stepper.step(this.x, labelsOf(this.train, indices));
    const row: TrainingRow = {
      step, epoch, lr: this.config.lr, batchSize: this.config.batchSize, loss: r.loss, accuracy: r.correct / indices.length,
      gradNorm: r.gradNorm, gradCosine: r.gradDotPrevious / (r.gradNorm * this.previousGradNorm),
      updateNorm: r.updateNorm, distanceFromInit: r.distanceFromInit, indices,
    };
    this.previousGradNorm = r.gradNorm;
    return { row, readout: r };
  }

  /** The optimizer's state after the last step taken (the resume journal's and the anchors' record). */
  snapshot(): Promise<OptimizerSnapshot> {
    return this.stepper.snapshot(this.previousGradNorm);
  }
}

/**
 * The device state and stepper a run continues from: θ_0 at the start, or a stored state with the
 * optimizer state after it (a resumed run, a replay from an anchor). θ_0's trainable part is passed
 * whenever the state is not θ_0 itself (the distance-from-init readout is measured from it).
 */
export function startStepper(
  layers: ResolvedLayer[],
  layout: ParameterLayout,
  config: Pick<TrainConfig, 'lr' | 'momentum' | 'weightDecay'>,
  classes: number,
  from: { state: Float32Array; optimizer?: OptimizerSnapshot; theta0?: Float32Array },
): { state: DeviceState; stepper: SgdStepper } {
  const state = new DeviceState(layout, from.state);
  const stepper = new SgdStepper(layers, state, config, classes, from.theta0);
  if (from.optimizer) stepper.restore(from.optimizer);
  return { state, stepper };
}
