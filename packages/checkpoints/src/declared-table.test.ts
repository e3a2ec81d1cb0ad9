import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BARRIERS_TABLE, columnOf, declareTable, EVALUATIONS_TABLE, METRICS_TABLE, PAIRS_TABLE, TABLES, type ColumnDeclaration, type TableDeclaration, type WrittenRowOf,
} from '@sgdwalk/core';
import { expectCheckpointError, removeTempDirs, tempDir } from '../test/fixtures.js';
import { checkTable } from './declared-table.js';
import { readColumns, readRows, readTable, writeColumns, writeRows, writeTable } from './index.js';
import type { ColumnData } from './table.js';

afterEach(removeTempDirs);

/** Row i's value of a column of this declaration: every type, with NaN, −0 and the allowed values in turn. */
function cell(declaration: ColumnDeclaration, i: number): unknown {
  const { type, values } = columnOf(declaration);
  switch (type) {
    case 'int32': return i * 1000 - 2 ** 30;
    case 'float64': return [NaN, -0, 1 / 3, -Infinity, 5e-324][i % 5] ?? i;
    case 'float32': return Math.fround(i / 3);
    case 'bool': return i % 3 === 0;
    case 'utf8': return values ? values[i % values.length] : `v${i}-α`;
    case 'list<int32>': return Int32Array.from({ length: i % 4 }, (_, j) => i * 10 + j);
  }
}

function sampleRows(table: TableDeclaration, n: number): WrittenRowOf<TableDeclaration>[] {
  return Array.from({ length: n }, (_, i) => Object.fromEntries(Object.entries(table.columns).map(([name, d]) => [name, cell(d, i)])) as WrittenRowOf<TableDeclaration>);
}

/** The columns as the hand-written writers before the declarations built them (typed arrays, plain arrays). */
function handBuiltColumns(table: TableDeclaration, rows: Record<string, unknown>[]): Record<string, ColumnData> {
  return Object.fromEntries(
    Object.entries(table.columns).map(([name, d]) => {
      const type = columnOf(d).type;
      const values = rows.map((r) => r[name]);
      return [name, type === 'int32' ? Int32Array.from(values as number[]) : type === 'float64' ? Float64Array.from(values as number[]) : type === 'float32' ? Float32Array.from(values as number[]) : values];
    }),
  ) as Record<string, ColumnData>;
}

const metadataOf = (table: TableDeclaration) => Object.fromEntries(table.metadata.map((key) => [key, `${key} value`]));

