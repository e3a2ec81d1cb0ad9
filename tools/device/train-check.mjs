#!/usr/bin/env node
// The training part of the GPU check (tools/device/gpu-check.sh runs it): one JSON object on stdout with
//   - ms per SGD step of VGG-11 with BN at width 1, batch 100, on TensorFlow.js's WebGPU backend (Dawn: on an
//     NVIDIA machine its Vulkan driver), the step training takes (forward, backward, update, BN statistics,
//     the per-step readout), with the kernels that dominate one profiled step;
//   - the same step in PyTorch on CUDA (tools/device/torch-train.py, run with `python3`, or $SGDWALK_PYTHON);
//   - their ratio against the target (WebGPU ≤ 3× PyTorch CUDA);
//   - the projection of the whole paper protocol (pipelines/cifar10-vgg-paper: 45,000 training steps, the
//     four windows' steps replayed from their anchors, and the four windows' analysis lines at the line cost
//     measured here on the analysis' own provider choice), as `sgdwalk run` would print it.
// `--dry-run`: the same code at a toy size on a CPU machine (VGG-11 at width 1/8, batch 10, a few steps, on
// whatever WebGPU adapter Dawn finds — lavapipe here — and CPU PyTorch via /usr/bin/python3), in under a
// minute; its figures are a smoke test of the script, not of any GPU. Needs the built packages (npm run build).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Rng, describeProjection, initialState, inputFeatures, instantiateLibraryModel, loadSweepPipeline, parameterLayout, plannedLines, projectRun,
  resolveLayers, silentLogger,
} from '@sgdwalk/core';
import { backendAdapter, DeviceState, selectBackend, tf } from '@sgdwalk/model';
import { SgdStepper } from '@sgdwalk/train';
import { measureLineCost } from '@sgdwalk/analysis';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dryRun = process.argv.includes('--dry-run');
const SIZE = dryRun
  ? { width: 0.125, batch: 10, steps: 2, warmup: 1, torchDevice: 'cpu', python: process.env.SGDWALK_PYTHON ?? '/usr/bin/python3', provider: 'cpu' }
  : { width: 1, batch: 100, steps: 30, warmup: 3, torchDevice: 'cuda', python: process.env.SGDWALK_PYTHON ?? 'python3', provider: 'auto' };
/** Stop timing the WebGPU steps after this long (at least one timed step). */
const BUDGET_MS = dryRun ? 5_000 : 120_000;
/** The benchmark target: WebGPU training within this factor of PyTorch CUDA's ms/step. */
const TARGET_RATIO = 3;
const PAPER = join(root, 'pipelines/cifar10-vgg-paper/pipeline.json');
/** The paper's four windows (epochs 1, 10, 25, 100), each one epoch of 450 steps: pipelines/cifar10-vgg-paper*. */
const WINDOWS = [1, 10, 25, 100];

const round = (v, digits = 2) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : null);
const log = (message) => process.stderr.write(`train-check: ${message}\n`);

