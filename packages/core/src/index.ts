export { SgdwalkError, ConfigError, DataError, CheckpointError, SpecError, ERROR_CODES, type ErrorCode } from './errors.js';
export { Rng, deriveSeed, permutation } from './rng.js';
export { sha256, sha256File, canonicalJson, hashJson } from './hash.js';
export { writeFileAtomic, temporaryPathFor } from './atomic.js';
export {
  type ModelSpec, type LayerSpec, type ResolvedLayer, type ResolvedLayerOf, type Shape, type Window2d,
  resolveLayers, flattenLayers, inputFeatures, mlpSpec, BATCHNORM_DEFAULTS,
} from './model-spec.js';
export { modelSpecSchema, layerSchema, type LibraryReference } from './model-schema.js';
export { LIBRARY_MODELS, instantiateLibraryModel, isLibraryModel, libraryBaseSpec } from './model-library.js';
export { type ParameterLayout, type TensorSlot, type TensorRole, parameterLayout, slotOf, tensorView } from './layout.js';
export { initialState } from './init.js';
export {
  type PipelineConfig, type DataConfig, type TrainConfig, type AnalyzeConfig, type ReportConfig, type CheckpointPolicy, type StageName,
  pipelineSchema, dataSectionSchema, trainSectionSchema, analyzeSectionSchema, reportSectionSchema,
  parsePipeline, loadPipeline, parseSection, resolveModel, alphaGridValues, pipelineNameOf, checkAlphaGrid,
  readPipelineJson, sweepFieldSchema, SWEEP_LABEL, type SweepValue,
  surfaceSchema, type SurfaceConfig, type SurfaceDirectionsConfig, type InitLineConfig,
} from './config.js';
export {
  type SweepPoint, type ResolvedPoint, sweepPoints, pointId, sweepValueLabel, applyOverrides, parseSweepPipeline, loadSweepPipeline, findPoint, pointStageRoot,
} from './sweep.js';
export * from './contracts.js';
export {
  declareTable, columnOf, TABLES, METRICS_TABLE, EVALUATIONS_TABLE, STATE_HASHES_TABLE, INTERPOLATION_TABLE, PAIRS_TABLE, BARRIERS_TABLE,
  BARRIER_LINES_TABLE, SHARPNESS_TABLE, SURFACES_TABLE, SURFACE_PATHS_TABLE, SURFACES_METADATA_KEY,
  type TableDeclaration, type ColumnDeclaration, type ColumnType, type RowOf, type WrittenRowOf, type ColumnsOf, type WrittenColumnsOf,
  type MetadataOf, type StoredSharpnessRow, type StoredSurfacePoint,
} from './tables.js';
export {
  type Manifest, type ManifestDiscrepancy, writeManifest, readManifest, readJsonFile, checkAgainstManifest, SGDWALK_VERSION,
  listStageFiles, parseManifest, manifestDiscrepancies,
} from './manifest.js';
export { type Logger, formatDuration, silentLogger } from './log.js';
export { quantile, median, mean, fraction } from './stats.js';
export { dot, norm, distance, cosine, updateCosine, interpolate } from './vector.js';
export { pathExists } from './path-exists.js';
export { DATA_DIR_ENV, datasetDirEnv, dataLocationEnv } from './dataset-location.js';
export { runInfoSchema, parameterLayoutSchema, parseRunInfo, readRunInfo, type RunSource } from './run-file.js';
export type { BatchNormMode } from './batch-norm-mode.js';
export { checkpointIndexSchema, shardEntrySchema, SHARD_FILE_PATTERN } from './checkpoint-index.js';
