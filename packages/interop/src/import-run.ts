import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ConfigError, FILES, METRICS_TABLE, RUN_FORMAT_VERSION, dataSectionSchema, distance, hashJson, pathExists, readBoundedFile, readDatasetMeta, sha256, sha256File,
  trainSectionSchema, writeFileAtomic, writeManifest, type Logger, type ModelSpec, type RunInfo, type WrittenColumnsOf,
} from '@sgdwalk/core';
import { CheckpointWriter, writeColumns } from '@sgdwalk/checkpoints';
import { checkStepFiles, listStepFiles } from './checkpoint-files.js';
import { checkNoFoldedBatchNorm, withOwnInitializers } from './deduplicated-initializers.js';
import { checkImportable, stateTensors } from './evaluation-graph.js';
import { importedLayout, stateVector } from './imported-layout.js';
import { interopError } from './interop-error.js';
import { readImportedMetrics, type ImportedMetrics } from './metrics-file.js';
import { decodeModel, encodeModel } from '@sgdwalk/onnx';
import { readStep, type StepTensors } from './step-tensors.js';

/** The imported graph's name inside the run folder (also what `export` writes). */
export const GRAPH_FILE = 'model.onnx';

export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10' | 'synthetic';

/** Example shape [H, W, C] and class count of each dataset (synthetic: its generator's defaults). */
function knownDataset(name: DatasetName): { imageShape: number[]; classes: number } {
  switch (name) {
    case 'mnist':
    case 'fashion-mnist':
      return { imageShape: [28, 28, 1], classes: 10 };
    case 'cifar10':
      return { imageShape: [32, 32, 3], classes: 10 };
    case 'synthetic': {
      const synthetic = dataSectionSchema.parse({ dataset: 'synthetic' }).synthetic!;
      return { imageShape: [...synthetic.imageShape], classes: synthetic.classes };
    }
  }
}

export interface ImportRunOptions {
  onnxFile: string;
  checkpointsDir: string;
  dataset: DatasetName;
  /**
   * A prepared data folder of that dataset (the data stage's output): its shape and class count are the
   * ones checked (a synthetic dataset's generator may have other settings), and its hash ties the run to it.
   */
  dataDir?: string;
  /** Per-step metrics logged by the training framework (CSV or JSONL). */
  metricsFile?: string;
  /**
   * The learning rate (else the metrics' first lr); the analysis reports 2/η beside sharpness. Neither
   * given: the run is imported with its learning rate unknown (run.json's config has no lr).
   */
  lr?: number;
  batchSize?: number;
  /** The run folder to write (a staging folder: the caller swaps it in on success). */
  outDir: string;
  log: Logger;
}

async function datasetOf(opts: ImportRunOptions): Promise<{ imageShape: number[]; classes: number; hash: string }> {
  if (!opts.dataDir) return { ...knownDataset(opts.dataset), hash: '' };
  const file = join(opts.dataDir, FILES.dataset);
  const meta = await readDatasetMeta(file);
  if (meta.dataset !== opts.dataset) throw new ConfigError(`the prepared data in ${opts.dataDir} is dataset ${meta.dataset}, not ${opts.dataset}`, undefined, '--dataset');
  return { imageShape: meta.imageShape, classes: meta.classes, hash: sha256(await readFile(file)) };
}

