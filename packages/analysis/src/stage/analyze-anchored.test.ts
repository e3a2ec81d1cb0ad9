import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FILES, Rng, parseSection, parseAnalyzeSection, resolveModel, trainSectionSchema, type AnalyzeConfig, type Logger, type ModelSpec, type TrainConfig,
} from '@sgdwalk/core';
import { readTable } from '@sgdwalk/checkpoints';
import { trainRun } from '@sgdwalk/train';
import { analyzeFolder } from '../../test/analyze-folder.js';
import { BARRIER_LINES_FILE } from './outputs.js';
import { writePreparedDataset } from '@sgdwalk/data';

const IMAGE = [4, 4, 1];

async function writeDataset(dir: string): Promise<void> {
  const rng = new Rng(8);
  const split = (count: number) => {
    const labels = Uint8Array.from({ length: count }, () => rng.int(2));
    return { images: Uint8Array.from({ length: count * 16 }, (_, i) => rng.int(128) + 100 * labels[Math.floor(i / 16)]), labels };
  };
  const train = split(40);
  const validation = split(8);
  const test = split(8);
  await writePreparedDataset(dir, { dataset: 'synthetic', imageShape: IMAGE, classes: 2, normalization: { mean: [0.5], std: [0.25] }, sources: {} }, { train, validation, test });
}

const model: ModelSpec = {
  name: 'anchored-mlp', inputShape: [16], classes: 2,
  layers: [{ type: 'dense', units: 6 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' }],
};

function trainConfig(checkpoints: Record<string, unknown>): TrainConfig {
  const parsed = parseSection(trainSectionSchema, { model, lr: 0.1, batchSize: 8, epochs: 3, momentum: 0.5, backend: 'wasm', checkpoints });
  return { ...parsed, model: resolveModel(parsed.model) };
}

function analyzeConfig(fields: Record<string, unknown>): AnalyzeConfig {
  return parseAnalyzeSection({
    evalSet: { split: 'train', size: 16, seed: 1 }, evalBatchSize: 8, provider: 'cpu', alphas: [0, 0.5, 1], barriers: { floor: true, lags: [2], every: 2 }, ...fields,
  });
}

function recordingLogger(): Logger & { infos: string[] } {
  const infos: string[] = [];
  return { infos, info: (m) => infos.push(m), warn: (m) => infos.push(`warn: ${m}`), progress: () => {} };
}

describe('analyzeRun on an anchored run', () => {
  let root: string;
  let dataDir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sgdwalk-analyze-anchored-'));
    dataDir = join(root, 'data');
    await writeDataset(dataDir);
    // 5 steps per epoch, 15 steps; dense: every step; anchored: θ_0, θ_4, θ_8, θ_12 and the last, θ_15.
    await trainRun({ config: trainConfig({ windows: [{ steps: [0, 15] }], every: 0 }), dataDir, outDir: join(root, 'dense'), log: recordingLogger() });
    await trainRun({ config: trainConfig({ windows: [], every: 0, anchors: { every: 4 } }), dataDir, outDir: join(root, 'anchored'), log: recordingLogger() });
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('analyses a window declared after training exactly as the densely stored run, and reuses the replayed states', async () => {
    const config = analyzeConfig({ steps: [6, 11], sharpness: { steps: [10], subsetSize: 16, iterations: 5 }, replay: { cacheDir: join(root, 'replayed') } });
    const dense = await analyzeFolder({ runDir: join(root, 'dense'), dataDir, outDir: join(root, 'a-dense'), config, log: recordingLogger() });
    const log = recordingLogger();
    const anchored = await analyzeFolder({ runDir: join(root, 'anchored'), dataDir, outDir: join(root, 'a-anchored'), config, log });
    expect(anchored.pairs).toBe(6);
    expect(log.infos.some((m) => /1 stored, 0 reused from the replay cache, 6 replayed \(\d+ steps taken\)/.test(m))).toBe(true);
    for (const file of [FILES.interpolation, FILES.pairs, FILES.barriers, BARRIER_LINES_FILE, FILES.sharpness]) {
      const a = (await readTable(join(root, 'a-dense', file))).columns;
      const b = (await readTable(join(root, 'a-anchored', file))).columns;
      expect(b, file).toEqual(a);
    }
    const { seconds: _a, runId: _r1, ...denseSummary } = dense;
    const { seconds: _b, runId: _r2, ...anchoredSummary } = anchored;
    expect(anchoredSummary).toEqual(denseSummary);
    // The replayed steps 5, 6, 7, 9, 10 and 11 sit in the cache, one folder each, and a second analysis takes them from there.
    expect(await readdir(join(root, 'replayed'))).toHaveLength(6);
    const again = recordingLogger();
    await analyzeFolder({ runDir: join(root, 'anchored'), dataDir, outDir: join(root, 'a-again'), config, log: again });
    expect(again.infos.some((m) => /1 stored, 6 reused from the replay cache, 0 replayed/.test(m))).toBe(true);
  });
});
