import { stat } from 'node:fs/promises';
import { CHECKPOINT_FILE_BOUNDS, readCheckpointFile } from './file-bounds.js';
import {
  Bool, DataType, Field, Float32, Float64, Int32, List, makeData, Precision, RecordBatch, RecordBatchReader, Schema, Struct, Utf8,
  vectorFromArray, type Data, type Vector,
} from 'apache-arrow';
import { CheckpointError, writeFileAtomic, type ColumnType } from '@sgdwalk/core';
import { ChunkedFileWriter } from './ipc-file-writer.js';

/**
 * A column of a table as JavaScript holds it. Arrow types: Float64Array → Float64, Float32Array → Float32,
 * Int32Array → Int32, boolean[] → Bool, string[] → Utf8, Int32Array[] → List<Int32>.
 */
export type ColumnData = Float64Array | Float32Array | Int32Array | boolean[] | string[] | Int32Array[];

export interface TableContents {
  columns: Record<string, ColumnData>;
  /** Each column's Arrow type, as core's ColumnType names it. */
  types: Record<string, ColumnType>;
  metadata: Record<string, string>;
  numRows: number;
}

/** A column to encode: its values and the Arrow type they are written as. */
export interface TypedColumn {
  name: string;
  type: ColumnType;
  values: ColumnData;
}

/**
 * Write an Arrow IPC file of one record batch of an undeclared table, each column's type told by its array
 * (an empty plain array, which has no element to tell by, as Utf8). Stage files go through their
 * declaration instead (declared-table.ts' writeColumns / writeRows); this is for files no stage reads.
 */
export async function writeTable(path: string, columns: Record<string, ColumnData>, metadata: Record<string, string> = {}): Promise<void> {
  await writeTypedTable(path, Object.entries(columns).map(([name, values]) => ({ name, type: typeOf(values), values })), metadata);
}

function typeOf(values: ColumnData): ColumnType {
  if (values instanceof Float64Array) return 'float64';
  if (values instanceof Float32Array) return 'float32';
  if (values instanceof Int32Array) return 'int32';
  const first = Array.isArray(values) ? (values[0] as unknown) : undefined;
  return typeof first === 'boolean' ? 'bool' : first instanceof Int32Array ? 'list<int32>' : 'utf8';
}

/**
 * Write an Arrow IPC file of one record batch, the columns in the order given, each as its type,
 * atomically: a temporary sibling, fsync, rename, so a reader sees the previous file or the complete new
 * one. Typed-array columns are written from their buffers as is.
 */
export async function writeTypedTable(path: string, columns: readonly TypedColumn[], metadata: Record<string, string>): Promise<void> {
  const numRows = columns.length > 0 ? columns[0].values.length : 0;
  for (const column of columns) {
    if (column.values.length !== numRows) {
      throw new CheckpointError(`columns differ in length: ${columns[0].name} has ${numRows} rows, ${column.name} ${column.values.length}`, path);
    }
  }
  const data = columns.map((column) => columnData(column, path));
  const schema = new Schema(
    columns.map((column, i) => new Field(column.name, data[i].type, false)),
    new Map(Object.entries(metadata)),
  );
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: numRows, nullCount: 0, children: data }));
  const writer = new ChunkedFileWriter();
  const chunks = [...writer.begin(schema), ...writer.add(batch), ...writer.end()];

  // Tables are small (per-step or per-pair rows): one buffer through core's temp-file-and-rename write.
  await writeFileAtomic(path, Buffer.concat(chunks));
}

function columnData({ name, type, values }: TypedColumn, path: string): Data {
  const length = values.length;
  const expect = (ok: boolean, kind: string) => {
    if (!ok) throw new CheckpointError(`column "${name}": a ${type} column is written from ${kind}, not ${describeArray(values)}`, path);
  };
  switch (type) {
    case 'float64':
      expect(values instanceof Float64Array, 'a Float64Array');
      return makeData({ type: new Float64(), length, nullCount: 0, data: values as Float64Array });
    case 'float32':
      expect(values instanceof Float32Array, 'a Float32Array');
      return makeData({ type: new Float32(), length, nullCount: 0, data: values as Float32Array });
    case 'int32':
      expect(values instanceof Int32Array, 'an Int32Array');
      return makeData({ type: new Int32(), length, nullCount: 0, data: values as Int32Array });
    case 'bool': {
      expect(Array.isArray(values), 'an array of booleans');
      check(values as unknown[], (v) => typeof v === 'boolean', 'boolean', name, path);
      const bits = new Uint8Array(Math.ceil(length / 8));
      (values as boolean[]).forEach((v, i) => {
        if (v) bits[i >> 3] |= 1 << (i & 7);
      });
      return makeData({ type: new Bool(), length, nullCount: 0, data: bits });
    }
    case 'list<int32>': {
      expect(Array.isArray(values), 'an array of Int32Arrays');
      check(values as unknown[], (v) => v instanceof Int32Array, 'Int32Array', name, path);
      const rows = values as Int32Array[];
      const offsets = new Int32Array(length + 1);
      rows.forEach((row, i) => (offsets[i + 1] = offsets[i] + row.length));
      const flat = new Int32Array(offsets[length]);
      rows.forEach((row, i) => flat.set(row, offsets[i]));
      const child = makeData({ type: new Int32(), length: flat.length, nullCount: 0, data: flat });
      return makeData({ type: new List(new Field('item', new Int32(), false)), length, nullCount: 0, valueOffsets: offsets, child });
    }
    case 'utf8':
      expect(Array.isArray(values), 'an array of strings');
      check(values as unknown[], (v) => typeof v === 'string', 'string', name, path);
      return vectorFromArray(values as string[], new Utf8()).data[0];
    default:
      throw new CheckpointError(`column "${name}": unsupported column type ${String(type)}`, path);
  }
}

