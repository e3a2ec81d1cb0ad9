import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EVALUATIONS_TABLE, METRICS_TABLE, SPLIT_NAMES, splitFileNames, mlpSpec, parameterLayout, parseSection, trainSectionSchema, writeManifest, type RunInfo } from '@sgdwalk/core';
import { CheckpointWriter } from './writer.js';
import { writeColumns } from './declared-table.js';
import { writeTable } from './table.js';
import { formatProblem, verifyFolder } from './verify-folder.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * A small but complete run folder (run.json, metrics.arrow, evaluations.arrow, 4 checkpoints in 2 shards,
 * manifest) and a data folder (dataset.json and the split files, empty): every file core declares a complete
 * folder of its stage to hold.
 */
async function outputRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sgdwalk-verify-'));
  dirs.push(root);
  const train = join(root, 'train');
  const model = mlpSpec([100], { inputShape: [100], classes: 3, name: 'small' });
  const layout = parameterLayout(model);
  await mkdir(train, { recursive: true });
  const config = { ...parseSection(trainSectionSchema, {}), model };
  const run: RunInfo = {
    formatVersion: 1, runId: 'r', config, model, layout, backend: 'cpu', datasetHash: 'd'.repeat(64), stepsPerEpoch: 3, steps: 3,
    checkpointSteps: [0, 1, 2, 3], status: 'complete', seconds: 1,
  };
  await writeFile(join(train, 'run.json'), JSON.stringify(run));
  const f64 = (...v: number[]) => Float64Array.from(v);
  await writeColumns(join(train, 'metrics.arrow'), METRICS_TABLE, {
    step: Int32Array.of(1, 2, 3), epoch: Int32Array.of(1, 1, 1), lr: f64(0.1, 0.1, 0.1), batchSize: Int32Array.of(2, 2, 2), loss: f64(2.3, 2.2, 2.1),
    accuracy: f64(0, 0.5, 1), gradNorm: f64(1, 1, 1), gradCosine: f64(NaN, 0.5, 0.5), updateNorm: f64(0.1, 0.1, 0.1), distanceFromInit: f64(0.1, 0.2, 0.3),
    indices: [Int32Array.of(0, 1), Int32Array.of(2, 3), Int32Array.of(4, 5)],
  }, { runId: 'r' });
  await writeColumns(join(train, 'evaluations.arrow'), EVALUATIONS_TABLE, {
    epoch: Int32Array.of(1), step: Int32Array.of(3), split: ['validation'], loss: f64(1), accuracy: f64(0.5),
  }, { runId: 'r' });
  const writer = await CheckpointWriter.create(join(train, 'checkpoints'), { runId: 'r', model, layout }, { shardSize: 2 });
  for (let step = 0; step < 4; step++) await writer.append(step, 0, new Float32Array(layout.totalSize).fill(step));
  await writer.close();
  await writeManifest(train, { stage: 'train', status: 'complete', config: {}, inputs: {}, versions: {} });
  const data = join(root, 'data');
  await mkdir(data);
  await writeFile(join(data, 'dataset.json'), '{}\n');
  for (const split of SPLIT_NAMES) for (const file of Object.values(splitFileNames(split))) await writeFile(join(data, file), '');
  await writeManifest(data, { stage: 'data', status: 'complete', config: {}, inputs: {}, versions: {} });
  return root;
}

