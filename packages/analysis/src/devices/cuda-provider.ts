import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { pathExists, SgdwalkError } from '@sgdwalk/core';
import { ONNXRUNTIME_VERSION } from './session.js';

const run = promisify(execFile);

/**
 * ONNX Runtime's CUDA provider built for CUDA 13, from the npm registry: asus4's onnxruntime-unity
 * packages (MIT) carry ORT's own release libraries. 0.4.9 holds ORT 1.29.0, the version
 * onnxruntime-node is pinned to: a provider library only loads into the ORT build of its own version.
 */
export const CUDA_PROVIDER_PACKAGE = 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9';

/** The two files that go beside the binding's libonnxruntime.so.1 (the package's TensorRT one is left out). */
export const PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;

/** Where the package keeps them. */
const PACKAGE_LIBRARY_DIR = 'package/Plugins/Linux/x64';

/**
 * What `gpu install cuda` records beside the provider: the folders the CUDA libraries were found in. The
 * loader reads LD_LIBRARY_PATH once, when a process starts, so the CLI re-executes itself with these
 * folders in front of it (cudaLibraryEnvironment) instead of asking the user to export it.
 */
export const CUDA_SETTING_FILE = 'sgdwalk-cuda.json';

export interface CudaSetting {
  /** Folders LD_LIBRARY_PATH must hold for the provider's CUDA libraries. */
  libraryFolders: string[];
  package: string;
  onnxruntime: string;
}

/** The folder of onnxruntime-node's native binding (libonnxruntime.so.1) on this platform. */
export function bindingFolder(): string {
  const packageJson = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * The ONNX Runtime versions a library names: ORT writes its version as a NUL-terminated string into each
 * of its libraries (ORT_VERSION, which a provider checks against the runtime that loads it).
 */
export async function ortVersionsIn(file: string): Promise<string[]> {
  const text = (await readFile(file)).toString('latin1');
  return [...new Set([...text.matchAll(/\0(1\.\d{1,3}\.\d{1,3})\0/g)].map((m) => m[1]))];
}

export interface ProviderFile {
  name: string;
  path: string;
  present: boolean;
  /** The ORT versions the file names (the provider library only). */
  versions?: string[];
}

/** The provider files beside the binding, and the ORT version the CUDA one was built for. */
export async function providerFiles(folder = bindingFolder()): Promise<ProviderFile[]> {
  const files: ProviderFile[] = [];
  for (const name of PROVIDER_FILES) {
    const path = join(folder, name);
    const present = await pathExists(path);
    files.push({ name, path, present, ...(present && name === 'libonnxruntime_providers_cuda.so' ? { versions: await ortVersionsIn(path) } : {}) });
  }
  return files;
}

/** The recorded setting, or undefined when `gpu install cuda` has not run against this binding. */
export async function readCudaSetting(folder = bindingFolder()): Promise<CudaSetting | undefined> {
  const path = join(folder, CUDA_SETTING_FILE);
  if (!(await pathExists(path))) return undefined;
  return JSON.parse(await readFile(path, 'utf8')) as CudaSetting;
}

/**
 * The environment a process needs for the recorded CUDA libraries to load, or undefined when it has it
 * already (or nothing is recorded). LD_LIBRARY_PATH keeps what it held, after the recorded folders.
 */
export async function cudaLibraryEnvironment(env: NodeJS.ProcessEnv = process.env, folder?: string): Promise<NodeJS.ProcessEnv | undefined> {
  const setting = await readCudaSetting(folder).catch(() => undefined);
  if (!setting || setting.libraryFolders.length === 0) return undefined;
  const current = (env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean);
  const missing = setting.libraryFolders.filter((dir) => !current.includes(dir));
  if (missing.length === 0) return undefined;
  return { ...env, LD_LIBRARY_PATH: [...missing, ...current].join(delimiter) };
}

export interface InstallOptions {
  /**
   * A provider tarball already here (e.g. carried to a machine without a network), gzip'd as npm packs it
   * or not compressed at all (tar detects which); else `npm pack`.
   */
  tarball?: string;
  /** Where `npm pack` keeps the tarball between installs. */
  cacheDir: string;
  /** Folders holding the CUDA libraries, recorded for the loader. */
  libraryFolders: string[];
  /** The binding folder to install into (default: this onnxruntime-node's). */
  folder?: string;
}

export interface Installed {
  tarball: string;
  files: string[];
  onnxruntime: string;
}

/** Fetch the provider package into the cache with npm's own client (the registry, its auth and proxy). */
async function packProvider(cacheDir: string): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  const cached = (await readdir(cacheDir)).find((name) => name === `${CUDA_PROVIDER_PACKAGE.replace('@', '-')}.tgz`);
  if (cached) return join(cacheDir, cached);
  try {
    const { stdout } = await run('npm', ['pack', CUDA_PROVIDER_PACKAGE, '--pack-destination', cacheDir, '--silent'], { maxBuffer: 1 << 20, timeout: 30 * 60_000 });
    return join(cacheDir, stdout.trim().split('\n').at(-1)!);
  } catch (error) {
    throw new SgdwalkError(`npm pack ${CUDA_PROVIDER_PACKAGE} failed (${String((error as Error).message).split('\n').at(-1)})`, 'provider', { file: cacheDir });
  }
}

/**
 * Put the provider's two libraries beside the binding, after checking that they were built for the
 * binding's ORT version, and record the CUDA library folders. Files are copied under a temporary name and
 * renamed, so a binding folder never holds half a library.
 */
export async function installCudaProvider(opts: InstallOptions): Promise<Installed> {
  const folder = opts.folder ?? bindingFolder();
  const tarball = opts.tarball ?? (await packProvider(opts.cacheDir));
  if (!(await pathExists(tarball))) throw new SgdwalkError(`${tarball}: the provider tarball does not exist`, 'provider', { file: tarball });
  await mkdir(opts.cacheDir, { recursive: true });
  const work = await mkdtemp(join(opts.cacheDir, 'extract-'));
  try {
    const members = PROVIDER_FILES.map((name) => `${PACKAGE_LIBRARY_DIR}/${name}`);
    await run('tar', ['-xf', tarball, '-C', work, ...members]).catch((error: Error & { stderr?: string }) => {
      const why = (error.stderr ?? error.message).trim().split('\n')[0];
      throw new SgdwalkError(`${tarball}: not the provider's tarball: it does not hold ${members.join(' and ')} (tar: ${why})`, 'provider', { file: tarball });
    });
    const provider = join(work, PACKAGE_LIBRARY_DIR, PROVIDER_FILES[0]);
    const versions = await ortVersionsIn(provider);
    if (!versions.includes(ONNXRUNTIME_VERSION)) {
      throw new SgdwalkError(
        `${tarball}: its CUDA provider is ONNX Runtime ${versions.join(', ') || 'of no version found'}, onnxruntime-node is ${ONNXRUNTIME_VERSION}: a provider only loads into its own ORT version`,
        'provider', { file: tarball },
      );
    }
    const files: string[] = [];
    for (const name of PROVIDER_FILES) {
      const target = join(folder, name);
      await copyFile(join(work, PACKAGE_LIBRARY_DIR, name), `${target}.partial`);
      await rename(`${target}.partial`, target);
      files.push(target);
    }
    const setting: CudaSetting = { libraryFolders: opts.libraryFolders, package: CUDA_PROVIDER_PACKAGE, onnxruntime: ONNXRUNTIME_VERSION };
    await writeFile(join(folder, CUDA_SETTING_FILE), JSON.stringify(setting, null, 2) + '\n');
    return { tarball, files, onnxruntime: ONNXRUNTIME_VERSION };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
