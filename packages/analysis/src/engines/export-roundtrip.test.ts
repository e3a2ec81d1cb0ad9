import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import {
  FILES, METRICS_TABLE, Rng, dataSectionSchema, initialState, parameterLayout, parseSection, parseAnalyzeSection, silentLogger, trainSectionSchema, writeManifest,
  type ModelSpec, type RunInfo,
} from '@sgdwalk/core';
import { CheckpointWriter, readTable, writeColumns } from '@sgdwalk/checkpoints';
import { prepareDataset } from '@sgdwalk/data';
import { exportRun, importRun, readSafetensors, type ExportLayout } from '@sgdwalk/interop';
import { analyzeFolder } from '../../test/analyze-folder.js';

/**
 * Export then import gives the same analysis: a run written here is exported (safetensors per step and a
 * standard model.onnx, in sgdwalk's and in PyTorch's layout), imported back, and analysed; its
 * interpolation losses equal the native analysis' (lowered from the spec, fast engine) within 1e-5
 * relative, its accuracies are equal, in both BN modes. The specs cover every layer type.
 */
const SPECS: ModelSpec[] = [
  {
    name: 'conv-flatten', inputShape: [6, 6, 2], classes: 3,
    layers: [
      { type: 'conv2d', filters: 4, kernel: 3 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'maxpool', size: 2 },
      { type: 'flatten' }, { type: 'batchnorm' }, { type: 'dense', units: 5 }, { type: 'relu' }, { type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' },
    ],
  },
  {
    name: 'residual-pools', inputShape: [6, 6, 2], classes: 3,
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3, stride: 1, padding: 'valid', bias: false }, { type: 'avgpool', size: 2, stride: 1, padding: 'same' },
      { type: 'residual', filters: 4, stride: 2 }, { type: 'global-avgpool' }, { type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' },
    ],
  },
  {
    name: 'mlp', inputShape: [72], classes: 3,
    layers: [{ type: 'dense', units: 6 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' }],
  },
];
const STEPS = [0, 1, 2, 3];

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sgdwalk-roundtrip-'));
  await prepareDataset({
    config: dataSectionSchema.parse({ dataset: 'synthetic', synthetic: { imageShape: [6, 6, 2], classes: 3, counts: { train: 40, validation: 8, test: 8 } } }),
    outDir: join(root, 'data'),
    log: silentLogger,
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A native run folder: θ_0 from the spec's init, then random steps (running variances kept positive). */
async function writeNativeRun(dir: string, spec: ModelSpec): Promise<void> {
  const layout = parameterLayout(spec);
  const rng = new Rng(11);
  const writer = await CheckpointWriter.create(join(dir, FILES.checkpoints), { runId: spec.name, model: spec, layout });
  let state = initialState(layout, 3);
  for (const step of STEPS) {
    if (step > 0) state = state.map((v) => v + 0.1 * rng.normal());
    for (const slot of layout.tensors.filter((t) => t.name.endsWith('running_var'))) {
      for (let i = slot.offset; i < slot.offset + slot.size; i++) state[i] = 0.5 + Math.abs(state[i]);
    }
    await writer.append(step, 0, state);
  }
  await writer.close();
  const steps = STEPS.slice(1);
  const column = (f: (s: number) => number) => Float64Array.from(steps, f);
  await writeColumns(join(dir, METRICS_TABLE.file), METRICS_TABLE, {
    step: Int32Array.from(steps), epoch: new Int32Array(steps.length), lr: column(() => 0.05), batchSize: Int32Array.from(steps, () => 8),
    loss: column((s) => 1 / s), accuracy: column(() => 0.5), gradNorm: column(() => 1), gradCosine: column((s) => (s === 1 ? NaN : 0.1 * s)),
    updateNorm: column(() => 0.3), distanceFromInit: column((s) => s), indices: steps.map(() => Int32Array.from([0])),
  }, { runId: spec.name });
  const config = { ...parseSection(trainSectionSchema, { lr: 0.05, batchSize: 8 }), model: spec };
  const info: RunInfo = {
    formatVersion: 1, runId: spec.name, config, model: spec, layout, backend: 'cpu', datasetHash: '', stepsPerEpoch: 3, steps: 3,
    checkpointSteps: STEPS, status: 'complete', seconds: 1,
  };
  await writeFile(join(dir, FILES.run), JSON.stringify(info));
  await writeManifest(dir, { stage: 'train', status: 'complete', config, inputs: {}, versions: {} });
}

async function interpolationOf(dir: string): Promise<{ loss: Float64Array; accuracy: Float64Array }> {
  const { columns } = await readTable(join(dir, FILES.interpolation));
  return { loss: columns.loss as Float64Array, accuracy: columns.accuracy as Float64Array };
}

describe.each(SPECS)('a native $name run', (spec) => {
  const runDir = () => join(root, spec.name, 'train');
  beforeAll(async () => {
    await writeNativeRun(runDir(), spec);
  });

  describe.each(['sgdwalk', 'torch'] as ExportLayout[])('exported in the %s layout', (layout) => {
    const exportDir = () => join(root, spec.name, `export-${layout}`);
    const importedDir = () => join(root, spec.name, `imported-${layout}`);
    beforeAll(async () => {
      await exportRun({ runDir: runDir(), layout, outDir: exportDir(), log: silentLogger });
      await importRun({
        onnxFile: join(exportDir(), 'model.onnx'), checkpointsDir: exportDir(), metricsFile: join(exportDir(), 'metrics.csv'),
        dataset: 'synthetic', dataDir: join(root, 'data'), outDir: importedDir(), log: silentLogger,
      });
    });

    it('writes one safetensors file per checkpoint and a model.onnx that runs in ONNX Runtime', async () => {
      const step3 = await readSafetensors(join(exportDir(), 'step-3.safetensors'));
      expect(step3.metadata['sgdwalk.step']).toBe('3');
      const names = step3.tensors.map((t) => t.name);
      if (layout === 'torch') expect(names.some((n) => n.endsWith('.gamma'))).toBe(false);
      const session = await ort.InferenceSession.create(join(exportDir(), 'model.onnx'));
      expect(session.inputNames).toEqual(['input']);
      const dims = spec.inputShape.length === 3 ? [2, spec.inputShape[2], spec.inputShape[0], spec.inputShape[1]] : [2, spec.inputShape[0]];
      const result = await session.run({ input: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)).fill(0.5), dims) });
      expect(result.logits.dims).toEqual([2, 3]);
      await session.release();
    });

    it.each(['batch', 'running'] as const)('analyses to the same numbers after import (BN %s)', async (bnMode) => {
      const config = parseAnalyzeSection({
        alphas: [0, 0.5, 1, 1.5], evalSet: { split: 'train', size: 40, seed: 2 }, evalBatchSize: 16, provider: 'cpu', bnMode, sharpness: { steps: [] },
      });
      const nativeOut = join(root, spec.name, `native-${layout}-${bnMode}`);
      const importedOut = join(root, spec.name, `imported-${layout}-${bnMode}`);
      await analyzeFolder({ runDir: runDir(), dataDir: join(root, 'data'), outDir: nativeOut, config, log: silentLogger });
      await analyzeFolder({ runDir: importedDir(), dataDir: join(root, 'data'), outDir: importedOut, config, log: silentLogger });
      const native = await interpolationOf(nativeOut);
      const imported = await interpolationOf(importedOut);
      expect(imported.loss.length).toBe(3 * 4);
      imported.loss.forEach((loss, i) => expect(Math.abs(loss - native.loss[i]) / native.loss[i]).toBeLessThan(1e-5));
      expect(Array.from(imported.accuracy)).toEqual(Array.from(native.accuracy));
      const pairs = async (dir: string) => (await readTable(join(dir, FILES.pairs))).columns;
      const [a, b] = [await pairs(nativeOut), await pairs(importedOut)];
      (b.distanceFromInit as Float64Array).forEach((d, i) => expect(d).toBeCloseTo((a.distanceFromInit as Float64Array)[i], 4));
      expect(JSON.parse(await readFile(join(importedOut, FILES.summary), 'utf8')).pairs).toBe(3);
    });
  });
});