describe('verifyFolder', () => {
  it('finds nothing wrong in sound stage folders, alone or under an output root', async () => {
    const root = await outputRoot();
    expect(await verifyFolder(root)).toEqual({ problems: [], filesChecked: 15, checkpointsChecked: 4 });
    expect(await verifyFolder(join(root, 'train'))).toEqual({ problems: [], filesChecked: 7, checkpointsChecked: 4 });
  });

  it('collects every problem, each naming its file (and step)', async () => {
    const root = await outputRoot();
    const train = join(root, 'train');
    const shard = join(train, 'checkpoints/shard-000001.arrow');
    const bytes = await readFile(shard);
    bytes[Math.floor(bytes.length * 0.75)] ^= 0x80; // inside the second checkpoint's state: step 3
    await writeFile(shard, bytes);
    await writeFile(join(train, 'metrics.arrow'), 'not arrow');
    await writeFile(join(train, 'notes.txt'), 'extra');
    await writeFile(join(train, '.run.json.123.tmp'), 'a temporary');
    await rm(join(root, 'data/dataset.json'));
    await writeFile(join(train, 'run.json'), '{');
    await mkdir(join(root, 'empty'));

    const { problems, checkpointsChecked } = await verifyFolder(root);
    expect(checkpointsChecked).toBe(4);
    expect(problems.map(formatProblem)).toEqual([
      `${join(root, 'data/dataset.json')}: missing: manifest.json lists it`,
      expect.stringMatching(/shard-000001\.arrow: sha256 mismatch/),
      expect.stringMatching(/shard-000001\.arrow \(step 3\): checksum mismatch/),
      expect.stringMatching(/metrics\.arrow: sha256 mismatch/),
      expect.stringMatching(/metrics\.arrow: not an Arrow IPC file$/),
      expect.stringMatching(/train\/notes\.txt: not in the manifest/),
      expect.stringMatching(/run\.json: sha256 mismatch/),
      expect.stringMatching(/run\.json: not valid JSON/),
      expect.stringMatching(/empty: empty: neither a stage folder/),
    ]);
  });

  it('holds a stage table to its declaration: a missing column and a value not allowed are named', async () => {
    const root = await outputRoot();
    const train = join(root, 'train');
    await writeTable(join(train, 'metrics.arrow'), { step: Int32Array.of(1, 2, 3), loss: Float64Array.of(2.3, 2.2, 2.1) }, { runId: 'r' });
    const evaluations = { epoch: Int32Array.of(1), step: Int32Array.of(3), split: ['train'], loss: Float64Array.of(1), accuracy: Float64Array.of(0.5) };
    await writeTable(join(train, 'evaluations.arrow'), evaluations, { runId: 'r' });
    await writeManifest(train, { stage: 'train', status: 'complete', config: {}, inputs: {}, versions: {} });
    // A table no stage declares only has to read back.
    await writeTable(join(root, 'data/notes.arrow'), { anything: ['goes'] });
    await writeManifest(join(root, 'data'), { stage: 'data', status: 'complete', config: {}, inputs: {}, versions: {} });
    expect((await verifyFolder(root)).problems.map(formatProblem)).toEqual([
      `${join(train, 'evaluations.arrow')}: column "split", row 0: "train" is not one of "validation", "test"`,
      `${join(train, 'metrics.arrow')}: missing column "epoch" (columns: step, loss)`,
    ]);
  });

  it('holds a complete folder to every file its stage writes, naming each missing one (issue 24)', async () => {
    const root = await outputRoot();
    const data = join(root, 'data');
    // A manifest that says complete but lists only two of the stage's files, the others gone with it.
    for (const split of ['train', 'test'] as const) for (const file of Object.values(splitFileNames(split))) await rm(join(data, file));
    await rm(join(data, 'validation-labels.u8'));
    await writeManifest(data, { stage: 'data', status: 'complete', config: {}, inputs: {}, versions: {} });
    const { problems } = await verifyFolder(data);
    expect(problems.map(formatProblem)).toEqual(
      ['test-images.u8', 'test-labels.u8', 'train-images.u8', 'train-labels.u8', 'validation-labels.u8'].map((f) => `${join(data, f)}: missing: a complete data folder holds it`),
    );
  });

  it('refuses a device under a listed file by type, never hashing or reading it (issue 23)', async () => {
    const root = await outputRoot();
    const index = join(root, 'train/checkpoints/index.json');
    await rm(index);
    await symlink('/dev/zero', index);
    expect((await verifyFolder(join(root, 'train'))).problems.map(formatProblem)).toEqual([
      `${index}: file to hash is not a regular file (a character device)`,
      `${index}: checkpoint index is not a regular file (a character device)`,
    ]);
  });

  it('reports a missing manifest and checks the run without it', async () => {
    const root = await outputRoot();
    await rm(join(root, 'train/manifest.json'));
    const { problems, checkpointsChecked } = await verifyFolder(join(root, 'train'));
    expect(problems.map(formatProblem)).toEqual([expect.stringMatching(/train\/manifest\.json: missing/)]);
    expect(checkpointsChecked).toBe(4);
  });

  it('refuses a path that is not a folder', async () => {
    await expect(verifyFolder(join(tmpdir(), 'sgdwalk-no-such-folder'))).rejects.toThrow(/no such folder/);
  });
});
