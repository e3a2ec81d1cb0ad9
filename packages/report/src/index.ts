export { writeReport } from './page/report.js';
export { writeComparison } from './comparison/compare.js';
export { COMPARISON_FIGURE_NAMES } from './comparison/comparison-figures.js';
export { explorerData } from './explorer/explorer-data.js';
export { renderExplorerHtml } from './explorer/explorer-html.js';
