/**
 * @sgdwalk/onnx: ONNX models of sgdwalk's networks. One encoder and decoder (protobufjs over ONNX's own
 * onnx.proto, onnx-model.ts) and one lowering of the model spec (lower.ts, lower-conv.ts) with the loss
 * head (the analysis' plain and α-batched interpolation graphs) or the inference head (the exported model,
 * lower-inference.ts), built through one graph builder (graph-builder.ts).
 */
export {
  ATTRIBUTE_TYPE, DataType, decodeModel, dimsOf, encodeModel, floatTensor, floatValues, opsetOf, valueInfo,
  type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor,
} from './onnx-model.js';
export { GraphBuilder } from './graph-builder.js';
export { GRAPH_NAMES, hasImageLayers, lowerModel, lowerProjection, type BatchNormMode, type StateLayout } from './lower.js';
export { batchNormImage, conv2d, featuresFromImage, globalAvgPool, imageFromFeatures, pool2d, residualJoin, withGroups, type ImageActivation, type ImageParameters } from './lower-conv.js';
export { lowerInterpolationModel } from './lower-interpolation.js';
export { lowerInference } from './lower-inference.js';
