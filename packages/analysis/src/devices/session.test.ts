import { describe, expect, it } from 'vitest';
import { SgdwalkError, mlpSpec, parameterLayout, type Logger } from '@sgdwalk/core';
import { lowerModel } from '@sgdwalk/onnx';
import { AUTO_PROVIDER_ORDER, providerCandidates } from './providers.js';
import { openSession } from './session.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, warn: (message) => warnings.push(message), progress() {} };
}

const spec = mlpSpec([3], { inputShape: [2], classes: 2 });
const model = lowerModel(spec, parameterLayout(spec), 'batch');

describe('execution providers', () => {
  it('tries cuda, then webgpu, then cpu for auto; a forced choice alone', () => {
    expect(providerCandidates('auto')).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(providerCandidates('webgpu')).toEqual(['webgpu']);
  });

  it('falls back past an unavailable provider, logs which failed and why, and records the one used', async () => {
    const log = recordingLogger();
    const { session, provider } = await openSession(model, { candidates: ['no-such-provider', 'cpu'], log });
    await session.release();
    expect(provider).toBe('cpu');
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/no-such-provider is not available \(.+\); trying cpu/);
  });

  it('auto warns once for each provider it passes over, in order', async () => {
    const log = recordingLogger();
    const { session, provider } = await openSession(model, { provider: 'auto', log });
    await session.release();
    const passedOver = AUTO_PROVIDER_ORDER.slice(0, AUTO_PROVIDER_ORDER.indexOf(provider));
    // Without a GPU and the CUDA libraries (this machine) that is cuda and webgpu (no adapter, or a CPU
    // driver such as lavapipe, which auto passes over), ending on cpu.
    expect(log.warnings.map((w) => w.split(' ')[2])).toEqual(passedOver);
  });

  it('fails with one message naming every provider when none works', async () => {
    const attempt = openSession(model, { candidates: ['no-such-provider'], log: recordingLogger() });
    await expect(attempt).rejects.toBeInstanceOf(SgdwalkError);
    await expect(attempt).rejects.toThrow(/no execution provider could run the analysis graph \(no-such-provider: /);
  });
});
