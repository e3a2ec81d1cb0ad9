/** @sgdwalk/queue: the analysis over BullMQ workers on Redis — the coordinator's line queue and the worker. */
export { lineQueue } from './coordinator.js';
export { runWorker, DEFAULT_JOB_SECONDS } from './worker.js';
export { parseQueueUrl, QUEUE_ENV } from './queue-url.js';
export { parsePathMap } from './path-map.js';
export { lineQueueStatus } from './queue-status.js';
