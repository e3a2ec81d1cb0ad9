import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { FILES } from './contracts.js';
import { SgdwalkError } from './errors.js';
import { sha256File } from './hash.js';

export const SGDWALK_VERSION = '0.1.0';

/** manifest.json: what a stage ran with and what it wrote, so any output folder explains itself. */
export interface Manifest {
  stage: string;
  sgdwalkVersion: string;
  createdAt: string;
  status: 'complete' | 'diverged';
  /** The resolved config section the stage ran with. */
  config: unknown;
  /** Content hashes of the inputs (earlier stages' manifests, source files). */
  inputs: Record<string, string>;
  /** Versions of what computed it: node, tfjs backend, onnxruntime, execution provider. */
  versions: Record<string, string>;
  /** sha256 of every file the stage wrote, by path relative to the folder. */
  files: Record<string, string>;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue; // temporaries and partial shards are not outputs
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.name !== FILES.manifest) out.push(path);
  }
  return out.sort();
}

/** Hash every file of a stage folder and write its manifest (atomically, last: its presence means done). */
export async function writeManifest(dir: string, fields: Omit<Manifest, 'files' | 'sgdwalkVersion' | 'createdAt'>): Promise<Manifest> {
  const files: Record<string, string> = {};
  for (const path of await listFiles(dir)) files[relative(dir, path)] = await sha256File(path);
  const manifest: Manifest = { ...fields, sgdwalkVersion: SGDWALK_VERSION, createdAt: new Date().toISOString(), files };
  await writeFileAtomic(join(dir, FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, FILES.manifest);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Manifest;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SgdwalkError(
      code === 'ENOENT' ? `${path}: missing — the stage that writes ${dir} has not completed` : `${path}: unreadable (${code ?? (e as Error).message})`,
      'manifest',
      { file: path },
    );
  }
}

/** Read a JSON file written by an earlier stage, with an error naming it. */
export async function readJsonFile<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new SgdwalkError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`, 'read', { file: path });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new SgdwalkError(`${path}: not valid JSON (${(e as Error).message})`, 'read', { file: path });
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
