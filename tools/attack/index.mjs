#!/usr/bin/env node
/**
 * tools/attack: replays issue 23's list (and issue 24's folder cases) against the built CLI, as a hostile
 * but fair user would, and prints one line per case: verdict, case, exit code, files written, message.
 * Exits 1 if any case is not clean. Run after `npx nx run-many -t build`:
 *
 *   node tools/attack/index.mjs [name-substring …]
 *
 * Case modules. This file holds the cases of the stage folders, bounded inputs and silent truths; the
 * queue's and the importer's cases live in tools/attack/queue-cases.mjs and tools/attack/import-cases.mjs,
 * loaded when present. Every module has this interface:
 *
 *   export const cases = [{ name: string, async run(ctx) { return { exit, message, written, clean } } }]
 *
 * where `exit` is the exit code (or null), `message` the one line the user saw, `written` the files created
 * or changed outside the case's temp folders' expected outputs, `clean` a boolean verdict; and `ctx` has
 *   ctx.sgdwalk(args, { cwd, env, timeoutMs }) → Promise<{ code, signal, stdout, stderr }>  (runs packages/cli's built bin)
 *   ctx.tmp() → Promise<string>             (a fresh folder, removed at the end)
 *   ctx.tinyRun() → Promise<{ pipeline, out }>  (a tiny synthetic-data pipeline file already run through
 *                                            data+train+analyze, shared by all cases, not to be modified — copy it first)
 *   ctx.redis() → Promise<{ url, stop() }>  (a real redis-server on a free loopback port, via tools/redis/server.mjs)
 *   ctx.root                                (the repository root)
 * and, for convenience, ctx.lastLine(result) (the last non-empty line of stderr, else stdout) and
 * ctx.snapshot(dir) / ctx.changed(before, after) (files of a folder by size and mtime; the paths that differ).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, lstat, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../redis/server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(root, 'packages/cli/bin/sgdwalk.js');

/** The tiny pipeline every case starts from: synthetic data (no download), a 16-input MLP, 6 steps. */
export const TINY_PIPELINE = {
  name: 'tiny',
  data: { dataset: 'synthetic', synthetic: { imageShape: [4, 4, 1], classes: 3, counts: { train: 300, validation: 60, test: 60 } } },
  train: {
    model: { name: 'mlp-t', inputShape: [16], classes: 3, layers: [{ type: 'dense', units: 8 }, { type: 'relu' }, { type: 'dense', units: 3 }, { type: 'softmax-cross-entropy' }] },
    lr: 0.1, batchSize: 50, epochs: 1, maxSteps: 6, backend: 'cpu', checkpoints: { windows: [{ steps: [1, 6] }], every: 0 },
  },
  analyze: { alphas: { from: 0, to: 1, step: 0.25 }, evalSet: { split: 'train', size: 100, seed: 0 }, evalBatchSize: 100, provider: 'cpu' },
  report: { curvesPairs: 6 },
};

function run(args, { cwd = root, env = {}, timeoutMs = 300_000 } = {}) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

const lastLine = (r) => (r.stderr.trim() || r.stdout.trim()).split('\n').filter(Boolean).pop() ?? '';

