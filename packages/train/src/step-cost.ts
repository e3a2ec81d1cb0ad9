import { Rng, initialState, inputFeatures, parameterLayout, resolveLayers, silentLogger, type TrainConfig } from '@sgdwalk/core';
import { backendAdapter, DeviceState, selectBackend } from '@sgdwalk/model';
import { SgdStepper } from './sgd-step.js';

/** What one training step of a config costs here, measured before the run (for its projection). */
export interface StepCost {
  msPerStep: number;
  /** The backend it was measured on, with its WebGPU adapter: "webgpu (NVIDIA H100 …)", "wasm". */
  backend: string;
  stepsTimed: number;
}

/** Timing stops after this many steps or this much time, whichever first (at least one step is timed). */
const MAX_TIMED_STEPS = 3;
const BUDGET_MS = 2_000;

/**
 * Milliseconds of one SGD step of the config's model at its batch size on the backend the run will use:
 * the training step itself (SgdStepper, forward, backward, update, metrics readout) on a seeded synthetic
 * batch, after one untimed warm-up step (kernel compilation, first allocations). Checkpoint writes and
 * epoch evaluations are not counted: for the study's models they are a few percent of the steps.
 */
export async function measureStepCost(config: Pick<TrainConfig, 'model' | 'backend' | 'batchSize' | 'lr' | 'momentum' | 'weightDecay'>): Promise<StepCost> {
  // Quietly: the run that follows logs its backend choice.
  const backendName = await selectBackend(config.backend, silentLogger, { asyncReads: true });
  const adapter = backendAdapter()?.name;
  const spec = config.model;
  const layout = parameterLayout(spec);
  const state = new DeviceState(layout, initialState(layout, 0));
  const stepper = new SgdStepper(resolveLayers(spec), state, config, spec.classes);
  const rng = new Rng(1);
  const x = Float32Array.from({ length: config.batchSize * inputFeatures(spec) }, () => rng.normal());
  const labels = Int32Array.from({ length: config.batchSize }, () => rng.int(spec.classes));
  try {
    await stepper.step(x, labels);
    const started = performance.now();
    let steps = 0;
    while (steps < MAX_TIMED_STEPS && (steps === 0 || performance.now() - started < BUDGET_MS)) {
      await stepper.step(x, labels);
      steps++;
    }
    return { msPerStep: (performance.now() - started) / steps, backend: adapter ? `${backendName} (${adapter})` : backendName, stepsTimed: steps };
  } finally {
    stepper.dispose();
    state.dispose();
  }
}
