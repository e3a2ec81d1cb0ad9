import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSweepPipeline } from '@sgdwalk/core';
import { repoRoot, runNx, tempDir } from './helpers.js';

/**
 * The Nx wiring of sweeps in a scratch workspace (its own Nx cache, the repo's node_modules and plugin),
 * with a fake sgdwalk that only records each call and writes a marker into the stage's output folder:
 * the property under test is which tasks Nx runs and which it replays, not what the stages compute
 * (test/cli-sweep.test.ts runs the real stages).
 */
const plugin = createRequire(import.meta.url)(join(repoRoot, 'tools/nx-pipeline-plugin/index.cjs')) as {
  pipelineProject: (file: string, options: object, workspaceRoot: string) => [string, { projects: Record<string, { name: string; targets: Record<string, any> }> }];
  sweepPointIds: (sweep: unknown) => string[];
};

const FAKE_CLI = `
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
const [stage, ...rest] = process.argv.slice(2);
const opt = (name) => { const i = rest.indexOf('--' + name); return i >= 0 ? rest[i + 1] : undefined; };
const file = opt('pipeline');
const point = opt('point');
const raw = JSON.parse(readFileSync(file, 'utf8'));
const name = raw.name ?? basename(dirname(file));
const outDir = raw.outDir ?? 'out/' + name;
const dir = point ? join(outDir, 'points', point, stage) : join(outDir, stage);
// compare records which points' analyses it found, i.e. which ran before it.
const pointsDir = join(outDir, 'points');
const analysed = stage === 'compare' && existsSync(pointsDir) ? readdirSync(pointsDir).filter((p) => existsSync(join(pointsDir, p, 'analyze', 'result.json'))).sort() : undefined;
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'result.json'), JSON.stringify({ stage, point: point ?? null, analysed, pid: process.pid, at: Date.now() }));
appendFileSync('calls.log', stage + (point ? ' ' + point : '') + '\\n');
`;

let workspace: string;

const nx = (...args: string[]) => runNx(workspace, ...args);

/** The stage calls the fake CLI received since the last call of this function, sorted. */
async function takeCalls(): Promise<string[]> {
  const path = join(workspace, 'calls.log');
  const text = await readFile(path, 'utf8').catch(() => '');
  await rm(path, { force: true });
  return text.split('\n').filter(Boolean).sort();
}

/** Tasks Nx replayed from its cache, by the tag it prints on each. */
function replayed(log: string): string[] {
  return log
    .split('\n')
    // Nx colours its output (FORCE_COLOR is set under vitest): strip the escapes first.
    .map((line) => /nx run ([^\s]+)\s+\[(local cache|existing outputs match the cache)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''))?.[1])
    .filter((t): t is string => t !== undefined)
    .sort();
}

async function writeGrid(pipeline: Record<string, unknown>) {
  await writeFile(join(workspace, 'pipelines/grid/pipeline.json'), JSON.stringify(pipeline, null, 2));
}

const BASE = { train: { lr: 0.1, batchSize: 50 }, analyze: { evalSet: { size: 200 } } };

