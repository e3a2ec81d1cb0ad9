/**
 * Iso-lines of a function sampled on a regular grid, by marching squares: what the surface figures draw
 * over their heat maps (Vega-Lite has no contour mark for gridded values). Pure maths.
 */

/** One straight piece of an iso-line, from (a1, b1) to (a2, b2), at `level`. */
export interface ContourSegment {
  level: number;
  a1: number;
  b1: number;
  a2: number;
  b2: number;
}

/**
 * The segments where `values` (row-major: values[j·as.length + i] at (as[i], bs[j])) crosses each level.
 * Within each grid cell the crossing points on its edges are found by linear interpolation and joined in
 * pairs; a saddle cell (all four edges crossed) is split by the cell's centre value. Cells with a
 * non-finite corner are skipped.
 */
export function contourSegments(as: readonly number[], bs: readonly number[], values: readonly number[], levels: readonly number[]): ContourSegment[] {
  if (values.length !== as.length * bs.length) throw new Error(`${values.length} values for a ${as.length} × ${bs.length} grid`);
  const out: ContourSegment[] = [];
  const at = (i: number, j: number) => values[j * as.length + i];
  for (const level of levels) {
    for (let j = 0; j + 1 < bs.length; j++) {
      for (let i = 0; i + 1 < as.length; i++) {
        // corners counter-clockwise: (i, j), (i+1, j), (i+1, j+1), (i, j+1)
        const corners: Array<[number, number, number]> = [
          [as[i], bs[j], at(i, j)],
          [as[i + 1], bs[j], at(i + 1, j)],
          [as[i + 1], bs[j + 1], at(i + 1, j + 1)],
          [as[i], bs[j + 1], at(i, j + 1)],
        ];
        if (!corners.every((c) => Number.isFinite(c[2]))) continue;
        const crossings: Array<[number, number]> = [];
        for (let e = 0; e < 4; e++) {
          const [a1, b1, v1] = corners[e];
          const [a2, b2, v2] = corners[(e + 1) % 4];
          if (v1 < level !== v2 < level) {
            const t = (level - v1) / (v2 - v1);
            crossings.push([a1 + t * (a2 - a1), b1 + t * (b2 - b1)]);
          }
        }
        if (crossings.length === 2) {
          out.push({ level, a1: crossings[0][0], b1: crossings[0][1], a2: crossings[1][0], b2: crossings[1][1] });
        } else if (crossings.length === 4) {
          // Saddle: crossings on edges 0, 1, 2, 3 in order (edge e runs from corner e to corner e + 1). With
          // the centre on corner 0's side, corners 0 and 2 connect through it and corners 1 and 3 are cut off
          // (edges 0–1 and 2–3); otherwise corners 0 and 2 are (edges 3–0 and 1–2).
          const centre = corners.reduce((s, c) => s + c[2], 0) / 4;
          const pairs = centre < level === corners[0][2] < level ? [[0, 1], [2, 3]] : [[3, 0], [1, 2]];
          for (const [p, q] of pairs) out.push({ level, a1: crossings[p][0], b1: crossings[p][1], a2: crossings[q][0], b2: crossings[q][1] });
        }
      }
    }
  }
  return out;
}

/**
 * Contour levels for a loss surface: evenly spaced in log(loss) between the lowest value and the
 * `ceilingQuantile` of the values (so a few huge losses at the grid's corners do not take every level).
 */
export function logLevels(values: readonly number[], count: number, ceilingQuantile = 0.9): number[] {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0).sort((a, b) => a - b);
  if (finite.length < 2 || count < 1) return [];
  const lo = Math.log(finite[0]);
  const hi = Math.log(finite[Math.min(finite.length - 1, Math.floor(ceilingQuantile * (finite.length - 1)))]);
  if (!(hi > lo)) return [];
  return Array.from({ length: count }, (_, k) => Math.exp(lo + ((k + 1) * (hi - lo)) / (count + 1)));
}
