import { Rng, initialState, inputFeatures, parameterLayout, type AnalyzeConfig, type Logger, type ModelSpec } from '@sgdwalk/core';
import { createFastEngine } from '../engines/fast-engine.js';

/** What one interpolation line of an analysis costs here, measured before a run (for its projection). */
export interface LineCost {
  msPerLine: number;
  /** The execution provider it was measured on, with its device. */
  provider: string;
}

/** The probe evaluates at most this many examples and scales to the evaluation set: it must stay short. */
const PROBE_EXAMPLES = 256;
/** α points timed; the line's cost is scaled to the grid's size (a line costs its points). */
const PROBE_ALPHAS = [0.25, 0.75];

/**
 * Milliseconds of one line of the analysis' settings on the engine the analysis uses (the fast engine, its
 * provider chosen as the analysis chooses it): two seeded states, one untimed line (session setup), then a
 * line of PROBE_ALPHAS on up to PROBE_EXAMPLES synthetic examples, scaled linearly to the grid's
 * `alphas` points and `examples` of the evaluation set.
 */
export async function measureLineCost(
  opts: { model: ModelSpec; alphas: number; examples: number; settings: Pick<AnalyzeConfig, 'evalBatchSize' | 'bnMode' | 'provider'>; log: Logger },
): Promise<LineCost> {
  const { model, settings } = opts;
  const layout = parameterLayout(model);
  const features = inputFeatures(model);
  const count = Math.max(1, Math.min(opts.examples, settings.evalBatchSize, PROBE_EXAMPLES));
  const rng = new Rng(3);
  const evalSet = {
    x: Float32Array.from({ length: count * features }, () => rng.normal()),
    labels: Int32Array.from({ length: count }, () => rng.int(model.classes)),
    count,
    features,
  };
  const engine = await createFastEngine({ model, layout, bnMode: settings.bnMode, evalSet, evalBatchSize: settings.evalBatchSize, provider: settings.provider, log: opts.log });
  try {
    const a = await engine.prepare(initialState(layout, 0));
    const b = await engine.prepare(initialState(layout, 1));
    await engine.interpolate(a, b, [0.5]);
    const started = performance.now();
    await engine.interpolate(a, b, PROBE_ALPHAS);
    const ms = performance.now() - started;
    return { msPerLine: (ms * opts.alphas * opts.examples) / (PROBE_ALPHAS.length * count), provider: `${engine.provider} (${engine.device})` };
  } finally {
    await engine.release();
  }
}
