import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic.js';
import { FILES } from './contracts.js';
import { SgdwalkError } from './errors.js';
import { sha256File } from './hash.js';
import { checkWith, type JsonCheck } from './json-file.js';

export const SGDWALK_VERSION = '0.1.0';

/**
 * Every file of a stage folder as a path relative to it ('/'-separated), sorted; dot-names are temporaries
 * and partial shards, never outputs. manifest.json itself is included: writeManifest leaves it out.
 */
export async function listStageFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listStageFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/**
 * manifest.json: what a stage ran with and what it wrote, so any output folder explains itself. The one
 * schema of the file: writeManifest writes this type, readManifest and `verify` check it.
 */
const manifestSchema = z.object({
  stage: z.string(),
  /** The pipeline whose stage wrote the folder (stamped by the CLI; absent in folders written before it). */
  pipeline: z.string().optional(),
  sgdwalkVersion: z.string(),
  createdAt: z.string(),
  status: z.enum(['complete', 'diverged']),
  /** The resolved config section the stage ran with. */
  config: z.unknown(),
  /** Content hashes of the inputs (earlier stages' manifests, source files). */
  inputs: z.record(z.string(), z.string()),
  /** Versions of what computed it: node, tfjs backend, onnxruntime, execution provider. */
  versions: z.record(z.string(), z.string()),
  /** sha256 of every file the stage wrote, by path relative to the folder. */
  files: z.record(z.string(), z.string()),
});
export type Manifest = z.output<typeof manifestSchema>;

/** Check a parsed manifest.json: every field of the schema, the error naming the file and the first wrong field. */
export const parseManifest: JsonCheck<Manifest> = checkWith(
  manifestSchema,
  (issue, file) => new SgdwalkError(`${file}: not a stage manifest (field "${issue.field}": ${issue.message})`, 'manifest', { file, field: issue.field }),
);

/** A file of a stage folder that disagrees with its manifest: the path and what is wrong. */
export interface ManifestDiscrepancy {
  file: string;
  message: string;
}

/**
 * Compare a stage folder with its manifest: every listed file present with its sha256, no path outside the
 * folder, and (given the folder's files, listStageFiles) no file the manifest does not list.
 */
export async function manifestDiscrepancies(dir: string, manifest: Manifest, present?: readonly string[]): Promise<ManifestDiscrepancy[]> {
  const out: ManifestDiscrepancy[] = [];
  const manifestPath = join(dir, FILES.manifest);
  const files = new Set(present ?? (await listStageFiles(dir)));
  for (const [rel, recorded] of Object.entries(manifest.files)) {
    const path = join(dir, rel);
    if (isAbsolute(rel) || normalize(rel).split(sep).includes('..')) {
      out.push({ file: manifestPath, message: `lists "${rel}", a path outside the folder` });
      continue;
    }
    if (!files.has(rel)) {
      out.push({ file: path, message: `missing: ${FILES.manifest} lists it` });
      continue;
    }
    const problem = await hashProblem(path, recorded);
    if (problem) out.push({ file: path, message: problem });
  }
  for (const rel of files) {
    if (rel !== FILES.manifest && !Object.hasOwn(manifest.files, rel)) {
      out.push({ file: join(dir, rel), message: `not in the manifest: ${FILES.manifest} does not list it (not written by the stage, or added later)` });
    }
  }
  return out;
}

