import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { FILES, RUN_FORMAT_VERSION, SgdwalkError, readJsonFile, sha256File, type Manifest, type ParameterLayout, type RunInfo } from '@sgdwalk/core';
import { problemOf, readTable, verifyCheckpointStore } from '@sgdwalk/checkpoints';
import { ANCHOR_FILES, velocityLayout } from '@sgdwalk/train';

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

const STAGE_ORDER = ['data', 'train', 'analyze', 'report'];

async function verifyTree(dir: string, result: Verification): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const isStage = entries.some((e) => !e.isDirectory());
  // A replay cache (docs/anchors.md): only folders named by a sha256, each a checkpoint store of one state.
  if (!isStage && entries.length > 0 && entries.every((e) => /^[0-9a-f]{64}$/.test(e.name))) {
    for (const e of entries) {
      const store = await verifyCheckpointStore(join(dir, e.name));
      result.problems.push(...store.problems);
      result.checkpointsChecked += store.checkpointsChecked;
      result.filesChecked += (await listFiles(join(dir, e.name))).length;
    }
    return;
  }
  if (isStage) {
    await verifyStage(dir, result);
    return;
  }
  // Stage folders in pipeline order, then any others by name.
  const rank = (name: string) => (STAGE_ORDER.indexOf(name) + STAGE_ORDER.length + 1) % (STAGE_ORDER.length + 1);
  const folders = entries.map((e) => e.name).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  if (folders.length === 0) {
    result.problems.push({ file: dir, message: `empty: neither a stage folder (no ${FILES.manifest}) nor an output root holding stage folders` });
  }
  for (const name of folders) await verifyTree(join(dir, name), result);
}

/** Every file of a stage folder as a path relative to it, as writeManifest lists them: dot-names are temporaries. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

async function verifyStage(dir: string, result: Verification): Promise<void> {
  const problems: Problem[] = [];
  const report = (e: unknown, file: string): void => {
    problems.push(problemOf(e, file));
  };
  const files = await listFiles(dir);
  result.filesChecked += files.length;
  const present = new Set(files);

  const manifestPath = join(dir, FILES.manifest);
  let manifest: Manifest | null = null;
  if (!present.has(FILES.manifest)) {
    problems.push({ file: manifestPath, message: 'missing: the stage that writes this folder has not completed, or the file was deleted' });
  } else {
    try {
      const m = await readJsonFile<Manifest>(manifestPath);
      const listed = m && typeof m === 'object' ? (m as Partial<Manifest>).files : undefined;
      if (!listed || typeof listed !== 'object' || Array.isArray(listed)) {
        problems.push({ file: manifestPath, message: 'not a stage manifest: no "files" map of path → sha256' });
      } else {
        manifest = m;
        if (typeof m.stage !== 'string') problems.push({ file: manifestPath, message: 'not a stage manifest: no "stage" name' });
      }
    } catch (e) {
      report(e, manifestPath);
    }
  }

  if (manifest) {
    for (const [rel, recorded] of Object.entries(manifest.files)) {
      const path = join(dir, rel);
      if (isAbsolute(rel) || normalize(rel).split(sep).includes('..')) {
        problems.push({ file: manifestPath, message: `lists "${rel}", a path outside the folder` });
        continue;
      }
      if (!present.has(rel)) {
        problems.push({ file: path, message: `missing: ${FILES.manifest} lists it` });
        continue;
      }
      try {
        const actual = await sha256File(path);
        if (actual !== recorded) {
          problems.push({ file: path, message: `sha256 mismatch: the file's is ${actual}, ${FILES.manifest} records ${recorded} (changed or corrupt since the stage wrote it)` });
        }
      } catch (e) {
        problems.push({ file: path, message: `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      }
    }
    for (const rel of files) {
      if (rel !== FILES.manifest && !Object.hasOwn(manifest.files, rel)) {
        problems.push({ file: join(dir, rel), message: `not in the manifest: ${FILES.manifest} does not list it (not written by the stage, or added later)` });
      }
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
    if (files.some((f) => f.startsWith(`${ANCHOR_FILES.optimizer}/`))) {
      const optimizer = await verifyCheckpointStore(join(dir, ANCHOR_FILES.optimizer), { layout: layout && velocityLayout(layout) });
      problems.push(...optimizer.problems);
      result.checkpointsChecked += optimizer.checkpointsChecked;
    }
  }

  // Every Arrow table reads back; checkpoint shards were read by the store's checks above.
  for (const rel of files) {
    if (!rel.endsWith('.arrow') || (isRun && (rel.startsWith(`${FILES.checkpoints}/`) || rel.startsWith(`${ANCHOR_FILES.optimizer}/`)))) continue;
    const path = join(dir, rel);
    try {
      await readTable(path);
    } catch (e) {
      report(e, path);
    }
  }

  // Grouped by file, in path order, so every line about one file sits together.
  const order = (p: Problem) => p.file;
  problems.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : (a.step ?? -1) - (b.step ?? -1)));
  result.problems.push(...problems);
}

/** run.json parses and is a run of this format with a layout; returns the layout to open the checkpoints with. */
async function checkRunInfo(path: string, problems: Problem[]): Promise<ParameterLayout | undefined> {
  let run: RunInfo;
  try {
    run = await readJsonFile<RunInfo>(path);
  } catch (e) {
    problems.push(problemOf(e, path));
    return undefined;
  }
  if (!run || typeof run !== 'object' || Array.isArray(run)) {
    problems.push({ file: path, message: 'not a run description (not a JSON object)' });
    return undefined;
  }
  if (run.formatVersion !== RUN_FORMAT_VERSION) {
    problems.push({ file: path, message: `run format version ${run.formatVersion} is not supported (expected ${RUN_FORMAT_VERSION})` });
  }
  const layout = run.layout;
  if (!layout || typeof layout !== 'object' || !Array.isArray(layout.tensors) || !Number.isInteger(layout.totalSize)) {
    problems.push({ file: path, message: 'no parameter layout: the checkpoints are checked against their own index only' });
    return undefined;
  }
  return layout;
}
