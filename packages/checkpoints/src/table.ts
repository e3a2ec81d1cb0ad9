import { readFile } from 'node:fs/promises';
import {
  Bool, DataType, Field, Float32, Float64, Int32, List, makeData, Precision, RecordBatch, RecordBatchReader, Schema, Struct, Utf8,
  vectorFromArray, type Data, type Vector,
} from 'apache-arrow';
import { CheckpointError, writeFileAtomic } from '@sgdwalk/core';
import { ChunkedFileWriter } from './ipc-file-writer.js';

/**
 * A column of a long-format table (metrics.arrow, pairs.arrow, interpolation.arrow). Arrow types:
 * Float64Array → Float64, Float32Array → Float32, Int32Array → Int32, boolean[] → Bool, string[] → Utf8,
 * Int32Array[] → List<Int32>. An empty plain array has no element to tell its type by and is written as Utf8.
 */
export type ColumnData = Float64Array | Float32Array | Int32Array | boolean[] | string[] | Int32Array[];

export interface TableContents {
  columns: Record<string, ColumnData>;
  metadata: Record<string, string>;
  numRows: number;
}

/**
 * Write an Arrow IPC file of one record batch, atomically: a temporary sibling, fsync, rename, so a reader
 * sees the previous file or the complete new one. Typed-array columns are written from their buffers as is.
 */
export async function writeTable(path: string, columns: Record<string, ColumnData>, metadata: Record<string, string> = {}): Promise<void> {
  const names = Object.keys(columns);
  const numRows = names.length > 0 ? columns[names[0]].length : 0;
  for (const name of names) {
    if (columns[name].length !== numRows) {
      throw new CheckpointError(`columns differ in length: ${names[0]} has ${numRows} rows, ${name} ${columns[name].length}`, path);
    }
  }
  const data = names.map((name) => columnData(columns[name], name, path));
  const schema = new Schema(
    names.map((name, i) => new Field(name, data[i].type, false)),
    new Map(Object.entries(metadata)),
  );
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: numRows, nullCount: 0, children: data }));
  const writer = new ChunkedFileWriter();
  const chunks = [...writer.begin(schema), ...writer.add(batch), ...writer.end()];

  // Tables are small (per-step or per-pair rows): one buffer through core's temp-file-and-rename write.
  await writeFileAtomic(path, Buffer.concat(chunks));
}

function columnData(values: ColumnData, name: string, path: string): Data {
  const length = values.length;
  if (values instanceof Float64Array) return makeData({ type: new Float64(), length, nullCount: 0, data: values });
  if (values instanceof Float32Array) return makeData({ type: new Float32(), length, nullCount: 0, data: values });
  if (values instanceof Int32Array) return makeData({ type: new Int32(), length, nullCount: 0, data: values });
  if (!Array.isArray(values)) throw new CheckpointError(`column ${name}: unsupported column type ${(values as object)?.constructor?.name}`, path);
  const first = values[0] as unknown;
  if (typeof first === 'boolean') {
    check(values, (v) => typeof v === 'boolean', 'boolean', name, path);
    const bits = new Uint8Array(Math.ceil(length / 8));
    (values as boolean[]).forEach((v, i) => {
      if (v) bits[i >> 3] |= 1 << (i & 7);
    });
    return makeData({ type: new Bool(), length, nullCount: 0, data: bits });
  }
  if (first instanceof Int32Array) {
    check(values, (v) => v instanceof Int32Array, 'Int32Array', name, path);
    const rows = values as Int32Array[];
    const offsets = new Int32Array(length + 1);
    rows.forEach((row, i) => (offsets[i + 1] = offsets[i] + row.length));
    const flat = new Int32Array(offsets[length]);
    rows.forEach((row, i) => flat.set(row, offsets[i]));
    const child = makeData({ type: new Int32(), length: flat.length, nullCount: 0, data: flat });
    return makeData({ type: new List(new Field('item', new Int32(), false)), length, nullCount: 0, valueOffsets: offsets, child });
  }
  check(values, (v) => typeof v === 'string', 'string', name, path);
  return vectorFromArray(values as string[], new Utf8()).data[0];
}

function check(values: unknown[], ok: (v: unknown) => boolean, kind: string, name: string, path: string): void {
  const bad = values.findIndex((v) => !ok(v));
  if (bad >= 0) throw new CheckpointError(`column ${name}: row ${bad} is not a ${kind} like row 0`, path);
}

/** Read a table written by writeTable (or any Arrow IPC file of the same column types, without nulls). */
export async function readTable(path: string): Promise<TableContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? 'missing' : `cannot read (${code ?? (e as Error).message})`, path);
  }
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
  schema.fields.forEach((field, i) => {
    const chunks = batches.map((b) => b.getChildAt(i)!);
    columns[field.name] = columnFrom(field, chunks, path);
  });
  return {
    columns,
    metadata: Object.fromEntries(schema.metadata),
    numRows: batches.reduce((n, b) => n + b.numRows, 0),
  };
}

function columnFrom(field: Field, chunks: Vector[], path: string): ColumnData {
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
  if (DataType.isFloat(type) && type.precision === Precision.DOUBLE) return typed(Float64Array);
  if (DataType.isFloat(type) && type.precision === Precision.SINGLE) return typed(Float32Array);
  if (DataType.isInt(type) && type.bitWidth === 32 && type.isSigned) return typed(Int32Array);
  if (DataType.isBool(type)) return chunks.flatMap((c) => Array.from(c as Vector<Bool>) as boolean[]);
  if (DataType.isUtf8(type)) return chunks.flatMap((c) => Array.from(c as Vector<Utf8>) as string[]);
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
    return rows;
  }
  throw new CheckpointError(`column ${field.name} has type ${type}, which readTable does not read`, path);
}
