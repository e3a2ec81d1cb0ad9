import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SgdwalkError } from './errors.js';
import { parseRunInfo, readRunInfo } from './run-file.js';

const fixture = new URL('../../../test/fixtures/run-format-v1/run.json', import.meta.url);

describe('run.json: one schema, one reader', () => {
  it('reads the committed format-v1 run as it was written', async () => {
    const raw = JSON.parse(await readFile(fixture, 'utf8'));
    const run = await readRunInfo(fixture.pathname);
    expect(run).toEqual(raw);
    expect(run.layout.totalSize).toBe(raw.layout.totalSize);
  });

  it('keeps fields it does not know (a newer writer\'s optional extras survive a read)', async () => {
    const raw = JSON.parse(await readFile(fixture, 'utf8'));
    const run = parseRunInfo({ ...raw, importedFrom: { tool: 'pytorch' } }, 'run.json') as unknown as Record<string, unknown>;
    expect(run.importedFrom).toEqual({ tool: 'pytorch' });
  });

  it('names the file and the first wrong field', async () => {
    const raw = JSON.parse(await readFile(fixture, 'utf8'));
    const bad = (value: unknown) => {
      try {
        parseRunInfo(value, 'out/x/train/run.json');
      } catch (e) {
        expect(e).toBeInstanceOf(SgdwalkError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ ...raw, formatVersion: 2 })).toBe('out/x/train/run.json: run format version 2 is not supported (expected 1)');
    expect(bad({ ...raw, layout: { ...raw.layout, totalSize: 'many' } })).toMatch(/^out\/x\/train\/run\.json: field "layout\.totalSize": /);
    expect(bad({ ...raw, status: 'half' })).toMatch(/field "status": /);
    const { runId: _, ...noId } = raw;
    expect(bad(noId)).toMatch(/field "runId": /);
    expect(bad([])).toMatch(/field "\(root\)": /);
  });

  it('reading a file that is not JSON names it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-runfile-'));
    await writeFile(join(dir, 'run.json'), '{"formatVersion": 1,');
    await expect(readRunInfo(join(dir, 'run.json'))).rejects.toThrow(/run\.json: not valid JSON/);
  });
});
