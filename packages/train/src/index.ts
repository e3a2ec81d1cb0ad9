export { trainRun, type TrainOptions } from './train.js';
export { selectBackend, type BackendName, type BackendRequest } from './backend.js';
export { checkpointSteps } from './policy.js';
