import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliBin, repoRoot, requireBuiltCli, runNx, runNxWith, tempDir, tinyPipeline } from './helpers.js';
import { freePort, redisServerAvailable, startRedis } from '../tools/redis/server.mjs';

/**
 * The Nx wiring on a tiny pipeline in a scratch workspace (its own Nx cache, the repo's node_modules and
 * plugin): a stage's cache key covers its own section and the outputs before it, nothing else.
 */
const STAGES = ['data', 'train', 'analyze', 'report'] as const;
let workspace: string;

const nx = (...args: string[]) => runNx(workspace, ...args);

async function createdAt(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const stage of STAGES) {
    out[stage] = JSON.parse(await readFile(join(workspace, 'out/tiny', stage, 'manifest.json'), 'utf8')).createdAt;
  }
  return out;
}

/** Which tasks Nx replayed from its cache, by the "[local cache]" tag it prints on each. */
function replayed(log: string, project = 'tiny'): string[] {
  return STAGES.filter((s) => new RegExp(`${project}:${s}.*\\[(local cache|existing outputs match the cache)`).test(log) || new RegExp(`\\[(local cache|existing outputs match the cache)[^\\n]*\\n?[^\\n]*${project}:${s}\\b`).test(log));
}

async function writePipeline(overrides: Parameters<typeof tinyPipeline>[0] = {}) {
  await writeFile(join(workspace, 'pipelines/tiny/pipeline.json'), JSON.stringify(tinyPipeline(overrides), null, 2));
}

