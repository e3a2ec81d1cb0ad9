import { availableParallelism, cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { ConfigError, SgdwalkError, silentLogger, type Logger } from '@sgdwalk/core';
import { providerCandidates, type ProviderChoice } from './providers.js';
import { probeWebGpuAdapter } from './webgpu-adapter.js';
import { applyCudaTf32 } from './cuda-precision.js';

/** The ONNX Runtime version the analysis runs on, for manifests. */
export const ONNXRUNTIME_VERSION: string = ort.env.versions.node ?? ort.env.versions.common;

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The execution provider the session was created with. */
  provider: string;
  /** What the provider runs on: the CPU's model, the WebGPU adapter's name, the CUDA device. */
  device: string;
}

/**
 * How many intra-op threads each session gets: every core, unless this process was told its share. A queue
 * worker running N jobs at once gives each job child cores / N, so N sessions do not fight over the cores.
 * A deployment setting of the machine, never part of a config or a cache key (the numbers do not depend
 * on it).
 */
export const THREADS_ENV = 'SGDWALK_THREADS';

function intraOpThreads(): number {
  const told = process.env[THREADS_ENV];
  if (told === undefined || told === '') return availableParallelism();
  const threads = Number(told);
  if (!(Number.isInteger(threads) && threads >= 1)) throw new ConfigError(`must be a whole number ≥ 1, got "${told}"`, undefined, THREADS_ENV);
  return threads;
}

/** Where a session leaves each named output: in host memory (the default) or in a device buffer. */
export type OutputLocations = Record<string, 'cpu' | 'gpu-buffer'>;

export interface OpenSessionOptions {
  /** The config's choice; default 'auto'. */
  provider?: ProviderChoice;
  /** Providers to try in order, overriding the choice (a second session on the provider already chosen). */
  candidates?: readonly string[];
  log?: Logger;
  /**
   * Whether ONNX Runtime's intra-op threads spin while waiting for work (its default, true). Spinning saves
   * the wake-up of a sleeping thread on each parallel op, and costs the CPU time it burns: on cores shared
   * with other processes, spinning threads take time slices from the thread that has the work.
   */
  spinning?: boolean;
  /**
   * Outputs to leave on the device when the session runs on WebGPU (the only provider whose device
   * buffers onnxruntime-node hands back: `gpu-buffer` tensors); ignored on other providers.
   */
  outputLocations?: OutputLocations;
}

let runtimeLoggingQuieted = false;

/**
 * ORT prints its own error line when a provider library is missing; the failure also comes back as the
 * exception we report through the Logger, so its native log is limited to fatal errors. A level the
 * caller set before (anything but the default) is kept.
 */
function quietRuntimeLogging(): void {
  if (runtimeLoggingQuieted) return;
  runtimeLoggingQuieted = true;
  if (ort.env.logLevel === 'warning') ort.env.logLevel = 'fatal';
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0].trim();
}

/**
 * Whether a candidate can be used, and on what. `auto` passes over a WebGPU adapter that is a CPU driver
 * (lavapipe, SwiftShader: measured about 7× slower than the CPU provider) or that cannot be named; asked
 * for by name, WebGPU runs on whatever adapter Dawn offers, and the adapter is named.
 */
async function deviceOf(provider: string, auto: boolean): Promise<{ device: string } | { skip: string }> {
  if (provider === 'cpu') return { device: cpus()[0]?.model.trim() || 'CPU' };
  if (provider === 'cuda') return { device: 'CUDA device 0' };
  if (provider !== 'webgpu') return { device: provider };
  const probe = await probeWebGpuAdapter();
  if (!probe.found) return auto ? { skip: `${probe.reason}; auto uses WebGPU only on an adapter it can name` } : { device: 'unnamed WebGPU adapter' };
  if (auto && probe.adapter.software) {
    return { skip: `its adapter is ${probe.adapter.name}, a CPU (software) driver, slower than the CPU provider; ask for "webgpu" by name to use it` };
  }
  return { device: probe.adapter.name };
}

/** Fallback warnings each logger has had: a stage opens several sessions, each of which would repeat them. */
const warned = new WeakMap<Logger, Set<string>>();

function warnOnce(log: Logger, message: string): void {
  const seen = warned.get(log) ?? new Set<string>();
  warned.set(log, seen);
  if (seen.has(message)) return;
  seen.add(message);
  log.warn(message);
}

/**
 * Create a session on the first provider that works. Creating one with an absent provider throws in
 * onnxruntime-node: each failure is logged as a warning naming the provider and the reason (once per
 * logger), and the next candidate is tried. Only when every candidate fails is it an error.
 */
export async function openSession(model: Uint8Array, opts: OpenSessionOptions = {}): Promise<OpenedSession> {
  const log = opts.log ?? silentLogger;
  const choice = opts.provider ?? 'auto';
  const candidates = opts.candidates ?? providerCandidates(choice);
  const auto = opts.candidates === undefined && choice === 'auto';
  quietRuntimeLogging();
  const failures: string[] = [];
  for (const [index, provider] of candidates.entries()) {
    const next = candidates[index + 1];
    const skipped = (reason: string) => {
      failures.push(`${provider}: ${reason}`);
      warnOnce(log, `execution provider ${provider} is not available (${reason})${next ? `; trying ${next}` : ''}`);
    };
    const target = await deviceOf(provider, auto);
    if ('skip' in target) {
      skipped(target.skip);
      continue;
    }
    try {
      if (provider === 'cuda') applyCudaTf32();
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: intraOpThreads(),
        ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
        ...(provider === 'webgpu' && opts.outputLocations ? { preferredOutputLocation: opts.outputLocations } : {}),
      });
      return { session, provider, device: target.device };
    } catch (error) {
      skipped(firstLine(error));
    }
  }
  throw new SgdwalkError(
    `no execution provider could run the analysis graph (${failures.join('; ')})`,
    'provider',
    { field: 'analyze.provider' },
  );
}
