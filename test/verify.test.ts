import { cp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/**
 * `sgdwalk verify` on a tiny pipeline's output: clean folders pass, and on damaged copies every problem is
 * one line naming the file (and the step for a checkpoint), all of them in one run, exit 1, no stack trace.
 */
describe('sgdwalk verify', () => {
  let dir: string;
  let out: string;
  let copies = 0;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('verify');
    out = join(dir, 'out');
    // Three checkpoints per shard: 9 checkpoints (steps 0–8) in shard-000000 … shard-000002.
    const pipeline = tinyPipeline({ train: { checkpoints: { windows: [{ steps: [1, 8] }], every: 0, shardSize: 3 } } });
    await writeFile(join(dir, 'tiny.json'), JSON.stringify(pipeline));
    const r = runCli(['run', '--pipeline', join(dir, 'tiny.json'), '--out', out]);
    if (r.code !== 0) throw new Error(`sgdwalk run failed:\n${r.stderr}`);
  }, 300_000);

  /** A fresh copy of the whole output root to damage. */
  async function copy(): Promise<string> {
    const to = join(dir, `copy-${++copies}`);
    await cp(out, to, { recursive: true });
    return to;
  }

  function verify(target: string) {
    const r = runCli(['verify', target]);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stderr).not.toMatch(/internal error/);
    return r;
  }

  function expectProblems(r: ReturnType<typeof runCli>, ...lines: RegExp[]) {
    expect(r.code, r.stdout + r.stderr).toBe(1);
    for (const line of lines) expect(r.stdout).toMatch(line);
    const count = Number(/^verified \d+ files, \d+ checkpoints: (\d+) problems?$/m.exec(r.stdout)?.[1]);
    expect(count).toBeGreaterThanOrEqual(lines.length);
    expect(r.stdout.trim().split('\n')).toHaveLength(count + 1); // one line per problem, then the summary
    expect(r.stderr).toMatch(/^sgdwalk: error: .*problems?$/m);
  }

  const flipMiddleByte = async (path: string) => {
    const bytes = await readFile(path);
    bytes[bytes.length >> 1] ^= 0x5a;
    await writeFile(path, bytes);
  };
  const shard = (root: string, n: number) => join(root, `train/checkpoints/shard-00000${n}.arrow`);

  it('passes a clean output root and each clean stage folder', async () => {
    expect(await readdir(join(out, 'train/checkpoints'))).toEqual(['index.json', 'shard-000000.arrow', 'shard-000001.arrow', 'shard-000002.arrow']);
    const r = verify(out);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^verified \d+ files, 9 checkpoints: 0 problems\n$/);
    for (const stage of ['data', 'train', 'analyze', 'report']) {
      const s = verify(join(out, stage));
      expect(s.code, s.stdout).toBe(0);
      expect(s.stdout).toMatch(stage === 'train' ? /checkpoints: 0 problems/ : /, 0 checkpoints: 0 problems/);
    }
  });

  it('names a truncated shard', async () => {
    const root = await copy();
    await truncate(shard(root, 1), (await stat(shard(root, 1))).size - 1000);
    expectProblems(verify(join(root, 'train')), /shard-000001\.arrow: .*truncated/, /shard-000001\.arrow: sha256 mismatch/);
  });

  it('names the shard and step of a bit flip inside a checkpoint\'s state', async () => {
    const root = await copy();
    await flipMiddleByte(shard(root, 1));
    const r = verify(join(root, 'train'));
    expectProblems(r, /^.*shard-000001\.arrow \(step 4\): checksum mismatch/m, /shard-000001\.arrow: sha256 mismatch/);
    expect(r.stdout).toMatch(/, 9 checkpoints: 2 problems$/m); // the other eight checkpoints still read back
  });

  it('names a foreign file in place of metrics.arrow', async () => {
    const root = await copy();
    await cp(join(root, 'report/figures/interpolation-curves.png'), join(root, 'train/metrics.arrow'));
    expectProblems(verify(join(root, 'train')), /metrics\.arrow: sha256 mismatch/, /metrics\.arrow: not an Arrow IPC file/);
  });

  it('names a file the manifest lists that was deleted, and a file it does not list', async () => {
    const root = await copy();
    await rm(join(root, 'analyze/pairs.arrow'));
    await writeFile(join(root, 'analyze/notes.txt'), 'added by hand\n');
    await writeFile(join(root, 'analyze/.scratch.tmp'), 'a temporary: ignored\n');
    const r = verify(join(root, 'analyze'));
    expectProblems(r, /analyze\/pairs\.arrow: missing/, /analyze\/notes\.txt: not in the manifest/);
    expect(r.stdout).not.toMatch(/scratch/);
  });

  it('reports every problem of a copy damaged in many places in one run', async () => {
    const root = await copy();
    await truncate(shard(root, 0), (await stat(shard(root, 0))).size - 1000);
    await flipMiddleByte(shard(root, 2));
    await cp(join(root, 'report/figures/interpolation-curves.png'), join(root, 'train/metrics.arrow'));
    await rm(join(root, 'data/dataset.json'));
    await writeFile(join(root, 'report/figures/extra.svg'), '<svg/>');
    await writeFile(join(root, 'analyze/manifest.json'), '{"stage": "analyze", ');
    const r = verify(root);
    expectProblems(
      r,
      /shard-000000\.arrow: .*truncated/,
      /shard-000002\.arrow \(step 7\): checksum mismatch/,
      /train\/metrics\.arrow: sha256 mismatch/,
      /train\/metrics\.arrow: not an Arrow IPC file/,
      /data\/dataset\.json: missing/,
      /report\/figures\/extra\.svg: not in the manifest/,
      /analyze\/manifest\.json: not valid JSON/,
    );
    // shard-000000's three checkpoints are not read (its truncation is reported); the other six are.
    expect(r.stdout).toMatch(/, 6 checkpoints: \d+ problems$/m);
  });
});
