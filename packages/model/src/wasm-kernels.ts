// Straight from tfjs, not via ./backend.js: backend.ts imports this module (no import cycle).
import * as tf from '@tensorflow/tfjs';
import { registerWasmDataMovementKernels } from './wasm-data-movement.js';

/*
 * @tensorflow/tfjs-backend-wasm 4.22 has Conv2D and Conv2DBackpropInput (slow: replaced below) but no
 * Conv2DBackpropFilter, so the gradient of a conv2d with respect to its filter throws on wasm. Rather than fall back to the CPU
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

/*
 * wasm's own Conv2DBackpropInput is a plain C++ loop nest, ~10× slower than its XNNPACK Conv2D on the
 * same shape (200 ms against 17 ms for a ResNet-20 layer), so registerWasmKernels replaces it with one
 * composed from wasm's Conv2D and data-movement kernels. Per spatial axis (stride s, filter size k, pt
 * the forward's leading padding, t a filter tap):
 *
 *   dx[i] = Σ_{o, t : o·s + t = i + pt} dy[o] · W[t].
 *
 * Write i + pt = s·a + p (block a, phase p < s). Then t = p + s·m and o = a − m, so
 *
 *   dx[s·a + p − pt] = Σ_{0 ≤ m < ⌈(k − p)/s⌉} dy[a − m] · W[p + s·m],
 *
 * for each phase p a stride-1 correlation of dy with the taps W[p], W[p + s], … in reverse order. All
 * s_h·s_w phases come out of ONE Conv2D whose filter [M_h, M_w, co, phases·ci] (M = ⌈k/s⌉) stacks the
 * phases' sub-filters (zero where a phase has fewer than M taps) along the output channels; a transpose
 * then interleaves the phases into rows and columns (a depth-to-space: the "sub-pixel" form of the
 * transposed convolution). Unlike zero-inserting dy and convolving over the full input size, nothing is
 * multiplied by inserted zeros: 16 taps per 2×2 block instead of 36 for a 3×3 stride-2 filter, 1 instead
 * of 4 for a 1×1 stride-2 projection. Stride 1 is the one-phase case: a conv of dy with the spatially
 * flipped, in/out-swapped filter, padded by k − 1 − pt before.
 *
 * When k < s, phases p ≥ k get nothing (input rows the forward skips). If those are the trailing
 * channels (a single phase row, or every phase column computed) the conv leaves them out and a PadV2
 * appends zero channels; otherwise all phases are computed, from zero sub-filters. The blocks run from
 * ⌊pt/s⌋ to ⌊(pt + H − 1)/s⌋ (past the last dy row when the forward skipped trailing input rows); dy is
 * padded to reach them (Conv2D's explicit padding) or, where that padding is negative (pt > k − 1, or
 * trailing dy rows that reach no input: possible with explicit padding), cut with a Slice. A final Slice
 * drops the phases before input row 0 and past row H − 1, when there are any (odd sizes, some paddings).
 */

/** One spatial axis of the plan. */
interface Axis {
  stride: number;
  /** M: filter taps per phase, ⌈k/s⌉. */
  taps: number;
  /** Phases the conv computes: min(k, s), or s (see `conv2dBackpropInput`). */
  phases: number;
  /** Blocks the conv computes, from ⌊pt/s⌋ to ⌊(pt + len − 1)/s⌋. */
  blocks: number;
  /** dy padding before/after, M − 1 − ⌊pt/s⌋ and ⌊(pt + len − 1)/s⌋ − (outLen − 1); negative: dy rows to drop. */
  before: number;
  after: number;
  /** Where input index 0 lies in the interleaved conv output: pt mod s. */
  offset: number;
}

function axisPlan(len: number, outLen: number, k: number, stride: number, padBefore: number): Axis {
  const taps = Math.ceil(k / stride);
  const first = Math.floor(padBefore / stride);
  const last = Math.floor((padBefore + len - 1) / stride);
  return {
    stride,
    taps,
    phases: Math.min(k, stride),
    blocks: last - first + 1,
    before: taps - 1 - first,
    after: last - (outLen - 1),
    offset: padBefore - stride * first,
  };
}

