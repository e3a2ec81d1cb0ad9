/**
 * A protobuf encoder for the subset of onnx.proto the analysis graphs use: ModelProto, GraphProto,
 * NodeProto, AttributeProto, ValueInfoProto, TypeProto.Tensor, TensorProto. Field numbers are those of
 * onnx/onnx.proto (proto2; repeated scalars are written unpacked, which every parser accepts).
 */

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, BOOL: 9, INT32: 6, INT64: 7 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** A constant tensor (initializer or Constant value); data is written as little-endian raw_data. */
export interface TensorProto {
  name: string;
  dataType: typeof DataType.FLOAT | typeof DataType.INT64;
  dims: number[];
  values: number[];
}

export type AttributeProto =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; ints: number[] }
  | { name: string; tensor: TensorProto };

export interface NodeProto {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: AttributeProto[];
}

/** A graph input or output: element type and shape, each dimension a size or a symbolic name. */
export interface ValueInfoProto {
  name: string;
  elemType: DataType;
  shape: Array<number | string>;
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
}

export interface ModelProto {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  graph: GraphProto;
}

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;
const utf8 = new TextEncoder();

/** Appends protobuf fields to a growing byte list. */
class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** A varint; negative int64 values take the 10-byte two's-complement form protobuf prescribes. */
  private rawVarint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(bytes));
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint((field << 3) | wireType);
  }

  varint(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, encode: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    encode(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

function rawData(tensor: TensorProto): Uint8Array {
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  if (count !== tensor.values.length) throw new Error(`tensor ${tensor.name}: ${tensor.values.length} values for dims [${tensor.dims}]`);
  if (tensor.dataType === DataType.FLOAT) return new Uint8Array(Float32Array.from(tensor.values).buffer);
  return new Uint8Array(BigInt64Array.from(tensor.values, (v) => BigInt(v)).buffer);
}

function writeTensor(w: ProtoWriter, tensor: TensorProto): void {
  for (const dim of tensor.dims) w.varint(1, dim);
  w.varint(2, tensor.dataType).string(8, tensor.name).bytes(9, rawData(tensor));
}

const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, TENSOR: 4, INTS: 7 } as const;

function writeAttribute(w: ProtoWriter, attribute: AttributeProto): void {
  w.string(1, attribute.name);
  if ('int' in attribute) w.varint(3, attribute.int).varint(20, ATTRIBUTE_TYPE.INT);
  else if ('float' in attribute) w.float(2, attribute.float).varint(20, ATTRIBUTE_TYPE.FLOAT);
  else if ('ints' in attribute) {
    for (const v of attribute.ints) w.varint(8, v);
    w.varint(20, ATTRIBUTE_TYPE.INTS);
  } else {
    w.message(5, (t) => writeTensor(t, attribute.tensor)).varint(20, ATTRIBUTE_TYPE.TENSOR);
  }
}

function writeNode(w: ProtoWriter, node: NodeProto): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  if (node.name) w.string(3, node.name);
  w.string(4, node.opType);
  for (const attribute of node.attributes ?? []) w.message(5, (a) => writeAttribute(a, attribute));
}

function writeValueInfo(w: ProtoWriter, info: ValueInfoProto): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.varint(1, info.elemType);
      tensorType.message(2, (shape) => {
        for (const dim of info.shape) shape.message(1, (d) => (typeof dim === 'number' ? d.varint(1, dim) : d.string(2, dim)));
      });
    }),
  );
}

function writeGraph(w: ProtoWriter, graph: GraphProto): void {
  for (const node of graph.nodes) w.message(1, (n) => writeNode(n, node));
  w.string(2, graph.name);
  for (const tensor of graph.initializers) w.message(5, (t) => writeTensor(t, tensor));
  for (const input of graph.inputs) w.message(11, (v) => writeValueInfo(v, input));
  for (const output of graph.outputs) w.message(12, (v) => writeValueInfo(v, output));
}

/** Serialise a model to the bytes ONNX Runtime loads. */
export function encodeModel(model: ModelProto): Uint8Array {
  return new ProtoWriter()
    .varint(1, model.irVersion)
    .string(2, model.producerName)
    .message(7, (g) => writeGraph(g, model.graph))
    .message(8, (opset) => opset.string(1, '').varint(2, model.opsetVersion))
    .finish();
}
