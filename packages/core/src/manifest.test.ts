import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SgdwalkError } from './errors.js';
import { listStageFiles, manifestDiscrepancies, parseManifest, readManifest, writeManifest } from './manifest.js';

describe('manifest.json: one listing, one comparison', () => {
  it('lists what writeManifest hashes, and finds a changed, a missing and an unlisted file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-manifest-'));
    await mkdir(join(dir, 'checkpoints'));
    await writeFile(join(dir, 'run.json'), '{}');
    await writeFile(join(dir, 'checkpoints', 'shard-000000.arrow'), 'x');
    await writeFile(join(dir, '.run.json.1.tmp'), 'a temporary');
    const manifest = await writeManifest(dir, { stage: 'train', status: 'complete', config: {}, inputs: {}, versions: {} });
    expect(Object.keys(manifest.files)).toEqual(['checkpoints/shard-000000.arrow', 'run.json']);
    expect(await listStageFiles(dir)).toEqual(['checkpoints/shard-000000.arrow', 'manifest.json', 'run.json']);
    expect(await manifestDiscrepancies(dir, await readManifest(dir))).toEqual([]);

    await writeFile(join(dir, 'run.json'), '{"changed": true}');
    await writeFile(join(dir, 'extra.txt'), 'added later');
    const found = await manifestDiscrepancies(dir, { ...manifest, files: { ...manifest.files, 'gone.arrow': 'a'.repeat(64), '../up': 'b' } });
    expect(found.map((d) => [d.file.slice(dir.length + 1), d.message.split(':')[0]])).toEqual([
      ['run.json', 'sha256 mismatch'],
      ['gone.arrow', 'missing'],
      ['manifest.json', 'lists "../up", a path outside the folder'],
      ['extra.txt', 'not in the manifest'],
    ]);
  });

  it('reads what writeManifest writes, and the committed format-v1 run\'s manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-manifest-'));
    await writeFile(join(dir, 'run.json'), '{}');
    const written = await writeManifest(dir, { stage: 'train', status: 'diverged', config: { lr: 0.1 }, inputs: { 'dataset.json': 'c'.repeat(64) }, versions: { node: 'v20' } });
    expect(await readManifest(dir)).toEqual(written);
    const fixture = new URL('../../../test/fixtures/run-format-v1/', import.meta.url).pathname;
    expect((await readManifest(fixture)).stage).toBe('train');
  });

  it('a manifest missing a field or with one of the wrong type is refused, naming the file and the field', () => {
    const whole = { stage: 'train', sgdwalkVersion: '0.1.0', createdAt: '2026-01-01T00:00:00.000Z', status: 'complete', config: {}, inputs: {}, versions: {}, files: {} };
    const refused = (value: unknown) => {
      try {
        parseManifest(value, 'm.json');
      } catch (e) {
        expect(e).toBeInstanceOf(SgdwalkError);
        expect((e as SgdwalkError).code).toBe('manifest');
        return [(e as Error).message, (e as SgdwalkError).where];
      }
      throw new Error('accepted');
    };
    const { files: _, ...noFiles } = whole;
    expect(refused(noFiles)).toEqual(['m.json: not a stage manifest (field "files": Invalid input: expected record, received undefined)', { file: 'm.json', field: 'files' }]);
    const { stage: __, ...noStage } = whole;
    expect(refused(noStage)[0]).toMatch(/^m\.json: not a stage manifest \(field "stage": /);
    expect(refused({ ...whole, status: 'half' })[0]).toMatch(/field "status": /);
    expect(refused({ ...whole, files: { 'run.json': 7 } })[1]).toEqual({ file: 'm.json', field: 'files.run.json' });
    expect(refused([])[0]).toMatch(/field "\(root\)"/);
  });
});
