import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAnalysisSummary, parseSurfaceMetadata, type AnalysisSummary, type SurfaceSummary } from './analysis-summary.js';
import { CheckpointError, SgdwalkError } from './errors.js';
import { readJsonFile } from './json-file.js';

const line: SurfaceSummary = {
  id: 'init-line', kind: 'line', centre: 0, towards: [20], explainedVariance: null, directionNorms: [3.5, NaN], gridSize: [9, 1],
  aRange: [-0.5, 1.5], bRange: [0, 0], examples: 200, centreLoss: 2.3, minLoss: 0.4, minAt: { a: 1, b: 0 }, key: 'k1', pointsComputed: 9, pointsReused: 0,
};
const pca: SurfaceSummary = { ...line, id: 'pca', kind: 'pca', explainedVariance: [0.7, 0.2], directionNorms: [1, 1], gridSize: [5, 5], bRange: [-1, 1], minLoss: NaN, key: 'k2' };

/** A summary as the analyze stage writes it, with the NaNs of statistics that had no data. */
const summary: AnalysisSummary = {
  pairs: 4, fractionInteriorMinimum: 0.75, fractionConvex: 1, medianHeight: 0.0125, meanHeight: 0.02, medianFloor: 1.5, medianAlphaStar: 0.5,
  distanceFromInitAtWindowEnd: 0.6, distanceFromInitAtEnd: 1.2, meanGradCosine: NaN, fractionNegativeGradCosine: 0.25, meanUpdateCosine: -0.2,
  fractionFloorBarrierPositive: 0.5, medianFloorBarrier: 0.001, maxFloorBarrier: 0.01, medianLagBarrier: { '2': 0.02, '4': NaN },
  sharpness: [{ step: 0, topEigenvalue: 12.5, twoOverLr: 20 }, { step: 10, topEigenvalue: NaN, twoOverLr: 20 }],
  sharpnessUnavailable: undefined, pairsReused: 1, pairsComputed: 3, surfaces: [line, pca], evalSetSize: 500, alphas: [0, 0.5, 1],
  bnMode: 'batch', provider: 'cpu', computedBy: [{ host: 'here', provider: 'cpu', lines: 4 }], runId: 'r1', runStatus: 'complete', seconds: 1.5,
};
const asWritten = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function refused(value: unknown): { message: string; where: SgdwalkError['where'] } {
  try {
    parseAnalysisSummary(value, 'out/analyze/summary.json');
  } catch (e) {
    expect(e).toBeInstanceOf(SgdwalkError);
    expect((e as SgdwalkError).code).toBe('read');
    return { message: (e as Error).message, where: (e as SgdwalkError).where };
  }
  throw new Error('accepted');
}

