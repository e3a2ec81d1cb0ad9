export { trainRun, type TrainOptions } from './train.js';
export { selectBackend, type BackendName, type BackendRequest } from '@sgdwalk/model';
export { checkpointSteps } from './policy.js';
export { SgdStepper, type StepReadout } from './sgd-step.js';
