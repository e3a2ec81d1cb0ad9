import { describe, expect, it } from 'vitest';
import { barrierRowsFrom, evaluationRowsFrom, PAIR_SCHEMA, rowsFromTable, SHARPNESS_SCHEMA, STEP_SCHEMA } from './tables.js';

describe('rows from Arrow columns', () => {
  it('reads typed rows, booleans stored as 0/1 included, and ignores extra columns', () => {
    const rows = rowsFromTable(
      {
        numRows: 2,
        columns: {
          pair: new Int32Array([1, 2]), stepA: new Int32Array([0, 1]), stepB: new Int32Array([1, 2]),
          alphaStar: new Float64Array([0.4, 1]), floor: new Float64Array([1, 2]), height: new Float64Array([0.1, 0]),
          interiorMinimum: [true, false], convex: new Int32Array([0, 1]),
          lossA: new Float32Array([1.1, 2]), lossB: new Float32Array([1.2, 1.9]), distanceFromInit: new Float64Array([1, 2]),
          updateNorm: new Float64Array([0.1, 0.2]), updateCosine: new Float64Array([NaN, -0.5]), key: ['k1', 'k2'], extra: ['x', 'y'],
        },
      },
      PAIR_SCHEMA,
      'pairs.arrow',
    );
    expect(rows[1]).toEqual({
      pair: 2, stepA: 1, stepB: 2, alphaStar: 1, floor: 2, height: 0, interiorMinimum: false, convex: true,
      lossA: 2, lossB: expect.closeTo(1.9, 6), distanceFromInit: 2, updateNorm: 0.2, updateCosine: -0.5, key: 'k2',
    });
    expect(rows[0].interiorMinimum).toBe(true);
    expect(rows[0].convex).toBe(false);
    expect(rows[0]).not.toHaveProperty('extra');
  });

  it('names the file and the column that is missing or of the wrong kind', () => {
    const columns = Object.fromEntries(Object.keys(STEP_SCHEMA).map((k) => [k, new Float64Array([1])]));
    const { loss: _loss, ...withoutLoss } = columns;
    expect(() => rowsFromTable({ numRows: 1, columns: withoutLoss }, STEP_SCHEMA, '/run/metrics.arrow')).toThrow(/metrics\.arrow: missing column "loss"/);
    expect(() => rowsFromTable({ numRows: 1, columns: { ...columns, loss: ['high'] } }, STEP_SCHEMA, 'metrics.arrow')).toThrow(
      /column "loss" should hold numbers, it holds strings/,
    );
  });

  it('reads an empty table as no rows, whatever its columns', () => {
    expect(rowsFromTable({ numRows: 0, columns: { step: [] as string[] } }, STEP_SCHEMA, 'metrics.arrow')).toEqual([]);
  });

  it('rejects evaluation splits the report does not know', () => {
    const table = (split: string) => ({
      numRows: 1,
      columns: { epoch: new Int32Array([1]), step: new Int32Array([10]), split: [split], loss: new Float64Array([1]), accuracy: new Float64Array([0.5]) },
    });
    expect(evaluationRowsFrom(table('test'), 'e.arrow')).toEqual([{ epoch: 1, step: 10, split: 'test', loss: 1, accuracy: 0.5 }]);
    expect(() => evaluationRowsFrom(table('train'), 'e.arrow')).toThrow(/split "train"/);
  });

  it('reads barrier rows and rejects kinds the report does not know', () => {
    const table = (kind: string) => ({
      numRows: 1,
      columns: {
        kind: [kind], step: new Int32Array([10]), k: new Int32Array([4]), barrier: new Float64Array([0.25]),
        alphaAtMax: new Float64Array([0.5]), lossStart: new Float64Array([1]), lossEnd: new Float64Array([0.9]),
      },
    });
    expect(barrierRowsFrom(table('lag'), 'b.arrow')).toEqual([{ kind: 'lag', step: 10, k: 4, barrier: 0.25, alphaAtMax: 0.5, lossStart: 1, lossEnd: 0.9 }]);
    expect(() => barrierRowsFrom(table('ridge'), 'b.arrow')).toThrow(/b\.arrow.*kind "ridge"/);
  });

  it('names the sharpness column that is missing', () => {
    const columns = { step: new Int32Array([0]), topEigenvalue: new Float64Array([3]), twoOverLr: new Float64Array([20]), iterations: new Int32Array([20]), subsetSize: new Int32Array([1000]) };
    expect(() => rowsFromTable({ numRows: 1, columns }, SHARPNESS_SCHEMA, 'sharpness.arrow')).toThrow(/sharpness\.arrow: missing column "method"/);
  });
});
