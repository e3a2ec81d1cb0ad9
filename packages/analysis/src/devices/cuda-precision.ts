import { ConfigError } from '@sgdwalk/core';

/**
 * TF32 on the CUDA provider. onnxruntime-node forwards only `deviceId` to the CUDA provider
 * (js/node/src/session_options_helper.cc creates OrtCUDAProviderOptionsV2 with ORT's defaults), and ORT's
 * default is `use_tf32 = true`: cuBLAS MatMul/Gemm and cuDNN Conv with 10-bit mantissas. NVIDIA's libraries
 * read NVIDIA_TF32_OVERRIDE=0 and then never use TF32, whatever the caller asked: the one switch a Node
 * program has. It is read by cuBLAS/cuDNN in this process's environment (process.env writes through to
 * it), and taken to hold from the first CUDA session on, so it is settled once per process.
 */
export const TF32_OVERRIDE_ENV = 'NVIDIA_TF32_OVERRIDE';

/** analyze.tf32's default: off, so the CUDA provider's losses equal the CPU provider's (within 1e-5 relative). */
export const TF32_DEFAULT = false;

let settled: boolean | undefined;

/** Whether TF32 is allowed in this process's CUDA sessions: the setting made, else the default. */
export function cudaTf32(): boolean {
  return settled ?? TF32_DEFAULT;
}

/**
 * Allow or forbid TF32 for the CUDA sessions of this process. Asking for the other setting after a CUDA
 * session was opened is an error: cuBLAS and cuDNN may already have read the switch.
 */
export function allowCudaTf32(allowed: boolean): void {
  if (cudaSessionOpened && cudaTf32() !== allowed) {
    throw new ConfigError(`TF32 was ${cudaTf32() ? 'on' : 'off'} when this process opened its first CUDA session; it cannot change within a process`, undefined, 'analyze.tf32');
  }
  settled = allowed;
}

let cudaSessionOpened = false;

/** Called before a CUDA session is created: writes the switch into the environment the libraries read. */
export function applyCudaTf32(): void {
  if (cudaTf32()) delete process.env[TF32_OVERRIDE_ENV];
  else process.env[TF32_OVERRIDE_ENV] = '0';
  cudaSessionOpened = true;
}
