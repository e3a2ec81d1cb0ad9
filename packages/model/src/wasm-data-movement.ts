// Straight from tfjs, not via ./backend.js: backend.ts imports this module (no import cycle).
import * as tf from '@tensorflow/tfjs';

/*
 * Data movement on wasm without needless copies.
 *
 * tfjs-backend-wasm 4.22's Slice (and SplitV, which calls the same code) starts with
 * `backend.readSync(x)`: a copy of the WHOLE input out of the wasm heap into a fresh JS array, for every
 * slice. Training slices the flat parameter vector θ into its tensors, so each step copied θ once per
 * parameter tensor: 10 copies of 2.3 MB for the MLP (~20 ms), 30 of 9 MB for VGG-11 at width 1/4 (~230 ms).
 * These kernels do exactly the same copy from a view of the heap instead (the same bytes: values are
 * bit-identical), so a slice costs what it returns.
 *
 * Its Identity (tf.clone, and Cast to the same dtype) copies the tensor. The engine clones every tensor a
 * gradient saves while the tape records (saveTensorsForBackwardMode), so on wasm each kernel of the
 * forward pass copied what its gradient keeps: every conv and BN input and output, ~235 activation-sized
 * copies per VGG-11 step. wasm tensors are never written in place (a variable's assign swaps its data
 * id), so a clone can share the data with a reference count, as the cpu backend's Identity and wasm's
 * own Reshape do.
 */

type Info = tf.TensorInfo;

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackend extends tf.KernelBackend {
  incRef(dataId: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
}

type Values = Float32Array | Int32Array | Uint8Array;

/** out ← x[begin : begin + size]; false (nothing copied) for a non-contiguous slice of rank above 4. */
function copySlice(xVals: Values, xShape: number[], outVals: Values, begin: number[], size: number[]): boolean {
  if (tf.slice_util.isSliceContinous(xShape, begin, size)) {
    const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(xShape));
    outVals.set(xVals.subarray(offset, offset + tf.util.sizeFromShape(size)));
    return true;
  }
  if (xShape.length > 4) return false;
  // Seen as rank 4 (leading unit axes), copy runs of the innermost axis, as wasm's slice2d/3d/4d do.
  const lead = 4 - xShape.length;
  const shape = [...new Array<number>(lead).fill(1), ...xShape];
  const b = [...new Array<number>(lead).fill(0), ...begin];
  const n = [...new Array<number>(lead).fill(1), ...size];
  const [s0, s1, s2] = tf.util.computeStrides(shape);
  let out = 0;
  for (let i = 0; i < n[0]; i++)
    for (let j = 0; j < n[1]; j++)
      for (let k = 0; k < n[2]; k++) {
        const from = (b[0] + i) * s0 + (b[1] + j) * s1 + (b[2] + k) * s2 + b[3];
        outVals.set(xVals.subarray(from, from + n[3]), out);
        out += n[3];
      }
  return true;
}

function makeSlice(original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info => {
    const x = args.inputs.x as Info;
    if (x.dtype === 'string') return original(args) as Info;
    const backend = args.backend as WasmBackend;
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const out = backend.makeOutput(size_, x.dtype);
    if (!copySlice(backend.typedArrayFromHeap(x), x.shape, backend.typedArrayFromHeap(out), begin_, size_)) {
      backend.disposeData(out.dataId);
      return original(args) as Info;
    }
    return out;
  };
}

function makeSplitV(slice: (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }) => Info) {
  return ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info[] => {
    const x = inputs.x as Info;
    const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[$axis] = s;
      const piece = slice({ inputs: { x }, backend, attrs: { begin: [...begin], size } });
      begin[$axis] += s;
      return piece;
    });
  };
}

/** The same data under a new reference (strings, which wasm keeps in JS, are left to wasm's own kernel). */
function makeIdentity(original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info => {
    const x = args.inputs.x as Info;
    if (x.dtype === 'string') return original(args) as Info;
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

const registered = new Set<tf.KernelFunc>();

/** Replaces wasm's Slice, SplitV and Identity by the copy-free versions above. Idempotent. */
export function registerWasmDataMovementKernels(): void {
  const slice = tf.getKernel(tf.Slice, 'wasm');
  const identity = tf.getKernel(tf.Identity, 'wasm');
  if (slice == null || identity == null || registered.has(slice.kernelFunc)) return;
  const fastSlice = makeSlice(slice.kernelFunc);
  const fastSplit = makeSplitV(fastSlice) as unknown as tf.KernelFunc;
  const sharedIdentity = makeIdentity(identity.kernelFunc) as tf.KernelFunc;
  for (const [name, kernelFunc] of [[tf.Slice, fastSlice as tf.KernelFunc], [tf.SplitV, fastSplit], [tf.Identity, sharedIdentity]] as const) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
    registered.add(kernelFunc);
  }
}
