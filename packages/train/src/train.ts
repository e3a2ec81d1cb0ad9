import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConfigError, EVALUATIONS_TABLE, FILES, METRICS_TABLE, RUN_FORMAT_VERSION, hashJson, initialState, parameterLayout, resolveLayers, sha256, writeFileAtomic, writeManifest,
  type EpochEvaluation, type Logger, type ModelSpec, type RunInfo, type TrainConfig,
} from '@sgdwalk/core';
import { CheckpointReader, CheckpointWriter, writeRows } from '@sgdwalk/checkpoints';
import { MinibatchSchedule, readPreparedDataset, type DatasetMeta } from '@sgdwalk/data';
import { backendAdapter, selectBackend, tf, type DeviceState } from '@sgdwalk/model';
import { AnchorRecorder, anchorSteps, splitSha256, writeStateHashes } from './anchors.js';
import { evaluateSplit } from './evaluate.js';
import { checkpointSteps, windowSteps } from './policy.js';
import { ResumeJournal } from './resume-journal.js';
import type { SgdStepper } from './sgd-step.js';
import { TrainingSteps, startStepper, type TrainingRow } from './training-step.js';

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
  checkModelFitsData(config.model, meta, join(dataDir, FILES.dataset));

  const backend = await selectBackend(config.backend, log, { asyncReads: true });
  const adapter = backendAdapter()?.name;
  const layers = resolveLayers(config.model);
  const layout = parameterLayout(config.model);
  // Refuses (ConfigError on train.batchSize) a batch larger than the split: every epoch has a step.
  const schedule = new MinibatchSchedule(config.seed, train.count, config.batchSize);
  const plannedSteps = Math.min(config.epochs * schedule.stepsPerEpoch, config.maxSteps ?? Infinity);
  // Only now is the run's length known (steps per epoch come from the data): a window past it is a mistake.
  config.checkpoints.windows.forEach((window, i) => {
    const [from] = windowSteps(window, schedule.stepsPerEpoch);
    if (from > plannedSteps) throw new ConfigError(`window starts at step ${from}, after the run's last step ${plannedSteps}`, undefined, `train.checkpoints.windows[${i}]`);
    // Stored up to the last step only: said, so a reader of the window does not expect steps that never were.
    const to = windowSteps(window, schedule.stepsPerEpoch)[1];
    if (to > plannedSteps) log.warn(`train.checkpoints.windows[${i}] ends at step ${to}, after the run's last step ${plannedSteps}: it stores steps ${from}..${plannedSteps}`);
  });
  const anchorsPolicy = config.checkpoints.anchors;
  // Anchors are ordinary checkpoints too: the replay starts from their stored state.
  const toCheckpoint = new Set([...checkpointSteps(config.checkpoints, plannedSteps, schedule.stepsPerEpoch), ...(anchorsPolicy ? anchorSteps(anchorsPolicy.every, plannedSteps) : [])]);
  const runId = hashJson({ config, datasetHash: dataset.hash }).slice(0, 16);
  log.info(`run ${runId}: ${config.model.name}, ${layout.trainableSize} trainable parameters, ${plannedSteps} steps, ${toCheckpoint.size} checkpoints`);

  const initial = initialState(layout, config.seed);
  const checkpointsDir = join(outDir, FILES.checkpoints);
  const checkpointMeta = { runId, model: config.model, layout };
  const journal = await ResumeJournal.open(outDir, runId, log);
  let writer = await CheckpointWriter.create(checkpointsDir, checkpointMeta, { shardSize: config.checkpoints.shardSize, resume: true });
  const resumed = await journal.resumePoint(writer.steps.at(-1));
  if (!resumed && writer.steps.length > 0) {
    // Stored checkpoints without what it takes to continue from them (killed before its first sparse
    // checkpoint, say): start over.
    await writer.close();
    await rm(checkpointsDir, { recursive: true, force: true });
    await journal.reset();
    writer = await CheckpointWriter.create(checkpointsDir, checkpointMeta, { shardSize: config.checkpoints.shardSize });
  }

  const rows: TrainingRow[] = [];
  const evaluations: EpochEvaluation[] = [];
  let state: DeviceState;
  let stepper: SgdStepper;
  const stateBuffer = new Float32Array(layout.totalSize);
  if (resumed) {
    const reader = await CheckpointReader.open(checkpointsDir, { layout });
    const { state: stored } = await reader.read(resumed.step);
    await reader.close();
    ({ state, stepper } = startStepper(layers, layout, config, meta.classes, { state: stored, optimizer: resumed.optimizer, theta0: initial.subarray(0, layout.trainableSize) }));
    rows.push(...resumed.rows.map((row) => ({ ...row, indices: schedule.indicesFor(row.step) })));
    evaluations.push(...resumed.evaluations);
    log.info(`resuming run ${runId} after step ${resumed.step}, its last complete checkpoint`);
  } else {
    ({ state, stepper } = startStepper(layers, layout, config, meta.classes, { state: initial }));
    if (toCheckpoint.has(0)) await writer.append(0, 0, await state.download(stateBuffer));
  }
  const steps = new TrainingSteps(train, meta, schedule, stepper, config, resumed?.optimizer.previousGradNorm ?? NaN);
  const anchors = anchorsPolicy
    ? await AnchorRecorder.open(outDir, checkpointMeta, { every: anchorsPolicy.every, totalSteps: plannedSteps, momentum: config.momentum, resumed })
    : null;
  const isEpochEnd = (step: number) => step % schedule.stepsPerEpoch === 0 || step === plannedSteps;
  const evaluateEpoch = async (step: number, epoch: number) => {
    const added: EpochEvaluation[] = [];
    for (const split of ['validation', 'test'] as const) {
      if (dataset.splits[split].count === 0) continue;
      const { loss, accuracy } = await evaluateSplit(layers, state, dataset.splits[split], meta);
      added.push({ epoch, step, split, loss, accuracy });
    }
    evaluations.push(...added);
    await journal.addEvaluations(added);
    log.info(`epoch ${epoch} (step ${step}): ${added.map((e) => `${e.split} loss ${e.loss.toFixed(4)} acc ${(100 * e.accuracy).toFixed(2)}%`).join(', ')}`);
  };
  // The epoch-end evaluation at the resumed checkpoint may have been lost with the process.
  if (resumed && isEpochEnd(resumed.step) && !evaluations.some((e) => e.step === resumed.step)) {
    await evaluateEpoch(resumed.step, schedule.epochOf(resumed.step));
  }

  let divergence: RunInfo['divergence'];
  let lastGoodStep = resumed?.step ?? 0;
  for (let step = lastGoodStep + 1; step <= plannedSteps; step++) {
    const { row, readout: r } = await steps.take(step);
    const { epoch } = row;
    // An anchored run records every step's state hash (the row carries it through the resume journal).
    const downloaded = anchors || toCheckpoint.has(step) ? await state.download(stateBuffer) : null;
    if (anchors) row.stateSha256 = sha256(downloaded!);
    rows.push(row);
    const { indices: _indices, ...journalRow } = row;
    journal.addRow(journalRow);
    if (![r.loss, r.gradNorm, r.distanceFromInit].every(Number.isFinite)) {
      divergence = { step, message: `non-finite ${Number.isFinite(r.loss) ? 'parameters' : 'loss'} (loss ${r.loss})` };
      log.warn(`training diverged at step ${step}: ${divergence.message}; keeping the ${writer.steps.length} checkpoints up to step ${lastGoodStep}`);
      break;
    }
    lastGoodStep = step;
    if (toCheckpoint.has(step)) {
      const optimizer = await steps.snapshot();
      await journal.beforeCheckpoint(step, optimizer);
      injectFault(step, 'before-checkpoint');
      await writer.append(step, epoch, downloaded!);
      if (anchors?.isAnchor(step)) await anchors.store(step, epoch, optimizer, layout.trainableSize);
      injectFault(step, 'after-checkpoint');
      await journal.afterCheckpoint(step);
    }
    if (isEpochEnd(step)) await evaluateEpoch(step, epoch);
    injectFault(step, 'end-of-step');
    log.progress('train', step, plannedSteps);
  }
  await writer.close();
  await anchors?.close();
  stepper.dispose();
  state.dispose();

  await writeRows(join(outDir, METRICS_TABLE.file), METRICS_TABLE, rows, { runId });
  await writeRows(join(outDir, EVALUATIONS_TABLE.file), EVALUATIONS_TABLE, evaluations, { runId });
  if (anchors) {
    const hashes = [{ step: 0, sha256: sha256(initial) }, ...rows.filter((r) => r.step <= lastGoodStep).map((r) => ({ step: r.step, sha256: r.stateSha256! }))];
    await writeStateHashes(outDir, hashes, runId);
  }
  const seconds = (performance.now() - started) / 1000;
  const run: RunInfo = {
    formatVersion: RUN_FORMAT_VERSION, runId, config, model: config.model, layout, backend, ...(adapter ? { adapter } : {}), datasetHash: dataset.hash,
    stepsPerEpoch: schedule.stepsPerEpoch, steps: lastGoodStep, checkpointSteps: writer.steps, status: divergence ? 'diverged' : 'complete',
    ...(divergence ? { divergence } : {}), seconds,
    ...(anchorsPolicy ? { anchors: { every: anchorsPolicy.every, steps: writer.steps.filter((t) => anchors!.isAnchor(t)), trainSplitSha256: splitSha256(train) } } : {}),
  };
  await writeFileAtomic(join(outDir, FILES.run), JSON.stringify(run, null, 2) + '\n');
  await journal.remove();
  await writeManifest(outDir, {
    stage: 'train', status: run.status, config, inputs: { dataset: dataset.hash },
    versions: { node: process.version, tfjs: tf.version.tfjs, backend, ...(adapter ? { adapter } : {}) },
  });
  log.info(`trained ${lastGoodStep} steps in ${seconds.toFixed(1)} s (${((1000 * seconds) / Math.max(lastGoodStep, 1)).toFixed(1)} ms/step on ${backend})`);
  return run;
}

