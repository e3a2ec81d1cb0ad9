import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TINY_PIPELINE } from '../tools/attack/index.mjs';
import { cliBin, requireBuiltCli, runCli, tempDir } from './helpers.js';

/** The CLI as a child process that runs concurrently with others (runCli waits for each). */
function startCli(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliBin, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

let base: string;

/** One real tiny run (synthetic data, 6 steps), copied by each test. */
beforeAll(async () => {
  requireBuiltCli();
  base = await tempDir('folders');
  await writeFile(join(base, 'tiny.json'), JSON.stringify(TINY_PIPELINE));
  const r = runCli(['run', '--pipeline', 'tiny.json', '--out', 'out', '-q'], { cwd: base });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}, 300_000);

async function copyOfRun(): Promise<string> {
  const dir = await tempDir('folders-case');
  await cp(base, dir, { recursive: true });
  return dir;
}

describe('concurrent writers (issue 23 item 1)', () => {
  it('two analyses and two data stages into one folder, many rounds: one writes, the other stops at once naming the holder; the folder always verifies', async () => {
    const dir = await copyOfRun();
    let refusals = 0;
    for (let round = 0; round < 4; round++) {
      const stage = round % 2 === 0 ? 'analyze' : 'data';
      const results = await Promise.all([0, 1].map(() => startCli([stage, '--pipeline', 'tiny.json', '--out', 'out', '-q'], dir)));
      expect(results.some((r) => r.code === 0), `round ${round}: someone wrote`).toBe(true);
      for (const r of results.filter((x) => x.code !== 0)) {
        refusals++;
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          new RegExp(`^sgdwalk: error: ${join(dir, 'out', stage)}: another sgdwalk is writing this ${stage} folder: pid \\d+ on host ${hostname()} since \\d{4}-\\d\\d-\\d\\dT[^ ]+ \\(sgdwalk ${stage} --pipeline tiny.json --out out -q\\); wait for it to finish, or if that process is gone, remove ${join(dir, 'out', `.${stage}.lock`)}\\n$`),
        );
      }
      const verified = runCli(['verify', 'out'], { cwd: dir });
      expect(verified.stdout, `round ${round}`).toMatch(/: 0 problems\n$/);
      expect(verified.code).toBe(0);
      // No lock, staging or retired folder left behind.
      expect((await readdir(join(dir, 'out'))).filter((n) => n.startsWith('.'))).toEqual([]);
    }
    // Started together, the second nearly always finds the first's lock; at least once in four rounds.
    expect(refusals).toBeGreaterThan(0);
  }, 600_000);

  it('a lock whose holder is dead is taken over, and one held by a live process is not', async () => {
    const dir = await copyOfRun();
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const lock = join(dir, 'out/.report.lock');
    await writeFile(lock, JSON.stringify({ pid: dead.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'sgdwalk report', token: 'dead' }));
    expect(runCli(['report', '--pipeline', 'tiny.json', '--out', 'out', '-q'], { cwd: dir })).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(lock)).toBe(false);

    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(lock, JSON.stringify({ pid: live.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'sgdwalk report', token: 'live' }));
      const r = runCli(['report', '--pipeline', 'tiny.json', '--out', 'out', '-q'], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `sgdwalk: error: ${join(dir, 'out/report')}: another sgdwalk is writing this report folder: pid ${live.pid} on host ${hostname()} since 2026-01-01T00:00:00.000Z (sgdwalk report); wait for it to finish, or if that process is gone, remove ${lock}\n`,
      );
      expect(existsSync(lock)).toBe(true); // a live holder's lock is left alone
    } finally {
      live.kill('SIGKILL');
    }
  }, 300_000);
});

