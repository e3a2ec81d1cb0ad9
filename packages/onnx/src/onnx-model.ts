import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { SgdwalkError } from '@sgdwalk/core';

/**
 * ONNX models read and written with protobufjs over ONNX's own schema (onnx.proto, proto2, copied verbatim
 * from github.com/onnx/onnx into this package's root): the one ONNX encoder and decoder of sgdwalk. Messages
 * are handled as protobufjs plain objects with the schema's own field names (keepCase): `op_type`,
 * `raw_data`, `data_type`, …; int64 fields as numbers.
 */

/** TensorProto.DataType values sgdwalk reads or writes. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11, BFLOAT16: 16 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** The IR version and default-domain opset of every graph sgdwalk writes (the analysis' and the exported). */
export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

/** AttributeProto.AttributeType values. */
export const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

export interface OnnxTensor {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: number[];
  int32_data?: number[];
  [field: string]: unknown;
}

export interface OnnxAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
  [field: string]: unknown;
}

export interface OnnxNode {
  input?: string[];
  output?: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: OnnxAttribute[];
  [field: string]: unknown;
}

export interface OnnxDimension {
  dim_value?: number;
  dim_param?: string;
}

export interface OnnxValueInfo {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: OnnxDimension[] } } };
  [field: string]: unknown;
}

export interface OnnxGraph {
  name?: string;
  node?: OnnxNode[];
  initializer?: OnnxTensor[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  value_info?: OnnxValueInfo[];
  [field: string]: unknown;
}

export interface OnnxModel {
  ir_version?: number;
  producer_name?: string;
  producer_version?: string;
  opset_import?: Array<{ domain?: string; version?: number }>;
  graph?: OnnxGraph;
  [field: string]: unknown;
}

const SCHEMA_FILE = new URL('../onnx.proto', import.meta.url);
let modelType: protobuf.Type | undefined;

function modelProto(): protobuf.Type {
  if (!modelType) {
    const root = protobuf.parse(readFileSync(SCHEMA_FILE, 'utf8'), { keepCase: true }).root;
    modelType = root.lookupType('onnx.ModelProto');
  }
  return modelType;
}

/**
 * Decode an ONNX model. A file that does not parse as a ModelProto, or parses to one without a graph or an
 * opset (protobuf accepts many byte strings), is an error naming the file.
 */
export function decodeModel(bytes: Uint8Array, file: string): OnnxModel {
  const type = modelProto();
  let model: OnnxModel;
  try {
    model = type.toObject(type.decode(bytes), { longs: Number, bytes: Uint8Array, arrays: true }) as OnnxModel;
  } catch (e) {
    throw new SgdwalkError(`${file}: not an ONNX model (${(e as Error).message})`, 'import', { file });
  }
  const graph = model.graph;
  if (!model.ir_version || !graph || (model.opset_import ?? []).length === 0 || (graph.node ?? []).length === 0 || (graph.output ?? []).length === 0) {
    throw new SgdwalkError(`${file}: not an ONNX model (no IR version, opset, graph nodes or graph output)`, 'import', { file });
  }
  return model;
}

/** Encode a model (plain object in the schema's field names) to the bytes any ONNX tool loads. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const type = modelProto();
  const problem = type.verify(model);
  if (problem) throw new Error(`not a valid ModelProto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** The default-domain opset the model imports. */
export function opsetOf(model: OnnxModel): number {
  const entry = (model.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry?.version ?? 0;
}

/** A float tensor's values (raw_data little-endian or float_data), as float32. */
export function floatValues(tensor: OnnxTensor): Float32Array {
  const count = (tensor.dims ?? []).reduce((a, b) => a * b, 1);
  if (tensor.data_type !== DataType.FLOAT) throw new Error(`tensor ${tensor.name}: data type ${tensor.data_type}, not FLOAT`);
  if (tensor.raw_data && tensor.raw_data.length > 0) {
    if (tensor.raw_data.length !== count * 4) throw new Error(`tensor ${tensor.name}: ${tensor.raw_data.length} raw bytes for ${count} floats`);
    const copy = new Uint8Array(tensor.raw_data);
    return new Float32Array(copy.buffer, 0, count);
  }
  return Float32Array.from(tensor.float_data ?? []);
}

/** A float initializer with its values as raw_data. */
export function floatTensor(name: string, dims: number[], values: Float32Array): OnnxTensor {
  return { name, dims, data_type: DataType.FLOAT, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** A graph input or output description: element type and dims (a number or a symbolic name each). */
export function valueInfo(name: string, elemType: number, dims: Array<number | string>): OnnxValueInfo {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/** The dims of a value info: a number where fixed, the symbol (or '?') where not. */
export function dimsOf(info: OnnxValueInfo): Array<number | string> {
  return (info.type?.tensor_type?.shape?.dim ?? []).map((d) => (d.dim_value ? d.dim_value : (d.dim_param ?? '?')));
}
