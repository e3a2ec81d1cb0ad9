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
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, flattenLayers, initialState, instantiateLibraryModel, inputFeatures, parameterLayout, resolveLayers, silentLogger } from '@sgdwalk/core';
import { backendAdapter, DeviceState, selectBackend, tf } from '@sgdwalk/model';
import { SgdStepper } from '@sgdwalk/train';

const BATCH = 100;
/** Stop timing a model/backend after this much (at least one timed step). */
const BUDGET_MS = 40_000;

const fast = (steps) => ({ steps, batch: BATCH, warmup: 1 });
// webgpuSoftware: the plan on a software WebGPU adapter (lavapipe: a smoke figure of the backend, not a GPU's).
const MODELS = [
  { ref: { library: 'mlp-bn' }, plan: { tensorflow: fast(30), webgpu: fast(30), webgpuSoftware: fast(10), wasm: fast(30), cpu: fast(8) } },
  { ref: { library: 'vgg11-bn', width: 0.25, inputShape: [32, 32, 3] }, plan: { tensorflow: fast(10), webgpu: fast(10), webgpuSoftware: { steps: 2, batch: 10, warmup: 1 }, wasm: fast(5), cpu: { steps: 1, batch: 10, warmup: 0 } } },
  { ref: { library: 'resnet-bn', depth: 20 }, plan: { tensorflow: fast(10), webgpu: fast(10), webgpuSoftware: { steps: 2, batch: 10, warmup: 1 }, wasm: fast(3), cpu: { steps: 1, batch: 10, warmup: 0 } } },
];
const REDUCED_NOTE = 'pure-JS cpu on a conv net: one step at batch 10, no warm-up, to keep the benchmark short; run with --cpu-full for batch 100';
const SOFTWARE_NOTE = 'webgpu on a software adapter (a CPU Vulkan driver): a smoke figure of the backend at a reduced size, not a GPU figure';

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

async function timeBackend(backend, spec, plan) {
  try {
    await selectBackend(backend, silentLogger, { asyncReads: true });
  } catch (e) {
    return { backend, available: false, reason: e.message.split('\n')[0] };
  }
  const adapter = backendAdapter();
  const software = adapter?.software === true;
  const { steps, batch, warmup } = software ? plan.webgpuSoftware : plan[backend];
  const layout = parameterLayout(spec);
  const state = new DeviceState(layout, initialState(layout, 0));
  const stepper = new SgdStepper(resolveLayers(spec), state, { lr: 0.01, momentum: 0, weightDecay: 1e-4 }, spec.classes);
  const { x, labels } = syntheticBatch(batch, inputFeatures(spec), spec.classes, 1);
  for (let i = 0; i < warmup; i++) await stepper.step(x, labels);
  const liveTensors = tf.memory().numTensors;
  const times = [];
  let loss = NaN;
  for (let i = 0; i < steps && !(times.length > 0 && times.reduce((a, b) => a + b, 0) > BUDGET_MS); i++) {
    const start = performance.now();
    loss = (await stepper.step(x, labels)).loss;
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
    ...(adapter ? { adapter: adapter.name } : {}),
    ...(software ? { note: SOFTWARE_NOTE } : batch !== BATCH ? { note: REDUCED_NOTE } : {}),
  };
}

const round = (v, digits = 2) => Number(v.toFixed(digits));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The matrix products of one step of a model's dense layers at batch B, as the wasm step computes them:
 * forward x·W [B, in]·[in, out]; backward dy·Wᵀ [B, out]·[out, in] (not for the first layer: training
 * skips the input's gradient) and xᵀ·dy [in, B]·[B, out], transposes explicit as on wasm. Conv layers are
 * timed as their forward Conv2D, ×3 for the step (the convention of `gflops`).
 */
function stepProducts(spec, batch) {
  const products = [];
  let first = true;
  for (const l of flattenLayers(resolveLayers(spec))) {
    if (l.type === 'dense') {
      products.push({ layer: l.name, kind: 'forward', a: [batch, l.inFeatures], b: [l.inFeatures, l.units] });
      if (!first) products.push({ layer: l.name, kind: 'input-grad', a: [batch, l.units], b: [l.units, l.inFeatures] });
      products.push({ layer: l.name, kind: 'weight-grad', a: [l.inFeatures, batch], b: [batch, l.units] });
    } else if (l.type === 'conv2d') {
      products.push({ layer: l.name, kind: 'conv2d', x: [batch, ...l.inShape], w: [l.kernel[0], l.kernel[1], l.inChannels, l.filters], out: l.outShape, stride: l.stride, padding: l.padding, repeat: 3 });
    }
    if (l.type === 'dense' || l.type === 'conv2d') first = false;
  }
  return products;
}

/**
 * Milliseconds of f (tidied, result read back), the minimum of `reps` after one untimed call: the
 * backend's speed when it gets the core, which on a loaded machine the median is not.
 */
function timeKernel(f, reps) {
  // The tidy returns nothing: handed the read-back array, tf.tidy walks it element by element looking for
  // tensors (50,000 elements of the MLP's first product cost ~17 ms, 6× the product: the figure the
  // earlier runs of this benchmark reported as the backend's speed).
  const once = () => tf.tidy(() => void f().dataSync());
  once();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    once();
    times.push(performance.now() - start);
  }
  return Math.min(...times);
}

