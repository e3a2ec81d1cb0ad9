import type { AnalyzeConfig } from '@sgdwalk/core';

/** What the analyze config may ask for: a provider by name, or 'auto'. */
export type ProviderChoice = AnalyzeConfig['provider'];

/** The order 'auto' tries: a CUDA GPU, else WebGPU (Vulkan/Metal/D3D12 through Dawn), else the CPU. */
export const AUTO_PROVIDER_ORDER: readonly string[] = ['cuda', 'webgpu', 'cpu'];

/** The execution providers to try, in order, for a config choice. */
export function providerCandidates(choice: ProviderChoice): readonly string[] {
  return choice === 'auto' ? AUTO_PROVIDER_ORDER : [choice];
}
