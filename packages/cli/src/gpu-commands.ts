import { spawn } from 'node:child_process';
import { constants, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { SgdwalkError } from '@sgdwalk/core';
import {
  CUDA_PROVIDER_PACKAGE, cudaLibraryEnvironment, findCudaLibraries, foldersToLoad, formatGpuReport, gpuReport, installCudaProvider, loaderCache, pythonCudaFolders,
} from '@sgdwalk/analysis';

/**
 * `sgdwalk gpu install cuda`, `sgdwalk gpu check`, `sgdwalk gpu env`: thin wiring of the analysis
 * package's devices room (cuda-provider, cuda-libraries, gpu-report).
 */

const libraryOptions = <T>(y: Argv<T>) =>
  y
    .option('cuda-libs', { type: 'string', array: true, describe: 'a folder holding CUDA 13 libraries (libcublas.so.13, libcudnn.so.9…); may be repeated' })
    .option('python', { type: 'string', describe: 'a python3 whose environment holds the CUDA wheels (nvidia-cublas, nvidia-cudnn-cu13…): their nvidia/*/lib folders are searched' });

/** Where `npm pack` keeps the provider tarball between installs. */
function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sgdwalk');
}

const installOptions = (y: Argv) =>
  libraryOptions(y)
    .positional('provider', { choices: ['cuda'] as const, demandOption: true, describe: 'the provider to install (CUDA 13)' })
    .option('tarball', { type: 'string', describe: `the ${CUDA_PROVIDER_PACKAGE} tarball, already here (default: npm pack it)` })
    .option('cache', { type: 'string', describe: 'where npm pack keeps the tarball (default: ~/.cache/sgdwalk)' });

type ArgsOf<B> = B extends (c: Argv) => Argv<infer U> ? U : never;

const installCommand: CommandModule<object, ArgsOf<typeof installOptions>> = {
  command: 'install <provider>',
  describe: `fetch ONNX Runtime's CUDA 13 provider (${CUDA_PROVIDER_PACKAGE}) from the npm registry, put it beside onnxruntime-node, and record where the CUDA libraries are`,
  builder: installOptions,
  handler: async (args) => {
    const python = args.python ? await pythonCudaFolders(args.python).catch((error: Error) => {
      throw new SgdwalkError(error.message, 'provider', { field: '--python' });
    }) : [];
    const given = (args.cudaLibs ?? []).map((dir) => resolve(dir));
    const libraries = await findCudaLibraries({ given, python, cudaHome: process.env.CUDA_HOME, ldLibraryPath: process.env.LD_LIBRARY_PATH, loaderCache: await loaderCache() });
    const installed = await installCudaProvider({
      tarball: args.tarball ? resolve(args.tarball) : undefined,
      cacheDir: resolve(args.cache ?? defaultCacheDir()),
      libraryFolders: foldersToLoad(libraries),
    });
    for (const file of installed.files) process.stdout.write(`installed ${file} (ONNX Runtime ${installed.onnxruntime})\n`);
    for (const lib of libraries) process.stdout.write(`${lib.name}: ${lib.path ? `${lib.path} (${lib.source})` : 'MISSING'}\n`);
    const missing = libraries.filter((lib) => !lib.path).map((lib) => lib.name);
    process.stdout.write(missing.length === 0 ? 'every CUDA library was found; `sgdwalk gpu check` opens a session\n' : `still missing: ${missing.join(', ')}; give their folder with --cuda-libs or --python and run this again\n`);
  },
};

const checkOptions = (y: Argv) => libraryOptions(y).option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' });

const checkCommand: CommandModule<object, ArgsOf<typeof checkOptions>> = {
  command: 'check',
  describe: 'show the provider files, each CUDA library, the GPU and driver, the WebGPU adapter, and what `auto` picks and why; exit 0 only when a GPU provider is usable',
  builder: checkOptions,
  handler: async (args) => {
    const report = await gpuReport({ cudaLibs: (args.cudaLibs ?? []).map((dir) => resolve(dir)), python: args.python });
    process.stdout.write(`${args.json ? JSON.stringify(report, null, 2) : formatGpuReport(report)}\n`);
    if (!report.usable) {
      const missing = [
        ...report.providerFiles.filter((file) => !file.present).map((file) => file.name),
        ...report.libraries.filter((lib) => !lib.path).map((lib) => lib.name),
        ...(report.gpu.found ? [] : ['an NVIDIA GPU']),
      ];
      throw new SgdwalkError(`no GPU provider is usable${missing.length ? ` (missing: ${missing.join(', ')})` : ''}`, 'provider');
    }
  },
};

const envCommand: CommandModule = {
  command: 'env',
  describe: 'print LD_LIBRARY_PATH=… as `gpu install cuda` recorded it, for programs started outside the sgdwalk command',
  handler: async () => {
    // The recorded folders in front of this process's own (which, re-executed, already holds them).
    const env = await cudaLibraryEnvironment();
    process.stdout.write(`LD_LIBRARY_PATH=${env?.LD_LIBRARY_PATH ?? process.env.LD_LIBRARY_PATH ?? ''}\n`);
  },
};

export const gpuCommand: CommandModule = {
  command: 'gpu <command>',
  describe: 'the GPU providers: install ONNX Runtime\'s CUDA 13 provider, check what is usable',
  builder: (y) => y.command(installCommand).command(checkCommand).command(envCommand).demandCommand(1, 'name a gpu command'),
  handler: () => {},
};

/** Set in the re-executed process, so it never re-executes again. */
const REEXECUTED = 'SGDWALK_CUDA_REEXEC';

/**
 * The loader reads LD_LIBRARY_PATH once, at process start, and ORT's CUDA provider finds libcublas.so.13
 * and the rest only through it (the provider has no RUNPATH). When `gpu install cuda` recorded folders that
 * this process's LD_LIBRARY_PATH lacks, run the same command again in a child that has them, and return
 * its exit code; else undefined, and the command runs here. One extra Node start, only on machines where the
 * CUDA provider is installed.
 */
export async function runWithCudaLibraries(argv: readonly string[]): Promise<number | undefined> {
  if (process.env[REEXECUTED]) return undefined;
  const env = await cudaLibraryEnvironment();
  if (!env) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...argv], { stdio: 'inherit', env: { ...env, [REEXECUTED]: '1' } });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  // A child killed by a signal exits as a shell reports it: 128 + the signal's number.
  return new Promise((done) => child.on('exit', (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0))));
}
