export { CHECKPOINT_FORMAT_VERSION, type CheckpointMeta } from './meta.js';
export { CheckpointWriter, type CheckpointWriterOptions } from './writer.js';
export { CheckpointReader, type Checkpoint } from './reader.js';
export { writeTable, readTable } from './table.js';
export { readColumns, readRows, rowsOf, writeColumns, writeRows } from './declared-table.js';
export { verifyCheckpointStore, problemOf, type StoreProblem, type StoreVerification } from './verify-store.js';
export { MaterializedCache, DEFAULT_CACHE_BYTES, type CachedCheckpoint } from './materialized-cache.js';
export { CheckpointSet, type CheckpointLocation } from './checkpoint-set.js';
