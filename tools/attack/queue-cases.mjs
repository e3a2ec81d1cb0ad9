// The queue as a trust boundary (issue 23 item 4): jobs forged as anyone who can write to the Redis queue
// could, each handed to a real `sgdwalk worker` (roots: the tiny run's folders and a scratch folder, job
// time limit 10 s). A case is clean when its job fails at once (or, for the time limit, when the limit
// ends it) with one message naming the path or field, nothing a file holds appears in it, nothing is
// written, and the worker is still there and computes an honest job afterwards.
//
// The runner (tools/attack/index.mjs) imports `cases`; `node tools/attack/queue-cases.mjs` runs them alone.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const QUEUE_NAME = 'sgdwalk-lines';
const SECRET = 'TOP-SECRET-a41d';
// Past an honest line here by far, and far short of the forged line below (100,000 α, one example a run).
const JOB_SECONDS = 3;

/** BullMQ as the queue package has it: the forger uses the coordinator's own client. */
function bullmq(root) {
  return createRequire(join(root, 'packages/queue/package.json'))('bullmq');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every file under the folders, with its size and mtime: what a case wrote shows as a difference. */
function listing(dirs) {
  const seen = new Map();
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) {
        const s = statSync(path);
        seen.set(path, `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  dirs.forEach(walk);
  return seen;
}

function written(before, after) {
  return [...after].filter(([path, stamp]) => before.get(path) !== stamp).map(([path]) => path);
}

let shared;

/**
 * Once per run of the cases: the tiny run analysed on a real queue through one worker (so an honest job,
 * with its real paths and checkpoint hashes, is there to forge variations of), and the files the forged
 * jobs point at: a secret in the scratch folder, a FIFO, a link out of the roots.
 */
function setup(ctx) {
  shared ??= (async () => {
    const { pipeline, out } = await ctx.tinyRun();
    const redis = await ctx.redis();
    const scratch = await ctx.tmp();
    writeFileSync(join(scratch, 'secret.json'), `{"password": "${SECRET}"}`);
    spawnSync('mkfifo', [join(scratch, 'fifo')]);
    symlinkSync('/etc', join(scratch, 'etc-link'));
    const fakeRun = join(scratch, 'fake-run');
    mkdirSync(fakeRun);
    for (const file of ['run.json', 'manifest.json']) writeFileSync(join(fakeRun, file), `${SECRET} is not JSON`);
    const roots = [...new Set([dirname(pipeline), out, scratch])];
    const log = join(scratch, 'worker.log');
    const worker = spawn(process.execPath, [join(ctx.root, 'packages/cli/bin/sgdwalk.js'), 'worker', '--queue', redis.url, '--lock-seconds', '2', '--job-seconds', String(JOB_SECONDS), ...roots.flatMap((r) => ['--root', r])], {
      cwd: scratch, detached: true, stdio: 'ignore',
    });
    worker.unref();
    const exited = new Promise((resolve) => worker.on('exit', (code, signal) => resolve({ code, signal })));
    const stop = () => {
      try {
        process.kill(-worker.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    };
    process.once('exit', () => {
      stop();
      void redis.stop();
    });
    const analyzed = await ctx.sgdwalk(['analyze', '--pipeline', pipeline, '--out', out, '-o', join(scratch, 'analyze-q'), '--queue', redis.url], { cwd: scratch, timeoutMs: 600_000 });
    if (analyzed.code !== 0) throw new Error(`the honest analysis on the queue failed (${analyzed.code}): ${analyzed.stderr.trim().split('\n').pop()}`);
    const { Queue } = bullmq(ctx.root);
    const url = new URL(redis.url);
    const connection = { host: url.hostname, port: Number(url.port), password: url.password ? decodeURIComponent(url.password) : undefined, db: Number(url.pathname.slice(1) || 0) };
    const probe = new Queue(QUEUE_NAME, { connection });
    const [template] = await probe.getJobs(['completed']);
    await probe.close();
    if (!template) throw new Error('the honest analysis left no completed job to forge from');
    return { redis, connection, roots, out, scratch, fakeRun, worker, exited, log, honest: { name: template.name, data: template.data } };
  })();
  return shared;
}

let forged = 0;

/**
 * Add a forged job and wait until it finishes; then `sgdwalk queue` (the user's view) and an honest job
 * to show the worker still works. The case's message is the `sgdwalk queue` line of the forged job.
 */
async function forge(ctx, name, data, expected, { final = true } = {}) {
  const s = await setup(ctx);
  const { Queue } = bullmq(ctx.root);
  const queue = new Queue(QUEUE_NAME, { connection: s.connection });
  const id = `f${++forged}-${process.pid}-forged`;
  const watched = [s.out, s.scratch];
  const before = listing(watched);
  try {
    await queue.add(name, data, { jobId: id, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    const deadline = Date.now() + (JOB_SECONDS + 60) * 1000;
    let state;
    for (;;) {
      state = await (await queue.getJob(id)).getState();
      if (state === 'completed' || state === 'failed' || Date.now() > deadline) break;
      await sleep(100);
    }
    const job = await queue.getJob(id);
    const shown = await ctx.sgdwalk(['queue', '--queue', s.redis.url], { cwd: s.scratch, timeoutMs: 60_000 });
    const message = shown.stdout.split('\n').find((line) => line.startsWith(`failed ${id.slice(0, 12)}`)) ?? `(job ${state}) ${job.failedReason ?? ''}`;
    // The worker goes on: an honest job (a new id, the same work) completes.
    const honestId = `honest-after-${id}`;
    await queue.add(s.honest.name, s.honest.data, { jobId: honestId, attempts: 1 });
    let honestState;
    for (const until = Date.now() + 120_000; Date.now() < until; await sleep(100)) {
      honestState = await (await queue.getJob(honestId)).getState();
      if (honestState === 'completed' || honestState === 'failed') break;
    }
    const wrote = written(before, listing(watched));
    const workerAlive = s.worker.exitCode === null && s.worker.signalCode === null;
    const clean = state === 'failed' && expected.test(job.failedReason ?? '') && (!final || job.attemptsMade === 1)
      && !(job.failedReason ?? '').includes(SECRET) && !/root:x:0:0/.test(job.failedReason ?? '')
      && wrote.length === 0 && workerAlive && honestState === 'completed';
    return { exit: shown.code, message, written: wrote, clean };
  } finally {
    await queue.close();
  }
}

const withSpec = (honest, spec) => ({ ...honest.data, spec: { ...honest.data.spec, ...spec } });
const withCheckpointDir = (honest, dir) => {
  const [step] = Object.keys(honest.data.checkpoints);
  return { ...honest.data, checkpoints: { ...honest.data.checkpoints, [step]: { ...honest.data.checkpoints[step], dir } } };
};
const surfaceRow = (honest, file) => ({
  spec: honest.data.spec,
  surfaceRow: { key: 'k'.repeat(64), planeKey: 'p'.repeat(64), plane: { file, sha256: '0'.repeat(64), line: true }, aRange: [0, 1], bRange: [0, 0], row: { b: 0, as: [0, 0.5, 1] } },
});

export const cases = [
  {
    name: 'queue: surface-row job whose plane file is /dev/zero',
    run: async (ctx) => forge(ctx, 'surface-row', surfaceRow((await setup(ctx)).honest, '/dev/zero'), /plane file \/dev\/zero is outside the worker's roots/),
  },
  {
    name: 'queue: surface-row job whose plane file is a FIFO inside a root',
    run: async (ctx) => {
      const s = await setup(ctx);
      // A reader's refusal (the file may be fixed), so tried again like a corrupt checkpoint; each try refused at once.
      return forge(ctx, 'surface-row', surfaceRow(s.honest, join(s.scratch, 'fifo')), /plane file is not a regular file \(a FIFO\)/, { final: false });
    },
  },
  {
    name: 'queue: surface-row job whose plane file is a secret inside a root',
    run: async (ctx) => {
      const s = await setup(ctx);
      return forge(ctx, 'surface-row', surfaceRow(s.honest, join(s.scratch, 'secret.json')), /secret\.json: not the plane file the analysis wrote/, { final: false });
    },
  },
  {
    name: 'queue: line job whose run folder is /etc',
    run: async (ctx) => forge(ctx, 'line', withSpec((await setup(ctx)).honest, { runDir: '/etc' }), /run folder \/etc is outside the worker's roots/),
  },
  {
    name: 'queue: line job whose data folder is <run>/../../../..',
    run: async (ctx) => {
      const { honest } = await setup(ctx);
      return forge(ctx, 'line', withSpec(honest, { dataDir: `${honest.data.spec.runDir}/../../../..` }), /data folder \S+\/\.\.\/\.\.\/\.\.\/\.\. is outside the worker's roots/);
    },
  },
  {
    name: 'queue: line job whose checkpoint folder is /etc',
    run: async (ctx) => forge(ctx, 'line', withCheckpointDir((await setup(ctx)).honest, '/etc'), /checkpoint folder of step \d+ \/etc is outside the worker's roots/),
  },
  {
    name: 'queue: line job whose checkpoint folder is a link inside a root to /etc',
    run: async (ctx) => {
      const s = await setup(ctx);
      return forge(ctx, 'line', withCheckpointDir(s.honest, join(s.scratch, 'etc-link')), /etc-link is a link leading outside the worker's roots/);
    },
  },
  {
    name: 'queue: line job whose run folder (inside a root) holds a secret as run.json',
    run: async (ctx) => {
      const s = await setup(ctx);
      // A reader's failure, not a refusal: it may be tried again, but it names the folder and quotes nothing.
      return forge(ctx, 'line', withSpec(s.honest, { runDir: s.fakeRun }), /fake-run/, { final: false });
    },
  },
  {
    name: 'queue: a job that is not the schema',
    run: async (ctx) => forge(ctx, 'line', { spec: 'x', line: 42 }, /not a valid line job: field "spec"/),
  },
  {
    name: 'queue: a job of another name',
    run: async (ctx) => forge(ctx, 'evil', (await setup(ctx)).honest.data, /not a job of sgdwalk/),
  },
  {
    name: `queue: a job over the time limit (${JOB_SECONDS} s)`,
    run: async (ctx) => {
      const { honest } = await setup(ctx);
      // As many α as a job may hold, one example per engine run (both within the schema): far past the limit.
      const alphas = Array.from({ length: 100_000 }, (_, i) => i / 100_000);
      const spec = { ...honest.data.spec, evalBatchSize: 1 };
      return forge(ctx, 'line', { ...honest.data, spec, line: { ...honest.data.line, alphas } }, new RegExp(`ran past the worker's time limit of ${JOB_SECONDS} s`));
    },
  },
];

