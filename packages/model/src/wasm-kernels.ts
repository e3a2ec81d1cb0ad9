// Straight from tfjs, not via ./backend.js: backend.ts imports this module (no import cycle).
import * as tf from '@tensorflow/tfjs';

/*
 * @tensorflow/tfjs-backend-wasm 4.22 has Conv2D and Conv2DBackpropInput but no Conv2DBackpropFilter, so
 * the gradient of a conv2d with respect to its filter throws on wasm. Rather than fall back to the CPU
 * backend for the whole run (slow, and a silent backend switch), we register that kernel for 'wasm',
 * composed from kernels wasm does have: transposes, one dilated (XNNPACK) Conv2D and a slice.
 *
 * dW[kh, kw, ci, co] = Σ_{n, oh, ow} xpad[n, oh·sh + kh, ow·sw + kw, ci] · dy[n, oh, ow, co]
 * is a stride-1 convolution of x seen as [ci, H, W, n] (input channels as the batch, the batch as the
 * channels) with dy seen as the filter [oh, ow, n, co], dilated by the forward strides. Its output is
 * [ci, kh', kw', co] with kh' ≥ kh (rows past kh exist only when the forward conv left input rows unused;
 * they are sliced off), then transposed to [kh, kw, ci, co]. The forward padding goes into that Conv2D
 * as explicit padding, so no padded copy of x is made.
 */

type Info = tf.TensorInfo;

/** Runs a kernel wasm registers itself, directly on the backend (no engine tensors, no tape). */
function run(kernelName: string, backend: tf.KernelBackend, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): Info {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (kernel == null) throw new Error(`wasm backend has no ${kernelName} kernel to compose Conv2DBackpropFilter from`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as Info;
}

function conv2dBackpropFilter({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { x, dy } = inputs as unknown as tf.Conv2DBackpropFilterInputs & { x: Info; dy: Info };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat !== 'NHWC') throw new Error(`wasm Conv2DBackpropFilter supports dataFormat NHWC only, got ${dataFormat}`);
  const xShape = x.shape as [number, number, number, number];
  // The forward conv's geometry: output size, strides and TF padding (SAME, VALID, numeric or explicit).
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const expected = [batchSize, outHeight, outWidth, outChannels];
  if (dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`Conv2DBackpropFilter: dy has shape [${dy.shape}], the forward conv gives [${expected}]`);
  }
  const { top, left } = info.padInfo;
  // Only as much bottom/right padding as the last window reaches; a negative need is handled by the slice.
  const bottom = Math.max(0, (outHeight - 1) * info.strideHeight + filterHeight - inHeight - top);
  const right = Math.max(0, (outWidth - 1) * info.strideWidth + filterWidth - inWidth - left);

  const temps: Info[] = [];
  const keep = (t: Info) => (temps.push(t), t);
  try {
    const xT = keep(run(tf.Transpose, backend, { x }, { perm: [3, 1, 2, 0] })); // [ci, H, W, n]
    const dyT = keep(run(tf.Transpose, backend, { x: dy }, { perm: [1, 2, 0, 3] })); // [oh, ow, n, co]
    let dw = keep(run(tf.Conv2D, backend, { x: xT, filter: dyT }, {
      strides: [1, 1],
      dilations: [info.strideHeight, info.strideWidth],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: 'NHWC',
    })); // [ci, kh', kw', co]
    if (dw.shape[1] !== filterHeight || dw.shape[2] !== filterWidth) {
      dw = keep(run(tf.Slice, backend, { x: dw }, { begin: [0, 0, 0, 0], size: [inChannels, filterHeight, filterWidth, outChannels] }));
    }
    return run(tf.Transpose, backend, { x: dw }, { perm: [1, 2, 0, 3] }); // [kh, kw, ci, co]
  } finally {
    // Intermediates are backend data only; a transpose that is a no-op shares its input's data id and
    // holds a reference of its own, so disposing every intermediate once is exactly right.
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** Registers the kernels the wasm backend lacks and our layers need. Idempotent; safe before or after wasm loads. */
export function registerWasmKernels(): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') == null) {
    tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2dBackpropFilter as tf.KernelFunc });
  }
}
