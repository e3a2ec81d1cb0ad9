export { writeReport } from './report.js';
export { writeComparison } from './compare.js';
export { COMPARISON_FIGURE_NAMES } from './comparison-figures.js';
export { explorerData } from './explorer-data.js';
export { renderExplorerHtml } from './explorer-html.js';
