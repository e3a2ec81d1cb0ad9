// @ts-check
/**
 * Local Nx plugin: every `pipelines/<name>/pipeline.json` becomes the Nx project `<name>` with the cacheable
 * targets data → train → analyze → report and `full`. A stage's cache key is exactly
 *   - its own section of the pipeline file (Nx's `json` input with `fields`), plus `outDir`,
 *   - the code of the packages it runs (their production files and the npm packages they use),
 *   - the outputs of the stages before it (dependent task outputs: they are git-ignored, so Nx would
 *     otherwise leave them out of the hash),
 * so editing `analyze` re-runs analyze and report and replays data and train from the cache.
 *
 * A pipeline with a `sweep` (a grid over train settings) becomes the project `<name>` with `data`, `compare`
 * and `full`, plus one project `<name>--<pointId>` per grid point with train → analyze → report. Nx's
 * `json` input cannot pick one element of the `sweep` lists, so the per-point cache key leaves `sweep` out
 * and carries the point in the command instead (`--point <pointId>`): Nx hashes each target's options, the
 * command included, and every target of the task's project (hash_project_config in Nx's native task
 * hasher), so adding a point creates new tasks and leaves the existing points' keys as they were.
 */
const { readFileSync } = require('node:fs');
const { dirname, isAbsolute, posix } = require('node:path');
// The rules core applies too (point ids, default names and folders, dataset variables, which package runs
// each stage), in plain JavaScript so this plugin can load them before anything is built.
const rules = require('../../packages/core/rules/pipeline-rules.cjs');

const PATTERN = 'pipelines/*/pipeline.json';

/** The npm packages each stage's results depend on beyond those its workspace packages declare: none today. */
const EXTRA_EXTERNAL = { data: [], train: [], analyze: [], report: [] };

/**
 * Per stage: the stage before it, the workspace packages whose code it runs (the package that implements it,
 * its workspace dependencies, and the CLI) and the npm packages they declare, all read from the packages'
 * package.json files so a new dependency joins the cache key without an edit here.
 * @param {string} workspaceRoot
 */
function stagePlan(workspaceRoot) {
  /** @type {Map<string, { deps: string[], external: string[] }>} */
  const manifests = new Map();
  const manifest = (name) => {
    if (!manifests.has(name)) {
      const json = JSON.parse(readFileSync(posix.join(workspaceRoot, 'packages', name, 'package.json'), 'utf8'));
      const deps = Object.keys(json.dependencies ?? {});
      manifests.set(name, {
        deps: deps.filter((d) => d.startsWith('@sgdwalk/')).map((d) => d.slice('@sgdwalk/'.length)),
        external: deps.filter((d) => !d.startsWith('@sgdwalk/')),
      });
    }
    return manifests.get(name);
  };
  const closure = (name, seen = new Set()) => {
    if (!seen.has(name)) {
      seen.add(name);
      for (const dep of manifest(name).deps) closure(dep, seen);
    }
    return seen;
  };
  /** @type {Record<string, { after: string | null, packages: string[], external: string[] }>} */
  const plan = {};
  for (const [stage, after] of rules.STAGE_ORDER) {
    const packages = [...closure(rules.STAGE_PACKAGES[stage])].sort();
    // The CLI's own files and its command-line parser, not every package it can load.
    const external = new Set([...packages.flatMap((p) => manifest(p).external), 'yargs', ...EXTRA_EXTERNAL[stage]]);
    plan[stage] = { after, packages: [...packages, 'cli'], external: [...external].sort() };
  }
  return plan;
}

/** Without the packages (codeInputs off: the Nx tests' scratch workspaces) only the stage order is known. */
function stageOrderOnly() {
  return Object.fromEntries(rules.STAGE_ORDER.map(([stage, after]) => [stage, { after, packages: [], external: [] }]));
}

/**
 * The grid points' ids in the CLI's order (core's sweepPoints, through the same rules). Lenient: a malformed
 * sweep yields the points it can, and its stages fail with the CLI's clear message naming the field.
 * @param {unknown} sweep
 * @returns {string[]}
 */
function sweepPointIds(sweep) {
  const ids = rules.sweepCombinations(sweep).map((overrides) => rules.pointId(overrides));
  return [...new Set(ids)].filter((id) => rules.POINT_ID_PATTERN.test(id));
}

/** Where a stage of a pipeline (or of one of its points) writes: core's stage folders, relative to the workspace. */
function stageOutput(outDir, stage, point) {
  return posix.join(outDir, ...rules.stageSegments(stage, point));
}

