export { SgdwalkError, ConfigError, DataError, CheckpointError } from './errors.js';
export { Rng, deriveSeed, permutation } from './rng.js';
export { sha256, sha256File, canonicalJson, hashJson } from './hash.js';
export { writeFileAtomic, temporaryPathFor } from './atomic.js';
export {
  type ModelSpec, type LayerSpec, type ResolvedLayer, type ResolvedLayerOf, type Window2d, resolveLayers,
  flattenLayers, inputFeatures, mlpSpec,
} from './model-spec.js';
export { type LibraryReference } from './model-schema.js';
export { instantiateLibraryModel } from './model-library.js';
export { type ParameterLayout, type TensorSlot, type TensorRole, parameterLayout, slotOf, tensorView, velocityLayout } from './layout.js';
export { initialState } from './init.js';
export {
  type PipelineConfig, type DataConfig, type TrainConfig, type AnalyzeConfig, type ReportConfig,
  type CheckpointPolicy, dataSectionSchema, trainSectionSchema, parseAnalyzeSection, parsePipeline, parseSection,
  resolveModel, alphaGridValues, type SweepValue, type SurfaceConfig,
} from './config.js';
export { type ResolvedPoint, parseSweepPipeline, loadSweepPipeline, findPoint, pointStageRoot, stageFolder, STAGE_NAMES } from './sweep.js';
export * from './contracts.js';
export {
  declareTable, columnOf, TABLES, METRICS_TABLE, EVALUATIONS_TABLE, STATE_HASHES_TABLE, INTERPOLATION_TABLE, PAIRS_TABLE, BARRIERS_TABLE,
  BARRIER_LINES_TABLE, SHARPNESS_TABLE, SURFACES_TABLE, SURFACE_PATHS_TABLE, SURFACES_METADATA_KEY,
  type TableDeclaration, type ColumnDeclaration, type ColumnType, type RowOf, type WrittenRowOf, type ColumnsOf, type WrittenColumnsOf,
  type MetadataOf, type StoredSharpnessRow, type StoredSurfacePoint,
} from './tables.js';
export {
  type Manifest, writeManifest, readManifest, checkAgainstManifest, SGDWALK_VERSION,
  listStageFiles, parseManifest, manifestDiscrepancies, stampManifestPipeline, ownerProblem, type FolderOwner,
} from './manifest.js';
export { type Logger, formatDuration, silentLogger } from './log.js';
export { quantile, median, mean, fraction } from './stats.js';
export { dot, norm, distance, updateCosine, interpolate } from './vector.js';
export { pathExists } from './path-exists.js';
export { readBoundedFile, checkRegularFile, type FileBound } from './bounded-file.js';
export { STAGE_FOLDER_ORDER, missingStageFiles } from './stage-outputs.js';
export { isSoftwareAdapter } from './webgpu-adapter-kind.js';
export { projectRun, checkProjection, plannedLines, describeProjection, FORCE_ENV, PROJECTION_LIMIT_HOURS, type RunProjection } from './run-projection.js';
export { DATA_DIR_ENV, datasetDirEnv } from './dataset-location.js';
export { parseAnalysisSummary, parseSurfaceMetadata } from './analysis-summary.js';
export { DATASET_FORMAT_VERSION, parseDatasetMeta, readDatasetMeta, type DatasetMeta, SPLIT_NAMES, splitFileNames, type SplitName, evalSetShortfall } from './dataset-file.js';
export { readJsonFile, checkWith, fieldOf, parseJsonText, type JsonCheck } from './json-file.js';
export { readRunInfo, learningRateOf } from './run-file.js';
export type { BatchNormMode } from './batch-norm-mode.js';
export { checkpointIndexSchema, SHARD_FILE_PATTERN } from './checkpoint-index.js';
