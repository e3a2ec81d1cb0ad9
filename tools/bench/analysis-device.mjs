// The interpolation on a device provider (WebGPU or CUDA) at paper scale:
//   node tools/bench/index.mjs analysis --provider webgpu|cuda --model vgg11-bn --width 1 --examples 45000 --pairs N
// Real checkpoints (N training steps of the model, in a child process), then per engine the seconds, the
// bytes copied host <-> device per pair with the data resident on the device ("after") and fed from the
// host as on the CPU ("before"), the effective GFLOP/s against the device's measured MatMul peak through
// the same provider, and the projected time for one epoch window (450 pairs × 10 α × 45,000 examples).
// Options: --alphas A (default 11: 0, 0.1, …, 1), --eval-batch B (default 500), --bn batch|running,
// --peak-n n (default 2048), --dataset mnist|cifar10|synthetic (default: cifar10 for image models, mnist
// for mlp-bn; synthetic, with the same shapes, where CIFAR-10 is not found).
// --tf32 on|off (default off, analyze.tf32's default): TF32 on the CUDA provider, settled for the process.
// On a CPU Vulkan driver (lavapipe) run it at a reduced size: it is a smoke check there, not a speed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FILES, flattenLayers, instantiateLibraryModel, resolveLayers } from '@sgdwalk/core';
import { readPreparedDataset, toFloat32, labelsOf, evaluationSubset } from '@sgdwalk/data';
import { CheckpointReader } from '@sgdwalk/checkpoints';
import { allowCudaTf32, createFastEngine, createNaiveEngine, measureMatMulPeak, ONNXRUNTIME_VERSION } from '@sgdwalk/analysis';

const log = { info: (m) => process.stderr.write(`${m}\n`), warn: (m) => process.stderr.write(`warning: ${m}\n`), progress() {} };

/** The study's epoch window: 450 consecutive pairs, 10 α values, the 45,000 CIFAR-10 training images. */
const EPOCH_WINDOW = { pairs: 450, alphas: 10, examples: 45_000 };

function options(args) {
  const flags = {};
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith('--')) throw new Error(`unexpected argument ${args[i]}`);
    flags[args[i].slice(2)] = args[i + 1];
    i++;
  }
  const known = ['provider', 'model', 'width', 'examples', 'pairs', 'alphas', 'eval-batch', 'bn', 'peak-n', 'dataset', 'tf32'];
  if (flags.tf32 !== undefined && !['on', 'off'].includes(flags.tf32)) throw new Error(`--tf32 takes on or off, got ${flags.tf32}`);
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new Error(`unknown option --${name} (known: ${known.map((k) => `--${k}`).join(', ')})`);
  const model = flags.model ?? 'vgg11-bn';
  return {
    provider: flags.provider ?? 'webgpu',
    model,
    width: Number(flags.width ?? 1),
    examples: Number(flags.examples ?? 45_000),
    pairs: Number(flags.pairs ?? 3),
    alphas: Number(flags.alphas ?? 11),
    evalBatch: Number(flags['eval-batch'] ?? 500),
    bnMode: flags.bn ?? 'batch',
    peakN: Number(flags['peak-n'] ?? 2048),
    dataset: flags.dataset ?? (model === 'mlp-bn' ? 'mnist' : 'cifar10'),
    tf32: flags.tf32 === 'on',
  };
}

/** Multiply-accumulates of one example's forward pass: conv and dense layers (the rest is linear-time). */
function macsPerExample(spec) {
  let macs = 0;
  for (const layer of flattenLayers(resolveLayers(spec))) {
    if (layer.type === 'dense') macs += layer.inFeatures * layer.units;
    if (layer.type === 'conv2d') macs += layer.outShape[0] * layer.outShape[1] * layer.filters * layer.kernel[0] * layer.kernel[1] * layer.inChannels;
  }
  return macs;
}

function cifarDir() {
  const candidates = [process.env.SGDWALK_CIFAR10_DIR, process.env.SGDWALK_DATA_DIR, resolve('../shared/datasets')].filter(Boolean);
  return candidates.find((dir) => existsSync(join(dir, 'cifar-10-binary.tar.gz')) || existsSync(join(dir, 'cifar-10-batches-bin')));
}

/** The data section: the dataset asked for, or synthetic images of its shape where its files are absent. */
function dataSection(o, spec) {
  const examples = o.examples;
  if (o.dataset === 'cifar10') {
    const dir = cifarDir();
    if (dir) return { section: { dataset: 'cifar10', dir, limit: { train: examples } }, described: `cifar10 (${dir})` };
    log.warn('CIFAR-10 not found (set SGDWALK_CIFAR10_DIR): synthetic images of its shape instead');
  } else if (o.dataset !== 'synthetic') {
    return { section: { dataset: o.dataset, limit: { train: examples, validation: 100, test: 100 } }, described: o.dataset };
  }
  const synthetic = { imageShape: spec.inputShape, classes: spec.classes, counts: { train: examples, validation: 100, test: 100 }, seed: 0, noise: 1 };
  return { section: { dataset: 'synthetic', synthetic }, described: `synthetic ${spec.inputShape.join('×')}, ${spec.classes} classes` };
}

