import {
  CheckpointError, columnOf, type ColumnsOf, type MetadataOf, type RowOf, type TableDeclaration, type WrittenColumnsOf, type WrittenRowOf,
} from '@sgdwalk/core';
import { describeArray, readTable, tableFromBytes, writeTypedTable, type ColumnData, type TableContents } from './table.js';

/**
 * Stage tables written and read through their declaration (core's tables.ts): the declaration decides each
 * column's Arrow type, its order, a utf8 column's allowed values and the metadata keys; checkTable is the
 * one place a table is held against it, on writing and on reading.
 */

/** A table read and checked against its declaration: its declared columns, in declared order. */
export interface DeclaredTable<T extends TableDeclaration> {
  columns: ColumnsOf<T>;
  metadata: MetadataOf<T>;
  numRows: number;
}

/** Plain arrays (bool, list<int32>) that were empty had no element to tell their type by: older writers stored them as utf8. */
const LEGACY_EMPTY_AS_UTF8 = new Set(['bool', 'list<int32>']);

/**
 * Hold a table against its declaration: every declared column present (an optional one may be absent),
 * of its Arrow type, as long as the table, holding only allowed values; every declared metadata key set.
 * Columns the declaration does not name are left out (a newer version's extra column is no error).
 * Throws a CheckpointError naming the file and the column or key.
 */
export function checkTable<T extends TableDeclaration>(table: T, contents: TableContents, path: string): DeclaredTable<T> {
  const columns: Record<string, ColumnData> = {};
  for (const [name, declaration] of Object.entries(table.columns)) {
    const { type, optional, values } = columnOf(declaration);
    const column = contents.columns[name];
    if (column === undefined) {
      if (optional) continue;
      throw new CheckpointError(`missing column "${name}" (columns: ${Object.keys(contents.columns).join(', ') || 'none'})`, path);
    }
    const stored = contents.types[name];
    const legacyEmpty = contents.numRows === 0 && stored === 'utf8' && LEGACY_EMPTY_AS_UTF8.has(type);
    if (stored !== type && !legacyEmpty) throw new CheckpointError(`column "${name}" is ${stored}, ${table.file} declares it ${type}`, path);
    if (column.length !== contents.numRows) throw new CheckpointError(`column "${name}" has ${column.length} rows, the table ${contents.numRows}`, path);
    if (values) checkValues(column as string[], values, name, path);
    columns[name] = legacyEmpty ? [] : column;
  }
  for (const key of table.metadata) {
    if (typeof contents.metadata[key] !== 'string') throw new CheckpointError(`metadata "${key}" is missing`, path);
  }
  return { columns: columns as ColumnsOf<T>, metadata: contents.metadata as MetadataOf<T>, numRows: contents.numRows };
}

function checkValues(column: readonly string[], allowed: readonly string[], name: string, path: string): void {
  const set = new Set(allowed);
  const bad = column.findIndex((v) => !set.has(v));
  if (bad >= 0) throw new CheckpointError(`column "${name}", row ${bad}: "${column[bad]}" is not one of ${allowed.map((v) => `"${v}"`).join(', ')}`, path);
}

/** Read a declared table's columns, checked (checkTable). Typed arrays for numbers, no per-row objects. */
export async function readColumns<T extends TableDeclaration>(path: string, table: T): Promise<DeclaredTable<T>> {
  return checkTable(table, await readTable(path), path);
}

/** A declared table's columns from bytes already read (and checked) by the caller; `path` names the file in errors. */
export function columnsFromBytes<T extends TableDeclaration>(bytes: Uint8Array, path: string, table: T): DeclaredTable<T> {
  return checkTable(table, tableFromBytes(bytes, path), path);
}

/** Read a declared table as rows, checked (checkTable); an optional column absent from the file is absent from the rows. */
export async function readRows<T extends TableDeclaration>(path: string, table: T): Promise<RowOf<T>[]> {
  return rowsOf(await readColumns(path, table));
}