describe('nx pipeline targets', () => {
  beforeAll(async () => {
    requireBuiltCli();
    workspace = await tempDir('nx');
    await mkdir(join(workspace, 'pipelines/tiny'), { recursive: true });
    await symlink(join(repoRoot, 'node_modules'), join(workspace, 'node_modules'));
    await writeFile(join(workspace, 'package.json'), JSON.stringify({ name: 'nx-cache-test', private: true }));
    await writeFile(join(workspace, '.gitignore'), 'out/\n.nx/\nnode_modules\n');
    const nxJson = JSON.parse(await readFile(join(repoRoot, 'nx.json'), 'utf8'));
    nxJson.plugins = [{ plugin: join(repoRoot, 'tools/nx-pipeline-plugin/index.cjs'), options: { cli: cliBin, codeInputs: false } }];
    await writeFile(join(workspace, 'nx.json'), JSON.stringify(nxJson, null, 2));
    await writePipeline();
  });

  it('runs every stage, then an analysis-only edit replays data and train from the cache', async () => {
    nx('run', 'tiny:full');
    const first = await createdAt();
    const second = nx('run', 'tiny:full');
    expect(replayed(second)).toEqual([...STAGES]);
    expect(await createdAt()).toEqual(first);

    await writePipeline({ analyze: { evalSet: { split: 'train', size: 150, seed: 0 } } });
    const third = nx('run', 'tiny:full');
    expect(replayed(third)).toEqual(['data', 'train']);
    const after = await createdAt();
    expect(after.data).toBe(first.data);
    expect(after.train).toBe(first.train);
    expect(after.analyze).not.toBe(first.analyze);
    expect(after.report).not.toBe(first.report);
    const summary = JSON.parse(await readFile(join(workspace, 'out/tiny/analyze/summary.json'), 'utf8'));
    expect(summary.evalSetSize).toBe(150);

    // Deleted outputs come back from the cache, byte for byte, without running anything.
    await rm(join(workspace, 'out'), { recursive: true, force: true });
    const fourth = nx('run', 'tiny:full');
    expect(replayed(fourth)).toEqual([...STAGES]);
    expect(await createdAt()).toEqual(after);

    // A training edit re-runs train and everything after it, but not data.
    await writePipeline({ analyze: { evalSet: { split: 'train', size: 150, seed: 0 } }, train: { lr: 0.05 } });
    const fifth = nx('run', 'tiny:full');
    expect(replayed(fifth)).toEqual(['data']);
  });

  it.skipIf(!redisServerAvailable() && !process.env.CI)('SGDWALK_QUEUE is a deployment setting: outside the cache key, and the analysis on a queue writes the same files', async () => {
    nx('run', 'tiny:analyze');
    // A cached analysis replays with a queue named: the URL (nothing listens there) is never contacted.
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    expect(replayed(runNxWith(workspace, { SGDWALK_QUEUE: nowhere }, 'run', 'tiny:analyze'))).toContain('analyze');
    const analysisDir = join(workspace, 'out/tiny/analyze');
    const tables = (await readdir(analysisDir)).filter((f) => f.endsWith('.arrow'));
    const embedded = await Promise.all(tables.map((f) => readFile(join(analysisDir, f))));
    // Computed afresh on a queue with one worker: the same tables, byte for byte.
    const redis = await startRedis();
    const worker = spawn(process.execPath, [cliBin, 'worker', '--root', workspace, '--queue', redis.url], { stdio: 'ignore', detached: true });
    try {
      await rm(analysisDir, { recursive: true, force: true });
      const log = runNxWith(workspace, { SGDWALK_QUEUE: redis.url }, 'run', 'tiny:analyze', '--skip-nx-cache');
      expect(log).toContain(`on the queue at ${redis.url}`);
      const onQueue = await Promise.all(tables.map((f) => readFile(join(analysisDir, f))));
      onQueue.forEach((bytes, i) => expect(bytes.equals(embedded[i]), tables[i]).toBe(true));
      expect(JSON.parse(await readFile(join(analysisDir, 'summary.json'), 'utf8')).computedBy[0].lines).toBeGreaterThan(0);
    } finally {
      process.kill(-worker.pid!, 'SIGKILL');
      await redis.stop();
    }
  });

  it('points a pipeline\'s analysis at an existing run instead of training', async () => {
    await mkdir(join(workspace, 'pipelines/reanalysis'), { recursive: true });
    const pipeline = tinyPipeline({ analyze: { run: 'out/tiny/train', alphas: [0, 0.5, 1] } });
    await writeFile(join(workspace, 'pipelines/reanalysis/pipeline.json'), JSON.stringify(pipeline));
    const log = nx('run', 'reanalysis:full');
    expect(log).not.toMatch(/reanalysis:train/);
    const summary = JSON.parse(await readFile(join(workspace, 'out/reanalysis/analyze/summary.json'), 'utf8'));
    const run = JSON.parse(await readFile(join(workspace, 'out/tiny/train/run.json'), 'utf8'));
    expect(summary.runId).toBe(run.runId);
    expect(summary.alphas).toEqual([0, 0.5, 1]);
    expect(replayed(nx('run', 'reanalysis:full'), 'reanalysis')).toEqual(['data', 'analyze', 'report']);
  });

  it('runs two pipelines at once without interference', async () => {
    const lrs = { 'para-a': 0.05, 'para-b': 0.2 } as const;
    for (const [name, lr] of Object.entries(lrs)) {
      await mkdir(join(workspace, 'pipelines', name), { recursive: true });
      await writeFile(join(workspace, 'pipelines', name, 'pipeline.json'), JSON.stringify(tinyPipeline({ train: { lr } })));
    }
    nx('run-many', '-t', 'full', '--projects=para-a,para-b', '--parallel=2');
    for (const [name, lr] of Object.entries(lrs)) {
      const run = JSON.parse(await readFile(join(workspace, 'out', name, 'train/run.json'), 'utf8'));
      const summary = JSON.parse(await readFile(join(workspace, 'out', name, 'analyze/summary.json'), 'utf8'));
      expect(run.config.lr).toBe(lr);
      expect(summary.runId).toBe(run.runId);
      // Every file and checkpoint of each output root is intact and its own.
      const verified = spawnSync(process.execPath, [cliBin, 'verify', join(workspace, 'out', name)], { encoding: 'utf8' });
      expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    }
  });
});
