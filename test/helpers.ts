import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export const repoRoot = resolve(import.meta.dirname, '..');
export const cliBin = join(repoRoot, 'packages/cli/bin/sgdwalk.js');

/** The end-to-end tests drive the built CLI, as a user does; `npm test` builds it first. */
export function requireBuiltCli(): void {
  if (!existsSync(join(repoRoot, 'packages/cli/dist/main.js'))) {
    throw new Error('packages/cli/dist is missing: run `npm run build` (npm test does) before the end-to-end tests');
  }
}

const created: string[] = [];
// Registered while each test file imports this module: its scratch folders go when the file is done.
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `sgdwalk-${prefix}-`));
  created.push(dir);
  return dir;
}

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [cliBin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A tiny but real pipeline: MNIST subset, small BN-MLP, every step checkpointed. */
export function tinyPipeline(overrides: { analyze?: Record<string, unknown>; train?: Record<string, unknown> } = {}) {
  return {
    data: { dataset: 'mnist', limit: { train: 600, validation: 100, test: 100 } },
    train: {
      model: { name: 'mlp-tiny', inputShape: [784], classes: 10, layers: [
        { type: 'dense', units: 32 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 10 }, { type: 'softmax-cross-entropy' },
      ] },
      lr: 0.1, batchSize: 50, epochs: 1, maxSteps: 8, backend: 'cpu',
      checkpoints: { windows: [{ steps: [1, 8] }], every: 0 },
      ...overrides.train,
    },
    analyze: { alphas: { from: 0, to: 1, step: 0.25 }, evalSet: { split: 'train', size: 200, seed: 0 }, evalBatchSize: 100, ...overrides.analyze },
    report: { curvesPairs: 8 },
  };
}

/** Nx in a scratch workspace, never prompting (no cloud, daemon or TUI); throws with its output on failure. */
export function runNx(workspace: string, ...args: string[]): string {
  return runNxWith(workspace, {}, ...args);
}

/** runNx with extra environment variables (a deployment setting such as SGDWALK_QUEUE). */
export function runNxWith(workspace: string, env: Record<string, string>, ...args: string[]): string {
  const r = spawnSync(process.execPath, [join(workspace, 'node_modules/nx/dist/bin/nx.js'), ...args, '--outputStyle=static'], {
    cwd: workspace,
    env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false', CI: 'true', ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`nx ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}