/**
 * One stage target.
 * @param {{ stage: string, file: string, cli: string, codeInputs: boolean, outDir: string, point?: string,
 *   after: string | null | { project: string, target: string }, jsonFile: string, cache?: boolean, extraInputs?: any[],
 *   dataset?: string, plan: Record<string, { after: string | null, packages: string[], external: string[] }> }} o
 */
function stageTarget(o) {
  const { stage, file, cli, codeInputs, outDir, point, after, jsonFile } = o;
  const { packages, external } = o.plan[stage];
  const inputs = [{ json: jsonFile, fields: [stage, 'outDir', 'name'] }, ...(o.extraInputs ?? [])];
  // Where the source files are found (data's own dir field is in its json input). The files themselves
  // live outside the workspace, so Nx cannot hash them; the data stage checks them against the descriptor.
  if (stage === 'data') inputs.push(...rules.dataLocationEnv(o.dataset ?? rules.DEFAULT_DATASET).map((env) => ({ env })));
  const dependsOn = [];
  if (codeInputs) {
    inputs.push({ input: 'production', projects: packages }, { externalDependencies: external });
    if (stage === 'data') inputs.push('{workspaceRoot}/datasets/*.json'); // descriptors: files, checksums, splits
    dependsOn.push({ target: 'build', projects: ['cli'] });
  }
  if (after) {
    // Only the pipeline's own outputs, not the build outputs the CLI build dependency brings along.
    inputs.push({ dependentTasksOutputFiles: `${outDir}/**/*`, transitive: true });
    // A point's train depends on the pipeline project's shared data target.
    dependsOn.push(typeof after === 'string' ? after : { projects: [after.project], target: after.target });
  }
  return {
    command: `node ${cli} ${stage} --pipeline ${file}${point ? ` --point ${point}` : ''}`,
    options: { cwd: '{workspaceRoot}' },
    cache: o.cache ?? true,
    inputs,
    outputs: [`{workspaceRoot}/${stageOutput(outDir, stage, point)}`],
    dependsOn,
    metadata: { description: `sgdwalk ${stage} stage of ${file}${point ? `, sweep point ${point}` : ''}` },
  };
}

/**
 * @param {string} file pipeline file, workspace-relative
 * @param {{ cli?: string, codeInputs?: boolean }} options
 *   cli: the sgdwalk entry point (default packages/cli/bin/sgdwalk.js);
 *   codeInputs: hash the packages' code and build the CLI first (default true; off only for workspaces
 *   without the packages, such as the Nx caching test's scratch workspace).
 * @param {string} workspaceRoot
 */
function pipelineProject(file, options, workspaceRoot) {
  const root = dirname(file);
  let raw = {};
  try {
    raw = JSON.parse(readFileSync(posix.join(workspaceRoot, file), 'utf8'));
  } catch {
    // An unreadable file still becomes a project; its stages fail with the CLI's clear message.
  }
  // Same defaults as the CLI (core's parsePipeline, through the same rules): name from the folder, outputs in out/<name>.
  const name = typeof raw.name === 'string' ? raw.name : rules.pipelineNameOf(file);
  const outDir = typeof raw.outDir === 'string' ? raw.outDir : rules.defaultOutDir(name);
  const cli = options.cli ?? 'packages/cli/bin/sgdwalk.js';
  const codeInputs = options.codeInputs !== false;
  const plan = codeInputs ? stagePlan(workspaceRoot) : stageOrderOnly();
  if (raw.sweep !== undefined) return sweepProjects(file, raw, { name, root, outDir, cli, codeInputs, plan });
  // analyze.run: analyse an existing run folder instead of this pipeline's own training.
  const externalRun = typeof raw.analyze?.run === 'string' ? posix.normalize(raw.analyze.run) : null;
  // A run inside the workspace is hashed file by file (outputs are git-ignored, hence includeIgnored);
  // one outside it cannot be hashed, so the stages that read it are not cached.
  const externalRunHashable = externalRun !== null && !isAbsolute(externalRun) && !externalRun.startsWith('..');
  /** @type {Record<string, any>} */
  const targets = {};
  for (const [stage, { after: previous }] of Object.entries(plan)) {
    const readsExternalRun = externalRun !== null && (stage === 'analyze' || stage === 'report');
    const after = externalRun !== null && stage === 'analyze' ? 'data' : previous;
    targets[stage] = stageTarget({
      stage, file, cli, codeInputs, outDir, after, dataset: raw.data?.dataset, plan,
      jsonFile: '{projectRoot}/pipeline.json',
      cache: !(readsExternalRun && !externalRunHashable),
      extraInputs: readsExternalRun && externalRunHashable ? [{ fileset: `{workspaceRoot}/${externalRun}/**/*`, includeIgnored: true }] : [],
    });
  }
  targets.full = {
    executor: 'nx:noop',
    cache: true,
    dependsOn: ['report'],
    metadata: { description: `the whole study: data → train → analyze → report; open ${outDir}/report/index.html` },
  };
  return [file, { projects: { [root]: { name, root, projectType: 'application', tags: ['pipeline'], targets } } }];
}

