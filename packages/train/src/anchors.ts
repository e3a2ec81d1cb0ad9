import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FILES, STATE_HASHES_TABLE, SgdwalkError, checkAgainstManifest, readRunInfo, sha256, velocityLayout, type ModelSpec, type ParameterLayout, type RunInfo,
} from '@sgdwalk/core';
import { CheckpointReader, CheckpointWriter, readColumns, writeRows } from '@sgdwalk/checkpoints';
import type { SplitData } from '@sgdwalk/data';
import type { OptimizerSnapshot } from './sgd-step.js';

/**
 * An anchored run (train.checkpoints.anchors: { every: N }) keeps, beside its ordinary checkpoints:
 *  - the full state θ_t at every anchor t = 0, N, 2N, … (in checkpoints/, as any checkpoint);
 *  - the optimizer state after each anchor (optimizer/: a checkpoint store of the momentum velocity v_t,
 *    only with momentum > 0 — plain SGD has no state beyond θ);
 *  - every step's state hash, sha256 of θ_t as a checkpoint would store it (state-hashes.arrow),
 * so that any step can be replayed from the nearest anchor and checked bit for bit (replay.ts).
 */
export const ANCHOR_FILES = {
  stateHashes: STATE_HASHES_TABLE.file,
  optimizer: FILES.optimizer,
} as const;

/** sha256 of a split's labels and images: what a replay must feed again, byte for byte. */
export function splitSha256(split: SplitData): string {
  return sha256(sha256(split.labels) + sha256(split.images));
}

/** The anchor steps of a run of `totalSteps` steps: 0 (θ_0) and every multiple of `every` up to the end. */
export function anchorSteps(every: number, totalSteps: number): number[] {
  const steps = [0];
  for (let t = every; t <= totalSteps; t += every) steps.push(t);
  return steps;
}

/** The nearest anchor at or before `step`. */
export function anchorBefore(anchors: readonly number[], step: number): number {
  let best = 0;
  for (const a of anchors) if (a <= step && a > best) best = a;
  return best;
}

/** What the train stage writes at anchors besides the checkpoint itself. */
export class AnchorRecorder {
  private constructor(
    readonly steps: ReadonlySet<number>,
    private readonly writer: CheckpointWriter | null,
  ) {}

  /**
   * For a run continuing after `resumed` (null: from step 0), whose optimizer state then was `optimizer`.
   * The velocity is appended after its step's checkpoint, so a crash between the two leaves the
   * velocity of the resumed checkpoint missing: it is taken from the resume journal's record.
   */
  static async open(
    outDir: string,
    meta: { runId: string; model: ModelSpec; layout: ParameterLayout },
    opts: { every: number; totalSteps: number; momentum: number; resumed: { step: number; optimizer: OptimizerSnapshot } | null },
  ): Promise<AnchorRecorder> {
    const steps = new Set(anchorSteps(opts.every, opts.totalSteps));
    const dir = join(outDir, ANCHOR_FILES.optimizer);
    if (!opts.resumed) await rm(dir, { recursive: true, force: true });
    if (opts.momentum === 0) return new AnchorRecorder(steps, null);
    const writer = await CheckpointWriter.create(dir, { ...meta, layout: velocityLayout(meta.layout) }, { shardSize: 64, resume: opts.resumed !== null });
    const { resumed } = opts;
    if (resumed && steps.has(resumed.step) && resumed.step > 0 && !writer.steps.includes(resumed.step)) {
      await writer.append(resumed.step, 0, velocityOf(resumed.optimizer, meta.layout.trainableSize));
    }
    return new AnchorRecorder(steps, writer);
  }

  isAnchor(step: number): boolean {
    return this.steps.has(step);
  }

  /** After checkpoint `step` (an anchor) is stored: the optimizer state after it. */
  async store(step: number, epoch: number, optimizer: OptimizerSnapshot, trainableSize: number): Promise<void> {
    if (this.writer && step > 0) await this.writer.append(step, epoch, velocityOf(optimizer, trainableSize));
  }

  async close(): Promise<void> {
    await this.writer?.close();
  }
}

/** v_t, or zeros before the first step (v_0 = 0 gives v_1 = d_1, PyTorch's first step, exactly). */
function velocityOf(optimizer: OptimizerSnapshot, trainableSize: number): Float32Array {
  return optimizer.velocity ?? new Float32Array(trainableSize);
}

export async function writeStateHashes(outDir: string, hashes: readonly { step: number; sha256: string }[], runId: string): Promise<void> {
  await writeRows(join(outDir, STATE_HASHES_TABLE.file), STATE_HASHES_TABLE, hashes, { runId });
}

/** An anchored run folder, read and checked against its train manifest. */
export interface AnchoredRun {
  info: RunInfo & { anchors: NonNullable<RunInfo['anchors']> };
  /** sha256 of θ_t by step, 0 … info.steps. */
  stateHashes: Map<number, string>;
}

/**
 * Read run.json and state-hashes.arrow of `runDir` (both checked against the train manifest). A run
 * without anchors is an error that says which of its steps exist.
 */
export async function readAnchoredRun(runDir: string): Promise<AnchoredRun> {
  const runPath = join(runDir, FILES.run);
  await checkAgainstManifest(runDir, [FILES.run]);
  const info = await readRunInfo(runPath);
  const { anchors } = info;
  if (!anchors) {
    throw new SgdwalkError(
      `${runPath}: run ${info.runId} has no anchors (train.checkpoints.anchors was not set), so only its stored steps exist and none can be replayed`,
      'replay', { file: runPath },
    );
  }
  const hashesPath = join(runDir, ANCHOR_FILES.stateHashes);
  await checkAgainstManifest(runDir, [ANCHOR_FILES.stateHashes]);
  const { columns, numRows } = await readColumns(hashesPath, STATE_HASHES_TABLE);
  const { step: steps, sha256: hashes } = columns;
  const stateHashes = new Map<number, string>();
  for (let i = 0; i < numRows; i++) stateHashes.set(steps[i], hashes[i]);
  for (let t = 0; t <= info.steps; t++) {
    if (!stateHashes.has(t)) throw new SgdwalkError(`${hashesPath}: no state hash for step ${t} (the run took ${info.steps} steps)`, 'read', { file: hashesPath, step: t });
  }
  return { info: { ...info, anchors }, stateHashes };
}

/** The velocity stored after anchor `step` (null at step 0 or without momentum). */
export async function readAnchorVelocity(runDir: string, info: AnchoredRun['info'], step: number): Promise<Float32Array | null> {
  if (step === 0 || info.config.momentum === 0) return null;
  const reader = await CheckpointReader.open(join(runDir, ANCHOR_FILES.optimizer), { layout: velocityLayout(info.layout) });
  try {
    return (await reader.read(step)).state;
  } finally {
    await reader.close();
  }
}