describe('nx sweep targets', () => {
  beforeAll(async () => {
    workspace = await tempDir('nx-sweep');
    await mkdir(join(workspace, 'pipelines/grid'), { recursive: true });
    await symlink(join(repoRoot, 'node_modules'), join(workspace, 'node_modules'));
    await writeFile(join(workspace, 'package.json'), JSON.stringify({ name: 'nx-sweep-test', private: true }));
    await writeFile(join(workspace, '.gitignore'), 'out/\n.nx/\nnode_modules\ncalls.log\n');
    await writeFile(join(workspace, 'fake-sgdwalk.mjs'), FAKE_CLI);
    const nxJson = JSON.parse(await readFile(join(repoRoot, 'nx.json'), 'utf8'));
    nxJson.plugins = [{ plugin: join(repoRoot, 'tools/nx-pipeline-plugin/index.cjs'), options: { cli: 'fake-sgdwalk.mjs', codeInputs: false } }];
    await writeFile(join(workspace, 'nx.json'), JSON.stringify(nxJson, null, 2));
  });

  it('names the points as the CLI does', () => {
    const sweeps = [
      { 'train.lr': [0.02, 0.1, 0.5], 'train.batchSize': [32, 128, 512] },
      { 'train.weightDecay': [0, 1e-4, 1e-7], 'train.backend': ['cpu', 'wasm'], 'train.checkpoints.every': [10] },
      { 'train.seed': [3] },
    ];
    for (const sweep of sweeps) {
      expect(plugin.sweepPointIds(sweep)).toEqual(parseSweepPipeline({ sweep }, 'p.json').points.map((p) => p.id));
    }
    expect(plugin.sweepPointIds({})).toEqual([]);
    expect(plugin.sweepPointIds({ 'train.lr': [] })).toEqual([]);
  });

  it('makes a project per point with train → analyze → report, and compare depends on every point', async () => {
    await writeGrid({ ...BASE, sweep: { 'train.lr': [0.05, 0.2], 'train.batchSize': [50] } });
    const [, { projects }] = plugin.pipelineProject('pipelines/grid/pipeline.json', { cli: 'fake-sgdwalk.mjs', codeInputs: false }, workspace);
    const byName = Object.fromEntries(Object.values(projects).map((p) => [p.name, p]));
    expect(Object.keys(byName).sort()).toEqual(['grid', 'grid--lr-0.05_batchSize-50', 'grid--lr-0.2_batchSize-50']);
    expect(Object.keys(byName.grid.targets).sort()).toEqual(['compare', 'data', 'full']);
    const point = byName['grid--lr-0.2_batchSize-50'];
    expect(Object.keys(point.targets).sort()).toEqual(['analyze', 'report', 'train']);
    expect(point.targets.train.command).toBe('node fake-sgdwalk.mjs train --pipeline pipelines/grid/pipeline.json --point lr-0.2_batchSize-50');
    expect(point.targets.train.dependsOn).toEqual([{ projects: ['grid'], target: 'data' }]);
    expect(point.targets.analyze.outputs).toEqual(['{workspaceRoot}/out/grid/points/lr-0.2_batchSize-50/analyze']);
    // The point's key is its own section of the file, never the sweep's lists.
    for (const stage of ['train', 'analyze', 'report']) {
      expect(point.targets[stage].inputs[0]).toEqual({ json: '{workspaceRoot}/pipelines/grid/pipeline.json', fields: [stage, 'outDir', 'name'] });
    }

    // As Nx resolves it: compare waits for every point's train and analyze; full for every report.
    const shown = JSON.parse(nx('show', 'project', 'grid', '--json'));
    const deps = (target: string) => shown.targets[target].dependsOn.map((d: { projects: string[]; target: string } | string) => (typeof d === 'string' ? d : `${d.projects[0]}:${d.target}`)).sort();
    expect(deps('compare')).toEqual([
      'grid--lr-0.05_batchSize-50:analyze', 'grid--lr-0.05_batchSize-50:train', 'grid--lr-0.2_batchSize-50:analyze', 'grid--lr-0.2_batchSize-50:train',
    ]);
    expect(deps('full')).toEqual(['compare', 'data', 'grid--lr-0.05_batchSize-50:report', 'grid--lr-0.2_batchSize-50:report']);
  });

  it('runs every point once; adding a point runs only its tasks (and compare) and replays the rest', async () => {
    await writeGrid({ ...BASE, sweep: { 'train.lr': [0.05, 0.2], 'train.batchSize': [50] } });
    await takeCalls();
    nx('run', 'grid:full');
    expect(await takeCalls()).toEqual([
      'analyze lr-0.05_batchSize-50', 'analyze lr-0.2_batchSize-50', 'compare', 'data',
      'report lr-0.05_batchSize-50', 'report lr-0.2_batchSize-50', 'train lr-0.05_batchSize-50', 'train lr-0.2_batchSize-50',
    ]);
    const compared = JSON.parse(await readFile(join(workspace, 'out/grid/compare/result.json'), 'utf8'));
    expect(compared.analysed).toEqual(['lr-0.05_batchSize-50', 'lr-0.2_batchSize-50']);

    // Nothing changed: everything replays.
    const again = nx('run', 'grid:full');
    expect(await takeCalls()).toEqual([]);
    expect(replayed(again)).toEqual(expect.arrayContaining(['grid--lr-0.05_batchSize-50:train', 'grid:compare', 'grid:data']));

    // One point added (in the middle of the list): only it trains, and compare takes it in.
    const before = await readFile(join(workspace, 'out/grid/points/lr-0.05_batchSize-50/train/result.json'), 'utf8');
    await writeGrid({ ...BASE, sweep: { 'train.lr': [0.05, 0.1, 0.2], 'train.batchSize': [50] } });
    const added = nx('run', 'grid:full');
    expect(await takeCalls()).toEqual(['analyze lr-0.1_batchSize-50', 'compare', 'report lr-0.1_batchSize-50', 'train lr-0.1_batchSize-50']);
    expect(replayed(added)).toEqual(
      expect.arrayContaining([
        'grid:data',
        ...['lr-0.05_batchSize-50', 'lr-0.2_batchSize-50'].flatMap((p) => ['train', 'analyze', 'report'].map((s) => `grid--${p}:${s}`)),
      ]),
    );
    expect(await readFile(join(workspace, 'out/grid/points/lr-0.05_batchSize-50/train/result.json'), 'utf8')).toBe(before);
    expect(JSON.parse(await readFile(join(workspace, 'out/grid/compare/result.json'), 'utf8')).analysed).toEqual([
      'lr-0.05_batchSize-50', 'lr-0.1_batchSize-50', 'lr-0.2_batchSize-50',
    ]);

    // An analysis edit re-runs every point's analyze and report, and compare (through the analyses it reads:
    // its own json fields did not change); training and data replay.
    await writeGrid({ ...BASE, analyze: { evalSet: { size: 300 } }, sweep: { 'train.lr': [0.05, 0.1, 0.2], 'train.batchSize': [50] } });
    nx('run', 'grid:full');
    const points = ['lr-0.05_batchSize-50', 'lr-0.1_batchSize-50', 'lr-0.2_batchSize-50'];
    expect(await takeCalls()).toEqual([...points.map((p) => `analyze ${p}`), 'compare', ...points.map((p) => `report ${p}`)]);

    // A deleted point's outputs come back from the cache without running it.
    await rm(join(workspace, 'out/grid/points/lr-0.2_batchSize-50'), { recursive: true });
    nx('run', 'grid:full');
    expect(await takeCalls()).toEqual([]);
    expect(JSON.parse(await readFile(join(workspace, 'out/grid/points/lr-0.2_batchSize-50/train/result.json'), 'utf8')).point).toBe('lr-0.2_batchSize-50');
  });

  it('makes each replicate an ordinary point: raising the count trains only the new seed', async () => {
    await writeGrid({ ...BASE, sweep: { 'train.lr': [0.05], replicates: 1 } });
    await takeCalls();
    nx('run', 'grid:full');
    // (data runs too when this test runs alone, in a fresh workspace)
    expect((await takeCalls()).filter((c) => c !== 'data')).toEqual(['analyze lr-0.05_seed-0', 'compare', 'report lr-0.05_seed-0', 'train lr-0.05_seed-0']);
    await writeGrid({ ...BASE, sweep: { 'train.lr': [0.05], replicates: 2 } });
    const added = nx('run', 'grid:full');
    expect(await takeCalls()).toEqual(['analyze lr-0.05_seed-1', 'compare', 'report lr-0.05_seed-1', 'train lr-0.05_seed-1']);
    expect(replayed(added)).toEqual(expect.arrayContaining(['grid--lr-0.05_seed-0:train', 'grid--lr-0.05_seed-0:analyze', 'grid--lr-0.05_seed-0:report']));
  });

  it('keys a task on its command: Nx re-runs a target whose command alone changed', async () => {
    // The mechanism the per-point keys rely on, shown on a plain project.json target with no file inputs.
    const probe = (word: string) => ({
      name: 'probe',
      targets: { say: { command: `node -e "require('fs').appendFileSync('calls.log', 'say ${word}\\\\n')"`, cache: true, inputs: [], outputs: [] } },
    });
    await mkdir(join(workspace, 'probe'), { recursive: true });
    await writeFile(join(workspace, 'probe/project.json'), JSON.stringify(probe('a')));
    await takeCalls();
    nx('run', 'probe:say');
    nx('run', 'probe:say');
    expect(await takeCalls()).toEqual(['say a']);
    await writeFile(join(workspace, 'probe/project.json'), JSON.stringify(probe('b')));
    nx('run', 'probe:say');
    expect(await takeCalls()).toEqual(['say b']);
  });
});
