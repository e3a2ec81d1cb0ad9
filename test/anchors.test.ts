import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES } from '@sgdwalk/core';
import { CheckpointReader, readTable } from '@sgdwalk/checkpoints';
import { cliBin, requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/**
 * An anchored run through the CLI: trained with anchors every 10 steps (momentum on, 12 steps per epoch),
 * a window first named at analysis time, `sgdwalk materialize`, a replay on another backend, and a
 * kill -9 during training that must leave the same anchors and state hashes as an uninterrupted run.
 */
const train = { epochs: 3, maxSteps: 30, momentum: 0.9, backend: 'wasm' };
const anchored = tinyPipeline({
  train: { ...train, checkpoints: { windows: [], every: 0, anchors: { every: 10 }, shardSize: 4 } },
  analyze: { steps: [12, 15], barriers: { floor: true, lags: [2], every: 2 } },
});
const dense = tinyPipeline({ train: { ...train, checkpoints: { windows: [{ steps: [0, 30] }], every: 0 } } });

let dir: string;
let out: string;
let anchoredFile: string;

describe('anchored runs from the command line', () => {
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('anchors');
    out = join(dir, 'anchored');
    anchoredFile = join(dir, 'anchored.json');
    await writeFile(anchoredFile, JSON.stringify(anchored));
    await writeFile(join(dir, 'dense.json'), JSON.stringify(dense));
    const run = runCli(['run', '--pipeline', anchoredFile, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const reference = runCli(['train', '--pipeline', join(dir, 'dense.json'), '--data', join(out, 'data'), '--out', join(dir, 'dense')]);
    expect(reference.code, reference.stderr).toBe(0);
  }, 600_000);

  it('stores only the anchors and analyses a window of steps it never stored', async () => {
    const runInfo = JSON.parse(await readFile(join(out, 'train', FILES.run), 'utf8'));
    expect(runInfo.checkpointSteps).toEqual([0, 10, 20, 30]);
    const summary = JSON.parse(await readFile(join(out, 'analyze', FILES.summary), 'utf8'));
    expect(summary.pairs).toBe(4);
    expect((await readdir(join(out, 'materialized'))).length).toBe(5); // θ_11 … θ_15
    // Another window of the same run, named only now by another analysis: no retraining.
    const later = join(dir, 'later.json');
    await writeFile(later, JSON.stringify({ ...anchored, analyze: { ...anchored.analyze, steps: [22, 24] } }));
    const again = runCli(['analyze', '--pipeline', later, '--run', join(out, 'train'), '-o', join(dir, 'later-analysis')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 stored, 0 reused from the replay cache, 4 replayed \(4 steps taken\)/);
    expect(JSON.parse(await readFile(join(dir, 'later-analysis', FILES.summary), 'utf8')).pairs).toBe(3);
    const verify = runCli(['verify', out]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('materialize --steps A..B prints each step\'s checkpoint, bit-identical to the dense run\'s', async () => {
    const result = runCli(['materialize', '--run', join(out, 'train'), '--steps', '9..25', '--cache', join(dir, 'cache')]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(lines.map(([step]) => Number(step))).toEqual(Array.from({ length: 17 }, (_, i) => 9 + i));
    const reference = await CheckpointReader.open(join(dir, 'dense', 'train', FILES.checkpoints));
    for (const [step, sha256, path] of lines) {
      expect(sha256, `step ${step}`).toBe(reference.hashOf(Number(step)));
      const reader = await CheckpointReader.open(path);
      const a = (await reader.read(Number(step))).state;
      const b = (await reference.read(Number(step))).state;
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
      await reader.close();
    }
    await reference.close();
    expect(result.stderr).toMatch(/steps 9\.\.25: 2 stored, 0 from the cache, 15 replayed/);
    const again = runCli(['materialize', '--run', join(out, 'train'), '--steps', '9..25', '--cache', join(dir, 'cache')]);
    expect(again.stderr).toMatch(/steps 9\.\.25: 2 stored, 15 from the cache, 0 replayed/);
  });

  it('a replay on another backend stops at its first step with one message', () => {
    const result = runCli(['materialize', '--run', join(out, 'train'), '--steps', '21..22', '--backend', 'cpu', '--cache', join(dir, 'cache-cpu')]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').filter((l) => l.startsWith('sgdwalk: error'))).toHaveLength(1);
    expect(result.stderr).toMatch(/sgdwalk: error: .*run\.json \(step 21\): the replayed state has sha256 .* \(replaying from anchor 20\): replayed on backend cpu, the run was trained on wasm/);
    const bad = runCli(['materialize', '--run', join(out, 'train'), '--steps', '25..3']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--steps.*A <= B/);
  });

  it.each(['20:after-checkpoint', '15:end-of-step', '11:end-of-step'])('killed at %s, resumed: the same anchors, velocity and state hashes', async (fault) => {
    const killedOut = join(dir, `killed-${fault.replace(':', '-')}`);
    const args = ['train', '--pipeline', anchoredFile, '--data', join(out, 'data'), '--out', killedOut];
    const killed = spawnSync(process.execPath, [cliBin, ...args], { env: { ...process.env, SGDWALK_FAULT_KILL: fault }, encoding: 'utf8' });
    expect(killed.signal).toBe('SIGKILL');
    const again = runCli(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming run \w+ after step \d+/);
    const hashes = async (root: string) => (await readTable(join(root, 'train', 'state-hashes.arrow'))).columns;
    expect(await hashes(killedOut)).toEqual(await hashes(out));
    const velocity = async (root: string) => {
      const reader = await CheckpointReader.open(join(root, 'train', 'optimizer'));
      const steps = reader.steps;
      const hashesOf = steps.map((s) => reader.hashOf(s));
      await reader.close();
      return { steps, hashesOf };
    };
    expect(await velocity(killedOut)).toEqual(await velocity(out));
  });
});
