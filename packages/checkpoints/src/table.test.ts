import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bitsOf, expectCheckpointError, randomState, removeTempDirs, tempDir } from '../test/fixtures.js';
import { readTable, writeTable } from './index.js';

afterEach(removeTempDirs);

describe('writeTable / readTable', () => {
  it('round-trips every column type exactly, with schema metadata', async () => {
    const path = join(await tempDir(), 'pairs.arrow');
    const f64 = Float64Array.of(0.1, -0, NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE, -1.5, 1 / 3, 2 ** 53, 0, 1e-300, -7);
    const f32 = randomState(13, 7); // random bit patterns: NaN payloads, subnormals, -0
    const i32 = Int32Array.of(0, -1, 2 ** 31 - 1, -(2 ** 31), 5, 6, 7, 8, 9, 10, 11, 12, 13);
    const bools = [true, false, false, true, true, true, false, true, false, false, true, false, true]; // 13: not a whole byte
    const strings = ['', 'a', 'α*', 'naïve', '🙂', 'x'.repeat(1000), '0', 'line\nbreak', 'tab\t', '"q"', 'end', '12', ''];
    const lists = [Int32Array.of(), Int32Array.of(1), Int32Array.of(-2, 3), Int32Array.of(2 ** 31 - 1), Int32Array.of(), ...Array.from({ length: 8 }, (_, i) => Int32Array.from({ length: i }, (_, j) => i * 100 + j))];
    const columns = { f64, f32, i32, bools, strings, lists };
    await writeTable(path, columns, { stage: 'analyze', settings: '{"alphas":[0,0.5,1]}' });

    const table = await readTable(path);
    expect(table.numRows).toBe(13);
    expect(Object.keys(table.columns)).toEqual(['f64', 'f32', 'i32', 'bools', 'strings', 'lists']);
    expect(table.metadata).toEqual({ stage: 'analyze', settings: '{"alphas":[0,0.5,1]}' });

    const rf64 = table.columns.f64 as Float64Array;
    expect(rf64).toBeInstanceOf(Float64Array);
    expect(new BigUint64Array(rf64.buffer, rf64.byteOffset, 13)).toEqual(new BigUint64Array(f64.buffer));
    expect(Number.isNaN(rf64[2])).toBe(true);
    expect(Object.is(rf64[1], -0)).toBe(true);
    expect(rf64[5]).toBe(5e-324);

    expect(table.columns.f32).toBeInstanceOf(Float32Array);
    expect(bitsOf(table.columns.f32 as Float32Array)).toEqual(bitsOf(f32));
    expect(table.columns.i32).toBeInstanceOf(Int32Array);
    expect(Array.from(table.columns.i32 as Int32Array)).toEqual(Array.from(i32));
    expect(table.columns.bools).toEqual(bools);
    expect(table.columns.strings).toEqual(strings);
    const rlists = table.columns.lists as Int32Array[];
    expect(rlists).toHaveLength(13);
    rlists.forEach((row, i) => {
      expect(row).toBeInstanceOf(Int32Array);
      expect(Array.from(row)).toEqual(Array.from(lists[i]));
    });
  });

  it('writes a table of no rows', async () => {
    const path = join(await tempDir(), 'empty.arrow');
    await writeTable(path, { step: new Int32Array(0), loss: new Float64Array(0) });
    const table = await readTable(path);
    expect(table.numRows).toBe(0);
    expect(table.columns.step).toEqual(new Int32Array(0));
    expect(table.columns.loss).toEqual(new Float64Array(0));
    expect(table.metadata).toEqual({});
  });

  it('replaces a file atomically, leaving no temporary behind', async () => {
    const dir = await tempDir();
    const path = join(dir, 'metrics.arrow');
    await writeTable(path, { step: Int32Array.of(1, 2) });
    await writeTable(path, { step: Int32Array.of(3, 4, 5) }, { v: '2' });
    expect(await readdir(dir)).toEqual(['metrics.arrow']);
    const table = await readTable(path);
    expect(Array.from(table.columns.step as Int32Array)).toEqual([3, 4, 5]);
    expect(table.metadata).toEqual({ v: '2' });
  });

  it('refuses columns of different lengths and mixed element types', async () => {
    const path = join(await tempDir(), 'bad.arrow');
    await expectCheckpointError(writeTable(path, { a: Float64Array.of(1, 2), b: Int32Array.of(1) }), { file: path, message: /columns differ in length: a has 2 rows, b 1/ });
    await expectCheckpointError(writeTable(path, { a: [true, 'x'] as unknown as boolean[] }), { file: path, message: /column "a": row 1 is not a boolean like row 0/ });
    await expect(readdir(join(path, '..'))).resolves.toEqual([]);
  });

  it('names the file when it is missing, truncated or not Arrow', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'missing.arrow');
    await expectCheckpointError(readTable(missing), { file: missing, message: /missing/ });

    const truncated = join(dir, 'truncated.arrow');
    await writeTable(truncated, { x: Float64Array.of(1, 2, 3) });
    const size = (await readFile(truncated)).length;
    await truncate(truncated, size - 9);
    await expectCheckpointError(readTable(truncated), { file: truncated, message: /truncated: the Arrow file has no footer/ });

    const csv = join(dir, 'table.arrow');
    await writeFile(csv, 'pair,alpha,loss\n1,0,2.3\n');
    await expectCheckpointError(readTable(csv), { file: csv, message: /not an Arrow IPC file/ });

    // Magic at both ends, garbage between: the footer does not decode.
    const corrupt = join(dir, 'corrupt.arrow');
    await writeFile(corrupt, Buffer.concat([Buffer.from('ARROW1\0\0'), Buffer.alloc(64, 0xab), Buffer.from([0xff, 0xff, 0, 0]), Buffer.from('ARROW1')]));
    await expectCheckpointError(readTable(corrupt), { file: corrupt, message: /unreadable Arrow file/ });
  });
});