/** How an error names what a column was given. */
export function describeArray(values: unknown): string {
  if (!Array.isArray(values)) return (values as object)?.constructor?.name ?? typeof values;
  const first = values[0] as unknown;
  if (values.length === 0) return 'an empty array';
  return `an array of ${first instanceof Int32Array ? 'Int32Arrays' : `${typeof first}s`}`;
}

function check(values: unknown[], ok: (v: unknown) => boolean, kind: string, name: string, path: string): void {
  const bad = values.findIndex((v) => !ok(v));
  if (bad >= 0) throw new CheckpointError(`column "${name}": row ${bad} is not a ${kind}${bad > 0 ? ' like row 0' : ''}`, path);
}

/** Read a table written by writeTable (or any Arrow IPC file of the same column types, without nulls). */
export async function readTable(path: string): Promise<TableContents> {
  let bytes: Uint8Array;
  try {
    await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? 'missing' : `cannot read (${code ?? (e as Error).message})`, path);
  }
  bytes = await readCheckpointFile(path, CHECKPOINT_FILE_BOUNDS.whole);
  return tableFromBytes(bytes, path);
}

/**
 * Decode a table's bytes already read (by a bounded reader that also checked their hash, so what is decoded
 * is exactly what was checked); `path` names the file in errors.
 */
export function tableFromBytes(bytes: Uint8Array, path: string): TableContents {
  const magic = (at: number): string => Buffer.from(bytes.buffer, bytes.byteOffset + at, 6).toString('latin1');
  if (bytes.length < 12 || magic(0) !== 'ARROW1') throw new CheckpointError('not an Arrow IPC file', path);
  if (magic(bytes.length - 6) !== 'ARROW1') throw new CheckpointError('truncated: the Arrow file has no footer (its end is missing)', path);

  let schema: Schema;
  let batches: RecordBatch[];
  try {
    const reader = RecordBatchReader.from(bytes);
    if (!(reader.isFile() && reader.isSync())) throw new Error('not in the IPC file format');
    reader.open();
    schema = reader.schema;
    batches = [...reader];
  } catch (e) {
    throw new CheckpointError(`unreadable Arrow file (${(e as Error).message}): truncated or corrupt`, path);
  }

  const columns: Record<string, ColumnData> = {};
  const types: Record<string, ColumnType> = {};
  schema.fields.forEach((field, i) => {
    const chunks = batches.map((b) => b.getChildAt(i)!);
    [types[field.name], columns[field.name]] = columnFrom(field, chunks, path);
  });
  return {
    columns,
    types,
    metadata: Object.fromEntries(schema.metadata),
    numRows: batches.reduce((n, b) => n + b.numRows, 0),
  };
}

function columnFrom(field: Field, chunks: Vector[], path: string): [ColumnType, ColumnData] {
  const type = field.type as DataType;
  if (chunks.some((c) => c.nullCount > 0)) throw new CheckpointError(`column ${field.name} has nulls, which sgdwalk tables never hold`, path);
  // One compact array per column: a copy out of the file's buffer, chunks concatenated.
  const typed = <T extends Float64Array | Float32Array | Int32Array>(make: new (n: number) => T): T => {
    const result = new make(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      result.set(c.toArray() as T, at);
      at += c.length;
    }
    return result;
  };
  if (DataType.isFloat(type) && type.precision === Precision.DOUBLE) return ['float64', typed(Float64Array)];
  if (DataType.isFloat(type) && type.precision === Precision.SINGLE) return ['float32', typed(Float32Array)];
  if (DataType.isInt(type) && type.bitWidth === 32 && type.isSigned) return ['int32', typed(Int32Array)];
  if (DataType.isBool(type)) return ['bool', chunks.flatMap((c) => Array.from(c as Vector<Bool>) as boolean[])];
  if (DataType.isUtf8(type)) return ['utf8', chunks.flatMap((c) => Array.from(c as Vector<Utf8>) as string[])];
  if (DataType.isList(type) && DataType.isInt(type.valueType) && type.valueType.bitWidth === 32 && type.valueType.isSigned) {
    const rows: Int32Array[] = [];
    for (const chunk of chunks) {
      for (const d of chunk.data) {
        // Offsets are sliced with the Data, the child is not: offsets index straight into its values.
        const offsets = d.valueOffsets as Int32Array;
        const child = d.children[0];
        if (child.nullCount > 0) throw new CheckpointError(`column ${field.name} has null list items, which sgdwalk tables never hold`, path);
        const values = (child.values as Int32Array).slice();
        for (let i = 0; i < d.length; i++) rows.push(values.subarray(offsets[i], offsets[i + 1]));
      }
    }
    return ['list<int32>', rows];
  }
  throw new CheckpointError(`column ${field.name} has type ${type}, which readTable does not read`, path);
}
