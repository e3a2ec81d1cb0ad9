// Milliseconds per SGD step at batch 100 on every TensorFlow.js backend that loads here, for the study's
// MLP (784-500-350-10 with BN). The step is the one training runs: forward, backward, SGD update, batch-norm
// running statistics, and the per-step metrics (gradient norm and cosine, update norm, distance from init).
import { availableParallelism, cpus } from 'node:os';
import { MODEL_LIBRARY, Rng, initialState, parameterLayout, resolveLayers, silentLogger } from '@sgdwalk/core';
import { DeviceState, selectBackend, tf } from '@sgdwalk/model';
import { SgdStepper } from '@sgdwalk/train';

const BATCH = 100;
const STEPS = { tensorflow: 50, wasm: 30, cpu: 8 };

function syntheticBatch(features, classes, seed) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: BATCH * features }, () => rng.normal());
  const labels = Int32Array.from({ length: BATCH }, () => rng.int(classes));
  return { x, labels };
}

async function timeBackend(backend, spec) {
  try {
    await selectBackend(backend, silentLogger);
  } catch (e) {
    return { backend, available: false, reason: e.message };
  }
  const layout = parameterLayout(spec);
  const state = new DeviceState(layout, initialState(layout, 0));
  const stepper = new SgdStepper(resolveLayers(spec), state, { lr: 0.1, momentum: 0, weightDecay: 1e-4 }, spec.classes);
  const { x, labels } = syntheticBatch(layout.tensors[0].shape[0], spec.classes, 1);
  for (let i = 0; i < 3; i++) stepper.step(x, labels);
  const times = [];
  for (let i = 0; i < STEPS[backend]; i++) {
    const start = performance.now();
    stepper.step(x, labels);
    times.push(performance.now() - start);
  }
  stepper.dispose();
  state.dispose();
  times.sort((a, b) => a - b);
  const msPerStep = times[Math.floor(times.length / 2)];
  // forward + backward ≈ 3 matrix products per dense layer: 6 FLOP per multiply-add per example.
  const macs = layout.tensors.filter((t) => t.name.endsWith('.weight')).reduce((s, t) => s + t.size, 0);
  return { backend, available: true, steps: times.length, msPerStep, msPerStepMin: times[0], gflops: (6 * macs * BATCH) / (msPerStep / 1000) / 1e9, tfjs: tf.version.tfjs };
}

export async function run() {
  const results = {};
  for (const [name, make] of Object.entries({ 'mlp-bn': MODEL_LIBRARY['mlp-bn'] })) {
    results[name] = [];
    for (const backend of ['tensorflow', 'wasm', 'cpu']) {
      process.stderr.write(`${name} on ${backend}…\n`);
      results[name].push(await timeBackend(backend, make()));
    }
  }
  return { benchmark: 'train', batchSize: BATCH, results, machine: { cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version } };
}
