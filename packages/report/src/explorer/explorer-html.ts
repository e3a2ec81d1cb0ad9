import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { ExplorerData } from './explorer-data.js';
import { explorerSpec } from './explorer-spec.js';
import { escapeHtml } from '../page/page.js';

/**
 * explore.html: one self-contained page (opens from file:// with no network) holding Vega's browser
 * build, the explorer's spec compiled to Vega here (so the page needs no Vega-Lite compiler), its data
 * inline, and a little script: it starts the view (SVG, so every mark is an element a test can find and
 * click), fills the picked pair's table from the same rows the views draw, and exposes the view as
 * `window.sgdwalkExplorer` for the browser tests. Vega's own View is used rather than vega-embed: embed
 * adds an actions menu (links to the online editor) and a tooltip plugin, none of which an offline page
 * needs; Vega's default tooltip (the element's title) names the step and values on hover.
 */

/**
 * Vega's minified browser build, read from the installed package. Its exports map only exposes the
 * schema file beside the build, so the build folder is found through it.
 */
let vegaBrowserBuild: string | undefined;
function vegaScript(): string {
  if (vegaBrowserBuild === undefined) {
    const require = createRequire(import.meta.url);
    vegaBrowserBuild = readFileSync(join(dirname(require.resolve('vega/vega-schema.json')), 'vega.min.js'), 'utf8');
  }
  return vegaBrowserBuild;
}

/** JSON or script text safe inside <script>: no "</script" or "<!--" can end or comment it. */
export function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

const STYLE = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { padding: 1rem 1.5rem; background: #fff; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: 0 0 0.2rem; }
.lead { color: #555; margin: 0 0 0.8rem; }
#layout { display: flex; gap: 1.5rem; align-items: flex-start; }
#views { flex: 0 0 auto; }
#detail { min-width: 260px; position: sticky; top: 0.5rem; }
#detail table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
#detail th, #detail td { text-align: left; padding: 0.2rem 0.5rem; border-bottom: 1px solid #eee; }
#detail caption { text-align: left; font-weight: bold; padding-bottom: 0.3rem; }
.vega-bindings { margin: 0.3rem 0 0.6rem; font-size: 0.9rem; }
#error { color: #b00020; white-space: pre-wrap; }
`;

/** The picked pair's table rows: field of the pairs data, label, digits shown. */
export const DETAIL_FIELDS: ReadonlyArray<readonly [string, string, number]> = [
  ['run', 'run', 0], ['pair', 'pair', 0], ['stepA', 'from step', 0], ['stepB', 'to step t', 0], ['alphaStar', 'valley floor α*', 4], ['floor', 'floor', 6],
  ['height', 'height L(θₜ₋₁) − floor', 5], ['lossA', 'L(θₜ₋₁)', 6], ['lossB', 'L(θₜ)', 6], ['interior', 'interior minimum', 0], ['distance', '‖θₜ − θ₀‖₂', 5],
  ['gradCosine', 'cos(gₜ₋₁, gₜ) at t', 4],
];

/** The page script: start the view, keep the detail table on the picked pair. */
const PAGE_SCRIPT = `
(function () {
  var spec = JSON.parse(document.getElementById('explorer-spec').textContent);
  var fields = JSON.parse(document.getElementById('explorer-fields').textContent);
  var view = new vega.View(vega.parse(spec), { renderer: 'svg', container: '#views', bind: '#controls', hover: true });
  window.sgdwalkExplorer = { view: view };
  function show(value, digits) {
    if (value === null || value === undefined) return 'n/a';
    if (typeof value === 'number') return digits ? Number(value.toPrecision(digits)).toString() : String(value);
    return String(value);
  }
  function fill() {
    var store = view.data('pick_store');
    var body = document.getElementById('detail-body');
    if (!store || store.length === 0) return;
    var key = store[0].values;
    var row = view.data('pairs').find(function (p) { return p.run === key[0] && p.pair === key[1]; });
    if (!row) return;
    body.innerHTML = '';
    fields.forEach(function (f) {
      var tr = document.createElement('tr');
      var th = document.createElement('th');
      th.textContent = f[1];
      var td = document.createElement('td');
      td.textContent = show(row[f[0]], f[2]);
      td.dataset.field = f[0];
      td.dataset.value = row[f[0]] === null ? '' : String(row[f[0]]);
      tr.appendChild(th);
      tr.appendChild(td);
      body.appendChild(tr);
    });
    document.getElementById('detail').dataset.pair = key[0] + '/' + key[1];
  }
  view.addSignalListener('pick', function () { fill(); });
  view.runAsync().then(function () {
    fill();
    // When the views are on screen (the frame after the first run): the benchmark's time to first paint.
    requestAnimationFrame(function () { document.body.dataset.drawnMs = String(Math.round(performance.now())); });
    document.body.dataset.ready = 'true';
  }).catch(function (e) {
    document.getElementById('error').textContent = 'The explorer could not start: ' + e;
  });
})();
`;

/** The whole page: title, a lead line, the views with the picked pair's table beside them. */
export function renderExplorerHtml(data: ExplorerData, title: string, lead: string, generator = 'sgdwalk'): string {
  const compiled = compile(explorerSpec(data)).spec;
  // A fixed background: a screenshot or a dark-mode browser shows the figures as the report does.
  const vgSpec = { ...compiled, background: 'white', autosize: { type: 'pad' } } as vega.Spec;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="lead">${escapeHtml(lead)}</p>
<div id="controls"></div>
<div id="error"></div>
<div id="layout">
<div id="views"></div>
<div id="detail"><table><caption>The picked pair (pairs.arrow)</caption><tbody id="detail-body"><tr><td>Click a pair in the height or α* view.</td></tr></tbody></table></div>
</div>
<p class="lead">Generated by ${escapeHtml(generator)}. Opens offline: Vega ${escapeHtml(vega.version)} and the data are inside this file.</p>
</main>
<script>${scriptSafe(vegaScript())}</script>
<script type="application/json" id="explorer-spec">${scriptSafe(JSON.stringify(vgSpec))}</script>
<script type="application/json" id="explorer-fields">${scriptSafe(JSON.stringify(DETAIL_FIELDS))}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
