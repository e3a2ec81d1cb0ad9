import { appendFile, mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FILES, writeFileAtomic, type EpochEvaluation, type Logger, type StepMetrics } from '@sgdwalk/core';
import type { OptimizerSnapshot } from './sgd-step.js';

/**
 * A metrics row without its minibatch indices: those follow from (seed, step) through the schedule. An
 * anchored run's rows also carry the state hash of the step (docs/anchors.md).
 */
export type JournalRow = Omit<StepMetrics, 'indices'> & { stateSha256?: string };

/** Where an interrupted run continues: its last complete checkpoint and everything logged up to it. */
export interface ResumePoint {
  step: number;
  rows: JournalRow[];
  evaluations: EpochEvaluation[];
  optimizer: OptimizerSnapshot;
}

const DIR = '.resume'; // dot-prefixed: never listed as an output of the stage
const RUN_ID = 'run-id';
const METRICS = 'metrics.jsonl';
const EVALUATIONS = 'evaluations.jsonl';
const optimizerFile = (step: number) => `optimizer-${String(step).padStart(9, '0')}.bin`;

/** JSON has no NaN or ±Infinity; non-finite numbers travel as strings and come back exactly. */
const encode = (value: object) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
const decode = <T>(line: string): T => JSON.parse(line, (_k, v: unknown) => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v)) as T;

async function appendDurably(path: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await appendFile(path, lines.join('\n') + '\n');
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  // A line torn by a crash is the last one and has no newline: drop it.
  return text.split('\n').slice(0, -1).map((line) => decode<T>(line));
}

/**
 * The train stage's journal inside its staging folder, so a run killed at any moment (kill -9, power
 * loss) continues from its last complete checkpoint and ends bit-identical to an uninterrupted run.
 * Order per checkpoint step t: the metrics rows up to t are appended and fsync'd, then the optimizer
 * state after t is written atomically, then checkpoint t is appended (fsync'd by the writer); older
 * optimizer states go only after that. So for the last stored checkpoint c, rows 1..c and the optimizer
 * state at c are always on disk.
 */
export class ResumeJournal {
  private pendingRows: string[] = [];

  private constructor(private readonly dir: string) {}

  /**
   * Open the journal of `outDir` for run `runId`. A journal of another run (other settings or data) and
   * everything beside it is discarded: the folder starts over.
   */
  static async open(outDir: string, runId: string, log: Logger): Promise<ResumeJournal> {
    const dir = join(outDir, DIR);
    const previousRun = await readFile(join(dir, RUN_ID), 'utf8').catch(() => null);
    if (previousRun !== runId) {
      if (previousRun !== null) log.info(`discarding an interrupted run of other settings (${previousRun}) in ${outDir}`);
      // Only what a train stage writes: the folder is the stage's own, but never delete more than ours.
      for (const name of [DIR, FILES.checkpoints, FILES.metrics, FILES.evaluations, FILES.run, FILES.manifest]) {
        await rm(join(outDir, name), { recursive: true, force: true });
      }
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, RUN_ID), runId);
    }
    return new ResumeJournal(dir);
  }

  /** Forget everything logged: the run starts over from step 0. */
  async reset(): Promise<void> {
    this.pendingRows = [];
    for (const name of await readdir(this.dir)) if (name !== RUN_ID) await rm(join(this.dir, name), { force: true });
  }

  /** The point to continue from, given the last checkpoint the store holds; null to start at step 0. */
  async resumePoint(lastCheckpoint: number | undefined): Promise<ResumePoint | null> {
    if (lastCheckpoint === undefined || lastCheckpoint === 0) return null;
    const bytes = await readFile(join(this.dir, optimizerFile(lastCheckpoint))).catch(() => null);
    if (!bytes) return null;
    const rows = (await readLines<JournalRow>(join(this.dir, METRICS))).filter((r) => r.step <= lastCheckpoint);
    if (rows.length !== lastCheckpoint || rows.some((r, i) => r.step !== i + 1)) return null;
    const evaluations = (await readLines<EpochEvaluation>(join(this.dir, EVALUATIONS))).filter((e) => e.step <= lastCheckpoint);
    // Rewrite both logs without the rows past the checkpoint: those steps are taken again.
    await writeFile(join(this.dir, METRICS), rows.map(encode).join('\n') + (rows.length ? '\n' : ''));
    await writeFile(join(this.dir, EVALUATIONS), evaluations.map(encode).join('\n') + (evaluations.length ? '\n' : ''));
    return { step: lastCheckpoint, rows, evaluations, optimizer: decodeOptimizer(bytes) };
  }

  addRow(row: JournalRow): void {
    this.pendingRows.push(encode(row));
  }

  async addEvaluations(evaluations: EpochEvaluation[]): Promise<void> {
    await appendDurably(join(this.dir, EVALUATIONS), evaluations.map(encode));
  }

  /** Before checkpoint `step` is appended: the rows so far and the optimizer state after `step`. */
  async beforeCheckpoint(step: number, optimizer: OptimizerSnapshot): Promise<void> {
    await appendDurably(join(this.dir, METRICS), this.pendingRows);
    this.pendingRows = [];
    await writeFileAtomic(join(this.dir, optimizerFile(step)), encodeOptimizer(optimizer));
  }

  /** After checkpoint `step` is stored: optimizer states of earlier checkpoints are no longer needed. */
  async afterCheckpoint(step: number): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('optimizer-') && name < optimizerFile(step)) await rm(join(this.dir, name), { force: true });
    }
  }

  /** The run completed: the journal has served its purpose. */
  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** [flags u32][pad u32][previousGradNorm f64][previousGrad f32 × n]?[velocity f32 × n]? */
function encodeOptimizer({ previousGrad, previousGradNorm, velocity }: OptimizerSnapshot): Uint8Array {
  const n = previousGrad?.length ?? velocity?.length ?? 0;
  const bytes = new Uint8Array(16 + 4 * n * ((previousGrad ? 1 : 0) + (velocity ? 1 : 0)));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, (previousGrad ? 1 : 0) | (velocity ? 2 : 0), true);
  view.setUint32(4, n, true);
  view.setFloat64(8, previousGradNorm, true);
  let offset = 16;
  for (const vector of [previousGrad, velocity]) {
    if (!vector) continue;
    bytes.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), offset);
    offset += vector.byteLength;
  }
  return bytes;
}

function decodeOptimizer(bytes: Uint8Array): OptimizerSnapshot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint32(0, true);
  const n = view.getUint32(4, true);
  let offset = 16;
  const take = (present: boolean) => {
    if (!present) return null;
    const vector = new Float32Array(n);
    new Uint8Array(vector.buffer).set(bytes.subarray(offset, offset + 4 * n));
    offset += 4 * n;
    return vector;
  };
  const previousGrad = take((flags & 1) !== 0);
  const velocity = take((flags & 2) !== 0);
  return { previousGrad, previousGradNorm: view.getFloat64(8, true), velocity };
}
