import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FILES, SgdwalkError, STAGE_FOLDER_ORDER, TABLES, listStageFiles, manifestDiscrepancies, missingStageFiles, parseManifest, readJsonFile, readRunInfo,
  velocityLayout, type Manifest, type ParameterLayout, type TableDeclaration,
} from '@sgdwalk/core';
import { MaterializedCache } from './materialized-cache.js';
import { readColumns } from './declared-table.js';
import { readTable } from './table.js';
import { problemOf, verifyCheckpointStore } from './verify-store.js';

/**
 * `sgdwalk verify`'s rules, beside the files they check: a stage folder is held to its manifest and to what
 * its stage must write (core's declarations), a run's checkpoints to the store's own checks, every table to
 * its declaration. The CLI only prints what this finds.
 */

/** One thing wrong in a folder: the file (the folder given joined with the file's path in it), the checkpoint's step. */
export interface Problem {
  file: string;
  step?: number;
  message: string;
}

export interface Verification {
  problems: Problem[];
  /** Files found in the stage folders (manifest.json included), each hashed or read. */
  filesChecked: number;
  /** Checkpoints read back and checked against their sha256 and length. */
  checkpointsChecked: number;
}

/** The stage tables by their file name in a stage folder (core's declarations). */
const DECLARED_TABLES = new Map<string, TableDeclaration>(Object.values(TABLES).map((table) => [table.file, table]));

/** One line per problem: "FILE (step N): message". */
export function formatProblem(p: Problem): string {
  return `${p.file}${p.step === undefined ? '' : ` (step ${p.step})`}: ${p.message}`;
}

/**
 * Check a stage folder (data, train, analyze or report), or an output root holding stage folders, and
 * collect every problem: the manifest (present, parseable, every listed file present with its sha256, no
 * file it does not list), for a run folder run.json and every checkpoint (read back through the store's
 * own checks), and every Arrow table. A folder with manifest.json or any file directly in it is a stage
 * folder; one holding only folders is an output root, whose folders are verified in turn.
 */
export async function verifyFolder(dir: string): Promise<Verification> {
  const info = await stat(dir).catch((e: NodeJS.ErrnoException) => {
    throw new SgdwalkError(`${dir}: ${e.code === 'ENOENT' ? 'no such folder' : `cannot read (${e.code ?? e.message})`}`, 'verify', { file: dir });
  });
  if (!info.isDirectory()) throw new SgdwalkError(`${dir}: not a folder (verify takes a stage folder or an output root)`, 'verify', { file: dir });
  const result: Verification = { problems: [], filesChecked: 0, checkpointsChecked: 0 };
  await verifyTree(dir, result);
  return result;
}

async function verifyTree(dir: string, result: Verification): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const isStage = entries.some((e) => !e.isDirectory());
  // A replay cache (docs/anchors.md): only folders named by a sha256, each a checkpoint store of one state.
  if (!isStage && MaterializedCache.isCacheListing(entries.map((e) => e.name))) {
    for (const e of entries) {
      const store = await verifyCheckpointStore(join(dir, e.name));
      result.problems.push(...store.problems);
      result.checkpointsChecked += store.checkpointsChecked;
      result.filesChecked += (await listStageFiles(join(dir, e.name))).length;
    }
    return;
  }
  if (isStage) {
    await verifyStage(dir, result);
    return;
  }
  // Stage folders in pipeline order, then any others by name.
  const rank = (name: string) => (STAGE_FOLDER_ORDER.indexOf(name) + STAGE_FOLDER_ORDER.length + 1) % (STAGE_FOLDER_ORDER.length + 1);
  const folders = entries.map((e) => e.name).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  if (folders.length === 0) {
    result.problems.push({ file: dir, message: `empty: neither a stage folder (no ${FILES.manifest}) nor an output root holding stage folders` });
  }
  for (const name of folders) await verifyTree(join(dir, name), result);
}

async function verifyStage(dir: string, result: Verification): Promise<void> {
  const problems: Problem[] = [];
  const report = (e: unknown, file: string): void => {
    problems.push(problemOf(e, file));
  };
  const files = await listStageFiles(dir);
  result.filesChecked += files.length;
  const present = new Set(files);

  const manifestPath = join(dir, FILES.manifest);
  let manifest: Manifest | null = null;
  if (!present.has(FILES.manifest)) {
    problems.push({ file: manifestPath, message: 'missing: the stage that writes this folder has not completed, or the file was deleted' });
  } else {
    try {
      manifest = await readJsonFile(manifestPath, parseManifest);
    } catch (e) {
      report(e, manifestPath);
    }
  }

  // Core's own comparison of a folder with its manifest (the one writeManifest and the stages rely on).
  if (manifest) problems.push(...(await manifestDiscrepancies(dir, manifest, files)));
  // Every file its stage must write (core's one declaration), even if the manifest does not list it.
  if (manifest) {
    for (const rel of missingStageFiles(manifest, files)) {
      if (!Object.hasOwn(manifest.files, rel)) problems.push({ file: join(dir, rel), message: `missing: a complete ${manifest.stage} folder holds it` });
    }
  }

  // A run folder: its manifest says so, or (manifest lost) it has the run's files.
  const isRun = manifest?.stage === 'train' || present.has(FILES.run) || files.some((f) => f.startsWith(`${FILES.checkpoints}/`));
  if (isRun) {
    const layout = await checkRunInfo(join(dir, FILES.run), problems);
    const store = await verifyCheckpointStore(join(dir, FILES.checkpoints), { layout });
    problems.push(...store.problems);
    result.checkpointsChecked += store.checkpointsChecked;
    // An anchored run's optimizer state is a checkpoint store of its own (the velocity at each anchor).
    if (files.some((f) => f.startsWith(`${FILES.optimizer}/`))) {
      const optimizer = await verifyCheckpointStore(join(dir, FILES.optimizer), { layout: layout && velocityLayout(layout) });
      problems.push(...optimizer.problems);
      result.checkpointsChecked += optimizer.checkpointsChecked;
    }
  }

  // Every Arrow table reads back, a stage table as its declaration says (columns, types, values, metadata);
  // checkpoint shards were read by the store's checks above.
  for (const rel of files) {
    if (!rel.endsWith('.arrow') || (isRun && (rel.startsWith(`${FILES.checkpoints}/`) || rel.startsWith(`${FILES.optimizer}/`)))) continue;
    const path = join(dir, rel);
    const declared = DECLARED_TABLES.get(rel);
    try {
      await (declared ? readColumns(path, declared) : readTable(path));
    } catch (e) {
      report(e, path);
    }
  }

  // Grouped by file, in path order, so every line about one file sits together.
  const order = (p: Problem) => p.file;
  problems.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : (a.step ?? -1) - (b.step ?? -1)));
  result.problems.push(...problems);
}

/** run.json is a run of this format (core's one reader); returns the layout to open the checkpoints with. */
async function checkRunInfo(path: string, problems: Problem[]): Promise<ParameterLayout | undefined> {
  try {
    return (await readRunInfo(path)).layout;
  } catch (e) {
    problems.push(problemOf(e, path));
    return undefined;
  }
}
