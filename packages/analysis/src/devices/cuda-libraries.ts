import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The CUDA 13 libraries ONNX Runtime 1.29's CUDA provider needs, by the name the loader looks for: the
 * first five are the provider's DT_NEEDED entries (readelf -d libonnxruntime_providers_cuda.so), cuDNN 9
 * it opens itself when a session is created. libcuda.so.1 is the driver's own and is never taken from a
 * Python environment or CUDA_HOME.
 */
export const CUDA_LIBRARIES = [
  'libcudart.so.13',
  'libcublas.so.13',
  'libcublasLt.so.13',
  'libcurand.so.10',
  'libcudnn.so.9',
  'libcuda.so.1',
] as const;

export type CudaLibraryName = (typeof CUDA_LIBRARIES)[number];

/** Where a library was looked for, in the order it is tried. */
export type LibrarySource = 'given' | 'python' | 'CUDA_HOME' | 'LD_LIBRARY_PATH' | 'loader cache';

export interface FoundLibrary {
  name: CudaLibraryName;
  /** The file found, or undefined when none of the folders holds it. */
  path?: string;
  /** Which of the places found it. */
  source?: LibrarySource;
}

export interface LibraryFolders {
  /** Folders named with --cuda-libs, tried first. */
  given?: readonly string[];
  /** `nvidia/<part>/lib` folders of a Python environment (pythonCudaFolders). */
  python?: readonly string[];
  /** $CUDA_HOME: its lib64 and lib folders. */
  cudaHome?: string;
  /** $LD_LIBRARY_PATH as the loader will read it. */
  ldLibraryPath?: string;
  /** The loader cache's entries (`ldconfig -p`): library name → path. */
  loaderCache?: ReadonlyMap<string, string>;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/**
 * Find each library in the folders, first place first. A pure walk over the folders given: the caller
 * decides what they are (flags, environment, the loader cache), so the same search serves `gpu install`,
 * `gpu check` and the tests.
 */
export async function findCudaLibraries(folders: LibraryFolders): Promise<FoundLibrary[]> {
  const places: Array<[LibrarySource, string]> = [
    ...(folders.given ?? []).map((dir): [LibrarySource, string] => ['given', dir]),
    ...(folders.python ?? []).map((dir): [LibrarySource, string] => ['python', dir]),
    ...(folders.cudaHome ? ['lib64', 'lib', join('targets', 'x86_64-linux', 'lib')].map((sub): [LibrarySource, string] => ['CUDA_HOME', join(folders.cudaHome!, sub)]) : []),
    ...(folders.ldLibraryPath ?? '').split(delimiter).filter(Boolean).map((dir): [LibrarySource, string] => ['LD_LIBRARY_PATH', dir]),
  ];
  const found: FoundLibrary[] = [];
  for (const name of CUDA_LIBRARIES) {
    let hit: FoundLibrary = { name };
    for (const [source, dir] of places) {
      // The driver's library belongs to the driver: one inside a CUDA toolkit or a wheel is a stub.
      if (name === 'libcuda.so.1' && (source === 'python' || source === 'CUDA_HOME')) continue;
      const path = join(dir, name);
      if (await isFile(path)) {
        hit = { name, path, source };
        break;
      }
    }
    if (!hit.path && folders.loaderCache?.has(name)) hit = { name, path: folders.loaderCache.get(name), source: 'loader cache' };
    found.push(hit);
  }
  return found;
}

/** The loader cache (`ldconfig -p`), x86-64 entries: name → path. Empty where ldconfig cannot be run. */
export async function loaderCache(): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const out = await run('ldconfig', ['-p']).catch(() => run('/sbin/ldconfig', ['-p'])).catch(() => ({ stdout: '' }));
  for (const line of out.stdout.split('\n')) {
    // "	libcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1"
    const match = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)/.exec(line);
    if (match && match[2].includes('x86-64') && !entries.has(match[1])) entries.set(match[1], match[3]);
  }
  return entries;
}

/**
 * The `nvidia/<part>/lib` folders of the Python environment `python` runs in, where the CUDA wheels
 * (nvidia-cublas, nvidia-cuda-runtime, nvidia-cudnn-cu13, nvidia-curand…) put their libraries. Asked of
 * the interpreter itself (its site-packages), so a virtual environment or a pyenv is found as it is.
 * CUDA 13 wheels may also share one `nvidia/cu13/lib` folder: the same walk finds it.
 */
export async function pythonCudaFolders(python: string): Promise<string[]> {
  const script = 'import site,sys; print("\\n".join(site.getsitepackages()+[site.getusersitepackages()]+sys.path))';
  let stdout: string;
  try {
    ({ stdout } = await run(python, ['-c', script], { timeout: 30_000 }));
  } catch (error) {
    throw new Error(`${python} could not be run to find its packages (${String((error as Error).message).split('\n')[0]})`);
  }
  const folders: string[] = [];
  for (const root of new Set(stdout.split('\n').map((line) => line.trim()).filter(Boolean))) {
    const nvidia = join(root, 'nvidia');
    const parts = await readdir(nvidia).catch(() => [] as string[]);
    for (const part of parts.sort()) {
      const lib = join(nvidia, part, 'lib');
      if (await stat(lib).then((s) => s.isDirectory(), () => false)) folders.push(lib);
    }
  }
  return [...new Set(folders)];
}

/** The folders a search found libraries in, outside the loader's own cache: what LD_LIBRARY_PATH must hold. */
export function foldersToLoad(found: readonly FoundLibrary[]): string[] {
  const dirs = found.filter((lib) => lib.path && lib.source !== 'loader cache' && lib.source !== 'LD_LIBRARY_PATH').map((lib) => lib.path!.slice(0, lib.path!.lastIndexOf('/')));
  return [...new Set(dirs)];
}
