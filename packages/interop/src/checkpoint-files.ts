import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { SgdwalkError, checkWith, pathExists, readJsonFile } from '@sgdwalk/core';
import { interopError } from './interop-error.js';

/** A checkpoint folder's manifest, mapping steps to files: {"0": "init.safetensors", "10": "ckpt-10.safetensors"}. */
export const STEPS_MANIFEST = 'steps.json';
/**
 * steps.json's schema: an object whose keys are steps (non-negative integers, as JSON keys are strings) and
 * whose values are file paths relative to the folder. The error names steps.json and the key.
 */
const stepsManifestSchema = z.record(
  z
    .string()
    .regex(/^\d+$/)
    .refine((key) => Number.isSafeInteger(Number(key))),
  z.string({ error: 'must be a file path relative to the checkpoint folder' }).min(1, { error: 'must be a file path relative to the checkpoint folder' }),
  {
    error: (issue) =>
      issue.code === 'invalid_key' ? 'is not a step (a non-negative integer)' : 'must be an object mapping steps to safetensors files, e.g. {"0": "init.safetensors"}',
  },
);
const checkStepsManifest = checkWith(stepsManifestSchema, ({ field, message }, file) =>
  field === '(root)' ? new SgdwalkError(`${file}: ${message}`, 'import', { file }) : new SgdwalkError(`${file}: field "${field}": ${message}`, 'import', { file, field }),
);

/** A checkpoint file named for its step: step-<N>.safetensors, any zero padding. */
const STEP_FILE = /^step-(\d+)\.safetensors$/;

export interface StepFile {
  step: number;
  file: string;
}

/**
 * The checkpoints of a folder by step, ascending: from steps.json when the folder has one, else every
 * step-<N>.safetensors. Two files for one step (step-1 and step-001), a bad step or no file at all is an
 * error naming the folder.
 */
export async function listStepFiles(dir: string): Promise<StepFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw interopError(dir, `cannot read the checkpoint folder (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const manifest = join(dir, STEPS_MANIFEST);
  let files: StepFile[];
  if (await pathExists(manifest)) {
    const entries = await readJsonFile(manifest, checkStepsManifest);
    files = Object.entries(entries).map(([key, file]) => ({ step: Number(key), file: join(dir, file) }));
  } else {
    const byStep = new Map<number, string>();
    for (const name of names) {
      const match = STEP_FILE.exec(name);
      if (!match) continue;
      const step = Number(match[1]);
      const other = byStep.get(step);
      if (other) throw interopError(dir, `two checkpoints of step ${step}: ${other} and ${name}`);
      byStep.set(step, name);
    }
    files = [...byStep].map(([step, name]) => ({ step, file: join(dir, name) }));
  }
  if (files.length === 0) throw interopError(dir, `no checkpoints: expected step-<N>.safetensors files or a ${STEPS_MANIFEST}`);
  return files.sort((a, b) => a.step - b.step);
}
