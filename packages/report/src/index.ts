export { writeReport, type WriteReportOptions } from './report.js';
export { FIGURE_NAMES, figureNames, type FigureName } from './figures.js';