/**
 * The engines over the consecutive pairs, interleaved pair by pair (order alternating) as in the CPU
 * benchmark: on a shared machine the load drifts, and timing one engine after another measured the drift.
 * Per engine: seconds, curves, and the bytes it copied per pair in the steady state (one checkpoint
 * prepared and one line interpolated per pair), beside the evaluation set's upload at its creation.
 */
async function timeEngines(engines, states, alphas) {
  const names = Object.keys(engines);
  const r = {};
  for (const name of names) {
    const engine = engines[name];
    const oncePerAnalysis = engine.transfers.snapshot();
    // Untimed warm-up on the first pair: a device provider compiles its shaders on a graph's first runs.
    await engine.interpolate(await engine.prepare(states[0]), await engine.prepare(states[1]), alphas);
    const start = performance.now();
    const previous = await engine.prepare(states[0]);
    r[name] = { seconds: (performance.now() - start) / 1000, curves: [], previous, steady: engine.transfers.snapshot(), oncePerAnalysis };
  }
  for (let t = 1; t < states.length; t++) {
    for (const name of t % 2 === 1 ? names : [...names].reverse()) {
      const start = performance.now();
      const prepared = await engines[name].prepare(states[t]);
      r[name].curves.push(await engines[name].interpolate(r[name].previous, prepared, alphas));
      r[name].seconds += (performance.now() - start) / 1000;
      r[name].previous = prepared;
    }
  }
  const pairs = states.length - 1;
  return Object.fromEntries(
    names.map((name) => {
      const { seconds, curves, steady, oncePerAnalysis } = r[name];
      const end = engines[name].transfers.snapshot();
      return [
        name,
        {
          seconds,
          curves,
          bytesPerPair: { hostToDevice: (end.hostToDevice - steady.hostToDevice) / pairs, deviceToHost: (end.deviceToHost - steady.deviceToHost) / pairs },
          runsPerPair: (end.runs - steady.runs) / pairs,
          // the evaluation set's upload, at the engine's creation (zero when fed from the host)
          oncePerAnalysis: { hostToDevice: oncePerAnalysis.hostToDevice, deviceToHost: oncePerAnalysis.deviceToHost },
          deviceResident: engines[name].deviceResident,
        },
      ];
    }),
  );
}

function maxRelativeDifference(curves, reference) {
  let max = 0;
  curves.forEach((curve, p) => curve.lossPerAlpha.forEach((loss, i) => (max = Math.max(max, Math.abs(loss - reference[p].lossPerAlpha[i]) / Math.abs(reference[p].lossPerAlpha[i])))));
  return max;
}

