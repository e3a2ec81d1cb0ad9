import { describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from './helpers.js';

/**
 * `sgdwalk gpu check` on a machine without a GPU (this one, CI): one table naming each missing piece, `auto`
 * falling back to the CPU with its reasons, one error line and a non-zero exit.
 */
describe('sgdwalk gpu check without a GPU', () => {
  it('names what is missing and exits non-zero', () => {
    requireBuiltCli();
    const { code, stdout, stderr } = runCli(['gpu', 'check']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^onnxruntime-node\s+1\.29\.0\s/m);
    for (const lib of ['libcublas.so.13', 'libcublasLt.so.13', 'libcudnn.so.9', 'libcuda.so.1']) expect(stdout).toMatch(new RegExp(`^${lib.replace(/\./g, '\\.')}\\s+MISSING`, 'm'));
    expect(stdout).toMatch(/^GPU\s+MISSING\s+no nvidia-smi/m);
    expect(stdout).toMatch(/^WebGPU adapter\s+(software|MISSING)\s/m);
    expect(stdout).toMatch(/^auto picks\s+cpu\s/m);
    expect(stdout).toMatch(/^\s+passed over\s+cuda\s+\S/m);
    expect(stdout).toContain('no GPU provider is usable: the analysis runs on cpu');
    const errors = stderr.trim().split('\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^sgdwalk: error: no GPU provider is usable \(missing: .*libcublas\.so\.13.*an NVIDIA GPU\)$/);
  });

  it('reports the same as JSON', () => {
    const { code, stdout } = runCli(['gpu', 'check', '--json']);
    expect(code).toBe(1);
    const report = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1));
    expect(report.onnxruntime).toBe('1.29.0');
    expect(report.usable).toBe(false);
    expect(report.auto.provider).toBe('cpu');
    expect(report.tf32).toBe(false);
    expect(report.libraries.find((lib: { name: string }) => lib.name === 'libcudnn.so.9').path).toBeUndefined();
  });
});
