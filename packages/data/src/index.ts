/** @sgdwalk/data: the data stage and what later stages need to read its output. */
export { prepareDataset } from './prepare.js';
export { readPreparedDataset, type DatasetMeta, type PreparedDataset, type SplitData } from './prepared.js';
export { writePreparedDataset } from './prepared-writer.js';
export { toFloat32, labelsOf } from './normalize.js';
export { MinibatchSchedule } from './schedule.js';
export { evaluationSubset } from './subset.js';
export { DATA_DIR_ENV, datasetDirEnv } from './sources.js';
