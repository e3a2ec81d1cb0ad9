export { trainRun, type TrainOptions } from './train.js';
export { selectBackend, type BackendName, type BackendRequest } from '@sgdwalk/model';
export { checkpointSteps } from './policy.js';
export { SgdStepper, type StepReadout } from './sgd-step.js';
export { replay, ReplayError, type ReplayOptions, type ReplayResult } from './replay.js';
export { materializeSteps, openAnalysisCheckpoints, defaultCacheDir, parseStepRange, type MaterializeOptions, type MaterializeResult } from './materialize.js';
export { ANCHOR_FILES, readAnchoredRun, velocityLayout, type AnchoredRun } from './anchors.js';
