import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cases } from '../tools/attack/import-cases.mjs';
import { cliBin, repoRoot, requireBuiltCli, tempDir } from './helpers.js';

interface Verdict {
  exit: number | null;
  message: string;
  written: string[];
  clean: boolean;
}

/**
 * The safetensors attack cases of tools/attack/import-cases.mjs (overlapping data_offsets, a 2^62 header
 * length, /dev/zero as a step file, as steps.json and as a shard index) through the built CLI, with the
 * context the attack runner gives them: each exits 1 with one line naming the file, and writes nothing.
 */
describe('safetensors attacks on sgdwalk import', () => {
  requireBuiltCli();
  const ctx = {
    root: repoRoot,
    tmp: async () => {
      const dir = join(await tempDir('import-attack'), 'case');
      await mkdir(dir);
      return dir;
    },
    sgdwalk: (args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}) =>
      new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [cliBin, ...args], { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000 });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b));
        child.stderr.on('data', (b: Buffer) => (stderr += b));
        child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
      }),
  };

  it.each((cases as Array<{ name: string; run(c: typeof ctx): Promise<Verdict> }>).map((c) => [c.name, c] as const))('%s: exit 1, one line, nothing written', async (_name, c) => {
    const verdict = await c.run(ctx);
    expect(verdict.exit, verdict.message).toBe(1);
    expect(verdict.written).toEqual([]);
    expect(verdict.message).toMatch(/^sgdwalk: error: \S+: /);
    expect(verdict.clean, verdict.message).toBe(true);
  }, 120_000);
});
