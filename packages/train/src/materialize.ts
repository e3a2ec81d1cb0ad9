import { dirname, join, resolve } from 'node:path';
import { ConfigError, FILES, type Logger, type RunInfo } from '@sgdwalk/core';
import { CheckpointReader, CheckpointSet, DEFAULT_CACHE_BYTES, MaterializedCache, type CheckpointLocation } from '@sgdwalk/checkpoints';
import type { BackendRequest } from '@sgdwalk/model';
import { anchorBefore, readAnchoredRun } from './anchors.js';
import { ReplayError, replay } from './replay.js';

/** Where replayed checkpoints go unless told otherwise: the `materialized` folder beside the run folder. */
export function defaultCacheDir(runDir: string): string {
  return join(dirname(resolve(runDir)), 'materialized');
}

/** "A..B" (or a single step "A") as an inclusive range; anything else is a ConfigError on `field`. */
export function parseStepRange(text: string, field = '--steps'): [number, number] {
  const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(text);
  if (!m) throw new ConfigError(`"${text}" is not a step range: write A..B (inclusive) or one step A`, undefined, field);
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > to) throw new ConfigError(`range ${from}..${to} must be A..B with A <= B`, undefined, field);
  return [from, to];
}

export interface MaterializeOptions {
  runDir: string;
  dataDir: string;
  /** The states θ_t wanted. */
  steps: readonly number[];
  cacheDir?: string;
  maxBytes?: number;
  backend?: BackendRequest;
  log: Logger;
  /** The run's stored checkpoints, when the caller has read the store's index already (not read again). */
  stored?: ReadonlyMap<number, CheckpointLocation>;
}

export interface MaterializeResult {
  /** Every wanted step's checkpoint folder and sha256: the run's own store, or a cache entry. */
  locations: Map<number, CheckpointLocation>;
  stored: number;
  reused: number;
  replayed: number;
  /** Training steps replayed in all (from the anchors to the last wanted step of each stretch). */
  stepsTaken: number;
  cacheDir: string;
  seconds: number;
}

/**
 * Every wanted state of an anchored run as an ordinary checkpoint file: stored ones where they are,
 * the others from the cache, or replayed from their nearest anchor (verified against the recorded
 * state hashes) into the cache. Wanted steps are replayed in stretches: one replay per anchor, going on
 * to the next wanted step while that is cheaper than restarting from its own anchor.
 */
export async function materializeSteps(opts: MaterializeOptions): Promise<MaterializeResult> {
  const started = performance.now();
  const { runDir, log } = opts;
  const run = await readAnchoredRun(runDir);
  const { info, stateHashes } = run;
  const cacheDir = resolve(opts.cacheDir ?? defaultCacheDir(runDir));
  const wanted = [...new Set(opts.steps)].sort((a, b) => a - b);
  const beyond = wanted.filter((t) => !Number.isInteger(t) || t < 0 || t > info.steps);
  if (beyond.length > 0) {
    throw new ReplayError(`step ${beyond[0]} is not a step of this run (0..${info.steps}${info.status === 'diverged' ? ', it diverged' : ''})`, join(runDir, FILES.run), beyond[0]);
  }
  const locations = new Map<number, CheckpointLocation>();
  const stored = opts.stored ?? (await storedCheckpoints(join(runDir, FILES.checkpoints), info.layout));
  for (const step of wanted) {
    const location = stored.get(step);
    if (location) locations.set(step, location);
  }
  const storedCount = locations.size;
  const cache = await MaterializedCache.open(cacheDir, opts.maxBytes ?? DEFAULT_CACHE_BYTES);
  const pinned = new Set(wanted.filter((t) => !locations.has(t)).map((t) => stateHashes.get(t)!));
  // Before replaying anything: the wanted states must fit in the cache at once.
  const entryBytes = 4 * info.layout.totalSize;
  if (pinned.size * entryBytes > cache.maxBytes) {
    throw new ConfigError(
      `${pinned.size} states of ${entryBytes} bytes are wanted at once, more than the replay cache's bound of ${cache.maxBytes} bytes (${cacheDir}): raise it (analyze.replay.maxBytes, sgdwalk materialize --cache-max-bytes) or ask for fewer steps`,
      undefined, 'analyze.replay.maxBytes',
    );
  }
  const missing: number[] = [];
  let reused = 0;
  for (const step of wanted) {
    if (locations.has(step)) continue;
    const cached = await cache.get(stateHashes.get(step)!);
    if (cached) {
      locations.set(step, { dir: cached.dir, sha256: cached.sha256 });
      reused++;
    } else missing.push(step);
  }

  let stepsTaken = 0;
  const meta = { runId: info.runId, model: info.model, layout: info.layout };
  for (const stretch of replayStretches(missing, info.anchors.steps)) {
    const result = await replay({
      runDir, dataDir: opts.dataDir, from: stretch[0], to: stretch.at(-1)!, wanted: new Set(stretch), backend: opts.backend, log, run,
      onState: async (step, epoch, state, sha256) => {
        const entry = await cache.put(meta, { step, epoch, state, sha256 }, pinned);
        locations.set(step, { dir: entry.dir, sha256 });
      },
    });
    stepsTaken += result.stepsReplayed;
  }
  const seconds = (performance.now() - started) / 1000;
  if (missing.length > 0 || reused > 0) {
    log.info(`steps of run ${info.runId}: ${storedCount} stored, ${reused} reused from the replay cache, ${missing.length} replayed (${stepsTaken} steps taken) into ${cacheDir} in ${seconds.toFixed(1)} s`);
  }
  return { locations, stored: storedCount, reused, replayed: missing.length, stepsTaken, cacheDir, seconds };
}

