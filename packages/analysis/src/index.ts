/** @sgdwalk/analysis: the analyze stage, and the ONNX evaluator other packages check training against. */
export { analyzeRun } from './stage/analyze.js';
export { openLineContext, type LineContext, type LineContextSpec } from './lines/line-context.js';
export { lineJobId, lineJobSteps, type LineJob } from './lines/line-jobs.js';
export type { EvaluatedLine, LineWorker, RemoteLineContext, RemoteLines } from './lines/remote-lines.js';
export type { EvaluatedSurfaceRow, SurfaceRowJob } from './surfaces/surface-remote.js';
export { RecentlyUsed } from './lines/recently-used.js';
export { createEvaluator } from './engines/evaluator.js';
export { createNaiveEngine, type InterpolationCurve } from './engines/engine.js';
export { createFastEngine } from './engines/fast-engine.js';
export type { BatchNormMode } from './lowering/lower.js';
export { ONNXRUNTIME_VERSION, THREADS_ENV } from './devices/session.js';
export { measureMatMulPeak } from './devices/matmul-peak.js';
export { preparePlane, evaluateSurfaceRow, createPlainPointEvaluator } from './surfaces/surface-rows.js';
export { pcaDirections } from './surfaces/surface-directions.js';
export { gridValues, pathRange, projector } from './surfaces/surface-plane.js';
export { measureLineCost } from './lines/line-cost.js';
