import { Rng, initialState, inputFeatures, parameterLayout, type AnalyzeConfig, type Logger, type ModelSpec } from '@sgdwalk/core';
import { createFastEngine } from '../engines/fast-engine.js';

/** What one interpolation line of an analysis costs here, measured before a run (for its projection). */
export interface LineCost {
  msPerLine: number;
  /** The execution provider it was measured on, with its device. */
  provider: string;
}


/**
 * Milliseconds of one line of the analysis' settings on the engine the analysis uses (the fast engine, its
 * provider chosen as the analysis chooses it), on synthetic examples. A line is ⌈examples / batch⌉ engine
 * runs of the analysis' batch; its cost is fitted as a fixed part plus a part per batch from a line of one
 * batch and one of two. (Scaling one small probe linearly multiplied its fixed part by the batches: on the
 * default pipeline it projected 2.8 s a line against 0.3 s measured; probes smaller than a batch run less
 * efficiently than the batch does and overestimate too.)
 */
export async function measureLineCost(
  opts: { model: ModelSpec; alphas: number; examples: number; settings: Pick<AnalyzeConfig, 'evalBatchSize' | 'bnMode' | 'provider'>; log: Logger },
): Promise<LineCost> {
  const batch = Math.max(1, Math.min(opts.examples, opts.settings.evalBatchSize));
  const batches = Math.ceil(opts.examples / batch);
  const one = await timeLine(opts, batch);
  if (batches === 1) return { msPerLine: one.ms, provider: one.provider };
  const two = await timeLine(opts, Math.min(opts.examples, 2 * batch));
  // Noise can make the second probe no slower than the first: then each batch is taken to cost half of it.
  const perBatch = two.ms > one.ms ? two.ms - one.ms : two.ms / 2;
  const fixed = Math.max(0, one.ms - perBatch);
  return { msPerLine: fixed + perBatch * batches, provider: one.provider };
}

/** One line at as many α as the grid over `count` synthetic examples, after an untimed one (session setup). */
async function timeLine(
  opts: { model: ModelSpec; alphas: number; settings: Pick<AnalyzeConfig, 'evalBatchSize' | 'bnMode' | 'provider'>; log: Logger },
  count: number,
): Promise<{ ms: number; provider: string }> {
  const { model, settings } = opts;
  const layout = parameterLayout(model);
  const features = inputFeatures(model);
  const rng = new Rng(3);
  const evalSet = {
    x: Float32Array.from({ length: count * features }, () => rng.normal()),
    labels: Int32Array.from({ length: count }, () => rng.int(model.classes)),
    count,
    features,
  };
  const engine = await createFastEngine({ model, layout, bnMode: settings.bnMode, evalSet, evalBatchSize: settings.evalBatchSize, provider: settings.provider, log: opts.log });
  try {
    // As many α as the grid: the fast engine runs them together, so their cost is not linear in their count,
    // and it builds a session per count, whose setup is paid once per analysis, not per line.
    const alphas = Array.from({ length: Math.max(1, opts.alphas) }, (_, i) => (i + 0.5) / Math.max(1, opts.alphas));
    const [a, b, c] = await Promise.all([0, 1, 2].map((seed) => engine.prepare(initialState(layout, seed))));
    await engine.interpolate(a, b, alphas);
    const started = performance.now();
    await engine.interpolate(b, c, alphas);
    return { ms: performance.now() - started, provider: `${engine.provider} (${engine.device})` };
  } finally {
    await engine.release();
  }
}
