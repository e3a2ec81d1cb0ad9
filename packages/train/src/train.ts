import { join } from 'node:path';
import {
  ConfigError, FILES, RUN_FORMAT_VERSION, hashJson, initialState, parameterLayout, resolveLayers, writeFileAtomic, writeManifest,
  type EpochEvaluation, type Logger, type RunInfo, type StepMetrics, type TrainConfig,
} from '@sgdwalk/core';
import { CheckpointWriter, writeTable } from '@sgdwalk/checkpoints';
import { MinibatchSchedule, labelsOf, readPreparedDataset, toFloat32 } from '@sgdwalk/data';
import { DeviceState, selectBackend, tf } from '@sgdwalk/model';
import { evaluateSplit } from './evaluate.js';
import { checkpointSteps } from './policy.js';
import { SgdStepper } from './sgd-step.js';

export interface TrainOptions {
  config: TrainConfig;
  /** The data stage's folder (prepared dataset). */
  dataDir: string;
  /** This stage's folder: run.json, metrics.arrow, evaluations.arrow, checkpoints/. */
  outDir: string;
  log: Logger;
}

/**
 * The train stage: SGD from a seeded init over the seeded minibatch schedule, one metrics row per step,
 * checkpoints by the declarative policy, validation/test evaluation per epoch. A non-finite loss or
 * parameter stops the run cleanly: everything stored up to the last finite step stays valid and the run
 * is marked diverged (analysis and report still work on it).
 */