/**
 * The wasm backend's own throughput on the step's products, operands fixed and reused (its best case:
 * weights packed once): the time the step's arithmetic would take if every product ran at that speed, to
 * read each step's GFLOP/s against. Products are timed with fresh operands too (what a step does: θ
 * changes, so XNNPACK packs the weights again each time).
 */
async function backendThroughput(spec, batch) {
  await selectBackend('wasm', silentLogger);
  const rng = new Rng(2);
  const make = (shape) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  let flop = 0;
  let ms = 0;
  let msFresh = 0;
  const rows = [];
  // Layers of the same shapes (ResNet's blocks) are timed once and counted as often as they occur.
  const distinct = new Map();
  for (const p of stepProducts(spec, batch)) {
    const key = JSON.stringify({ ...p, layer: undefined });
    const seen = distinct.get(key);
    if (seen) seen.layers.push(p.layer);
    else distinct.set(key, { ...p, layers: [p.layer] });
  }
  for (const p of distinct.values()) {
    const times = p.layers.length;
    if (p.kind === 'conv2d') {
      // Conv2D packs its filter once per filter tensor and the filter is a fresh tensor each step, so
      // every call here gets a fresh copy of w: the step's case (the fixed-operand best case differs by
      // the packing of a small filter only).
      const [x, w] = [make(p.x), make(p.w)];
      const f = 2 * batch * p.out[0] * p.out[1] * p.w[0] * p.w[1] * p.w[2] * p.w[3];
      const t = timeKernel(() => tf.conv2d(x, tf.add(w, 0), p.stride, p.padding), 3);
      rows.push({ layers: p.layers, kind: p.kind, x: p.x, w: p.w, ms: round(t, 3), gflops: round(f / t / 1e6, 2) });
      flop += times * p.repeat * f;
      ms += times * p.repeat * t;
      msFresh += times * p.repeat * t;
      tf.dispose([x, w]);
    } else {
      const [a, b] = [make(p.a), make(p.b)];
      const f = 2 * p.a[0] * p.a[1] * p.b[1];
      const t = timeKernel(() => tf.matMul(a, b), 20);
      // tf.add(b, 0): a new tensor with b's values (tf.clone shares the data on wasm, and so its cache);
      // the time includes that copy (subtracting a separately timed copy goes negative under load).
      const tFresh = timeKernel(() => tf.matMul(a, tf.add(b, 0)), 20);
      rows.push({ layers: p.layers, kind: p.kind, a: p.a, b: p.b, ms: round(t, 3), msFreshOperand: round(tFresh, 3), gflops: round(f / t / 1e6, 2) });
      flop += times * f;
      ms += times * t;
      msFresh += times * tFresh;
      tf.dispose([a, b]);
    }
  }
  return { timing: 'min of repeats', products: rows, stepMegaFlop: round(flop / 1e6, 1), msAtBackendThroughput: round(ms, 2), msWithFreshOperands: round(msFresh, 2), gflops: round(flop / ms / 1e6, 2) };
}

/** The baseline checkout's and this one's wasm steps, each in fresh processes, in alternating order. */
function compareWithBaseline(baselineRoot, ref, { rounds, steps }) {
  const here = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const runner = join(here, 'tools/bench/train-step-runner.mjs');
  const sides = { baseline: baselineRoot, current: here };
  const times = { baseline: [], current: [] };
  const hashes = { baseline: new Set(), current: new Set() };
  const roundRatios = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['baseline', 'current'] : ['current', 'baseline'];
    const medians = {};
    for (const side of order) {
      const out = execFileSync(process.execPath, [runner, JSON.stringify({ root: sides[side], ref, backend: 'wasm', steps, batch: BATCH, warmup: 1 })], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const result = JSON.parse(out.trim().split('\n').at(-1));
      times[side].push(...result.times);
      hashes[side].add(result.theta);
      medians[side] = median(result.times);
    }
    roundRatios.push(medians.baseline / medians.current);
    process.stderr.write(`  round ${r + 1}: baseline ${round(medians.baseline)} ms, current ${round(medians.current)} ms\n`);
  }
  const summary = (ts) => ({ msPerStep: round(median(ts)), msPerStepMin: round(Math.min(...ts)), steps: ts.length });
  return {
    baseline: summary(times.baseline), current: summary(times.current),
    speedup: round(median(times.baseline) / median(times.current)), speedupOfMins: round(Math.min(...times.baseline) / Math.min(...times.current)),
    speedupPerRound: roundRatios.map((x) => round(x)),
    // Same init, batch and steps: equal hashes mean the two codes computed bit-identical parameters.
    sameParameters: hashes.baseline.size === 1 && hashes.current.size === 1 && [...hashes.baseline][0] === [...hashes.current][0],
    deterministic: hashes.baseline.size === 1 && hashes.current.size === 1,
  };
}

