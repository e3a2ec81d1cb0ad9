#!/usr/bin/env node
// Benchmarks, run on demand (never in CI): `npm run bench -- analysis` or `node tools/bench/index.mjs train`.
// Each prints one JSON object on stdout; progress goes to stderr. They use the built packages (npm run build).
const benches = {
  analysis: () => import('./analysis.mjs'),
  train: () => import('./train.mjs'),
  queue: () => import('./queue.mjs'),
  surface: () => import('./surface.mjs'),
  anchors: () => import('./anchors.mjs'),
  explorer: () => import('./explorer.mjs'),
};
const name = process.argv[2];
if (!benches[name]) {
  process.stderr.write(`usage: node tools/bench/index.mjs <${Object.keys(benches).join('|')}> [options]\n`);
  process.exit(2);
}
const { run } = await benches[name]();
const result = await run(process.argv.slice(3));
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
