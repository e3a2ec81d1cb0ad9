import * as tf from '@tensorflow/tfjs';
import type { Logger } from '@sgdwalk/core';
import { SgdwalkError } from '@sgdwalk/core';
import { registerWasmKernels } from './wasm-kernels.js';

export type BackendRequest = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Loaders in order of preference. Each registers its backend with the shared tfjs engine, lazily. */
const loaders: Record<BackendName, () => Promise<void>> = {
  // tfjs-node is an optionalDependency: its install downloads libtensorflow, which fails offline.
  // The module name is a variable so TypeScript does not require it to be installed.
  tensorflow: async () => {
    const name = '@tensorflow/tfjs-node';
    await import(name);
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

const ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/**
 * Pick the tfjs backend: tfjs-node when its native binding loads, else WebAssembly, else pure-JS CPU.
 * An explicit request is honoured or fails loudly (never a silent switch); the choice is logged.
 * `purpose` names the user in the log line ("training", "sharpness"); `field` is the config field an
 * unavailable explicit request is blamed on.
 */
export async function selectBackend(
  request: BackendRequest,
  log: Logger,
  opts: { purpose?: string; field?: string } = {},
): Promise<BackendName> {
  const { purpose = 'training', field = 'train.backend' } = opts;
  const candidates = request === 'auto' ? ORDER : [request];
  for (const name of candidates) {
    try {
      await loaders[name]();
      if (!(await tf.setBackend(name))) throw new Error('setBackend returned false');
      await tf.ready();
      if (name === 'cpu') silenceCpuBanner();
      log.info(`${purpose} backend: ${name} (tfjs ${tf.version.tfjs})`);
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