/**
 * The model must take the dataset's examples as they are: an [H, W, C] input shape equal to the images'
 * (a conv net built for 32×32×3 must not silently read 28×28×1 pixels as something else), a [features]
 * one with their pixel count (an MLP reads images flattened), and the same class count. The error names
 * the config field and the dataset file it disagrees with.
 */
export function checkModelFitsData(model: ModelSpec, meta: DatasetMeta, datasetFile: string): void {
  const shape = JSON.stringify(model.inputShape);
  const images = `${meta.imageShape.join('×')} images of dataset ${meta.dataset} (${datasetFile})`;
  const pixels = meta.imageShape.reduce((a, b) => a * b, 1);
  if (model.inputShape.length === 3) {
    if (model.inputShape.some((d, i) => d !== meta.imageShape[i])) {
      throw new ConfigError(`model ${model.name} takes inputShape ${shape}, but the data are ${images}: the input must be [${meta.imageShape.join(', ')}]`, undefined, 'train.model');
    }
  } else if (model.inputShape.length === 1) {
    if (model.inputShape[0] !== pixels) {
      throw new ConfigError(`model ${model.name} takes inputShape ${shape}, but the data are ${images}: ${pixels} features each`, undefined, 'train.model');
    }
  } else {
    throw new ConfigError(`model ${model.name} takes inputShape ${shape}; it must be [features] or [H, W, C] to read the ${images}`, undefined, 'train.model');
  }
  if (model.classes !== meta.classes) {
    throw new ConfigError(`model ${model.name} has ${model.classes} classes, but dataset ${meta.dataset} (${datasetFile}) has ${meta.classes}`, undefined, 'train.model');
  }
}

/**
 * Fault injection for the crash-safety tests: SGDWALK_FAULT_KILL="<step>:<point>" kills this process
 * with SIGKILL (no cleanup, as kill -9 or a power loss) at that point of that step.
 */
function injectFault(step: number, point: 'before-checkpoint' | 'after-checkpoint' | 'end-of-step'): void {
  if (process.env.SGDWALK_FAULT_KILL === `${step}:${point}`) process.kill(process.pid, 'SIGKILL');
}
