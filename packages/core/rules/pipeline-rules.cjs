// @ts-check
'use strict';
/**
 * The rules of pipeline files that both core (TypeScript, ESM) and the Nx plugin (tools/nx-pipeline-plugin,
 * CommonJS) apply, in plain JavaScript so the plugin can require them on a fresh clone: Nx loads plugins
 * before anything is built, so the plugin cannot use core's compiled dist/. Core re-exports each rule
 * (sweep.ts, config.ts, sources) and never re-implements it; test/nx-plugin-rules.test.ts holds the two
 * users to the same answers. Types: pipeline-rules.d.cts.
 */
const { basename, dirname, extname } = require('node:path');

/** Sweep point ids are used in paths and Nx project names. */
const POINT_ID_PATTERN = /^[A-Za-z0-9._-]+$/;

/** A swept value as it appears in a point id: numbers in JavaScript's shortest form, without the "+" of 1e+21. */
function sweepValueLabel(value) {
  return typeof value === 'number' ? String(value).replace('+', '') : String(value);
}

/** A point's id from its overrides (field path → value, in the sweep's order): `lr-0.1_batchSize-128`. */
function pointId(overrides) {
  return Object.entries(overrides)
    .map(([field, value]) => `${field.replace(/^train\./, '')}-${sweepValueLabel(value)}`)
    .join('_');
}

/** The sweep key that replicates every point over seeds: `"replicates": 3` (seeds 0, 1, 2) or a list of seeds. */
const REPLICATES_KEY = 'replicates';
/** The field a replicate sets: each replicate is an ordinary run with its own `train.seed`. */
const REPLICATE_FIELD = 'train.seed';

/**
 * The sweep with `replicates` written out as the seed field, last (varying fastest, so a point's replicates
 * sit side by side and its id ends in `_seed-<s>`): `"replicates": 3` is `"train.seed": [0, 1, 2]`, a list
 * is the seeds themselves. Lenient, like sweepCombinations: a malformed count gives no seeds (the schema
 * reports it).
 */
function expandReplicates(sweep) {
  if (typeof sweep !== 'object' || sweep === null || Array.isArray(sweep) || !Object.hasOwn(sweep, REPLICATES_KEY)) return sweep;
  const { [REPLICATES_KEY]: replicates, ...fields } = sweep;
  const seeds = Array.isArray(replicates) ? replicates : Number.isInteger(replicates) && replicates > 0 ? Array.from({ length: replicates }, (_, i) => i) : [];
  return { ...fields, [REPLICATE_FIELD]: seeds };
}

/**
 * Every combination of the swept values, the first field varying slowest (replicates, if any, fastest).
 * Lenient (the plugin reads files before they are validated): a sweep that is not an object of lists gives
 * no combinations.
 */
function sweepCombinations(sweep) {
  if (typeof sweep !== 'object' || sweep === null || Array.isArray(sweep)) return [];
  const fields = Object.entries(expandReplicates(sweep));
  if (fields.length === 0 || fields.some(([, values]) => !Array.isArray(values))) return [];
  /** @type {Record<string, unknown>[]} */
  let combos = [{}];
  for (const [field, values] of fields) combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [field]: value })));
  return combos;
}

/** A pipeline's default name: its folder for `pipelines/<name>/pipeline.json`, else the file's base name. */
function pipelineNameOf(file) {
  return basename(file) === 'pipeline.json' ? basename(dirname(file)) : basename(file, extname(file));
}

/** A pipeline's default output root, relative to the workspace: `out/<name>`. */
function defaultOutDir(name) {
  return `out/${name}`;
}

/**
 * The path segments of a stage folder under the output root: `<stage>`, or for a sweep point's own stages
 * `points/<id>/<stage>`; the prepared data (`data`) and the comparison (`compare`) are shared by the points.
 */
function stageSegments(stage, point) {
  return point ? ['points', point, stage] : [stage];
}

/** The variable naming a folder that holds the files of any dataset. */
const DATA_DIR_ENV = 'SGDWALK_DATA_DIR';

/** The per-dataset variable, e.g. SGDWALK_CIFAR10_DIR, SGDWALK_FASHION_MNIST_DIR; it wins over SGDWALK_DATA_DIR. */
function datasetDirEnv(dataset) {
  return `SGDWALK_${String(dataset).toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DIR`;
}

/** The variables that choose a dataset's folder, in the order they are consulted (after data.dir). */
function dataLocationEnv(dataset) {
  return [datasetDirEnv(dataset), DATA_DIR_ENV];
}

/** The dataset a pipeline uses when its file names none. */
const DEFAULT_DATASET = 'mnist';

/**
 * The workspace package that implements each stage; the CLI (package `cli`) runs them all. What a stage's
 * cache key hashes is this package and its workspace dependencies, read from their package.json files.
 */
const STAGE_PACKAGES = { data: 'data', train: 'train', analyze: 'analysis', report: 'report' };

/** The stages of one run in order, each with the stage whose output it reads (null: none). */
const STAGE_ORDER = [
  ['data', null],
  ['train', 'data'],
  ['analyze', 'train'],
  ['report', 'analyze'],
];

exports.POINT_ID_PATTERN = POINT_ID_PATTERN;
exports.sweepValueLabel = sweepValueLabel;
exports.pointId = pointId;
exports.REPLICATES_KEY = REPLICATES_KEY;
exports.REPLICATE_FIELD = REPLICATE_FIELD;
exports.expandReplicates = expandReplicates;
exports.sweepCombinations = sweepCombinations;
exports.pipelineNameOf = pipelineNameOf;
exports.defaultOutDir = defaultOutDir;
exports.stageSegments = stageSegments;
exports.DATA_DIR_ENV = DATA_DIR_ENV;
exports.datasetDirEnv = datasetDirEnv;
exports.dataLocationEnv = dataLocationEnv;
exports.DEFAULT_DATASET = DEFAULT_DATASET;
exports.STAGE_PACKAGES = STAGE_PACKAGES;
exports.STAGE_ORDER = STAGE_ORDER;
