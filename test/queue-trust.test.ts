import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineQueueStatus, parseQueueUrl } from '@sgdwalk/queue';
import { repoRoot, requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';
import { killGroup, startCli, until, type Proc } from './cli-processes.js';
import { redisServerAvailable, startRedis } from '../tools/redis/server.mjs';

/**
 * The queue as a trust boundary (issue 23 item 4) and a coordinator that never waits for ever on a Redis
 * gone for good (issue 24 item 2), against a real redis-server, real worker processes and real files:
 * jobs forged by hand as anyone who can write to the queue could (BullMQ's own client, the queue's name and
 * job names), each failing with one message that names the path or field and nothing a file holds, while
 * the worker stays healthy and keeps computing honest jobs.
 */

const available = redisServerAvailable();
if (!available && process.env.CI) throw new Error('redis-server is missing: .ci/run installs it (apt-get install redis-server)');

// BullMQ is the queue package's dependency; the forger uses the very client the coordinator uses.
// (BullMQ's types are not resolvable from here; the forger needs only these calls.)
interface ForgerQueue {
  add(name: string, data: unknown, opts: { jobId: string; attempts: number; backoff: { type: string; delay: number } }): Promise<unknown>;
  getJobState(id: string): Promise<string>;
  getJob(id: string): Promise<{ name: string; data: any; failedReason?: string; attemptsMade: number } | undefined>;
  getJobs(states: string[]): Promise<Array<{ name: string; data: any }>>;
  close(): Promise<void>;
}
const { Queue } = createRequire(join(repoRoot, 'packages/queue/package.json'))('bullmq') as {
  Queue: new (name: string, opts: { connection: { host: string; port: number; db: number } }) => ForgerQueue;
};
const QUEUE_NAME = 'sgdwalk-lines';





const SECRET = 'TOP-SECRET-7f2c';

describe.skipIf(!available)('queue jobs are inputs: a worker reads only under its roots, bounded, in time', () => {
  let work: string;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let queueUrl: string;
  let queue: ForgerQueue;
  let worker: Proc;
  /** A job the coordinator really enqueued (a line of the tiny run), to forge variations of. */
  let honest: { name: string; data: any };

  beforeAll(async () => {
    requireBuiltCli();
    work = await tempDir('queue-trust');
    const pipeline = join(work, 'p.json');
    writeFileSync(pipeline, JSON.stringify({ ...tinyPipeline({ analyze: { barriers: { floor: false, lags: [] } } }), name: 't', outDir: join(work, 'out') }));
    const trained = runCli(['run', '--pipeline', pipeline]);
    expect(trained.code, trained.stderr).toBe(0);
    // Files the forged jobs point at: a secret inside the root, a FIFO, a link out of the root.
    writeFileSync(join(work, 'secret.json'), `{"password": "${SECRET}"}`);
    spawnSync('mkfifo', [join(work, 'fifo')]);
    symlinkSync('/etc', join(work, 'etc-link'));
    mkdirSync(join(work, 'devices'));
    redis = await startRedis();
    queueUrl = `${redis.url}/1`;
    // Roots: the work folder, and /dev (so /dev/zero reaches the bounded reader, the second line of defence).
    worker = startCli(['worker', '--queue', queueUrl, '--root', work, '--root', '/dev', '--job-seconds', '3', '--lock-seconds', '2']);
    // An honest analysis through this worker: its jobs are the templates of the forged ones.
    const analyzed = runCli(['analyze', '--pipeline', pipeline, '-o', join(work, 'analyze-q'), '--queue', queueUrl]);
    expect(analyzed.code, analyzed.stderr + worker.output()).toBe(0);
    queue = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port, db: 1 } });
    const [job] = await queue.getJobs(['completed']);
    honest = { name: job.name, data: job.data };
  }, 600_000);

  afterAll(async () => {
    await queue?.close();
    if (worker) killGroup(worker);
    await redis?.stop();
  });

  let forged = 0;
  /** Add a job as an intruder would, and wait until it has finished: its state and reason. */
  async function forge(name: string, data: unknown): Promise<{ state: string; reason: string; attempts: number; ms: number }> {
    const id = `forged-${++forged}`;
    const started = Date.now();
    await queue.add(name, data, { jobId: id, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    return until(`job ${id} to finish`, async () => {
      const state = await queue.getJobState(id);
      if (state !== 'completed' && state !== 'failed') return undefined;
      // Read after it has finished: a job read while active has no reason yet.
      const job = await queue.getJob(id);
      return { state, reason: job!.failedReason ?? '', attempts: job!.attemptsMade, ms: Date.now() - started };
    }, 90_000);
  }
  const withSpec = (spec: Record<string, unknown>) => ({ ...honest.data, spec: { ...honest.data.spec, ...spec } });
  const firstStep = () => Object.keys(honest.data.checkpoints)[0];
  const withCheckpointDir = (dir: string) => ({ ...honest.data, checkpoints: { ...honest.data.checkpoints, [firstStep()]: { ...honest.data.checkpoints[firstStep()], dir } } });
  const surfaceRow = (file: string) => ({
    spec: honest.data.spec,
    surfaceRow: { key: 'k'.repeat(64), planeKey: 'p'.repeat(64), plane: { file, sha256: '0'.repeat(64), line: true }, aRange: [0, 1], bRange: [0, 0], row: { b: 0, as: [0, 0.5, 1] } },
  });

  it('an honest job forged again completes: the forger\'s jobs reach the worker', async () => {
    const result = await forge(honest.name, honest.data);
    expect(result.state, result.reason).toBe('completed');
  });

  it('run, data or checkpoint folders outside the roots (/etc, ../../.., a link out): the job fails at once naming the path', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [withSpec({ runDir: '/etc' }), /the job's run folder \/etc is outside the worker's roots/],
      [withSpec({ dataDir: `${work}/../../..` }), /the job's data folder \S+\/\.\.\/\.\.\/\.\. is outside the worker's roots/],
      [withCheckpointDir(join(work, 'etc-link')), /the job's checkpoint folder of step \d+ \S+etc-link is a link leading outside the worker's roots/],
      [surfaceRow('/etc/passwd'), /the job's plane file \/etc\/passwd is outside the worker's roots/],
    ];
    for (const [data, message] of cases) {
      const result = await forge((data as { surfaceRow?: unknown }).surfaceRow ? 'surface-row' : 'line', data);
      expect(result.state).toBe('failed');
      expect(result.reason).toMatch(message);
      // Refused for what it is: not tried again.
      expect(result.attempts).toBe(1);
      expect(result.reason).not.toMatch(/root:x:0:0/);
    }
  });

  it('a plane file that is /dev/zero or a FIFO is refused by type before a byte is read; a foreign file by its hash, never quoted', async () => {
    for (const [file, message] of [
      ['/dev/zero', /\/dev\/zero: plane file is not a regular file \(a character device\)/],
      [join(work, 'fifo'), /fifo: plane file is not a regular file \(a FIFO\)/],
      [join(work, 'secret.json'), /secret\.json: not the plane file the analysis wrote \(its sha256 is not 000000000000…/],
    ] as const) {
      const result = await forge('surface-row', surfaceRow(file));
      expect(result.state).toBe('failed');
      expect(result.reason).toMatch(message);
      expect(result.reason).not.toContain(SECRET);
      expect(result.ms).toBeLessThan(30_000);
    }
  });

  it('a run folder inside the roots whose files are not what they should be: the failure quotes nothing of them', async () => {
    // The secret file as the run's run.json: the reader's JSON error must not carry its text.
    const fake = join(work, 'fake-run');
    mkdirSync(fake);
    writeFileSync(join(fake, 'run.json'), `${SECRET} is not JSON`);
    writeFileSync(join(fake, 'manifest.json'), `${SECRET} is not JSON`);
    const result = await forge('line', withSpec({ runDir: fake }));
    expect(result.state).toBe('failed');
    expect(result.reason).toContain(fake);
    expect(result.reason).not.toContain(SECRET);
    expect(result.reason).not.toContain(SECRET.slice(0, 8));
  });

  it('a job that is not the schema fails at once naming the field; one of another name too', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['line', { spec: 'x' }, /not a valid line job: field "spec"/],
      ['line', { ...honest.data, line: { ...honest.data.line, alphas: Array(200_000).fill(0) } }, /not a valid line job: field "line\.alphas"/],
      ['line', withSpec({ runDir: 'relative/run' }), /field "spec\.runDir": must be an absolute path/],
      ['line', { ...honest.data, extra: SECRET }, /not a valid line job: field "\(root\)": Unrecognized key/],
      ['evil', honest.data, /not a job of sgdwalk/],
    ];
    for (const [name, data, message] of cases) {
      const result = await forge(name, data);
      expect(result.state).toBe('failed');
      expect(result.reason).toMatch(message);
      expect(result.attempts).toBe(1);
    }
  });

  it('a job past the time limit fails, its process is ended, and the worker goes on with honest jobs', async () => {
    // The honest line with as many α values as a job may hold (job-schema.ts), one example per engine run:
    // far past the worker's 3 s on any machine (90,000 α in 10 s held only while the machine was loaded).
    const alphas = Array.from({ length: 100_000 }, (_, i) => i / 100_000);
    const result = await forge('line', { ...honest.data, spec: { ...honest.data.spec, evalBatchSize: 1 }, line: { ...honest.data.line, alphas } });
    expect(result.state).toBe('failed');
    expect(result.reason).toMatch(/ran past the worker's time limit of 3 s \(--job-seconds\); its process was ended/);
    expect(result.attempts).toBe(1);
    const after = await forge(honest.name, honest.data);
    expect(after.state, after.reason).toBe('completed');
    const status = await lineQueueStatus(parseQueueUrl(queueUrl));
    expect(status.counts.active).toBe(0);
    expect(status.workers).toBe(1);
    expect(worker.child.exitCode).toBeNull();
  });
});

