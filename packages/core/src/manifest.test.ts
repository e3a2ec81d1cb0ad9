import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

  it('a manifest without a file map or a stage is refused, naming the field', () => {
    expect(() => parseManifest({ stage: 'train' }, 'm.json')).toThrow(/^m\.json: not a stage manifest \(field "files": /);
    expect(() => parseManifest({ files: {} }, 'm.json')).toThrow(/field "stage"/);
    expect(() => parseManifest([], 'm.json')).toThrow(/field "\(root\)"/);
  });
});
