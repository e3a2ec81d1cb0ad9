import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isSoftwareAdapter } from '@sgdwalk/core';

/**
 * The WebGPU adapter of this machine, as Dawn offers it. onnxruntime-node does not tell which adapter its
 * WebGPU provider runs on (`ort.env.webgpu.adapter` and `.device` are browser-only; the native binding
 * exposes neither), so it is asked of Dawn itself through the `webgpu` package (Dawn's Node binding),
 * with the request ONNX Runtime's WebGPU provider makes (power preference high-performance).
 */
export interface WebGpuAdapter {
  /** The adapter's own description, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" or "NVIDIA H100 ...". */
  name: string;
  vendor: string;
  architecture: string;
  device: string;
  /**
   * A driver that runs on the CPU (Mesa's lavapipe/llvmpipe, SwiftShader, WARP): WebGPU there is real
   * shader code, but slower than ONNX Runtime's own CPU provider, so `auto` never picks it.
   */
  software: boolean;
}

export type WebGpuAdapterProbe = { found: true; adapter: WebGpuAdapter } | { found: false; reason: string };

// The rule lives in core (training's backend choice uses it too); re-exported for this room's callers.
export { isSoftwareAdapter };

/**
 * Runs in a child process, so that Dawn's second Vulkan instance (and its driver's messages on stderr)
 * never share the analysis process with ONNX Runtime's. Prints one JSON line.
 */
const PROBE_SCRIPT = `
const { create } = await import(process.argv[1]);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const info = adapter?.info;
console.log(JSON.stringify(info ? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, isFallbackAdapter: info.isFallbackAdapter } : null));
process.exit(0);
`;

const PROBE_TIMEOUT_MS = 30_000;

function probeOnce(): Promise<WebGpuAdapterProbe> {
  let entry: string;
  try {
    entry = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch {
    return Promise.resolve({ found: false, reason: 'the webgpu package (Dawn for Node) is not installed, so the adapter cannot be named' });
  }
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT, entry], { timeout: PROBE_TIMEOUT_MS }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (error || !line) {
        const why = (stderr.trim().split('\n').at(-1) || (error ? error.message : 'no output')).trim();
        resolve({ found: false, reason: `the WebGPU adapter probe failed (${why})` });
        return;
      }
      const info = JSON.parse(line) as null | { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
      if (!info) {
        resolve({ found: false, reason: 'Dawn finds no WebGPU adapter (no Vulkan, Metal or D3D12 driver)' });
        return;
      }
      const name = info.description || [info.vendor, info.device].filter(Boolean).join(' ') || 'unnamed adapter';
      resolve({ found: true, adapter: { name, vendor: info.vendor, architecture: info.architecture, device: info.device, software: isSoftwareAdapter(info) } });
    });
  });
}

let probe: Promise<WebGpuAdapterProbe> | undefined;

/** The adapter, asked once per process (about 0.2 s: a Node start and Dawn's adapter enumeration). */
export function probeWebGpuAdapter(): Promise<WebGpuAdapterProbe> {
  probe ??= probeOnce();
  return probe;
}
