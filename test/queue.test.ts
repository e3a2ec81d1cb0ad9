import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTable } from '@sgdwalk/checkpoints';
import { lineQueueStatus, parseQueueUrl } from '@sgdwalk/queue';
import { requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';
import { killGroup, startCli, until, type Proc } from './cli-processes.js';
import { freePort, redisServerAvailable, startRedis } from '../tools/redis/server.mjs';

/**
 * The analysis over BullMQ workers, against a real redis-server: the same files as the embedded run, and
 * every fault the issue names — a worker killed mid-job, the coordinator killed, two coordinators at once,
 * a job that fails for good, Redis unreachable or refusing the password, Redis restarted empty mid-run.
 */

const available = redisServerAvailable();
if (!available && process.env.CI) throw new Error('redis-server is missing: .ci/run installs it (apt-get install redis-server)');

/** Arrow outputs compared byte for byte; summary.json value for value but for timing and who computed it. */
const TABLES = ['interpolation.arrow', 'pairs.arrow', 'barriers.arrow', 'barrier-lines.arrow', 'sharpness.arrow', 'surfaces.arrow', 'surface-paths.arrow'];

function comparableSummary(dir: string): unknown {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  delete summary.seconds;
  delete summary.computedBy;
  return summary;
}

/** Lines the embedded reference run evaluated (every pair, floor segment and lag line, once). */
function linesOf(reference: string): number {
  return JSON.parse(readFileSync(join(reference, 'summary.json'), 'utf8')).computedBy[0].lines;
}

async function expectSameAnalysis(dir: string, reference: string, { rerun = false } = {}): Promise<void> {
  const tables = (await readdir(reference)).filter((f) => TABLES.includes(f)).sort();
  expect(tables.length).toBeGreaterThan(0);
  expect((await readdir(dir)).filter((f) => TABLES.includes(f)).sort()).toEqual(tables);
  for (const table of tables) {
    if (readFileSync(join(dir, table)).equals(readFileSync(join(reference, table)))) continue;
    // Not byte-identical: say which column differs, and where.
    const [ours, theirs] = await Promise.all([readTable(join(dir, table)), readTable(join(reference, table))]);
    const differences = Object.keys(theirs.columns).flatMap((name) => {
      const a = ours.columns[name] as ArrayLike<unknown>;
      const b = theirs.columns[name] as ArrayLike<unknown>;
      const at = Array.from({ length: Math.max(a?.length ?? 0, b.length) }, (_, i) => i).find((i) => String(a?.[i]) !== String(b[i]));
      return at === undefined ? [] : [`${name}[${at}]: ${String(a?.[at])} vs ${String(b[at])}`];
    });
    // A re-run's surfaces.arrow records its surfaces' reuse counts in its metadata: only the values must match.
    if (rerun && table === 'surfaces.arrow' && differences.length === 0) continue;
    const metadata = JSON.stringify(ours.metadata) === JSON.stringify(theirs.metadata) ? 'same metadata' : `metadata ${JSON.stringify(ours.metadata)} vs ${JSON.stringify(theirs.metadata)}`;
    expect.fail(`${table} differs from ${reference}: ${differences.join('; ') || `same columns, ${metadata}`}`);
  }
  // A re-run reuses what it finds instead of computing it: only its counts and provider differ.
  const comparable = (d: string) => {
    const summary = comparableSummary(d) as { surfaces?: Array<Record<string, unknown>> };
    if (!rerun) return summary;
    const surfaces = summary.surfaces?.map((row) => ({ ...row, pointsComputed: 0, pointsReused: 0 }));
    return { ...summary, surfaces, pairsReused: 0, pairsComputed: 0, provider: '' };
  };
  expect(comparable(dir)).toEqual(comparable(reference));
}




/** The processes `pid` started (a worker's job children). */
function childPids(pid: number): number[] {
  const listed = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  return listed.split('\n').map((line) => Number(line.trim())).filter((n) => n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


/** Until a job of the queue is active; on timeout, what the processes said (a coordinator that failed at once). */
async function jobStarted(target: ReturnType<typeof parseQueueUrl>, ...procs: Proc[]): Promise<void> {
  await until('a job to start', async () => ((await lineQueueStatus(target)).counts.active > 0 ? true : undefined)).catch((e: Error) => {
    throw new Error(`${e.message}; the processes said: ${procs.map((p) => p.output()).join(' | ')}`);
  });
}

describe.skipIf(!available)('analysis on a queue of workers (real redis-server)', () => {
  let work: string;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let db = 0;
  const workers: Proc[] = [];
  /** A fresh Redis database per test: its queue starts empty. */
  const nextQueue = () => `${redis.url}/${++db}`;
  const worker = (queue: string, ...extra: string[]) => {
    const proc = startCli(['worker', '--root', work, '--queue', queue, '--lock-seconds', '2', ...extra]);
    workers.push(proc);
    return proc;
  };
  const pipelines: Record<'fast' | 'slow', string> = { fast: '', slow: '' };
  const reference: Record<'fast' | 'slow', string> = { fast: '', slow: '' };
  const analyzeArgs = (kind: 'fast' | 'slow', out: string) => ['analyze', '--pipeline', pipelines[kind], '--run', join(work, 'out/train'), '-o', out];

  beforeAll(async () => {
    requireBuiltCli();
    work = await tempDir('queue');
    // One trained run; two analyses of it: "fast" (every kind of line, sharpness) and "slow" (a dense α
    // grid, so a job lasts long enough to be caught mid-way).
    const base = tinyPipeline({
      analyze: {
        barriers: { floor: true, lags: [2, 4], every: 1 },
        sharpness: { steps: [8], subsetSize: 50, iterations: 5 },
        // A surface's rows are queue jobs too; the init line is a surface of one row.
        surfaces: [{ id: 'pca', directions: { kind: 'pca' }, grid: { size: [5, 4] }, examples: 100 }],
        initLine: { points: 7 },
      },
    });
    pipelines.fast = join(work, 'fast.json');
    writeFileSync(pipelines.fast, JSON.stringify({ ...base, name: 'q', outDir: join(work, 'out') }));
    const slow = tinyPipeline({
      analyze: { alphas: { from: -2, to: 3, step: 0.01 }, evalSet: { split: 'train', size: 600, seed: 0 }, barriers: { floor: false, lags: [] } },
    });
    pipelines.slow = join(work, 'slow.json');
    writeFileSync(pipelines.slow, JSON.stringify({ ...slow, name: 'q', outDir: join(work, 'out') }));
    const trained = runCli(['run', '--pipeline', pipelines.fast]);
    expect(trained.code, trained.stderr).toBe(0);
    reference.fast = join(work, 'out/analyze');
    reference.slow = join(work, 'slow-embedded');
    const slowRun = runCli(analyzeArgs('slow', reference.slow));
    expect(slowRun.code, slowRun.stderr).toBe(0);
    redis = await startRedis();
  }, 600_000);

  afterAll(async () => {
    for (const proc of workers) killGroup(proc);
    await redis?.stop();
  });

  it('writes the same files as the embedded run, with two workers, from SGDWALK_QUEUE; a re-run enqueues nothing', async () => {
    const queue = nextQueue();
    const shared = worker(queue, '--concurrency', '2', '--threads', '1');
    worker(queue);
    const out = join(work, 'q-fast');
    const run = runCli(analyzeArgs('fast', out), { env: { SGDWALK_QUEUE: queue } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`on the queue at ${queue}`);
    await expectSameAnalysis(out, reference.fast);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    // 8 pairs, 7 floor segments, 12 lag lines: each computed once, by workers that say who they are.
    expect(linesOf(reference.fast)).toBe(27);
    expect(summary.computedBy.reduce((n: number, w: { lines: number }) => n + w.lines, 0)).toBe(27);
    for (const w of summary.computedBy) expect(w.host).toBeTruthy();
    expect(shared.output()).toMatch(/concurrency 2 × 1 thread\b/);
    const status = await lineQueueStatus(parseQueueUrl(queue));
    // 27 lines, then the rows of the surface (4 on its grid, a fifth when the centre is off it) and the
    // init line's one row.
    expect(status.counts.completed).toBeGreaterThanOrEqual(27 + 4 + 1);
    expect(status.counts.completed).toBeLessThanOrEqual(27 + 5 + 1);
    expect(status.jobs.every((j) => j.attemptsStarted === 1)).toBe(true);
    expect(readdirSync(join(out, 'surface-planes'))).toHaveLength(2);

    const again = runCli(analyzeArgs('fast', out), { env: { SGDWALK_QUEUE: queue } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('pairs: 8 reused, 0 computed');
    expect(again.stderr).not.toContain('lines on redis://');
    await expectSameAnalysis(out, reference.fast, { rerun: true });
  });

  it('a worker killed (kill -9) mid-job: another takes the job over and the numbers are the same', async () => {
    const queue = nextQueue();
    const target = parseQueueUrl(queue);
    const doomed = worker(queue);
    const out = join(work, 'q-killed-worker');
    const coordinator = startCli(analyzeArgs('slow', out).concat('--queue', queue));
    await jobStarted(target, coordinator, doomed);
    killGroup(doomed);
    const rescuer = worker(queue);
    expect(await coordinator.exited, coordinator.output()).toBe(0);
    await expectSameAnalysis(out, reference.slow);
    const status = await lineQueueStatus(target);
    expect(status.jobs.some((j) => j.stalledCounter >= 1 && j.attemptsStarted >= 2), JSON.stringify(status.jobs)).toBe(true);
    expect(rescuer.output()).toMatch(/line \w+ done/);
  });

  it('SIGTERM: a worker finishes the job it holds, then exits; the rest goes to another worker', async () => {
    const queue = nextQueue();
    const target = parseQueueUrl(queue);
    const leaving = worker(queue);
    const out = join(work, 'q-sigterm');
    const coordinator = startCli(analyzeArgs('slow', out).concat('--queue', queue));
    await jobStarted(target, coordinator, leaving);
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited, leaving.output()).toBe(0);
    expect(leaving.output()).toMatch(/stopping after the running jobs/);
    const afterStop = await lineQueueStatus(target);
    expect(afterStop.counts.active).toBe(0);
    expect(afterStop.counts.completed).toBeGreaterThanOrEqual(1);
    worker(queue);
    expect(await coordinator.exited, coordinator.output()).toBe(0);
    await expectSameAnalysis(out, reference.slow);
    expect((await lineQueueStatus(target)).jobs.every((j) => j.stalledCounter === 0 && j.attemptsStarted === 1)).toBe(true);
  });

  it('a second signal mid-job: the worker and its job child leave at once; the job goes to another worker', async () => {
    const queue = nextQueue();
    const target = parseQueueUrl(queue);
    const leaving = worker(queue);
    // Jobs of a few seconds each, so the worker is surely mid-job when it is told twice to stop: as many α
    // as a config may ask for (CONFIG_BOUNDS.alphaPoints, 10,001), in batches of 20 examples.
    const slower = join(work, 'slower.json');
    const slow = JSON.parse(readFileSync(pipelines.slow, 'utf8'));
    writeFileSync(slower, JSON.stringify({ ...slow, analyze: { ...slow.analyze, alphas: { from: -2, to: 3, step: 0.0005 }, evalBatchSize: 20 } }));
    const out = join(work, 'q-second-signal');
    const coordinator = startCli(['analyze', '--pipeline', slower, '--run', join(work, 'out/train'), '-o', out, '--queue', queue]);
    await jobStarted(target, coordinator, leaving);
    const children = childPids(leaving.child.pid!);
    expect(children.length).toBeGreaterThan(0);
    // Signalled as `kill PID` twice would: the worker alone, not its process group.
    leaving.child.kill('SIGTERM');
    await until('the first signal to be taken', async () => (/stopping after the running jobs/.test(leaving.output()) ? true : undefined));
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited, leaving.output()).toBe(0);
    expect(leaving.output()).toMatch(/stopping now/);
    await until('the job child to exit with its worker', async () => (children.every((pid) => !alive(pid)) ? true : undefined), 10_000);
    // It did not wait for its job: that job was taken over once its lock ended.
    expect(leaving.output()).not.toMatch(/line \w+ done/);
    worker(queue);
    expect(await coordinator.exited, coordinator.output()).toBe(0);
    expect((await lineQueueStatus(target)).jobs.some((j) => j.stalledCounter >= 1)).toBe(true);
  });

  it('Redis gone for good under an idle worker: SIGTERM still ends it, saying why it could not close', async () => {
    const own = await startRedis();
    const idle = startCli(['worker', '--root', work, '--queue', own.url]);
    workers.push(idle);
    // Connected, and registered (both its connections up): Redis is not stopped mid-handshake.
    await until('the worker to connect', async () => (/worker \S+ on /.test(idle.output()) && (await lineQueueStatus(parseQueueUrl(own.url))).workers > 0 ? true : undefined));
    await own.stop();
    idle.child.kill('SIGTERM');
    expect(await idle.exited, idle.output()).toBe(0);
    expect(idle.output()).toMatch(/did not answer within \d+ s of the last job; left without closing the connection/);
  });

  it('the coordinator killed mid-run: the same command again computes only what is missing', async () => {
    const queue = nextQueue();
    const target = parseQueueUrl(queue);
    const w = worker(queue);
    const out = join(work, 'q-killed-coordinator');
    const first = startCli(analyzeArgs('slow', out).concat('--queue', queue));
    await until('two lines done', async () => ((await lineQueueStatus(target)).counts.completed >= 2 ? true : undefined));
    killGroup(first);
    await first.exited;
    const second = runCli(analyzeArgs('slow', out).concat('--queue', queue));
    expect(second.code, second.stderr).toBe(0);
    await expectSameAnalysis(out, reference.slow);
    const status = await lineQueueStatus(target);
    const lines = linesOf(reference.slow);
    expect(status.counts.completed).toBe(lines);
    expect(status.jobs.every((j) => j.attemptsStarted === 1), JSON.stringify(status.jobs)).toBe(true);
    expect(w.output().match(/line \w+ done/g)?.length).toBe(lines);
  });

  it('two coordinators on the same run at once: each line computed once, the same files from both', async () => {
    const queue = nextQueue();
    const w = worker(queue);
    const [a, b] = ['q-two-a', 'q-two-b'].map((dir) => startCli(analyzeArgs('fast', join(work, dir)).concat('--queue', queue)));
    expect(await a.exited, a.output()).toBe(0);
    expect(await b.exited, b.output()).toBe(0);
    await expectSameAnalysis(join(work, 'q-two-a'), reference.fast);
    await expectSameAnalysis(join(work, 'q-two-b'), reference.fast);
    const status = await lineQueueStatus(parseQueueUrl(queue));
    expect(status.counts.completed).toBeGreaterThanOrEqual(27 + 5);
    expect(status.jobs.every((j) => j.attemptsStarted === 1)).toBe(true);
    expect(w.output().match(/line \w+ done/g)?.length).toBe(status.counts.completed);
  });

  it('a checkpoint corrupt on the workers\' filesystem: after the attempts, one message naming file and step, exit 1', async () => {
    const queue = nextQueue();
    // The workers see the run through a path map, at a copy whose checkpoint shard has a flipped byte.
    const copy = join(work, 'worker-view/train');
    cpSync(join(work, 'out/train'), copy, { recursive: true });
    const shards = (await readdir(join(copy, 'checkpoints'))).filter((f) => f.endsWith('.arrow'));
    const shard = join(copy, 'checkpoints', shards[0]);
    const bytes = readFileSync(shard);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(shard, bytes);
    worker(queue, '--path-map', `${join(work, 'out/train')}=${copy}`);
    const started = Date.now();
    const run = runCli(analyzeArgs('fast', join(work, 'q-corrupt')).concat('--queue', queue));
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(120_000);
    const message = run.stderr.trim().split('\n').filter((line) => line.startsWith('sgdwalk: error:'));
    expect(message).toHaveLength(1);
    expect(message[0]).toMatch(/after 3 attempts/);
    expect(message[0]).toContain(join(copy, 'checkpoints'));
    expect(message[0]).toMatch(/\(step \d+\)/);
  });

  it('a worker whose data folder holds other data: the job fails naming the file, after the attempts, exit 1', async () => {
    const queue = nextQueue();
    // The workers see the prepared data through a path map, at a folder prepared with fewer training
    // examples: another evaluation set, whose lines would silently hold other numbers.
    const otherRoot = join(work, 'other-data');
    const file = join(work, 'other-data.json');
    const base = tinyPipeline();
    writeFileSync(file, JSON.stringify({ ...base, data: { ...base.data, limit: { ...base.data.limit, train: 500 } }, name: 'other', outDir: otherRoot }));
    const prepared = runCli(['data', '--pipeline', file]);
    expect(prepared.code, prepared.stderr).toBe(0);
    worker(queue, '--path-map', `${join(work, 'out/data')}=${join(otherRoot, 'data')}`);
    const out = join(work, 'q-other-data');
    const run = runCli(analyzeArgs('fast', out).concat('--queue', queue));
    expect(run.code).toBe(1);
    const message = run.stderr.trim().split('\n').filter((line) => line.startsWith('sgdwalk: error:'));
    expect(message).toHaveLength(1);
    expect(message[0]).toMatch(/after 3 attempts/);
    expect(message[0]).toContain(`${join(otherRoot, 'data', 'dataset.json')}: the evaluation set here`);
    expect(message[0]).toMatch(/is not the one the analysis planned with/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
  });

  it('an anchored run: workers read the replayed steps from the replay cache\'s folders, with the same numbers', async () => {
    const queue = nextQueue();
    worker(queue);
    const file = join(work, 'anchored.json');
    const anchored = tinyPipeline({
      train: { checkpoints: { windows: [], every: 0, anchors: { every: 4 } } },
      analyze: { steps: [1, 8], barriers: { floor: true, lags: [2] } },
    });
    writeFileSync(file, JSON.stringify({ ...anchored, name: 'anchored', outDir: join(work, 'anchored') }));
    const embedded = runCli(['run', '--pipeline', file]);
    expect(embedded.code, embedded.stderr).toBe(0);
    const out = join(work, 'q-anchored');
    const run = runCli(['analyze', '--pipeline', file, '-o', out, '--queue', queue]);
    expect(run.code, run.stderr).toBe(0);
    await expectSameAnalysis(out, join(work, 'anchored/analyze'));
    expect(linesOf(join(work, 'anchored/analyze'))).toBeGreaterThan(8);
  });

  it('Redis unreachable or refusing the password: a clear message within seconds, never the password', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    let started = Date.now();
    const unreachable = runCli(analyzeArgs('fast', join(work, 'q-nowhere')).concat('--queue', nowhere));
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`cannot reach Redis at ${nowhere}: connection refused`);
    expect(Date.now() - started).toBeLessThan(30_000);
    const lonely = runCli(['worker', '--queue', nowhere]);
    expect(lonely.code).toBe(1);
    expect(lonely.stderr).toContain(`cannot reach Redis at ${nowhere}`);

    const guarded = await startRedis({ password: 'the-right-one' });
    try {
      const wrong = `redis://:not-the-password-9f3@127.0.0.1:${guarded.port}`;
      started = Date.now();
      const refused = runCli(analyzeArgs('fast', join(work, 'q-wrongpass')).concat('--queue', wrong));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`Redis at redis://:***@127.0.0.1:${guarded.port} refused the password`);
      expect(refused.stderr + refused.stdout).not.toContain('not-the-password-9f3');
      expect(Date.now() - started).toBeLessThan(30_000);
      const refusedWorker = runCli(['worker', '--queue', wrong]);
      expect(refusedWorker.code).toBe(1);
      expect(refusedWorker.stderr + refusedWorker.stdout).not.toContain('not-the-password-9f3');
      const none = runCli(analyzeArgs('fast', join(work, 'q-nopass')).concat('--queue', `redis://127.0.0.1:${guarded.port}`));
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('needs a password');
      // And with the right password, the run goes through without the password in its files or log.
      const right = `redis://:the-right-one@127.0.0.1:${guarded.port}`;
      workers.push(startCli(['worker', '--root', work, '--queue', right, '--lock-seconds', '2']));
      const ok = runCli(analyzeArgs('fast', join(work, 'q-rightpass')).concat('--queue', right));
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stderr).not.toContain('the-right-one');
      for (const file of await readdir(join(work, 'q-rightpass'), { recursive: true })) {
        const path = join(work, 'q-rightpass', file);
        if (statSync(path).isFile()) expect(readFileSync(path).includes('the-right-one'), file).toBe(false);
      }
    } finally {
      await guarded.stop();
    }
  });

  it('Redis restarted mid-run without persistence: the lost jobs are enqueued again and the run completes', async () => {
    const own = await startRedis();
    try {
      const target = parseQueueUrl(own.url);
      workers.push(startCli(['worker', '--root', work, '--queue', own.url, '--lock-seconds', '2']));
      const out = join(work, 'q-restart');
      const coordinator = startCli(analyzeArgs('slow', out).concat('--queue', own.url));
      await until('two lines done', async () => ((await lineQueueStatus(target)).counts.completed >= 2 ? true : undefined));
      await own.restart();
      expect(await coordinator.exited, coordinator.output()).toBe(0);
      expect(coordinator.output()).toMatch(/line jobs are gone from .* enqueued again/);
      await expectSameAnalysis(out, reference.slow);
    } finally {
      await own.stop();
    }
  });
});
