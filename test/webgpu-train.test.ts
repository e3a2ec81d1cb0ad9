import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES, FORCE_ENV, PROJECTION_LIMIT_HOURS, silentLogger } from '@sgdwalk/core';
import { CheckpointReader } from '@sgdwalk/checkpoints';
import { selectBackend } from '@sgdwalk/model';
import { cliBin, requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/**
 * The whole tiny pipeline with train.backend "webgpu" through the CLI, as a user runs it (in CI on Mesa's
 * lavapipe), kill -9 resume on webgpu, and the projection printed before a run with its refusal.
 */
const unavailable = await selectBackend('webgpu', silentLogger).then(() => undefined, (e: Error) => e.message);
if (unavailable && process.env.CI === 'true') throw new Error(`CI runs the WebGPU training tests, but ${unavailable}: .ci/install-vulkan installs lavapipe`);

let dir: string;
let dataDir: string;

async function finalBytes(out: string) {
  const run = JSON.parse(await readFile(join(out, 'train', FILES.run), 'utf8'));
  const reader = await CheckpointReader.open(join(out, 'train', FILES.checkpoints), { layout: run.layout });
  const last = await reader.read(run.checkpointSteps.at(-1));
  await reader.close();
  return { run, bytes: Buffer.from(last.state.buffer, last.state.byteOffset, last.state.byteLength) };
}

async function pipelineFile(name: string, train: Record<string, unknown>) {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(tinyPipeline({ train })));
  return file;
}

beforeAll(async () => {
  requireBuiltCli();
  dir = await tempDir('webgpu-train');
  dataDir = join(dir, 'data');
  const data = runCli(['data', '--pipeline', await pipelineFile('data', {}), '--out', dir]);
  expect(data.code, data.stderr).toBe(0);
}, 300_000);

describe.skipIf(unavailable !== undefined)(unavailable ? `the pipeline on webgpu (skipped: ${unavailable})` : 'the pipeline on webgpu', () => {
  it('runs every stage with backend "webgpu"; run.json and the manifest record the backend and the adapter', async () => {
    const file = await pipelineFile('whole', { backend: 'webgpu' });
    const out = join(dir, 'whole');
    const r = runCli(['run', '--pipeline', file, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/projected: 8 training steps × [\d.]+ m?s on webgpu \(.+\) = \d+s, \+ 17 analysis lines × /);
    const run = JSON.parse(await readFile(join(out, 'train', FILES.run), 'utf8'));
    expect(run.backend).toBe('webgpu');
    expect(run.adapter).toMatch(/\S/);
    expect(r.stderr).toContain(`training backend: webgpu on ${run.adapter}`);
    const manifest = JSON.parse(await readFile(join(out, 'train', FILES.manifest), 'utf8'));
    expect(manifest.versions).toMatchObject({ backend: 'webgpu', adapter: run.adapter });
    expect(existsSync(join(out, 'report', 'index.html'))).toBe(true);
    expect(runCli(['verify', out]).code).toBe(0);
  });

  it('killed with SIGKILL mid-run, the same command continues to the bytes of an uninterrupted run (itself repeatable)', async () => {
    const train = { backend: 'webgpu', epochs: 2, maxSteps: 14, momentum: 0.9, checkpoints: { windows: [{ steps: [0, 6] }], every: 4, shardSize: 2 } };
    const file = await pipelineFile('resume', train);
    const args = (out: string) => ['train', '--pipeline', file, '--data', dataDir, '--out', out];
    const [a, b] = [join(dir, 'reference-a'), join(dir, 'reference-b')];
    for (const out of [a, b]) expect(runCli(args(out)).code).toBe(0);
    const reference = await finalBytes(a);
    // Determinism on this backend and adapter: two runs, the same bytes.
    expect((await finalBytes(b)).bytes.equals(reference.bytes)).toBe(true);
    const killedOut = join(dir, 'killed');
    const killed = spawnSync(process.execPath, [cliBin, ...args(killedOut)], { env: { ...process.env, SGDWALK_FAULT_KILL: '10:end-of-step' }, encoding: 'utf8' });
    expect(killed.signal).toBe('SIGKILL');
    const again = runCli(args(killedOut));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming run \w+ after step 8/);
    const resumed = await finalBytes(killedOut);
    expect(resumed.run.steps).toBe(14);
    expect(resumed.bytes.equals(reference.bytes)).toBe(true);
  });
});

describe('the projection before a run', () => {
  it(`refuses \`epochs: 1e9\` without maxSteps, beyond ${PROJECTION_LIMIT_HOURS} h, naming the steps and the time, and writes nothing`, async () => {
    const file = await pipelineFile('endless', { backend: 'cpu', epochs: 1e9, maxSteps: undefined });
    const out = join(dir, 'endless');
    const r = runCli(['train', '--pipeline', file, '--data', dataDir, '--out', out]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(
      new RegExp(`^sgdwalk: error: .*projected: 1\\.20e\\+10 training steps × [\\d.]+ m?s on cpu = [\\d.,e+]+ (days|years).* — over the ${PROJECTION_LIMIT_HOURS} h limit on this machine; not started \\(.*--force, or ${FORCE_ENV}=1 under Nx\\)$`),
    );
    expect(existsSync(join(out, 'train'))).toBe(false);
    expect(existsSync(join(out, '.train.staging'))).toBe(false);
  });

  it('prints the step count and projected time of an ordinary run before its first step', () => {
    const r = runCli(['train', '--pipeline', join(dir, 'data.json'), '--data', dataDir, '--out', join(dir, 'ordinary')]);
    expect(r.code, r.stderr).toBe(0);
    const projected = r.stderr.indexOf('projected: 8 training steps');
    expect(projected).toBeGreaterThanOrEqual(0);
    expect(projected).toBeLessThan(r.stderr.indexOf('train 1/8'));
  });
});
