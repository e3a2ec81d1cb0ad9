/**
 * Kernels the wasm backend lacks, composed from kernels it has. The MLP needs none; convolutional models
 * (Conv2DBackpropFilter) register theirs here so a model never silently changes backend.
 */
export function registerMissingWasmKernels(): void {}
