import type { ReportConfig } from '@sgdwalk/core';
import { barriers } from './barrier-figures.js';
import { finiteBarriers, finiteSharpness } from './figure-series.js';
import { FIGURE_NAMES, type Figure, type FigureName, type OmittedFigure } from './figure-spec.js';
import { interpolationCurves, interpolationValleys } from './interpolation-figures.js';
import type { ReportInputs } from '../page/inputs.js';
import { sharpness } from './sharpness-figure.js';
import { distanceFromInit, floorHeight, gradientCosine, trainingLoss } from './trajectory-figures.js';

/**
 * A report's figures: which are drawn, in page order, and why an optional one is left out. Each figure is
 * built in the file of its job (interpolation-, trajectory-, barrier-figures, sharpness-figure) from the
 * shared look (figure-theme) and series maths (figure-series); the names other modules import from here
 * are re-exported below so they stay stable.
 */
export { FIGURE_NAMES, type Figure, type FigureName, type OmittedFigure } from './figure-spec.js';
export { FIGURE_CONFIG, FONT_FAMILY, MAX_DOTS, MAX_POINTS } from './figure-theme.js';
export { analysedRanges, bucketRanges, chordResiduals, envelope, movingAverage, selectCurvePairs } from './figure-series.js';
export { lagBarrierScale, lagColors } from './barrier-figures.js';

/** All figure specs of a report: pure data in, Vega-Lite specs out. Figures without data are left out. */
export function buildFigures(inputs: ReportInputs, config: ReportConfig): Figure[] {
  const omitted = new Set(omittedFigures(inputs).map((f) => f.name));
  const figures = [
    interpolationCurves(inputs, config.curvesPairs),
    interpolationValleys(inputs, config.curvesPairs),
    floorHeight(inputs),
    omitted.has('barriers') ? undefined : barriers(inputs),
    omitted.has('sharpness') ? undefined : sharpness(inputs),
    distanceFromInit(inputs),
    gradientCosine(inputs),
    trainingLoss(inputs),
  ];
  return figures.filter((f): f is Figure => f !== undefined);
}

/** The names of the figures buildFigures draws for these inputs, in page order. */
export function figureNames(inputs: ReportInputs): FigureName[] {
  const omitted = new Set(omittedFigures(inputs).map((f) => f.name));
  return FIGURE_NAMES.filter((name) => !omitted.has(name));
}


/**
 * The optional figures that have nothing to draw, and why: the analysis computes barriers and sharpness
 * only when configured, and an analysis from before they existed writes neither file.
 */
export function omittedFigures(inputs: ReportInputs): OmittedFigure[] {
  const out: OmittedFigure[] = [];
  if (finiteBarriers(inputs.barriers).length === 0) {
    out.push({
      name: 'barriers',
      title: 'Barriers',
      reason:
        'No barriers figure: the analysis has no barrier values (barriers.arrow is absent or empty — an analysis from before barriers were computed, or with analyze.barriers.floor off and no lags).',
    });
  }
  if (finiteSharpness(inputs.sharpness).length === 0) {
    out.push({
      name: 'sharpness',
      title: 'Sharpness',
      reason:
        'No sharpness figure: the analysis has no Hessian eigenvalues (sharpness.arrow is absent or empty — analyze.sharpness.steps is empty by default).',
    });
  }
  return out;
}