describe('a stage replaces only its own earlier output (issue 24 item 1)', () => {
  it('refuses a folder sgdwalk did not write, with one line, and replaces it only with --overwrite', async () => {
    const dir = await copyOfRun();
    await mkdir(join(dir, 'proj/train'), { recursive: true });
    await writeFile(join(dir, 'proj/train/thesis.tex'), 'x');
    const r = runCli(['run', '--pipeline', 'tiny.json', '--out', 'proj', '-q'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `sgdwalk: error: ${join(dir, 'proj/train')}: has no manifest.json: not a folder sgdwalk wrote; sgdwalk replaces only its own earlier output there — move it away, choose another output folder, or pass --overwrite to replace it\n`,
    );
    expect(await readFile(join(dir, 'proj/train/thesis.tex'), 'utf8')).toBe('x');
    // Checked before the first stage ran: no data folder was written either.
    expect(await readdir(join(dir, 'proj'))).toEqual(['train']);

    // Its own folder with a file added by hand is not its own any more.
    await writeFile(join(dir, 'out/analyze/notes.txt'), 'mine');
    const notes = runCli(['analyze', '--pipeline', 'tiny.json', '--out', 'out', '-q'], { cwd: dir });
    expect(notes.stderr).toMatch(/out\/analyze: holds files its manifest\.json does not list \(notes\.txt\); .* pass --overwrite/);
    expect(existsSync(join(dir, 'out/analyze/notes.txt'))).toBe(true);

    // Another pipeline's output, same stage.
    await writeFile(join(dir, 'other.json'), JSON.stringify({ ...TINY_PIPELINE, name: 'other' }));
    const other = runCli(['report', '--pipeline', 'other.json', '--out', 'out', '-q'], { cwd: dir });
    expect(other.stderr).toMatch(/out\/report: holds the report output of pipeline "tiny", not of "other"; /);

    // --overwrite consents, and the stage's own earlier output needs no consent.
    expect(runCli(['run', '--pipeline', 'tiny.json', '--out', 'proj', '--overwrite', '-q'], { cwd: dir })).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(dir, 'proj/train/thesis.tex'))).toBe(false);
    expect(runCli(['run', '--pipeline', 'tiny.json', '--out', 'proj', '-q'], { cwd: dir })).toMatchObject({ code: 0, stderr: '' });
    expect(runCli(['verify', 'proj'], { cwd: dir }).code).toBe(0);
  }, 300_000);

  it('a default output root never leaves out/: cd sub && sgdwalk run --pipeline ../pipeline.json is refused', async () => {
    const dir = await tempDir('folders-parent');
    const { name: _name, ...unnamed } = TINY_PIPELINE;
    await writeFile(join(dir, 'pipeline.json'), JSON.stringify(unnamed));
    await mkdir(join(dir, 'sub/data'), { recursive: true });
    await writeFile(join(dir, 'sub/data/mine.txt'), 'x');
    const r = runCli(['run', '--pipeline', '../pipeline.json', '-q'], { cwd: join(dir, 'sub') });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'sgdwalk: error: ../pipeline.json: field "name": the default name ".." (from the file\'s folder) would put the output outside out/: give the pipeline a "name" (lower-case letters, digits and dashes) or an "outDir"\n',
    );
    expect((await readdir(join(dir, 'sub'))).sort()).toEqual(['data']);
    expect(await readdir(join(dir, 'sub/data'))).toEqual(['mine.txt']);
  }, 120_000);
});

describe('silent truths said (issue 23 item 3)', () => {
  it('an evaluation set larger than its split, and a checkpoint window past the last step', async () => {
    const dir = await copyOfRun();
    const pipeline = { ...TINY_PIPELINE, analyze: { ...TINY_PIPELINE.analyze, evalSet: { split: 'train', size: 5000, seed: 0 } } };
    pipeline.train = { ...TINY_PIPELINE.train, checkpoints: { windows: [{ steps: [1, 100] }], every: 0 } };
    await writeFile(join(dir, 'tiny.json'), JSON.stringify(pipeline));
    const train = runCli(['train', '--pipeline', 'tiny.json', '--out', 'out', '-q'], { cwd: dir });
    expect(train.code).toBe(0);
    expect(train.stderr).toMatch(/train\.checkpoints\.windows\[0\] ends at step 100, after the run's last step 6: it stores steps 1\.\.6\n/);
    const analyze = runCli(['analyze', '--pipeline', 'tiny.json', '--out', 'out', '-q'], { cwd: dir });
    expect(analyze.code).toBe(0);
    expect(analyze.stderr).toContain(
      `analyze.evalSet.size is 5000, but the train split of ${join(dir, 'out/data/dataset.json')} holds 300 examples: evaluating all 300 (summary.json records evalSetSize 300)`,
    );
    expect(JSON.parse(await readFile(join(dir, 'out/analyze/summary.json'), 'utf8')).evalSetSize).toBe(300);
  }, 300_000);
});
