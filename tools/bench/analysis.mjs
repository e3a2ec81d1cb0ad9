// The interpolation engine on the study's MNIST MLP (784-500-350-10, BN): 50 consecutive pairs × 11 α ×
// 10,000 evaluation examples, BN in batch-statistics mode, batches of 500 — by the fast engine and, in the
// same run, by the naive one (one session run per α and batch, no reuse), beside this machine's FP32
// MatMul peak through ONNX Runtime (2048×2048).
//
// The two engines take turns pair by pair (the order alternating), each timed on its own prepare and
// interpolate calls: on cores shared with other processes the load drifts over the minutes a run takes, and
// timing one engine after the other measured the drift as much as the engines.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILES, alphaGridValues } from '@sgdwalk/core';
import { readPreparedDataset, toFloat32, labelsOf, evaluationSubset } from '@sgdwalk/data';
import { CheckpointReader } from '@sgdwalk/checkpoints';
import { createFastEngine, createNaiveEngine, measureMatMulPeak, ONNXRUNTIME_VERSION } from '@sgdwalk/analysis';

const log = { info: (m) => process.stderr.write(`${m}\n`), warn: (m) => process.stderr.write(`warning: ${m}\n`), progress() {} };

/** Each engine's curves over the consecutive pairs and its seconds, the engines interleaved pair by pair. */
async function timeEngines(engines, states, alphas) {
  const names = Object.keys(engines);
  const seconds = Object.fromEntries(names.map((name) => [name, 0]));
  const curves = Object.fromEntries(names.map((name) => [name, []]));
  const previous = {};
  const timed = async (name, work) => {
    const start = performance.now();
    const result = await work();
    seconds[name] += (performance.now() - start) / 1000;
    return result;
  };
  for (const name of names) previous[name] = await timed(name, () => engines[name].prepare(states[0]));
  for (let t = 1; t < states.length; t++) {
    for (const name of t % 2 === 1 ? names : [...names].reverse()) {
      const next = await timed(name, async () => {
        const prepared = await engines[name].prepare(states[t]);
        curves[name].push(await engines[name].interpolate(previous[name], prepared, alphas));
        return prepared;
      });
      previous[name] = next;
    }
  }
  return Object.fromEntries(names.map((name) => [name, { seconds: seconds[name], curves: curves[name] }]));
}

export async function run(args) {
  // With options (--provider, --model, …): the device benchmark (analysis-device.mjs).
  if (args.some((arg) => arg.startsWith('--'))) return (await import('./analysis-device.mjs')).run(args);
  const pairs = Number(args[0] ?? 50);
  const evalSize = 10_000;
  const alphas = alphaGridValues({ from: 0, to: 1, step: 0.1 });
  const root = await mkdtemp(join(tmpdir(), 'sgdwalk-bench-'));
  try {
    const pipeline = {
      data: { dataset: 'mnist', limit: { train: evalSize, validation: 100, test: 100 } },
      train: { model: 'mlp-bn', maxSteps: pairs, backend: 'auto', checkpoints: { windows: [{ steps: [0, pairs] }], every: 0 } },
    };
    log.info(`training ${pairs} steps to get ${pairs + 1} real checkpoints…`);
    // In a child process: a tfjs backend loaded in this one would share the cores with the timed engines.
    const pipelineFile = join(root, 'pipeline.json');
    await writeFile(pipelineFile, JSON.stringify(pipeline));
    const cli = new URL('../../packages/cli/bin/sgdwalk.js', import.meta.url).pathname;
    for (const stage of ['data', 'train']) execFileSync(process.execPath, [cli, stage, '--pipeline', pipelineFile, '--out', root, '--quiet'], { stdio: 'inherit' });
    const runInfo = JSON.parse(await readFile(join(root, 'train', FILES.run), 'utf8'));
    const dataset = await readPreparedDataset(join(root, 'data'));
    const indices = evaluationSubset(dataset.splits.train.count, evalSize, 0);
    const features = 784;
    const evalSet = { x: toFloat32(dataset.splits.train, indices, dataset.meta), labels: labelsOf(dataset.splits.train, indices), count: indices.length, features };
    const reader = await CheckpointReader.open(join(root, 'train', FILES.checkpoints), { layout: runInfo.layout });
    const states = [];
    for (let t = 0; t <= pairs; t++) states.push((await reader.read(t)).state);
    await reader.close();

    const engineOptions = { model: runInfo.model, layout: runInfo.layout, bnMode: 'batch', evalSet, evalBatchSize: 500, provider: 'cpu', log };
    const loadBefore = loadavg()[0];
    log.info('fast and naive engines, pair by pair…');
    const engines = { fast: await createFastEngine(engineOptions) };
    let timings;
    try {
      engines.naive = await createNaiveEngine(engineOptions);
      timings = await timeEngines(engines, states, alphas);
    } finally {
      for (const engine of Object.values(engines)) await engine.release();
    }
    const { fast, naive } = timings;
    const loadAfter = loadavg()[0];
    log.info('MatMul peak…');
    const peak = await measureMatMulPeak({ n: 2048, provider: 'cpu' });

    let maxRelativeDifference = 0;
    fast.curves.forEach((curve, p) => curve.lossPerAlpha.forEach((loss, i) => {
      const reference = naive.curves[p].lossPerAlpha[i];
      maxRelativeDifference = Math.max(maxRelativeDifference, Math.abs(loss - reference) / Math.abs(reference));
    }));
    // The naive protocol's work: every α of every pair is a full forward pass over the evaluation set.
    const macsPerExample = runInfo.layout.tensors.filter((t) => t.name.endsWith('.weight')).reduce((s, t) => s + t.size, 0);
    const flops = 2 * macsPerExample * evalSize * alphas.length * pairs;
    const gflops = (seconds) => flops / seconds / 1e9;
    return {
      benchmark: 'analysis',
      workload: { model: 'mlp-bn 784-500-350-10', pairs, alphas: alphas.length, evalExamples: evalSize, evalBatchSize: 500, bnMode: 'batch', macsPerExample, naiveProtocolFlops: flops },
      protocol: 'engines interleaved pair by pair, order alternating',
      fast: { seconds: fast.seconds, pairsPerSecond: pairs / fast.seconds, effectiveGflops: gflops(fast.seconds) },
      naive: { seconds: naive.seconds, pairsPerSecond: pairs / naive.seconds, effectiveGflops: gflops(naive.seconds) },
      speedup: naive.seconds / fast.seconds,
      matmulPeak: { gflops: peak.gflops, n: peak.n, seconds: peak.seconds },
      fastOverPeak: gflops(fast.seconds) / peak.gflops,
      maxRelativeLossDifference: maxRelativeDifference,
      machine: {
        cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version, onnxruntime: ONNXRUNTIME_VERSION, provider: 'cpu',
        // 1-minute load averages before and after the engines ran: other processes on the same cores.
        loadAverage: { before: loadBefore, after: loadAfter },
      },
      targets: { speedupAtLeast2: naive.seconds / fast.seconds >= 2, fastAtLeastPeak: gflops(fast.seconds) >= peak.gflops },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
