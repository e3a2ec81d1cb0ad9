import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Run a stage into a fresh staging folder beside its output folder and swap it in only when the stage
 * succeeded: a failed stage (bad input, disk full, Ctrl-C) leaves the previous outputs exactly as they were.
 */
export async function writeStageDir<T>(outDir: string, produce: (stagingDir: string) => Promise<T>): Promise<T> {
  const staging = join(dirname(outDir), `.${basename(outDir)}.staging`);
  const retired = join(dirname(outDir), `.${basename(outDir)}.retired`);
  await rm(staging, { recursive: true, force: true });
  let result: T;
  try {
    result = await produce(staging);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const exists = await stat(outDir).then(() => true, () => false);
  await rm(retired, { recursive: true, force: true });
  if (exists) await rename(outDir, retired);
  await rename(staging, outDir);
  await rm(retired, { recursive: true, force: true });
  return result;
}
