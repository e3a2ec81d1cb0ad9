import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCudaLibraries, foldersToLoad } from './cuda-libraries.js';
import { CUDA_SETTING_FILE, cudaLibraryEnvironment, installCudaProvider, ortVersionsIn, PROVIDER_FILES } from './cuda-provider.js';
import { ONNXRUNTIME_VERSION } from './session.js';

const scratch = await mkdtemp(join(tmpdir(), 'sgdwalk-cuda-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

/**
 * A provider tarball laid out as the npm package is (package/Plugins/Linux/x64/…), whose CUDA provider
 * names `version` the way ORT's libraries do (a NUL-terminated string among others).
 */
async function providerTarball(name: string, version: string): Promise<string> {
  const root = join(scratch, name);
  const libs = join(root, 'package/Plugins/Linux/x64');
  await mkdir(libs, { recursive: true });
  await writeFile(join(libs, PROVIDER_FILES[0]), Buffer.from(`\x7fELF\0cudaGraphDestroy(graph)\0Replay\0${version}\0Failed to get\0`, 'latin1'));
  await writeFile(join(libs, PROVIDER_FILES[1]), Buffer.from('\x7fELF\0shared\0', 'latin1'));
  const tarball = join(scratch, `${name}.tgz`);
  execFileSync('tar', ['-czf', tarball, '-C', root, 'package']);
  return tarball;
}

describe('the CUDA 13 provider install', () => {
  it('reads the ORT version a library was built for', async () => {
    const file = join(scratch, 'versions.so');
    await writeFile(file, Buffer.from('\0abc\x001.29.0\0 1.30.0 \x001.29.0\0', 'latin1'));
    expect(await ortVersionsIn(file)).toEqual(['1.29.0']);
  });

  it('puts both libraries beside the binding and records the CUDA folders for the loader', async () => {
    const binding = join(scratch, 'binding');
    await mkdir(binding);
    const tarball = await providerTarball('good', ONNXRUNTIME_VERSION);
    const installed = await installCudaProvider({ tarball, cacheDir: join(scratch, 'cache'), libraryFolders: ['/opt/cuda13/lib', '/opt/cudnn/lib'], folder: binding });
    expect(installed.files).toEqual(PROVIDER_FILES.map((name) => join(binding, name)));
    expect((await readFile(join(binding, PROVIDER_FILES[0]), 'latin1')).includes(`\0${ONNXRUNTIME_VERSION}\0`)).toBe(true);
    expect(JSON.parse(await readFile(join(binding, CUDA_SETTING_FILE), 'utf8')).libraryFolders).toEqual(['/opt/cuda13/lib', '/opt/cudnn/lib']);
    // A process without them gets them in front of what it had; one that has them needs nothing.
    expect((await cudaLibraryEnvironment({ LD_LIBRARY_PATH: '/usr/local/lib' }, binding))?.LD_LIBRARY_PATH).toBe('/opt/cuda13/lib:/opt/cudnn/lib:/usr/local/lib');
    expect(await cudaLibraryEnvironment({ LD_LIBRARY_PATH: '/opt/cudnn/lib:/opt/cuda13/lib' }, binding)).toBeUndefined();
  });

  it('refuses a provider built for another ORT version, naming both', async () => {
    const binding = join(scratch, 'binding-other');
    await mkdir(binding);
    const tarball = await providerTarball('other', '1.28.0');
    await expect(installCudaProvider({ tarball, cacheDir: join(scratch, 'cache'), libraryFolders: [], folder: binding }))
      .rejects.toThrow(`${tarball}: its CUDA provider is ONNX Runtime 1.28.0, onnxruntime-node is ${ONNXRUNTIME_VERSION}: a provider only loads into its own ORT version`);
    await expect(readFile(join(binding, PROVIDER_FILES[0]))).rejects.toThrow(/ENOENT/);
  });

  it('names a tarball that is missing or is not the provider\'s', async () => {
    const opts = { cacheDir: join(scratch, 'cache'), libraryFolders: [], folder: join(scratch, 'binding-none') };
    const missing = join(scratch, 'absent.tgz');
    await expect(installCudaProvider({ ...opts, tarball: missing })).rejects.toThrow(`${missing}: the provider tarball does not exist`);
    const other = join(scratch, 'other.tgz');
    await writeFile(join(scratch, 'readme.txt'), 'not a provider');
    execFileSync('tar', ['-czf', other, '-C', scratch, 'readme.txt']);
    await expect(installCudaProvider({ ...opts, tarball: other })).rejects.toThrow(
      `${other}: not the provider's tarball: it does not hold package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so and package/Plugins/Linux/x64/libonnxruntime_providers_shared.so (tar: `,
    );
  });
});

describe('finding the CUDA libraries', () => {
  it('takes each library from the first place that holds it, and names what no place holds', async () => {
    const given = join(scratch, 'given');
    const wheels = join(scratch, 'site-packages/nvidia/cublas/lib');
    await mkdir(given, { recursive: true });
    await mkdir(wheels, { recursive: true });
    for (const name of ['libcublas.so.13', 'libcublasLt.so.13']) await writeFile(join(wheels, name), 'elf');
    await writeFile(join(given, 'libcublas.so.13'), 'elf');
    // A libcuda.so.1 in a wheel (or toolkit) folder is a stub: only the driver's counts.
    await writeFile(join(wheels, 'libcuda.so.1'), 'stub');
    const found = await findCudaLibraries({ given: [given], python: [wheels], loaderCache: new Map([['libcuda.so.1', '/usr/lib/x86_64-linux-gnu/libcuda.so.1']]) });
    const byName = Object.fromEntries(found.map((lib) => [lib.name, lib]));
    expect(byName['libcublas.so.13']).toEqual({ name: 'libcublas.so.13', path: join(given, 'libcublas.so.13'), source: 'given' });
    expect(byName['libcublasLt.so.13']).toEqual({ name: 'libcublasLt.so.13', path: join(wheels, 'libcublasLt.so.13'), source: 'python' });
    expect(byName['libcuda.so.1']).toEqual({ name: 'libcuda.so.1', path: '/usr/lib/x86_64-linux-gnu/libcuda.so.1', source: 'loader cache' });
    expect(found.filter((lib) => !lib.path).map((lib) => lib.name)).toEqual(['libcudart.so.13', 'libcurand.so.10', 'libcudnn.so.9']);
    // The loader finds cached libraries itself: only the other folders go into LD_LIBRARY_PATH.
    expect(foldersToLoad(found)).toEqual([given, wheels]);
  });
});