/** The rows of a table read by readColumns (for a reader that wants its metadata too). */
export function rowsOf<T extends TableDeclaration>({ columns, numRows }: DeclaredTable<T>): RowOf<T>[] {
  const present = Object.entries(columns as Record<string, ArrayLike<unknown>>);
  const rows = new Array<RowOf<T>>(numRows);
  for (let i = 0; i < numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const [name, column] of present) row[name] = column[i];
    rows[i] = row as RowOf<T>;
  }
  return rows;
}

/**
 * Write a declared table from its columns (the hot path: long-format tables filled into typed arrays),
 * atomically, in declared order with the declared types; the columns and metadata are checked first
 * (checkTable), so a wrong array, length, value or metadata key never reaches the disk.
 */
export async function writeColumns<T extends TableDeclaration>(path: string, table: T, columns: WrittenColumnsOf<T>, metadata: MetadataOf<T>): Promise<void> {
  const given = columns as Record<string, ColumnData>;
  const names = Object.keys(table.columns);
  const extra = Object.keys(given).filter((name) => !(name in table.columns));
  if (extra.length > 0) throw new CheckpointError(`column "${extra[0]}" is not declared for ${table.file} (declared: ${names.join(', ')})`, path);
  const extraKeys = Object.keys(metadata).filter((key) => !table.metadata.includes(key));
  if (extraKeys.length > 0) throw new CheckpointError(`metadata "${extraKeys[0]}" is not declared for ${table.file}`, path);
  const numRows = names.length > 0 ? (given[names[0]]?.length ?? 0) : 0;
  // What each given array would be written as; a misfit is named by its JavaScript kind in checkTable's message.
  const types = Object.fromEntries(names.map((name) => [name, typeOfGiven(given[name], columnOf(table.columns[name]).type)])) as TableContents['types'];
  const writing = { ...table, columns: Object.fromEntries(names.map((name) => [name, { ...columnOf(table.columns[name]), optional: false }])) };
  checkTable(writing, { columns: given, types, metadata: metadata as Record<string, string>, numRows }, path);
  await writeTypedTable(
    path,
    names.map((name) => ({ name, type: columnOf(table.columns[name]).type, values: given[name] })),
    Object.fromEntries(table.metadata.map((key) => [key, (metadata as Record<string, string>)[key]])),
  );
}

/** The Arrow type a given array would be written as, for checkTable's message; the declared one where it fits. */
function typeOfGiven(values: ColumnData | undefined, declared: string): string {
  if (values === undefined) return 'absent';
  const fits =
    declared === 'float64' ? values instanceof Float64Array
    : declared === 'float32' ? values instanceof Float32Array
    : declared === 'int32' ? values instanceof Int32Array
    : Array.isArray(values);
  // Elements of plain arrays are checked as they are encoded (row n is not a boolean …).
  return fits ? declared : describeArray(values);
}

/** Write a declared table from row objects: each column built into the array of its declared type. */
export async function writeRows<T extends TableDeclaration>(path: string, table: T, rows: readonly WrittenRowOf<T>[], metadata: MetadataOf<T>): Promise<void> {
  const columns: Record<string, ColumnData> = {};
  for (const [name, declaration] of Object.entries(table.columns)) {
    const pick = (r: WrittenRowOf<T>) => (r as Record<string, unknown>)[name];
    const type = columnOf(declaration).type;
    columns[name] =
      type === 'int32' ? Int32Array.from(rows, pick as (r: WrittenRowOf<T>) => number)
      : type === 'float64' ? Float64Array.from(rows, pick as (r: WrittenRowOf<T>) => number)
      : type === 'float32' ? Float32Array.from(rows, pick as (r: WrittenRowOf<T>) => number)
      : (rows.map(pick) as ColumnData);
  }
  await writeColumns(path, table, columns as WrittenColumnsOf<T>, metadata);
}
