import type { AnalyzeConfig, Logger, ModelSpec, ParameterLayout } from '@sgdwalk/core';
import { createNaiveEngine, type InterpolationEngine } from '../engines/engine.js';
import type { EvaluationSet } from '../engines/evaluation-set.js';
import { createFastEngine } from '../engines/fast-engine.js';
import { allowCudaTf32 } from '../devices/cuda-precision.js';

/**
 * The settings a line (or a surface row) is evaluated with, and the one place they become an engine and a
 * part of a content key: the embedded pass, the surfaces and a queue worker all open their engines here,
 * and every content key takes its settings from `keyedSettings`.
 */

export type EngineKind = 'fast' | 'naive';

/** What an evaluation depends on besides the ends and the evaluation set: from the analyze config. */
export type LineSettings = Pick<AnalyzeConfig, 'bnMode' | 'evalBatchSize' | 'provider' | 'tf32'> & { engine?: EngineKind };

/** The network evaluated: the run's model and layout, and an imported run's own evaluation graph. */
export interface EvaluatedNetwork {
  model: ModelSpec;
  layout: ParameterLayout;
  graph?: Uint8Array;
}

/**
 * The settings that change a value and so enter its content key. The provider and the engine do not: they
 * compute the same numbers (the equivalence tests hold them to it). TF32 does (10-bit mantissas on CUDA),
 * so a value computed with it on is kept apart; off, the default, leaves the key as it always was.
 */
export function keyedSettings(
  settings: Pick<LineSettings, 'bnMode' | 'evalBatchSize'> & { tf32?: boolean },
): { bnMode: AnalyzeConfig['bnMode']; evalBatchSize: number; tf32?: true } {
  return { bnMode: settings.bnMode, evalBatchSize: settings.evalBatchSize, ...(settings.tf32 ? { tf32: true as const } : {}) };
}

/** An engine over `evalSet` with the settings' batch size, BN mode and provider. */
export function openEngine(settings: LineSettings, network: EvaluatedNetwork, evalSet: EvaluationSet, log: Logger): Promise<InterpolationEngine> {
  allowCudaTf32(settings.tf32);
  const options = {
    model: network.model, layout: network.layout, bnMode: settings.bnMode, evalSet, evalBatchSize: settings.evalBatchSize, provider: settings.provider, log, graph: network.graph,
  };
  return settings.engine === 'naive' ? createNaiveEngine(options) : createFastEngine(options);
}
