import { describe, expect, it } from 'vitest';
import { floorSegments, lagLines } from '../metrics/barrier-lines.js';
import { segmentAlphas } from '../metrics/barriers.js';
import { consecutivePairs } from '../metrics/pairs.js';
import { remember, type KnownLines } from './known-lines.js';
import { lineJobFor, lineKeys, planJobs, planLines, plannedKey, type LinePlan } from './line-jobs.js';

/**
 * The one plan of lines: the embedded pass walks it and the queue sends its jobs, so both evaluate the same
 * lines, in the same order, each α value once.
 */

const steps = [0, 1, 2, 3, 4, 5];
const alphas = [0, 0.5, 1, 1.5];
const hashOf = (step: number) => `sha-of-${step}`;

function plan(): LinePlan {
  const pairs = consecutivePairs(steps);
  return planLines({
    pairs, floorSteps: floorSegments(pairs), lagLines: lagLines(steps, [1, 2], 1), alphas, lineAlphas: segmentAlphas(alphas),
    keys: lineKeys(hashOf, 'eval-set', { bnMode: 'batch', evalBatchSize: 8 }, alphas), convexityTolerance: 0,
  });
}

/** A curve with its minimum at α = 0.5 (so every pair has a finite α*). */
const bowl = (grid: readonly number[]) => ({ lossPerAlpha: Float64Array.from(grid, (a) => (a - 0.5) ** 2 + 1), accuracyPerAlpha: Float64Array.from(grid, () => 0.5) });

describe('the plan of lines', () => {
  it('orders every line by the latest step it touches: a pair, then the floor segment ending there, then lag lines (as lagLines lists them)', () => {
    const order = plan().lines.map((line) => (line.kind === 'pair' ? `pair ${line.pair.stepB}` : line.kind === 'floor' ? `floor ${line.step}` : `lag ${line.line.start}+${line.line.k}`));
    expect(order).toEqual([
      'pair 1', 'lag 0+1',
      'pair 2', 'floor 1', 'lag 0+2', 'lag 1+1',
      'pair 3', 'floor 2', 'lag 1+2', 'lag 2+1',
      'pair 4', 'floor 3', 'lag 2+2', 'lag 3+1',
      'pair 5', 'floor 4', 'lag 3+2', 'lag 4+1',
    ]);
  });

  it('the queue\'s rounds send each missing α value once: a lag line that is a pair only what the pair lacks', () => {
    const p = plan();
    const known: KnownLines = new Map();
    const first = planJobs(p, known, (line) => line.kind !== 'floor');
    // Pairs (0,1)…(4,5) on the pairs' grid; the k = 1 lag lines are the same lines, on a grid inside the
    // pairs' (α in [0, 1]), so they add nothing; the k = 2 lag lines are new lines on the barrier grid.
    const expected = p.lines.filter((l) => l.kind === 'pair' || (l.kind === 'lag' && l.line.k === 2));
    expect(first.map((job) => job.key)).toEqual(expected.map((l) => plannedKey(p, l)));
    expect(first.map((job) => job.alphas)).toEqual(expected.map((l) => (l.kind === 'pair' ? alphas : segmentAlphas(alphas))));
    expect(new Set(first.map((job) => `${job.key} ${job.alphas.join(',')}`)).size).toBe(first.length);
    // Floor segments need their pairs' curves: none can be planned before they are known.
    expect(() => planJobs(p, known, (line) => line.kind === 'floor')).toThrow(/has no value at α/);
    for (const job of first) remember(known, job.key, job.alphas, bowl(job.alphas));
    const floors = planJobs(p, known, (line) => line.kind === 'floor');
    expect(floors.map((job) => job.ends)).toEqual([1, 2, 3, 4].map((t) => [{ from: t - 1, to: t, alpha: 0.5 }, { from: t, to: t + 1, alpha: 0.5 }]));
    // With every value known, the embedded pass finds nothing to evaluate.
    for (const job of floors) remember(known, job.key, job.alphas, bowl(job.alphas));
    expect(p.lines.map((line) => lineJobFor(p, line, known))).toEqual(p.lines.map(() => undefined));
  });

  it('a line\'s key holds its ends, the evaluation set and the keyed settings, not the α grid', () => {
    const keys = lineKeys(hashOf, 'eval-set', { bnMode: 'batch', evalBatchSize: 8 }, alphas);
    expect(keys.line(1, 2)).toBe(lineKeys(hashOf, 'eval-set', { bnMode: 'batch', evalBatchSize: 8 }, [0, 1]).line(1, 2));
    expect(keys.line(1, 2)).not.toBe(lineKeys(hashOf, 'other-set', { bnMode: 'batch', evalBatchSize: 8 }, alphas).line(1, 2));
    expect(keys.line(1, 2)).not.toBe(lineKeys(hashOf, 'eval-set', { bnMode: 'running', evalBatchSize: 8 }, alphas).line(1, 2));
    expect(keys.line(1, 2)).not.toBe(lineKeys(hashOf, 'eval-set', { bnMode: 'batch', evalBatchSize: 16 }, alphas).line(1, 2));
    // TF32 on (CUDA's 10-bit mantissas) keeps its values apart; off is the key every earlier analysis stored.
    expect(keys.line(1, 2)).not.toBe(lineKeys(hashOf, 'eval-set', { bnMode: 'batch', evalBatchSize: 8, tf32: true }, alphas).line(1, 2));
    expect(keys.line(1, 2)).toBe(lineKeys(hashOf, 'eval-set', { bnMode: 'batch', evalBatchSize: 8, tf32: false }, alphas).line(1, 2));
    // A floor segment's ends are located on the pairs' grid: another grid, another key.
    expect(keys.floor(2)).not.toBe(lineKeys(hashOf, 'eval-set', { bnMode: 'batch', evalBatchSize: 8 }, [0, 1]).floor(2));
    const p = plan();
    const pair = p.lines.find((l) => l.kind === 'pair' && l.pair.stepB === 2)!;
    expect(plannedKey(p, pair)).toBe(keys.line(1, 2));
  });
});
