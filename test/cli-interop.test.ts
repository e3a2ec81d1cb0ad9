import { existsSync, readdirSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES, type AnalysisSummary, type RunInfo } from '@sgdwalk/core';
import { readTable } from '@sgdwalk/checkpoints';
import { encodeSafetensors, parseSafetensors } from '@sgdwalk/interop';
import { repoRoot, requireBuiltCli, runCli, tempDir } from './helpers.js';

/**
 * `sgdwalk import` / `export` as a user runs them: a PyTorch run (the committed fixture) imported, analysed
 * and reported; exported and imported again to the same numbers; and every bad input the issue names
 * rejected with one message naming the file and the tensor, exit 1, and no output folder left behind.
 */
const FIXTURE = join(repoRoot, 'test/fixtures/torch-runs/conv-bn');
const MLP_FIXTURE = join(repoRoot, 'test/fixtures/torch-runs/mlp-bn');

function expectCleanFailure(result: { code: number | null; stderr: string }, ...patterns: RegExp[]) {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toMatch(/^sgdwalk: error: /m);
  expect(result.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  for (const p of patterns) expect(result.stderr).toMatch(p);
}

describe('sgdwalk import and export', () => {
  let dir: string;
  let pipeline: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('interop');
    // The fixture's synthetic data has the conv net's shape: 8×8×3 images, 4 classes.
    pipeline = join(dir, 'pipeline.json');
    await writeFile(pipeline, JSON.stringify({
      outDir: join(dir, 'out'),
      data: { dataset: 'synthetic', synthetic: { imageShape: [8, 8, 3], classes: 4, counts: { train: 96, validation: 16, test: 16 } } },
      analyze: { alphas: [0, 0.25, 0.5, 0.75, 1], evalSet: { split: 'train', size: 96, seed: 0 }, evalBatchSize: 32, provider: 'cpu', barriers: { floor: true, lags: [2], every: 1 }, sharpness: { steps: [0, 4] } },
    }));
    expect(runCli(['data', '-p', pipeline, '-q']).code).toBe(0);
  });

  /** The fixture's checkpoints copied, with step 2's file replaced by `bytes`. */
  async function checkpointsWith(name: string, bytes: Uint8Array | ((original: Uint8Array) => Uint8Array)): Promise<string> {
    const copy = join(dir, name);
    await cp(join(FIXTURE, 'checkpoints'), copy, { recursive: true });
    const file = join(copy, 'step-002.safetensors');
    await writeFile(file, typeof bytes === 'function' ? bytes(await readFile(file)) : bytes);
    return copy;
  }
  /** step 2's tensors changed by `edit`, re-encoded. */
  const editTensors = (edit: (t: ReturnType<typeof parseSafetensors>['tensors']) => ReturnType<typeof parseSafetensors>['tensors']) => (original: Uint8Array) =>
    encodeSafetensors(edit(parseSafetensors(original, 'step-002').tensors));
  /** step 2's header rewritten (the file re-laid out with the new header, the data bytes unchanged). */
  const editHeader = (edit: (header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void) => (original: Uint8Array) => {
    const length = Number(new DataView(original.buffer, original.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(original.subarray(8, 8 + length)));
    edit(header);
    const text = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + text.length + original.length - 8 - length);
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    out.set(original.subarray(8 + length), 8 + text.length);
    return out;
  };

  const importInto = (out: string, checkpoints = join(FIXTURE, 'checkpoints'), onnx = join(FIXTURE, 'model.onnx'), extra: string[] = []) =>
    runCli(['import', '--onnx', onnx, '--checkpoints', checkpoints, '--dataset', 'synthetic', '--data', join(dir, 'out/data'), '--metrics', join(FIXTURE, 'metrics.csv'), '-o', out, '-q', ...extra]);

  it.each([
    ['a truncated safetensors file', 'truncated', (b: Uint8Array) => b.subarray(0, 40), /step-002\.safetensors: truncated or not safetensors: the header length says \d+ bytes, the file has 32/],
    ['offsets that overrun the file', 'overrun', editHeader((h) => { h['fc.bias'].data_offsets[1] += 4000; h['fc.bias'].data_offsets[0] += 3984; }), /step-002\.safetensors: tensor fc\.bias: data_offsets \[\d+, \d+\] overrun the file/],
    ['an unknown dtype', 'dtype', editHeader((h) => { h['bn1.bias'].dtype = 'F99'; }), /step-002\.safetensors: tensor bn1\.bias: unknown dtype "F99"/],
    ['a missing tensor', 'missing', editTensors((t) => t.filter((x) => x.name !== 'bn1.running_var')), /step-002\.safetensors: tensor bn1\.running_var: missing: the graph .*model\.onnx has this initializer \[4\]/],
    ['an extra tensor', 'extra', editTensors((t) => [...t, { name: 'fc2.weight', shape: [1], values: new Float32Array(1) }]), /step-002\.safetensors: tensor fc2\.weight: extra: not an initializer of the graph/],
    ['a shape that does not match the graph', 'shape', editTensors((t) => t.map((x) => (x.name === 'fc.weight' ? { ...x, shape: [64, 4] } : x))), /step-002\.safetensors: tensor fc\.weight: shape \[64, 4\] does not match the graph's \[4, 64\]/],
  ])('rejects %s, naming the file and the tensor, writing nothing', async (_what, name, edit, message) => {
    const out = join(dir, `bad-${name}`, 'train');
    expectCleanFailure(importInto(out, await checkpointsWith(`ckpt-${name}`, edit)), message);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(dir, `bad-${name}`))).toEqual([]); // no staging folder left either
  });

  it('rejects a file that is not ONNX and a graph whose input does not fit the dataset', async () => {
    const notOnnx = join(dir, 'notes.onnx');
    await writeFile(notOnnx, 'not a model at all\n');
    const out = join(dir, 'bad-graph', 'train');
    expectCleanFailure(importInto(out, undefined, notOnnx), /notes\.onnx: not an ONNX model/);
    expectCleanFailure(importInto(out, join(MLP_FIXTURE, 'checkpoints'), join(MLP_FIXTURE, 'model.onnx')), /mlp-bn\/model\.onnx: graph input input has shape \[N, 64\], but the dataset's examples are 8×8×3 \(H×W×C\): it must be \[N, 192\]/);
    expect(existsSync(out)).toBe(false);
  });

  it('imports a PyTorch run that analyze and report then treat as a native one', async () => {
    const run = join(dir, 'torch', 'train');
    const r = importInto(run);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(await readFile(join(run, FILES.run), 'utf8')) as RunInfo;
    expect(info.source?.kind).toBe('onnx');
    expect(info.tensors?.buffers).toEqual(['bn1.running_mean', 'bn1.running_var']);
    expect(runCli(['verify', run]).code).toBe(0);
    const analysis = join(dir, 'torch', 'analyze');
    const a = runCli(['analyze', '-p', pipeline, '--run', run, '--data', join(dir, 'out/data'), '-o', analysis]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/imported graph: the fast engine needs a model spec to lower; using the naive engine/);
    expect(a.stderr).toMatch(/sharpness: not available for an imported run/);
    const summary = JSON.parse(await readFile(join(analysis, FILES.summary), 'utf8')) as AnalysisSummary;
    expect(summary.pairs).toBe(4);
    expect(summary.sharpnessUnavailable).toMatch(/inference graph/);
    const report = join(dir, 'torch', 'report');
    const rep = runCli(['report', '-p', pipeline, '--run', run, '--analysis', analysis, '-o', report, '-q']);
    expect(rep.code, rep.stderr).toBe(0);
    expect(await readFile(join(report, 'summary.md'), 'utf8')).toMatch(/not available for an imported run/);
  });

  it('is analysed by a pipeline whose analyze.run names it', async () => {
    const run = join(dir, 'torch', 'train');
    const file = join(dir, 'analyze-run.json');
    const config = JSON.parse(await readFile(pipeline, 'utf8'));
    await writeFile(file, JSON.stringify({ ...config, outDir: join(dir, 'piped'), analyze: { ...config.analyze, run } }));
    const r = runCli(['run', '-p', file, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(await readFile(join(dir, 'piped', 'analyze', FILES.summary), 'utf8')) as AnalysisSummary;
    expect(summary.runId).toBe((JSON.parse(await readFile(join(run, FILES.run), 'utf8')) as RunInfo).runId);
    expect(summary.pairs).toBe(4);
    expect(existsSync(join(dir, 'piped', 'report', 'index.html'))).toBe(true);
    expect(existsSync(join(dir, 'piped', 'train'))).toBe(false);
  });

  it('exports a run and imports it back to the same analysis', async () => {
    const run = join(dir, 'torch', 'train');
    const exported = join(dir, 'exported');
    const e = runCli(['export', run, '--format', 'safetensors', '--steps', '1..3', '-o', exported, '-q']);
    expect(e.code, e.stderr).toBe(0);
    expect(readdirSync(exported).sort()).toEqual(['metrics.csv', 'model.onnx', 'step-1.safetensors', 'step-2.safetensors', 'step-3.safetensors']);
    expectCleanFailure(runCli(['export', run, '--layout', 'torch', '-o', join(dir, 'never')]), /imported run/);
    expectCleanFailure(runCli(['export', run, '--steps', '7..9', '-o', join(dir, 'never')]), /no checkpoint of .* lies in steps 7\.\.9/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    const again = join(dir, 'again', 'train');
    const i = runCli(['import', '--onnx', join(exported, 'model.onnx'), '--checkpoints', exported, '--metrics', join(exported, 'metrics.csv'), '--dataset', 'synthetic', '--data', join(dir, 'out/data'), '-o', again, '-q']);
    expect(i.code, i.stderr).toBe(0);
    const analysis = join(dir, 'again', 'analyze');
    expect(runCli(['analyze', '-p', pipeline, '--run', again, '--data', join(dir, 'out/data'), '-o', analysis, '-q']).code).toBe(0);
    const losses = async (d: string) => (await readTable(join(d, FILES.interpolation))).columns.loss as Float64Array;
    const original = await losses(join(dir, 'torch', 'analyze'));
    const roundTrip = await losses(analysis);
    // Pairs 2 and 3 (steps 1–3) are the first 2 × 5 rows of the round trip and rows 5–14 of the original.
    expect(Array.from(roundTrip)).toEqual(Array.from(original.subarray(5, 15)));
  });
});

