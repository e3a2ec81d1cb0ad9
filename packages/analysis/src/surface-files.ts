import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, FILES, type SurfacePathRow, type SurfacePointRow, type SurfaceSummary } from '@sgdwalk/core';
import { readTable, writeTable } from '@sgdwalk/checkpoints';

/**
 * The file contract of surfaces.arrow and surface-paths.arrow (docs/surfaces.md). surfaces.arrow holds one
 * row per evaluated point with its plane's content key; its metadata key `sgdwalk.surfaces` holds the
 * surfaces' summaries as JSON (what the report labels the figures with).
 */
export const SURFACES_METADATA_KEY = 'sgdwalk.surfaces';

/** A stored point with the content key of its plane. */
export interface KeyedSurfacePoint extends SurfacePointRow {
  key: string;
}

/** Values known from an earlier analysis: plane key → "a,b" → loss and accuracy. */
export type KnownSurfacePoints = Map<string, Map<string, { loss: number; accuracy: number }>>;

export const pointId = (a: number, b: number): string => `${a},${b}`;

export async function writeSurfaceTables(outDir: string, points: readonly KeyedSurfacePoint[], paths: readonly SurfacePathRow[], summaries: readonly SurfaceSummary[]): Promise<void> {
  await writeTable(
    join(outDir, FILES.surfaces),
    {
      surface: points.map((p) => p.surface),
      a: Float64Array.from(points, (p) => p.a),
      b: Float64Array.from(points, (p) => p.b),
      loss: Float64Array.from(points, (p) => p.loss),
      accuracy: Float64Array.from(points, (p) => p.accuracy),
      onGrid: points.map((p) => p.onGrid),
      key: points.map((p) => p.key),
    },
    { [SURFACES_METADATA_KEY]: JSON.stringify(summaries) },
  );
  await writeTable(join(outDir, FILES.surfacePaths), {
    surface: paths.map((p) => p.surface),
    kind: paths.map((p) => p.kind),
    step: Int32Array.from(paths, (p) => p.step),
    alpha: Float64Array.from(paths, (p) => p.alpha),
    a: Float64Array.from(paths, (p) => p.a),
    b: Float64Array.from(paths, (p) => p.b),
    distance: Float64Array.from(paths, (p) => p.distance),
  });
}

/**
 * The points of an earlier surfaces.arrow by plane key. A missing file gives none; an unreadable one (or
 * one without the columns) gives none through `onUnreadable`, and everything is computed again.
 */
export async function readKnownSurfacePoints(dir: string, onUnreadable: (file: string, reason: string) => void): Promise<KnownSurfacePoints> {
  const path = join(dir, FILES.surfaces);
  const known: KnownSurfacePoints = new Map();
  if (!existsSync(path)) return known;
  try {
    const { columns, numRows } = await readTable(path);
    const { a, b, loss, accuracy, key } = columns;
    if (!(a instanceof Float64Array && b instanceof Float64Array && loss instanceof Float64Array && accuracy instanceof Float64Array && Array.isArray(key))) {
      throw new CheckpointError('columns a, b, loss, accuracy (float64) and key (string) are required', path);
    }
    for (let i = 0; i < numRows; i++) {
      const plane = key[i] as string;
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