function conv2dBackpropInput({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { dy, filter } = inputs as unknown as { dy: Info; filter: Info };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (dataFormat !== 'NHWC') throw new Error(`wasm Conv2DBackpropInput supports dataFormat NHWC only, got ${dataFormat}`);
  const filterShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co, filterHeight, filterWidth } = info;
  const expected = [n, outHeight, outWidth, co];
  if (dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`Conv2DBackpropInput: dy has shape [${dy.shape}], the forward conv gives [${expected}]`);
  }
  const h = axisPlan(inHeight, outHeight, filterHeight, info.strideHeight, info.padInfo.top);
  const w = axisPlan(inWidth, outWidth, filterWidth, info.strideWidth, info.padInfo.left);
  // The computed phases (ph < h.phases, pw < w.phases) must be a prefix of the channel order (ph, pw) for a
  // channel pad to complete them; otherwise compute all phases (the missing ones from zero sub-filters).
  if (!(h.phases === 1 || w.phases === w.stride)) {
    h.phases = h.stride;
    w.phases = w.stride;
  }
  const phases = h.phases * w.phases;
  const allPhases = h.stride * w.stride;

  const temps: Info[] = [];
  const step = (kernelName: string, stepInputs: tf.NamedTensorInfoMap, stepAttrs: tf.NamedAttrMap) => {
    const out = run(kernelName, backend, stepInputs, stepAttrs);
    temps.push(out);
    return out;
  };
  try {
    // The combined filter [M_h, M_w, co, phases·ci]: W[p + s·m] at (M − 1 − m, phase p). W padded with zero
    // taps to M·phases rows (when phases = s; when phases = k < s, M = 1 and nothing is added).
    let f: Info = filter;
    const [fh, fw] = [h.taps * h.phases, w.taps * w.phases];
    if (fh !== filterHeight || fw !== filterWidth) {
      f = step(tf.PadV2, { x: f }, { paddings: [[0, fh - filterHeight], [0, fw - filterWidth], [0, 0], [0, 0]], constantValue: 0 });
    }
    f = step(tf.Reshape, { x: f }, { shape: [h.taps, h.phases, w.taps, w.phases, ci, co] });
    const flip = [...(h.taps > 1 ? [0] : []), ...(w.taps > 1 ? [2] : [])];
    if (flip.length > 0) f = step(tf.Reverse, { x: f }, { dims: flip });
    f = step(tf.Transpose, { x: f }, { perm: [0, 2, 5, 1, 3, 4] }); // [M_h, M_w, co, ph, pw, ci]
    f = step(tf.Reshape, { x: f }, { shape: [h.taps, w.taps, co, phases * ci] });

    // dy rows/columns that no block reads (negative padding) are cut, keeping whole rows of W·co values.
    let x: Info = dy;
    const cut = [Math.max(0, -h.before), Math.max(0, -h.after), Math.max(0, -w.before), Math.max(0, -w.after)];
    if (cut.some((c) => c > 0)) {
      const [rows, cols] = [outHeight - cut[0] - cut[1], outWidth - cut[2] - cut[3]];
      x = step(tf.Reshape, { x }, { shape: [n, outHeight, outWidth * co] });
      x = step(tf.Slice, { x }, { begin: [0, cut[0], cut[2] * co], size: [n, rows, cols * co] });
      x = step(tf.Reshape, { x }, { shape: [n, rows, cols, co] });
    }
    let dx = step(tf.Conv2D, { x, filter: f }, {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [[0, 0], [Math.max(0, h.before), Math.max(0, h.after)], [Math.max(0, w.before), Math.max(0, w.after)], [0, 0]],
      dataFormat: 'NHWC',
    }); // [n, blocks_h, blocks_w, phases·ci]
    if (phases < allPhases) {
      dx = step(tf.PadV2, { x: dx }, { paddings: [[0, 0], [0, 0], [0, 0], [0, (allPhases - phases) * ci]], constantValue: 0 });
    }
    const [rows, cols] = [h.blocks * h.stride, w.blocks * w.stride];
    if (allPhases > 1) {
      // Interleave the phases: [n·blocks_h, blocks_w, s_h, s_w·ci] → [n·blocks_h, s_h, blocks_w, s_w·ci].
      // (wasm's DepthToSpace does this for s_h = s_w, but ~40× slower than this 4-D transpose.)
      dx = step(tf.Reshape, { x: dx }, { shape: [n * h.blocks, w.blocks, h.stride, w.stride * ci] });
      dx = step(tf.Transpose, { x: dx }, { perm: [0, 2, 1, 3] });
      dx = step(tf.Reshape, { x: dx }, { shape: [n, rows, cols, ci] });
    }
    if (h.offset !== 0 || w.offset !== 0 || rows !== inHeight || cols !== inWidth) {
      dx = step(tf.Reshape, { x: dx }, { shape: [n, rows, cols * ci] });
      dx = step(tf.Slice, { x: dx }, { begin: [0, h.offset, w.offset * ci], size: [n, inHeight, inWidth * ci] });
      dx = step(tf.Reshape, { x: dx }, { shape: [n, inHeight, inWidth, ci] });
    }
    return temps.pop() as Info; // dx, the last step: handed to the engine, not disposed
  } finally {
    // As above: each intermediate holds one reference to its data (reshapes and no-op transposes share
    // their input's data id and add a reference), so disposing each once frees exactly what was made.
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * Registers the kernels the wasm backend lacks or runs slowly and our layers need. Idempotent. Call it
 * after importing @tensorflow/tfjs-backend-wasm (backend.ts does): that import registers wasm's own
 * Conv2DBackpropInput, which would replace ours (with an "already registered" warning) if it came later.
 */
export function registerWasmKernels(): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') == null) {
    tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2dBackpropFilter as tf.KernelFunc });
  }
  // registerKernel over an existing registration replaces it but warns; unregister wasm's own first.
  const input = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  if (input?.kernelFunc !== (conv2dBackpropInput as tf.KernelFunc)) {
    if (input != null) tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
    tf.registerKernel({ kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: conv2dBackpropInput as tf.KernelFunc });
  }
  registerWasmDataMovementKernels();
}

/** The composed kernels, for tests and benchmarks to recognise them in the registry. */
export const composedKernels = {
  [tf.Conv2DBackpropFilter]: conv2dBackpropFilter as tf.KernelFunc,
  [tf.Conv2DBackpropInput]: conv2dBackpropInput as tf.KernelFunc,
} as const;
