import { pixelsPerImage, type DatasetMeta, type SplitData } from './prepared.js';

/**
 * uint8 pixels → normalised float32, one batch at a time: the dataset itself stays uint8, so there is
 * never a float32 copy of a whole split.
 */

/**
 * (x/255 − mean[c]) / std[c] for every byte x and channel c, computed once in double precision and rounded
 * to float32: a table lookup is both faster than the arithmetic and exactly the formula's value. Building
 * it (256 entries per channel) costs less than one image, so it is rebuilt per call rather than cached.
 */
function normalizationTable(meta: Pick<DatasetMeta, 'normalization'>): Float32Array {
  const { mean, std } = meta.normalization;
  const table = new Float32Array(256 * mean.length);
  for (let c = 0; c < mean.length; c++) {
    for (let x = 0; x < 256; x++) table[c * 256 + x] = (x / 255 - mean[c]) / std[c];
  }
  return table;
}

function checkIndex(index: number, count: number): void {
  if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new RangeError(`example index ${index} outside the split's 0..${count - 1}`);
}

/**
 * Gather the images at `indices` (in that order) as a [indices.length, H·W·C] row-major float32 matrix,
 * normalised per channel (the channel is the last axis). `out`, when given, is reused (it must hold at
 * least indices.length rows; the result is its first indices.length rows).
 */
export function toFloat32(split: SplitData, indices: ArrayLike<number>, meta: DatasetMeta, out?: Float32Array): Float32Array {
  const row = pixelsPerImage(meta);
  const channels = meta.imageShape[2];
  const n = indices.length;
  if (out && out.length < n * row) throw new RangeError(`output buffer holds ${out.length} floats, ${n} rows of ${row} need ${n * row}`);
  const result = out ? (out.length === n * row ? out : out.subarray(0, n * row)) : new Float32Array(n * row);
  const table = normalizationTable(meta);
  const { images } = split;
  for (let i = 0; i < n; i++) {
    const index = indices[i];
    checkIndex(index, split.count);
    const src = index * row;
    const dst = i * row;
    if (channels === 1) {
      for (let j = 0; j < row; j++) result[dst + j] = table[images[src + j]];
    } else {
      for (let j = 0; j < row; j++) result[dst + j] = table[(j % channels) * 256 + images[src + j]];
    }
  }
  return result;
}

/** The labels at `indices`, in that order, as class indices. */
export function labelsOf(split: SplitData, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    checkIndex(indices[i], split.count);
    out[i] = split.labels[indices[i]];
  }
  return out;
}
