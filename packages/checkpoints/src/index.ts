export { CHECKPOINT_FORMAT_VERSION } from './meta.js';
export { CheckpointWriter } from './writer.js';
export { CheckpointReader } from './reader.js';
export { writeTable, readTable } from './table.js';
export { readColumns, columnsFromBytes, readRows, rowsOf, writeColumns, writeRows } from './declared-table.js';
export { MaterializedCache, DEFAULT_CACHE_BYTES } from './materialized-cache.js';
export { CheckpointSet, type CheckpointLocation } from './checkpoint-set.js';
export { verifyFolder, formatProblem } from './verify-folder.js';
