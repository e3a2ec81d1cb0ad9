import type { ColumnData } from '@sgdwalk/checkpoints';
import { CheckpointError, type BarrierRow, type EpochEvaluation, type InterpolationRow, type PairMetrics, type SharpnessRow } from '@sgdwalk/core';
import type { StepRow } from './inputs.js';

/** What readTable returns, as far as turning it into rows needs. */
export interface ColumnTable {
  columns: Record<string, ColumnData>;
  numRows: number;
}

type KindOf<V> = V extends number ? 'number' : V extends boolean ? 'boolean' : V extends string ? 'string' : never;
/** For each field of a row type, the kind of column it is read from. */
export type RowSchema<T> = { [K in keyof T]-?: KindOf<T[K]> };

function isNumeric(column: ColumnData): column is Float64Array | Float32Array | Int32Array {
  return column instanceof Float64Array || column instanceof Float32Array || column instanceof Int32Array;
}

function describe(column: ColumnData): string {
  if (isNumeric(column)) return 'numbers';
  const first = column[0] as unknown;
  return first instanceof Int32Array ? 'lists of integers' : typeof first === 'boolean' ? 'booleans' : 'strings';
}

/**
 * Turn a columnar table into typed rows, checking that every field the report reads is there with the right
 * kind — a file from another version of sgdwalk gets one message naming the file and column, not a figure
 * silently drawn from undefined. Extra columns (e.g. the minibatch indices) are ignored.
 */
export function rowsFromTable<T>(table: ColumnTable, schema: RowSchema<T>, file: string): T[] {
  const fields = Object.keys(schema) as (keyof T & string)[];
  // An empty table has no row to tell a column's type by (writeTable stores it as strings): nothing to check.
  if (table.numRows === 0) return [];
  const readers = fields.map((field) => {
    const column = table.columns[field];
    if (!column) throw new CheckpointError(`missing column "${field}" (columns: ${Object.keys(table.columns).join(', ') || 'none'})`, file);
    if (column.length !== table.numRows) throw new CheckpointError(`column "${field}" has ${column.length} rows, the table ${table.numRows}`, file);
    const kind = schema[field];
    const ok =
      kind === 'number' ? isNumeric(column)
      // Booleans written as 0/1 integers (how some writers store flags) read as booleans too.
      : kind === 'boolean' ? isNumeric(column) || typeof column[0] === 'boolean'
      : typeof column[0] === 'string';
    if (!ok) throw new CheckpointError(`column "${field}" should hold ${kind === 'number' ? 'numbers' : `${kind}s`}, it holds ${describe(column)}`, file);
    if (kind === 'boolean' && isNumeric(column)) return (i: number) => column[i] !== 0;
    return (i: number) => column[i] as unknown;
  });
  const rows: T[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const row = {} as Record<string, unknown>;
    for (let f = 0; f < fields.length; f++) row[fields[f]] = readers[f](i);
    rows[i] = row as T;
  }
  return rows;
}

export const STEP_SCHEMA: RowSchema<StepRow> = {
  step: 'number', epoch: 'number', lr: 'number', batchSize: 'number', loss: 'number', accuracy: 'number',
  gradNorm: 'number', gradCosine: 'number', updateNorm: 'number', distanceFromInit: 'number',
};

export const EVALUATION_SCHEMA: RowSchema<EpochEvaluation> = { epoch: 'number', step: 'number', split: 'string', loss: 'number', accuracy: 'number' };

export const INTERPOLATION_SCHEMA: RowSchema<InterpolationRow> = {
  pair: 'number', stepA: 'number', stepB: 'number', alpha: 'number', loss: 'number', accuracy: 'number',
};

export const PAIR_SCHEMA: RowSchema<PairMetrics> = {
  pair: 'number', stepA: 'number', stepB: 'number', alphaStar: 'number', floor: 'number', height: 'number',
  interiorMinimum: 'boolean', convex: 'boolean', lossA: 'number', lossB: 'number', distanceFromInit: 'number',
  updateNorm: 'number', updateCosine: 'number', key: 'string',
};

/** evaluations.arrow rows, checking the split names the report colours by. */
export function evaluationRowsFrom(table: ColumnTable, file: string): EpochEvaluation[] {
  const rows = rowsFromTable(table, EVALUATION_SCHEMA, file);
  const bad = rows.findIndex((r) => r.split !== 'validation' && r.split !== 'test');
  if (bad >= 0) throw new CheckpointError(`row ${bad}: split "${rows[bad].split}" is neither "validation" nor "test"`, file);
  return rows;
}

export const BARRIER_SCHEMA: RowSchema<BarrierRow> = {
  kind: 'string', step: 'number', k: 'number', barrier: 'number', alphaAtMax: 'number', lossStart: 'number', lossEnd: 'number',
};

export const SHARPNESS_SCHEMA: RowSchema<SharpnessRow> = {
  step: 'number', topEigenvalue: 'number', twoOverLr: 'number', iterations: 'number', method: 'string', subsetSize: 'number',
};

/** barriers.arrow rows, checking the kinds the figure splits by. */
export function barrierRowsFrom(table: ColumnTable, file: string): BarrierRow[] {
  const rows = rowsFromTable(table, BARRIER_SCHEMA, file);
  const bad = rows.findIndex((r) => r.kind !== 'floor' && r.kind !== 'lag');
  if (bad >= 0) throw new CheckpointError(`row ${bad}: kind "${rows[bad].kind}" is neither "floor" nor "lag"`, file);
  return rows;
}
