/**
 * The valley floor of an interpolation curve L(α) sampled on a grid (docs/design.md "Metrics, as implemented"): α* = the argmin
 * on the grid, refined by the parabola through the three points around it when it is at an interior grid
 * index; floor = the curve's (parabola's) value there. Height = L(0) − floor.
 */

export interface ValleyFloor {
  alphaStar: number;
  floor: number;
  /** 0 < α* < 1: the minimum lies strictly between the two checkpoints. */
  interiorMinimum: boolean;
}

function checkGrid(alphas: readonly number[], losses: readonly number[]): void {
  if (alphas.length !== losses.length) throw new Error(`${alphas.length} α values but ${losses.length} losses`);
  if (alphas.length === 0) throw new Error('empty α grid');
}

/**
 * Vertex of the parabola through (x0, y0), (x1, y1), (x2, y2), for any spacing; undefined when the three
 * points do not bend upwards (collinear or concave), where there is no vertex to refine to.
 */
function parabolaVertex(x0: number, y0: number, x1: number, y1: number, x2: number, y2: number): { x: number; y: number } | undefined {
  const slope01 = (y1 - y0) / (x1 - x0);
  const slope12 = (y2 - y1) / (x2 - x1);
  const curvature = (slope12 - slope01) / (x2 - x0); // p(x) = y0 + slope01·(x − x0) + curvature·(x − x0)(x − x1)
  if (!(curvature > 0)) return undefined;
  const x = (x0 + x1) / 2 - slope01 / (2 * curvature);
  return { x, y: y0 + slope01 * (x - x0) + curvature * (x - x0) * (x - x1) };
}

/** A curve with a non-finite loss has no floor: α*, floor are NaN and there is no interior minimum. */
export function valleyFloor(alphas: readonly number[], losses: readonly number[]): ValleyFloor {
  checkGrid(alphas, losses);
  if (!losses.every(Number.isFinite)) return { alphaStar: NaN, floor: NaN, interiorMinimum: false };
  let best = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i] < losses[best]) best = i;
  let alphaStar = alphas[best];
  let floor = losses[best];
  if (best > 0 && best < losses.length - 1) {
    const vertex = parabolaVertex(alphas[best - 1], losses[best - 1], alphas[best], losses[best], alphas[best + 1], losses[best + 1]);
    if (vertex) ({ x: alphaStar, y: floor } = vertex);
  }
  return { alphaStar, floor, interiorMinimum: alphaStar > 0 && alphaStar < 1 };
}

/** Index of α = value in the grid, found exactly; the grid must hold it. */
export function gridIndex(alphas: readonly number[], value: number): number {
  const index = alphas.indexOf(value);
  if (index < 0) throw new Error(`the α grid does not contain ${value}`);
  return index;
}

/** Height of the curve's start above its floor: L(α = 0) − floor. */
export function height(alphas: readonly number[], losses: readonly number[], floor: number): number {
  checkGrid(alphas, losses);
  return losses[gridIndex(alphas, 0)] - floor;
}