export async function run(args) {
  const o = options(args);
  allowCudaTf32(o.tf32);
  const spec = o.model === 'mlp-bn' ? instantiateLibraryModel({ library: 'mlp-bn', width: o.width }) : instantiateLibraryModel({ library: o.model, width: o.width });
  const alphas = Array.from({ length: o.alphas }, (_, i) => (o.alphas === 1 ? 0 : i / (o.alphas - 1)));
  const root = await mkdtemp(join(tmpdir(), 'sgdwalk-bench-device-'));
  try {
    const data = dataSection(o, spec);
    const model = o.model === 'mlp-bn' ? { library: 'mlp-bn', width: o.width } : { library: o.model, width: o.width };
    const pipeline = {
      data: data.section,
      train: { model, maxSteps: o.pairs, batchSize: 100, backend: 'auto', checkpoints: { windows: [{ steps: [0, o.pairs] }], every: 0 } },
    };
    log.info(`training ${o.pairs} steps of ${o.model} width ${o.width} for ${o.pairs + 1} real checkpoints…`);
    const pipelineFile = join(root, 'pipeline.json');
    await writeFile(pipelineFile, JSON.stringify(pipeline));
    const cli = new URL('../../packages/cli/bin/sgdwalk.js', import.meta.url).pathname;
    for (const stage of ['data', 'train']) execFileSync(process.execPath, [cli, stage, '--pipeline', pipelineFile, '--out', root, '--quiet'], { stdio: 'inherit' });
    const runInfo = JSON.parse(await readFile(join(root, 'train', FILES.run), 'utf8'));
    const dataset = await readPreparedDataset(join(root, 'data'));
    const count = Math.min(o.examples, dataset.splits.train.count);
    const indices = evaluationSubset(dataset.splits.train.count, count, 0);
    const features = spec.inputShape.reduce((a, b) => a * b, 1);
    const evalSet = { x: toFloat32(dataset.splits.train, indices, dataset.meta), labels: labelsOf(dataset.splits.train, indices), count, features };
    const reader = await CheckpointReader.open(join(root, 'train', FILES.checkpoints), { layout: runInfo.layout });
    const states = [];
    for (let t = 0; t <= o.pairs; t++) states.push((await reader.read(t)).state);
    await reader.close();

    const base = { model: runInfo.model, layout: runInfo.layout, bnMode: o.bnMode, evalSet, evalBatchSize: o.evalBatch, provider: o.provider, log };
    const image = o.model !== 'mlp-bn';
    /** The engines measured: naive; fast (α-batched for image models: grouped convs); both resident, and naive fed from the host. */
    const variants = {
      naive: () => createNaiveEngine(base),
      fast: () => createFastEngine(base, image ? { alphaBatchImages: true } : {}),
      naiveFromHost: () => createNaiveEngine({ ...base, deviceResident: false }),
      fastFromHost: () => createFastEngine({ ...base, deviceResident: false }, image ? { alphaBatchImages: true } : {}),
    };
    const loadBefore = loadavg()[0];
    const engines = {};
    let results;
    try {
      for (const [name, create] of Object.entries(variants)) engines[name] = await create();
      log.info(`engines ${Object.keys(engines).join(', ')} on ${o.provider}, interleaved pair by pair…`);
      results = await timeEngines(engines, states, alphas);
    } finally {
      for (const engine of Object.values(engines)) await engine.release();
    }
    const { provider, device } = engines.naive;
    const loadAfter = loadavg()[0];
    log.info(`MatMul peak (${o.peakN}×${o.peakN}) on ${o.provider}…`);
    const peak = await measureMatMulPeak({ n: o.peakN, provider: o.provider, log });

    const macs = macsPerExample(spec);
    const flops = 2 * macs * count * alphas.length * o.pairs;
    const gflops = (seconds) => flops / seconds / 1e9;
    const best = results.fast.seconds < results.naive.seconds ? 'fast' : 'naive';
    const secondsPerPairAlphaExample = results[best].seconds / (o.pairs * alphas.length * count);
    const summary = (r) => ({
      seconds: r.seconds,
      secondsPerPair: r.seconds / o.pairs,
      // the throughput the issue's targets are stated in: examples evaluated per second, each α counted
      examplesAlphaPerSecond: (count * alphas.length * o.pairs) / r.seconds,
      effectiveGflops: gflops(r.seconds),
      overPeak: gflops(r.seconds) / peak.gflops,
      deviceResident: r.deviceResident,
      bytesPerPair: r.bytesPerPair,
      runsPerPair: r.runsPerPair,
      oncePerAnalysis: r.oncePerAnalysis,
    });
    return {
      benchmark: 'analysis-device',
      workload: { model: `${o.model} width ${o.width}`, dataset: data.described, pairs: o.pairs, alphas: alphas.length, evalExamples: count, evalBatchSize: o.evalBatch, bnMode: o.bnMode, macsPerExample: macs, naiveProtocolFlops: flops },
      provider,
      adapter: device,
      tf32: o.tf32,
      // the first pair's losses (fast engine), to compare runs across providers and precisions
      firstPairLosses: Array.from(results.fast.curves[0].lossPerAlpha),
      naive: summary(results.naive),
      fast: { ...summary(results.fast), alphaBatched: true },
      naiveFedFromHost: summary(results.naiveFromHost),
      fastFedFromHost: summary(results.fastFromHost),
      // bytes host <-> device per pair: before = every run fed from the host (as on the CPU), after = resident
      bytesPerPair: {
        before: { naive: results.naiveFromHost.bytesPerPair, fast: results.fastFromHost.bytesPerPair },
        after: { naive: results.naive.bytesPerPair, fast: results.fast.bytesPerPair },
        stateBytes: runInfo.layout.totalSize * 4,
        evalSetBytes: count * (features + 1) * 4,
      },
      alphaBatchedOverNaive: results.naive.seconds / results.fast.seconds,
      maxRelativeLossDifference: {
        fastVsNaive: maxRelativeDifference(results.fast.curves, results.naive.curves),
        fromHostVsResident: Math.max(maxRelativeDifference(results.naiveFromHost.curves, results.naive.curves), maxRelativeDifference(results.fastFromHost.curves, results.fast.curves)),
      },
      matmulPeak: { gflops: peak.gflops, n: peak.n, seconds: peak.seconds, provider: peak.provider, device: peak.device },
      epochWindow: {
        ...EPOCH_WINDOW,
        engine: best,
        // linear in pairs, α values and examples, from this run's seconds per (pair · α · example)
        projectedSeconds: secondsPerPairAlphaExample * EPOCH_WINDOW.pairs * EPOCH_WINDOW.alphas * EPOCH_WINDOW.examples,
      },
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version, onnxruntime: ONNXRUNTIME_VERSION, loadAverage: { before: loadBefore, after: loadAfter } },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
