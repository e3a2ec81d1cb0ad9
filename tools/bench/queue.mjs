// The analysis on a queue of BullMQ workers against the embedded analysis, on a real local redis-server:
//   - the analysis benchmark's workload (mlp-bn 784-500-350-10, 50 consecutive pairs × 11 α × 10,000
//     examples, batches of 500, BN batch mode, CPU provider) embedded, then on the queue with 1 and 2 local
//     workers: pairs per second from the coordinator's wall time (workers already running);
//   - the per-job overhead: many tiny lines (a 784-32-10 MLP on 20 examples) on the queue vs embedded;
//   - failover: a worker killed (kill -9) mid-job, the seconds until its job finishes on another worker.
// Every analysis writes its own folder and uses its own Redis database, so nothing is reused between them.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineQueueStatus, parseQueueUrl } from '@sgdwalk/queue';
import { startRedis } from '../redis/server.mjs';

const cli = new URL('../../packages/cli/bin/sgdwalk.js', import.meta.url).pathname;
const say = (m) => process.stderr.write(`${m}\n`);

function sgdwalk(args) {
  const start = performance.now();
  execFileSync(process.execPath, [cli, ...args, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - start) / 1000;
}

function startWorker(queue, lockSeconds = 30, extra = []) {
  const child = spawn(process.execPath, [cli, 'worker', '--root', tmpdir(), '--queue', queue, '--lock-seconds', String(lockSeconds), '--quiet', ...extra], { detached: true, stdio: 'ignore' });
  return child;
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until `count` workers are connected to the queue (their start-up is not part of the timing). */
async function connected(queue, count) {
  const deadline = Date.now() + 120_000;
  while ((await lineQueueStatus(parseQueueUrl(queue))).workers < count) {
    if (Date.now() > deadline) throw new Error(`${count} worker(s) did not connect to ${queue} within 120 s (run one by hand to see why)`);
    await sleep(200);
  }
}

async function trainedRun(root, name, pipeline) {
  const file = join(root, `${name}.json`);
  await writeFile(file, JSON.stringify({ ...pipeline, name, outDir: join(root, name) }));
  for (const stage of ['data', 'train']) sgdwalk([stage, '--pipeline', file]);
  return file;
}

export async function run(args) {
  const pairs = Number(args[0] ?? 50);
  const root = await mkdtemp(join(tmpdir(), 'sgdwalk-bench-queue-'));
  const redis = await startRedis();
  let db = 0;
  const workers = [];
  const stopWorkers = () => workers.splice(0).forEach(killGroup);
  try {
    say(`training ${pairs} steps of mlp-bn…`);
    const study = await trainedRun(root, 'study', {
      data: { dataset: 'mnist', limit: { train: 10_000, validation: 100, test: 100 } },
      train: { model: 'mlp-bn', maxSteps: pairs, backend: 'auto', checkpoints: { windows: [{ steps: [0, pairs] }], every: 0 } },
      analyze: { alphas: { from: 0, to: 1, step: 0.1 }, evalSet: { split: 'train', size: 10_000, seed: 0 }, evalBatchSize: 500, provider: 'cpu', barriers: { floor: false, lags: [] } },
    });
    const analyze = (file, out, queue) => sgdwalk(['analyze', '--pipeline', file, '-o', join(root, out), ...(queue ? ['--queue', queue] : [])]);
    const loadBefore = loadavg()[0];

    say('embedded…');
    const embedded = analyze(study, 'embedded');
    const onQueue = async (workerCount, extra = [], name = `queue-${workerCount}`) => {
      const queue = `${redis.url}/${++db}`;
      for (let i = 0; i < workerCount; i++) workers.push(startWorker(queue, 30, extra));
      await connected(queue, workerCount);
      say(`queue, ${workerCount} worker(s) ${extra.join(' ')}…`);
      const seconds = analyze(study, name, queue);
      stopWorkers();
      return seconds;
    };
    const one = await onQueue(1);
    const two = await onQueue(2);
    // One worker running two jobs at once: its children share the cores (the default, ⌊cores / 2⌋ threads
    // each) or each takes every core (--threads = cores, what every child did before --threads).
    const cores = availableParallelism();
    const shared = await onQueue(1, ['--concurrency', '2'], 'queue-c2-shared');
    const oversubscribed = await onQueue(1, ['--concurrency', '2', '--threads', String(cores)], 'queue-c2-all-cores');

    say('per-job overhead with tiny lines…');
    const tinyPairs = 200;
    const tiny = await trainedRun(root, 'tiny', {
      data: { dataset: 'mnist', limit: { train: 1000, validation: 100, test: 100 } },
      train: {
        model: { name: 'mlp-tiny', inputShape: [784], classes: 10, layers: [{ type: 'dense', units: 32 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 10 }, { type: 'softmax-cross-entropy' }] },
        batchSize: 50, maxSteps: tinyPairs, backend: 'auto', checkpoints: { windows: [{ steps: [0, tinyPairs] }], every: 0 },
      },
      analyze: { alphas: [0, 0.5, 1], evalSet: { split: 'train', size: 20, seed: 0 }, evalBatchSize: 20, provider: 'cpu', barriers: { floor: false, lags: [] } },
    });
    const tinyEmbedded = analyze(tiny, 'tiny-embedded');
    const tinyQueue = `${redis.url}/${++db}`;
    workers.push(startWorker(tinyQueue));
    await connected(tinyQueue, 1);
    const tinyOnQueue = analyze(tiny, 'tiny-queue', tinyQueue);
    stopWorkers();

    say('failover: a worker killed mid-job…');
    const lockSeconds = 5;
    const failQueue = `${redis.url}/${++db}`;
    const target = parseQueueUrl(failQueue);
    const doomed = startWorker(failQueue, lockSeconds);
    workers.push(startWorker(failQueue, lockSeconds));
    await connected(failQueue, 2);
    const coordinator = spawn(process.execPath, [cli, 'analyze', '--pipeline', study, '-o', join(root, 'failover'), '--queue', failQueue, '--quiet'], { stdio: 'ignore' });
    const finished = new Promise((resolve) => coordinator.on('exit', resolve));
    let status;
    do {
      await sleep(100);
      status = await lineQueueStatus(target);
    } while (status.counts.active < 2);
    // The job the doomed worker holds: it is one of the two active now; whichever ends up taken back is it.
    const killedAt = performance.now();
    killGroup(doomed);
    let failoverSeconds;
    while (failoverSeconds === undefined) {
      await sleep(100);
      const rescued = (await lineQueueStatus(target)).jobs.find((j) => j.stalledCounter >= 1 && j.state === 'completed');
      if (rescued) failoverSeconds = (performance.now() - killedAt) / 1000;
    }
    const exitCode = await finished;
    stopWorkers();
    const lineSeconds = one / pairs;

    const summary = JSON.parse(await readFile(join(root, 'queue-2', 'summary.json'), 'utf8'));
    return {
      benchmark: 'queue',
      workload: { model: 'mlp-bn 784-500-350-10', pairs, alphas: 11, evalExamples: 10_000, evalBatchSize: 500, bnMode: 'batch', provider: 'cpu', engine: 'fast' },
      protocol: 'wall time of `sgdwalk analyze` (process start, planning and file writing included) with the workers already connected; each run on its own Redis database and output folder, so nothing is reused',
      embedded: { seconds: embedded, pairsPerSecond: pairs / embedded },
      queue1Worker: { seconds: one, pairsPerSecond: pairs / one, overEmbedded: embedded / one },
      queue2Workers: { seconds: two, pairsPerSecond: pairs / two, overEmbedded: embedded / two, computedBy: summary.computedBy },
      concurrency2: {
        note: 'one worker, --concurrency 2: threads per job child shared out (default) against every core each',
        sharedThreads: { threadsPerJob: Math.max(1, Math.floor(cores / 2)), seconds: shared, pairsPerSecond: pairs / shared },
        allCoresEach: { threadsPerJob: cores, seconds: oversubscribed, pairsPerSecond: pairs / oversubscribed },
        sharedOverAllCores: oversubscribed / shared,
      },
      perJobOverhead: {
        lines: tinyPairs,
        embeddedSeconds: tinyEmbedded,
        queueSeconds: tinyOnQueue,
        msPerJob: ((tinyOnQueue - tinyEmbedded) / tinyPairs) * 1000,
        note: '784-32-10 MLP on 20 examples, 3 α: the difference per line between the queue (1 worker) and the embedded run',
      },
      failover: {
        lockSeconds,
        secondsFromKillToJobDoneElsewhere: failoverSeconds,
        jobSeconds: lineSeconds,
        coordinatorExitCode: exitCode,
        note: 'kill -9 of one of two workers while it held a job; the other takes it after the lock expires (--lock-seconds, default 30) and its stalled-job check runs',
      },
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version, loadAverage: { before: loadBefore, after: loadavg()[0] } },
    };
  } finally {
    stopWorkers();
    await redis.stop();
    await rm(root, { recursive: true, force: true });
  }
}