/** Whether a file still has the sha256 its manifest recorded: undefined if so, else what is wrong. */
async function hashProblem(path: string, recorded: string): Promise<string | undefined> {
  let actual: string;
  try {
    actual = await sha256File(path);
  } catch (e) {
    // The bounded reader's refusal (a device, a FIFO) names the file first; the problem names it already.
    if (e instanceof SgdwalkError) return e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
    return `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  return actual === recorded ? undefined : `sha256 mismatch: the file's is ${actual}, ${FILES.manifest} records ${recorded} (changed or corrupt since the stage wrote it)`;
}

/** Hash every file of a stage folder and write its manifest (atomically, last: its presence means done). */
export async function writeManifest(dir: string, fields: Omit<Manifest, 'files' | 'sgdwalkVersion' | 'createdAt'>): Promise<Manifest> {
  const files: Record<string, string> = {};
  for (const rel of await listStageFiles(dir)) if (rel !== FILES.manifest) files[rel] = await sha256File(join(dir, rel));
  const manifest: Manifest = { ...fields, sgdwalkVersion: SGDWALK_VERSION, createdAt: new Date().toISOString(), files };
  await writeFileAtomic(join(dir, FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, FILES.manifest);
  try {
    return parseManifest(JSON.parse(await readFile(path, 'utf8')), path);
  } catch (e) {
    if (e instanceof SgdwalkError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new SgdwalkError(
      code === 'ENOENT' ? `${path}: missing — the stage that writes ${dir} has not completed` : `${path}: unreadable (${code ?? (e as Error).message})`,
      'manifest',
      { file: path },
    );
  }
}

/**
 * Check files of a stage folder against the sha256 its manifest recorded, before trusting their contents:
 * a truncated, bit-flipped or replaced file is an error naming it, never a silently wrong number.
 */
export async function checkAgainstManifest(dir: string, files: readonly string[]): Promise<void> {
  const manifest = await readManifest(dir);
  for (const file of files) {
    const path = join(dir, file);
    const recorded = manifest.files[file];
    if (!recorded) throw new SgdwalkError(`${path}: not listed in ${join(dir, FILES.manifest)}`, 'integrity', { file: path });
    const actual = await sha256File(path).catch((e: NodeJS.ErrnoException) => {
      throw new SgdwalkError(`${path}: cannot read (${e.code ?? e.message})`, 'integrity', { file: path });
    });
    if (actual !== recorded) {
      throw new SgdwalkError(`${path}: content changed since the ${manifest.stage} stage wrote it (sha256 ${actual}, manifest records ${recorded}); re-run that stage or restore the file`, 'integrity', { file: path });
    }
  }
}

/**
 * Record which pipeline's stage wrote a finished folder, so a later run replaces only its own outputs (see
 * ownerProblem). The manifest is not among the files it hashes, so the stamp changes no recorded sha256.
 */
export async function stampManifestPipeline(dir: string, pipeline: string): Promise<void> {
  const manifest = await readManifest(dir);
  await writeFileAtomic(join(dir, FILES.manifest), JSON.stringify({ ...manifest, pipeline }, null, 2) + '\n');
}

/** What a folder must be for a stage to replace it: the stage's own earlier output. */
export interface FolderOwner {
  /** The stage its manifest must name. */
  stage: string;
  /** The pipeline its manifest must name, when it names one. */
  pipeline?: string;
  /** For outputs without a manifest (export): the file names the stage writes, and nothing else. */
  files?: RegExp;
}

/** Every entry under a folder, dot-names included (a user's .git is theirs too), '/'-separated and sorted. */
async function listAllEntries(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listAllEntries(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/**
 * Why a stage must not replace the existing folder `dir`, or undefined when it may: it does not exist, is
 * empty, or is recognisably the stage's own earlier output — its manifest names the stage (and the pipeline,
 * when it records one) and it holds no file the manifest does not list. Hashes are not checked: a folder of
 * the stage's own files with a changed byte is still the stage's to replace.
 */
export async function ownerProblem(dir: string, owner: FolderOwner): Promise<string | undefined> {
  let entries: string[];
  try {
    entries = await listAllEntries(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return code === 'ENOTDIR' ? 'is a file, not a folder sgdwalk wrote' : `cannot be read (${code ?? (e as Error).message})`;
  }
  if (entries.length === 0) return undefined;
  const shown = (names: string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
  if (owner.files) {
    const foreign = entries.filter((e) => !owner.files!.test(e));
    return foreign.length === 0 ? undefined : `holds files the ${owner.stage} stage does not write (${shown(foreign)})`;
  }
  if (!entries.includes(FILES.manifest)) return `has no ${FILES.manifest}: not a folder sgdwalk wrote`;
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch {
    return `has a ${FILES.manifest} that is not a stage manifest`;
  }
  if (manifest.stage !== owner.stage) return `holds the output of the ${manifest.stage} stage, not of ${owner.stage}`;
  if (owner.pipeline !== undefined && manifest.pipeline !== undefined && manifest.pipeline !== owner.pipeline) {
    return `holds the ${owner.stage} output of pipeline "${manifest.pipeline}", not of "${owner.pipeline}"`;
  }
  const foreign = entries.filter((e) => e !== FILES.manifest && !Object.hasOwn(manifest.files, e));
  return foreign.length === 0 ? undefined : `holds files its ${FILES.manifest} does not list (${shown(foreign)})`;
}