/** The stored checkpoints of a store folder by step (its index read, the reader closed). */
async function storedCheckpoints(dir: string, layout: RunInfo['layout']): Promise<Map<number, CheckpointLocation>> {
  const reader = await CheckpointReader.open(dir, { layout });
  try {
    return new Map(reader.steps.map((step) => [step, { dir, sha256: reader.hashOf(step) }]));
  } finally {
    await reader.close();
  }
}

/**
 * Missing steps (ascending) grouped into replays: a stretch goes on to the next missing step when that
 * is no farther from the stretch's end than from its own nearest anchor.
 */
export function replayStretches(missing: readonly number[], anchors: readonly number[]): number[][] {
  const stretches: number[][] = [];
  for (const step of missing) {
    const current = stretches.at(-1);
    if (current && step - current.at(-1)! <= step - anchorBefore(anchors, step)) current.push(step);
    else stretches.push([step]);
  }
  return stretches;
}

export interface AnalysisCheckpointsOptions {
  runDir: string;
  dataDir: string;
  run: RunInfo;
  /** analyze.steps: pairs (θ_{t−1}, θ_t) with t in the window. */
  window?: readonly [number, number];
  /** Further single states the analysis reads (the sharpness steps). */
  steps?: readonly number[];
  replay?: { cacheDir?: string; maxBytes?: number };
  log: Logger;
}

/**
 * The checkpoints an analysis reads. A run without anchors: the stored ones, as stored. An anchored
 * run: every state θ_{from−1} … θ_to of the window and the other states named (sharpness steps) that
 * the run does not store are materialised first (replayed or taken from the cache), so every pair of
 * the window is there, any window, declared before training or not. Without a window, an anchored run's
 * stored pairs are analysed, as any run's.
 */
export async function openAnalysisCheckpoints(opts: AnalysisCheckpointsOptions): Promise<CheckpointSet> {
  const { run } = opts;
  // The store's index is read once: the set keeps its reader open for the analysis' reads.
  const store = await CheckpointSet.openStore(join(opts.runDir, FILES.checkpoints), run.layout);
  if (!run.anchors || !(opts.window || opts.steps?.length)) return store;
  const wanted: number[] = [];
  if (opts.window) for (let t = Math.max(0, opts.window[0] - 1); t <= Math.min(opts.window[1], run.steps); t++) wanted.push(t);
  for (const t of opts.steps ?? []) if (t <= run.steps) wanted.push(t);
  if (!wanted.some((t) => !store.has(t))) return store;
  try {
    const stored = new Map(store.steps.map((step) => [step, store.locate(step)]));
    const result = await materializeSteps({
      runDir: opts.runDir, dataDir: opts.dataDir, steps: wanted, cacheDir: opts.replay?.cacheDir, maxBytes: opts.replay?.maxBytes, log: opts.log, stored,
    });
    return store.extend(result.locations);
  } catch (e) {
    await store.close();
    throw e;
  }
}
