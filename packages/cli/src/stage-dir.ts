import { rename, rm } from 'node:fs/promises';
import { FILES, SgdwalkError, ownerProblem, pathExists, stampManifestPipeline, type FolderOwner } from '@sgdwalk/core';
import { basename, dirname, join } from 'node:path';
import { withFolderLock } from './stage-lock.js';

export interface StageDirOptions {
  /** Keep the staging folder across failures and hand it back (train continues where it stopped). */
  resumable?: boolean;
  /** What the folder is when it exists already; a folder that is not this is refused unless `overwrite`. */
  owner: FolderOwner;
  /** --overwrite: replace the folder even if it is not recognisably the stage's own earlier output. */
  overwrite?: boolean;
}

/** Throw the one-line refusal if an existing folder is not the owner's own earlier output (core's ownerProblem). */
export async function checkReplaceable(outDir: string, owner: FolderOwner): Promise<void> {
  const problem = await ownerProblem(outDir, owner);
  if (problem) {
    throw new SgdwalkError(
      `${outDir}: ${problem}; sgdwalk replaces only its own earlier output there — move it away, choose another output folder, or pass --overwrite to replace it`,
      'occupied',
      { file: outDir },
    );
  }
}

/**
 * Run a stage into a staging folder beside its output folder and swap it in only when the stage
 * succeeded: a failed stage (bad input, disk full, Ctrl-C, kill -9) leaves the previous outputs exactly as
 * they were. A resumable stage (train) keeps its staging folder across failures and is handed it again,
 * so it continues where it stopped; the others start from an empty one.
 *
 * The whole of it holds the folder's lock (stage-lock.ts): a second writer of the same folder stops at once
 * naming the holder, instead of emptying the first's staging folder or swapping in over its swap. An
 * existing folder is replaced only if it is the stage's own earlier output (core's ownerProblem), checked
 * before the stage runs, so a refusal costs nothing; anything else needs --overwrite.
 */
export async function writeStageDir<T>(outDir: string, produce: (stagingDir: string) => Promise<T>, opts: StageDirOptions): Promise<T> {
  return withFolderLock(outDir, `${opts.owner.stage} folder`, async (lock) => {
    if (!opts.overwrite) await checkReplaceable(outDir, opts.owner);
    const staging = join(dirname(outDir), `.${basename(outDir)}.staging`);
    const retired = join(dirname(outDir), `.${basename(outDir)}.retired`);
    if (!opts.resumable) await rm(staging, { recursive: true, force: true });
    let result: T;
    try {
      result = await produce(staging);
      if (opts.owner.pipeline !== undefined && (await pathExists(join(staging, FILES.manifest)))) await stampManifestPipeline(staging, opts.owner.pipeline);
    } catch (e) {
      if (!opts.resumable) await rm(staging, { recursive: true, force: true });
      throw e;
    }
    // Still ours: a lock taken over in error must not lead to two swaps into one folder.
    await lock.checkHeld();
    await rm(retired, { recursive: true, force: true });
    if (await pathExists(outDir)) await rename(outDir, retired);
    await rename(staging, outDir);
    await rm(retired, { recursive: true, force: true });
    return result;
  });
}
