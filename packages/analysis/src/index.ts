/** @sgdwalk/analysis: the analyze stage, and the ONNX evaluator other packages check training against. */
export { analyzeRun, type AnalyzeRunOptions } from './analyze.js';
export { openLineContext, type EngineKind, type LineContext, type LineContextSpec } from './line-context.js';
export { lineJobId, lineJobSteps, type LineEnd, type LineJob } from './line-jobs.js';
export type { EvaluatedLine, LineWorker, RemoteLineContext, RemoteLines } from './remote-lines.js';
export type { EvaluatedSurfaceRow, SurfaceRowJob } from './surface-remote.js';
export { RecentlyUsed } from './recently-used.js';
export { createEvaluator, type Evaluator, type EvaluatorOptions, type BatchSums } from './evaluator.js';
export {
  createNaiveEngine, type InterpolationEngine, type InterpolationEngineOptions, type InterpolationCurve, type PreparedState,
} from './engine.js';
export { createFastEngine, type FastEngineOptions } from './fast-engine.js';
export type { EvaluationSet } from './evaluation-set.js';
export type { BatchNormMode } from './lower.js';
export type { ProviderChoice } from './providers.js';
export { ONNXRUNTIME_VERSION, THREADS_ENV } from './session.js';
export { valleyFloor, height, type ValleyFloor } from './valley-floor.js';
export { isConvex } from './convexity.js';
export { floorBarrier, lagBarrier, segmentAlphas, type BarrierMeasure } from './barriers.js';
export { floorSegments, lagLines, type LagLine } from './barrier-lines.js';
export { summarizeBarriers, type BarrierSummary } from './summary.js';
export { BARRIER_LINES_FILE } from './outputs.js';
export { measureMatMulPeak } from './matmul-peak.js';
export { analyzeSurfaces, INIT_LINE_ID, type SurfaceStageOptions } from './surface-stage.js';
export { preparePlane, evaluateSurfaceRow, surfaceRowKey, createPlainPointEvaluator, type PreparedPlane, type SurfaceRow, type PlainPointEvaluator } from './surface-rows.js';
export { pcaDirections, filterNormalizedDirection, directionTowards, orthogonalized } from './surface-directions.js';
export { gridValues, pathRange, planeState, projector, type Plane, type PlanePoint } from './surface-plane.js';
