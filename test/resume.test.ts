import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES } from '@sgdwalk/core';
import { CheckpointReader, readTable } from '@sgdwalk/checkpoints';
import { cliBin, requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/**
 * kill -9 during training, then the same command again: the run continues from its last complete
 * checkpoint and ends with final parameters (and every logged metric) bit-identical to an uninterrupted
 * run. Momentum is on, so the optimizer state must survive too.
 */
const pipeline = tinyPipeline({
  train: { epochs: 3, maxSteps: 30, momentum: 0.9, backend: 'auto', checkpoints: { windows: [{ steps: [0, 12] }], every: 5, shardSize: 4 } },
});
let dir: string;
let pipelineFile: string;
let dataDir: string;

function trainArgs(out: string) {
  return ['train', '--pipeline', pipelineFile, '--data', dataDir, '--out', out];
}

async function finalState(out: string) {
  const run = JSON.parse(await readFile(join(out, 'train', FILES.run), 'utf8'));
  const reader = await CheckpointReader.open(join(out, 'train', FILES.checkpoints), { layout: run.layout });
  const last = await reader.read(run.checkpointSteps.at(-1));
  await reader.close();
  return { run, bytes: Buffer.from(last.state.buffer, last.state.byteOffset, last.state.byteLength) };
}

async function expectSameRun(out: string, reference: string) {
  const a = await finalState(out);
  const b = await finalState(reference);
  expect(a.run.checkpointSteps).toEqual(b.run.checkpointSteps);
  expect(a.run.steps).toBe(30);
  expect(a.bytes.equals(b.bytes)).toBe(true);
  const ma = await readTable(join(out, 'train', FILES.metrics));
  const mb = await readTable(join(reference, 'train', FILES.metrics));
  for (const column of ['step', 'loss', 'accuracy', 'gradNorm', 'gradCosine', 'updateNorm', 'distanceFromInit']) {
    const x = ma.columns[column] as Float64Array | Int32Array;
    const y = mb.columns[column] as Float64Array | Int32Array;
    expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), column).toBe(true);
  }
  expect(ma.columns.indices).toEqual(mb.columns.indices);
  const ea = await readTable(join(out, 'train', FILES.evaluations));
  const eb = await readTable(join(reference, 'train', FILES.evaluations));
  expect(ea.columns).toEqual(eb.columns);
  expect(existsSync(join(out, '.train.staging'))).toBe(false);
}

describe('training killed with SIGKILL resumes bit-identically', () => {
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('resume');
    pipelineFile = join(dir, 'p.json');
    dataDir = join(dir, 'data');
    await writeFile(pipelineFile, JSON.stringify(pipeline));
    const data = runCli(['data', '--pipeline', pipelineFile, '--out', dir]);
    expect(data.code, data.stderr).toBe(0);
    const reference = runCli(trainArgs(join(dir, 'reference')));
    expect(reference.code, reference.stderr).toBe(0);
  }, 300_000);

  // Inside the dense window, between sparse checkpoints (resumes from 10 → 15 → …), around a write.
  it.each(['3:before-checkpoint', '12:after-checkpoint', '17:end-of-step', '25:before-checkpoint', '29:end-of-step'])('killed at %s', async (fault) => {
    const out = join(dir, `killed-${fault.replace(':', '-')}`);
    const killed = spawnSync(process.execPath, [cliBin, ...trainArgs(out)], { env: { ...process.env, SGDWALK_FAULT_KILL: fault }, encoding: 'utf8' });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(out, 'train'))).toBe(false); // nothing half-done was swapped in
    const again = runCli(trainArgs(out));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming run \w+ after step \d+/);
    await expectSameRun(out, join(dir, 'reference'));
  });

  it('killed at a random moment', async () => {
    const out = join(dir, 'killed-random');
    const child = spawn(process.execPath, [cliBin, ...trainArgs(out)], { stdio: 'ignore' });
    const journal = join(out, '.train.staging', '.resume', 'metrics.jsonl');
    const deadline = Date.now() + 60_000;
    while (!existsSync(journal) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, Math.random() * 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const again = runCli(trainArgs(out));
    expect(again.code, again.stderr).toBe(0);
    await expectSameRun(out, join(dir, 'reference'));
  });
});
