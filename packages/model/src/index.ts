/**
 * The model spec as TensorFlow.js ops: backend selection, the forward pass, the loss and the device-side
 * state. Shared by training and by the analysis stage's sharpness (stages never import each other).
 */
export { selectBackend, backendAdapter, tf, type BackendName, type BackendRequest } from './backend.js';
export { forwardLogits, crossEntropy, correctCount, type BatchStats } from './forward.js';
export { crossEntropyTwiceDifferentiable, matMulTwiceDifferentiable, supportsDoubleBackprop } from './twice-differentiable.js';
export { DeviceState } from './state.js';
export { matMulOfConstantInput } from './constant-input-product.js';
