/** @sgdwalk/data: the data stage and what later stages need to read its output. */
export { prepareDataset } from './prepare.js';
export { readPreparedDataset, type DatasetMeta, type PreparedDataset, type SplitData, type SplitName } from './prepared.js';
export { toFloat32, labelsOf } from './normalize.js';
export { MinibatchSchedule } from './schedule.js';
export { evaluationSubset } from './subset.js';
export { readIdx, type IdxArray } from './idx.js';
export { loadDescriptor, type DatasetDescriptor } from './descriptor.js';
export { DATA_DIR_ENV, datasetDirEnv } from './sources.js';
export { generateSynthetic, type SyntheticParams } from './synthetic.js';
