import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SURFACE_PATHS_TABLE, SURFACES_METADATA_KEY, SURFACES_TABLE, type StoredSurfacePoint, type SurfacePathRow, type SurfaceSummary } from '@sgdwalk/core';
import { readColumns, writeRows } from '@sgdwalk/checkpoints';

/**
 * surfaces.arrow and surface-paths.arrow (declared in core's tables.ts; docs/surfaces.md). surfaces.arrow
 * holds one row per evaluated point with its plane's content key; its metadata key `sgdwalk.surfaces` holds
 * the surfaces' summaries as JSON (what the report labels the figures with).
 */

/** A stored point with the content key of its plane. */
export type KeyedSurfacePoint = StoredSurfacePoint;

/** Values known from an earlier analysis: plane key → "a,b" → loss and accuracy. */
export type KnownSurfacePoints = Map<string, Map<string, { loss: number; accuracy: number }>>;

export const pointId = (a: number, b: number): string => `${a},${b}`;

export async function writeSurfaceTables(outDir: string, points: readonly KeyedSurfacePoint[], paths: readonly SurfacePathRow[], summaries: readonly SurfaceSummary[]): Promise<void> {
  await writeRows(join(outDir, SURFACES_TABLE.file), SURFACES_TABLE, points, { [SURFACES_METADATA_KEY]: JSON.stringify(summaries) });
  await writeRows(join(outDir, SURFACE_PATHS_TABLE.file), SURFACE_PATHS_TABLE, paths, {});
}

/**
 * The points of an earlier surfaces.arrow by plane key. A missing file gives none; an unreadable one (or
 * one without the columns) gives none through `onUnreadable`, and everything is computed again.
 */
export async function readKnownSurfacePoints(dir: string, onUnreadable: (file: string, reason: string) => void): Promise<KnownSurfacePoints> {
  const path = join(dir, SURFACES_TABLE.file);
  const known: KnownSurfacePoints = new Map();
  if (!existsSync(path)) return known;
  try {
    const { columns, numRows } = await readColumns(path, SURFACES_TABLE);
    const { a, b, loss, accuracy, key } = columns;
    for (let i = 0; i < numRows; i++) {
      const plane = key[i];
      let points = known.get(plane);
      if (!points) known.set(plane, (points = new Map()));
      points.set(pointId(a[i], b[i]), { loss: loss[i], accuracy: accuracy[i] });
    }
  } catch (e) {
    onUnreadable(path, (e as Error).message);
    known.clear();
  }
  return known;
}
