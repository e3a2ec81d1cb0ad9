import { isSoftwareAdapter } from '@sgdwalk/core';

/** The adapter TensorFlow.js's WebGPU backend trains on, as Dawn names it. */
export interface TrainingAdapter {
  /** The driver's description, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" or "NVIDIA H100 80GB HBM3". */
  name: string;
  /** A CPU driver (lavapipe, SwiftShader, WARP): core's isSoftwareAdapter, the analysis' rule too. */
  software: boolean;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<null | { info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean } }>;
}

/**
 * Make WebGPU available to TensorFlow.js in Node: Dawn's binding (the `webgpu` package) installed as
 * `navigator.gpu` with its globals (GPUBufferUsage, …), as in a browser, once per process. Then ask for the
 * adapter the tfjs backend will take (its request: power preference high-performance) to name it.
 * Throws with the reason when there is none (no Vulkan, Metal or D3D12 driver).
 */
export async function openWebGpu(): Promise<TrainingAdapter> {
  const holder = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  if (!holder.navigator?.gpu) {
    const { create, globals } = (await import('webgpu')) as unknown as { create: (flags: string[]) => GpuLike; globals: object };
    Object.assign(globalThis, globals);
    // Node ≥ 21 has its own navigator (without gpu) as a getter: define the property rather than assign it.
    Object.defineProperty(globalThis, 'navigator', { value: { ...(holder.navigator ?? {}), gpu: create([]) }, configurable: true, writable: true });
  }
  const found = await holder.navigator!.gpu!.requestAdapter({ powerPreference: 'high-performance' });
  if (!found) throw new Error('Dawn finds no WebGPU adapter (no Vulkan, Metal or D3D12 driver)');
  const { info } = found;
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unnamed adapter';
  return { name, software: isSoftwareAdapter(info) };
}
