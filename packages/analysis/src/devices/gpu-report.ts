import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from '@sgdwalk/core';
import { DataType, GraphBuilder } from '@sgdwalk/onnx';
import { findCudaLibraries, loaderCache, pythonCudaFolders, type FoundLibrary } from './cuda-libraries.js';
import { bindingFolder, providerFiles, readCudaSetting, type ProviderFile } from './cuda-provider.js';
import { cudaTf32 } from './cuda-precision.js';
import { openSession, ONNXRUNTIME_VERSION } from './session.js';
import { probeWebGpuAdapter, type WebGpuAdapterProbe } from './webgpu-adapter.js';

const run = promisify(execFile);

/** What `sgdwalk gpu check` reports: everything between this machine and a GPU provider, found or missing. */
export interface GpuReport {
  onnxruntime: string;
  binding: string;
  providerFiles: ProviderFile[];
  /** The CUDA library folders `gpu install cuda` recorded, if it ran. */
  recordedFolders?: string[];
  libraries: FoundLibrary[];
  /** The GPU and driver as nvidia-smi (else the kernel module) tells them, or why not. */
  gpu: { found: true; name: string; driver: string } | { found: false; reason: string };
  webgpu: WebGpuAdapterProbe;
  /** What `auto` picked on a one-node graph, and each provider it passed over with the reason. */
  auto: { provider: string; device: string; passedOver: string[] };
  tf32: boolean;
  /** A GPU provider (CUDA, or WebGPU on a hardware adapter) opened a session. */
  usable: boolean;
}

async function gpuAndDriver(): Promise<GpuReport['gpu']> {
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { timeout: 30_000 });
    const [name, driver] = stdout.trim().split('\n')[0].split(',').map((part) => part.trim());
    if (name) return { found: true, name, driver: driver ?? 'unknown' };
  } catch {
    // No nvidia-smi: the kernel module, if loaded, still names the driver.
  }
  const module = await readFile('/proc/driver/nvidia/version', 'utf8').catch(() => undefined);
  if (module) return { found: true, name: 'NVIDIA GPU (nvidia-smi absent)', driver: /Kernel Module\s+(\S+)/.exec(module)?.[1] ?? 'unknown' };
  return { found: false, reason: 'no nvidia-smi and no NVIDIA kernel module (/proc/driver/nvidia/version)' };
}

/** A one-node graph: enough for a provider to load its libraries and claim a device. */
function probeGraph(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, [1, 4]);
  g.output('y', g.op('Add', [x, x]), DataType.FLOAT, [1, 4]);
  return g.encode('probe', { name: 'sgdwalk-gpu-check' });
}

/** Gather the report. `python` adds the CUDA wheels of that interpreter's environment to the search. */
export async function gpuReport(opts: { cudaLibs?: string[]; python?: string } = {}): Promise<GpuReport> {
  const setting = await readCudaSetting().catch(() => undefined);
  const python = opts.python ? await pythonCudaFolders(opts.python).catch(() => []) : [];
  const libraries = await findCudaLibraries({
    given: [...(opts.cudaLibs ?? []), ...(setting?.libraryFolders ?? [])],
    python,
    cudaHome: process.env.CUDA_HOME,
    ldLibraryPath: process.env.LD_LIBRARY_PATH,
    loaderCache: await loaderCache(),
  });
  const passedOver: string[] = [];
  const collect: Logger = { info() {}, progress() {}, warn: (message) => passedOver.push(message.replace(/^execution provider /, '').replace(/; trying \w+$/, '')) };
  const [gpu, webgpu, opened] = await Promise.all([
    gpuAndDriver(),
    probeWebGpuAdapter(),
    openSession(probeGraph(), { provider: 'auto', log: collect }),
  ]);
  await opened.session.release();
  return {
    onnxruntime: ONNXRUNTIME_VERSION,
    binding: bindingFolder(),
    providerFiles: await providerFiles(),
    ...(setting ? { recordedFolders: setting.libraryFolders } : {}),
    libraries,
    gpu,
    webgpu,
    auto: { provider: opened.provider, device: opened.device, passedOver },
    tf32: cudaTf32(),
    usable: opened.provider === 'cuda' || opened.provider === 'webgpu',
  };
}

/** The report as one table of `what | state | detail` rows, for people. */
export function formatGpuReport(report: GpuReport): string {
  const rows: Array<[string, string, string]> = [['onnxruntime-node', report.onnxruntime, report.binding]];
  for (const file of report.providerFiles) {
    const version = file.versions ? `ORT ${file.versions.join(', ') || 'version not found'}${file.versions.includes(report.onnxruntime) ? '' : ` ≠ ${report.onnxruntime}`}` : '';
    rows.push([file.name, file.present ? 'found' : 'MISSING', file.present ? [version, file.path].filter(Boolean).join(', ') : 'run `sgdwalk gpu install cuda`']);
  }
  if (report.recordedFolders) rows.push(['recorded CUDA folders', String(report.recordedFolders.length), report.recordedFolders.join(':') || '(none)']);
  for (const lib of report.libraries) rows.push([lib.name, lib.path ? 'found' : 'MISSING', lib.path ? `${lib.path} (${lib.source})` : lib.name === 'libcuda.so.1' ? 'the NVIDIA driver\'s library' : 'give its folder with --cuda-libs or --python']);
  rows.push(['GPU', report.gpu.found ? 'found' : 'MISSING', report.gpu.found ? `${report.gpu.name}, driver ${report.gpu.driver}` : report.gpu.reason]);
  rows.push(['WebGPU adapter', report.webgpu.found ? (report.webgpu.adapter.software ? 'software' : 'found') : 'MISSING', report.webgpu.found ? report.webgpu.adapter.name : report.webgpu.reason]);
  rows.push(['TF32 (analyze.tf32)', report.tf32 ? 'on' : 'off', 'NVIDIA_TF32_OVERRIDE=0 while off']);
  rows.push(['auto picks', report.auto.provider, report.auto.device]);
  // ORT puts the loader's own message (e.g. "libcublasLt.so.13: cannot open shared object file") in its log,
  // not in the exception: the libraries the search did not find say the same.
  const unfound = report.libraries.filter((lib) => !lib.path).map((lib) => lib.name);
  for (const reason of report.auto.passedOver) {
    const provider = reason.split(' ')[0];
    const detail = reason.slice(reason.indexOf('(') + 1, reason.lastIndexOf(')')) || reason;
    rows.push(['  passed over', provider, provider === 'cuda' && unfound.length > 0 ? `${detail}; not found: ${unfound.join(', ')}` : detail]);
  }
  const width = [0, 1].map((column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map(([what, state, detail]) => `${what.padEnd(width[0])}  ${state.padEnd(width[1])}  ${detail}`);
  lines.push(report.usable ? `a GPU provider is usable: ${report.auto.provider}` : `no GPU provider is usable: the analysis runs on ${report.auto.provider}`);
  return lines.join('\n');
}
