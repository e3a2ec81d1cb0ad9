import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CheckpointError, mlpSpec, parameterLayout, Rng, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';

/** Shared by the package's tests: temporary folders, small models, random states, error assertions. */

const dirs: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-checkpoints-'));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export interface RunMeta {
  runId: string;
  model: ModelSpec;
  layout: ParameterLayout;
}

/** 52 floats: dense 3→5, batch norm (with its two buffers), dense 5→2. */
export function smallMeta(runId = 'run-a', hidden = 5): RunMeta {
  const model = mlpSpec([hidden], { inputShape: [3], classes: 2, name: 'tiny' });
  return { runId, model, layout: parameterLayout(model) };
}

/** About 23k floats (92 KB a state): big enough that one batch is a small part of a shard. */
export function mediumMeta(runId = 'run-m'): RunMeta {
  const model = mlpSpec([200], { inputShape: [100], classes: 10, name: 'medium' });
  return { runId, model, layout: parameterLayout(model) };
}

/** Values a lossy path would change: signed zeros, subnormals, extremes, infinities, NaN payloads. */
export const SPECIAL_BITS = [
  0x00000000, 0x80000000, // +0, -0
  0x00000001, 0x807fffff, 0x00400000, // subnormals: smallest, largest negative, middle
  0x00800000, 0x7f7fffff, 0xff7fffff, // smallest normal, ±largest finite
  0x7f800000, 0xff800000, // ±Infinity
  0x7fc00000, 0x7fc00001, 0xffc12345, 0x7f800001, // quiet NaNs with payloads, a signalling NaN
  0x3f800000, 0x0da24260, 0x7149f2ca, // 1, 1e-30, 1e30
];

/** A state of `n` floats: the special values first, then uniformly random bit patterns. */
export function randomState(n: number, seed: number): Float32Array {
  const bits = new Uint32Array(n);
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) bits[i] = i < SPECIAL_BITS.length ? SPECIAL_BITS[i] : rng.nextUint32();
  return new Float32Array(bits.buffer);
}

/** The raw bits, so NaN payloads and -0 compare exactly. */
export function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

export async function expectCheckpointError(
  action: Promise<unknown> | (() => unknown),
  expected: { file: string; step?: number; message: RegExp },
): Promise<CheckpointError> {
  let error: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a CheckpointError').toBeInstanceOf(CheckpointError);
  const err = error as CheckpointError;
  expect(err.message).toMatch(expected.message);
  expect(err.where.file).toBe(expected.file);
  expect(err.where.step).toBe(expected.step);
  return err;
}
