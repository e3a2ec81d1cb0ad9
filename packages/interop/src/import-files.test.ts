import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SgdwalkError } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import { listStepFiles } from './checkpoint-files.js';
import { encodeSafetensors } from './safetensors.js';
import { readStep } from './step-tensors.js';
import { importedLayout, stateVector } from './imported-layout.js';
import { readImportedMetrics } from './metrics-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdwalk-import-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkpoint folders', () => {
  it('lists step-<N>.safetensors by step, whatever the padding', async () => {
    const d = join(dir, 'padded');
    await rm(d, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(d));
    for (const name of ['step-10.safetensors', 'step-002.safetensors', 'step-0.safetensors', 'notes.txt']) await writeFile(join(d, name), '');
    expect((await listStepFiles(d)).map((f) => [f.step, f.file.slice(d.length + 1)])).toEqual([[0, 'step-0.safetensors'], [2, 'step-002.safetensors'], [10, 'step-10.safetensors']]);
    await writeFile(join(d, 'step-2.safetensors'), '');
    await expect(listStepFiles(d)).rejects.toThrow(/two checkpoints of step 2: step-002\.safetensors and step-2\.safetensors|two checkpoints of step 2: step-2\.safetensors and step-002\.safetensors/);
  });

  it('takes steps from steps.json when there is one', async () => {
    const d = join(dir, 'manifest');
    await import('node:fs/promises').then((fs) => fs.mkdir(d, { recursive: true }));
    await writeFile(join(d, 'steps.json'), JSON.stringify({ 5: 'late.safetensors', 0: 'init.safetensors' }));
    expect((await listStepFiles(d)).map((f) => [f.step, f.file])).toEqual([[0, join(d, 'init.safetensors')], [5, join(d, 'late.safetensors')]]);
    await writeFile(join(d, 'steps.json'), JSON.stringify({ first: 'init.safetensors' }));
    await expect(listStepFiles(d)).rejects.toThrow(/steps\.json: field "first": is not a step \(a non-negative integer\)/);
    const errorOf = async (content: unknown) => {
      await writeFile(join(d, 'steps.json'), JSON.stringify(content));
      return listStepFiles(d).then(() => undefined, (e: unknown) => e as SgdwalkError);
    };
    for (const [content, message, field] of [
      [{ 10: '' }, `${join(d, 'steps.json')}: field "10": must be a file path relative to the checkpoint folder`, '10'],
      [{ 10: 3 }, `${join(d, 'steps.json')}: field "10": must be a file path relative to the checkpoint folder`, '10'],
      [{ '-1': 'a.safetensors' }, `${join(d, 'steps.json')}: field "-1": is not a step (a non-negative integer)`, '-1'],
      [{ '99999999999999999999': 'a.safetensors' }, `${join(d, 'steps.json')}: field "99999999999999999999": is not a step (a non-negative integer)`, '99999999999999999999'],
      [['init.safetensors'], `${join(d, 'steps.json')}: must be an object mapping steps to safetensors files, e.g. {"0": "init.safetensors"}`, undefined],
    ] as const) {
      const e = await errorOf(content);
      expect(e).toBeInstanceOf(SgdwalkError);
      expect(e!.message).toBe(message);
      expect(e!.code).toBe('import');
      expect(e!.where).toEqual({ file: join(d, 'steps.json'), field });
    }
  });

  it('says so when a folder holds no checkpoint', async () => {
    const d = join(dir, 'empty');
    await import('node:fs/promises').then((fs) => fs.mkdir(d, { recursive: true }));
    await expect(listStepFiles(d)).rejects.toThrow(/no checkpoints: expected step-<N>\.safetensors files \(or <N>\.safetensors, or a folder per step: step-<N>\/\) or a steps\.json/);
  });
});