export async function trainRun({ config, dataDir, outDir, log }: TrainOptions): Promise<RunInfo> {
  const started = performance.now();
  const dataset = await readPreparedDataset(dataDir);
  const { meta } = dataset;
  const train = dataset.splits.train;
  const features = meta.imageShape.reduce((a, b) => a * b, 1);
  const modelFeatures = config.model.inputShape.reduce((a, b) => a * b, 1);
  if (modelFeatures !== features) {
    throw new ConfigError(`model input ${JSON.stringify(config.model.inputShape)} has ${modelFeatures} features; dataset ${meta.dataset} has ${features}`, undefined, 'train.model.inputShape');
  }
  if (config.model.classes !== meta.classes) {
    throw new ConfigError(`model has ${config.model.classes} classes; dataset ${meta.dataset} has ${meta.classes}`, undefined, 'train.model.classes');
  }

  const backend = await selectBackend(config.backend, log);
  const layers = resolveLayers(config.model);
  const layout = parameterLayout(config.model);
  // Refuses (ConfigError on train.batchSize) a batch larger than the split: every epoch has a step.
  const schedule = new MinibatchSchedule(config.seed, train.count, config.batchSize);
  const plannedSteps = Math.min(config.epochs * schedule.stepsPerEpoch, config.maxSteps ?? Infinity);
  const toCheckpoint = new Set(checkpointSteps(config.checkpoints, plannedSteps));
  const runId = hashJson({ config, datasetHash: dataset.hash }).slice(0, 16);
  log.info(`run ${runId}: ${config.model.name}, ${layout.trainableSize} trainable parameters, ${plannedSteps} steps, ${toCheckpoint.size} checkpoints`);

  const state = new DeviceState(layout, initialState(layout, config.seed));
  const stepper = new SgdStepper(layers, state, config, meta.classes);
  const writer = await CheckpointWriter.create(join(outDir, FILES.checkpoints), { runId, model: config.model, layout }, { shardSize: config.checkpoints.shardSize });
  const stateBuffer = new Float32Array(layout.totalSize);
  if (toCheckpoint.has(0)) await writer.append(0, 0, state.download(stateBuffer));

  const rows: StepMetrics[] = [];
  const evaluations: EpochEvaluation[] = [];
  let previousGradNorm = NaN;
  let xBuffer: Float32Array | undefined;
  let divergence: RunInfo['divergence'];
  let lastGoodStep = 0;
  for (let step = 1; step <= plannedSteps; step++) {
    const epoch = schedule.epochOf(step);
    const indices = schedule.indicesFor(step);
    xBuffer = toFloat32(train, indices, meta, xBuffer);
    const r = stepper.step(xBuffer, labelsOf(train, indices));
    rows.push({
      step, epoch, lr: config.lr, batchSize: config.batchSize, loss: r.loss, accuracy: r.correct / indices.length,
      gradNorm: r.gradNorm, gradCosine: r.gradDotPrevious / (r.gradNorm * previousGradNorm),
      updateNorm: r.updateNorm, distanceFromInit: r.distanceFromInit, indices,
    });
    previousGradNorm = r.gradNorm;
    if (![r.loss, r.gradNorm, r.distanceFromInit].every(Number.isFinite)) {
      divergence = { step, message: `non-finite ${Number.isFinite(r.loss) ? 'parameters' : 'loss'} (loss ${r.loss})` };
      log.warn(`training diverged at step ${step}: ${divergence.message}; keeping the ${writer.steps.length} checkpoints up to step ${lastGoodStep}`);
      break;
    }
    lastGoodStep = step;
    if (toCheckpoint.has(step)) await writer.append(step, epoch, state.download(stateBuffer));
    if (step % schedule.stepsPerEpoch === 0 || step === plannedSteps) {
      for (const split of ['validation', 'test'] as const) {
        if (dataset.splits[split].count === 0) continue;
        const { loss, accuracy } = evaluateSplit(layers, state, dataset.splits[split], meta);
        evaluations.push({ epoch, step, split, loss, accuracy });
      }
      const last = evaluations.filter((e) => e.step === step);
      log.info(`epoch ${epoch} (step ${step}): ${last.map((e) => `${e.split} loss ${e.loss.toFixed(4)} acc ${(100 * e.accuracy).toFixed(2)}%`).join(', ')}`);
    }
    log.progress('train', step, plannedSteps);
  }
  await writer.close();
  stepper.dispose();
  state.dispose();

  await writeTable(join(outDir, FILES.metrics), metricsColumns(rows), { runId });
  await writeTable(join(outDir, FILES.evaluations), {
    epoch: Int32Array.from(evaluations, (e) => e.epoch),
    step: Int32Array.from(evaluations, (e) => e.step),
    split: evaluations.map((e) => e.split),
    loss: Float64Array.from(evaluations, (e) => e.loss),
    accuracy: Float64Array.from(evaluations, (e) => e.accuracy),
  }, { runId });
  const seconds = (performance.now() - started) / 1000;
  const run: RunInfo = {
    formatVersion: RUN_FORMAT_VERSION, runId, config, model: config.model, layout, backend, datasetHash: dataset.hash,
    stepsPerEpoch: schedule.stepsPerEpoch, steps: lastGoodStep, checkpointSteps: writer.steps, status: divergence ? 'diverged' : 'complete',
    ...(divergence ? { divergence } : {}), seconds,
  };
  await writeFileAtomic(join(outDir, FILES.run), JSON.stringify(run, null, 2) + '\n');
  await writeManifest(outDir, {
    stage: 'train', status: run.status, config, inputs: { dataset: dataset.hash },
    versions: { node: process.version, tfjs: tf.version.tfjs, backend },
  });
  log.info(`trained ${lastGoodStep} steps in ${seconds.toFixed(1)} s (${((1000 * seconds) / Math.max(lastGoodStep, 1)).toFixed(1)} ms/step on ${backend})`);
  return run;
}

function metricsColumns(rows: StepMetrics[]) {
  return {
    step: Int32Array.from(rows, (r) => r.step),
    epoch: Int32Array.from(rows, (r) => r.epoch),
    lr: Float64Array.from(rows, (r) => r.lr),
    batchSize: Int32Array.from(rows, (r) => r.batchSize),
    loss: Float64Array.from(rows, (r) => r.loss),
    accuracy: Float64Array.from(rows, (r) => r.accuracy),
    gradNorm: Float64Array.from(rows, (r) => r.gradNorm),
    gradCosine: Float64Array.from(rows, (r) => r.gradCosine),
    updateNorm: Float64Array.from(rows, (r) => r.updateNorm),
    distanceFromInit: Float64Array.from(rows, (r) => r.distanceFromInit),
    indices: rows.map((r) => r.indices),
  };
}
