import { describe, expect, it } from 'vitest';
import { channelHistogram, normalizationFromHistogram } from './channel-stats.js';

describe('per-channel normalisation constants from uint8 pixels', () => {
  it('a hand-computed example: two RGB pixels', () => {
    // HWC: pixel 0 = (0, 51, 255), pixel 1 = (255, 153, 255).
    const images = new Uint8Array([0, 51, 255, 255, 153, 255]);
    const { mean, std } = normalizationFromHistogram(channelHistogram(images, 3), 3);
    // R: {0, 1} → mean 0.5, std 0.5. G: {0.2, 0.6} → mean 0.4, std 0.2. B: {1, 1} → constant → std 1.
    expect(mean[0]).toBeCloseTo(0.5, 15);
    expect(std[0]).toBeCloseTo(0.5, 15);
    expect(mean[1]).toBeCloseTo(0.4, 15);
    expect(std[1]).toBeCloseTo(0.2, 15);
    expect(mean[2]).toBe(1);
    expect(std[2]).toBe(1);
  });

  it('one channel: the population mean and std of x/255', () => {
    const images = new Uint8Array([0, 255, 255, 255]); // {0, 1, 1, 1}: mean 0.75, variance 0.1875
    const { mean, std } = normalizationFromHistogram(channelHistogram(images, 1), 1);
    expect(mean).toEqual([0.75]);
    expect(std[0]).toBeCloseTo(Math.sqrt(0.1875), 15);
  });

  it('equals the direct computation on random data, and accumulating block by block changes nothing', () => {
    const images = new Uint8Array(3 * 1000);
    let s = 12345;
    for (let i = 0; i < images.length; i++) images[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    const whole = normalizationFromHistogram(channelHistogram(images, 3), 3);
    const blocks = new Float64Array(3 * 256);
    for (let i = 0; i < images.length; i += 3 * 70) channelHistogram(images.subarray(i, Math.min(i + 3 * 70, images.length)), 3, blocks);
    expect(normalizationFromHistogram(blocks, 3)).toEqual(whole);
    for (let c = 0; c < 3; c++) {
      const xs = Array.from({ length: 1000 }, (_, i) => images[3 * i + c] / 255);
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
      expect(whole.mean[c]).toBeCloseTo(m, 12);
      expect(whole.std[c]).toBeCloseTo(sd, 12);
    }
  });

  it('refuses bytes that are not whole pixels', () => {
    expect(() => channelHistogram(new Uint8Array(4), 3)).toThrow('4 bytes are not whole pixels of 3 channels');
  });
});
