export { writeReport, type WriteReportOptions } from './report.js';
export { FIGURE_NAMES, figureNames, type FigureName } from './figures.js';
export { writeComparison, buildComparison, comparisonJson, type Comparison, type WriteComparisonOptions } from './compare.js';
export { COMPARISON_FIGURE_NAMES, type ComparisonFigureName } from './comparison-figures.js';
export { type RunComparison, type ComparedPoint } from './comparison.js';
export { type ClaimResult, type Verdict } from './claims.js';
