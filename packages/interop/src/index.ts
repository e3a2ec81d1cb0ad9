/** @sgdwalk/interop: runs in and out of other frameworks: ONNX graphs, safetensors checkpoints, PyTorch's layout. */
export { importRun, type DatasetName } from './import-run.js';
export { evaluationGraph } from './evaluation-graph.js';
export { decodeModel } from '@sgdwalk/onnx';
export { readSafetensors, parseSafetensors, encodeSafetensors } from './safetensors.js';
export { exportRun } from './export-run.js';
export { exportPlan, stateFromExported, type ExportLayout } from './torch-layout.js';
