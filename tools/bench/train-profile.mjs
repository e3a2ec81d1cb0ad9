// Where one SGD step's time goes, kernel by kernel: `node tools/bench/train-profile.mjs [model] [backend]`
// (model: a library reference as JSON, default {"library":"mlp-bn"}; backend default wasm; built packages).
// tf.profile around one step after two warm-up steps: calls and milliseconds per kernel name (wall clock
// per kernel on wasm and cpu), largest first, and the ten slowest single kernels with their shapes.
// Prints JSON. docs/training-speed.md says what such profiles showed.
import { Rng, initialState, instantiateLibraryModel, inputFeatures, parameterLayout, resolveLayers, silentLogger } from '@sgdwalk/core';
import { DeviceState, selectBackend, tf } from '@sgdwalk/model';
import { SgdStepper } from '@sgdwalk/train';

const ref = JSON.parse(process.argv[2] ?? '{"library":"mlp-bn"}');
await selectBackend(process.argv[3] ?? 'wasm', silentLogger);
const spec = instantiateLibraryModel(ref);
const layout = parameterLayout(spec);
const state = new DeviceState(layout, initialState(layout, 0));
const stepper = new SgdStepper(resolveLayers(spec), state, { lr: 0.01, momentum: 0, weightDecay: 1e-4 }, spec.classes);
const rng = new Rng(1);
const batch = 100;
const x = Float32Array.from({ length: batch * inputFeatures(spec) }, () => rng.normal());
const labels = Int32Array.from({ length: batch }, () => rng.int(spec.classes));
for (let i = 0; i < 2; i++) await stepper.step(x, labels);
const start = performance.now();
const profile = await tf.profile(() => stepper.step(x, labels).then(() => undefined));
const stepMs = performance.now() - start;
const kernels = [];
for (const k of profile.kernels) kernels.push({ name: k.name, ms: await k.kernelTimeMs, inputs: k.inputShapes, outputs: k.outputShapes });
const byName = {};
for (const k of kernels) {
  byName[k.name] ??= { calls: 0, ms: 0 };
  byName[k.name].calls++;
  byName[k.name].ms += k.ms;
}
const round = (v) => Number(v.toFixed(2));
process.stdout.write(JSON.stringify({
  model: spec.name, backend: tf.getBackend(), batch, stepMsProfiled: round(stepMs), kernels: kernels.length,
  // customGrad wrappers ("forward", "backward") contain the kernels they run: their time is counted twice.
  byKernel: Object.entries(byName).sort((a, b) => b[1].ms - a[1].ms).map(([name, v]) => ({ name, calls: v.calls, ms: round(v.ms) })),
  slowest: [...kernels].sort((a, b) => b.ms - a.ms).slice(0, 10).map((k) => ({ ...k, ms: round(k.ms) })),
}, null, 2) + '\n');
stepper.dispose();
state.dispose();