/** A context of our own for a trial run without the runner: the same interface, built from the repository. */
async function standaloneContext() {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const cli = join(root, 'packages/cli/bin/sgdwalk.js');
  const { startRedis } = await import('../redis/server.mjs');
  const sgdwalk = (args, { cwd = root, env = {}, timeoutMs = 300_000 } = {}) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  const tmp = () => mkdtemp(join(tmpdir(), 'sgdwalk-attack-queue-'));
  let tiny;
  return {
    root,
    sgdwalk,
    tmp,
    redis: () => startRedis(),
    tinyRun: () => (tiny ??= (async () => {
      const dir = await tmp();
      const out = join(dir, 'out');
      const pipeline = join(dir, 'tiny.json');
      writeFileSync(pipeline, JSON.stringify({
        name: 'tiny', outDir: out,
        data: { dataset: 'mnist', limit: { train: 600, validation: 100, test: 100 } },
        train: {
          model: { name: 'mlp-tiny', inputShape: [784], classes: 10, layers: [{ type: 'dense', units: 32 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 10 }, { type: 'softmax-cross-entropy' }] },
          lr: 0.1, batchSize: 50, epochs: 1, maxSteps: 8, backend: 'cpu', checkpoints: { windows: [{ steps: [1, 8] }], every: 0 },
        },
        analyze: { alphas: { from: 0, to: 1, step: 0.25 }, evalSet: { split: 'train', size: 200, seed: 0 }, evalBatchSize: 100, barriers: { floor: false, lags: [] } },
        report: { curvesPairs: 8 },
      }));
      const ran = await sgdwalk(['run', '--pipeline', pipeline], { cwd: dir, timeoutMs: 600_000 });
      if (ran.code !== 0) throw new Error(`the tiny run failed: ${ran.stderr}`);
      return { pipeline, out };
    })()),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ctx = await standaloneContext();
  let dirty = 0;
  for (const c of cases) {
    let r;
    try {
      r = await c.run(ctx);
    } catch (error) {
      r = { exit: null, message: `case failed to run: ${error.message}`, written: [], clean: false };
    }
    if (!r.clean) dirty++;
    process.stdout.write(`${c.name} | exit ${r.exit} | ${r.message} | written: ${r.written.length ? r.written.join(', ') : 'none'} | ${r.clean ? 'clean' : 'NOT CLEAN'}\n`);
  }
  process.exit(dirty === 0 ? 0 : 1);
}
