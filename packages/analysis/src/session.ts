import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { SgdwalkError, silentLogger, type Logger } from '@sgdwalk/core';
import { providerCandidates, type ProviderChoice } from './providers.js';

/** The ONNX Runtime version the analysis runs on, for manifests. */
export const ONNXRUNTIME_VERSION: string = ort.env.versions.node ?? ort.env.versions.common;

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The execution provider the session was created with. */
  provider: string;
}

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
 * Create a session on the first provider that works. Creating one with an absent provider throws in
 * onnxruntime-node: each failure is logged as a warning naming the provider and the reason, and the next
 * candidate is tried. Only when every candidate fails is it an error.
 */
export async function openSession(model: Uint8Array, opts: OpenSessionOptions = {}): Promise<OpenedSession> {
  const log = opts.log ?? silentLogger;
  const choice = opts.provider ?? 'auto';
  const candidates = opts.candidates ?? providerCandidates(choice);
  quietRuntimeLogging();
  const failures: string[] = [];
  for (const [index, provider] of candidates.entries()) {
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: availableParallelism(),
        ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
      });
      return { session, provider };
    } catch (error) {
      const reason = firstLine(error);
      failures.push(`${provider}: ${reason}`);
      const next = candidates[index + 1];
      log.warn(`execution provider ${provider} is not available (${reason})${next ? `; trying ${next}` : ''}`);
    }
  }
  throw new SgdwalkError(
    `no execution provider could run the analysis graph (${failures.join('; ')})`,
    'provider',
    { field: 'analyze.provider' },
  );
}