/** Every file under a folder (dot-names too) with its size and mtime. */
async function snapshot(dir) {
  const out = new Map();
  const walk = async (d) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const s = await lstat(p);
        out.set(relative(dir, p), `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  await walk(dir);
  return out;
}

const changed = (before, after) => [...after].filter(([p, v]) => before.get(p) !== v).map(([p]) => p).concat([...before.keys()].filter((p) => !after.has(p)).map((p) => `-${p}`));

/** One line of a failure the user sees: the CLI's own, never a V8 dump or a stack trace. */
const oneCleanLine = (r) => r.code === 1 && /^sgdwalk: error: /m.test(r.stderr) && !/FATAL ERROR|\n\s+at |internal error/.test(r.stderr);

async function writePipeline(dir, pipeline, name = 'tiny.json') {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(pipeline, null, 2));
  return file;
}

/** A copy of the shared tiny run (pipeline and out/) in a fresh folder, for a case to change. */
async function copyRun(ctx) {
  const { pipeline, out } = await ctx.tinyRun();
  const dir = await ctx.tmp();
  await cp(pipeline, join(dir, 'tiny.json'));
  await cp(out, join(dir, 'out'), { recursive: true });
  return { dir, pipeline: join(dir, 'tiny.json'), out: join(dir, 'out') };
}

/** A config case: the tiny pipeline with one change, validated by `sgdwalk analyze`/`train`: one line naming the field. */
function configCase(name, change, stage, field) {
  return {
    name,
    async run(ctx) {
      const { dir, pipeline, out } = await copyRun(ctx);
      const raw = JSON.parse(await readFile(pipeline, 'utf8'));
      change(raw);
      await writeFile(pipeline, JSON.stringify(raw));
      const before = await snapshot(dir);
      // Generous: on a loaded machine loading the CLI alone can take tens of seconds.
      const r = await ctx.sgdwalk([stage, '--pipeline', pipeline, '--out', out, '-q'], { cwd: dir, timeoutMs: 180_000 });
      const written = changed(before, await snapshot(dir)).filter((p) => p !== 'tiny.json');
      return { exit: r.code, message: lastLine(r), written, clean: oneCleanLine(r) && r.stderr.includes(`field "${field}"`) && written.length === 0 };
    },
  };
}

/**
 * Issue 23 item 1: `writers` processes of one stage into one folder, started together, `rounds` times;
 * each round: every exit is 0 or the lock's one line, at least one succeeded, and the folder verifies.
 */
function concurrentCase(stage, argsOf, { writers = 2, rounds = 3 } = {}) {
  return {
    name: `two ${stage} writers into one folder (${rounds} rounds)`,
    async run(ctx) {
      const { dir, pipeline, out } = await copyRun(ctx);
      const target = join(out, stage === 'export' ? 'exported' : stage);
      let message = '';
      for (let round = 0; round < rounds; round++) {
        const results = await Promise.all(Array.from({ length: writers }, () => ctx.sgdwalk(argsOf({ pipeline, out, target }), { cwd: dir })));
        const refused = results.filter((r) => r.code !== 0);
        if (refused.length > 0) message = lastLine(refused[0]);
        const bad = refused.find((r) => !(oneCleanLine(r) && /another sgdwalk is writing/.test(r.stderr)));
        if (bad || refused.length === writers) return { exit: (bad ?? refused[0]).code, message: lastLine(bad ?? refused[0]), written: [], clean: false };
        if (stage !== 'export') {
          const v = await ctx.sgdwalk(['verify', target], { cwd: dir });
          if (v.code !== 0) return { exit: v.code, message: `round ${round}: ${lastLine(v)}`, written: [], clean: false };
        }
      }
      const leftovers = (await readdir(dirname(target))).filter((n) => n.startsWith(`.${target.split('/').pop()}.`));
      return { exit: 0, message: message || 'all writers succeeded one after another', written: leftovers, clean: leftovers.length === 0 };
    },
  };
}

export const cases = [
  concurrentCase('analyze', ({ pipeline, out }) => ['analyze', '--pipeline', pipeline, '--out', out, '-q']),
  concurrentCase('data', ({ pipeline, out }) => ['data', '--pipeline', pipeline, '--out', out, '-q']),
  concurrentCase('train', ({ pipeline, out }) => ['train', '--pipeline', pipeline, '--out', out, '-q'], { rounds: 2 }),
  concurrentCase('report', ({ pipeline, out }) => ['report', '--pipeline', pipeline, '--out', out, '-q']),
  concurrentCase('export', ({ out, target }) => ['export', join(out, 'train'), '-o', target, '-q']),
  {
    name: 'a stale lock (holder killed) is taken over',
    async run(ctx) {
      const { dir, pipeline, out } = await copyRun(ctx);
      // A real process that held the lock and died: its pid is free now.
      const dead = spawn(process.execPath, ['-e', '0']);
      await new Promise((r) => dead.on('exit', r));
      const host = (await import('node:os')).hostname();
      await writeFile(join(out, '.report.lock'), JSON.stringify({ pid: dead.pid, host, since: new Date().toISOString(), command: 'sgdwalk report', token: 'dead' }));
      const r = await ctx.sgdwalk(['report', '--pipeline', pipeline, '--out', out, '-q'], { cwd: dir });
      const v = await ctx.sgdwalk(['verify', join(out, 'report')], { cwd: dir });
      return { exit: r.code, message: lastLine(r) || lastLine(v), written: existsSync(join(out, '.report.lock')) ? ['out/.report.lock'] : [], clean: r.code === 0 && v.code === 0 && !existsSync(join(out, '.report.lock')) };
    },
  },
  {
    name: "a stage never replaces a folder sgdwalk did not write (thesis.tex)",
    async run(ctx) {
      const { dir, pipeline } = await copyRun(ctx);
      const proj = join(dir, 'proj');
      await rm(proj, { recursive: true, force: true });
      await (await import('node:fs/promises')).mkdir(join(proj, 'train'), { recursive: true });
      await writeFile(join(proj, 'train/thesis.tex'), 'x');
      const r = await ctx.sgdwalk(['train', '--pipeline', pipeline, '--out', proj, '-q'], { cwd: dir });
      const kept = existsSync(join(proj, 'train/thesis.tex'));
      return { exit: r.code, message: lastLine(r), written: [], clean: oneCleanLine(r) && /--overwrite/.test(r.stderr) && kept };
    },
  },
  {
    name: 'cd sub && sgdwalk run --pipeline ../pipeline.json stays inside out/',
    async run(ctx) {
      const dir = await ctx.tmp();
      const { name: _name, ...unnamed } = TINY_PIPELINE;
      await writePipeline(dir, unnamed, 'pipeline.json');
      await (await import('node:fs/promises')).mkdir(join(dir, 'sub/data'), { recursive: true });
      await writeFile(join(dir, 'sub/data/mine.txt'), 'x');
      const before = await snapshot(dir);
      const r = await ctx.sgdwalk(['run', '--pipeline', '../pipeline.json', '-q'], { cwd: join(dir, 'sub'), timeoutMs: 180_000 });
      const written = changed(before, await snapshot(dir));
      return { exit: r.code, message: lastLine(r), written, clean: oneCleanLine(r) && written.length === 0 };
    },
  },
  configCase('α grid {from: 0, to: 1, step: 1e-9}', (p) => (p.analyze.alphas = { from: 0, to: 1, step: 1e-9 }), 'analyze', 'analyze.alphas.step'),
  configCase('alphas ["NaN", "abc"]', (p) => (p.analyze.alphas = ['NaN', 'abc']), 'analyze', 'analyze.alphas[0]'),
  configCase('surface grid 100000 × 100000', (p) => (p.analyze.surfaces = [{ grid: { size: [100000, 100000] } }]), 'analyze', 'analyze.surfaces[0].grid.size[0]'),
  configCase('evalSet.size 1e12', (p) => (p.analyze.evalSet.size = 1e12), 'analyze', 'analyze.evalSet.size'),
  configCase('initLine with 1e9 points', (p) => (p.analyze.initLine = { points: 1e9 }), 'analyze', 'analyze.initLine.points'),
  configCase('a checkpoint window of 1e9 steps', (p) => (p.train.checkpoints.windows = [{ steps: [0, 1e9] }]), 'train', 'train.checkpoints.windows[0].steps'),
  configCase('synthetic images 100000 × 100000', (p) => (p.data.synthetic.imageShape = [100000, 100000, 1]), 'data', 'data.synthetic.imageShape[0]'),
  ...['index.json', 'shard-000000.arrow'].flatMap((file) => [
    {
      name: `checkpoints/${file} is /dev/zero (verify, analyze --run)`,
      async run(ctx) {
        const { dir, pipeline, out } = await copyRun(ctx);
        const path = join(out, 'train/checkpoints', file);
        await rm(path);
        await symlink('/dev/zero', path);
        const v = await ctx.sgdwalk(['verify', join(out, 'train')], { cwd: dir, timeoutMs: 180_000 });
        const a = await ctx.sgdwalk(['analyze', '--pipeline', pipeline, '--run', join(out, 'train'), '-o', join(dir, 'a2'), '-q'], { cwd: dir, timeoutMs: 180_000 });
        const refused = (r) => /not a regular file \(a character device\)/.test(r.stdout + r.stderr);
        return { exit: a.code, message: lastLine(a), written: existsSync(join(dir, 'a2')) ? ['a2'] : [], clean: v.code === 1 && refused(v) && oneCleanLine(a) && refused(a) && !existsSync(join(dir, 'a2')) };
      },
    },
  ]),
  {
    name: 'checkpoints/index.json of 65 MiB (sparse)',
    async run(ctx) {
      const { dir, out } = await copyRun(ctx);
      const path = join(out, 'train/checkpoints/index.json');
      await truncate(path, 65 * 2 ** 20);
      const v = await ctx.sgdwalk(['verify', join(out, 'train')], { cwd: dir, timeoutMs: 180_000 });
      return { exit: v.code, message: (v.stdout.split('\n').find((l) => l.includes('index.json')) ?? lastLine(v)), written: [], clean: v.code === 1 && /over the limit of 67108864/.test(v.stdout) };
    },
  },
  {
    name: 'evalSet.size 5000 of a 300-example split is said and recorded',
    async run(ctx) {
      const { dir, pipeline, out } = await copyRun(ctx);
      const raw = JSON.parse(await readFile(pipeline, 'utf8'));
      raw.analyze.evalSet.size = 5000;
      await writeFile(pipeline, JSON.stringify(raw));
      const r = await ctx.sgdwalk(['analyze', '--pipeline', pipeline, '--out', out], { cwd: dir });
      const note = r.stderr.split('\n').find((l) => l.includes('analyze.evalSet.size')) ?? '';
      const summary = JSON.parse(await readFile(join(out, 'analyze/summary.json'), 'utf8'));
      return { exit: r.code, message: note || lastLine(r), written: [], clean: r.code === 0 && /holds 300 examples/.test(note) && summary.evalSetSize === 300 };
    },
  },
  {
    name: 'a checkpoint window past the last step is said',
    async run(ctx) {
      const { dir, pipeline, out } = await copyRun(ctx);
      const raw = JSON.parse(await readFile(pipeline, 'utf8'));
      raw.train.checkpoints.windows = [{ steps: [1, 100] }];
      await writeFile(pipeline, JSON.stringify(raw));
      const r = await ctx.sgdwalk(['train', '--pipeline', pipeline, '--out', out], { cwd: dir });
      const note = r.stderr.split('\n').find((l) => l.includes('windows[0]')) ?? '';
      return { exit: r.code, message: note || lastLine(r), written: [], clean: r.code === 0 && /after the run's last step 6/.test(note) };
    },
  },
  {
    // The projection engineer's change makes this clean (a step count and time up front, refused unless
    // forced); on a branch without it the run starts and is killed here after 20 s.
    name: 'epochs: 1e9 without maxSteps',
    async run(ctx) {
      const { dir, pipeline, out } = await copyRun(ctx);
      const raw = JSON.parse(await readFile(pipeline, 'utf8'));
      raw.train.epochs = 1e9;
      delete raw.train.maxSteps;
      await writeFile(pipeline, JSON.stringify(raw));
      const r = await ctx.sgdwalk(['train', '--pipeline', pipeline, '--out', out], { cwd: dir, timeoutMs: 20_000 });
      return { exit: r.code, message: r.signal ? `killed after 20 s (${r.signal}); ${lastLine(r)}` : lastLine(r), written: [], clean: r.code === 1 && oneCleanLine(r) };
    },
  },
];

async function main() {
  const temporaries = [];
  const redises = [];
  let tiny;
  const ctx = {
    root,
    sgdwalk: run,
    lastLine,
    snapshot,
    changed,
    async tmp() {
      const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-attack-'));
      temporaries.push(dir);
      return dir;
    },
    async tinyRun() {
      tiny ??= (async () => {
        const dir = await ctx.tmp();
        const pipeline = await writePipeline(dir, TINY_PIPELINE);
        const out = join(dir, 'out');
        const r = await run(['run', '--pipeline', pipeline, '--out', out, '-q'], { cwd: dir });
        if (r.code !== 0) throw new Error(`the tiny run failed (${r.code}): ${r.stderr}`);
        return { pipeline, out };
      })();
      return tiny;
    },
    async redis() {
      const server = await startRedis();
      redises.push(server);
      return server;
    },
  };
  const modules = [{ cases }];
  for (const extra of ['queue-cases.mjs', 'import-cases.mjs']) {
    const path = join(dirname(fileURLToPath(import.meta.url)), extra);
    if (existsSync(path)) modules.push(await import(path));
  }
  const filters = process.argv.slice(2);
  const all = modules.flatMap((m) => m.cases).filter((c) => filters.length === 0 || filters.some((f) => c.name.includes(f)));
  let unclean = 0;
  try {
    for (const c of all) {
      let outcome;
      try {
        outcome = await c.run(ctx);
      } catch (e) {
        outcome = { exit: null, message: `the case itself failed: ${e?.message ?? e}`, written: [], clean: false };
      }
      if (!outcome.clean) unclean++;
      const written = outcome.written?.length ? outcome.written.join(',') : '-';
      process.stdout.write(`${outcome.clean ? 'CLEAN    ' : 'NOT CLEAN'} | ${c.name} | exit ${outcome.exit ?? '-'} | written ${written} | ${String(outcome.message).replace(/\s+/g, ' ')}\n`);
    }
  } finally {
    for (const server of redises) await server.stop().catch(() => undefined);
    for (const dir of temporaries) await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${all.length - unclean} of ${all.length} cases clean\n`);
  return unclean === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