/** metrics.arrow of an imported run: the logged metrics where given, norms and distances from the checkpoints. */
function metricsColumns(
  steps: number[],
  logged: ImportedMetrics | undefined,
  fromCheckpoints: Map<number, { updateNorm: number; distanceFromInit: number }>,
  batchSize: number,
): WrittenColumnsOf<typeof METRICS_TABLE> {
  const index = new Map((logged?.step ?? []).map((s, i) => [s, i]));
  const pick = (column: keyof ImportedMetrics['columns'], fallback = NaN) =>
    Float64Array.from(steps, (s) => (index.has(s) ? logged!.columns[column][index.get(s)!] : fallback));
  const epoch = pick('epoch');
  const batch = pick('batchSize', batchSize);
  return {
    step: Int32Array.from(steps),
    epoch: Int32Array.from(epoch, (e) => (Number.isFinite(e) ? e : 0)),
    lr: pick('lr'),
    batchSize: Int32Array.from(batch, (b) => (Number.isFinite(b) ? b : 0)),
    loss: pick('loss'),
    accuracy: pick('accuracy'),
    gradNorm: pick('gradNorm'),
    gradCosine: pick('gradCosine'),
    updateNorm: Float64Array.from(steps, (s) => fromCheckpoints.get(s)?.updateNorm ?? NaN),
    distanceFromInit: Float64Array.from(steps, (s) => fromCheckpoints.get(s)?.distanceFromInit ?? NaN),
    indices: steps.map(() => new Int32Array(0)),
  };
}

/**
 * Import a run trained elsewhere: an ONNX graph whose float initializers are the state, and one
 * safetensors file per step whose tensors are those initializers. Every file is checked before anything is
 * kept (header, dtype, the set of names, each shape, the graph's input against the dataset); the result is
 * an ordinary run folder: run.json (with `source` and the tensors by role), metrics.arrow, the Arrow
 * checkpoints with their content hashes, the graph itself, and the manifest, last.
 */