describe('declared tables', () => {
  it.each(Object.entries(TABLES))('%s: rows and columns round-trip exactly, in the bytes the hand-built writers wrote', async (_name, table) => {
    const dir = await tempDir();
    const rows = sampleRows(table, 7);
    const declared = join(dir, table.file);
    const anyTable = table as TableDeclaration;
    await writeRows(declared, anyTable, rows, metadataOf(table));

    // Same bytes as the pre-declaration writers (writeTable of hand-built columns in the same order): files do not change.
    const legacy = join(dir, `legacy-${table.file}`);
    await writeTable(legacy, handBuiltColumns(table, rows), metadataOf(table));
    expect(Buffer.compare(await readFile(declared), await readFile(legacy))).toBe(0);

    const read = await readRows(declared, anyTable);
    expect(read).toHaveLength(7);
    read.forEach((row, i) => {
      for (const [name, value] of Object.entries(rows[i])) {
        if (value instanceof Int32Array) expect(Array.from(row[name] as Int32Array)).toEqual(Array.from(value));
        else expect(Object.is(row[name], value), `${table.file} row ${i} column ${name}`).toBe(true);
      }
    });

    const { columns, metadata, numRows } = await readColumns(declared, anyTable);
    expect(numRows).toBe(7);
    expect(metadata).toEqual(metadataOf(table));
    expect(Object.keys(columns)).toEqual(Object.keys(table.columns));
    const stored = await readTable(declared);
    expect(stored.types).toEqual(Object.fromEntries(Object.entries(table.columns).map(([n, d]) => [n, columnOf(d).type])));

    // Columns-first writing gives the same file as rows-first.
    const fromColumns = join(dir, `columns-${table.file}`);
    await writeColumns(fromColumns, anyTable, columns as Record<string, ColumnData>, metadataOf(table));
    expect(Buffer.compare(await readFile(fromColumns), await readFile(declared))).toBe(0);
  });

  it('writes an empty table with its declared types, and reads the utf8 stand-ins older writers left for empty plain columns', async () => {
    const dir = await tempDir();
    const path = join(dir, 'pairs.arrow');
    await writeRows(path, PAIRS_TABLE, [], {});
    const stored = await readTable(path);
    expect(stored.numRows).toBe(0);
    expect(stored.types.interiorMinimum).toBe('bool');
    expect(await readRows(path, PAIRS_TABLE)).toEqual([]);

    // Before the declarations an empty boolean or list column was written as utf8 (no element to tell its type by).
    const legacy = join(dir, 'legacy-metrics.arrow');
    await writeTable(legacy, { ...handBuiltColumns(METRICS_TABLE, []), indices: [] }, { runId: 'r' });
    expect((await readTable(legacy)).types.indices).toBe('utf8');
    const { columns, numRows } = await readColumns(legacy, METRICS_TABLE);
    expect(numRows).toBe(0);
    expect(columns.indices).toEqual([]);
  });

  it('reads the committed format-v1 run folder through the declarations', async () => {
    const fixture = join(import.meta.dirname, '../../../test/fixtures/run-format-v1');
    const metrics = await readColumns(join(fixture, METRICS_TABLE.file), METRICS_TABLE);
    expect(metrics.numRows).toBe(5);
    expect(Array.from(metrics.columns.step)).toEqual([1, 2, 3, 4, 5]);
    expect(metrics.columns.indices[0]).toBeInstanceOf(Int32Array);
    expect(metrics.metadata.runId).toBe('2b3f227e0f581f54');
    const evaluations = await readRows(join(fixture, EVALUATIONS_TABLE.file), EVALUATIONS_TABLE);
    expect(evaluations.map((e) => e.split).sort()).toEqual(['test', 'validation']);

    // Written again through the declarations, both files are byte for byte the ones the format-v1 train stage wrote.
    const dir = await tempDir();
    await writeRows(join(dir, METRICS_TABLE.file), METRICS_TABLE, await readRows(join(fixture, METRICS_TABLE.file), METRICS_TABLE), metrics.metadata);
    await writeRows(join(dir, EVALUATIONS_TABLE.file), EVALUATIONS_TABLE, evaluations, { runId: metrics.metadata.runId });
    for (const file of [METRICS_TABLE.file, EVALUATIONS_TABLE.file]) {
      expect(Buffer.compare(await readFile(join(dir, file)), await readFile(join(fixture, file))), file).toBe(0);
    }
  });

  it('reads a file without an optional column (an older version) and ignores columns it does not declare', async () => {
    interface Row { step: number; loss: number; note?: string }
    const table = declareTable<Row>()({ file: 'rows.arrow', columns: { step: 'int32', loss: 'float64', note: { type: 'utf8', optional: true } } });
    const path = join(await tempDir(), table.file);
    await writeTable(path, { step: Int32Array.of(1, 2), loss: Float64Array.of(0.5, 0.25), extra: ['x', 'y'] });
    expect(await readRows(path, table)).toEqual([{ step: 1, loss: 0.5 }, { step: 2, loss: 0.25 }]);
    await writeRows(path, table, [{ step: 3, loss: 1, note: 'n' }], {});
    expect(await readRows(path, table)).toEqual([{ step: 3, loss: 1, note: 'n' }]);
    await expectCheckpointError(writeColumns(path, table, { step: Int32Array.of(1), loss: Float64Array.of(1) } as never, {}), { file: path, message: /missing column "note"/ });
  });
});

