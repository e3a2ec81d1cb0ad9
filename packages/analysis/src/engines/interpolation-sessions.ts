import type * as ort from 'onnxruntime-node';
import type { Logger, ModelSpec, ParameterLayout } from '@sgdwalk/core';
import { hasImageLayers, lowerInterpolationModel, type BatchNormMode } from '@sgdwalk/onnx';
import type { ProviderChoice } from '../devices/providers.js';
import { openSession } from '../devices/session.js';

/**
 * The interpolation graph's sessions, one per α count where the graph needs it. A graph of dense layers
 * takes any α count, so one session serves every chunk of the grid. A graph with image layers is built for
 * one α count (the α networks are the groups of a grouped Conv, and ONNX's group is an attribute), so it
 * gets a session per chunk length, opened when first needed; the few most recently used stay open (a pass
 * meets only a handful of lengths: the grid's, its remainder's, those of partly known lines).
 */
export interface InterpolationSessions {
  readonly provider: string;
  /** What the provider runs on (see OpenedSession.device). */
  readonly device: string;
  /** Graph input names (the same for every α count). */
  readonly inputNames: readonly string[];
  /** A session evaluating `alphaCount` networks per run. Not safe to call while a run of another count is in flight. */
  forAlphas(alphaCount: number): Promise<ort.InferenceSession>;
  release(): Promise<void>;
}

export interface InterpolationSessionOptions {
  model: ModelSpec;
  layout: ParameterLayout;
  bnMode: BatchNormMode;
  provider?: ProviderChoice;
  log?: Logger;
  /** ONNX Runtime's intra-op spin-waiting (see OpenSessionOptions.spinning). */
  spinning?: boolean;
}

/** Sessions of fixed-α-count graphs kept open at once (each holds its own memory arena). */
export const FIXED_ALPHA_SESSIONS_KEPT = 3;

export async function openInterpolationSessions(opts: InterpolationSessionOptions, kept = FIXED_ALPHA_SESSIONS_KEPT): Promise<InterpolationSessions> {
  const { model, layout, bnMode, log, spinning } = opts;
  if (!hasImageLayers(model)) {
    const { session, provider, device } = await openSession(lowerInterpolationModel(model, layout, bnMode), { provider: opts.provider, log, spinning });
    return { provider, device, inputNames: session.inputNames, forAlphas: async () => session, release: () => session.release() };
  }
  // The provider is chosen with the one-network graph; later α counts open on the same provider.
  const first = await openSession(lowerInterpolationModel(model, layout, bnMode, 1), { provider: opts.provider, log, spinning });
  /** Open sessions by α count, least recently used first (Map keeps insertion order). */
  const open = new Map<number, ort.InferenceSession>([[1, first.session]]);
  return {
    provider: first.provider,
    device: first.device,
    inputNames: first.session.inputNames,
    async forAlphas(alphaCount) {
      let session = open.get(alphaCount);
      if (session) {
        open.delete(alphaCount);
      } else {
        session = (await openSession(lowerInterpolationModel(model, layout, bnMode, alphaCount), { candidates: [first.provider], log, spinning })).session;
        while (open.size >= kept) {
          const [oldest, stale] = open.entries().next().value!;
          open.delete(oldest);
          await stale.release();
        }
      }
      open.set(alphaCount, session);
      return session;
    },
    async release() {
      for (const session of open.values()) await session.release();
      open.clear();
    },
  };
}
