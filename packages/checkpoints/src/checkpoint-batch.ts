import { DataType, Field, FixedSizeList, Float32, Int32, makeData, Precision, RecordBatch, Schema, Struct, Utf8, type Data } from 'apache-arrow';
import { CheckpointError } from '@sgdwalk/core';
import { metaToSchemaMetadata, type CheckpointMeta } from './meta.js';

/**
 * One checkpoint is one record batch of one row: step, epoch, the whole state as a FixedSizeList<Float32>
 * and its sha256. One row per batch is what makes random access cheap: the file footer points at each
 * batch, so reading checkpoint k reads exactly that batch's bytes.
 */
export function checkpointSchema(meta: CheckpointMeta): Schema {
  return new Schema(
    [
      new Field('step', new Int32(), false),
      new Field('epoch', new Int32(), false),
      new Field('state', new FixedSizeList(meta.layout.totalSize, new Field('value', new Float32(), false)), false),
      new Field('sha256', new Utf8(), false),
    ],
    metaToSchemaMetadata(meta),
  );
}

const encoder = new TextEncoder();

/** The batch views `state` without copying it: the bytes go to disk straight from the caller's buffer. */
export function checkpointBatch(schema: Schema, step: number, epoch: number, state: Float32Array, sha256: string): RecordBatch {
  const [stepField, epochField, stateField, shaField] = schema.fields;
  const stateType = stateField.type as FixedSizeList<Float32>;
  const hash = encoder.encode(sha256);
  const children: Data[] = [
    makeData({ type: stepField.type as Int32, length: 1, nullCount: 0, data: Int32Array.of(step) }),
    makeData({ type: epochField.type as Int32, length: 1, nullCount: 0, data: Int32Array.of(epoch) }),
    makeData({
      type: stateType,
      length: 1,
      nullCount: 0,
      child: makeData({ type: stateType.valueType, length: state.length, nullCount: 0, data: state }),
    }),
    makeData({ type: shaField.type as Utf8, length: 1, nullCount: 0, valueOffsets: Int32Array.of(0, hash.length), data: hash }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children }));
}

/** Check a shard's columns are ours before reading any batch, so a foreign file fails with one clear line. */
export function checkCheckpointSchema(schema: Schema, file: string): void {
  const names = schema.fields.map((f) => f.name).join(', ');
  const [step, epoch, state, sha] = schema.fields;
  const ok =
    schema.fields.length === 4 &&
    step.name === 'step' && isInt32(step.type) &&
    epoch.name === 'epoch' && isInt32(epoch.type) &&
    state.name === 'state' && DataType.isFixedSizeList(state.type) && isFloat32(state.type.valueType) &&
    sha.name === 'sha256' && DataType.isUtf8(sha.type);
  if (!ok) throw new CheckpointError(`not a checkpoint shard: columns are (${names}), expected (step, epoch, state, sha256)`, file);
}

export interface BatchContent {
  step: number;
  epoch: number;
  /** A view into the batch's body buffer. */
  state: Float32Array;
  sha256: string;
}

/** Pull the one row out of a checkpoint batch; the state comes out as a typed-array view, no element loop. */
export function checkpointFromBatch(batch: RecordBatch, file: string, step?: number): BatchContent {
  if (batch.numRows !== 1) throw new CheckpointError(`a checkpoint batch has ${batch.numRows} rows, expected 1`, file, step);
  const stateData = batch.getChildAt(2)!.data[0];
  const child = stateData.children[0] as Data<Float32>;
  const size = (stateData.type as FixedSizeList).listSize;
  // Arrow slices value buffers along with a Data, so the row's floats start at index 0 of `values`.
  const values = child.values;
  if (!(values instanceof Float32Array) || values.length < size) {
    throw new CheckpointError(`state column holds ${values?.length ?? 0} floats, fewer than its declared ${size} (file corrupt)`, file, step);
  }
  return {
    step: batch.getChildAt(0)!.get(0) as number,
    epoch: batch.getChildAt(1)!.get(0) as number,
    state: values.subarray(0, size),
    sha256: batch.getChildAt(3)!.get(0) as string,
  };
}

function isInt32(type: DataType): boolean {
  return DataType.isInt(type) && type.bitWidth === 32 && type.isSigned;
}

function isFloat32(type: DataType): boolean {
  return DataType.isFloat(type) && type.precision === Precision.SINGLE;
}