/**
 * A sweep: the pipeline project `<name>` (data, shared by every point; compare; full) and one project per
 * point, `<name>--<pointId>`, rooted at `<root>/points/<pointId>` (a root of its own, holding no files: Nx
 * merges projects that share a root). A point's stages read the same pipeline file, so its cache key is the
 * file's train/analyze/report, outDir and name fields, the point in its command, and the outputs before it.
 */
function sweepProjects(file, raw, { name, root, outDir, cli, codeInputs, plan }) {
  const points = sweepPointIds(raw.sweep);
  const jsonFile = `{workspaceRoot}/${file}`;
  const projects = {};
  const data = stageTarget({ stage: 'data', file, cli, codeInputs, outDir, after: null, jsonFile, dataset: raw.data?.dataset, plan });
  const pointProject = (point) => `${name}--${point}`;
  for (const point of points) {
    const targets = {};
    for (const [stage, { after }] of Object.entries(plan)) {
      if (stage === 'data') continue;
      targets[stage] = stageTarget({ stage, file, cli, codeInputs, outDir, point, jsonFile, plan, after: stage === 'train' ? { project: name, target: 'data' } : after });
    }
    const pointRoot = `${root}/points/${point}`;
    projects[pointRoot] = { name: pointProject(point), root: pointRoot, projectType: 'application', tags: ['pipeline', 'sweep-point', `sweep:${name}`], targets };
  }
  const { packages, external } = plan.report;
  const compareInputs = [
    // The list of points is what compare reads the sweep for; adding a point re-runs compare (only).
    { json: jsonFile, fields: ['sweep', 'report', 'outDir', 'name'] },
    // What it reads of each point: the analysis and the run's own files, not its checkpoints.
    { dependentTasksOutputFiles: `${stageOutput(outDir, 'analyze', '*')}/**/*` },
    { dependentTasksOutputFiles: `${stageOutput(outDir, 'train', '*')}/*` },
  ];
  const compareDependsOn = points.flatMap((point) => [
    { projects: [pointProject(point)], target: 'train' },
    { projects: [pointProject(point)], target: 'analyze' },
  ]);
  if (codeInputs) {
    compareInputs.push({ input: 'production', projects: packages }, { externalDependencies: external });
    compareDependsOn.push({ target: 'build', projects: ['cli'] });
  }
  const targets = {
    data,
    compare: {
      command: `node ${cli} compare --pipeline ${file}`,
      options: { cwd: '{workspaceRoot}' },
      cache: true,
      inputs: compareInputs,
      outputs: [`{workspaceRoot}/${stageOutput(outDir, 'compare')}`],
      dependsOn: compareDependsOn,
      metadata: { description: `compare the ${points.length} runs of the sweep in ${file}; open ${outDir}/compare/index.html` },
    },
    full: {
      executor: 'nx:noop',
      cache: true,
      dependsOn: ['data', 'compare', ...points.map((point) => ({ projects: [pointProject(point)], target: 'report' }))],
      metadata: { description: `the whole sweep: data, then train → analyze → report of every point, then compare; open ${outDir}/compare/index.html` },
    },
  };
  projects[root] = { name, root, projectType: 'application', tags: ['pipeline', 'sweep'], targets };
  return [file, { projects }];
}

/** @type {[string, (files: readonly string[], options: any, context: { workspaceRoot: string }) => Promise<any[]>]} */
const createNodes = [PATTERN, async (files, options, context) => files.map((file) => pipelineProject(file, options ?? {}, context.workspaceRoot))];

module.exports = { name: 'sgdwalk-pipelines', createNodes, createNodesV2: createNodes, pipelineProject, sweepPointIds, stagePlan };
