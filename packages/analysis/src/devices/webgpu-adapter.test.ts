import { describe, expect, it } from 'vitest';
import { isSoftwareAdapter } from './webgpu-adapter.js';

describe('software (CPU) WebGPU adapters', () => {
  const info = (description: string, more: Partial<Parameters<typeof isSoftwareAdapter>[0]> = {}) => ({ vendor: '', architecture: '', device: '', description, ...more });

  it('are named CPU drivers, or flagged as fallback adapters', () => {
    // what Dawn reports for Mesa's lavapipe (architecture "software", not flagged on every Dawn)
    expect(isSoftwareAdapter(info('llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', { vendor: 'mesa', device: 'llvmpipe-llvm-15-0-6-256-bits-' }))).toBe(true);
    expect(isSoftwareAdapter(info('', { vendor: 'mesa', architecture: 'software' }))).toBe(true);
    expect(isSoftwareAdapter(info('SwiftShader Device (Subzero)', { vendor: 'google' }))).toBe(true);
    expect(isSoftwareAdapter(info('Microsoft Basic Render Driver', { isFallbackAdapter: true }))).toBe(true);
  });

  it('are not GPUs', () => {
    expect(isSoftwareAdapter(info('NVIDIA H200', { vendor: 'nvidia', architecture: 'hopper', isFallbackAdapter: false }))).toBe(false);
    expect(isSoftwareAdapter(info('AMD Radeon RX 7900 XTX (RADV NAVI31)', { vendor: 'amd', architecture: 'rdna-3' }))).toBe(false);
    expect(isSoftwareAdapter(info('Intel(R) Arc(tm) A770 Graphics (DG2)', { vendor: 'intel', architecture: 'xe-hpg' }))).toBe(false);
  });
});
