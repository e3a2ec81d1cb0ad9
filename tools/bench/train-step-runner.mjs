// One process timing SGD steps of one model on one backend with the BUILT packages of a given checkout
// (argv[2]: JSON { root, ref, backend, steps, batch, warmup }); prints JSON { times, loss, tensorsLeaked }.
// train.mjs --baseline runs it on the baseline checkout and on this one in turn, so both codes are timed
// by the same loop, each in a fresh process (its own tfjs engine and wasm heap).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { root, ref, backend, steps, batch, warmup } = JSON.parse(process.argv[2]);
const load = (pkg) => import(pathToFileURL(join(root, 'packages', pkg, 'dist', 'index.js')).href);
const core = await load('core');
const { DeviceState, selectBackend, tf } = await load('model');
const { SgdStepper } = await load('train');

await selectBackend(backend, core.silentLogger);
const spec = core.instantiateLibraryModel(ref);
const layout = core.parameterLayout(spec);
const state = new DeviceState(layout, core.initialState(layout, 0));
const stepper = new SgdStepper(core.resolveLayers(spec), state, { lr: 0.01, momentum: 0, weightDecay: 1e-4 }, spec.classes);
const rng = new core.Rng(1);
const x = Float32Array.from({ length: batch * core.inputFeatures(spec) }, () => rng.normal());
const labels = Int32Array.from({ length: batch }, () => rng.int(spec.classes));
for (let i = 0; i < warmup; i++) await stepper.step(x, labels);
const live = tf.memory().numTensors;
const times = [];
let loss = NaN;
for (let i = 0; i < steps; i++) {
  const start = performance.now();
  loss = (await stepper.step(x, labels)).loss;
  times.push(performance.now() - start);
}
const tensorsLeaked = tf.memory().numTensors - live;
process.stdout.write(JSON.stringify({ times, loss, tensorsLeaked, theta: core.sha256(await state.download()) }) + '\n');
