/**
 * Per-channel normalisation constants from uint8 pixels, without a float copy of the data: a histogram of
 * the 256 byte values per channel is all the mean and the standard deviation need, it accumulates one
 * block of images at a time, and its sums are exact integers, so the result does not depend on the order
 * or the blocking of the data.
 */

/** 256 counts per channel, channel-major; the channel of byte j of an HWC image is j mod C. */
export function channelHistogram(images: Uint8Array, channels: number, into = new Float64Array(256 * channels)): Float64Array {
  if (into.length !== 256 * channels) throw new RangeError(`histogram holds ${into.length} counts, ${channels} channels need ${256 * channels}`);
  if (images.length % channels !== 0) throw new RangeError(`${images.length} bytes are not whole pixels of ${channels} channels`);
  // Counts are float64: exact integers up to 2^53, far more pixels than fit in memory.
  if (channels === 1) {
    for (let i = 0; i < images.length; i++) into[images[i]]++;
  } else {
    for (let i = 0; i < images.length; i += channels) {
      for (let c = 0; c < channels; c++) into[c * 256 + images[i + c]]++;
    }
  }
  return into;
}

/**
 * Mean and (population) standard deviation of x/255 per channel, the constants of (x/255 − mean) / std.
 * Two passes over the 256 bins: the mean, then the squared deviations from it (no cancellation).
 * A constant channel gets std 1, so normalising it subtracts the mean and never divides by zero.
 */
export function normalizationFromHistogram(histogram: Float64Array, channels: number): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const bins = histogram.subarray(c * 256, (c + 1) * 256);
    let n = 0;
    let sum = 0;
    for (let x = 0; x < 256; x++) {
      n += bins[x];
      sum += bins[x] * x;
    }
    if (n === 0) throw new RangeError(`no pixels in channel ${c}: cannot compute its mean`);
    const m = sum / n;
    let squares = 0;
    for (let x = 0; x < 256; x++) squares += bins[x] * (x - m) * (x - m);
    const s = Math.sqrt(squares / n) / 255;
    mean.push(m / 255);
    std.push(s > 0 ? s : 1);
  }
  return { mean, std };
}