describe('summary.json: one schema, read by one check', () => {
  it('reads back what the analyze stage writes, the nulls JSON made of NaN again NaN', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-summary-'));
    await writeFile(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
    const read = await readJsonFile(join(dir, 'summary.json'), parseAnalysisSummary);
    const { sharpnessUnavailable: _, ...expected } = summary;
    expect(read).toEqual(expected);
    expect(read.meanGradCosine).toBeNaN();
    expect(read.medianLagBarrier['4']).toBeNaN();
    expect(read.surfaces![0].directionNorms[1]).toBeNaN();
    expect(read.surfaces![1].minLoss).toBeNaN();
    expect(parseAnalysisSummary(asWritten({ ...summary, sharpness: [], sharpnessUnavailable: 'an inference graph has no gradients' }), 'summary.json').sharpnessUnavailable)
      .toBe('an inference graph has no gradients');
  });

  it('reads a summary from before barriers, sharpness, reuse counts, surfaces and computedBy as "not computed"', () => {
    const { fractionFloorBarrierPositive, medianFloorBarrier, maxFloorBarrier, medianLagBarrier, sharpness, pairsReused, pairsComputed, surfaces, computedBy, ...first } = summary;
    const read = parseAnalysisSummary(asWritten(first), 'summary.json');
    for (const v of [read.fractionFloorBarrierPositive, read.medianFloorBarrier, read.maxFloorBarrier, read.pairsReused, read.pairsComputed]) expect(v).toBeNaN();
    expect(read.medianLagBarrier).toEqual({});
    expect(read.sharpness).toEqual([]);
    expect(read.computedBy).toEqual([]);
    expect(read.surfaces).toBeUndefined();
    expect(read.medianHeight).toBe(0.0125);
    // Written as null (a NaN of a later version) reads the same as absent.
    const nulls = parseAnalysisSummary({ ...asWritten(first) as object, medianLagBarrier: null, sharpness: null, pairsReused: null }, 'summary.json');
    expect(nulls.medianLagBarrier).toEqual({});
    expect(nulls.sharpness).toEqual([]);
    expect(nulls.pairsReused).toBeNaN();
    // A sharpness entry of an older writer without 2/η.
    expect(parseAnalysisSummary(asWritten({ ...summary, sharpness: [{ step: 5, topEigenvalue: 3 }] }), 'summary.json').sharpness[0].twoOverLr).toBeNaN();
  });

  it('refuses a summary without what the report prints, naming the file and the field', () => {
    const written = asWritten(summary) as Record<string, unknown>;
    const { medianHeight: _, ...noHeight } = written;
    expect(refused(noHeight)).toEqual({
      message: 'out/analyze/summary.json: field "medianHeight": Invalid input: expected number, received undefined',
      where: { file: 'out/analyze/summary.json', field: 'medianHeight' },
    });
    expect(refused({ ...written, pairs: '4' }).where.field).toBe('pairs');
    expect(refused({ ...written, alphas: 'all' }).where.field).toBe('alphas');
    expect(refused({ ...written, provider: 3 }).where.field).toBe('provider');
    expect(refused({ ...written, bnMode: 'train' }).where.field).toBe('bnMode');
    expect(refused({ ...written, runStatus: 'half' }).where.field).toBe('runStatus');
    expect(refused({ ...written, medianLagBarrier: [1, 2] }).message).toMatch(/^out\/analyze\/summary\.json: field "medianLagBarrier": /);
    expect(refused({ ...written, medianLagBarrier: { '2': 'high' } }).where.field).toBe('medianLagBarrier.2');
    expect(refused({ ...written, sharpness: [{ topEigenvalue: 1, twoOverLr: 2 }] }).where.field).toBe('sharpness[0].step');
    expect(refused({ ...written, maxFloorBarrier: 'big' }).where.field).toBe('maxFloorBarrier');
    expect(refused({ ...written, computedBy: [{ host: 'h', provider: 'cpu', lines: -1 }] }).where.field).toBe('computedBy[0].lines');
    expect(refused({ ...written, surfaces: [{ ...asWritten(line) as object, kind: 'plane' }] }).where.field).toBe('surfaces[0].kind');
    expect(refused(null).where.field).toBe('(root)');
  });
});

describe("surfaces.arrow's metadata: the same surface schema", () => {
  it('reads the list the analysis stores, and names the file, key and field when it is wrong', () => {
    expect(parseSurfaceMetadata(JSON.stringify([line, pca]), 's.arrow', 'sgdwalk.surfaces')).toEqual([line, pca]);
    const error = (text: string | undefined) => {
      try {
        parseSurfaceMetadata(text, 's.arrow', 'sgdwalk.surfaces');
      } catch (e) {
        expect(e).toBeInstanceOf(CheckpointError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(error(undefined)).toBe('s.arrow: metadata "sgdwalk.surfaces" is missing or not a JSON list of surfaces');
    expect(error('[{')).toMatch(/^s\.arrow: metadata "sgdwalk\.surfaces" is not valid JSON/);
    expect(error('{}')).toMatch(/^s\.arrow: metadata "sgdwalk\.surfaces", field "\(root\)": /);
    expect(error(JSON.stringify([line, { ...pca, gridSize: [5] }]))).toMatch(/^s\.arrow: metadata "sgdwalk\.surfaces", field "\[1\]\.gridSize": /);
  });
});
