import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliBin, repoRoot, requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/**
 * An analysis killed with kill -9 keeps the lines it finished: each is journalled (fsync'd) beside the
 * analyze folder as it completes, and the same command again computes only the others and writes the same
 * tables, byte for byte, as an analysis never interrupted (issue 24, item 5). Real processes, real kills.
 */

/** The journal of the analysis writing `out` (lineJournalBeside in packages/analysis/src/lines/line-journal.ts). */
const journalOf = (out: string) => join(dirname(out), `.${basename(out)}.lines.jsonl`);

/** Complete records in the journal (a line torn by the kill has no newline yet). */
function journalled(out: string): number {
  if (!existsSync(journalOf(out))) return 0;
  return readFileSync(journalOf(out), 'utf8').split('\n').length - 1;
}

/** Start the analysis in its own process group, and kill -9 it once `ready` holds (polled every 10 ms). */
async function killWhen(args: string[], ready: (output: string) => boolean): Promise<{ output: string; code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [cliBin, ...args], { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && !ready(output)) await new Promise((r) => setTimeout(r, 10));
  if (!done) process.kill(-child.pid!, 'SIGKILL');
  return { output, ...(await exited) };
}

/** The "<what>: N reused, M computed" counts of an analysis' log. */
function counts(output: string): { reused: number; computed: number } {
  const found = [...output.matchAll(/(?:pairs|floor segments|lag lines): (\d+) reused, (\d+) computed/g)];
  expect(found).toHaveLength(3);
  return found.reduce((sum, m) => ({ reused: sum.reused + Number(m[1]), computed: sum.computed + Number(m[2]) }), { reused: 0, computed: 0 });
}

const TABLES = ['interpolation.arrow', 'pairs.arrow', 'barriers.arrow', 'barrier-lines.arrow'];

describe('an analysis killed with kill -9 resumes from its journal', () => {
  let work: string;
  let pipeline: string;
  const analyze = (out: string) => ['analyze', '--pipeline', pipeline, '--run', join(work, 'out/train'), '-o', out];

  beforeAll(async () => {
    requireBuiltCli();
    work = await tempDir('resume');
    // A dense α grid over 600 examples and every kind of line: each line takes long enough to kill between lines.
    const base = tinyPipeline({
      analyze: { alphas: { from: -1, to: 2, step: 0.01 }, evalSet: { split: 'train', size: 600, seed: 0 }, barriers: { floor: true, lags: [2, 4], every: 1 } },
    });
    pipeline = join(work, 'pipeline.json');
    writeFileSync(pipeline, JSON.stringify({ ...base, name: 'resume', outDir: join(work, 'out') }));
    const trained = runCli(['run', '--pipeline', pipeline]);
    expect(trained.code, trained.stderr).toBe(0);
  }, 600_000);

  it('killed before any line, after a few and after most: the re-run computes only what is missing, the same tables', async () => {
    const reference = join(work, 'out/analyze');
    const uninterrupted = runCli(analyze(join(work, 'again')));
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    const total = counts(uninterrupted.stdout + uninterrupted.stderr).computed;
    expect(total).toBeGreaterThan(15);
    const out = join(work, 'resumed');
    // 1. Killed as soon as it says what it analyses: nothing finished yet, or very little.
    const first = await killWhen(analyze(out), (output) => output.includes('analyzing '));
    expect(first.signal).toBe('SIGKILL');
    // 2. Killed with a few lines journalled, 3. with most of them.
    for (const target of [Math.max(3, journalled(out) + 2), Math.floor(total * 0.7)]) {
      const before = journalled(out);
      const killed = await killWhen(analyze(out), () => journalled(out) >= target);
      expect(killed.signal, killed.output).toBe('SIGKILL');
      // The lines journalled before are not evaluated again: the re-run said it found them.
      if (before > 0) expect(killed.output).toContain(`${before} lines finished before an interruption, from ${journalOf(out)}`);
    }
    const kept = journalled(out);
    expect(kept).toBeGreaterThanOrEqual(Math.floor(total * 0.7));
    expect(kept).toBeLessThan(total);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);

    const last = runCli(analyze(out));
    expect(last.code, last.stderr).toBe(0);
    const output = last.stdout + last.stderr;
    expect(output).toContain(`${kept} lines finished before an interruption`);
    // Every journalled line is reused; only the others are computed.
    expect(counts(output)).toEqual({ reused: kept, computed: total - kept });
    // The same tables as the analysis never interrupted, and the journal gone with the analysis complete.
    for (const table of (await readdir(reference)).filter((f) => TABLES.includes(f))) {
      expect(readFileSync(join(out, table)).equals(readFileSync(join(reference, table))), table).toBe(true);
    }
    expect(existsSync(journalOf(out))).toBe(false);
  }, 600_000);

  it('a journal line torn by the kill is cut off, and the analysis completes', async () => {
    const out = join(work, 'torn');
    await killWhen(analyze(out), () => journalled(out) >= 2);
    const kept = journalled(out);
    // A half-written record at the end, as a crash mid-write leaves it.
    writeFileSync(journalOf(out), readFileSync(journalOf(out), 'utf8') + '{"key":"abc","alphas":[0,0.');
    const run = runCli(analyze(out));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toContain(`${kept} lines finished before an interruption`);
    expect(counts(run.stdout + run.stderr).reused).toBe(kept);
    expect(readFileSync(join(out, 'interpolation.arrow')).equals(readFileSync(join(work, 'out/analyze/interpolation.arrow')))).toBe(true);
  }, 600_000);
});