describe('checkpoint layouts: numbered files, a folder per step, Hugging Face shards', () => {
  const tensor = (name: string, values: number[]) => ({ name, shape: [values.length], values: Float32Array.from(values) });

  it('lists <N>.safetensors files and step-<N>/ or checkpoint-<N>/ folders by step; other entries are not steps', async () => {
    const d = join(dir, 'layouts');
    await mkdir(join(d, 'step-2'), { recursive: true });
    await mkdir(join(d, 'checkpoint-10'), { recursive: true });
    await mkdir(join(d, 'notes'), { recursive: true });
    await writeFile(join(d, '0.safetensors'), '');
    await writeFile(join(d, 'step-3'), ''); // a file without the suffix is not a step
    expect((await listStepFiles(d)).map((f) => [f.step, f.file.slice(d.length + 1)])).toEqual([[0, '0.safetensors'], [2, 'step-2'], [10, 'checkpoint-10']]);
    await writeFile(join(d, '2.safetensors'), '');
    await expect(listStepFiles(d)).rejects.toThrow(/two checkpoints of step 2: (step-2 and 2\.safetensors|2\.safetensors and step-2)/);
  });

  it('reads a sharded step: each shard\'s tensors, as its index assigns them; a step folder of one file', async () => {
    const step = join(dir, 'sharded', 'step-1');
    await mkdir(step, { recursive: true });
    await writeFile(join(step, 'model-00001-of-00002.safetensors'), encodeSafetensors([tensor('fc1.weight', [1, 2]), tensor('fc1.bias', [3])]));
    await writeFile(join(step, 'model-00002-of-00002.safetensors'), encodeSafetensors([tensor('fc2.weight', [4])]));
    const index = join(step, 'model.safetensors.index.json');
    const weightMap = { 'fc1.weight': 'model-00001-of-00002.safetensors', 'fc1.bias': 'model-00001-of-00002.safetensors', 'fc2.weight': 'model-00002-of-00002.safetensors' };
    await writeFile(index, JSON.stringify({ metadata: { total_size: 16 }, weight_map: weightMap }));
    const read = await readStep(step);
    expect(read.tensors.map((t) => [t.name, Array.from(t.values)])).toEqual([['fc1.weight', [1, 2]], ['fc1.bias', [3]], ['fc2.weight', [4]]]);
    // A tensor the index puts in another shard, one the shard lacks, a shard outside the folder.
    await writeFile(index, JSON.stringify({ weight_map: { ...weightMap, 'fc1.bias': 'model-00002-of-00002.safetensors' } }));
    await expect(readStep(step)).rejects.toThrow(`${join(step, 'model-00001-of-00002.safetensors')}: tensor fc1.bias: not in this shard's part of the index ${index}`);
    await writeFile(index, JSON.stringify({ weight_map: { ...weightMap, 'fc3.weight': 'model-00002-of-00002.safetensors' } }));
    await expect(readStep(step)).rejects.toThrow(`${join(step, 'model-00002-of-00002.safetensors')}: tensor fc3.weight: missing: the index ${index} says this shard holds it`);
    await writeFile(index, JSON.stringify({ weight_map: { ...weightMap, 'fc2.weight': '../../elsewhere.safetensors' } }));
    await expect(readStep(step)).rejects.toThrow(`${index}: tensor fc2.weight's shard "../../elsewhere.safetensors" is outside ${step}: give a path inside the folder`);
    await writeFile(index, JSON.stringify({ weight_map: ['fc1.weight'] }));
    await expect(readStep(step)).rejects.toThrow(`${index}: field "weight_map": must map tensor names to shard files`);
    const single = join(dir, 'single', 'checkpoint-4');
    await mkdir(single, { recursive: true });
    await writeFile(join(single, 'model.safetensors'), encodeSafetensors([tensor('w', [5])]));
    expect((await readStep(single)).tensors.map((t) => t.name)).toEqual(['w']);
    await writeFile(join(single, 'other.safetensors'), encodeSafetensors([tensor('w', [5])]));
    await expect(readStep(single)).rejects.toThrow(`${single}: a step folder holds one .safetensors file or shards with a model.safetensors.index.json; this one has 2 .safetensors files`);
  });
});

