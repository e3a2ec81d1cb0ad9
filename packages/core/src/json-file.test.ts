import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ConfigError, SgdwalkError } from './errors.js';
import { checkWith, fieldOf, parseJsonText, readJsonFile } from './json-file.js';

const pointSchema = z.object({ name: z.string(), steps: z.array(z.object({ at: z.number().int() })) });
const checkPoint = checkWith(pointSchema);

async function caught(promise: Promise<unknown>): Promise<SgdwalkError> {
  const e = await promise.then(() => undefined, (error: unknown) => error);
  expect(e).toBeInstanceOf(SgdwalkError);
  return e as SgdwalkError;
}

describe('readJsonFile: a JSON file is read only through its contract', () => {
  it('returns what the check returns (the schema output, unknown keys dropped)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-json-'));
    await writeFile(join(dir, 'p.json'), JSON.stringify({ name: 'a', steps: [{ at: 3 }], extra: true }));
    expect(await readJsonFile(join(dir, 'p.json'), checkPoint)).toEqual({ name: 'a', steps: [{ at: 3 }] });
  });

  it('names the file when it cannot be read, is not JSON, or breaks the contract (with the field)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-json-'));
    const missing = await caught(readJsonFile(join(dir, 'none.json'), checkPoint));
    expect(missing.message).toBe(`${join(dir, 'none.json')}: cannot read (ENOENT)`);
    expect([missing.code, missing.where]).toEqual(['read', { file: join(dir, 'none.json') }]);

    await writeFile(join(dir, 'cut.json'), '{"name": "a",');
    const cut = await caught(readJsonFile(join(dir, 'cut.json'), checkPoint));
    expect(cut.message).toMatch(new RegExp(`^${join(dir, 'cut.json')}: not valid JSON \\(`));
    expect(cut.where).toEqual({ file: join(dir, 'cut.json') });

    await writeFile(join(dir, 'bad.json'), JSON.stringify({ name: 'a', steps: [{ at: 3 }, { at: 1.5 }] }));
    const bad = await caught(readJsonFile(join(dir, 'bad.json'), checkPoint));
    expect(bad.message).toBe(`${join(dir, 'bad.json')}: field "steps[1].at": Invalid input: expected int, received number`);
    expect([bad.code, bad.where]).toEqual(['read', { file: join(dir, 'bad.json'), field: 'steps[1].at' }]);
  });

  it('lets a contract raise its own error class from the first issue', () => {
    const check = checkWith(pointSchema, (issue, file) => new ConfigError(issue.message, file, issue.field));
    expect(() => parseJsonText('{"name": 1, "steps": []}', 'c.json', check)).toThrow(ConfigError);
    expect(() => parseJsonText('{"name": 1, "steps": []}', 'c.json', check)).toThrow(/^c\.json: field "name": /);
  });

  it('formats issue paths as field names', () => {
    expect(fieldOf([])).toBe('(root)');
    expect(fieldOf(['layers', 2, 'kernel'])).toBe('layers[2].kernel');
    expect(fieldOf([0, 'a'])).toBe('[0].a');
  });
});