export async function importRun(opts: ImportRunOptions): Promise<RunInfo> {
  const started = performance.now();
  const { outDir, log } = opts;
  // protobuf's own limit on a message is 2 GiB: a larger file or a device is refused before reading.
  const graphBytes = await readBoundedFile(opts.onnxFile, { maxBytes: 2 * 1024 ** 3 - 1, what: 'ONNX graph', code: 'import' });
  const given = decodeModel(graphBytes, opts.onnxFile);
  const dataset = await datasetOf(opts);
  checkImportable(given, dataset, opts.onnxFile);
  const stepFiles = await listStepFiles(opts.checkpointsDir);
  await checkStepFiles(stepFiles);
  // The first step decides what the graph's state is: the names it stores (de-duplicated ones included).
  const first = await readStep(stepFiles[0].file);
  const stored = new Set(first.tensors.map((t) => t.name));
  checkNoFoldedBatchNorm(given, stored, first.path, opts.onnxFile);
  const { model, aliases } = withOwnInitializers(given, stored);
  if (aliases.length > 0) {
    log.info(`the graph gives ${aliases.length} state tensors by Identity over an equal initializer (torch.onnx.export's de-duplication: ${aliases.slice(0, 3).map((a) => `${a.name} = ${a.of}`).join(', ')}${aliases.length > 3 ? ', …' : ''}); each is fed its own values`);
  }
  const storedGraph = aliases.length > 0 ? encodeModel(model) : graphBytes;
  const state = stateTensors(model);
  if (state.length === 0) throw interopError(opts.onnxFile, 'the graph has no float initializers: nothing to walk (export it with its parameters as initializers)');
  const layout = importedLayout(state);
  const logged = opts.metricsFile ? await readImportedMetrics(opts.metricsFile) : undefined;
  const lr = opts.lr ?? logged?.columns.lr.find(Number.isFinite);
  if (lr === undefined) log.info('learning rate unknown (no --lr, no lr column in the metrics): imported without it; what needs it (2/η beside sharpness) will say "lr unknown"');
  const batchSize = opts.batchSize ?? logged?.columns.batchSize.find(Number.isFinite) ?? 0;

  const spec: ModelSpec = { name: `imported ${basename(opts.onnxFile)}`, inputShape: dataset.imageShape, classes: dataset.classes, layers: [] };
  const graphSha256 = sha256(storedGraph);
  const runId = hashJson({ imported: graphSha256, steps: stepFiles.map((f) => f.step) }).slice(0, 16);
  const writer = await CheckpointWriter.create(join(outDir, FILES.checkpoints), { runId, model: spec, layout });
  const fromCheckpoints = new Map<number, { updateNorm: number; distanceFromInit: number }>();
  let initial: Float32Array | undefined;
  let previous: { step: number; state: Float32Array } | undefined;
  const leftOut = new Map<string, string>();
  try {
    for (const [i, { step, file }] of stepFiles.entries()) {
      const { path, tensors, nonFloat }: StepTensors = i === 0 ? first : await readStep(file);
      const vector = stateVector(layout, tensors, path, opts.onnxFile, nonFloat);
      for (const t of nonFloat) leftOut.set(t.name, t.dtype);
      if (step === 0) initial = vector;
      fromCheckpoints.set(step, {
        updateNorm: previous?.step === step - 1 ? distance(previous.state, vector, layout.trainableSize) : NaN,
        distanceFromInit: initial ? distance(initial, vector, layout.trainableSize) : NaN,
      });
      await writer.append(step, 0, vector);
      previous = { step, state: vector };
      log.progress('import', i + 1, stepFiles.length);
    }
  } finally {
    await writer.close();
  }
  if (leftOut.size > 0) {
    log.info(`left out ${leftOut.size} non-float tensors of the checkpoints (${[...leftOut].slice(0, 3).map(([n, d]) => `${n} ${d}`).join(', ')}${leftOut.size > 3 ? ', …' : ''}): a graph's state is its float initializers`);
  }
  // The graph as given, or with its de-duplicated names made initializers of their own (graphSha256 is the stored file's).
  await writeFileAtomic(join(outDir, GRAPH_FILE), storedGraph);
  const steps = [...new Set([...(logged?.step ?? []), ...stepFiles.map((f) => f.step)])].filter((s) => s > 0).sort((a, b) => a - b);
  await writeColumns(join(outDir, METRICS_TABLE.file), METRICS_TABLE, metricsColumns(steps, logged, fromCheckpoints, batchSize), { runId });
  const lastStep = stepFiles.at(-1)!.step;
  const { lr: _defaultLr, ...defaults } = trainSectionSchema.parse({ ...(batchSize > 0 ? { batchSize } : {}) });
  // An unknown learning rate is absent from config, never a default that 2/η would silently use.
  const config = { ...defaults, ...(lr === undefined ? {} : { lr }), model: spec } as RunInfo['config'];
  const run: RunInfo = {
    formatVersion: RUN_FORMAT_VERSION,
    runId,
    config,
    model: spec,
    layout,
    backend: 'imported',
    datasetHash: dataset.hash,
    stepsPerEpoch: lastStep,
    steps: lastStep,
    checkpointSteps: stepFiles.map((f) => f.step),
    status: 'complete',
    seconds: (performance.now() - started) / 1000,
    source: {
      kind: 'onnx',
      graph: GRAPH_FILE,
      graphSha256,
      importedFrom: {
        onnx: opts.onnxFile,
        checkpoints: opts.checkpointsDir,
        ...(opts.metricsFile ? { metrics: opts.metricsFile } : {}),
        producer: `${given.producer_name ?? 'unknown'} ${given.producer_version ?? ''}`.trim(),
        ...(aliases.length > 0 ? { deduplicated: aliases.map((a) => a.name) } : {}),
      },
    },
    tensors: { trainable: layout.tensors.filter((t) => t.role === 'trainable').map((t) => t.name), buffers: layout.tensors.filter((t) => t.role === 'buffer').map((t) => t.name) },
  };
  await writeFileAtomic(join(outDir, FILES.run), JSON.stringify(run, null, 2) + '\n');
  await writeManifest(outDir, {
    stage: 'train',
    status: 'complete',
    config,
    inputs: { onnx: graphSha256, ...(dataset.hash ? { dataset: dataset.hash } : {}), ...(opts.metricsFile && (await pathExists(opts.metricsFile)) ? { metrics: await sha256File(opts.metricsFile) } : {}) },
    versions: { node: process.version, source: 'import', producer: run.source!.importedFrom.producer },
  });
  log.info(`imported ${stepFiles.length} checkpoints (steps ${stepFiles[0].step}–${lastStep}) of ${layout.tensors.length} tensors, ${layout.trainableSize} trainable values + ${layout.totalSize - layout.trainableSize} in buffers`);
  return run;
}
