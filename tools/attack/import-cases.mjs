#!/usr/bin/env node
/**
 * The safetensors attack cases of `sgdwalk import` (issues 23 item 2 and 24 item 3), as a hostile but fair
 * user would try them on a real PyTorch run (test/fixtures/torch-runs/conv-bn): overlapping data_offsets, a
 * header length of 2^62, /dev/zero as a step file, /dev/zero as steps.json and as a shard index. Each must
 * exit 1 with one line naming the file (and both tensors, for an overlap), and write nothing.
 *
 * The interface the attack runner (tools/attack/index.mjs) calls:
 *   export const cases = [{ name, async run(ctx) → { exit, message, written, clean } }]
 *   ctx.sgdwalk(args, { cwd, env, timeoutMs }) → Promise<{ code, signal, stdout, stderr }>, ctx.tmp() → a fresh
 *   folder, ctx.root → the repository root.
 * Run alone (`node tools/attack/import-cases.mjs`, after a build) it prints one line per case.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURE = 'test/fixtures/torch-runs/conv-bn';
const STEP = 'step-002.safetensors';

/** A copy of the fixture's checkpoint folder to spoil, and the import command into `<dir>/train`. */
async function spoilable(ctx) {
  const dir = await ctx.tmp();
  const checkpoints = join(dir, 'checkpoints');
  await cp(join(ctx.root, FIXTURE, 'checkpoints'), checkpoints, { recursive: true });
  const out = join(dir, 'train');
  const args = ['import', '--onnx', join(ctx.root, FIXTURE, 'model.onnx'), '--checkpoints', checkpoints, '--dataset', 'synthetic', '--lr', '0.1', '-o', out, '-q'];
  return { dir, checkpoints, out, args };
}

/** A safetensors file's header and data, and the file again from an edited header (same data bytes). */
function splitSafetensors(bytes) {
  const length = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return { header: JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8')), data: bytes.subarray(8 + length) };
}
function joinSafetensors(header, data) {
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([length, text, data]);
}

/** Every file under a folder (relative paths); [] when it does not exist. */
async function filesUnder(dir) {
  const found = [];
  const walk = async (d) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else found.push(relative(dir, join(d, e.name)));
    }
  };
  await walk(dir);
  return found;
}

/** The verdict of a refused import: exit 1, one line matching `expected`, nothing at the output (or beside it). */
async function refused(ctx, { dir, out, args }, expected) {
  const result = await ctx.sgdwalk(args, { cwd: dir, timeoutMs: 60_000 });
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  const message = lines.at(-1) ?? '';
  const written = [...(await filesUnder(out)), ...(await readdir(dir)).filter((n) => n.startsWith('.train'))];
  return { exit: result.code, message, written, clean: result.code === 1 && lines.length === 1 && expected.test(message) && written.length === 0 };
}

export const cases = [
  {
    name: 'import: safetensors data_offsets overlapping another tensor',
    async run(ctx) {
      const setup = await spoilable(ctx);
      const file = join(setup.checkpoints, STEP);
      const { header, data } = splitSafetensors(await readFile(file));
      // fc.bias moved 4 bytes back: it now shares bytes with the tensor before it (same length, in the file).
      header['fc.bias'].data_offsets = header['fc.bias'].data_offsets.map((o) => o - 4);
      await writeFile(file, joinSafetensors(header, data));
      return refused(ctx, setup, /step-002\.safetensors: tensors conv1\.weight and fc\.bias overlap: data_offsets \[\d+, \d+\] and \[\d+, \d+\]/);
    },
  },
  {
    name: 'import: safetensors header length 2^62',
    async run(ctx) {
      const setup = await spoilable(ctx);
      const file = join(setup.checkpoints, STEP);
      const bytes = await readFile(file);
      bytes.writeBigUInt64LE(2n ** 62n, 0);
      await writeFile(file, bytes);
      return refused(ctx, setup, /step-002\.safetensors: the header length says 4611686018427387904 bytes, over the limit of 100000000/);
    },
  },
  {
    name: 'import: /dev/zero as a step file',
    async run(ctx) {
      const setup = await spoilable(ctx);
      const file = join(setup.checkpoints, STEP);
      await rm(file);
      await symlink('/dev/zero', file);
      return refused(ctx, setup, /step-002\.safetensors: safetensors file is not a regular file \(a character device\)$/);
    },
  },
  {
    name: 'import: steps.json naming /dev/zero',
    async run(ctx) {
      const setup = await spoilable(ctx);
      await writeFile(join(setup.checkpoints, 'steps.json'), JSON.stringify({ 0: 'step-000.safetensors', 1: relative(setup.checkpoints, '/dev/zero') }));
      return refused(ctx, setup, /error: \/dev\/zero: safetensors file is not a regular file \(a character device\)$/);
    },
  },
  {
    name: 'import: /dev/zero as steps.json and as a shard index',
    async run(ctx) {
      const setup = await spoilable(ctx);
      await symlink('/dev/zero', join(setup.checkpoints, 'steps.json'));
      const first = await refused(ctx, setup, /steps\.json: steps manifest is not a regular file \(a character device\)$/);
      const sharded = await spoilable(ctx);
      await rm(sharded.checkpoints, { recursive: true });
      await mkdir(join(sharded.checkpoints, 'step-0'), { recursive: true });
      await symlink('/dev/zero', join(sharded.checkpoints, 'step-0', 'model.safetensors.index.json'));
      const second = await refused(ctx, sharded, /model\.safetensors\.index\.json: shard index is not a regular file \(a character device\)$/);
      return { exit: first.exit === 1 && second.exit === 1 ? 1 : (first.exit === 1 ? second.exit : first.exit), message: `${first.message} | ${second.message}`, written: [...first.written, ...second.written], clean: first.clean && second.clean };
    },
  },
];

/** Standalone trial runs: the built CLI, fresh temporary folders, one line per case. */
async function main() {
  const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const scratch = await mkdtemp(join(tmpdir(), 'sgdwalk-attack-import-'));
  let made = 0;
  const ctx = {
    root,
    tmp: async () => {
      const d = join(scratch, String(made++));
      await mkdir(d);
      return d;
    },
    sgdwalk: (args, { cwd, env, timeoutMs } = {}) =>
      new Promise((done) => {
        const child = spawn(process.execPath, [join(root, 'packages/cli/bin/sgdwalk.js'), ...args], { cwd: cwd ?? root, env: { ...process.env, ...env }, timeout: timeoutMs ?? 60_000 });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b) => (stdout += b));
        child.stderr.on('data', (b) => (stderr += b));
        child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
      }),
  };
  let dirty = 0;
  try {
    for (const c of cases) {
      const r = await c.run(ctx);
      if (!r.clean) dirty++;
      console.log(`${c.name} | exit ${r.exit} | ${r.message} | written: ${r.written.length ? r.written.join(', ') : 'nothing'} | ${r.clean ? 'clean' : 'NOT CLEAN'}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  process.exitCode = dirty ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
