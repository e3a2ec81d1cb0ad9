/**
 * Whether a WebGPU adapter is a software one: the one rule for it, shared by training's backend choice
 * (@sgdwalk/model) and the analysis' provider choice (moved here from analysis/devices/webgpu-adapter.ts,
 * unchanged). A driver that runs on the CPU (Mesa's lavapipe/llvmpipe, SwiftShader, WARP) runs real
 * shader code, but slower than the CPU paths, so `auto` never picks it.
 */

/** Names of CPU drivers, for adapters that do not flag themselves as fallback adapters. */
const SOFTWARE_DRIVERS = /llvmpipe|lavapipe|swiftshader|warp|software/i;

export function isSoftwareAdapter(info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }): boolean {
  return info.isFallbackAdapter === true || SOFTWARE_DRIVERS.test([info.architecture, info.device, info.description].join(' '));
}
