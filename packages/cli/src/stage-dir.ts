import { rename, rm } from 'node:fs/promises';
import { pathExists } from '@sgdwalk/core';
import { basename, dirname, join } from 'node:path';

/**
 * Run a stage into a staging folder beside its output folder and swap it in only when the stage
 * succeeded: a failed stage (bad input, disk full, Ctrl-C, kill -9) leaves the previous outputs exactly as
 * they were. A resumable stage (train) keeps its staging folder across failures and is handed it again,
 * so it continues where it stopped; the others start from an empty one.
 */
export async function writeStageDir<T>(outDir: string, produce: (stagingDir: string) => Promise<T>, opts: { resumable?: boolean } = {}): Promise<T> {
  const staging = join(dirname(outDir), `.${basename(outDir)}.staging`);
  const retired = join(dirname(outDir), `.${basename(outDir)}.retired`);
  if (!opts.resumable) await rm(staging, { recursive: true, force: true });
  let result: T;
  try {
    result = await produce(staging);
  } catch (e) {
    if (!opts.resumable) await rm(staging, { recursive: true, force: true });
    throw e;
  }
  await rm(retired, { recursive: true, force: true });
  if (await pathExists(outDir)) await rename(outDir, retired);
  await rename(staging, outDir);
  await rm(retired, { recursive: true, force: true });
  return result;
}
