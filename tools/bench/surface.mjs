// A loss surface on the study's MNIST MLP (784-500-350-10, BN in batch-statistics mode): the PCA plane of a
// short real trajectory, centred on its last checkpoint, a 21 × 21 grid spanning the projected path, on
// 10,000 evaluation examples in batches of 500 — by the fast path (rows of the plane through the fast
// engine: three first-layer projections per surface, the first layer's BN statistics in closed form) and,
// in the same run, by the plain one (every point its own forward pass through the plain graph).
//
// The two take turns row by row (the order alternating), each timed on its own calls, as the analysis
// bench does pair by pair: on shared cores the load drifts over the minutes a run takes.
//
// Usage: node tools/bench/index.mjs surface [gridSize=21] [steps=20]
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILES } from '@sgdwalk/core';
import { readPreparedDataset, toFloat32, labelsOf, evaluationSubset } from '@sgdwalk/data';
import { CheckpointReader } from '@sgdwalk/checkpoints';
import {
  createFastEngine, createPlainPointEvaluator, evaluateSurfaceRow, gridValues, measureMatMulPeak, ONNXRUNTIME_VERSION, pathRange, pcaDirections, preparePlane, projector,
} from '@sgdwalk/analysis';

const log = { info: (m) => process.stderr.write(`${m}\n`), warn: (m) => process.stderr.write(`warning: ${m}\n`), progress() {} };

export async function run(args) {
  const size = Number(args[0] ?? 21);
  const steps = Number(args[1] ?? 20);
  const evalSize = 10_000;
  const root = await mkdtemp(join(tmpdir(), 'sgdwalk-bench-surface-'));
  try {
    const pipeline = {
      data: { dataset: 'mnist', limit: { train: evalSize, validation: 100, test: 100 } },
      train: { model: 'mlp-bn', maxSteps: steps, backend: 'auto', checkpoints: { windows: [{ steps: [0, steps] }], every: 0 } },
    };
    log.info(`training ${steps} steps for a real trajectory…`);
    // In a child process: a tfjs backend loaded in this one would share the cores with the timed evaluation.
    const pipelineFile = join(root, 'pipeline.json');
    await writeFile(pipelineFile, JSON.stringify(pipeline));
    const cli = new URL('../../packages/cli/bin/sgdwalk.js', import.meta.url).pathname;
    for (const stage of ['data', 'train']) execFileSync(process.execPath, [cli, stage, '--pipeline', pipelineFile, '--out', root, '--quiet'], { stdio: 'inherit' });
    const runInfo = JSON.parse(await readFile(join(root, 'train', FILES.run), 'utf8'));
    const { model, layout } = runInfo;
    const dataset = await readPreparedDataset(join(root, 'data'));
    const indices = evaluationSubset(dataset.splits.train.count, evalSize, 0);
    const evalSet = { x: toFloat32(dataset.splits.train, indices, dataset.meta), labels: labelsOf(dataset.splits.train, indices), count: indices.length, features: 784 };
    const reader = await CheckpointReader.open(join(root, 'train', FILES.checkpoints), { layout });
    const states = [];
    for (let t = 0; t <= steps; t++) states.push((await reader.read(t)).state);
    await reader.close();

    const pcaStarted = performance.now();
    const pca = pcaDirections(layout, states);
    const pcaSeconds = (performance.now() - pcaStarted) / 1000;
    const plane = { centre: states[steps], d1: pca.directions[0], d2: pca.directions[1] };
    const project = projector(layout, plane);
    const range = pathRange(states.map(project), 0.25);
    const as = gridValues(range.a[0], range.a[1], size);
    const bs = gridValues(range.b[0], range.b[1], size);

    const engineOptions = { model, layout, bnMode: 'batch', evalSet, evalBatchSize: 500, provider: 'cpu', log };
    const loadBefore = loadavg()[0];
    log.info(`${size} × ${size} surface, fast and plain, row by row…`);
    const seconds = { fast: 0, plain: 0 };
    const losses = { fast: [], plain: [] };
    const timed = async (name, work) => {
      const start = performance.now();
      const result = await work();
      seconds[name] += (performance.now() - start) / 1000;
      return result;
    };
    const fast = await timed('fast', () => createFastEngine(engineOptions));
    const plain = await timed('plain', () => createPlainPointEvaluator(engineOptions));
    try {
      const prepared = await timed('fast', () => preparePlane(fast, plane, [as[0], as.at(-1)], [bs[0], bs.at(-1)]));
      for (const [i, b] of bs.entries()) {
        const order = i % 2 === 0 ? ['fast', 'plain'] : ['plain', 'fast'];
        for (const name of order) {
          const row = await timed(name, () => (name === 'fast' ? evaluateSurfaceRow(prepared, { b, as }) : plain.evaluate(plane, as.map((a) => ({ a, b })))));
          losses[name].push(...row.lossPerAlpha);
        }
        log.info(`row ${i + 1}/${size}: fast ${seconds.fast.toFixed(1)} s, plain ${seconds.plain.toFixed(1)} s so far`);
      }
    } finally {
      await fast.release();
      await plain.release();
    }
    const loadAfter = loadavg()[0];
    log.info('MatMul peak…');
    const peak = await measureMatMulPeak({ n: 2048, provider: 'cpu' });

    let maxRelativeDifference = 0;
    losses.fast.forEach((loss, i) => (maxRelativeDifference = Math.max(maxRelativeDifference, Math.abs(loss - losses.plain[i]) / Math.abs(losses.plain[i]))));
    const points = size * size;
    // The plain protocol's work: every grid point is a full forward pass over the evaluation set.
    const macsPerExample = layout.tensors.filter((t) => t.name.endsWith('.weight')).reduce((s, t) => s + t.size, 0);
    const firstLayerMacs = layout.tensors.find((t) => t.name.endsWith('.weight')).size;
    const flops = 2 * macsPerExample * evalSize * points;
    const report = (s) => ({ seconds: s, pointsPerSecond: points / s, effectiveGflops: flops / s / 1e9 });
    const lossesFinite = losses.plain.filter(Number.isFinite);
    return {
      benchmark: 'surface',
      workload: {
        model: 'mlp-bn 784-500-350-10', directions: 'pca', trajectorySteps: steps, grid: [size, size], points, evalExamples: evalSize, evalBatchSize: 500, bnMode: 'batch',
        macsPerExample, firstLayerShareOfMacs: firstLayerMacs / macsPerExample, plainProtocolFlops: flops,
        aRange: [as[0], as.at(-1)], bRange: [bs[0], bs.at(-1)], explainedVariance: pca.explainedVariance, pcaSeconds,
        lossRange: [Math.min(...lossesFinite), Math.max(...lossesFinite)],
      },
      protocol: 'fast and plain interleaved row by row, order alternating; session set-up and the plane\'s three projections counted in fast',
      fast: report(seconds.fast),
      plain: report(seconds.plain),
      speedup: seconds.plain / seconds.fast,
      matmulPeak: { gflops: peak.gflops, n: peak.n, seconds: peak.seconds },
      maxRelativeLossDifference: maxRelativeDifference,
      machine: {
        cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version, onnxruntime: ONNXRUNTIME_VERSION, provider: 'cpu',
        loadAverage: { before: loadBefore, after: loadAfter },
      },
      targets: { speedupAtLeast3: seconds.plain / seconds.fast >= 3 },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
