import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, FILES, METRICS_TABLE, readRunInfo, tensorView, writeFileAtomic, type Logger } from '@sgdwalk/core';
import { CheckpointReader, readColumns } from '@sgdwalk/checkpoints';
import { GRAPH_FILE } from './import-run.js';
import { interopError } from './interop-error.js';
import { decodeModel, encodeModel, floatTensor, lowerInference } from '@sgdwalk/onnx';
import { writeSafetensors, type NamedTensor } from './safetensors.js';
import { exportPlan, permuteAxes, type ExportLayout, type ExportedTensorPlan } from './torch-layout.js';

export interface ExportRunOptions {
  runDir: string;
  /** Inclusive step range; default every stored step. */
  steps?: [number, number];
  layout: ExportLayout;
  /** The folder to write (a staging folder: the caller swaps it in on success). */
  outDir: string;
  log: Logger;
}

/** The metrics.arrow columns an import reads back, written as CSV (empty cell = NaN). */
const METRIC_COLUMNS = ['step', 'epoch', 'lr', 'batchSize', 'loss', 'accuracy', 'gradNorm', 'gradCosine'] as const;

async function writeMetricsCsv(runDir: string, file: string): Promise<void> {
  const { columns, numRows } = await readColumns(join(runDir, METRICS_TABLE.file), METRICS_TABLE);
  const cell = (v: number) => (Number.isFinite(v) ? String(v) : '');
  const lines = [METRIC_COLUMNS.join(',')];
  for (let i = 0; i < numRows; i++) lines.push(METRIC_COLUMNS.map((c) => cell(columns[c][i])).join(','));
  await writeFileAtomic(file, lines.join('\n') + '\n');
}

/** The file name of a step's checkpoint, zero-padded to the widest step so the files sort by step. */
export const stepFileName = (step: number, width: number) => `step-${String(step).padStart(width, '0')}.safetensors`;

/**
 * Export a run for other tools: one safetensors file per stored checkpoint in the range (sgdwalk's or
 * PyTorch's names and axis order), `model.onnx` (the network as a standard ONNX model, the last exported
 * state as its initializers; for an imported run, its own graph with that state) and `metrics.csv`.
 * `sgdwalk import` reads the folder back as the same run.
 */
export async function exportRun(opts: ExportRunOptions): Promise<{ steps: number[] }> {
  const { runDir, outDir, log } = opts;
  const info = await readRunInfo(join(runDir, FILES.run));
  if (info.source && opts.layout === 'torch') {
    throw new ConfigError(`${runDir} is an imported run: its tensors already carry the names and axes of the graph it came from (export it without --layout torch)`, undefined, '--layout');
  }
  const plan: ExportedTensorPlan[] = info.source
    ? info.layout.tensors.map((slot) => ({ slot, name: slot.name, view: slot.shape, perm: slot.shape.map((_, i) => i), shape: slot.shape }))
    : exportPlan(info.model, info.layout, opts.layout);
  const reader = await CheckpointReader.open(join(runDir, FILES.checkpoints), { layout: info.layout });
  try {
    const [from, to] = opts.steps ?? [0, Infinity];
    const steps = reader.steps.filter((s) => s >= from && s <= to);
    if (steps.length === 0) throw new ConfigError(`no checkpoint of ${runDir} lies in steps ${from}..${to} (stored: ${reader.steps[0]}..${reader.steps.at(-1)})`, undefined, '--steps');
    const width = String(steps.at(-1)).length;
    let last: Map<string, Float32Array> | undefined;
    for (const [i, step] of steps.entries()) {
      const { state } = await reader.read(step);
      const tensors: NamedTensor[] = plan.map((p) => ({ name: p.name, shape: p.shape, values: permuteAxes(tensorView(state, p.slot), p.view, p.perm) }));
      const metadata: Record<string, string> = { 'sgdwalk.run_id': info.runId, 'sgdwalk.step': String(step), 'sgdwalk.layout': opts.layout, ...(opts.layout === 'torch' ? { format: 'pt' } : {}) };
      await writeSafetensors(join(outDir, stepFileName(step, width)), tensors, metadata);
      last = new Map(tensors.map((t) => [t.name, t.values]));
      log.progress('export', i + 1, steps.length);
    }
    await writeFileAtomic(join(outDir, GRAPH_FILE), info.source ? await withState(join(runDir, info.source.graph), last!) : lowerInference(info.model, plan.map((p) => ({ tensor: p.slot.name, name: p.name, shape: p.shape, values: last!.get(p.name)! })), opts.layout));
    await writeMetricsCsv(runDir, join(outDir, 'metrics.csv'));
    log.info(`exported ${steps.length} checkpoints (steps ${steps[0]}–${steps.at(-1)}) in ${opts.layout === 'torch' ? 'PyTorch\'s' : 'sgdwalk\'s'} layout, ${GRAPH_FILE} with step ${steps.at(-1)}'s state`);
    return { steps };
  } finally {
    await reader.close();
  }
}

/** An imported run's own graph with its float initializers set to `state`. */
async function withState(graphFile: string, state: ReadonlyMap<string, Float32Array>): Promise<Uint8Array> {
  const model = decodeModel(await readFile(graphFile), graphFile);
  const graph = model.graph!;
  graph.initializer = (graph.initializer ?? []).map((t) => {
    const values = state.get(t.name ?? '');
    return values ? floatTensor(t.name!, (t.dims ?? []).map(Number), values) : t;
  });
  const missing = [...state.keys()].filter((name) => !(graph.initializer ?? []).some((t) => t.name === name));
  if (missing.length > 0) throw interopError(graphFile, 'is not an initializer of the run\'s graph', missing[0]);
  return encodeModel(model);
}
