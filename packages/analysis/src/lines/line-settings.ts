import type { AnalyzeConfig, Logger, ModelSpec, ParameterLayout } from '@sgdwalk/core';
import { createNaiveEngine, type InterpolationEngine } from '../engines/engine.js';
import type { EvaluationSet } from '../engines/evaluation-set.js';
import { createFastEngine } from '../engines/fast-engine.js';

/**
 * The settings a line (or a surface row) is evaluated with, and the one place they become an engine and a
 * part of a content key: the embedded pass, the surfaces and a queue worker all open their engines here,
 * and every content key takes its settings from `keyedSettings`.
 */

export type EngineKind = 'fast' | 'naive';

/** What an evaluation depends on besides the ends and the evaluation set: from the analyze config. */
export type LineSettings = Pick<AnalyzeConfig, 'bnMode' | 'evalBatchSize' | 'provider'> & { engine?: EngineKind };

/** The network evaluated: the run's model and layout, and an imported run's own evaluation graph. */
export interface EvaluatedNetwork {
  model: ModelSpec;
  layout: ParameterLayout;
  graph?: Uint8Array;
}

/**
 * The settings that change a value and so enter its content key. The provider and the engine do not: they
 * compute the same numbers (the equivalence tests hold them to it).
 */
export function keyedSettings(settings: Pick<LineSettings, 'bnMode' | 'evalBatchSize'>): { bnMode: AnalyzeConfig['bnMode']; evalBatchSize: number } {
  return { bnMode: settings.bnMode, evalBatchSize: settings.evalBatchSize };
}

/** An engine over `evalSet` with the settings' batch size, BN mode and provider. */
export function openEngine(settings: LineSettings, network: EvaluatedNetwork, evalSet: EvaluationSet, log: Logger): Promise<InterpolationEngine> {
  const options = {
    model: network.model, layout: network.layout, bnMode: settings.bnMode, evalSet, evalBatchSize: settings.evalBatchSize, provider: settings.provider, log, graph: network.graph,
  };
  return settings.engine === 'naive' ? createNaiveEngine(options) : createFastEngine(options);
}