describe('the imported layout', () => {
  const layout = importedLayout([
    { name: 'bn.running_mean', shape: [2], role: 'buffer' },
    { name: 'fc.weight', shape: [2, 3], role: 'trainable' },
    { name: 'bn.weight', shape: [2], role: 'trainable' },
  ]);

  it('puts trainable tensors first, buffers after, in graph order', () => {
    expect(layout.tensors.map((t) => [t.name, t.offset, t.size])).toEqual([['fc.weight', 0, 6], ['bn.weight', 6, 2], ['bn.running_mean', 8, 2]]);
    expect([layout.trainableSize, layout.totalSize]).toEqual([8, 10]);
  });

  it('maps a checkpoint to the flat state and checks names and shapes', () => {
    const t = (name: string, shape: number[], first = 0) => ({ name, shape, values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => first + i) });
    const ok = [t('bn.weight', [2], 100), t('fc.weight', [2, 3]), t('bn.running_mean', [2], 200), { ...t('bn.num_batches_tracked', []) }];
    expect(Array.from(stateVector(layout, ok, 'c.safetensors', 'g.onnx'))).toEqual([0, 1, 2, 3, 4, 5, 100, 101, 200, 201]);
    expect(() => stateVector(layout, ok.slice(0, 2), 'c.safetensors', 'g.onnx')).toThrow(/c\.safetensors: tensor bn\.running_mean: missing: the graph g\.onnx has this initializer \[2\]/);
    expect(() => stateVector(layout, [...ok, t('fc2.weight', [1])], 'c.safetensors', 'g.onnx')).toThrow(/c\.safetensors: tensor fc2\.weight: extra: not an initializer of the graph g\.onnx/);
    expect(() => stateVector(layout, [t('bn.weight', [2]), t('fc.weight', [3, 2]), t('bn.running_mean', [2])], 'c.safetensors', 'g.onnx')).toThrow(
      /c\.safetensors: tensor fc\.weight: shape \[3, 2\] does not match the graph's \[2, 3\]/,
    );
  });
});

describe('metrics files', () => {
  it('reads CSV (camelCase or snake_case, empty cells NaN) and JSONL', async () => {
    const csv = join(dir, 'm.csv');
    await writeFile(csv, 'step,loss,learning_rate,lr,grad_cosine\n1,2.5,9,0.1,\n2,2.25,9,0.1,-0.5\n');
    const m = await readImportedMetrics(csv);
    expect(m.step).toEqual([1, 2]);
    expect(m.columns.loss).toEqual([2.5, 2.25]);
    expect(m.columns.lr).toEqual([0.1, 0.1]);
    expect(m.columns.gradCosine).toEqual([NaN, -0.5]);
    expect(m.columns.accuracy).toEqual([NaN, NaN]);
    const jsonl = join(dir, 'm.jsonl');
    await writeFile(jsonl, '{"step": 3, "loss": 1, "gradCosine": null}\n\n{"step": 4, "accuracy": 0.5}\n');
    const j = await readImportedMetrics(jsonl);
    expect([j.step, j.columns.loss, j.columns.accuracy]).toEqual([[3, 4], [1, NaN], [NaN, 0.5]]);
  });

  it('names the line of a bad value or a repeated step', async () => {
    const csv = join(dir, 'bad.csv');
    await writeFile(csv, 'step,loss\n1,abc\n');
    await expect(readImportedMetrics(csv)).rejects.toThrow(/bad\.csv: line 2: column loss is not a number \("abc"\)/);
    await writeFile(csv, 'step,loss\n1,1\n1,2\n');
    await expect(readImportedMetrics(csv)).rejects.toThrow(/bad\.csv: line 3: step 1 appears twice/);
    const jsonl = join(dir, 'bad.jsonl');
    await writeFile(jsonl, '{"step": 1}\n{"step": 2,\n');
    await expect(readImportedMetrics(jsonl)).rejects.toThrow(/bad\.jsonl: line 2 is not JSON/);
    for (const line of ['null', '[1, 2]', '3']) {
      await writeFile(jsonl, `{"step": 1}\n${line}\n`);
      await expect(readImportedMetrics(jsonl), line).rejects.toThrow(`${jsonl}: line 2 is not a JSON object of columns, e.g. {"step": 1, "loss": 2.3}`);
    }
  });
});
