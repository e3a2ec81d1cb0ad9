import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES, SgdwalkError, dataSectionSchema, learningRateOf, pathExists, silentLogger, type Logger, type RunInfo } from '@sgdwalk/core';
import { CheckpointReader } from '@sgdwalk/checkpoints';
import { prepareDataset } from '@sgdwalk/data';
import { decodeModel, encodeSafetensors, evaluationGraph, importRun, readSafetensors } from '@sgdwalk/interop';
import { createNaiveEngine } from './engine.js';
import { TORCH_FIXTURES, torchEvaluationSet, type TorchReference } from '../../test/torch-fixtures.js';

/**
 * PyTorch 1.13 exports as users make them (issue 20; tools/fixtures/make-torch-run.py, VARIANTS): exported
 * at initialization (torch.onnx.export de-duplicates a fresh BatchNorm's running_var/running_mean into
 * Identity nodes over its weight/bias) and after training, in eval (PRESERVE) and training mode, MLP and
 * conv nets, the whole state_dict (int64 num_batches_tracked included) in four checkpoint layouts. Each
 * imported run's interpolation equals PyTorch's within 1e-5 relative, accuracies equal, both BN modes; the
 * folded export (eval mode, TrainingMode.EVAL) is refused with the export call that keeps its batch norms.
 */
const CLASSES = 4;

const VARIANTS = [
  { name: 'mlp-bn-init-eval', net: 'mlp-bn', imageShape: [8, 8, 1], deduplicated: ['bn1.running_mean', 'bn1.running_var'], metrics: true },
  // Imported without a metrics file and without --lr: the learning rate is unknown, the import works.
  { name: 'mlp-bn-init-training', net: 'mlp-bn', imageShape: [8, 8, 1], deduplicated: [], metrics: false },
  { name: 'conv-bn-init-preserve', net: 'conv-bn', imageShape: [8, 8, 3], deduplicated: ['bn1.running_mean', 'bn1.running_var'], metrics: true },
  { name: 'conv-bn-trained-preserve', net: 'conv-bn', imageShape: [8, 8, 3], deduplicated: [], metrics: true },
];

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sgdwalk-torch-exports-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), progress() {} };
}

async function preparedData(imageShape: number[], dir: string): Promise<string> {
  const data = dataSectionSchema.parse({ dataset: 'synthetic', synthetic: { imageShape, classes: CLASSES, counts: { train: 64, validation: 16, test: 16 } } });
  await prepareDataset({ config: data, outDir: dir, log: silentLogger });
  return dir;
}

/** The largest relative loss difference against PyTorch over every pair and α, accuracies checked equal. */
async function maxRelativeDifference(info: RunInfo, runDir: string, reference: TorchReference, net: string, imageShape: number[], bnMode: 'batch' | 'running'): Promise<number> {
  const graphFile = join(runDir, 'model.onnx');
  const graph = evaluationGraph(decodeModel(await readFile(graphFile), graphFile), { imageShape, classes: CLASSES, bnMode }, graphFile);
  const engine = await createNaiveEngine({ model: info.model, layout: info.layout, bnMode, evalSet: await torchEvaluationSet(net), evalBatchSize: 32, provider: 'cpu', graph });
  const reader = await CheckpointReader.open(join(runDir, FILES.checkpoints), { layout: info.layout });
  let worst = 0;
  try {
    for (const pair of reference.pairs) {
      const a = await engine.prepare((await reader.read(pair.stepA)).state);
      const b = await engine.prepare((await reader.read(pair.stepB)).state);
      const curve = await engine.interpolate(a, b, reference.alphas);
      const expected = pair[bnMode];
      curve.lossPerAlpha.forEach((loss, k) => (worst = Math.max(worst, Math.abs(loss - expected.loss[k]) / expected.loss[k])));
      expect(Array.from(curve.accuracyPerAlpha), `${pair.stepA}→${pair.stepB}`).toEqual(expected.accuracy);
    }
  } finally {
    await reader.close();
    await engine.release();
  }
  return worst;
}

