export { trainRun } from './train.js';
export { checkpointSteps, windowSteps } from './policy.js';
export { SgdStepper } from './sgd-step.js';
export { replay } from './replay.js';
export { materializeSteps, openAnalysisCheckpoints, parseStepRange, defaultCacheDir } from './materialize.js';
export { measureStepCost } from './step-cost.js';
