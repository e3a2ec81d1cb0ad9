import { describe, expect, it } from 'vitest';
import { parseAnalyzeSection } from '@sgdwalk/core';
import { allowCudaTf32, applyCudaTf32, cudaTf32, TF32_OVERRIDE_ENV } from './cuda-precision.js';

describe('analyze.tf32', () => {
  it('defaults to off and takes only a boolean', () => {
    expect(parseAnalyzeSection({}).tf32).toBe(false);
    expect(parseAnalyzeSection({ tf32: true }).tf32).toBe(true);
    expect(() => parseAnalyzeSection({ tf32: 'yes' }, 'p.json')).toThrow(/p\.json: field "analyze\.tf32"/);
  });

  it('is written into the environment NVIDIA\'s libraries read, and settled by the first CUDA session', () => {
    delete process.env[TF32_OVERRIDE_ENV];
    expect(cudaTf32()).toBe(false);
    allowCudaTf32(true);
    allowCudaTf32(false);
    applyCudaTf32();
    expect(process.env[TF32_OVERRIDE_ENV]).toBe('0');
    // the same setting again is fine; the other one, after a CUDA session, is an error naming the field
    allowCudaTf32(false);
    expect(() => allowCudaTf32(true)).toThrow('field "analyze.tf32": TF32 was off when this process opened its first CUDA session; it cannot change within a process');
    expect(cudaTf32()).toBe(false);
  });
});
