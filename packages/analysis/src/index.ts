/** @sgdwalk/analysis: the analyze stage, and the ONNX evaluator other packages check training against. */
export { analyzeRun } from './analyze.js';
export { openLineContext, type LineContext, type LineContextSpec } from './line-context.js';
export { lineJobId, lineJobSteps, type LineJob } from './line-jobs.js';
export type { EvaluatedLine, LineWorker, RemoteLineContext, RemoteLines } from './remote-lines.js';
export type { EvaluatedSurfaceRow, SurfaceRowJob } from './surface-remote.js';
export { RecentlyUsed } from './recently-used.js';
export { createEvaluator } from './evaluator.js';
export { createNaiveEngine, type InterpolationCurve } from './engine.js';
export { createFastEngine } from './fast-engine.js';
export type { BatchNormMode } from './lower.js';
export { ONNXRUNTIME_VERSION, THREADS_ENV } from './session.js';
export { measureMatMulPeak } from './matmul-peak.js';
export { preparePlane, evaluateSurfaceRow, createPlainPointEvaluator } from './surface-rows.js';
export { pcaDirections } from './surface-directions.js';
export { gridValues, pathRange, projector } from './surface-plane.js';
