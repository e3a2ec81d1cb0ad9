export { writeReport, type WriteReportOptions } from './report.js';
export { FIGURE_NAMES, type FigureName } from './figures.js';
