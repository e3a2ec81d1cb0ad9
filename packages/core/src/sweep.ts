import { dirname, join, resolve } from 'node:path';
import rules from '../rules/pipeline-rules.cjs';
import { parsePipeline, pipelineSchema, readPipelineJson, type PipelineConfig, type SweepValue } from './config.js';
import { ConfigError } from './errors.js';

/**
 * A sweep: `"sweep": { "train.lr": [0.02, 0.1], "train.batchSize": [32, 128] }` in a pipeline file is a grid
 * whose points are every combination of the values; each point is an ordinary run of the base config with
 * those fields overridden. Its id names it in paths and Nx project names: `lr-0.1_batchSize-128`.
 * The rules themselves (ids, combinations, folders) are in rules/pipeline-rules.cjs, which the Nx plugin
 * requires too, so both compute the same points.
 */

export interface SweepPoint {
  /** `<field>-<value>` per swept field, joined by `_`, the field without its `train.` prefix. */
  id: string;
  /** Field path → value, in the sweep's field order. */
  overrides: Record<string, SweepValue>;
}

/** A resolved point: the base config with its overrides, validated as a whole. */
export interface ResolvedPoint extends SweepPoint {
  config: PipelineConfig;
}

/** The value as it appears in a point id: numbers in JavaScript's shortest form, without the "+" of 1e+21. */
export function sweepValueLabel(value: SweepValue): string {
  return rules.sweepValueLabel(value);
}

/** The id of a point from its overrides (in the sweep's field order). */
export function pointId(overrides: Record<string, SweepValue>): string {
  return rules.pointId(overrides);
}

/**
 * Every combination of the swept values, the first field varying slowest (the order a reader of the file
 * expects: lr 0.02 with each batch size, then lr 0.1 …). An empty sweep or an empty list gives no points;
 * the schema has already refused both with a clear message.
 */
export function sweepPoints(sweep: Record<string, readonly SweepValue[]>): SweepPoint[] {
  return rules.sweepCombinations<SweepValue>(sweep).map((overrides) => ({ id: pointId(overrides), overrides }));
}

/**
 * A deep copy of the raw pipeline object with the point's fields set and the sweep removed: one plain run.
 * A section the file leaves out is first filled from `defaults` (the base as the schema resolved it), so
 * sweeping `train.checkpoints.every` keeps the default windows rather than emptying them: a section's
 * default is not always what its fields' defaults add up to.
 */
export function applyOverrides(raw: unknown, overrides: Record<string, SweepValue>, defaults: unknown = {}): Record<string, unknown> {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const out = structuredClone(isObject(raw) ? raw : {});
  delete out.sweep;
  for (const [path, value] of Object.entries(overrides)) {
    const keys = path.split('.');
    let node = out;
    let fallback: unknown = defaults;
    for (const key of keys.slice(0, -1)) {
      fallback = isObject(fallback) ? fallback[key] : undefined;
      if (!isObject(node[key])) node[key] = isObject(fallback) ? structuredClone(fallback) : {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  return out;
}

/** Strip the `field "x": ` prefix a ConfigError built without a file carries, to re-issue it with one. */
function bareMessage(e: ConfigError): string {
  const prefix = e.where.field ? `field "${e.where.field}": ` : '';
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

/**
 * A pipeline and its resolved sweep points (none for a pipeline without `sweep`). Every point is validated
 * as a whole run, so a combination that is wrong only together (a window past a point's maxSteps) is a
 * ConfigError naming the file, the field and the point.
 */
export function parseSweepPipeline(raw: unknown, file?: string): { base: PipelineConfig; points: ResolvedPoint[] } {
  const base = parsePipeline(raw, file);
  if (!base.sweep) return { base, points: [] };
  if (base.analyze.run) throw new ConfigError('a sweep trains its own runs; remove analyze.run or the sweep', file, 'analyze.run');
  const defaults = pipelineSchema.parse(raw);
  const points = sweepPoints(base.sweep).map((point) => {
    let config: PipelineConfig;
    try {
      config = parsePipeline(applyOverrides(raw, point.overrides, defaults));
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`${bareMessage(e)} (in sweep point ${point.id})`, file, e.where.field);
      throw e;
    }
    // The point's outputs live under the base's output root (see pointStageRoot), named as the base.
    return { ...point, config: { ...config, name: base.name, outDir: base.outDir } };
  });
  return { base, points };
}

/** Read, validate and expand a pipeline file. */
export async function loadSweepPipeline(file: string): Promise<{ base: PipelineConfig; points: ResolvedPoint[] }> {
  return parseSweepPipeline(await readPipelineJson(file), file);
}

/** The point with this id, or a ConfigError listing the ones there are. */
export function findPoint(points: readonly ResolvedPoint[], id: string, file?: string): ResolvedPoint {
  const found = points.find((p) => p.id === id);
  if (found) return found;
  const known = points.length ? `the points are ${points.map((p) => p.id).join(', ')}` : 'this pipeline has no sweep';
  throw new ConfigError(`no sweep point "${id}": ${known}`, file, '--point');
}

/**
 * Where a point's stage folders go: `<outDir>/points/<id>/{train,analyze,report}`; the prepared data is
 * shared at `<outDir>/data` and the comparison goes to `<outDir>/compare`.
 */
export function pointStageRoot(outRoot: string, id: string): string {
  return dirname(stageFolder(outRoot, 'train', id));
}

/**
 * A stage folder under an output root: `<outRoot>/<stage>`, or a sweep point's own stage at
 * `<outRoot>/points/<id>/<stage>` (the rule the Nx plugin writes as the targets' outputs).
 */
export function stageFolder(outRoot: string, stage: string, point?: string): string {
  return join(resolve(outRoot), ...rules.stageSegments(stage, point));
}

/** The stages of one run, in the order they run and read each other's outputs: data, train, analyze, report. */
export const STAGE_NAMES: readonly StageName[] = rules.STAGE_ORDER.map(([stage]) => stage);
export type StageName = (typeof rules.STAGE_ORDER)[number][0];
