// Milliseconds per SGD step at batch 100 on every TensorFlow.js backend that loads here, for the study's
// MLP (784-500-350-10 with BN), VGG-11 with BN at width 1/4 and ResNet-20 (both on 32×32×3). The step is the
// one training runs: forward, backward, SGD update, batch-norm running statistics, and the per-step metrics
// (gradient norm and cosine, update norm, distance from init).
//
// Steps are few so the whole run takes minutes, after one untimed warm-up step (kernel setup, first
// allocations); a model/backend also stops timing after BUDGET_MS. The pure-JS cpu backend needs minutes
// per batch-100 step of the conv nets on a small machine (one such step of ResNet-20 is longer than this
// whole benchmark should take), so there it times one step at batch 10, without warm-up (cpu has no
// kernels to set up), and says so; `--cpu-full` times it at batch 100 like the others.
import { availableParallelism, cpus } from 'node:os';
import { Rng, flattenLayers, initialState, instantiateLibraryModel, inputFeatures, parameterLayout, resolveLayers, silentLogger } from '@sgdwalk/core';
import { DeviceState, selectBackend, tf } from '@sgdwalk/model';
import { SgdStepper } from '@sgdwalk/train';

const BATCH = 100;
/** Stop timing a model/backend after this much (at least one timed step). */
const BUDGET_MS = 40_000;

const fast = (steps) => ({ steps, batch: BATCH, warmup: 1 });
const MODELS = [
  { ref: { library: 'mlp-bn' }, plan: { tensorflow: fast(30), wasm: fast(30), cpu: fast(8) } },
  { ref: { library: 'vgg11-bn', width: 0.25, inputShape: [32, 32, 3] }, plan: { tensorflow: fast(10), wasm: fast(5), cpu: { steps: 1, batch: 10, warmup: 0 } } },
  { ref: { library: 'resnet-bn', depth: 20 }, plan: { tensorflow: fast(10), wasm: fast(3), cpu: { steps: 1, batch: 10, warmup: 0 } } },
];
const REDUCED_NOTE = 'pure-JS cpu on a conv net: one step at batch 10, no warm-up, to keep the benchmark short; run with --cpu-full for batch 100';

/**
 * Multiply-adds of one example's forward pass: conv out_h·out_w·kh·kw·in·out, dense in·out. Forward plus
 * backward is counted as 3× that (the input gradient and the weight gradient each cost a forward's worth),
 * the usual convention: effective GFLOP/s = 2·3·MACs·batch / time. BN, pooling and the update are not counted.
 */
function forwardMacs(spec) {
  return flattenLayers(resolveLayers(spec)).reduce((sum, l) => {
    if (l.type === 'dense') return sum + l.inFeatures * l.units;
    if (l.type === 'conv2d') return sum + l.outShape[0] * l.outShape[1] * l.kernel[0] * l.kernel[1] * l.inChannels * l.filters;
    return sum;
  }, 0);
}

function syntheticBatch(batch, features, classes, seed) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: batch * features }, () => rng.normal());
  const labels = Int32Array.from({ length: batch }, () => rng.int(classes));
  return { x, labels };
}

async function timeBackend(backend, spec, { steps, batch, warmup }) {
  try {
    await selectBackend(backend, silentLogger);
  } catch (e) {
    return { backend, available: false, reason: e.message.split('\n')[0] };
  }
  const layout = parameterLayout(spec);
  const state = new DeviceState(layout, initialState(layout, 0));
  const stepper = new SgdStepper(resolveLayers(spec), state, { lr: 0.01, momentum: 0, weightDecay: 1e-4 }, spec.classes);
  const { x, labels } = syntheticBatch(batch, inputFeatures(spec), spec.classes, 1);
  for (let i = 0; i < warmup; i++) stepper.step(x, labels);
  const liveTensors = tf.memory().numTensors;
  const times = [];
  let loss = NaN;
  for (let i = 0; i < steps && !(times.length > 0 && times.reduce((a, b) => a + b, 0) > BUDGET_MS); i++) {
    const start = performance.now();
    loss = stepper.step(x, labels).loss;
    times.push(performance.now() - start);
  }
  const leaked = tf.memory().numTensors - liveTensors;
  stepper.dispose();
  state.dispose();
  times.sort((a, b) => a - b);
  const msPerStep = times[Math.floor(times.length / 2)];
  return {
    backend, available: true, batchSize: batch, warmupSteps: warmup, steps: times.length, msPerStep: round(msPerStep), msPerStepMin: round(times[0]),
    gflops: round((2 * 3 * forwardMacs(spec) * batch) / (msPerStep / 1000) / 1e9, 3), lastLoss: round(loss, 4),
    // Measurable only after a warm-up: the first step keeps its gradient for the next step's cosine.
    ...(warmup > 0 ? { tensorsLeaked: leaked } : {}),
    ...(batch !== BATCH ? { note: REDUCED_NOTE } : {}),
  };
}

const round = (v, digits = 2) => Number(v.toFixed(digits));

export async function run(args = []) {
  const cpuFull = args.includes('--cpu-full');
  const started = performance.now();
  const results = {};
  for (const { ref, plan } of MODELS) {
    const spec = instantiateLibraryModel(ref);
    const layout = parameterLayout(spec);
    const entry = { reference: ref, inputShape: spec.inputShape, parameters: layout.trainableSize, forwardMegaMacsPerExample: round(forwardMacs(spec) / 1e6, 3), backends: [] };
    results[spec.name] = entry;
    for (const backend of ['tensorflow', 'wasm', 'cpu']) {
      const how = backend === 'cpu' && cpuFull ? { ...plan.cpu, batch: BATCH } : plan[backend];
      process.stderr.write(`${spec.name} on ${backend} (${how.steps} steps at batch ${how.batch})…\n`);
      // One backend failing (a kernel it lacks, say) is a result to report, not the end of the benchmark.
      const result = await timeBackend(backend, spec, how).catch((e) => ({ backend, available: true, error: e.message.split('\n')[0] }));
      // Progress on stderr as each result lands, so an interrupted run still shows what it measured.
      process.stderr.write(`  ${JSON.stringify(result)}\n`);
      entry.backends.push(result);
    }
  }
  return {
    benchmark: 'train',
    batchSize: BATCH,
    timing: `median (and min) ms per SGD step after the warm-up steps, at most ${BUDGET_MS / 1000} s of timed steps per model and backend; gflops = 6·forward MACs·batch / median step time`,
    results,
    seconds: round((performance.now() - started) / 1000, 1),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version, tfjs: tf.version.tfjs },
  };
}
