import { DataType, encodeModel, type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx-proto.js';

export const OPSET_VERSION = 17;
export const IR_VERSION = 8;

/** Collects nodes, constants and graph inputs/outputs, naming intermediate values uniquely. */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private counter = 0;

  input(name: string, elemType: DataType, shape: Array<number | string>): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  constant(hint: string, dataType: TensorProto['dataType'], dims: number[], values: number[]): string {
    const name = `${hint}_${this.counter++}`;
    this.initializers.push({ name, dataType, dims, values });
    return name;
  }

  /** An int64 vector constant (shapes, axes, permutations, repeats). */
  int64s(hint: string, values: number[]): string {
    return this.constant(hint, DataType.INT64, [values.length], values);
  }

  op(opType: string, inputs: string[], attributes: AttributeProto[] = [], hint = opType.toLowerCase()): string {
    const output = `${hint}_${this.counter++}`;
    this.nodes.push({ opType, inputs, outputs: [output], name: output, attributes });
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
    this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], name });
    this.outputs.push({ name, elemType, shape });
  }

  encode(name: string): Uint8Array {
    return encodeModel({
      irVersion: IR_VERSION,
      opsetVersion: OPSET_VERSION,
      producerName: 'sgdwalk',
      graph: { name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
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
