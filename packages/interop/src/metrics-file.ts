import { z } from 'zod';
import { readBoundedFile } from '@sgdwalk/core';
import { interopError } from './interop-error.js';

/**
 * Per-step metrics logged by another framework, from a CSV file (a header row, then one row per step) or
 * a JSONL file (one JSON object per line). `step` is required; every other column is optional and an empty
 * cell, null or a missing key is NaN. Column names are those of metrics.arrow (camelCase) or snake_case.
 */
export interface ImportedMetrics {
  step: number[];
  columns: Record<ImportedMetricColumn, number[]>;
}

export const IMPORTED_METRIC_COLUMNS = ['epoch', 'lr', 'batchSize', 'loss', 'accuracy', 'gradNorm', 'gradCosine'] as const;
export type ImportedMetricColumn = (typeof IMPORTED_METRIC_COLUMNS)[number];

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const COLUMN_OF = new Map<string, ImportedMetricColumn | 'step'>([
  ['step', 'step'],
  ...IMPORTED_METRIC_COLUMNS.flatMap((c) => [[c, c], [snake(c), c]] as Array<[string, ImportedMetricColumn]>),
]);

function numberOf(value: unknown, file: string, line: number, column: string): number {
  if (value === undefined || value === null || value === '') return NaN;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (Number.isNaN(n) && !/^nan$/i.test(String(value).trim())) throw interopError(file, `line ${line}: column ${column} is not a number (${JSON.stringify(value)})`);
  return n;
}

/** A JSONL line: an object of columns (each value is read by numberOf, unknown columns are ignored). */
const jsonlRowSchema = z.record(z.string(), z.unknown());

function records(text: string, file: string): Array<{ line: number; values: Record<string, unknown> }> {
  const lines = text.split(/\r?\n/).map((l, i) => ({ line: i + 1, text: l })).filter((l) => l.text.trim() !== '');
  if (file.endsWith('.jsonl') || file.endsWith('.ndjson')) {
    return lines.map(({ line, text: l }) => {
      let value: unknown;
      try {
        value = JSON.parse(l);
      } catch (e) {
        throw interopError(file, `line ${line} is not JSON (${(e as Error).message})`);
      }
      const values = jsonlRowSchema.safeParse(value);
      if (!values.success) throw interopError(file, `line ${line} is not a JSON object of columns, e.g. {"step": 1, "loss": 2.3}`);
      return { line, values: values.data };
    });
  }
  if (lines.length === 0) throw interopError(file, 'empty: a CSV metrics file needs a header row (step, loss, lr, gradCosine, …)');
  const header = lines[0].text.split(',').map((h) => h.trim());
  return lines.slice(1).map(({ line, text: l }) => {
    const cells = l.split(',');
    if (cells.length !== header.length) throw interopError(file, `line ${line} has ${cells.length} cells, the header ${header.length}`);
    return { line, values: Object.fromEntries(header.map((h, i) => [h, cells[i]])) };
  });
}

const MAX_METRICS_BYTES = 512 * 1024 * 1024;

export async function readImportedMetrics(file: string): Promise<ImportedMetrics> {
  // A metrics log of a few million steps is tens of MB; a larger file or a device is refused before reading.
  const text = (await readBoundedFile(file, { maxBytes: MAX_METRICS_BYTES, what: 'metrics file', code: 'import' })).toString('utf8');
  const rows = records(text, file);
  const metrics: ImportedMetrics = { step: [], columns: Object.fromEntries(IMPORTED_METRIC_COLUMNS.map((c) => [c, [] as number[]])) as ImportedMetrics['columns'] };
  const seen = new Set<number>();
  for (const { line, values } of rows) {
    const known = new Map<string, unknown>();
    for (const [key, value] of Object.entries(values)) {
      const column = COLUMN_OF.get(key);
      if (column) known.set(column, value);
    }
    const step = numberOf(known.get('step'), file, line, 'step');
    if (!Number.isInteger(step) || step < 0) throw interopError(file, `line ${line}: step must be a non-negative integer, got ${JSON.stringify(known.get('step') ?? null)}`);
    if (seen.has(step)) throw interopError(file, `line ${line}: step ${step} appears twice`);
    seen.add(step);
    metrics.step.push(step);
    for (const c of IMPORTED_METRIC_COLUMNS) metrics.columns[c].push(numberOf(known.get(c), file, line, c));
  }
  return metrics;
}