describe('declared tables: errors name the file and the column', () => {
  const barrier = { kind: 'lag', step: 4, k: 2, barrier: 0.1, alphaAtMax: 0.5, lossStart: 1, lossEnd: 0.9 } as const;

  it('a missing column', async () => {
    const path = join(await tempDir(), 'barriers.arrow');
    const { lossEnd: _, ...columns } = handBuiltColumns(BARRIERS_TABLE, [barrier]);
    await writeTable(path, columns);
    await expectCheckpointError(readRows(path, BARRIERS_TABLE), { file: path, message: /missing column "lossEnd" \(columns: kind, step, k, barrier, alphaAtMax, lossStart\)/ });
  });

  it('a column of another Arrow type, on reading and on writing', async () => {
    const path = join(await tempDir(), 'barriers.arrow');
    await writeTable(path, { ...handBuiltColumns(BARRIERS_TABLE, [barrier]), step: Float64Array.of(4) });
    await expectCheckpointError(readColumns(path, BARRIERS_TABLE), { file: path, message: /column "step" is float64, barriers\.arrow declares it int32/ });
    const columns = { ...handBuiltColumns(BARRIERS_TABLE, [barrier]), barrier: Float32Array.of(0.1) };
    await expectCheckpointError(writeColumns(path, BARRIERS_TABLE, columns as never, {}), { file: path, message: /column "barrier" is Float32Array, barriers\.arrow declares it float64/ });
    const strings = { ...handBuiltColumns(PAIRS_TABLE, sampleRows(PAIRS_TABLE, 2)), convex: [true, 'yes'] };
    await expectCheckpointError(writeColumns(path, PAIRS_TABLE, strings as never, {}), { file: path, message: /column "convex": row 1 is not a boolean like row 0/ });
  });

  it('a column of another length than the table', async () => {
    const path = join(await tempDir(), 'barriers.arrow');
    const columns = { ...handBuiltColumns(BARRIERS_TABLE, [barrier, barrier]), k: Int32Array.of(2) };
    await expectCheckpointError(writeColumns(path, BARRIERS_TABLE, columns as never, {}), { file: path, message: /column "k" has 1 rows, the table 2/ });
    const contents = { columns: handBuiltColumns(BARRIERS_TABLE, [barrier]), types: (await readBack(BARRIERS_TABLE)).types, metadata: {}, numRows: 3 };
    expect(() => checkTable(BARRIERS_TABLE, contents, path)).toThrow(`${path}: column "kind" has 1 rows, the table 3`);
  });

  it('a utf8 value the declaration does not allow, on reading and on writing', async () => {
    const dir = await tempDir();
    const path = join(dir, 'evaluations.arrow');
    const row = { epoch: 1, step: 10, split: 'train', loss: 1, accuracy: 0.5 };
    await writeTable(path, handBuiltColumns(EVALUATIONS_TABLE, [{ ...row, split: 'test' }, row]), { runId: 'r' });
    await expectCheckpointError(readRows(path, EVALUATIONS_TABLE), { file: path, message: /column "split", row 1: "train" is not one of "validation", "test"/ });
    await expectCheckpointError(writeRows(path, BARRIERS_TABLE, [{ ...barrier, kind: 'ridge' as 'lag' }], {}), { file: path, message: /column "kind", row 0: "ridge" is not one of "floor", "lag"/ });
  });

  it('metadata that is missing on reading, or undeclared or missing on writing; undeclared columns on writing', async () => {
    const path = join(await tempDir(), 'metrics.arrow');
    const columns = handBuiltColumns(METRICS_TABLE, sampleRows(METRICS_TABLE, 2));
    await writeTable(path, columns);
    await expectCheckpointError(readColumns(path, METRICS_TABLE), { file: path, message: /metadata "runId" is missing/ });
    await expectCheckpointError(writeColumns(path, METRICS_TABLE, columns as never, {} as never), { file: path, message: /metadata "runId" is missing/ });
    await expectCheckpointError(writeColumns(path, METRICS_TABLE, columns as never, { runId: 'r', stage: 'x' } as never), { file: path, message: /metadata "stage" is not declared for metrics\.arrow/ });
    await expectCheckpointError(writeColumns(path, METRICS_TABLE, { ...columns, seed: Int32Array.of(1, 2) } as never, { runId: 'r' }), {
      file: path, message: /column "seed" is not declared for metrics\.arrow/,
    });
  });
});

async function readBack(table: TableDeclaration) {
  const path = join(await tempDir(), table.file);
  await writeRows(path, table, sampleRows(table, 1), metadataOf(table));
  return readTable(path);
}
