import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SgdwalkError, sha256, type AnalyzeConfig, type Logger, type RunInfo } from '@sgdwalk/core';
import { decodeModel, evaluationGraph } from '@sgdwalk/interop';
import type { EngineKind } from '../lines/line-settings.js';

/**
 * Where the analysed network comes from. A run trained here has a model spec, which the engines lower to
 * ONNX themselves; an imported run (run.json `source`) has its own ONNX graph in the run folder, rewritten
 * by @sgdwalk/interop into the evaluation graph the engines run instead (`graph` in their options).
 */
export async function importedEvaluationGraph(runDir: string, info: RunInfo, bnMode: AnalyzeConfig['bnMode']): Promise<Uint8Array | undefined> {
  if (!info.source) return undefined;
  const file = join(runDir, info.source.graph);
  const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new SgdwalkError(`${file}: cannot read the run's graph (${e.code ?? e})`, 'read', { file });
  });
  if (sha256(bytes) !== info.source.graphSha256) throw new SgdwalkError(`${file}: the graph's sha256 is not the one run.json recorded (changed or damaged since import)`, 'read', { file });
  return evaluationGraph(decodeModel(bytes, file), { imageShape: info.model.inputShape, classes: info.model.classes, bnMode }, file);
}

/** The engine for the run: the fast engine is built from the model spec, so an imported graph runs on the naive one. */
export function engineFor(requested: EngineKind | undefined, graph: Uint8Array | undefined, log: Logger): EngineKind {
  if (graph && requested !== 'naive') {
    log.info('imported graph: the fast engine needs a model spec to lower; using the naive engine (same numbers, slower)');
    return 'naive';
  }
  return requested ?? 'fast';
}

/** Why sharpness cannot be measured on this run although steps are configured, or undefined when it can. */
export function sharpnessUnavailable(info: RunInfo, config: AnalyzeConfig): string | undefined {
  if (!info.source || config.sharpness.steps.length === 0) return undefined;
  return 'not available for an imported run: its ONNX graph is an inference graph, with no gradients for Hessian-vector products';
}
