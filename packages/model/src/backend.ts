import * as tf from '@tensorflow/tfjs';
import type { Logger } from '@sgdwalk/core';
import { SgdwalkError } from '@sgdwalk/core';
import { registerWasmKernels } from './wasm-kernels.js';
import { openWebGpu, type TrainingAdapter } from './webgpu-backend.js';

export type BackendRequest = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** The WebGPU adapter the webgpu backend runs on, once it is selected (run.json records its name). */
let adapter: TrainingAdapter | undefined;

/** The adapter of the current backend when it is webgpu (its name, whether it is a software one), else undefined. */
export function backendAdapter(): TrainingAdapter | undefined {
  return tf.getBackend() === 'webgpu' ? adapter : undefined;
}

/**
 * Loaders in order of preference. Each registers its backend with the shared tfjs engine, lazily. `auto`
 * tells a loader it may refuse a choice that works but is a poor one (a software WebGPU adapter).
 */
const loaders: Record<BackendName, (auto: boolean) => Promise<void>> = {
  // tfjs-node is an optionalDependency: its install downloads libtensorflow, which fails offline.
  // The module name is a variable so TypeScript does not require it to be installed.
  tensorflow: async () => {
    const name = '@tensorflow/tfjs-node';
    await import(name);
  },
  webgpu: async (auto) => {
    adapter = await openWebGpu();
    // The rule of the analysis' provider choice (core's isSoftwareAdapter): a CPU driver such as lavapipe
    // runs WebGPU correctly but slower than wasm, so `auto` passes it over; asked for by name, it is used.
    if (auto && adapter.software) throw new Error(`the adapter is a software one (${adapter.name}), slower than wasm`);
    await import('@tensorflow/tfjs-backend-webgpu');
  },
  wasm: async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    // wasm lacks kernels some layers need (conv2d's Conv2DBackpropFilter): register composed ones rather
    // than switch backend silently.
    registerWasmKernels();
  },
  cpu: async () => {}, // bundled with @tensorflow/tfjs
};

/** The CPU backend prints a banner recommending tfjs-node on first use; our log already says which backend runs. */
function silenceCpuBanner(): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if ('firstUse' in backend) backend.firstUse = false;
}

const ORDER: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/**
 * Pick the tfjs backend: tfjs-node when its native binding loads, else a hardware WebGPU adapter, else
 * WebAssembly, else pure-JS CPU; each one passed over is logged once with its reason. An explicit request
 * is honoured or fails loudly (never a silent switch); the choice is logged. `purpose` names the user in
 * the log line ("training", "sharpness"); `field` is the config field an unavailable explicit request is
 * blamed on. `asyncReads`: the caller reads tensors only with `await data()` (training and replay do);
 * WebGPU in Node has no synchronous read, so `auto` considers it only for such callers.
 */
export async function selectBackend(
  request: BackendRequest,
  log: Logger,
  opts: { purpose?: string; field?: string; asyncReads?: boolean } = {},
): Promise<BackendName> {
  const { purpose = 'training', field = 'train.backend', asyncReads = false } = opts;
  const candidates = request === 'auto' ? ORDER.filter((name) => name !== 'webgpu' || asyncReads) : [request];
  for (const name of candidates) {
    try {
      await loaders[name](request === 'auto');
      if (!(await tf.setBackend(name))) throw new Error('setBackend returned false');
      await tf.ready();
      if (name === 'cpu') silenceCpuBanner();
      log.info(`${purpose} backend: ${name}${name === 'webgpu' ? ` on ${adapter!.name}` : ''} (tfjs ${tf.version.tfjs})`);
      return name;
    } catch (e) {
      const reason = (e as Error).message.split('\n')[0];
      if (request !== 'auto') throw new SgdwalkError(`backend "${name}" is not available here: ${reason}`, 'backend', { field });
      log.info(`backend ${name} unavailable (${reason}); trying the next one`);
    }
  }
  throw new SgdwalkError('no TensorFlow.js backend could be loaded', 'backend');
}

export { tf };
