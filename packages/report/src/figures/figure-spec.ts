import type { TopLevelSpec } from 'vega-lite';

/**
 * Every figure a report can have, in the order they appear; each drawn one is written as
 * figures/<name>.svg and .png. `barriers` and `sharpness` are drawn only when the analysis computed them
 * (figureNames says which a given report has; omittedFigures says why the others are missing).
 */
export const FIGURE_NAMES = ['interpolation-curves', 'interpolation-valleys', 'floor-height', 'barriers', 'sharpness', 'distance-from-init', 'gradient-cosine', 'training-loss'] as const;
export type FigureName = (typeof FIGURE_NAMES)[number];

/** A figure left out because its data was not computed, with the sentence the report shows instead. */
export interface OmittedFigure {
  name: FigureName;
  title: string;
  reason: string;
}

export interface Figure {
  name: FigureName;
  /** Short title for the HTML heading and the Markdown link text. */
  title: string;
  /** One line under the figure saying how to read it. */
  caption: string;
  spec: TopLevelSpec;
}

/** One layer of a layered Vega-Lite spec. */
export type Layer = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];
