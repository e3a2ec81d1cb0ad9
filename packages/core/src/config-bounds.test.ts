import { describe, expect, it } from 'vitest';
import { CONFIG_BOUNDS, parsePipeline } from './config.js';

/** Issue 23 item 2 and issue 24 item 6: every size a config makes the program allocate is bounded at the schema, one line naming the field. */
describe('config bounds', () => {
  const refused = (raw: unknown) => {
    try {
      parsePipeline(raw, 'p.json');
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('names what is wrong with which α element', () => {
    expect(refused({ analyze: { alphas: ['NaN', 'abc'] } })).toBe('p.json: field "analyze.alphas[0]": an α must be a finite number, got "NaN" (string)');
    expect(refused({ analyze: { alphas: [0, 0.5, 'abc', 1] } })).toBe('p.json: field "analyze.alphas[2]": an α must be a finite number, got "abc" (string)');
    expect(refused({ analyze: { alphas: 'all' } })).toMatch(/^p\.json: field "analyze\.alphas": /);
  });

  it('counts an α grid before expanding it', () => {
    expect(refused({ analyze: { alphas: { from: 0, to: 1, step: 1e-9 } } })).toBe(
      `p.json: field "analyze.alphas.step": the step makes more than ${CONFIG_BOUNDS.alphaPoints} α points between from and to: take a larger step`,
    );
    expect(refused({ analyze: { alphas: Array.from({ length: CONFIG_BOUNDS.alphaPoints + 1 }, (_, i) => i / CONFIG_BOUNDS.alphaPoints) } })).toBe(
      `p.json: field "analyze.alphas": the α grid has more than ${CONFIG_BOUNDS.alphaPoints} points`,
    );
    expect(parsePipeline({ analyze: { alphas: { from: 0, to: 1, step: 1e-4 } } }, 'p.json').analyze.alphas).toHaveLength(CONFIG_BOUNDS.alphaPoints);
    expect(parsePipeline({ analyze: { alphas: { from: 0, to: 1, step: 0.25 } } }, 'p.json').analyze.alphas).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it('bounds grid sizes, evaluation sets, line points, windows and step numbers', () => {
    expect(refused({ analyze: { surfaces: [{ grid: { size: [100000, 3] } }] } })).toBe('p.json: field "analyze.surfaces[0].grid.size[0]": a side of the grid must be at most 1,001');
    expect(refused({ analyze: { evalSet: { size: 1e12 } } })).toBe('p.json: field "analyze.evalSet.size": a number of examples must be at most 10,000,000');
    expect(refused({ analyze: { initLine: { points: 1e8 } } })).toBe("p.json: field \"analyze.initLine.points\": the line's number of points must be at most 10,001");
    expect(refused({ train: { checkpoints: { windows: [{ steps: [0, 1e9] }] } } })).toMatch(/^p\.json: field "train\.checkpoints\.windows\[0\]\.steps": a window of more than 1,000,000 steps/);
    expect(refused({ train: { maxSteps: 1e10 } })).toBe(`p.json: field "train.maxSteps": a step number must be at most ${2 ** 31 - 1} (the tables' 32-bit step column)`);
    expect(refused({ analyze: { sharpness: { iterations: 1e9 } } })).toBe('p.json: field "analyze.sharpness.iterations": the number of iterations must be at most 10,000');
  });
});

describe('the default output root', () => {
  it('never resolves outside out/: a pipeline.json in the parent folder is refused without a name', () => {
    expect(() => parsePipeline({}, '../pipeline.json')).toThrow(
      '../pipeline.json: field "name": the default name ".." (from the file\'s folder) would put the output outside out/: give the pipeline a "name" (lower-case letters, digits and dashes) or an "outDir"',
    );
    expect(parsePipeline({ name: 'named' }, '../pipeline.json').outDir).toBe('out/named');
    expect(parsePipeline({ outDir: 'elsewhere' }, '../pipeline.json').outDir).toBe('elsewhere');
  });
});
