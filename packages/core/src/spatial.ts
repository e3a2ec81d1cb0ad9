/**
 * Output size and padding of a convolution or pooling window along one spatial axis, with TensorFlow's
 * conventions (the training side's): SAME gives ⌈in / stride⌉ outputs and puts the odd pixel of padding
 * at the end; VALID pads nothing. The ONNX lowering uses the explicit pads computed here, so both sides
 * agree by construction.
 */
export interface AxisWindow {
  out: number;
  /** Padding before and after the axis. */
  before: number;
  after: number;
}

export function windowAlongAxis(size: number, kernel: number, stride: number, padding: 'same' | 'valid'): AxisWindow | undefined {
  if (padding === 'valid') {
    if (size < kernel) return undefined;
    return { out: Math.floor((size - kernel) / stride) + 1, before: 0, after: 0 };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

/** [rows, cols] from a size given once or per axis. */
export function pairOf(value: number | [number, number]): [number, number] {
  return typeof value === 'number' ? [value, value] : [value[0], value[1]];
}
