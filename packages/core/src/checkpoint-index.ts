import { z } from 'zod';
import { parameterLayoutSchema } from './run-file.js';
import { storedModelSchema } from './model-schema.js';

/** A finalized shard's file name: shard-NNNNNN.arrow (six or more digits). */
export const SHARD_FILE_PATTERN = /^shard-(\d{6,})\.arrow$/;

/**
 * index.json's schema: the checkpoint meta (format version, run, model spec, layout, as core defines them)
 * and the finalized shards, each with parallel per-checkpoint lists; across shards the steps ascend strictly
 * and no file is listed twice. The file name is joined to the folder: only our own names, never a path
 * that escapes it.
 */
export const shardEntrySchema = z
  .object({
    file: z.string().refine((f) => SHARD_FILE_PATTERN.test(f), { message: 'is not a shard name' }),
    bytes: z.number().int().positive({ message: 'is not a positive integer' }),
    steps: z.array(z.number().int()).min(1, { message: 'is not a list of integers' }),
    epochs: z.array(z.number().int()),
    sha256: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  })
  .superRefine((e, ctx) => {
    if (e.epochs.length !== e.steps.length) ctx.addIssue({ code: 'custom', path: ['epochs'], message: 'does not match its steps' });
    if (e.sha256.length !== e.steps.length) ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'does not match its steps' });
  });

export const checkpointIndexSchema = z
  .object({
    formatVersion: z.number(),
    runId: z.string(),
    model: storedModelSchema,
    layout: parameterLayoutSchema,
    shards: z.array(shardEntrySchema),
  })
  .superRefine((index, ctx) => {
    let lastStep = -Infinity;
    const seen = new Set<string>();
    index.shards.forEach((shard, i) => {
      if (seen.has(shard.file)) ctx.addIssue({ code: 'custom', path: ['shards', i, 'file'], message: `${shard.file} is listed twice` });
      seen.add(shard.file);
      for (const step of shard.steps) {
        if (!(step > lastStep)) ctx.addIssue({ code: 'custom', path: [], message: `steps are not strictly ascending at step ${step} (shards[${i}])` });
        lastStep = step;
      }
    });
  });