const COMPARE = { 'mlp-bn': { rounds: 6, steps: 10 }, 'vgg11-bn': { rounds: 4, steps: 3 }, 'resnet-bn': { rounds: 3, steps: 2 } };

export async function run(args = []) {
  const cpuFull = args.includes('--cpu-full');
  const baselineAt = args.indexOf('--baseline');
  const baseline = baselineAt >= 0 ? resolve(args[baselineAt + 1] ?? '') : null;
  if (baseline && !existsSync(join(baseline, 'packages/train/dist/index.js'))) {
    throw new Error(`--baseline ${baseline}: no built packages there (packages/train/dist/index.js); build that checkout first`);
  }
  const backendsAt = args.indexOf('--backends');
  const backends = args.includes('--wasm-only') ? ['wasm'] : backendsAt >= 0 ? (args[backendsAt + 1] ?? '').split(',') : ['tensorflow', 'webgpu', 'wasm', 'cpu'];
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',')) : null;
  const started = performance.now();
  const results = {};
  for (const { ref, plan } of MODELS.filter((m) => !only || only.has(m.ref.library))) {
    const spec = instantiateLibraryModel(ref);
    const layout = parameterLayout(spec);
    const entry = { reference: ref, inputShape: spec.inputShape, parameters: layout.trainableSize, forwardMegaMacsPerExample: round(forwardMacs(spec) / 1e6, 3), backends: [] };
    results[spec.name] = entry;
    for (const backend of backends) {
      const how = backend === 'cpu' && cpuFull ? { ...plan, cpu: { ...plan.cpu, batch: BATCH } } : plan;
      process.stderr.write(`${spec.name} on ${backend}…\n`);
      // One backend failing (a kernel it lacks, say) is a result to report, not the end of the benchmark.
      const result = await timeBackend(backend, spec, how).catch((e) => ({ backend, available: true, error: e.message.split('\n')[0] }));
      // Progress on stderr as each result lands, so an interrupted run still shows what it measured.
      process.stderr.write(`  ${JSON.stringify(result)}\n`);
      entry.backends.push(result);
    }
    if (!backends.includes('wasm')) continue;
    process.stderr.write(`${spec.name}: the wasm backend's own throughput at the step's products…\n`);
    entry.wasmThroughput = await backendThroughput(spec, BATCH);
    const wasm = entry.backends.find((b) => b.backend === 'wasm' && b.msPerStep);
    if (wasm) // Both minima: what the backend and the step do when they get the core.
      entry.wasmThroughput.stepFractionOfBackend = round(entry.wasmThroughput.msAtBackendThroughput / wasm.msPerStepMin, 3);
    if (baseline) {
      process.stderr.write(`${spec.name} on wasm: baseline ${baseline} against this checkout, alternating…\n`);
      entry.comparison = { baseline, ...compareWithBaseline(baseline, ref, COMPARE[ref.library]) };
      // Each side's fastest step against the time this step's products take at the backend's own speed
      // (fresh operands, as in a step): the fraction of the backend each code reaches. The baseline may
      // compute more products than this code (the MLP's first-layer input gradient): its fraction of
      // *useful* arithmetic is what this reads.
      const arithmeticMs = entry.wasmThroughput.msWithFreshOperands;
      entry.comparison.fractionOfBackend = {
        baseline: round(arithmeticMs / entry.comparison.baseline.msPerStepMin, 3),
        current: round(arithmeticMs / entry.comparison.current.msPerStepMin, 3),
        onMedians: { baseline: round(arithmeticMs / entry.comparison.baseline.msPerStep, 3), current: round(arithmeticMs / entry.comparison.current.msPerStep, 3) },
      };
      process.stderr.write(`  ${JSON.stringify(entry.comparison)}\n`);
    }
  }
  return {
    benchmark: 'train',
    batchSize: BATCH,
    timing: `median (and min) ms per SGD step after the warm-up steps, at most ${BUDGET_MS / 1000} s of timed steps per model and backend; gflops = 6·forward MACs·batch / median step time`,
    results,
    seconds: round((performance.now() - started) / 1000, 1),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version, tfjs: tf.version.tfjs, loadAverageAtEnd: loadavg().map((l) => round(l)) },
  };
}