async function webgpuStep(spec) {
  try {
    await selectBackend('webgpu', silentLogger, { asyncReads: true });
  } catch (e) {
    return { available: false, reason: e.message.split('\n')[0] };
  }
  const adapter = backendAdapter();
  const layout = parameterLayout(spec);
  const state = new DeviceState(layout, initialState(layout, 0));
  const stepper = new SgdStepper(resolveLayers(spec), state, { lr: 0.1, momentum: 0, weightDecay: 1e-4 }, spec.classes);
  const rng = new Rng(1);
  const x = Float32Array.from({ length: SIZE.batch * inputFeatures(spec) }, () => rng.normal());
  const labels = Int32Array.from({ length: SIZE.batch }, () => rng.int(spec.classes));
  for (let i = 0; i < SIZE.warmup; i++) await stepper.step(x, labels);
  const times = [];
  let loss = NaN;
  const started = performance.now();
  while (times.length < SIZE.steps && (times.length === 0 || performance.now() - started < BUDGET_MS)) {
    const t = performance.now();
    loss = (await stepper.step(x, labels)).loss;
    times.push(performance.now() - t);
  }
  // Which kernels dominate one step (the explanation where the target is missed). Kernel times need the
  // adapter's timestamp queries; without them tfjs reports an error object instead of a number.
  const profile = await tf.profile(() => stepper.step(x, labels).then(() => undefined));
  const byKernel = new Map();
  let timed = true;
  for (const k of profile.kernels) {
    const ms = await k.kernelTimeMs;
    if (typeof ms !== 'number') timed = false;
    const entry = byKernel.get(k.name) ?? { calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += typeof ms === 'number' ? ms : 0;
    byKernel.set(k.name, entry);
  }
  stepper.dispose();
  state.dispose();
  times.sort((a, b) => a - b);
  return {
    available: true, adapter: adapter.name, softwareAdapter: adapter.software, tfjs: tf.version.tfjs, model: spec.name, batch: SIZE.batch, warmupSteps: SIZE.warmup, steps: times.length,
    msPerStep: round(times[Math.floor(times.length / 2)]), msPerStepMin: round(times[0]), lastLoss: round(loss, 4),
    kernels: timed
      ? [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10).map(([name, v]) => ({ name, calls: v.calls, ms: round(v.ms, 3) }))
      : { unavailable: 'the adapter has no timestamp queries: kernel times cannot be read', calls: Object.fromEntries([...byKernel].map(([n, v]) => [n, v.calls])) },
  };
}

function torchStep() {
  const args = [join(root, 'tools/device/torch-train.py'), '--device', SIZE.torchDevice, '--width', String(SIZE.width), '--batch', String(SIZE.batch),
    '--steps', String(dryRun ? 2 : 50), '--warmup', String(dryRun ? 1 : 5)];
  const r = spawnSync(SIZE.python, args, { encoding: 'utf8', timeout: 600_000 });
  const line = (r.stdout ?? '').trim().split('\n').at(-1);
  if (r.status !== 0 || !line) {
    const why = (r.error?.message ?? (r.stderr ?? '').trim().split('\n').at(-1)) || `exit ${r.status}`;
    return { available: false, python: SIZE.python, reason: why };
  }
  return { available: true, python: SIZE.python, ...JSON.parse(line) };
}

/**
 * The paper protocol on this machine: the pipeline file's own settings; training and the windows' replays
 * at the WebGPU step measured above, the lines at a line measured on the analysis' provider choice.
 */
async function paperProjection(spec, msPerStep) {
  const { base } = await loadSweepPipeline(PAPER);
  const stepsPerEpoch = Math.floor(45_000 / base.train.batchSize);
  const trainSteps = base.train.epochs * stepsPerEpoch;
  // No dense windows: every window's states are replayed from the anchor at its start (one epoch each).
  const replaySteps = WINDOWS.length * stepsPerEpoch;
  const linesPerWindow = plannedLines(stepsPerEpoch, base.analyze.barriers);
  const examples = base.analyze.evalSet.size === 'all' ? 45_000 : base.analyze.evalSet.size;
  let line;
  try {
    line = await measureLineCost({ model: spec, alphas: base.analyze.alphas.length, examples, settings: { ...base.analyze, provider: SIZE.provider }, log: silentLogger });
  } catch (e) {
    return { available: false, reason: `line cost: ${e.message.split('\n')[0]}` };
  }
  const projection = projectRun({
    steps: trainSteps + replaySteps, msPerStep, backend: 'webgpu', lines: WINDOWS.length * linesPerWindow, msPerLine: line.msPerLine, provider: line.provider,
  });
  return {
    available: true, pipeline: 'pipelines/cifar10-vgg-paper (+ -epoch10, -epoch25, -epoch100)', model: spec.name, trainSteps, replaySteps,
    windows: WINDOWS, linesPerWindow, lines: projection.lines, examplesPerLine: examples, alphas: base.analyze.alphas.length,
    msPerLine: round(line.msPerLine), provider: line.provider,
    trainHours: round(projection.trainSeconds / 3600, 3), analyzeHours: round(projection.analyzeSeconds / 3600, 3), hours: round(projection.seconds / 3600, 3),
    text: describeProjection(projection), notCounted: 'sharpness (4 points) and checkpoint/anchor writes',
  };
}

const spec = instantiateLibraryModel({ library: 'vgg11-bn', width: SIZE.width, inputShape: [32, 32, 3] });
const started = performance.now();
log(`${dryRun ? 'dry run (toy size, CPU machine)' : 'GPU check'}: ${spec.name}, batch ${SIZE.batch}`);
log('webgpu steps…');
const webgpu = await webgpuStep(spec);
log('pytorch steps…');
const torch = torchStep();
log('paper projection…');
const projection = webgpu.available ? await paperProjection(spec, webgpu.msPerStep) : { available: false, reason: 'no WebGPU step measured' };
const ratio = webgpu.available && torch.available ? webgpu.msPerStep / torch.msPerStep : NaN;
process.stdout.write(`${JSON.stringify({
  check: 'train', mode: dryRun ? 'dry-run' : 'gpu', note: dryRun ? 'toy size on a CPU machine: a smoke test of the script, not a GPU figure' : undefined,
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  webgpu, torch,
  ratio: round(ratio, 3), target: `webgpu ≤ ${TARGET_RATIO}× pytorch ${SIZE.torchDevice}`, meetsTarget: Number.isFinite(ratio) ? ratio <= TARGET_RATIO : null,
  projection, seconds: round((performance.now() - started) / 1000, 1),
}, null, 2)}\n`);
// Dawn's device keeps the event loop alive: end here, the JSON written.
process.exit(0);
