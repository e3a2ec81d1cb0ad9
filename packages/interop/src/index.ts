/** @sgdwalk/interop: runs in and out of other frameworks: ONNX graphs, safetensors checkpoints, PyTorch's layout. */
export { importRun, GRAPH_FILE, type ImportRunOptions, type DatasetName } from './import-run.js';
export { evaluationGraph, stateTensors, EVALUATION_NAMES, type BatchNormMode, type EvaluationGraphOptions, type StateTensor } from './evaluation-graph.js';
export { decodeModel, encodeModel } from './onnx-model.js';
export { readSafetensors, parseSafetensors, writeSafetensors, encodeSafetensors, type NamedTensor, type SafetensorsContents } from './safetensors.js';
export { exportRun, stepFileName, type ExportRunOptions } from './export-run.js';
export { exportPlan, permuteAxes, stateFromExported, type ExportLayout, type ExportedTensorPlan } from './torch-layout.js';
export { exportGraph, EXPORT_OPSET } from './export-graph.js';