describe.skipIf(!available)('the coordinator with Redis gone for good', () => {
  it('stops after the outage limit with "run the same command again", exit 1, instead of waiting for ever', async () => {
    const work = await tempDir('queue-lost');
    const pipeline = join(work, 'p.json');
    writeFileSync(pipeline, JSON.stringify({ ...tinyPipeline({ analyze: { barriers: { floor: false, lags: [] } } }), name: 'l', outDir: join(work, 'out') }));
    const trained = runCli(['run', '--pipeline', pipeline]);
    expect(trained.code, trained.stderr).toBe(0);
    // A dense α grid, so the analysis is still running when Redis goes.
    const dense = join(work, 'dense.json');
    writeFileSync(dense, JSON.stringify({ ...tinyPipeline({ analyze: { alphas: { from: -2, to: 3, step: 0.002 }, barriers: { floor: false, lags: [] } } }), name: 'l', outDir: join(work, 'out') }));
    const redis = await startRedis();
    const worker = startCli(['worker', '--queue', redis.url, '--root', work, '--lock-seconds', '2']);
    const coordinator = startCli(['analyze', '--pipeline', dense, '--run', join(work, 'out/train'), '-o', join(work, 'analyze-q'), '--queue', redis.url]);
    try {
      await until('a line to be done', async () => ((await lineQueueStatus(parseQueueUrl(redis.url))).counts.completed >= 1 ? true : undefined), 120_000);
      await redis.stop();
      const lost = Date.now();
      const code = await Promise.race([coordinator.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 90_000))]);
      expect(code, coordinator.output()).toBe(1);
      const seconds = (Date.now() - lost) / 1000;
      // 30 s of silence (counted from the last answer, up to one 2 s poll before the kill), a poll of at
      // least 1 s past it, and at most 5 s of goodbye; slack for a loaded machine.
      expect(seconds).toBeGreaterThanOrEqual(27);
      expect(seconds).toBeLessThan(50);
      expect(coordinator.output()).toMatch(/lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+ for \d+ s \(.*\); run the same command again to finish/);
      expect(coordinator.output()).not.toMatch(/internal error|\n\s+at /);
    } finally {
      killGroup(coordinator);
      killGroup(worker);
      await redis.stop();
    }
  }, 400_000);
});
