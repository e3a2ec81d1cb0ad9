export { CHECKPOINT_FORMAT_VERSION, type CheckpointMeta } from './meta.js';
export { CheckpointWriter, type CheckpointWriterOptions } from './writer.js';
export { CheckpointReader, type Checkpoint } from './reader.js';
export { writeTable, readTable, type ColumnData, type TableContents } from './table.js';
export { readColumns, readRows, rowsOf, writeColumns, writeRows, type DeclaredTable } from './declared-table.js';
export { verifyCheckpointStore, problemOf, type StoreProblem, type StoreVerification } from './verify-store.js';
export { MaterializedCache, DEFAULT_CACHE_BYTES, type CachedCheckpoint } from './materialized-cache.js';
export { CheckpointSet, type CheckpointLocation } from './checkpoint-set.js';
