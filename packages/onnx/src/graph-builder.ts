import {
  ATTRIBUTE_TYPE, DataType, IR_VERSION, OPSET_VERSION, encodeModel, valueInfo,
  type OnnxAttribute, type OnnxNode, type OnnxTensor, type OnnxValueInfo,
} from './onnx-model.js';

/** A constant tensor's element type: float32 values or int64 ones (shapes, axes, permutations). */
export type ConstantType = typeof DataType.FLOAT | typeof DataType.INT64;

/** A node attribute as the lowering writes it; the builder adds AttributeProto's type. */
export type Attribute =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; ints: number[] }
  | { name: string; tensor: OnnxTensor };

function attributeProto(attribute: Attribute): OnnxAttribute {
  if ('int' in attribute) return { name: attribute.name, type: ATTRIBUTE_TYPE.INT, i: attribute.int };
  if ('float' in attribute) return { name: attribute.name, type: ATTRIBUTE_TYPE.FLOAT, f: attribute.float };
  if ('ints' in attribute) return { name: attribute.name, type: ATTRIBUTE_TYPE.INTS, ints: attribute.ints };
  return { name: attribute.name, type: ATTRIBUTE_TYPE.TENSOR, t: attribute.tensor };
}

/** Constant values as little-endian raw_data. */
function constantTensor(name: string, dataType: ConstantType, dims: number[], values: number[]): OnnxTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw new Error(`tensor ${name}: ${values.length} values for dims [${dims}]`);
  const data = dataType === DataType.FLOAT ? Float32Array.from(values) : BigInt64Array.from(values, (v) => BigInt(v));
  return { name, dims, data_type: dataType, raw_data: new Uint8Array(data.buffer) };
}

/** Collects nodes, constants and graph inputs/outputs, naming intermediate values uniquely. */
export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private counter = 0;

  input(name: string, elemType: DataType, shape: Array<number | string>): string {
    this.inputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  constant(hint: string, dataType: ConstantType, dims: number[], values: number[]): string {
    const name = `${hint}_${this.counter++}`;
    this.initializers.push(constantTensor(name, dataType, dims, values));
    return name;
  }

  /** An int64 vector constant (shapes, axes, permutations, repeats). */
  int64s(hint: string, values: number[]): string {
    return this.constant(hint, DataType.INT64, [values.length], values);
  }

  /** A float32 initializer under its own name (an exported network's state). */
  initializer(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({ name, dims, data_type: DataType.FLOAT, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  op(opType: string, inputs: string[], attributes: Attribute[] = [], hint = opType.toLowerCase()): string {
    const output = `${hint}_${this.counter++}`;
    this.nodes.push({ op_type: opType, input: inputs, output: [output], name: output, attribute: attributes.map(attributeProto) });
    return output;
  }

  reshape(value: string, shape: number[], hint = 'reshape'): string {
    return this.op('Reshape', [value, this.int64s(`${hint}_shape`, shape)], [], hint);
  }

  transpose(value: string, perm: number[], hint = 'transpose'): string {
    return this.op('Transpose', [value], [{ name: 'perm', ints: perm }], hint);
  }

  /** Expose `value` as a graph output called `name`. */
  output(name: string, value: string, elemType: DataType, shape: Array<number | string>): void {
    this.nodes.push({ op_type: 'Identity', input: [value], output: [name], name });
    this.outputs.push(valueInfo(name, elemType, shape));
  }

  encode(name: string, producer: { name?: string; version?: string } = {}): Uint8Array {
    return encodeModel({
      ir_version: IR_VERSION,
      producer_name: producer.name ?? 'sgdwalk',
      ...(producer.version ? { producer_version: producer.version } : {}),
      opset_import: [{ domain: '', version: OPSET_VERSION }],
      graph: { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
  }
}

/** Maps a layout tensor name ("bn0.gamma") to the graph value holding it. */
export type ParameterSource = (tensor: string) => string;

/** `make(key)` on first use, the same value after: graph inputs declared once, when a layer first needs them. */
export function onFirstUse<K, T>(make: (key: K) => T): (key: K) => T {
  const made = new Map<K, T>();
  return (key) => {
    if (!made.has(key)) made.set(key, make(key));
    return made.get(key)!;
  };
}