describe.each(VARIANTS)('a PyTorch export $name', ({ name, net, imageShape, deduplicated, metrics }) => {
  const runDir = () => join(root, name, 'train');
  let info: RunInfo;
  const log = recordingLogger();

  beforeAll(async () => {
    info = await importRun({
      onnxFile: join(TORCH_FIXTURES, name, 'model.onnx'),
      checkpointsDir: join(TORCH_FIXTURES, name, 'checkpoints'),
      ...(metrics ? { metricsFile: join(TORCH_FIXTURES, name, 'metrics.csv') } : {}),
      dataset: 'synthetic',
      dataDir: await preparedData(imageShape, join(root, name, 'data')),
      outDir: runDir(),
      log,
    });
  });

  it('imports every step of the whole state_dict: the int64 counter left out with one line, each de-duplicated name its own state', async () => {
    expect(info.checkpointSteps).toEqual([0, 1, 2, 3, 4]);
    expect([...info.tensors!.buffers].sort()).toEqual(['bn1.running_mean', 'bn1.running_var']);
    expect(log.lines.filter((l) => /num_batches_tracked/.test(l))).toEqual(['left out 1 non-float tensors of the checkpoints (bn1.num_batches_tracked I64): a graph\'s state is its float initializers']);
    expect([...(info.source!.importedFrom.deduplicated ?? [])].sort()).toEqual(deduplicated);
    if (deduplicated.length > 0) {
      // Equal at step 0 (why the exporter merged them), apart after training: fed separately, so they stay apart.
      const reader = await CheckpointReader.open(join(runDir(), FILES.checkpoints), { layout: info.layout });
      const slice = (state: Float32Array, tensor: string) => {
        const t = info.layout.tensors.find((s) => s.name === tensor)!;
        return Array.from(state.subarray(t.offset, t.offset + t.size));
      };
      const first = (await reader.read(0)).state;
      const last = (await reader.read(4)).state;
      await reader.close();
      expect(slice(first, 'bn1.running_var')).toEqual(slice(first, 'bn1.weight'));
      expect(slice(last, 'bn1.running_var')).not.toEqual(slice(last, 'bn1.weight'));
      expect(log.lines.some((l) => /torch\.onnx\.export's de-duplication/.test(l))).toBe(true);
    }
    if (metrics) expect(learningRateOf(info)).toBe(0.1);
    else {
      expect(learningRateOf(info)).toBeUndefined();
      expect(log.lines).toContain('learning rate unknown (no --lr, no lr column in the metrics): imported without it; what needs it (2/η beside sharpness) will say "lr unknown"');
      const written = JSON.parse(await readFile(join(runDir(), FILES.run), 'utf8'));
      expect('lr' in written.config).toBe(false);
    }
  });

  it.each(['batch', 'running'] as const)('gives PyTorch\'s losses (1e-5 relative) and accuracies on every pair and α (BN %s)', async (bnMode) => {
    const reference = JSON.parse(await readFile(join(TORCH_FIXTURES, name, 'reference.json'), 'utf8')) as TorchReference;
    const worst = await maxRelativeDifference(info, runDir(), reference, net, imageShape, bnMode);
    // The figure of the table (export variant → imported → max relative difference).
    console.log(JSON.stringify({ variant: name, bnMode, imported: true, maxRelativeLossDifference: worst }));
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('exports that cannot be walked, and checkpoints that do not fit', () => {
  it('refuses a folded batch norm (eval-mode export) with one line naming it and the export call that keeps it; nothing written', async () => {
    const outDir = join(root, 'folded', 'train');
    const dataDir = await preparedData([8, 8, 3], join(root, 'folded', 'data'));
    const onnxFile = join(TORCH_FIXTURES, 'conv-bn-folded', 'model.onnx');
    const error = await importRun({ onnxFile, checkpointsDir: join(TORCH_FIXTURES, 'conv-bn-folded', 'checkpoints'), dataset: 'synthetic', dataDir, outDir, lr: 0.1, log: silentLogger }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SgdwalkError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${onnxFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: batch norm bn1 was folded into the layer before it \\(no node reads bn1\\.running_mean of .*step-0\\.safetensors; the graph's weights onnx::Conv_\\d+, onnx::Conv_\\d+ are torch's merged Conv\\+BatchNorm, in no checkpoint\\), so the walk cannot follow its state: export again with torch\\.onnx\\.export\\(model\\.eval\\(\\), example, "model\\.onnx", training=torch\\.onnx\\.TrainingMode\\.PRESERVE, do_constant_folding=False\\) \\(or training=torch\\.onnx\\.TrainingMode\\.TRAINING\\)$`,
      ),
    );
    expect(await pathExists(outDir)).toBe(false);
  });

  it('refuses a float tensor the graph does not use, naming the file and the tensor', async () => {
    const checkpoints = join(root, 'extra', 'checkpoints');
    await cp(join(TORCH_FIXTURES, 'mlp-bn-init-eval', 'checkpoints'), checkpoints, { recursive: true });
    const file = join(checkpoints, 'step-2.safetensors');
    const { tensors } = await readSafetensors(file);
    await rm(file);
    await import('node:fs/promises').then((fs) => fs.writeFile(file, encodeSafetensors([...tensors, { name: 'head.weight', shape: [2], values: Float32Array.from([1, 2]) }])));
    const onnxFile = join(TORCH_FIXTURES, 'mlp-bn-init-eval', 'model.onnx');
    const outDir = join(root, 'extra', 'train');
    await expect(importRun({ onnxFile, checkpointsDir: checkpoints, dataset: 'synthetic', dataDir: await preparedData([8, 8, 1], join(root, 'extra', 'data')), outDir, log: silentLogger })).rejects.toThrow(
      `${file}: tensor head.weight: extra: not an initializer of the graph ${onnxFile}`,
    );
  });
});
