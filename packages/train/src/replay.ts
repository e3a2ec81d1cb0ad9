import { join } from 'node:path';
import { FILES, SgdwalkError, initialState, resolveLayers, sha256, type Logger } from '@sgdwalk/core';
import { CheckpointReader } from '@sgdwalk/checkpoints';
import { MinibatchSchedule, readPreparedDataset } from '@sgdwalk/data';
import { selectBackend, type BackendRequest } from '@sgdwalk/model';
import { anchorBefore, readAnchorVelocity, readAnchoredRun, splitSha256, type AnchoredRun } from './anchors.js';
import { TrainingSteps, startStepper } from './training-step.js';

/** A replay that cannot reproduce the recorded trajectory: names the step and what differs. */
export class ReplayError extends SgdwalkError {
  override readonly name = 'ReplayError';
  constructor(message: string, file: string, step?: number) {
    super(`${file}${step === undefined ? '' : ` (step ${step})`}: ${message}`, 'replay', { file, step });
  }
}

export interface ReplayOptions {
  /** The train stage's folder of an anchored run. */
  runDir: string;
  /** The prepared dataset the run was trained on. */
  dataDir: string;
  /** The states θ_from … θ_to to produce (inclusive). */
  from: number;
  to: number;
  /** Only these steps of [from, to] are handed to onState (default: all of them). */
  wanted?: ReadonlySet<number>;
  /** The backend to replay on; default: the one the run was trained on (run.json). */
  backend?: BackendRequest;
  /** Each replayed state, verified against the run's recorded hash, in step order; the buffer is reused afterwards. */
  onState: (step: number, epoch: number, state: Float32Array, sha256: string) => Promise<void>;
  log: Logger;
  /** The run, when the caller has read it already. */
  run?: AnchoredRun;
}

export interface ReplayResult {
  anchor: number;
  stepsReplayed: number;
  backend: string;
  seconds: number;
}

/**
 * Replay training from the nearest anchor at or before `from` up to `to` with the run's own settings,
 * data schedule, model and backend, through the training loop's own step code (TrainingSteps), and check
 * every state against the hash recorded while training. Any difference stops the replay at the first
 * step that differs, with what differs (backend, dataset, anchor): never a silently different trajectory.
 */
export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const { runDir, log } = opts;
  const run = opts.run ?? (await readAnchoredRun(runDir));
  const { info, stateHashes } = run;
  const runFile = join(runDir, FILES.run);
  if (!Number.isInteger(opts.from) || !Number.isInteger(opts.to) || opts.from < 0 || opts.from > opts.to) {
    throw new ReplayError(`steps ${opts.from}..${opts.to} are not a range of steps`, runFile);
  }
  if (opts.to > info.steps) {
    throw new ReplayError(`steps ${opts.from}..${opts.to} go past the run's last step ${info.steps}${info.status === 'diverged' ? ' (it diverged)' : ''}`, runFile, opts.to);
  }
  const dataset = await readPreparedDataset(opts.dataDir);
  if (dataset.hash !== info.datasetHash) {
    throw new ReplayError(
      `the prepared dataset in ${opts.dataDir} is not the one this run was trained on (dataset.json sha256 ${dataset.hash.slice(0, 12)}…, the run's ${info.datasetHash.slice(0, 12)}…): replaying on it would follow another trajectory`,
      runFile,
    );
  }
  const trainSplit = splitSha256(dataset.splits.train);
  if (trainSplit !== info.anchors.trainSplitSha256) {
    throw new ReplayError(
      `the training split in ${opts.dataDir} (images and labels sha256 ${trainSplit.slice(0, 12)}…) is not the one this run was trained on (${info.anchors.trainSplitSha256.slice(0, 12)}…): replaying on it would follow another trajectory`,
      runFile,
    );
  }
  const config = info.config;
  const anchor = anchorBefore(info.anchors.steps, opts.from);
  const backend = await selectBackend(opts.backend ?? (info.backend as BackendRequest), log, { purpose: 'replay', field: '--backend', asyncReads: true });
  const layout = info.layout;
  const layers = resolveLayers(info.model);
  const schedule = new MinibatchSchedule(config.seed, dataset.splits.train.count, config.batchSize);
  if (schedule.stepsPerEpoch !== info.stepsPerEpoch) {
    throw new ReplayError(`the training split has ${dataset.splits.train.count} examples, giving ${schedule.stepsPerEpoch} steps per epoch; the run had ${info.stepsPerEpoch}`, runFile);
  }

  // The anchor itself: its stored state (checked by the store against its own sha256) must also be the
  // state training recorded at that step.
  const checkpointsDir = join(runDir, FILES.checkpoints);
  const reader = await CheckpointReader.open(checkpointsDir, { layout });
  let anchorState: Float32Array;
  try {
    const stored = await reader.read(anchor);
    if (stored.sha256 !== stateHashes.get(anchor)) {
      throw new ReplayError(`the anchor's stored state has sha256 ${stored.sha256.slice(0, 12)}…, training recorded ${stateHashes.get(anchor)!.slice(0, 12)}… for this step: the anchor was changed`, checkpointsDir, anchor);
    }
    anchorState = stored.state;
  } finally {
    await reader.close();
  }
  const velocity = await readAnchorVelocity(runDir, info, anchor);
  const theta0 = initialState(layout, config.seed).subarray(0, layout.trainableSize);
  const { state, stepper } = startStepper(layers, layout, config, info.model.classes, {
    state: anchorState,
    optimizer: { previousGrad: null, previousGradNorm: NaN, velocity },
    theta0,
  });
  const steps = new TrainingSteps(dataset.splits.train, dataset.meta, schedule, stepper, config);
  const want = (step: number) => step >= opts.from && (!opts.wanted || opts.wanted.has(step));
  const buffer = new Float32Array(layout.totalSize);
  try {
    if (want(anchor)) await opts.onState(anchor, anchor === 0 ? 0 : schedule.epochOf(anchor), anchorState, stateHashes.get(anchor)!);
    for (let step = anchor + 1; step <= opts.to; step++) {
      const { row } = await steps.take(step);
      const hash = sha256(await state.download(buffer));
      const recorded = stateHashes.get(step)!;
      if (hash !== recorded) throw mismatch(run, { step, anchor, hash, recorded, backend, runFile });
      if (want(step)) await opts.onState(step, row.epoch, buffer, hash);
      log.progress('replay', step - anchor, opts.to - anchor);
    }
  } finally {
    stepper.dispose();
    state.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  log.info(`replayed steps ${anchor + 1}..${opts.to} from anchor ${anchor} on ${backend} in ${seconds.toFixed(1)} s, every state equal to the recorded one`);
  return { anchor, stepsReplayed: opts.to - anchor, backend, seconds };
}

/** The first differing state: what is known to differ from training, else what could. */
function mismatch(
  run: AnchoredRun,
  m: { step: number; anchor: number; hash: string; recorded: string; backend: string; runFile: string },
): ReplayError {
  const differs = m.backend !== run.info.backend
    ? `replayed on backend ${m.backend}, the run was trained on ${run.info.backend}`
    : `same backend (${m.backend}), settings and dataset as training: the anchor at step ${m.anchor} (its state or optimizer state) or this machine's arithmetic differs`;
  return new ReplayError(
    `the replayed state has sha256 ${m.hash.slice(0, 12)}…, training recorded ${m.recorded.slice(0, 12)}… (replaying from anchor ${m.anchor}): ${differs}; stopped, no state of another trajectory was kept`,
    m.runFile,
    m.step,
  );
}
